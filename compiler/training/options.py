"""How a training step trains: the loss, the optimizer and its hyper-parameters, recomputation."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.core.errors import UserError
from hwsim.core.training import LOSSES, OPTIMIZERS, RECOMPUTE_MODES

__all__ = ["TrainingOptions"]

#: Default learning rates: PyTorch's for Adam, a common one for SGD.
_LEARNING_RATES = {"sgd": 0.01, "momentum": 0.01, "adam": 1e-3, "adamw": 1e-3}


@dataclass(frozen=True)
class TrainingOptions:
    """How to train: the loss (:data:`hwsim.core.training.LOSSES`), the optimizer and its
    hyper-parameters (``lr`` ``None``: 0.01 for SGD and momentum, 1e-3 for Adam), ``recompute``
    (``none`` or ``all``). ``input_grads`` also differentiates the floating-point model inputs;
    ``keep_gradients`` keeps every gradient a graph output; ``state_words`` is how many array
    words an fp32 master weight or state value takes (a mixed-precision estimate, see
    :mod:`compiler.training.optimizer`)."""

    loss: str = "xent"
    optimizer: str = "sgd"
    recompute: str = "none"
    lr: float | None = None
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.0
    step: int = 1
    input_grads: bool = False
    keep_gradients: bool = False
    state_words: int = 1

    def __post_init__(self) -> None:
        for key, allowed in (("loss", LOSSES), ("optimizer", OPTIMIZERS), ("recompute", RECOMPUTE_MODES)):
            if getattr(self, key) not in allowed:
                raise UserError(f"--{key} {getattr(self, key)!r}: choose one of {', '.join(allowed)}")
        for key in ("lr", "momentum", "beta1", "beta2", "epsilon", "weight_decay"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value < 0):
                raise UserError(f"training option {key} must be a non-negative number, got {value!r}")
        for key in ("beta1", "beta2"):
            if getattr(self, key) >= 1:
                raise UserError(f"training option {key} must be below 1, got {getattr(self, key)!r}")
        if not isinstance(self.step, int) or self.step < 1:
            raise UserError(f"training option step must be a positive integer, got {self.step!r}")
        if not isinstance(self.state_words, int) or self.state_words < 1:
            raise UserError(f"training option state_words must be a positive integer, got {self.state_words!r}")

    @property
    def learning_rate(self) -> float:
        return _LEARNING_RATES[self.optimizer] if self.lr is None else float(self.lr)



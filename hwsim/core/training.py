"""Training steps: the phases of a training program and what its memory must hold.

A training program (:mod:`compiler.training`) is an ordinary tile program: forward layers, the loss,
the backward layers, the optimizer update, each layer tagged with the :data:`PHASES` entry it
belongs to (:attr:`hwsim.core.workload.Workload.phase`). What is particular to training is what
memory holds across the step, :class:`TrainingStep` (element counts, from the compiler) and
:class:`TrainingMemory` (bytes, on a config), the one place those byte formulas live.

>>> step = TrainingStep(batch=32, loss="xent", optimizer="adam", recompute="none", parameters=1000,
...                     stash_elems=5000, stash_tensors=3)
>>> from hwsim.core.config import preset
>>> m = step.memory(preset("gemmini-like"))          # int8 compute: 1-byte weights and gradients
>>> (m.stash_bytes, m.weight_bytes, m.gradient_bytes, m.optimizer_state_bytes)
(5000, 1000, 1000, 12000)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["PHASES", "FORWARD", "BACKWARD_DATA", "BACKWARD_WEIGHT", "OPTIMIZER", "RECOMPUTE", "LOSSES",
           "OPTIMIZERS", "RECOMPUTE_MODES", "OPTIMIZER_STATES", "MASTER_BYTES", "TrainingStep", "TrainingMemory",
           "master_words"]

FORWARD = "forward"
BACKWARD_DATA = "backward-data"
BACKWARD_WEIGHT = "backward-weight"
OPTIMIZER = "optimizer"
#: Forward layers run again during the backward pass (``--recompute all``) to rebuild activations
#: that were not stashed.
RECOMPUTE = "recompute"
#: Every phase a training layer belongs to, in the order a step runs them.
PHASES = (FORWARD, BACKWARD_DATA, BACKWARD_WEIGHT, OPTIMIZER, RECOMPUTE)

#: ``xent``: softmax cross entropy over the last axis of each output, mean over the other axes;
#: ``mse``: mean squared error over all elements of each output.
LOSSES = ("xent", "mse")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
RECOMPUTE_MODES = ("none", "all")

#: fp32 state tensors each optimizer keeps per parameter: momentum's velocity, Adam's two moments.
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
#: Bytes of an fp32 master weight or optimizer-state value.
MASTER_BYTES = 4


class Widths(Protocol):
    """What the byte counts need of an :class:`~hwsim.core.config.AcceleratorConfig` (its operand
    widths); a protocol, so that this module stays below the config in the import graph."""

    @property
    def input_bytes(self) -> int: ...
    @property
    def weight_bytes(self) -> int: ...
    weight_bits: int


def master_words(cfg: Widths) -> int:
    """Array words (``cfg.weight_bytes`` each) one fp32 master weight or optimizer-state value takes:
    1 on an fp32 array, 2 on a 16-bit one, 4 on an 8-bit one."""
    return -(-MASTER_BYTES // cfg.weight_bytes)


@dataclass(frozen=True)
class TrainingStep:
    """What a training program keeps in memory, in elements, as the compiler counted it.

    ``parameters``: trainable parameter elements (weights, biases, norms' scales and shifts,
    embedding tables). ``stash_elems``: the peak, over the program's layers, of the activation
    elements the forward pass keeps for the backward pass (each tensor from the layer that writes
    it to its last backward reader; with recomputation, the checkpoints plus the segment being
    rebuilt), reached at layer ``stash_peak_layer`` over ``stash_tensors`` tensors.
    """

    batch: int
    loss: str
    optimizer: str
    recompute: str
    parameters: int
    stash_elems: int
    stash_tensors: int
    stash_peak_layer: str = ""

    def memory(self, cfg: Widths) -> TrainingMemory:
        """The bytes of the step on ``cfg`` (:class:`TrainingMemory`)."""
        return TrainingMemory.of(self, cfg)


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes a training step holds, following ZeRO's accounting (Rajbhandari et al., SC 2020, §3.1:
    mixed-precision Adam keeps ``2Ψ + 2Ψ + 12Ψ`` bytes for Ψ parameters).

    - ``stash_bytes``: stashed activations at the array's input width (``cfg.input_bytes``);
    - ``weight_bytes``: the weights the layers read, at ``cfg.weight_bytes`` each;
    - ``gradient_bytes``: one gradient per parameter at ``cfg.weight_bytes``;
    - ``optimizer_state_bytes``: :data:`OPTIMIZER_STATES` fp32 values per parameter, plus an fp32
      master copy of every weight when the array computes in fewer than 32 bits (mixed precision).
    """

    stash_bytes: int
    weight_bytes: int
    gradient_bytes: int
    optimizer_state_bytes: int

    @classmethod
    def of(cls, step: TrainingStep, cfg: Widths) -> TrainingMemory:
        master = 1 if cfg.weight_bits < 8 * MASTER_BYTES else 0
        states = OPTIMIZER_STATES[step.optimizer] + master
        return cls(stash_bytes=step.stash_elems * cfg.input_bytes,
                   weight_bytes=step.parameters * cfg.weight_bytes,
                   gradient_bytes=step.parameters * cfg.weight_bytes,
                   optimizer_state_bytes=step.parameters * states * MASTER_BYTES)

    @property
    def total_bytes(self) -> int:
        return self.stash_bytes + self.weight_bytes + self.gradient_bytes + self.optimizer_state_bytes

    def as_dict(self) -> dict[str, int]:
        return {"stash_bytes": self.stash_bytes, "weight_bytes": self.weight_bytes,
                "gradient_bytes": self.gradient_bytes, "optimizer_state_bytes": self.optimizer_state_bytes,
                "total_bytes": self.total_bytes}

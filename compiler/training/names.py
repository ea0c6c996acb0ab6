"""The names a training program gives the values it adds, in one place.

Model inputs and parameters keep their ONNX names; what the training program reads and writes
besides them is named after them with a prefix: ``target:OUTPUT`` (the loss's target for a model
output), ``grad:PARAM`` (a parameter's gradient), ``state:m:PARAM`` (optimizer state),
``updated:PARAM`` and ``updated:state:m:PARAM`` (what the step writes), and ``loss``.

>>> grad("fc.weight"), updated(state("m", "fc.weight"))
('grad:fc.weight', 'updated:state:m:fc.weight')
"""

from __future__ import annotations

__all__ = ["LOSS", "target", "grad", "state", "updated", "master", "STATES"]

#: The training step's loss value (a scalar).
LOSS = "loss"

#: The optimizer state tensors per parameter, by optimizer: momentum's velocity, Adam's moments.
STATES: dict[str, tuple[str, ...]] = {"sgd": (), "momentum": ("velocity",), "adam": ("m", "v"), "adamw": ("m", "v")}


def target(output: str) -> str:
    """The input holding the loss's target for model output ``output``."""
    return f"target:{output}"


def grad(value: str) -> str:
    """The gradient of the loss with respect to ``value`` (a parameter or a model input)."""
    return f"grad:{value}"


def state(kind: str, param: str) -> str:
    """Optimizer state ``kind`` (:data:`STATES`) of parameter ``param``."""
    return f"state:{kind}:{param}"


def master(param: str) -> str:
    """The fp32 master copy of ``param`` that a mixed-precision step updates."""
    return f"master:{param}"


def updated(value: str) -> str:
    """What the step writes for a parameter or a state tensor."""
    return f"updated:{value}"

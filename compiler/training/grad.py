"""What a backward rule sees: one forward node, the gradients of its outputs, and the builder.

A rule (:class:`Rule`) maps a forward node to the nodes computing the gradients of the inputs that
need one. It reads the upstream gradient with :meth:`Backward.dy`, asks :meth:`Backward.needs` which
inputs want a gradient, and returns ``{input index: gradient value}``. The gradient nodes it emits
take their phase from :meth:`Backward.phase`: ``backward-weight`` when every input they serve
depends on parameters alone, else ``backward-data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from hwsim.core.training import BACKWARD_DATA, BACKWARD_WEIGHT

from ..graph import Node
from .emit import Emitter

__all__ = ["Backward", "Rule", "Unsupported"]


class Unsupported(Exception):
    """The node's attributes or operands have no backward rule (the message says which)."""


class Backward:
    """One forward node during the backward pass (see the module docstring)."""

    def __init__(self, node: Node, emit: Emitter, dys: Sequence[str | None], needs: Sequence[bool],
                 param_only: Sequence[bool]) -> None:
        self.node = node
        self.emit = emit
        self._dys = tuple(dys)
        self._needs = tuple(needs)
        self._param_only = tuple(param_only)

    # ----------------------------------------------------------------------------------- queries

    def dy(self, index: int = 0) -> str | None:
        """The gradient of output ``index`` (``None``: the output does not reach the loss)."""
        return self._dys[index] if index < len(self._dys) else None

    def grad(self) -> str:
        """The gradient of the node's (first) output, which reaches the loss (the rule runs only then)."""
        dy = self.dy()
        assert dy is not None
        return dy

    def needs(self, index: int) -> bool:
        """Whether input ``index`` wants a gradient."""
        return index < len(self._needs) and self._needs[index]

    def phase(self, *inputs: int) -> str:
        """The phase of gradient work serving ``inputs`` (default: every input that needs one)."""
        served = inputs or tuple(i for i in range(len(self._needs)) if self._needs[i])
        return BACKWARD_WEIGHT if served and all(self._param_only[i] for i in served) else BACKWARD_DATA

    def x(self, index: int) -> str:
        return self.node.inputs[index]

    def y(self, index: int = 0) -> str:
        return self.node.outputs[index]

    def shape(self, name: str) -> tuple[int, ...]:
        return self.emit.shape(name)

    def dtype(self, name: str) -> str:
        return self.emit.dtype(name)

    def constant_value(self, index: int) -> np.ndarray | None:
        """The value of input ``index`` when it is a compile-time constant with known data."""
        name = self.node.inputs[index] if index < len(self.node.inputs) else ""
        return self.emit.constants.get(name) if name else None

    # ---------------------------------------------------------------------------------- emitting

    def op(self, op_type: str, inputs: Sequence[str], like: str | Sequence[int], what: str, *,
           serves: Sequence[int] = (), dtype: str | None = None, training: bool = True, **attrs: object) -> str:
        """One gradient node with one output shaped ``like`` (a value, or a shape); ``what`` names it
        (``NODE/grad/WHAT``); ``serves`` the inputs it computes gradients for (its phase)."""
        shape = self.shape(like) if isinstance(like, str) else tuple(like)
        kind = dtype or self.dtype(inputs[0])
        base = f"{self.node.name}/grad/{what}"
        return self.emit.node(op_type, inputs, [(f"{base}_output", shape, kind)], base,
                              phase=self.phase(*serves), training=training, **attrs)[0]

    def onnx(self, op_type: str, inputs: Sequence[str], like: str | Sequence[int], what: str, *,
             serves: Sequence[int] = (), **attrs: object) -> str:
        """:meth:`op` with an ONNX operator (default domain)."""
        return self.op(op_type, inputs, like, what, serves=serves, training=False, **attrs)

    def sum_to(self, g: str, index: int, what: str, *, scale: float = 1.0, axes: Sequence[int] | None = None) -> str:
        """``g`` summed down to input ``index``'s shape (numpy broadcasting undone), times ``scale``;
        ``g`` itself when nothing changes."""
        target = self.shape(self.node.inputs[index])
        if self.shape(g) == target and scale == 1.0 and not axes:
            return g
        extra = {"axes": tuple(axes)} if axes else {}
        return self.op("SumTo", [g], target, what, serves=(index,), scale=float(scale), **extra)

    def reshape(self, g: str, shape: Sequence[int], what: str, *, serves: Sequence[int] = ()) -> str:
        """A free view of ``g`` with ``shape`` (``g`` itself when it has that shape already)."""
        shape = tuple(shape)
        if self.shape(g) == shape:
            return g
        target = self.emit.constant(f"{self.node.name}/grad/{what}_shape", np.array(shape, np.int64))
        return self.onnx("Reshape", [g, target], shape, what, serves=serves)


@dataclass(frozen=True)
class Rule:
    """A backward rule: ``slots`` are the inputs it can differentiate (all others receive none),
    ``fn`` emits the gradient nodes and returns ``{input index: gradient value}``."""

    slots: tuple[int, ...] | None
    fn: Callable[[Backward], Mapping[int, str]]

    def differentiable(self, index: int) -> bool:
        return self.slots is None or index in self.slots

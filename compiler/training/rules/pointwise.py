"""Backward rules of element-wise operators: activations, arithmetic with numpy broadcasting, casts.

The gradient of each operand of a broadcasting operator is summed back to the operand's own shape
(``SumTo``). Activations stash what their derivative needs: Relu, Sigmoid, Tanh and Sqrt their
output, Clip, Gelu, HardSigmoid, HardSwish, Erf and Pow their input.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ...ops.dtypes import numpy_to_onnx
from ..grad import Backward, Rule, Unsupported

__all__ = ["RULES"]


def _unary(op: str, stash: str, *, params: bool = False) -> Rule:
    """``dX = op(dY, stash)`` where ``stash`` is the forward node's ``"x"`` or ``"y"``; with
    ``params`` the node's other inputs (Clip's bounds, Pow's exponent) follow."""

    def fn(b: Backward) -> Mapping[int, str]:
        saved = b.x(0) if stash == "x" else b.y()
        extra = list(b.node.inputs[1:]) if params else []
        attrs = dict(b.node.attrs)
        return {0: b.op(op, [b.grad(), saved, *extra], b.x(0), "dX", serves=(0,), **attrs)}

    return Rule((0,), fn)


def _pow(b: Backward) -> Mapping[int, str]:
    if b.needs(1):
        raise Unsupported("a gradient with respect to the exponent (only a constant exponent is differentiable)")
    return {0: b.op("PowGrad", [b.grad(), b.x(0), b.x(1)], b.x(0), "dX", serves=(0,))}


def _exp(b: Backward) -> Mapping[int, str]:
    return {0: b.onnx("Mul", [b.grad(), b.y()], b.x(0), "dX", serves=(0,))}


def _log(b: Backward) -> Mapping[int, str]:
    return {0: b.onnx("Div", [b.grad(), b.x(0)], b.x(0), "dX", serves=(0,))}


def _neg(b: Backward) -> Mapping[int, str]:
    return {0: b.onnx("Neg", [b.grad()], b.x(0), "dX", serves=(0,))}


def _identity(b: Backward) -> Mapping[int, str]:
    return {0: b.grad()}


def _cast(b: Backward) -> Mapping[int, str]:
    dy, x = b.grad(), b.x(0)
    if b.dtype(x) == b.dtype(dy):
        return {0: dy}
    return {0: b.onnx("Cast", [dy], x, "dX", serves=(0,), dtype=b.dtype(x), to=numpy_to_onnx(b.dtype(x)))}


def _add(b: Backward) -> Mapping[int, str]:
    dy = b.grad()
    return {i: b.sum_to(dy, i, f"d{'AB'[i]}") for i in (0, 1) if b.needs(i)}


def _sub(b: Backward) -> Mapping[int, str]:
    dy = b.grad()
    grads = {}
    if b.needs(0):
        grads[0] = b.sum_to(dy, 0, "dA")
    if b.needs(1):
        grads[1] = b.sum_to(dy, 1, "dB", scale=-1.0)
    return grads


def _mul(b: Backward) -> Mapping[int, str]:
    dy = b.grad()
    grads = {}
    for i in (0, 1):
        if b.needs(i):
            other = b.x(1 - i)
            product = b.onnx("Mul", [dy, other], dy, f"d{'AB'[i]}_product", serves=(i,))
            grads[i] = b.sum_to(product, i, f"d{'AB'[i]}")
    return grads


def _div(b: Backward) -> Mapping[int, str]:
    """``dA = dY / B``; ``dB = −dY·A / B² = −(dY / B)·Y``."""
    dy = b.grad()
    grads = {}
    quotient = b.onnx("Div", [dy, b.x(1)], dy, "dY_over_B", serves=tuple(i for i in (0, 1) if b.needs(i)))
    if b.needs(0):
        grads[0] = b.sum_to(quotient, 0, "dA")
    if b.needs(1):
        product = b.onnx("Mul", [quotient, b.y()], dy, "dB_product", serves=(1,))
        grads[1] = b.sum_to(product, 1, "dB", scale=-1.0)
    return grads


def _where(b: Backward) -> Mapping[int, str]:
    """The condition picks which operand each element's gradient goes to."""
    dy = b.grad()
    zero = b.emit.constant(f"{b.node.name}/grad/zero", np.zeros((), b.dtype(dy)))
    grads = {}
    for i, operands in ((1, [b.x(0), dy, zero]), (2, [b.x(0), zero, dy])):
        if b.needs(i):
            # The output takes dY's type, not that of the first input (the boolean condition).
            picked = b.onnx("Where", operands, dy, f"d{'_AB'[i]}_picked", serves=(i,), dtype=b.dtype(dy))
            grads[i] = b.sum_to(picked, i, f"d{'_AB'[i]}")
    return grads


def _sum(b: Backward) -> Mapping[int, str]:
    dy = b.grad()
    return {i: b.sum_to(dy, i, f"d{i}") for i, name in enumerate(b.node.inputs) if name and b.needs(i)}


RULES: dict[str, Rule] = {
    "Relu": _unary("ReluGrad", "y"),
    "Sigmoid": _unary("SigmoidGrad", "y"),
    "Tanh": _unary("TanhGrad", "y"),
    "Sqrt": _unary("SqrtGrad", "y"),
    "Clip": _unary("ClipGrad", "x", params=True),
    "Gelu": _unary("GeluGrad", "x"),
    "HardSigmoid": _unary("HardSigmoidGrad", "x"),
    "HardSwish": _unary("HardSwishGrad", "x"),
    "Erf": _unary("ErfGrad", "x"),
    "Pow": Rule((0, 1), _pow),
    "Exp": Rule((0,), _exp),
    "Log": Rule((0,), _log),
    "Neg": Rule((0,), _neg),
    "Identity": Rule((0,), _identity),
    "Dropout": Rule((0,), _identity),
    "Cast": Rule((0,), _cast),
    "Add": Rule((0, 1), _add),
    "Sub": Rule((0, 1), _sub),
    "Mul": Rule((0, 1), _mul),
    "Div": Rule((0, 1), _div),
    "Where": Rule((1, 2), _where),
    "Sum": Rule(None, _sum),
}

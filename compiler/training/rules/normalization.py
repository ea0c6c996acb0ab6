"""Backward rules of normalizations, pooling and reductions.

LayerNormalization and (training-mode) BatchNormalization stash their input and recompute the
statistics in the backward pass; their data gradient and their scale/shift gradients are separate
nodes (backward-data and backward-weight). MaxPool stashes its input (each window's gradient goes
to its maximum), AveragePool and the mean reductions spread the gradient back over their windows.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from ..grad import Backward, Rule, Unsupported

__all__ = ["RULES"]


def _softmax(b: Backward) -> Mapping[int, str]:
    return {0: b.op("SoftmaxGrad", [b.grad(), b.y()], b.x(0), "dX", serves=(0,), **dict(b.node.attrs))}


def _normalization(kind: str) -> Rule:
    """LayerNormalization (``X, scale, bias``) or BatchNormalization (``X, scale, B, mean, var``)."""

    def fn(b: Backward) -> Mapping[int, str]:
        if any(b.dy(j) for j in range(1, len(b.node.outputs))):
            raise Unsupported("a gradient through its statistics outputs")
        if kind == "BatchNormalization" and not b.node.attr("training_mode", 0):
            raise Unsupported("inference mode (its statistics are constants; train it in training mode)")
        dy = b.grad()
        attrs = {"epsilon": float(b.node.attr("epsilon", 1e-5))}
        if kind == "LayerNormalization":
            attrs["axis"] = int(b.node.attr("axis", -1))
        grads: dict[int, str] = {}
        if b.needs(0):
            grads[0] = b.op(f"{kind}Grad", [dy, b.x(0), b.x(1)], b.x(0), "dX", serves=(0,), **attrs)
        params = [i for i in (1, 2) if b.needs(i)]
        if params:
            base = f"{b.node.name}/grad/dScale"
            outs: list[tuple[str, tuple[int, ...], str] | str] = []
            for i in (1, 2):
                if i in params:
                    outs.append((f"{base}_{'scale' if i == 1 else 'bias'}", b.shape(b.x(i)), b.dtype(dy)))
            names = b.emit.node(f"{kind}ParamGrad", [dy, b.x(0)], outs if 1 in params else ["", *outs],
                                base, phase=b.phase(*params), **attrs)
            for i, name in zip((1, 2), names):
                if name:
                    grads[i] = name
        return grads

    return Rule((0, 1, 2), fn)


def _pool(op: str) -> Rule:
    def fn(b: Backward) -> Mapping[int, str]:
        if len(b.node.outputs) > 1 and b.node.outputs[1]:
            raise Unsupported("an Indices output")
        inputs = [b.grad(), b.x(0)] if op == "MaxPoolGrad" else [b.grad()]
        return {0: b.op(op, inputs, b.x(0), "dX", serves=(0,), **dict(b.node.attrs))}

    return Rule((0,), fn)


def _global_average(b: Backward) -> Mapping[int, str]:
    shape = b.shape(b.x(0))
    axes = tuple(range(2, len(shape)))
    return {0: b.op("ReduceGrad", [b.grad()], b.x(0), "dX", serves=(0,), axes=axes,
                    scale=1.0 / math.prod(shape[2:]))}


def _reduce_axes(b: Backward) -> tuple[int, ...]:
    rank = len(b.shape(b.x(0)))
    given = b.node.attr("axes")
    if given is None and len(b.node.inputs) > 1 and b.node.inputs[1]:
        value = b.constant_value(1)
        if value is None:
            raise Unsupported("axes that are not a compile-time constant")
        given = tuple(int(v) for v in np.asarray(value).ravel())
    if not given:
        if b.node.attr("noop_with_empty_axes", 0):
            return ()
        return tuple(range(rank))
    return tuple(sorted(int(a) % rank for a in given))


def _reduction(mean: bool) -> Rule:
    def fn(b: Backward) -> Mapping[int, str]:
        shape = b.shape(b.x(0))
        axes = _reduce_axes(b)
        if not axes:
            return {0: b.grad()}
        count = math.prod(shape[a] for a in axes)
        return {0: b.op("ReduceGrad", [b.grad()], b.x(0), "dX", serves=(0,), axes=axes,
                        scale=1.0 / count if mean else 1.0)}

    return Rule((0,), fn)


RULES: dict[str, Rule] = {
    "Softmax": Rule((0,), _softmax),
    "LayerNormalization": _normalization("LayerNormalization"),
    "BatchNormalization": _normalization("BatchNormalization"),
    "MaxPool": _pool("MaxPoolGrad"),
    "AveragePool": _pool("AveragePoolGrad"),
    "GlobalAveragePool": Rule((0,), _global_average),
    "ReduceMean": _reduction(mean=True),
    "ReduceSum": _reduction(mean=False),
}

"""Backward rules of views and data movement: each moves the gradient back where the data came from.

Views (Reshape, Flatten, Squeeze, Unsqueeze) reshape the gradient back; Transpose applies the
inverse permutation; Concat splits the gradient and Split concatenates it; Slice, Gather and a
nearest-neighbour Resize add each gradient element into the input element it was read from;
Expand sums the gradient over the broadcast axes.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..grad import Backward, Rule, Unsupported

__all__ = ["RULES"]


def _view(b: Backward) -> Mapping[int, str]:
    return {0: b.reshape(b.grad(), b.shape(b.x(0)), "dX", serves=(0,))}


def _transpose(b: Backward) -> Mapping[int, str]:
    rank = len(b.shape(b.x(0)))
    perm = tuple(int(p) for p in b.node.attr("perm") or reversed(range(rank)))
    inverse = tuple(int(i) for i in np.argsort(perm))
    return {0: b.onnx("Transpose", [b.grad()], b.x(0), "dX", serves=(0,), perm=inverse)}


def _concat(b: Backward) -> Mapping[int, str]:
    dy = b.grad()
    rank = len(b.shape(dy))
    axis = int(b.node.attr("axis")) % rank
    parts = [i for i, name in enumerate(b.node.inputs) if name]
    sizes = [b.shape(b.x(i))[axis] for i in parts]
    base = f"{b.node.name}/grad/dX"
    outs = [(f"{base}{i}", b.shape(b.x(i)), b.dtype(dy)) for i in parts]
    if b.emit.source.opset >= 13:
        split = b.emit.constant(f"{base}_split", np.array(sizes, np.int64))
        names = b.emit.node("Split", [dy, split], outs, base, phase=b.phase(), training=False, axis=axis)
    else:
        names = b.emit.node("Split", [dy], outs, base, phase=b.phase(), training=False, axis=axis, split=tuple(sizes))
    return {i: name for i, name in zip(parts, names) if b.needs(i)}


def _split(b: Backward) -> Mapping[int, str]:
    """The outputs' gradients concatenated; an output that does not reach the loss contributes zeros."""
    x = b.x(0)
    rank = len(b.shape(x))
    axis = int(b.node.attr("axis", 0)) % rank
    pieces = []
    for j, out in enumerate(b.node.outputs):
        g = b.dy(j)
        if g is None:
            g = b.emit.constant(f"{b.node.name}/grad/zero{j}", np.broadcast_to(np.zeros((), b.dtype(out)), b.shape(out)))
        pieces.append(g)
    return {0: b.onnx("Concat", pieces, x, "dX", serves=(0,), axis=axis)}


def _slice(b: Backward) -> Mapping[int, str]:
    for i in range(1, len(b.node.inputs)):
        if b.node.inputs[i] and b.constant_value(i) is None and not b.emit.is_constant(b.node.inputs[i]):
            raise Unsupported("starts, ends, axes or steps that are not compile-time constants")
    return {0: b.op("SliceGrad", [b.grad(), *b.node.inputs[1:]], b.x(0), "dX", serves=(0,), **dict(b.node.attrs))}


def _gather(b: Backward) -> Mapping[int, str]:
    return {0: b.op("GatherGrad", [b.grad(), b.x(1)], b.x(0), "dX", serves=(0,), axis=int(b.node.attr("axis", 0)))}


def _expand(b: Backward) -> Mapping[int, str]:
    return {0: b.sum_to(b.grad(), 0, "dX")}


def _resize(b: Backward) -> Mapping[int, str]:
    mode = b.node.attr("mode", "nearest")
    if mode != "nearest":
        raise Unsupported(f"mode {mode!r} (only nearest-neighbour Resize is differentiable here)")
    return {0: b.op("ResizeGrad", [b.grad(), *b.node.inputs[1:]], b.x(0), "dX", serves=(0,), **dict(b.node.attrs))}


RULES: dict[str, Rule] = {
    "Reshape": Rule((0,), _view),
    "Flatten": Rule((0,), _view),
    "Squeeze": Rule((0,), _view),
    "Unsqueeze": Rule((0,), _view),
    "Transpose": Rule((0,), _transpose),
    "Concat": Rule(None, _concat),
    "Split": Rule((0,), _split),
    "Slice": Rule((0,), _slice),
    "Gather": Rule((0,), _gather),
    "Expand": Rule((0,), _expand),
    "Resize": Rule((0,), _resize),
}

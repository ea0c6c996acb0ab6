"""Numpy evaluation of operators whose inputs are compile-time constants.

This is what folds the shape arithmetic exporters emit (``Shape -> Gather -> Unsqueeze -> Concat ->
Reshape``) and turns weight transforms (``DequantizeLinear`` of an int8 weight, a ``Transpose`` of a
weight) into constants. :data:`EVALUATORS` is also the definition of *foldable*: a node whose inputs
are all constants and whose operator has an evaluator here is not run-time work, whether or not its
values are actually computed (they are not when weight bytes are absent).

``Shape`` and ``Size`` need only their input's static shape, so they fold for any input.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..graph import Node, TensorInfo
from .dtypes import onnx_to_numpy
from .shapes import shape_slice, infer, reduce_axes, slice_bounds, slice_params, split_sizes

__all__ = ["EVALUATORS", "SHAPE_ONLY", "evaluate"]

Values = Sequence[np.ndarray | None]
Infos = Sequence[TensorInfo | None]
Evaluator = Callable[[Node, Values, Infos], list[np.ndarray]]

EVALUATORS: dict[str, Evaluator] = {}
#: Operators whose output depends only on their inputs' static shapes.
SHAPE_ONLY = frozenset({"Shape", "Size"})


def evaluate(node: Node, vals: Values, ins: Infos) -> list[np.ndarray]:
    """Values of ``node``'s outputs; every data input's value must be known (``None`` only if omitted)."""
    return EVALUATORS[node.op_type](node, vals, ins)


def _ev(*op_types: str) -> Callable[[Evaluator], Evaluator]:
    def register(fn: Evaluator) -> Evaluator:
        for op in op_types:
            EVALUATORS[op] = fn
        return fn

    return register


def _unary(fn: Callable[[np.ndarray], np.ndarray]) -> Evaluator:
    return lambda node, v, ins: [np.asarray(fn(v[0]))]


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Evaluator:
    return lambda node, v, ins: [np.asarray(fn(v[0], v[1]))]


def _int_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer Div truncates toward zero (C semantics, as onnxruntime), unlike numpy's floor division."""
    if np.issubdtype(np.result_type(a, b), np.integer):
        q = np.abs(a) // np.abs(b)
        return np.where((a < 0) != (b < 0), -q, q).astype(np.result_type(a, b))
    return np.divide(a, b)


def _mod(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    return [np.fmod(v[0], v[1]) if node.attr("fmod", 0) else np.mod(v[0], v[1])]


for _op, _fn in {
    "Identity": lambda x: x, "Neg": np.negative, "Abs": np.abs, "Sqrt": np.sqrt, "Floor": np.floor,
    "Ceil": np.ceil, "Sign": np.sign, "Reciprocal": np.reciprocal, "Not": np.logical_not,
    "Exp": np.exp, "Log": np.log, "Relu": lambda x: np.maximum(x, 0).astype(x.dtype),
    "Round": np.round,
}.items():
    EVALUATORS[_op] = _unary(_fn)

for _op, _fn in {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": _int_div, "Pow": np.power,
    "Equal": np.equal, "Less": np.less, "LessOrEqual": np.less_equal, "Greater": np.greater,
    "GreaterOrEqual": np.greater_equal, "And": np.logical_and, "Or": np.logical_or,
    "Xor": np.logical_xor, "MatMul": np.matmul,
}.items():
    EVALUATORS[_op] = _binary(_fn)
EVALUATORS["Mod"] = _mod


@_ev("Max", "Min", "Sum", "Mean")
def _variadic(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    fn = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add, "Mean": np.add}[node.op_type]
    out = v[0]
    for x in v[1:]:
        out = fn(out, x)
    return [out / len(v) if node.op_type == "Mean" else out]


@_ev("Where")
def _where(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    return [np.where(v[0], v[1], v[2])]


@_ev("Cast", "CastLike")
def _cast(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    dtype = onnx_to_numpy(int(node.attr("to"))) if node.op_type == "Cast" else str(v[1].dtype)
    return [v[0].astype(dtype)]


@_ev("Shape")
def _shape(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    shape = ins[0].shape
    return [np.array(shape[shape_slice(node, len(shape))], dtype=np.int64)]


@_ev("Size")
def _size(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    return [np.array(ins[0].size, dtype=np.int64)]


@_ev("Gather")
def _gather(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    data, idx = v[0], v[1].astype(np.int64)
    axis = int(node.attr("axis", 0)) % max(data.ndim, 1)
    return [np.take(data, np.where(idx < 0, idx + data.shape[axis], idx), axis=axis)]


@_ev("Reshape", "Squeeze", "Unsqueeze", "Flatten")
def _reshape(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    return [v[0].reshape(infer(node, ins, v)[0][0])]


@_ev("Concat")
def _concat(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    return [np.concatenate([x for x in v if x is not None], axis=int(node.attr("axis", 0)))]


@_ev("Slice")
def _slice(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    x = v[0]
    index = [slice(None)] * x.ndim
    for axis, start, end, step in slice_params(node, v, x.ndim):
        start, stop, _ = slice_bounds(x.shape[axis], start, end, step)
        index[axis] = slice(start, None if stop < 0 else stop, step)
    return [x[tuple(index)]]


@_ev("Transpose")
def _transpose(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    return [np.transpose(v[0], node.attr("perm"))]


@_ev("Expand")
def _expand(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    shape = np.broadcast_shapes(v[0].shape, tuple(int(d) for d in v[1].reshape(-1)))
    return [np.array(np.broadcast_to(v[0], shape))]


@_ev("Tile")
def _tile(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    return [np.tile(v[0], [int(r) for r in v[1].reshape(-1)])]


@_ev("ConstantOfShape")
def _constant_of_shape(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    value = node.attr("value")
    fill = value.reshape(-1)[0] if value is not None else np.float32(0)
    return [np.full(tuple(int(d) for d in v[0].reshape(-1)), fill, dtype=fill.dtype)]


@_ev("Range")
def _range(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    start, limit, delta = (x.reshape(()) for x in v[:3])
    return [np.arange(start, limit, delta, dtype=v[0].dtype)]


@_ev("Split")
def _split(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    x = v[0]
    axis = int(node.attr("axis", 0)) % x.ndim
    explicit = node.attr("split")
    if explicit is None and len(v) > 1 and v[1] is not None:
        explicit = v[1]
    sizes = split_sizes(node, x.shape[axis], None if explicit is None else [int(s) for s in explicit])
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


@_ev("ReduceProd", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceMean")
def _reduce(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    fn = {"ReduceProd": np.prod, "ReduceSum": np.sum, "ReduceMax": np.max, "ReduceMin": np.min,
          "ReduceMean": np.mean}[node.op_type]
    axes = tuple(reduce_axes(node, v, v[0].ndim))
    if not axes:
        return [v[0]]
    return [np.asarray(fn(v[0], axis=axes, keepdims=bool(node.attr("keepdims", 1)))).astype(v[0].dtype)]


@_ev("Clip")
def _clip(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    lo = node.attr("min") if "min" in node.attrs else (v[1] if len(v) > 1 else None)
    hi = node.attr("max") if "max" in node.attrs else (v[2] if len(v) > 2 else None)
    x = v[0]
    if lo is not None:
        x = np.maximum(x, lo)
    if hi is not None:
        x = np.minimum(x, hi)
    return [x.astype(v[0].dtype)]


@_ev("Trilu")
def _trilu(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    k = int(v[1].reshape(())) if len(v) > 1 and v[1] is not None else 0
    return [np.triu(v[0], k) if node.attr("upper", 1) else np.tril(v[0], k)]


@_ev("NonZero")
def _nonzero(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    return [np.array(np.nonzero(v[0]), dtype=np.int64).reshape(v[0].ndim, -1)]


def _per_axis(param: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    """Broadcast a per-tensor (scalar) or per-axis (1-D) quantization parameter against ``x``."""
    if param.ndim == 0 or param.size == 1:
        return param.reshape(())
    shape = [1] * x.ndim
    shape[axis % x.ndim] = -1
    return param.reshape(shape)


@_ev("DequantizeLinear")
def _dequantize(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    x, scale = v[0], v[1]
    axis = int(node.attr("axis", 1))
    zero = v[2] if len(v) > 2 and v[2] is not None else np.zeros((), x.dtype)
    out = (x.astype(np.float32) - _per_axis(zero, x, axis).astype(np.float32)) * _per_axis(scale, x, axis)
    return [out.astype(scale.dtype)]


@_ev("QuantizeLinear")
def _quantize(node: Node, v: Values, ins: Infos) -> list[np.ndarray]:
    x, scale = v[0], v[1]
    axis = int(node.attr("axis", 1))
    zero = v[2] if len(v) > 2 and v[2] is not None else np.zeros((), np.uint8)
    info = np.iinfo(zero.dtype)
    q = np.rint(x / _per_axis(scale, x, axis)) + _per_axis(zero, x, axis).astype(np.float32)
    return [np.clip(q, info.min, info.max).astype(zero.dtype)]

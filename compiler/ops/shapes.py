"""Static output shapes and dtypes of ONNX operators.

Each rule receives the node, its inputs' :class:`~compiler.graph.TensorInfo` (``None`` for an
omitted optional input) and the inputs' values where known at compile time (``None`` otherwise),
and returns one ``(shape, dtype)`` per output. A rule raises :class:`~compiler.ops.ShapeError` when
the inputs do not determine a static shape (for example a Reshape target that depends on run-time
data). Operators without a rule here fall back to ONNX's own per-node inference in the importer.

Rules accept every opset form of an operator (attributes that later opsets moved to inputs).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from hwsim.core.errors import shown

from ..graph import Node, TensorInfo
from . import ShapeError
from .dtypes import onnx_to_numpy

__all__ = ["RULES", "Shape", "infer", "broadcast", "conv_output_dims", "slice_bounds", "split_sizes"]

Shape = tuple[int, ...]
Infos = Sequence[TensorInfo | None]
Values = Sequence[np.ndarray | None]
Result = list[tuple[Shape, str]]
Rule = Callable[[Node, Infos, Values], Result]

RULES: dict[str, Rule] = {}


def _rule(*op_types: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for op in op_types:
            RULES[op] = fn
        return fn

    return register


def infer(node: Node, ins: Infos, vals: Values) -> Result | None:
    """Output ``(shape, dtype)`` pairs, or ``None`` when this module has no rule for the operator."""
    rule = RULES.get(node.op_type) if node.domain in ("", "ai.onnx") else None
    return None if rule is None else rule(node, ins, vals)


# ---------------------------------------------------------------------------------------- helpers


def _info(ins: Infos, i: int, what: str = "input") -> TensorInfo:
    info = ins[i] if i < len(ins) else None
    if info is None:
        raise ShapeError(f"required {what} #{i} is missing")
    return info


def _value(node: Node, vals: Values, i: int, what: str) -> np.ndarray:
    value = vals[i] if i < len(vals) else None
    if value is None:
        name = node.inputs[i] if i < len(node.inputs) else "?"
        raise ShapeError(f"{what} (input '{shown(name, 40)}') is known only at run time")
    return value


def _ints(node: Node, vals: Values, i: int, attr: str | None, what: str) -> list[int] | None:
    """An int list given either as attribute ``attr`` (older opsets) or as input ``i`` (newer)."""
    if attr is not None and attr in node.attrs:
        return [int(v) for v in node.attrs[attr]]
    if i < len(node.inputs) and node.inputs[i]:
        return [int(v) for v in np.asarray(_value(node, vals, i, what)).reshape(-1)]
    return None


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ShapeError(f"axis {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def broadcast(*shapes: Shape) -> Shape:
    """Numpy-style multidirectional broadcast, as ONNX defines it.

    >>> broadcast((2, 1, 4), (3, 1), ())
    (2, 3, 4)
    """
    rank = max(map(len, shapes), default=0)
    out = [1] * rank
    for shape in shapes:
        offset = rank - len(shape)
        for i, d in enumerate(shape):
            j = offset + i
            if d != out[j]:
                if out[j] == 1:
                    out[j] = int(d)
                elif d != 1:
                    raise ShapeError("input shapes " + ", ".join(map(str, shapes)) + " do not broadcast")
    return tuple(out)


def _same(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    return [(x.shape, x.dtype)]


def _check_positive(shape: Shape, what: str) -> Shape:
    if any(d < 0 for d in shape):
        raise ShapeError(f"{what} would have a negative dimension: {shape}")
    return shape


# ------------------------------------------------------------------------------------ elementwise

_UNARY = (
    "Abs Acos Acosh Asin Asinh Atan Atanh Ceil Celu Clip Cos Cosh Elu Erf Exp Floor Gelu HardSigmoid "
    "HardSwish Hardmax Identity LeakyRelu Log LogSoftmax LpNormalization LRN MeanVarianceNormalization "
    "Mish Neg Reciprocal Relu Round Selu Shrink Sigmoid Sign Sin Sinh Softmax Softplus Softsign Sqrt Tan "
    "Tanh ThresholdedRelu CumSum Trilu InstanceNormalization GroupNormalization BitwiseNot "
    "ReverseSequence ScatterND ScatterElements Scatter"
).split()
RULES.update({op: _same for op in _UNARY})

_ARITH = "Add Sub Mul Div Pow Mod Max Min Sum Mean BitShift BitwiseAnd BitwiseOr BitwiseXor".split()
_LOGIC = "Equal Less LessOrEqual Greater GreaterOrEqual And Or Xor".split()


@_rule(*_ARITH)
def _arith(node: Node, ins: Infos, vals: Values) -> Result:
    present = [i for i in ins if i is not None]
    if not present:
        raise ShapeError("no inputs")
    return [(broadcast(*(i.shape for i in present)), present[0].dtype)]


@_rule("PRelu")
def _prelu(node: Node, ins: Infos, vals: Values) -> Result:
    """The slope broadcasts to X (opset 7+), or, as opset 6 defines it, is one value per channel (axis 1)."""
    x, slope = _info(ins, 0), _info(ins, 1)
    legacy = len(slope.shape) == 1 and len(x.shape) >= 2 and slope.shape[0] == x.shape[1]
    if not legacy and broadcast(x.shape, slope.shape) != x.shape:
        raise ShapeError(f"slope shape {slope.shape} does not broadcast to the input's {x.shape}")
    return [(x.shape, x.dtype)]


@_rule(*_LOGIC)
def _logic(node: Node, ins: Infos, vals: Values) -> Result:
    return [(broadcast(_info(ins, 0).shape, _info(ins, 1).shape), "bool")]


@_rule("Not", "IsNaN", "IsInf")
def _bool_unary(node: Node, ins: Infos, vals: Values) -> Result:
    return [(_info(ins, 0).shape, "bool")]


@_rule("Where")
def _where(node: Node, ins: Infos, vals: Values) -> Result:
    c, x, y = (_info(ins, i) for i in range(3))
    return [(broadcast(c.shape, x.shape, y.shape), x.dtype)]


@_rule("Cast")
def _cast(node: Node, ins: Infos, vals: Values) -> Result:
    return [(_info(ins, 0).shape, onnx_to_numpy(int(node.attr("to"))))]


@_rule("CastLike")
def _cast_like(node: Node, ins: Infos, vals: Values) -> Result:
    return [(_info(ins, 0).shape, _info(ins, 1).dtype)]


@_rule("Dropout")
def _dropout(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    return [(x.shape, x.dtype), (x.shape, "bool")][: len(node.outputs)]


@_rule("LayerNormalization")
def _layer_norm(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    axis = _axis(int(node.attr("axis", -1)), len(x.shape))
    stats = x.shape[:axis] + (1,) * (len(x.shape) - axis)
    return [(x.shape, x.dtype), (stats, "float32"), (stats, "float32")][: len(node.outputs)]


@_rule("BatchNormalization")
def _batch_norm(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    channels = (x.shape[1],) if len(x.shape) > 1 else (1,)
    for i, what in enumerate(("scale", "B", "mean", "var"), start=1):
        p = ins[i] if i < len(ins) else None
        if p is not None and math.prod(p.shape) not in (1, channels[0]):
            raise ShapeError(f"{what} has shape {list(p.shape)}; BatchNormalization needs one value per channel"
                             f" ({channels[0]})")
    return [(x.shape, x.dtype)] + [(channels, x.dtype)] * (len(node.outputs) - 1)


@_rule("QuantizeLinear")
def _quantize(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    if len(ins) > 2 and ins[2] is not None:
        dtype = ins[2].dtype
    elif node.attr("output_dtype"):
        dtype = onnx_to_numpy(int(node.attr("output_dtype")))
    else:
        dtype = "uint8"
    return [(x.shape, dtype)]


@_rule("DequantizeLinear")
def _dequantize(node: Node, ins: Infos, vals: Values) -> Result:
    dtype = onnx_to_numpy(int(node.attr("output_dtype"))) if node.attr("output_dtype") else _info(ins, 1).dtype
    return [(_info(ins, 0).shape, dtype)]


@_rule("DynamicQuantizeLinear")
def _dyn_quantize(node: Node, ins: Infos, vals: Values) -> Result:
    return [(_info(ins, 0).shape, "uint8"), ((), "float32"), ((), "uint8")]


# --------------------------------------------------------------------------------- shape plumbing


@_rule("Shape")
def _shape(node: Node, ins: Infos, vals: Values) -> Result:
    rank = len(_info(ins, 0).shape)
    return [((len(range(rank)[shape_slice(node, rank)]),), "int64")]


def shape_slice(node: Node, rank: int) -> slice:
    """Opset 15's ``start``/``end`` attributes of Shape, clamped as the spec says."""
    start, end = int(node.attr("start", 0)), node.attr("end")
    return slice(start, None if end is None else int(end))


@_rule("Size")
def _size(node: Node, ins: Infos, vals: Values) -> Result:
    return [((), "int64")]


@_rule("Reshape")
def _reshape(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    target = _ints(node, vals, 1, "shape", "target shape")
    if target is None:
        raise ShapeError("no target shape")
    return [(reshape_dims(x.shape, target, bool(node.attr("allowzero", 0))), x.dtype)]


def reshape_dims(shape: Shape, target: Sequence[int], allowzero: bool = False) -> Shape:
    """ONNX Reshape: ``0`` copies the input dim (unless ``allowzero``), one ``-1`` is inferred.

    >>> reshape_dims((2, 3, 4), [0, -1])
    (2, 12)
    """
    dims = [shape[i] if d == 0 and not allowzero and i < len(shape) else int(d) for i, d in enumerate(target)]
    total = math.prod(shape)
    if dims.count(-1) > 1 or any(d < -1 for d in dims):
        raise ShapeError(f"invalid target shape {list(target)}")
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        if known == 0 or total % known:
            raise ShapeError(f"cannot reshape {shape} to {list(target)}")
        dims[dims.index(-1)] = total // known
    if math.prod(dims) != total:
        raise ShapeError(f"cannot reshape {shape} to {list(target)}")
    return tuple(dims)


@_rule("Flatten")
def _flatten(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    rank = len(x.shape)
    axis = int(node.attr("axis", 1))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis <= rank:
        raise ShapeError(f"axis {axis} is out of range for rank {rank}")
    return [((math.prod(x.shape[:axis]), math.prod(x.shape[axis:])), x.dtype)]


@_rule("Squeeze")
def _squeeze(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    axes = _ints(node, vals, 1, "axes", "axes")
    rank = len(x.shape)
    if axes is None:
        drop = {i for i, d in enumerate(x.shape) if d == 1}
    else:
        drop = {_axis(a, rank) for a in axes}
        if any(x.shape[a] != 1 for a in drop):
            raise ShapeError(f"cannot squeeze axes {sorted(drop)} of shape {x.shape}")
    return [(tuple(d for i, d in enumerate(x.shape) if i not in drop), x.dtype)]


@_rule("Unsqueeze")
def _unsqueeze(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    axes = _ints(node, vals, 1, "axes", "axes")
    if axes is None:
        raise ShapeError("no axes")
    rank = len(x.shape) + len(axes)
    new = sorted(_axis(a, rank) for a in axes)
    if len(set(new)) != len(new):
        raise ShapeError(f"repeated axes {axes}")
    dims = iter(x.shape)
    return [(tuple(1 if i in new else next(dims) for i in range(rank)), x.dtype)]


@_rule("Transpose")
def _transpose(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    perm = node.attr("perm") or tuple(reversed(range(len(x.shape))))
    if sorted(perm) != list(range(len(x.shape))):
        raise ShapeError(f"perm {list(perm)} does not match rank {len(x.shape)}")
    return [(tuple(x.shape[p] for p in perm), x.dtype)]


@_rule("Concat")
def _concat(node: Node, ins: Infos, vals: Values) -> Result:
    present = [i for i in ins if i is not None]
    first = present[0]
    axis = _axis(int(node.attr("axis", 0)), len(first.shape))
    for other in present[1:]:
        if len(other.shape) != len(first.shape) or any(
            a != b for i, (a, b) in enumerate(zip(other.shape, first.shape)) if i != axis
        ):
            raise ShapeError(f"cannot concatenate {first.shape} and {other.shape} on axis {axis}")
    total = sum(i.shape[axis] for i in present)
    return [(first.shape[:axis] + (total,) + first.shape[axis + 1 :], first.dtype)]


def split_sizes(node: Node, dim: int, explicit: list[int] | None) -> list[int]:
    """Sizes of a Split's outputs: explicit, or equal parts (opset 18's ``num_outputs`` rounds up)."""
    if explicit is not None:
        if sum(explicit) != dim or len(explicit) != len(node.outputs):
            raise ShapeError(f"split sizes {explicit} do not match dimension {dim} and {len(node.outputs)} outputs")
        return explicit
    parts = int(node.attr("num_outputs", len(node.outputs)))
    if node.attr("num_outputs") is None and dim % parts:
        raise ShapeError(f"dimension {dim} does not split into {parts} equal parts")
    size = -(-dim // parts)
    return [min(size, max(dim - i * size, 0)) for i in range(parts)]


@_rule("Split")
def _split(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    axis = _axis(int(node.attr("axis", 0)), len(x.shape))
    sizes = split_sizes(node, x.shape[axis], _ints(node, vals, 1, "split", "split sizes"))
    return [(x.shape[:axis] + (s,) + x.shape[axis + 1 :], x.dtype) for s in sizes]


def slice_bounds(dim: int, start: int, end: int, step: int) -> tuple[int, int, int]:
    """ONNX Slice clamping for one axis: ``(start, stop, length)``; ``stop`` is -1 for "before 0".

    >>> slice_bounds(10, -3, 2**63 - 1, 1)
    (7, 10, 3)
    >>> slice_bounds(5, -1, -2**63, -1)
    (4, -1, 5)
    """
    if step == 0:
        raise ShapeError("slice step is 0")
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        length = max(0, -(-(end - start) // step))
    else:
        start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
        length = max(0, -(-(start - end) // -step))
    return start, end, length


def slice_params(node: Node, vals: Values, rank: int) -> list[tuple[int, int, int, int]]:
    """``(axis, start, end, step)`` per sliced axis, from attributes (opset < 10) or inputs."""
    starts = _ints(node, vals, 1, "starts", "slice starts")
    ends = _ints(node, vals, 2, "ends", "slice ends")
    if starts is None or ends is None or len(starts) != len(ends):
        raise ShapeError("slice starts and ends are missing or of different lengths")
    axes = _ints(node, vals, 3, "axes", "slice axes") or list(range(len(starts)))
    steps = _ints(node, vals, 4, None, "slice steps") or [1] * len(starts)
    return [(_axis(a, rank), s, e, st) for a, s, e, st in zip(axes, starts, ends, steps)]


@_rule("Slice")
def _slice(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    dims = list(x.shape)
    for axis, start, end, step in slice_params(node, vals, len(dims)):
        dims[axis] = slice_bounds(x.shape[axis], start, end, step)[2]
    return [(tuple(dims), x.dtype)]


@_rule("Gather")
def _gather(node: Node, ins: Infos, vals: Values) -> Result:
    data, idx = _info(ins, 0), _info(ins, 1)
    axis = _axis(int(node.attr("axis", 0)), len(data.shape))
    return [(data.shape[:axis] + idx.shape + data.shape[axis + 1 :], data.dtype)]


@_rule("GatherElements")
def _gather_elements(node: Node, ins: Infos, vals: Values) -> Result:
    return [(_info(ins, 1).shape, _info(ins, 0).dtype)]


@_rule("GatherND")
def _gather_nd(node: Node, ins: Infos, vals: Values) -> Result:
    data, idx = _info(ins, 0), _info(ins, 1)
    b = int(node.attr("batch_dims", 0))
    last = idx.shape[-1]
    return [(idx.shape[:-1] + data.shape[b + last :], data.dtype)]


@_rule("Expand")
def _expand(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    target = tuple(int(v) for v in _value(node, vals, 1, "target shape").reshape(-1))
    return [(broadcast(x.shape, target), x.dtype)]


@_rule("Tile")
def _tile(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    reps = [int(v) for v in _value(node, vals, 1, "repeats").reshape(-1)]
    if len(reps) != len(x.shape):
        raise ShapeError(f"repeats {reps} do not match rank {len(x.shape)}")
    return [(tuple(d * r for d, r in zip(x.shape, reps)), x.dtype)]


@_rule("Pad")
def _pad(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    rank = len(x.shape)
    pads = _ints(node, vals, 1, "pads", "pads")
    if pads is None:
        raise ShapeError("no pads")
    axes = _ints(node, vals, 3, None, "pad axes")
    axes = [_axis(a, rank) for a in axes] if axes else list(range(rank))
    if len(pads) != 2 * len(axes):
        raise ShapeError(f"{len(pads)} pads for {len(axes)} axes")
    dims = list(x.shape)
    for j, a in enumerate(axes):
        dims[a] += pads[j] + pads[j + len(axes)]
    return [(_check_positive(tuple(dims), "padded output"), x.dtype)]


@_rule("ConstantOfShape")
def _constant_of_shape(node: Node, ins: Infos, vals: Values) -> Result:
    dims = tuple(int(v) for v in _value(node, vals, 0, "shape").reshape(-1))
    value = node.attr("value")
    dtype = str(value.dtype) if value is not None else "float32"
    return [(_check_positive(dims, "output"), dtype)]


@_rule("Range")
def _range(node: Node, ins: Infos, vals: Values) -> Result:
    start, limit, delta = (_value(node, vals, i, name).reshape(()) for i, name in
                           enumerate(("range start", "range limit", "range delta")))
    if delta == 0:
        raise ShapeError("range delta is 0")
    return [((max(int(math.ceil((limit - start) / delta)), 0),), _info(ins, 0).dtype)]


@_rule("EyeLike")
def _eye_like(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    dtype = onnx_to_numpy(int(node.attr("dtype"))) if node.attr("dtype") is not None else x.dtype
    return [(x.shape, dtype)]


@_rule("NonZero")
def _nonzero(node: Node, ins: Infos, vals: Values) -> Result:
    x = _value(node, vals, 0, "data")
    return [((x.ndim, int(np.count_nonzero(x))), "int64")]


@_rule("OneHot")
def _one_hot(node: Node, ins: Infos, vals: Values) -> Result:
    idx = _info(ins, 0)
    depth = int(_value(node, vals, 1, "depth").reshape(-1)[0])
    rank = len(idx.shape) + 1
    axis = _axis(int(node.attr("axis", -1)), rank)
    return [(idx.shape[:axis] + (depth,) + idx.shape[axis:], _info(ins, 2).dtype)]


@_rule("DepthToSpace")
def _depth_to_space(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    b = int(node.attr("blocksize"))
    n, c, h, w = x.shape
    if c % (b * b):
        raise ShapeError(f"{c} channels are not divisible by blocksize^2 = {b * b}")
    return [((n, c // (b * b), h * b, w * b), x.dtype)]


@_rule("SpaceToDepth")
def _space_to_depth(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    b = int(node.attr("blocksize"))
    n, c, h, w = x.shape
    if h % b or w % b:
        raise ShapeError(f"spatial dims {h}x{w} are not divisible by blocksize {b}")
    return [((n, c * b * b, h // b, w // b), x.dtype)]


# ------------------------------------------------------------------------------------- reductions


def reduce_axes(node: Node, vals: Values, rank: int) -> list[int]:
    """Reduced axes of a Reduce* op: attribute or input 1; empty means all unless noop_with_empty_axes."""
    axes = _ints(node, vals, 1, "axes", "reduction axes")
    if not axes:
        return [] if node.attr("noop_with_empty_axes", 0) else list(range(rank))
    return sorted({_axis(a, rank) for a in axes})


@_rule("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
       "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")
def _reduce(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    axes = set(reduce_axes(node, vals, len(x.shape)))
    keep = bool(node.attr("keepdims", 1))
    dims = tuple((1 if i in axes else d) for i, d in enumerate(x.shape) if keep or i not in axes)
    return [(dims, x.dtype)]


@_rule("ArgMax", "ArgMin")
def _arg_reduce(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    axis = _axis(int(node.attr("axis", 0)), len(x.shape))
    keep = bool(node.attr("keepdims", 1))
    dims = tuple((1 if i == axis else d) for i, d in enumerate(x.shape) if keep or i != axis)
    return [(dims, "int64")]


@_rule("TopK")
def _topk(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    k = int(node.attr("k")) if "k" in node.attrs else int(_value(node, vals, 1, "k").reshape(-1)[0])
    axis = _axis(int(node.attr("axis", -1)), len(x.shape))
    dims = x.shape[:axis] + (k,) + x.shape[axis + 1 :]
    return [(dims, x.dtype), (dims, "int64")]


# ------------------------------------------------------------------------------ windows and GEMMs


def conv_output_dims(
    spatial: Shape, kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int],
    pads: Sequence[int] | None, auto_pad: str, ceil_mode: bool = False,
) -> Shape:
    """Output spatial dims of a convolution or pooling window (ONNX ``auto_pad`` and ``pads`` rules).

    ``out = floor((in + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride) + 1``;
    SAME_* gives ``ceil(in / stride)``; ``ceil_mode`` rounds up but never starts a window in the end
    padding (as PyTorch and onnxruntime do).

    >>> conv_output_dims((224, 224), (7, 7), (2, 2), (1, 1), (3, 3, 3, 3), "NOTSET")
    (112, 112)
    """
    n = len(spatial)
    out = []
    for i in range(n):
        size, k, s, d = spatial[i], kernel[i], strides[i], dilations[i]
        span = d * (k - 1) + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out.append(-(-size // s))
            continue
        if auto_pad == "VALID":
            begin = end = 0
        else:
            begin, end = (pads[i], pads[i + n]) if pads else (0, 0)
        room = size + begin + end - span
        if room < 0:
            raise ShapeError(f"window of {span} does not fit spatial size {size} with pads ({begin}, {end})")
        if ceil_mode:
            o = -(-room // s) + 1
            if (o - 1) * s >= size + begin:
                o -= 1
        else:
            o = room // s + 1
        out.append(o)
    return tuple(out)


#: Largest window attribute (kernel, stride, dilation, pad) accepted: any real model is far below it.
_WINDOW_MAX = 1 << 31


def _window_attrs(node: Node, kernel: Sequence[int]) -> tuple[list[int], list[int], list[int] | None, str]:
    """Kernel, strides, dilations and pads of a window op, checked: one per spatial axis (pads two),
    kernel, strides and dilations at least 1, pads at least 0 (an invalid one would give empty or
    negative output dims rather than an error)."""
    n = len(kernel)
    strides = list(node.attr("strides") or [1] * n)
    dilations = list(node.attr("dilations") or [1] * n)
    pads = list(node.attr("pads")) if node.attr("pads") else None
    auto_pad = node.attr("auto_pad", "NOTSET") or "NOTSET"
    for name, values, count, low in (("kernel_shape", kernel, n, 1), ("strides", strides, n, 1),
                                     ("dilations", dilations, n, 1), ("pads", pads, 2 * n, 0)):
        if values is None:
            continue
        if len(values) != count or not all(isinstance(v, int) and low <= v <= _WINDOW_MAX for v in values):
            raise ShapeError(f"{name} {list(values)[:8]} must be {count} integers from {low} to {_WINDOW_MAX}")
    return strides, dilations, pads, auto_pad


def _conv_like(node: Node, x: TensorInfo, w: TensorInfo, dtype: str) -> Result:
    if len(x.shape) < 3 or len(w.shape) != len(x.shape):
        raise ShapeError(f"input {x.shape} and weight {w.shape} ranks do not fit a convolution")
    group = int(node.attr("group", 1))
    if x.shape[1] != w.shape[1] * group or w.shape[0] % group:
        raise ShapeError(f"input channels {x.shape[1]} do not match weight {w.shape} with group {group}")
    kernel = list(node.attr("kernel_shape") or w.shape[2:])
    if tuple(kernel) != tuple(w.shape[2:]):
        raise ShapeError(f"kernel_shape {kernel[:4]} does not match the weight's spatial dims {list(w.shape[2:])}")
    strides, dilations, pads, auto_pad = _window_attrs(node, kernel)
    spatial = conv_output_dims(x.shape[2:], kernel, strides, dilations, pads, auto_pad)
    return [((x.shape[0], w.shape[0]) + spatial, dtype)]


@_rule("Conv")
def _conv(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    return _conv_like(node, x, _info(ins, 1, "weight"), x.dtype)


@_rule("ConvInteger")
def _conv_integer(node: Node, ins: Infos, vals: Values) -> Result:
    return _conv_like(node, _info(ins, 0), _info(ins, 1, "weight"), "int32")


@_rule("QLinearConv")
def _qlinear_conv(node: Node, ins: Infos, vals: Values) -> Result:
    return _conv_like(node, _info(ins, 0), _info(ins, 3, "weight"), _info(ins, 7, "y_zero_point").dtype)


@_rule("ConvTranspose")
def _conv_transpose(node: Node, ins: Infos, vals: Values) -> Result:
    x, w = _info(ins, 0), _info(ins, 1, "weight")
    n = len(x.shape) - 2
    group = int(node.attr("group", 1))
    if n < 1 or len(w.shape) != n + 2 or x.shape[1] != w.shape[0]:
        raise ShapeError(f"input {x.shape} does not fit ConvTranspose weight {w.shape}")
    kernel = list(node.attr("kernel_shape") or w.shape[2:])
    if tuple(kernel) != tuple(w.shape[2:]):
        raise ShapeError(f"kernel_shape {kernel[:4]} does not match the weight's spatial dims {list(w.shape[2:])}")
    strides, dilations, pads, auto_pad = _window_attrs(node, kernel)
    out_pad = list(node.attr("output_padding") or [0] * n)
    if node.attr("output_shape"):
        spatial = tuple(int(d) for d in node.attr("output_shape")[-n:])
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        spatial = tuple(x.shape[2 + i] * strides[i] for i in range(n))
    else:
        pads = pads or [0] * (2 * n)
        spatial = tuple(
            strides[i] * (x.shape[2 + i] - 1) + out_pad[i] + dilations[i] * (kernel[i] - 1) + 1 - pads[i] - pads[i + n]
            for i in range(n)
        )
    return [(_check_positive((x.shape[0], w.shape[1] * group) + spatial, "output"), x.dtype)]


@_rule("MaxPool", "AveragePool", "LpPool")
def _pool(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    kernel = list(node.attr("kernel_shape") or ())
    if len(kernel) != len(x.shape) - 2:
        raise ShapeError(f"kernel_shape {kernel} does not fit input {x.shape}")
    strides, dilations, pads, auto_pad = _window_attrs(node, kernel)
    spatial = conv_output_dims(x.shape[2:], kernel, strides, dilations, pads, auto_pad,
                               bool(node.attr("ceil_mode", 0)))
    shape = x.shape[:2] + spatial
    return [(shape, x.dtype), (shape, "int64")][: len(node.outputs)]


@_rule("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
def _global_pool(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    return [(x.shape[:2] + (1,) * (len(x.shape) - 2), x.dtype)]


def matmul_dims(a: Shape, b: Shape) -> Shape:
    """numpy.matmul's output shape (1-D operands are promoted and the added dim dropped)."""
    if not a or not b:
        raise ShapeError("MatMul operands must have rank >= 1")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ShapeError(f"inner dimensions of {a} and {b} differ")
    out = broadcast(a2[:-2], b2[:-2]) + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


@_rule("MatMul")
def _matmul(node: Node, ins: Infos, vals: Values) -> Result:
    a = _info(ins, 0)
    return [(matmul_dims(a.shape, _info(ins, 1).shape), a.dtype)]


@_rule("MatMulInteger")
def _matmul_integer(node: Node, ins: Infos, vals: Values) -> Result:
    return [(matmul_dims(_info(ins, 0).shape, _info(ins, 1).shape), "int32")]


@_rule("QLinearMatMul")
def _qlinear_matmul(node: Node, ins: Infos, vals: Values) -> Result:
    return [(matmul_dims(_info(ins, 0).shape, _info(ins, 3).shape), _info(ins, 7, "y_zero_point").dtype)]


@_rule("Gemm")
def _gemm(node: Node, ins: Infos, vals: Values) -> Result:
    a, b = _info(ins, 0), _info(ins, 1)
    if len(a.shape) != 2 or len(b.shape) != 2:
        raise ShapeError(f"Gemm operands must be 2-D, got {a.shape} and {b.shape}")
    m, ka = a.shape[::-1] if node.attr("transA", 0) else a.shape
    kb, n = b.shape[::-1] if node.attr("transB", 0) else b.shape
    if ka != kb:
        raise ShapeError(f"inner dimensions of {a.shape} and {b.shape} differ")
    if len(ins) > 2 and ins[2] is not None:
        broadcast(ins[2].shape, (m, n))
    return [((m, n), a.dtype)]


# ------------------------------------------------------------------------------------------ Resize


def resize_output(x: Shape, node: Node, vals: Values) -> Shape:
    """Resize/Upsample output dims from ``sizes``, or from ``scales`` as ``floor(in * scale)``.

    Opset 10 Resize and Upsample take ``(X, scales)``; opset 11+ Resize takes ``(X, roi, scales, sizes)``.
    """
    rank = len(x)
    scales_at, sizes_at = (1, None) if node.op_type == "Upsample" or len(node.inputs) == 2 else (2, 3)
    axes = [_axis(a, rank) for a in node.attr("axes")] if node.attr("axes") else list(range(rank))
    dims = list(x)
    if sizes_at is not None and len(node.inputs) > sizes_at and node.inputs[sizes_at]:
        sizes = [int(v) for v in _value(node, vals, sizes_at, "resize sizes").reshape(-1)]
        if len(sizes) != len(axes):
            raise ShapeError(f"{len(sizes)} sizes for {len(axes)} axes")
        policy = node.attr("keep_aspect_ratio_policy", "stretch")
        if policy == "stretch":
            for a, s in zip(axes, sizes):
                dims[a] = s
        else:
            ratios = [s / x[a] for a, s in zip(axes, sizes)]
            scale = min(ratios) if policy == "not_larger" else max(ratios)
            for a in axes:
                dims[a] = int(round(scale * x[a]))
        return _check_positive(tuple(dims), "resized output")
    if "scales" in node.attrs:
        scales = [float(v) for v in node.attrs["scales"]]
    elif len(node.inputs) > scales_at and node.inputs[scales_at]:
        scales = [float(v) for v in _value(node, vals, scales_at, "resize scales").reshape(-1)]
    else:
        raise ShapeError("neither scales nor sizes are given")
    if len(scales) != len(axes):
        raise ShapeError(f"{len(scales)} scales for {len(axes)} axes")
    for a, s in zip(axes, scales):
        # float32 arithmetic, as onnxruntime computes it
        dims[a] = int(math.floor(np.float32(x[a]) * np.float32(s)))
    return _check_positive(tuple(dims), "resized output")


@_rule("Resize", "Upsample")
def _resize(node: Node, ins: Infos, vals: Values) -> Result:
    x = _info(ins, 0)
    return [(resize_output(x.shape, node, vals), x.dtype)]

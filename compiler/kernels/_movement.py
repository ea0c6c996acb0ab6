"""Data-movement, view and shape-arithmetic kernels with ONNX semantics (no arithmetic on values)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._env import Kernel, OpEnv, attr_ints, np_dtype

__all__ = ["KERNELS"]


def _ints(x: np.ndarray | None) -> tuple[int, ...]:
    return () if x is None else tuple(int(v) for v in np.asarray(x).ravel())


def _opt(xs: Sequence[np.ndarray | None], i: int) -> np.ndarray | None:
    return xs[i] if len(xs) > i else None


def _axes_arg(env: OpEnv, xs: Sequence[np.ndarray | None], i: int) -> tuple[int, ...] | None:
    """Axes from input ``i`` (newer opsets) or the ``axes`` attribute (older ones)."""
    given = _opt(xs, i)
    if given is not None:
        return _ints(given)
    return attr_ints(env, "axes")


def _transpose(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    perm = attr_ints(env, "perm")
    return np.transpose(xs[0], perm)


def _concat(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    parts = [x for x in xs if x is not None]
    axis = int(env.attr("axis")) % parts[0].ndim
    return np.concatenate(parts, axis=axis)


def _split(env: OpEnv, xs: Sequence[np.ndarray | None]) -> tuple[np.ndarray, ...]:
    x = xs[0]
    axis = int(env.attr("axis", 0)) % x.ndim
    sizes = _ints(_opt(xs, 1)) or attr_ints(env, "split")
    if not sizes:
        # Equal parts (opset 18's num_outputs rounds up, the last part takes the rest).
        count = len(env.node.outputs)
        step = -(-x.shape[axis] // count)
        sizes = tuple(min(step, x.shape[axis] - i * step) for i in range(count))
    cuts = np.cumsum(sizes)[:-1]
    return tuple(np.split(x, cuts, axis=axis))


def _slice(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    if env.opset < 10:
        starts, ends = attr_ints(env, "starts"), attr_ints(env, "ends")
        axes, steps = attr_ints(env, "axes"), None
    else:
        starts, ends = _ints(xs[1]), _ints(xs[2])
        axes = _ints(_opt(xs, 3)) or None
        steps = _ints(_opt(xs, 4)) or None
    axes = axes or tuple(range(len(starts)))
    steps = steps or (1,) * len(starts)
    index = [slice(None)] * x.ndim
    # Python slices clamp out-of-range and negative bounds exactly as ONNX specifies.
    for axis, start, end, step in zip(axes, starts, ends, steps):
        index[axis % x.ndim] = slice(start, end, step)
    return x[tuple(index)]


def _pad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    if env.opset < 11:
        pads, value, axes = attr_ints(env, "pads"), float(env.attr("value", 0.0)), None
    else:
        pads = _ints(xs[1])
        const = _opt(xs, 2)
        value = np.asarray(const).ravel()[0] if const is not None and np.asarray(const).size else 0
        axes = _ints(_opt(xs, 3)) or None
    mode = env.attr("mode", "constant")
    axes = tuple(a % x.ndim for a in axes) if axes else tuple(range(x.ndim))
    count = len(axes)
    begin, end = [0] * x.ndim, [0] * x.ndim
    for i, axis in enumerate(axes):
        begin[axis], end[axis] = pads[i], pads[count + i]
    # Negative pads crop first.
    crop = tuple(slice(max(0, -b), x.shape[a] - max(0, -e)) for a, (b, e) in enumerate(zip(begin, end)))
    x = x[crop]
    widths = [(max(0, b), max(0, e)) for b, e in zip(begin, end)]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=np.asarray(value, x.dtype))
    return np.pad(x, widths, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])


def _norm_index(idx: np.ndarray, size: int) -> np.ndarray:
    idx = np.asarray(idx).astype(np.int64)
    return np.where(idx < 0, idx + size, idx)


def _gather(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x, idx = xs[0], xs[1]
    axis = int(env.attr("axis", 0)) % x.ndim
    return np.take(x, _norm_index(idx, x.shape[axis]), axis=axis)


def _gather_elements(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x, idx = xs[0], xs[1]
    axis = int(env.attr("axis", 0)) % x.ndim
    return np.take_along_axis(x, _norm_index(idx, x.shape[axis]), axis=axis)


def _gather_nd(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x, idx = xs[0], np.asarray(xs[1]).astype(np.int64)
    b = int(env.attr("batch_dims", 0))
    batch = x.shape[:b]
    depth = idx.shape[-1]
    flat_x = x.reshape((-1,) + x.shape[b:])
    flat_i = idx.reshape((-1,) + idx.shape[b:])
    dims = np.array(x.shape[b : b + depth])
    picks = []
    for i in range(flat_x.shape[0]):
        coords = flat_i[i].reshape(-1, depth)
        coords = np.where(coords < 0, coords + dims, coords)
        picks.append(flat_x[i][tuple(coords.T)])
    out = np.stack(picks)
    return out.reshape(batch + idx.shape[b:-1] + x.shape[b + depth :])


def _reducer(env: OpEnv):
    return {"none": None, "add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}[
        env.attr("reduction", "none")
    ]


def _scatter_nd(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    out = xs[0].copy()
    idx, upd = np.asarray(xs[1]).astype(np.int64), xs[2]
    depth = idx.shape[-1]
    coords = idx.reshape(-1, depth)
    coords = np.where(coords < 0, coords + np.array(out.shape[:depth]), coords)
    updates = upd.reshape((coords.shape[0],) + out.shape[depth:])
    op = _reducer(env)
    for c, u in zip(coords, updates):
        key = tuple(c)
        out[key] = u if op is None else op(out[key], u)
    return out


def _scatter_elements(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    out = xs[0].copy()
    axis = int(env.attr("axis", 0)) % out.ndim
    idx = _norm_index(xs[1], out.shape[axis])
    upd = xs[2]
    op = _reducer(env)
    grid = list(np.indices(idx.shape, sparse=False))
    grid[axis] = idx
    key = tuple(g.ravel() for g in grid)
    if op is None:
        out[key] = upd.ravel()
    else:
        op.at(out, key, upd.ravel())
    return out


def _expand(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    shape = np.broadcast_shapes(x.shape, _ints(xs[1]))
    return np.ascontiguousarray(np.broadcast_to(x, shape))


def _reshape(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    target = list(_ints(xs[1]) if env.opset >= 5 else attr_ints(env, "shape"))
    if not env.attr("allowzero", 0):
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return x.reshape(target)


def _flatten(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    axis = int(env.attr("axis", 1)) % (x.ndim + 1) if x.ndim else 0
    rows = int(np.prod(x.shape[:axis], dtype=np.int64))
    return x.reshape(rows, -1)


def _squeeze(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    axes = _axes_arg(env, xs, 1)
    if not axes:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(a % x.ndim for a in axes))


def _unsqueeze(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    axes = _axes_arg(env, xs, 1) or ()
    rank = x.ndim + len(axes)
    return np.expand_dims(x, tuple(sorted(a % rank for a in axes)))


def _cast(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    target = np_dtype(env.attr("to"))
    x = xs[0]
    if target.kind in "iu" and x.dtype.kind == "f":
        # Float to integer truncates toward zero (C semantics); NaN and overflow are undefined in ONNX.
        with np.errstate(invalid="ignore"):
            return np.trunc(x).astype(target)
    return x.astype(target)


def _cast_like(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    return xs[0].astype(xs[1].dtype)


def _shape(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    shape = xs[0].shape
    start = int(env.attr("start", 0))
    end = env.attr("end")
    return np.array(shape[start : None if end is None else int(end)], dtype=np.int64)


def _size(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    return np.array(xs[0].size, dtype=np.int64)


def _constant_of_shape(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    value = env.attr("value")
    fill = np.zeros(1, np.float32) if value is None else np.asarray(value).ravel()
    return np.full(_ints(xs[0]), fill[0], dtype=fill.dtype)


def _range(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    start, limit, delta = (np.asarray(v).ravel()[0] for v in xs[:3])
    count = max(int(np.ceil((limit - start) / delta)), 0)
    return (start + np.arange(count) * delta).astype(np.asarray(xs[0]).dtype)


def _constant(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    for key, dtype in (
        ("value", None),
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        value = env.attr(key)
        if value is not None:
            return np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    raise NotImplementedError("Constant without a numeric value")


def _depth_to_space(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    b = int(env.attr("blocksize"))
    n, c, h, w = x.shape
    if env.attr("mode", "DCR") == "DCR":
        t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        t = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return t.reshape(n, c // (b * b), h * b, w * b)


def _space_to_depth(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    b = int(env.attr("blocksize"))
    n, c, h, w = x.shape
    t = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return t.reshape(n, c * b * b, h // b, w // b)


def _trilu(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    k = int(np.asarray(xs[1]).ravel()[0]) if _opt(xs, 1) is not None else 0
    return np.triu(x, k) if env.attr("upper", 1) else np.tril(x, k)


def _nonzero(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    return np.array(np.nonzero(xs[0]), dtype=np.int64).reshape(xs[0].ndim, -1)


def _one_hot(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    idx, depth, values = xs[0], int(np.asarray(xs[1]).ravel()[0]), xs[2]
    idx = np.asarray(idx).astype(np.int64)
    idx = np.where(idx < 0, idx + depth, idx)
    hot = idx[..., None] == np.arange(depth)
    out = np.where(hot, values[1], values[0]).astype(values.dtype)
    axis = int(env.attr("axis", -1))
    return np.moveaxis(out, -1, axis % out.ndim)


def _tile(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    return np.tile(xs[0], _ints(xs[1]))


def _eye_like(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    dtype = np_dtype(env.attr("dtype")) if env.attr("dtype") is not None else x.dtype
    return np.eye(x.shape[0], x.shape[1], k=int(env.attr("k", 0)), dtype=dtype)


def _reverse_sequence(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x, lengths = xs[0], _ints(xs[1])
    batch_axis, time_axis = int(env.attr("batch_axis", 1)), int(env.attr("time_axis", 0))
    out = x.copy()
    for i, n in enumerate(lengths):
        src = [slice(None)] * x.ndim
        src[batch_axis], src[time_axis] = i, slice(0, n)
        dst = list(src)
        dst[time_axis] = slice(n - 1, None, -1) if n else slice(0, 0)
        out[tuple(src)] = x[tuple(dst)]
    return out


def _einsum(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    return np.einsum(env.attr("equation"), *[x for x in xs if x is not None])


KERNELS: dict[str, Kernel] = {
    "Transpose": _transpose,
    "Concat": _concat,
    "Split": _split,
    "Slice": _slice,
    "Pad": _pad,
    "Gather": _gather,
    "GatherElements": _gather_elements,
    "GatherND": _gather_nd,
    "ScatterND": _scatter_nd,
    "ScatterElements": _scatter_elements,
    "Scatter": _scatter_elements,  # deprecated alias (opset 9-10) with the same semantics
    "Expand": _expand,
    "Tile": _tile,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Cast": _cast,
    "CastLike": _cast_like,
    "Shape": _shape,
    "Size": _size,
    "ConstantOfShape": _constant_of_shape,
    "Range": _range,
    "Constant": _constant,
    "DepthToSpace": _depth_to_space,
    "SpaceToDepth": _space_to_depth,
    "Trilu": _trilu,
    "NonZero": _nonzero,
    "OneHot": _one_hot,
    "Einsum": _einsum,
    "EyeLike": _eye_like,
    "ReverseSequence": _reverse_sequence,
}

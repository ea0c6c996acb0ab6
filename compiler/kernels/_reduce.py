"""Reductions, Softmax and the normalizations, with ONNX semantics.

Statistics (means, variances, sums of exponentials) are accumulated in float64 and the result is
returned in the input's dtype: closer to exact than a float32 runtime, hence within rounding of it.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ._env import Kernel, OpEnv, attr_ints

__all__ = ["KERNELS", "softmax"]


def _reduce_axes(env: OpEnv, xs: Sequence[np.ndarray | None]) -> tuple[int, ...] | None:
    """The axes to reduce, or ``None`` for all; from the attribute or (newer opsets) the input."""
    if len(xs) > 1 and xs[1] is not None:
        axes = tuple(int(a) for a in np.asarray(xs[1]).ravel())
    else:
        axes = attr_ints(env, "axes") or ()
    if not axes:
        return () if env.attr("noop_with_empty_axes", 0) else None
    rank = xs[0].ndim
    return tuple(sorted(a % rank for a in axes))


def _reduction(fn: Callable[[np.ndarray, tuple[int, ...] | None, bool], np.ndarray], wide: bool = True) -> Kernel:
    def kernel(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
        x = xs[0]
        axes = _reduce_axes(env, xs)
        if axes == ():
            return x
        keep = bool(env.attr("keepdims", 1))
        data = x.astype(np.float64) if wide and x.dtype.kind == "f" else x
        with np.errstate(all="ignore"):
            return np.asarray(fn(data, axes, keep)).astype(x.dtype, copy=False)

    return kernel


def _log_sum_exp(x: np.ndarray, axes, keep: bool) -> np.ndarray:
    peak = np.max(x, axis=axes, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0)
    out = np.log(np.sum(np.exp(x - peak), axis=axes, keepdims=True)) + peak
    return out if keep else np.squeeze(out, axis=axes if axes is not None else None)


def _arg(find: Callable) -> Kernel:
    def kernel(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
        x = xs[0]
        axis = int(env.attr("axis", 0)) % x.ndim
        if env.attr("select_last_index", 0):
            flipped = np.flip(x, axis=axis)
            idx = x.shape[axis] - 1 - find(flipped, axis=axis)
        else:
            idx = find(x, axis=axis)
        idx = idx.astype(np.int64)
        return np.expand_dims(idx, axis) if env.attr("keepdims", 1) else idx

    return kernel


def _coerced(env: OpEnv, x: np.ndarray) -> tuple[np.ndarray, int]:
    """Softmax's view: opset 13+ works on one axis; older opsets flatten to 2-D at ``axis``."""
    if env.opset >= 13:
        return x, int(env.attr("axis", -1)) % x.ndim
    axis = int(env.attr("axis", 1)) % x.ndim
    rows = int(np.prod(x.shape[:axis], dtype=np.int64))
    return x.reshape(rows, -1), 1


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    wide = x.astype(np.float64)
    e = np.exp(wide - wide.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)


def _softmax(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    view, axis = _coerced(env, x)
    return softmax(view, axis).reshape(x.shape)


def _log_softmax(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    view, axis = _coerced(env, x)
    wide = view.astype(np.float64)
    shifted = wide - wide.max(axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return out.astype(x.dtype).reshape(x.shape)


def _hardmax(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    view, axis = _coerced(env, x)
    hot = np.argmax(view, axis=axis)
    out = np.zeros(view.shape, x.dtype)
    np.put_along_axis(out, np.expand_dims(hot, axis), 1, axis=axis)
    return out.reshape(x.shape)


def _layer_norm(env: OpEnv, xs: Sequence[np.ndarray | None]) -> tuple[np.ndarray, ...]:
    x, scale = xs[0], xs[1]
    bias = xs[2] if len(xs) > 2 else None
    axis = int(env.attr("axis", -1)) % x.ndim
    axes = tuple(range(axis, x.ndim))
    wide = x.astype(np.float64)
    mean = wide.mean(axis=axes, keepdims=True)
    centered = wide - mean
    inv_std = 1.0 / np.sqrt((centered * centered).mean(axis=axes, keepdims=True) + float(env.attr("epsilon", 1e-5)))
    y = centered * inv_std * scale
    if bias is not None:
        y = y + bias
    stash = np.float32
    return (y.astype(x.dtype), mean.astype(stash), inv_std.astype(stash))[: len(env.node.outputs)]


def _channel(v: np.ndarray, rank: int) -> np.ndarray:
    """A per-channel vector shaped to broadcast against ``N, C, *spatial``."""
    return v.reshape((1, -1) + (1,) * (rank - 2))


def _batch_norm(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray | tuple[np.ndarray, ...]:
    x, scale, bias, mean, var = xs[:5]
    rank = x.ndim
    eps = float(env.attr("epsilon", 1e-5))
    if env.attr("training_mode", 0):
        # The batch's own statistics (biased variance); the running ones are updated with momentum.
        axes = (0,) + tuple(range(2, rank))
        wide = x.astype(np.float64)
        batch_mean = wide.mean(axis=axes)
        batch_var = ((wide - _channel(batch_mean, rank)) ** 2).mean(axis=axes)
        factor = scale.astype(np.float64) / np.sqrt(batch_var + eps)
        y = ((wide - _channel(batch_mean, rank)) * _channel(factor, rank) + _channel(bias.astype(np.float64), rank))
        momentum = float(env.attr("momentum", 0.9))
        running = (mean * momentum + batch_mean * (1 - momentum), var * momentum + batch_var * (1 - momentum))
        outs = (y.astype(x.dtype),) + tuple(r.astype(mean.dtype) for r in running)
        return outs[: max(1, len(env.node.outputs))]
    factor = scale.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    shift = bias.astype(np.float64) - mean.astype(np.float64) * factor
    return (x * _channel(factor, rank) + _channel(shift, rank)).astype(x.dtype)


def _normalize(x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
    wide = x.astype(np.float64)
    mean = wide.mean(axis=axes, keepdims=True)
    var = ((wide - mean) ** 2).mean(axis=axes, keepdims=True)
    return (wide - mean) / np.sqrt(var + eps)


def _instance_norm(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x, scale, bias = xs[:3]
    y = _normalize(x, tuple(range(2, x.ndim)), float(env.attr("epsilon", 1e-5)))
    return (y * _channel(scale, x.ndim) + _channel(bias, x.ndim)).astype(x.dtype)


def _group_norm(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x, scale, bias = xs[:3]
    groups = int(env.attr("num_groups"))
    n, c = x.shape[:2]
    grouped = x.reshape(n, groups, -1)
    y = _normalize(grouped, (2,), float(env.attr("epsilon", 1e-5))).reshape(x.shape)
    if scale.size == groups and c != groups:  # opset 18: one scale and bias per group
        scale, bias = np.repeat(scale, c // groups), np.repeat(bias, c // groups)
    return (y * _channel(scale, x.ndim) + _channel(bias, x.ndim)).astype(x.dtype)


def _mvn(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    axes = tuple(a % x.ndim for a in attr_ints(env, "axes", (0, 2, 3)))
    return _normalize(x, axes, 1e-9).astype(x.dtype)


def _lp_normalization(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    axis = int(env.attr("axis", -1)) % x.ndim
    wide = x.astype(np.float64)
    if int(env.attr("p", 2)) == 1:
        norm = np.abs(wide).sum(axis=axis, keepdims=True)
    else:
        norm = np.sqrt((wide * wide).sum(axis=axis, keepdims=True))
    with np.errstate(all="ignore"):
        return np.where(norm == 0, 0.0, wide / norm).astype(x.dtype)


def _lrn(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    size = int(env.attr("size"))
    alpha, beta, bias = float(env.attr("alpha", 1e-4)), float(env.attr("beta", 0.75)), float(env.attr("bias", 1.0))
    sq = x.astype(np.float64) ** 2
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    padded = np.pad(sq, [(0, 0), (before, after)] + [(0, 0)] * (x.ndim - 2))
    csum = np.concatenate([np.zeros_like(padded[:, :1]), np.cumsum(padded, axis=1)], axis=1)
    window = csum[:, size:] - csum[:, :-size]
    return (x / (bias + alpha / size * window) ** beta).astype(x.dtype)


def _cumsum(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    axis = int(np.asarray(xs[1]).ravel()[0]) % x.ndim
    data = np.flip(x, axis) if env.attr("reverse", 0) else x
    out = np.cumsum(data, axis=axis, dtype=x.dtype)
    if env.attr("exclusive", 0):
        out = np.concatenate([np.zeros_like(np.take(out, [0], axis=axis)), np.delete(out, -1, axis=axis)], axis=axis)
    return np.flip(out, axis) if env.attr("reverse", 0) else out


def _topk(env: OpEnv, xs: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    x = xs[0]
    k = int(np.asarray(xs[1]).ravel()[0])
    axis = int(env.attr("axis", -1)) % x.ndim
    # Stable sorts keep ties in index order, the lower index first, as onnxruntime does.
    key = -x if env.attr("largest", 1) else x
    if x.dtype.kind == "u":
        key = x.max() - x if env.attr("largest", 1) else x
    order = np.argsort(key, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, idx, axis=axis), idx.astype(np.int64)


KERNELS: dict[str, Kernel] = {
    "ReduceMean": _reduction(lambda x, a, k: np.mean(x, axis=a, keepdims=k)),
    "ReduceSum": _reduction(lambda x, a, k: np.sum(x, axis=a, keepdims=k)),
    "ReduceMax": _reduction(lambda x, a, k: np.max(x, axis=a, keepdims=k), wide=False),
    "ReduceMin": _reduction(lambda x, a, k: np.min(x, axis=a, keepdims=k), wide=False),
    "ReduceProd": _reduction(lambda x, a, k: np.prod(x, axis=a, keepdims=k)),
    "ReduceSumSquare": _reduction(lambda x, a, k: np.sum(x * x, axis=a, keepdims=k)),
    "ReduceL1": _reduction(lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k)),
    "ReduceL2": _reduction(lambda x, a, k: np.sqrt(np.sum(x * x, axis=a, keepdims=k))),
    "ReduceLogSum": _reduction(lambda x, a, k: np.log(np.sum(x, axis=a, keepdims=k))),
    "ReduceLogSumExp": _reduction(_log_sum_exp),
    "ArgMax": _arg(np.argmax),
    "ArgMin": _arg(np.argmin),
    "Softmax": _softmax,
    "LogSoftmax": _log_softmax,
    "Hardmax": _hardmax,
    "LayerNormalization": _layer_norm,
    "BatchNormalization": _batch_norm,
    "InstanceNormalization": _instance_norm,
    "GroupNormalization": _group_norm,
    "MeanVarianceNormalization": _mvn,
    "LRN": _lrn,
    "LpNormalization": _lp_normalization,
    "CumSum": _cumsum,
    "TopK": _topk,
}

"""Pooling kernels (MaxPool, AveragePool, LpPool and their global forms) with ONNX semantics."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ._env import Kernel, OpEnv, attr_ints
from ._window import padded, spatial_pads, taps

__all__ = ["KERNELS"]


def _geometry(env: OpEnv, x: np.ndarray) -> dict:
    rank = x.ndim - 2
    kernel = attr_ints(env, "kernel_shape")
    strides = attr_ints(env, "strides", (1,) * rank)
    dilations = attr_ints(env, "dilations", (1,) * rank)
    begin, end = spatial_pads(env.attr("auto_pad", "NOTSET"), attr_ints(env, "pads"), x.shape[2:], kernel, strides, dilations)
    # The output size is the graph's (shape inference applied ceil_mode); padding reaches it.
    out = env.out_shape(0)[2:]
    return dict(kernel=kernel, strides=strides, dilations=dilations, pads_begin=begin, pads_end=end, out_size=out)


def _fold(x: np.ndarray, geo: dict, fill, combine: Callable[[np.ndarray, np.ndarray], np.ndarray], dtype=None) -> np.ndarray:
    """Combine the taps at every kernel offset of every window."""
    xp = padded(x, fill=fill, **geo)
    acc = None
    for _, tap in taps(xp, geo["kernel"], geo["strides"], geo["dilations"], geo["out_size"]):
        tap = tap.astype(dtype or tap.dtype)
        acc = tap.copy() if acc is None else combine(acc, tap)
    assert acc is not None
    return acc


def _max_pool(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    if len(env.node.outputs) > 1 and env.node.outputs[1]:
        raise NotImplementedError("MaxPool with an Indices output")
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    return _fold(x, _geometry(env, x), fill, lambda a, t: np.maximum(a, t, out=a))


def _counts(shape: Sequence[int], geo: dict, include_pad: bool) -> np.ndarray:
    """How many cells each window averages over: real cells, plus declared pads if included."""
    ones = np.ones((1, 1, *shape), dtype=np.float64)
    if include_pad:
        widths = [(0, 0), (0, 0)] + list(zip(geo["pads_begin"], geo["pads_end"]))
        ones = np.pad(ones, widths, constant_values=1.0)
        geo = dict(geo, pads_begin=(0,) * len(shape), pads_end=(0,) * len(shape))
    return _fold(ones, geo, 0.0, lambda a, t: np.add(a, t, out=a))


def _avg_pool(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    geo = _geometry(env, x)
    total = _fold(x, geo, 0, lambda a, t: np.add(a, t, out=a), dtype=np.float64)
    count = _counts(x.shape[2:], geo, bool(env.attr("count_include_pad", 0)))
    return (total / count).astype(x.dtype)


def _lp_pool(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    p = float(env.attr("p", 2))
    total = _fold(np.abs(x).astype(np.float64) ** p, _geometry(env, x), 0.0, lambda a, t: np.add(a, t, out=a))
    return (total ** (1.0 / p)).astype(x.dtype)


def _global(reducer: str) -> Kernel:
    def kernel(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
        x = xs[0]
        axes = tuple(range(2, x.ndim))
        if reducer == "mean":
            return x.mean(axis=axes, keepdims=True, dtype=np.float64).astype(x.dtype)
        if reducer == "max":
            return x.max(axis=axes, keepdims=True)
        p = float(env.attr("p", 2))
        return ((np.abs(x).astype(np.float64) ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)).astype(x.dtype)

    return kernel


KERNELS: dict[str, Kernel] = {
    "MaxPool": _max_pool,
    "AveragePool": _avg_pool,
    "LpPool": _lp_pool,
    "GlobalAveragePool": _global("mean"),
    "GlobalMaxPool": _global("max"),
    "GlobalLpPool": _global("lp"),
}

"""Resize (and the older Upsample) with ONNX semantics: nearest, linear and cubic, every coordinate mode.

Interpolation is separable, so it runs one axis at a time. Source coordinates are computed in float32
as onnxruntime does, so nearest-neighbour picks agree with it even where a coordinate lands on a tie.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._env import Kernel, OpEnv, attr_ints

__all__ = ["KERNELS"]


def _source_coords(mode: str, out_len: int, in_len: int, scale: float, roi: tuple[float, float]) -> np.ndarray:
    """Where each output index samples the input, in input index units."""
    f32 = np.float32
    x = np.arange(out_len, dtype=f32)
    s = f32(scale)
    if mode == "half_pixel":
        return (x + f32(0.5)) / s - f32(0.5)
    if mode == "pytorch_half_pixel":
        return (x + f32(0.5)) / s - f32(0.5) if out_len > 1 else np.zeros(out_len, f32)
    if mode == "half_pixel_symmetric":
        adjustment = f32(out_len) / (s * f32(in_len))
        offset = f32(in_len) / f32(2) * (f32(1) - adjustment)
        return offset + (x + f32(0.5)) / s - f32(0.5)
    if mode == "align_corners":
        if out_len == 1:
            return np.zeros(1, f32)
        return x * f32(in_len - 1) / f32(out_len - 1)
    if mode == "asymmetric":
        return x / s
    if mode == "tf_crop_and_resize":
        start, end = f32(roi[0]), f32(roi[1])
        if out_len == 1:
            return np.full(1, f32(0.5) * (start + end) * f32(in_len - 1), f32)
        return start * f32(in_len - 1) + x * (end - start) * f32(in_len - 1) / f32(out_len - 1)
    raise NotImplementedError(f"Resize coordinate_transformation_mode {mode!r}")


def _nearest_index(coords: np.ndarray, rule: str, downsampling: bool) -> np.ndarray:
    floor = np.floor(coords)
    if rule == "round_prefer_floor":
        idx = np.where(coords == floor + np.float32(0.5), floor, _round_away(coords))
    elif rule == "round_prefer_ceil":
        idx = _round_away(coords)
        idx = np.where(coords == floor + np.float32(0.5), floor + 1, idx)
    elif rule == "floor":
        idx = floor
    elif rule == "ceil":
        idx = np.ceil(coords)
    elif rule == "simple":  # Upsample: truncation when enlarging, ceil when shrinking
        idx = np.ceil(coords) if downsampling else np.trunc(coords)
    else:
        raise NotImplementedError(f"Resize nearest_mode {rule!r}")
    return idx.astype(np.int64)


def _round_away(x: np.ndarray) -> np.ndarray:
    """C's round(): halves away from zero."""
    return np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))


def _cubic_weights(t: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution weights of the taps at floor-1 .. floor+2, for fractions ``t``."""
    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    t = t.astype(np.float64)
    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=-1)


def _resample_axis(x: np.ndarray, axis: int, out_len: int, scale: float, roi, env: OpEnv, upsample: bool) -> np.ndarray:
    in_len = x.shape[axis]
    coord_mode = "asymmetric" if upsample else env.attr("coordinate_transformation_mode", "half_pixel")
    mode = env.attr("mode", "nearest")
    coords = _source_coords(coord_mode, out_len, in_len, scale, roi)
    outside = None
    if coord_mode == "tf_crop_and_resize":
        outside = (coords < 0) | (coords > in_len - 1)
    if mode == "nearest":
        rule = "simple" if upsample else env.attr("nearest_mode", "round_prefer_floor")
        idx = np.clip(_nearest_index(coords, rule, scale < 1), 0, in_len - 1)
        out = np.take(x, idx, axis=axis)
    elif mode in ("linear", "bilinear", "trilinear"):
        c = np.clip(coords, 0, in_len - 1)
        lo = np.floor(c).astype(np.int64)
        hi = np.minimum(lo + 1, in_len - 1)
        w = _shape_for(axis, x.ndim, (c - lo).astype(np.float32))
        wide = x.astype(np.float32)
        out = np.take(wide, lo, axis=axis) * (1 - w) + np.take(wide, hi, axis=axis) * w
    elif mode == "cubic":
        base = np.floor(coords).astype(np.int64)
        weights = _cubic_weights(coords - base, float(env.attr("cubic_coeff_a", -0.75)))
        taps = base[:, None] + np.arange(-1, 3)
        if env.attr("exclude_outside", 0):
            weights = np.where((taps < 0) | (taps > in_len - 1), 0.0, weights)
            weights = weights / weights.sum(axis=1, keepdims=True)
        taps = np.clip(taps, 0, in_len - 1)
        wide = x.astype(np.float64)
        out = sum(np.take(wide, taps[:, j], axis=axis) * _shape_for(axis, x.ndim, weights[:, j]) for j in range(4))
    else:
        raise NotImplementedError(f"Resize mode {mode!r}")
    if outside is not None and outside.any():
        mask = _shape_for(axis, x.ndim, outside)
        out = np.where(mask, np.float32(env.attr("extrapolation_value", 0.0)), out)
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        return np.clip(np.round(out), info.min, info.max).astype(x.dtype)
    return out.astype(x.dtype, copy=False)


def _shape_for(axis: int, rank: int, v: np.ndarray) -> np.ndarray:
    shape = [1] * rank
    shape[axis] = v.shape[0]
    return v.reshape(shape)


def _full(values: Sequence[float], axes: tuple[int, ...] | None, rank: int, fill: float) -> list[float]:
    if axes is None:
        return list(values)
    out = [fill] * rank
    for a, v in zip(axes, values):
        out[a % rank] = v
    return out


def _resize(env: OpEnv, xs: Sequence[np.ndarray | None], upsample: bool = False) -> np.ndarray:
    x = xs[0]
    # Resize-10 samples like Upsample: asymmetric coordinates, truncating nearest neighbour.
    upsample = upsample or env.opset < 11
    rank = x.ndim
    out_shape = env.out_shape(0)
    axes = attr_ints(env, "axes")
    if upsample:
        given = env.attr("scales") if len(xs) < 2 else xs[1]
        scales = [float(v) for v in np.asarray(given).ravel()]
        roi = None
    else:
        if env.opset < 11:
            roi_in, scales_in = None, xs[1]
        else:
            roi_in = xs[1] if len(xs) > 1 else None
            scales_in = xs[2] if len(xs) > 2 else None
        scales = [float(v) for v in np.asarray(scales_in).ravel()] if scales_in is not None and scales_in.size else None
        if scales is not None:
            scales = _full(scales, axes, rank, 1.0)
        roi = None
        if roi_in is not None and roi_in.size:
            r = [float(v) for v in roi_in.ravel()]
            half = len(r) // 2
            roi = list(zip(_full(r[:half], axes, rank, 0.0), _full(r[half:], axes, rank, 1.0)))
    if env.attr("antialias", 0) and any(o < i for o, i in zip(out_shape, x.shape)):
        raise NotImplementedError("Resize with antialias when downsampling")
    if scales is None:
        scales = [o / i for o, i in zip(out_shape, x.shape)]
        policy = env.attr("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch" and not upsample:
            # Sizes were fitted keeping the aspect ratio: one scale for every resized axis.
            sizes = [float(v) for v in np.asarray(xs[3]).ravel()]
            resized = [a % rank for a in axes] if axes else list(range(rank))
            ratios = [sz / x.shape[a] for sz, a in zip(sizes, resized)]
            common = min(ratios) if policy == "not_larger" else max(ratios)
            scales = [common if a in resized else 1.0 for a in range(rank)]
    out = x
    for axis in range(rank):
        scale = scales[axis]
        region = roi[axis] if roi is not None else (0.0, 1.0)
        if out_shape[axis] == x.shape[axis] and scale == 1.0 and env.attr("coordinate_transformation_mode") != "tf_crop_and_resize":
            continue
        out = _resample_axis(out, axis, out_shape[axis], scale, region, env, upsample)
    return out


KERNELS: dict[str, Kernel] = {
    "Resize": _resize,
    "Upsample": lambda env, xs: _resize(env, xs, upsample=True),
}

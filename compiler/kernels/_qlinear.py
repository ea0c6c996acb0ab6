"""Quantized ONNX: QuantizeLinear / DequantizeLinear kernels and the integer GEMM operators' parts.

Integer GEMMs (QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger, and Conv/MatMul/Gemm fed by
DequantizeLinear in QDQ models) run on the array as signed ``int8 x int8``. A ``uint8`` operand with
zero point ``z`` enters as ``q - 128`` with zero point ``z - 128`` (same differences ``q - z``), and
zero points are taken out of the accumulators afterwards, as integer accelerators do:

    Σ_k (a - za)(b - zb) = Σ a·b − za·Σ_k b − zb·Σ_k a + K·za·zb

The first term is what the array computes (:func:`hwsim.core.golden.int_gemm`); the rest is the vector
unit's exact integer correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._env import Kernel, OpEnv

__all__ = ["KERNELS", "IntOperand", "signed", "per_axis", "zero_point_correction", "requantize"]


def per_axis(v: np.ndarray, axis: int, rank: int) -> np.ndarray:
    """A per-axis scale or zero point shaped to broadcast along ``axis`` of a rank-``rank`` tensor."""
    v = np.asarray(v)
    if v.ndim == 0 or rank == 0:
        return v.reshape(())
    shape = [1] * rank
    shape[axis % rank] = v.size
    return v.reshape(shape)


def _quantize_linear(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x, scale = xs[0], xs[1]
    zp = xs[2] if len(xs) > 2 and xs[2] is not None else np.zeros((), np.uint8)
    axis = int(env.attr("axis", 1))
    s = per_axis(scale, axis, x.ndim).astype(np.float32)
    z = per_axis(zp, axis, x.ndim).astype(np.float32)
    info = np.iinfo(zp.dtype)
    # float32 division and round-half-even, as onnxruntime does.
    q = np.rint(x.astype(np.float32) / s) + z
    return np.clip(q, info.min, info.max).astype(zp.dtype)


def _dequantize_linear(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x, scale = xs[0], xs[1]
    zp = xs[2] if len(xs) > 2 and xs[2] is not None else None
    axis = int(env.attr("axis", 1))
    s = per_axis(scale, axis, x.ndim).astype(np.float32)
    centered = x.astype(np.int64)
    if zp is not None:
        centered = centered - per_axis(zp, axis, x.ndim).astype(np.int64)
    return (centered.astype(np.float32) * s).astype(scale.dtype)


def _dynamic_quantize_linear(env: OpEnv, xs: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = xs[0].astype(np.float32)
    lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    zp = np.uint8(np.clip(np.rint(np.float32(0) - np.float32(lo) / scale), 0, 255))
    q = np.clip(np.rint(x / scale) + np.float32(zp), 0, 255).astype(np.uint8)
    return q, np.array(scale, np.float32), np.array(zp, np.uint8)


@dataclass(frozen=True)
class IntOperand:
    """Integer codes and zero point of one GEMM operand, signed for the array."""

    codes: np.ndarray
    zero_point: np.ndarray  # scalar, or per output channel for B


def signed(codes: np.ndarray, zero_point: np.ndarray | int | None) -> IntOperand:
    """Move a uint8 operand to int8 by subtracting 128 from codes and zero point alike."""
    zp = np.zeros((), np.int64) if zero_point is None else np.asarray(zero_point).astype(np.int64)
    if codes.dtype == np.uint8:
        return IntOperand((codes.astype(np.int16) - 128).astype(np.int8), zp - 128)
    return IntOperand(codes, zp)


def zero_point_correction(acc: np.ndarray, a: np.ndarray, b: np.ndarray, za: np.ndarray, zb: np.ndarray) -> np.ndarray:
    """Σ(a−za)(b−zb) from the array's Σab for ``a`` (g, m, k), ``b`` (g, k, n); ``zb`` broadcasts over n."""
    k = a.shape[-1]
    out = acc.astype(np.int64)
    if np.any(za != 0):
        out = out - za * b.astype(np.int64).sum(axis=1, keepdims=True)
    if np.any(zb != 0):
        out = out - a.astype(np.int64).sum(axis=2, keepdims=True) * zb
        out = out + k * za * zb
    return out


def requantize(acc: np.ndarray, multiplier: np.ndarray, zero_point: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round ``acc * multiplier`` half to even, add the zero point, saturate to ``dtype``."""
    info = np.iinfo(dtype)
    y = np.rint(acc.astype(np.float32) * multiplier.astype(np.float32)) + zero_point.astype(np.float32)
    return np.clip(y, info.min, info.max).astype(dtype)


KERNELS: dict[str, Kernel] = {
    "QuantizeLinear": _quantize_linear,
    "DequantizeLinear": _dequantize_linear,
    "DynamicQuantizeLinear": _dynamic_quantize_linear,
}

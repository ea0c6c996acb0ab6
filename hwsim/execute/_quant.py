"""Symmetric post-training quantization and the integer tile step.

Scheme (docs/run.md#quantization): activations per tensor, weights per output channel, both
symmetric (zero point 0) on ``[-(2^(b-1) - 1), 2^(b-1) - 1]`` with ``b`` the config's ``input_bits``
and ``weight_bits``; scale = calibrated max |x| / (2^(b-1) - 1); round half to even; saturate.

>>> s = symmetric_scale(np.float32(2.54), 8)
>>> quantize(np.array([-3.0, -0.004, 0.062, 1.0]), s, 8).tolist()
[-127, 0, 3, 50]
"""

from __future__ import annotations

import numpy as np

from hwsim.core.golden import int_gemm

from ._tiles import Step

__all__ = ["qmax", "symmetric_scale", "quantize", "channel_scales", "int_step", "int_dtype"]


def qmax(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def int_dtype(bits: int) -> np.dtype:
    """The narrowest numpy integer that holds a ``bits``-wide signed operand."""
    for dtype in (np.int8, np.int16, np.int32):
        if bits <= np.iinfo(dtype).bits:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def symmetric_scale(max_abs: np.ndarray | float, bits: int) -> np.ndarray:
    """float32 scale(s) mapping ``max_abs`` to the largest code; an all-zero range gets scale 1."""
    m = np.asarray(max_abs, dtype=np.float64)
    return np.where(m > 0, m / qmax(bits), 1.0).astype(np.float32)


def quantize(x: np.ndarray, scale: np.ndarray | float, bits: int) -> np.ndarray:
    """Codes of ``x`` at ``scale`` (broadcast), rounded half to even and saturated."""
    q = qmax(bits)
    codes = np.rint(np.asarray(x, dtype=np.float64) / np.asarray(scale, dtype=np.float64))
    return np.clip(codes, -q, q).astype(int_dtype(bits))


def channel_scales(b: np.ndarray, bits: int) -> np.ndarray:
    """Per output channel scales ``(groups, 1, n)`` of a ``(groups, k, n)`` weight operand."""
    return symmetric_scale(np.abs(b).max(axis=1, keepdims=True), bits)


def int_step(acc_bits: int) -> Step:
    """The array's integer multiply-accumulate: :func:`hwsim.core.golden.int_gemm`, one group at a time."""
    def step(acc: np.ndarray | None, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.stack(
            [int_gemm(a[g], b[g], acc_bits=acc_bits, acc=None if acc is None else acc[g]) for g in range(a.shape[0])]
        )

    return step

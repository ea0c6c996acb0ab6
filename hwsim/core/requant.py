"""The accelerator's integer epilogue and pooling arithmetic: the one numpy reference.

``hwsim run --precision int8`` computes every integer-representable array layer with
:func:`requantize` and every pooling layer with :func:`max_pool_codes` / :func:`average_codes`; the
DRAM image builder packs the same :class:`Epilogue` parameters into the weight blocks the RTL reads;
the RTL benches check their epilogue against these functions. So the three can never disagree.

Per output channel ``c`` of a GEMM, with ``acc`` the int32 accumulator (already wrapped to 32 bits)
and ``r`` the residual's int8 code at the same element::

    v = saturate_int32(acc + bias[c])
    t = v * mult[c]                              exact 64-bit signed product
    if relu_pre: t = max(t, 0)                   an activation before the residual add
    if residual: t = t + r * rmult[c]
    y = (t + 2^(shift[c] - 1)) >> shift[c]       arithmetic shift: round half up; 1 <= shift <= 62
    y = clamp(y, lo, hi)

Derived from float scales as gemmlowp and TFLite do (:func:`epilogue`): the real multiplier
``M = s_a * s_w[c] * gain[c] / s_y`` becomes ``mult * 2^-shift`` with ``|mult|`` in
``[2^30, 2^31)`` (31 significant bits), and the residual's ``s_r / s_y`` becomes ``rmult`` at the
same shift; the bias is rounded to accumulator units ``s_a * s_w[c] * gain[c]``.

Bounds: ``|v| <= 2^31`` and ``|mult| < 2^31`` make ``|t| < 2^62``; with ``|r * rmult| < 2^38`` and the
rounding term ``<= 2^61`` every intermediate fits a signed 64-bit integer, in numpy and in the RTL.

>>> ep = epilogue(s_a=0.02, s_w=np.array([0.01]), s_y=0.05, offset=np.array([0.1]), lo=0)
>>> int(ep.mult[0]), int(ep.shift[0]), int(ep.bias[0])          # M = 0.004 = mult * 2^-shift
(1099511628, 38, 500)
>>> requantize(np.array([[1000, -3000]]).T, ep).ravel().tolist()   # (1000 + 500) * 0.004 = 6
[6, 0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "INT32_MIN", "INT32_MAX", "Epilogue", "Average", "code_limit", "multipliers", "epilogue", "requantize",
    "round_shift", "max_pool_codes", "average", "average_codes",
]

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
#: The multiplier keeps 31 significant bits; the shift stays where a 64-bit product can use it.
_MULT_BITS = 31
_SHIFT_MIN, _SHIFT_MAX = 1, 62


def code_limit(bits: int) -> int:
    """The largest code of a symmetric ``bits``-wide operand: ``2^(bits-1) - 1`` (127 for int8)."""
    return (1 << (bits - 1)) - 1


@dataclass(frozen=True)
class Epilogue:
    """The integer store-path parameters of one GEMM layer, per output channel (``n`` of them).

    ``bias``, ``mult``, ``rmult`` are int32 and ``shift`` uint8 arrays of shape ``(n,)``; ``lo`` and
    ``hi`` bound the output codes; ``relu_pre`` clamps at 0 before the residual add; ``residual``
    says the layer adds ``r * rmult``.
    """

    bias: np.ndarray
    mult: np.ndarray
    rmult: np.ndarray
    shift: np.ndarray
    lo: int
    hi: int
    relu_pre: bool = False
    residual: bool = False

    @property
    def channels(self) -> int:
        return int(self.bias.shape[0])


@dataclass(frozen=True)
class Average:
    """An average pool's integer parameters: ``(sum * mult + 2^(shift-1)) >> shift``, clamped to
    ``[lo, hi]``; one multiplier for the layer (every window has ``count`` cells)."""

    mult: int
    shift: int
    count: int
    lo: int
    hi: int


def multipliers(m: np.ndarray, r: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mult, rmult, shift)``: the real multipliers ``m`` (and ``r``, sharing each element's shift)
    as int32 ``mult * 2^-shift``, the larger of ``|m|``, ``|r|`` normalised to ``[2^30, 2^31)``.

    A multiplier too small for the longest shift keeps fewer bits; one too large for the shortest
    saturates (neither happens with calibrated scales: ``M`` is about 1e-4 .. 10).

    >>> [v.tolist() for v in multipliers(np.array([0.75, 0.0]), np.array([0.25, 0.5]))]
    [[1610612736, 0], [536870912, 1073741824], [31, 31]]
    """
    m = np.atleast_1d(np.asarray(m, dtype=np.float64))
    r = np.zeros_like(m) if r is None else np.broadcast_to(np.asarray(r, dtype=np.float64), m.shape)
    _, exponent = np.frexp(np.maximum(np.abs(m), np.abs(r)))  # top = f * 2^e, 0.5 <= f < 1 (e = 0 for 0)
    shift = np.clip(_MULT_BITS - exponent, _SHIFT_MIN, _SHIFT_MAX)

    def scaled(x: np.ndarray, s: np.ndarray) -> np.ndarray:
        return np.rint(np.ldexp(x, s))  # exact scaling by 2^s, then the one rounding

    mult, rmult = scaled(m, shift), scaled(r, shift)
    # Rounding f up to 1.0 gives 2^31: one bit less of shift keeps it in range.
    over = (np.maximum(np.abs(mult), np.abs(rmult)) > INT32_MAX) & (shift > _SHIFT_MIN)
    shift = np.where(over, shift - 1, shift)
    mult, rmult = scaled(m, shift), scaled(r, shift)
    mult, rmult = (np.clip(x, -INT32_MAX, INT32_MAX).astype(np.int32) for x in (mult, rmult))
    return mult, rmult, shift.astype(np.uint8)


def epilogue(*, s_a: float, s_w: np.ndarray, s_y: float, gain: np.ndarray | float = 1.0,
             offset: np.ndarray | float = 0.0, s_r: float | None = None, relu_pre: bool = False,
             lo: int | None = None, hi: int | None = None, bits: int = 8) -> Epilogue:
    """The parameters of ``y = clamp(quantize((acc * s_a * s_w * gain + offset) [relu] [+ r * s_r], s_y))``.

    ``s_w``, ``gain`` and ``offset`` are per output channel (or scalars), ``offset`` in real units
    (a bias, a folded BatchNormalization's shift); ``s_r`` is the residual's scale (``None``: no
    residual); ``lo``/``hi`` are code bounds (``None``: the symmetric range of ``bits``). Every
    ``gain`` must be non-zero (a zero gain has no accumulator unit to round the offset in).
    """
    s_w = np.atleast_1d(np.asarray(s_w, dtype=np.float64))
    unit = np.float64(s_a) * s_w * np.asarray(gain, dtype=np.float64)
    if np.any(unit == 0):
        raise ValueError("epilogue: a zero gain has no accumulator unit")
    unit = np.broadcast_to(unit, s_w.shape)
    real = unit / np.float64(s_y)
    residual = s_r is not None
    rreal = np.full(real.shape, np.float64(s_r) / np.float64(s_y)) if residual else None
    mult, rmult, shift = multipliers(real, rreal)
    bias = np.clip(np.rint(np.broadcast_to(np.asarray(offset, dtype=np.float64), real.shape) / unit),
                   INT32_MIN, INT32_MAX).astype(np.int32)
    q = code_limit(bits)
    return Epilogue(bias=bias, mult=mult, rmult=rmult, shift=shift,
                    lo=-q if lo is None else max(-q, min(q, int(lo))),
                    hi=q if hi is None else max(-q, min(q, int(hi))),
                    relu_pre=relu_pre, residual=residual)


def round_shift(t: np.ndarray, shift: np.ndarray | int) -> np.ndarray:
    """``(t + 2^(shift-1)) >> shift`` on int64 with an arithmetic shift: round half up.

    >>> round_shift(np.array([5, 6, -5, -6]), 2).tolist()   # 1.25, 1.5, -1.25, -1.5
    [1, 2, -1, -1]
    """
    t = np.asarray(t, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    return (t + np.left_shift(np.int64(1), s - 1)) >> s


def requantize(acc: np.ndarray, ep: Epilogue, residual: np.ndarray | None = None) -> np.ndarray:
    """The int8 codes of a GEMM's accumulators ``acc`` (channels on the last axis) after the
    epilogue ``ep``; ``residual`` holds the residual's codes, shaped like ``acc``."""
    acc = np.asarray(acc, dtype=np.int64)
    v = np.clip(acc + ep.bias.astype(np.int64), INT32_MIN, INT32_MAX)
    t = v * ep.mult.astype(np.int64)
    if ep.relu_pre:
        t = np.maximum(t, 0)
    if ep.residual:
        if residual is None or np.shape(residual) != acc.shape:
            raise ValueError("requantize: a residual epilogue needs the residual's codes, shaped like acc")
        t = t + np.asarray(residual, dtype=np.int64) * ep.rmult.astype(np.int64)
    y = round_shift(t, ep.shift)
    return np.clip(y, ep.lo, ep.hi).astype(_code_dtype(ep.lo, ep.hi))


def max_pool_codes(window_codes: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    """MaxPool on codes: the largest code of each window; the output keeps the input's scale."""
    return np.max(window_codes, axis=axis)


def average(*, s_in: float, s_out: float, count: int, bits: int = 8) -> Average:
    """The parameters of an average over ``count`` cells from scale ``s_in`` to ``s_out``:
    ``M = s_in / (s_out * count)``.

    >>> a = average(s_in=0.1, s_out=0.1, count=4)
    >>> average_codes(np.array([10, 11, -10, 127 * 4]), a).tolist()   # 2.5, 2.75, -2.5, 127
    [3, 3, -2, 127]
    """
    mult, _, shift = multipliers(np.array([np.float64(s_in) / (np.float64(s_out) * count)]))
    q = code_limit(bits)
    return Average(mult=int(mult[0]), shift=int(shift[0]), count=int(count), lo=-q, hi=q)


def average_codes(sums: np.ndarray, p: Average) -> np.ndarray:
    """Codes of an average pool from each window's sum of codes."""
    t = np.asarray(sums, dtype=np.int64) * np.int64(p.mult)
    return np.clip(round_shift(t, p.shift), p.lo, p.hi).astype(_code_dtype(p.lo, p.hi))


def _code_dtype(lo: int, hi: int) -> np.dtype:
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)

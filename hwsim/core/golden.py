"""The golden integer arithmetic of the generated RTL: the accumulators of one tile
(:func:`int_gemm`), the accelerator's store-path epilogue (:func:`epilogue`) and its average pool
(:func:`avg_pool_scale`).

The cocotb benches compare the RTL against these, and ``hwsim run --precision int8`` computes its
integer layers with them, so the two can never disagree on arithmetic.
"""

from __future__ import annotations

import numpy as np

from .requant import Average, Epilogue, average_codes, requantize

__all__ = ["int_gemm", "wrap", "epilogue", "avg_pool_scale"]


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    """``x`` reduced to ``bits``-bit two's complement (what a ``bits``-wide register keeps), as int64.

    >>> wrap(np.array([127, 128, -129, 2**31]), 8).tolist()
    [127, -128, 127, 0]
    """
    if not 1 <= bits <= 64:
        raise ValueError(f"bits must be from 1 to 64, got {bits}")
    u = np.asarray(x, dtype=np.int64).astype(np.uint64)  # modulo 2**64, exact
    if bits < 64:
        u &= np.uint64((1 << bits) - 1)
        u -= (u >> np.uint64(bits - 1)) * np.uint64(1 << bits)  # modulo 2**64 again: the sign extension
    return u.astype(np.int64)


#: Integers of magnitude below this are exact in float64 (a 53-bit significand).
_FLOAT64_EXACT = 1 << 53


def _magnitude(x: np.ndarray) -> int:
    """The largest ``|x|`` as a Python integer (no overflow at the int64 minimum)."""
    return max(-int(x.min()), int(x.max())) if x.size else 0


def int_gemm(a: np.ndarray, b: np.ndarray, *, acc_bits: int, acc: np.ndarray | None = None) -> np.ndarray:
    """``acc + a @ b`` in ``acc_bits``-bit two's complement, as int64 (``acc`` absent means zeros).

    ``a`` is ``m x k`` (activations), ``b`` is ``k x n`` (weights), both integer arrays whose values
    fit the operand widths; ``acc`` is ``m x n``: the partial sums an accumulating tile starts from.
    Each product and each partial sum wraps exactly as the array's ``acc_bits``-wide adders do, and
    since wrapping is modular the order of the additions does not matter.

    >>> int_gemm(np.array([[-128, -128]]), np.array([[-128], [-128]]), acc_bits=16).tolist()
    [[-32768]]
    >>> int_gemm(np.array([[1]]), np.array([[2]]), acc_bits=32, acc=np.array([[40]])).tolist()
    [[42]]
    """
    a = np.asarray(a)
    b = np.asarray(b)
    for name, x in (("a", a), ("b", b)):
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"int_gemm: {name} must be a 2-D integer array, got {x.dtype} {x.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"int_gemm: a is {a.shape[0]}x{a.shape[1]} but b is {b.shape[0]}x{b.shape[1]}")
    if _magnitude(a) * _magnitude(b) * a.shape[1] < _FLOAT64_EXACT:
        # Every product and partial sum is an integer below 2**53, which float64 holds exactly,
        # and BLAS multiplies floats several times faster than numpy multiplies integers.
        out = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    else:
        # int64 products and sums are exact modulo 2**64, all that wrapping to acc_bits <= 64 needs.
        out = a.astype(np.int64) @ b.astype(np.int64)
    if acc is not None:
        acc = np.asarray(acc)
        if acc.shape != out.shape or not np.issubdtype(acc.dtype, np.integer):
            raise ValueError(f"int_gemm: acc must be an integer {out.shape[0]}x{out.shape[1]} array, got {acc.dtype} {acc.shape}")
        out = out + acc.astype(np.int64)
    return wrap(out, acc_bits)


def epilogue(acc: np.ndarray, *, bias, mult, shift, lo: int, hi: int, relu_pre: bool = False,
             residual: np.ndarray | None = None, rmult=0) -> np.ndarray:
    """The accelerator's store-path epilogue (docs/accelerator.md#epilogue), per output channel c
    (the last axis; ``bias``, ``mult``, ``rmult``, ``shift`` broadcast along it)::

        v = saturate_int32(acc + bias[c]);  t = v * mult[c]            (exact)
        if relu_pre: t = max(t, 0)
        if residual is not None: t = t + residual * rmult[c]
        y = clamp((t + 2^(shift[c]-1)) >> shift[c], lo, hi)            (arithmetic shift: round half up)

    ``acc`` are int32 accumulators (already wrapped), ``residual`` int8 codes of the same shape.
    Returns int8 codes as int64. The arithmetic is :func:`hwsim.core.requant.requantize`'s, the
    one reference ``hwsim run --precision int8`` computes with.

    >>> epilogue(np.array([[10, -10, 2**31 - 1]]), bias=[1, 0, 1], mult=[3, 3, 1], shift=[1, 1, 1], lo=-127, hi=127).tolist()
    [[17, -15, 127]]
    >>> epilogue(np.array([[-10]]), bias=[0], mult=[1], shift=[1], lo=-127, hi=127, relu_pre=True,
    ...          residual=np.array([[-7]]), rmult=[2]).tolist()
    [[-7]]
    """
    acc = np.asarray(acc, dtype=np.int64)
    n = acc.shape[-1]
    shift = np.broadcast_to(np.asarray(shift, dtype=np.int64), (n,))
    if np.any((shift < 1) | (shift > 62)):
        raise ValueError(f"shift must be from 1 to 62, got {shift.tolist()}")

    def lanes(v, dtype) -> np.ndarray:
        return np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).astype(dtype)

    ep = Epilogue(bias=lanes(bias, np.int32), mult=lanes(mult, np.int32), rmult=lanes(rmult, np.int32),
                  shift=shift.astype(np.uint8), lo=int(lo), hi=int(hi), relu_pre=relu_pre, residual=residual is not None)
    return requantize(acc, ep, residual).astype(np.int64)


def avg_pool_scale(total: np.ndarray, *, mult: int, shift: int, lo: int, hi: int) -> np.ndarray:
    """The accelerator's average pool from a window's sum of int8 codes:
    ``clamp((total * mult + 2^(shift-1)) >> shift, lo, hi)`` (divide by the window's size with
    mult / 2^shift ~ 1 / size), as :func:`hwsim.core.requant.average_codes` computes it.

    >>> avg_pool_scale(np.array([9, -9, 10]), mult=7282, shift=16, lo=-127, hi=127).tolist()   # / 9
    [1, -1, 1]
    """
    if not 1 <= int(shift) <= 62:
        raise ValueError(f"shift must be from 1 to 62, got {shift}")
    return average_codes(total, Average(mult=int(mult), shift=int(shift), count=1, lo=int(lo), hi=int(hi))).astype(np.int64)

"""hwsim.core.golden.int_gemm: the exact wrapped accumulators, against Python's unbounded integers."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.core.golden import int_gemm, wrap


def _reference(a, b, acc_bits, acc=None):
    m, k = len(a), len(a[0])
    n = len(b[0])
    out = []
    for i in range(m):
        row = []
        for j in range(n):
            s = sum(int(a[i][x]) * int(b[x][j]) for x in range(k)) + (int(acc[i][j]) if acc is not None else 0)
            s %= 1 << acc_bits
            row.append(s - (1 << acc_bits) if s >= 1 << (acc_bits - 1) else s)
        out.append(row)
    return out


@pytest.mark.parametrize("acc_bits", [12, 16, 17, 32, 48, 64])
def test_matches_unbounded_integers_then_wrapping(acc_bits):
    rng = np.random.default_rng(acc_bits)
    a = rng.integers(-128, 128, size=(5, 37))
    b = rng.integers(-128, 128, size=(37, 4))
    a[0], b[:, 0] = -128, -128  # the widest sum: 37 * 2**14
    acc = rng.integers(-(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1, size=(5, 4), dtype=np.int64)
    assert int_gemm(a, b, acc_bits=acc_bits).tolist() == _reference(a, b, acc_bits)
    assert int_gemm(a, b, acc_bits=acc_bits, acc=acc).tolist() == _reference(a, b, acc_bits, acc)


def test_splitting_k_across_accumulating_tiles_changes_nothing():
    rng = np.random.default_rng(1)
    a, b = rng.integers(-128, 128, size=(6, 50)), rng.integers(-128, 128, size=(50, 3))
    for bits in (16, 32):
        partial = int_gemm(a[:, :17], b[:17], acc_bits=bits)
        partial = int_gemm(a[:, 17:40], b[17:40], acc_bits=bits, acc=partial)
        assert (int_gemm(a[:, 40:], b[40:], acc_bits=bits, acc=partial) == int_gemm(a, b, acc_bits=bits)).all()


def test_extremes_and_wrap_around():
    a = np.full((1, 4), -128)
    b = np.full((4, 1), -128)
    assert int_gemm(a, b, acc_bits=32)[0, 0] == 4 * 16384
    assert int_gemm(a, b, acc_bits=16)[0, 0] == 0  # 65536 wraps to 0
    assert int_gemm(a[:, :2], b[:2], acc_bits=16)[0, 0] == -32768
    assert wrap(np.array([2**63 - 1, -(2**63)]), 64).tolist() == [2**63 - 1, -(2**63)]
    assert int_gemm(a, b, acc_bits=32).dtype == np.int64


@pytest.mark.parametrize("a, b, acc", [
    (np.zeros((2, 3), int), np.zeros((4, 2), int), None),
    (np.zeros((2, 3)), np.zeros((3, 2), int), None),
    (np.zeros(3, int), np.zeros((3, 2), int), None),
    (np.zeros((2, 3), int), np.zeros((3, 2), int), np.zeros((2, 3), int)),
])
def test_bad_operands_are_rejected(a, b, acc):
    with pytest.raises(ValueError, match="int_gemm"):
        int_gemm(a, b, acc_bits=32, acc=acc)


@pytest.mark.parametrize("magnitude", [1 << 20, 1 << 26, 1 << 40])
def test_exact_whether_float64_could_hold_the_sums_or_not(magnitude):
    """Up to 2**53 the product runs in float64; beyond, in int64 (wrapping mod 2**64): both exact."""
    rng = np.random.default_rng(magnitude)
    a = rng.integers(-magnitude, magnitude, size=(3, 300), dtype=np.int64)
    b = rng.integers(-magnitude, magnitude, size=(300, 2), dtype=np.int64)
    a[0, :], b[:, 0] = magnitude - 1, magnitude - 1  # sums up to 300 * magnitude**2
    for bits in (32, 64):
        assert int_gemm(a, b, acc_bits=bits).tolist() == _reference(a, b, bits)

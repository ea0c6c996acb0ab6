"""The integer epilogue (hwsim.core.requant) against an independent Python-integer reading of SPEC §4."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.core.requant import (INT32_MAX, INT32_MIN, Epilogue, average, average_codes, epilogue, multipliers,
                                requantize, round_shift)


def _reference(acc: int, bias: int, mult: int, shift: int, lo: int, hi: int, relu_pre: bool, r: int | None,
               rmult: int) -> int:
    """One element with Python's unbounded integers and exact rational rounding (floor(x + 1/2))."""
    v = min(max(acc + bias, INT32_MIN), INT32_MAX)
    t = v * mult
    if relu_pre:
        t = max(t, 0)
    if r is not None:
        t += r * rmult
    y = Fraction(t, 1 << shift) + Fraction(1, 2)
    return min(max(y.numerator // y.denominator, lo), hi)


@settings(max_examples=300, deadline=None)
@given(
    acc=st.integers(INT32_MIN, INT32_MAX),
    bias=st.integers(INT32_MIN, INT32_MAX),
    mult=st.integers(-INT32_MAX, INT32_MAX),
    rmult=st.integers(-INT32_MAX, INT32_MAX),
    shift=st.integers(1, 62),
    r=st.integers(-127, 127),
    relu_pre=st.booleans(),
    residual=st.booleans(),
    lo=st.integers(-127, 0),
    hi=st.integers(0, 127),
)
def test_requantize_equals_the_integer_definition(acc, bias, mult, rmult, shift, r, relu_pre, residual, lo, hi):
    ep = Epilogue(bias=np.array([bias], np.int32), mult=np.array([mult], np.int32), rmult=np.array([rmult], np.int32),
                  shift=np.array([shift], np.uint8), lo=lo, hi=hi, relu_pre=relu_pre, residual=residual)
    got = requantize(np.array([[acc]]), ep, np.array([[r]]) if residual else None)
    assert int(got[0, 0]) == _reference(acc, bias, mult, shift, lo, hi, relu_pre, r if residual else None, rmult)


def test_round_half_up_and_saturation_corners():
    ep = Epilogue(bias=np.array([0, INT32_MAX], np.int32), mult=np.array([1 << 30, 1 << 30], np.int32),
                  rmult=np.zeros(2, np.int32), shift=np.array([31, 31], np.uint8), lo=-127, hi=127)
    # mult * 2^-31 = 1/2: 1 -> 0.5 -> 1 (half up), -1 -> -0.5 -> 0, 3 -> 1.5 -> 2, -3 -> -1.5 -> -1.
    acc = np.array([[1, 0], [-1, 0], [3, 0], [-3, 0]])
    assert requantize(acc, ep)[:, 0].tolist() == [1, 0, 2, -1]
    # acc + bias saturates at INT32_MAX before the multiply: (2^31 - 1) / 2 -> 127 after the clamp.
    assert requantize(np.array([[0, 10]]), ep)[0, 1] == 127
    assert round_shift(np.array([-(1 << 62)]), 62).tolist() == [-1]


@pytest.mark.parametrize("m", [1e-6, 3.7e-4, 0.004, 0.5, 0.999999, 1.0, 7.25, 1000.0])
def test_multipliers_keep_31_bits(m):
    mult, _, shift = multipliers(np.array([m, -m]))
    assert (1 << 30) <= mult[0] < (1 << 31) and mult[1] == -mult[0]
    assert abs(int(mult[0]) / 2.0 ** int(shift[0]) - m) <= m * 2.0 ** -30


def test_residual_multiplier_shares_the_shift():
    mult, rmult, shift = multipliers(np.array([0.01, 3.0]), np.array([0.5, 0.002]))
    assert shift.tolist() == [31, 29]  # the larger of M and R sets the shift
    assert int(rmult[0]) == round(0.5 * 2 ** 31) and int(mult[1]) == round(3.0 * 2 ** 29)


def test_epilogue_from_scales_tracks_the_float_definition():
    rng = np.random.default_rng(3)
    n = 16
    s_a, s_y, s_r = 0.021, 0.083, 0.05
    s_w = rng.uniform(0.001, 0.02, n)
    gain = rng.uniform(0.5, 2.0, n) * rng.choice([-1, 1], n)
    offset = rng.normal(0, 1, n)
    ep = epilogue(s_a=s_a, s_w=s_w, s_y=s_y, gain=gain, offset=offset, s_r=s_r, relu_pre=True, lo=0)
    acc = rng.integers(-20000, 20000, (64, n))
    r = rng.integers(-127, 128, (64, n))
    real = np.maximum(gain * acc * s_a * s_w + offset, 0) + r * s_r
    want = np.clip(np.floor(real / s_y + 0.5), 0, 127)
    got = requantize(acc, ep, r)
    # The bias is rounded to accumulator units and M keeps 31 bits: at most one code apart, rarely.
    assert np.max(np.abs(got - want)) <= 1 and np.mean(got != want) < 0.01


def test_average_pool_parameters():
    p = average(s_in=0.1, s_out=0.05, count=9)
    sums = np.arange(-127 * 9, 127 * 9 + 1)
    want = np.clip(np.floor(sums * 0.1 / (0.05 * 9) + 0.5), -127, 127)
    assert np.array_equal(average_codes(sums, p), want)

"""Weight lanes past a tile's n never reach the accumulator (issue 12's fix in the tile controller):
a tile with n < cols leaves columns >= n untouched, so an accumulating tile with a larger n adds onto
zeros there, whatever the unused lanes of the first tile's weight words held."""

from __future__ import annotations

import numpy as np

from hwsim.core.golden import int_gemm
from hwsim.core.program import Placement, Tile
from rtl import GemmCase
from rtl._program import unpack

from .conftest import config


def test_unused_weight_lanes_do_not_leak_into_a_later_wider_tile(simulator):
    cfg = config(4, 4)
    rng = np.random.default_rng(7)
    m, k = 5, 4
    a = rng.integers(-128, 128, (m, 2 * k))
    b = rng.integers(-128, 128, (2 * k, 4))
    # Tile 1 covers columns 0-1 of K rows 0..k-1 and does not emit; tile 2 all four columns of K rows
    # k..2k-1 and accumulates. The bench fills tile 1's weight lanes 2-3 with random junk.
    placements = (Placement(0, 0, 0, 0, Tile(m=m, k=k, n=2, accumulate=False, emit=False)),
                  Placement(0, 0, k, 0, Tile(m=m, k=k, n=4, accumulate=True, emit=True)))
    observed = simulator(cfg).observe([GemmCase(a=a, b=b, placements=placements)], seed=3)
    rows = np.array([unpack(w, 32, 4) for w in observed["tiles"][1]["outputs"]])
    want = int_gemm(a[:, k:], b[k:], acc_bits=32)
    want[:, :2] = int_gemm(a, b[:, :2], acc_bits=32)
    assert np.array_equal(rows, want)

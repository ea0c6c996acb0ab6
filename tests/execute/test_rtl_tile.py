"""One int8 tile of ``hwsim run`` on the generated RTL (cocotb + Icarus): the same accumulators."""

from __future__ import annotations

import numpy as np

from hwsim.core.golden import int_gemm
from hwsim.core.program import Placement
from hwsim.execute import compile_for_run, run
from rtl._cosim import GemmCase, Simulator

from .helpers import CFG
from .models import conv_zoo


def test_a_run_tile_is_what_the_rtl_computes(tmp_path):
    cfg = CFG.replace(rows=4, cols=4)
    x = np.random.default_rng(2).standard_normal((2, 3, 33, 29)).astype(np.float32)
    tiles = []
    run(compile_for_run(conv_zoo(), cfg), {"x": x}, precision="int8",
        tile_hook=lambda name, p, a, b, before, after: tiles.append((p, a.copy(), b.copy(), before, after)))
    # The smallest tile that starts from zero and emits: the RTL streams out exactly its accumulators.
    fresh = [t for t in tiles if not t[0].tile.accumulate and t[0].tile.emit]
    p, a, b, before, after = min(fresh, key=lambda t: (t[0].tile.macs, t[0].tile.m))
    assert before is None and a.dtype == b.dtype == np.int8
    assert a.shape == (p.tile.m, p.tile.k) and b.shape == (p.tile.k, p.tile.n)
    np.testing.assert_array_equal(after, int_gemm(a, b, acc_bits=cfg.acc_bits))
    assert np.abs(after).max() > 1000  # a real convolution tile, not zeros

    case = GemmCase(a=a.astype(np.int64), b=b.astype(np.int64), placements=(Placement(0, 0, 0, 0, p.tile),))
    (result,) = Simulator(cfg, tmp_path).run([case])
    # mismatches counts RTL outputs that differ from int_gemm(a, b): zero means the RTL emitted `after`.
    assert result.mismatches == 0 and not result.timed_out and result.words_left == 0

"""Heavier sweeps, run by bin/test-all (``-m slow``): more arrays, shapes, stall patterns, the two
``hwsim verify`` acceptance runs, and synthesis of the 8x8 design."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hwsim.core.config import preset
from hwsim.core.timing import tile_cycles
from rtl import FAMILIES, synthesize

from .conftest import case, check_cases, config
from .test_cosim import PIPELINE_PROGRAMS

pytestmark = pytest.mark.slow

ARRAYS = [(1, 1), (2, 5), (5, 2), (7, 3), (8, 8), (32, 32)]


@pytest.mark.parametrize("rows, cols", ARRAYS)
def test_random_shapes_with_every_kind_of_split(rows, cols, simulator):
    """Buffers just large enough for a few folds: the tiler splits M, N and K in most GEMMs."""
    cfg = config(rows, cols, filter_kib=rows * cols * 3 / 1024, ofmap_kib=cols * 4 * 10 / 1024)
    rng = np.random.default_rng(rows * 100 + cols)
    shapes = [(int(rng.integers(1, 40)), int(rng.integers(1, 5 * rows + 3)), int(rng.integers(1, 3 * cols + 2)))
              for _ in range(4 if rows * cols < 1000 else 1)]
    cases = [case(cfg, m, k, n, seed=i) for i, (m, k, n) in enumerate(shapes)]
    for c, result in zip(cases, simulator(cfg).run(cases)):
        assert result.passed, (c.a.shape, c.b.shape, result.mismatches,
                               [(t.rtl_cycles, t.model_cycles) for t in result.tiles])


@pytest.mark.parametrize("stall", [0.1, 0.5, 0.8])
def test_heavy_stalls_on_8x8(stall, simulator):
    cfg = config(8, 8, filter_kib=8 * 8 * 3 / 1024)
    cases = [case(cfg, 21, 40, 11, seed=1), case(cfg, 1, 17, 9, seed=2)]
    observed = simulator(cfg).observe(cases, stall=stall, seed=int(stall * 10))
    for r in check_cases(cfg, cases, observed):
        assert r.mismatches == 0 and r.words_left == 0 and not r.timed_out
        assert all(t.rtl_cycles >= t.model_cycles for t in r.tiles)


@pytest.mark.parametrize("args", [
    ["--rows", "8", "--cols", "8", "--m", "37", "--k", "20", "--n", "13", "--seed", "1"],
    ["--rows", "16", "--cols", "16", "--m", "64", "--k", "100", "--n", "40", "--seed", "3"],
])
def test_verify_acceptance_runs(args):
    done = subprocess.run([sys.executable, "-m", "hwsim", "verify", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mismatches    0" in done.stdout and "passed" in done.stdout


def test_synthesis_of_the_8x8_fpga_edge_design_is_clean_and_deterministic():
    cfg = preset("fpga-edge")
    r = synthesize(cfg, FAMILIES)
    assert synthesize(cfg, FAMILIES) == r  # the same figures every time (the area model relies on it)
    assert r.generic.latches == 0 and r.generic.multipliers == 64
    assert r.generic.memories == cfg.cols + 1
    for f in r.fpga:
        assert f.flip_flops > 0 and f.luts > 0 and f.brams > 0
    assert {f.family: f.dsps for f in r.fpga}["xilinx"] == 64


@pytest.mark.parametrize("family", FAMILIES)
def test_synthesized_netlists_still_pass_the_cosimulation(family, tmp_path):
    """Gate-level: the FPGA flow's mapped netlist (DSPs, block RAM, LUTs) with Yosys's cell models
    runs the same programs bit-exactly and in the same cycles as the RTL."""
    from rtl import Simulator, gate_level_netlist, generate_verilog

    cfg = config(4, 4, ofmap_kib=1 / 4, filter_kib=1 / 16)
    netlist = gate_level_netlist(generate_verilog(cfg), cfg.module_name, family)
    cases = [case(cfg, 11, 9, 6, seed=1), case(cfg, 1, 13, 4, seed=2)]
    for result in Simulator(cfg, tmp_path, verilog=netlist).run(cases):
        assert result.passed


# Every pipeline depth the config accepts (mult_stages 0-3, adder_segments 1-4, acc_stages 1-3) on
# the programs test_cosim.py runs with four of them.
@pytest.mark.parametrize("depths", [(mu, s, a) for mu in (0, 1, 2, 3) for s in (1, 2, 3, 4) for a in (1, 2, 3)],
                         ids=lambda d: "M{}-S{}-A{}".format(*d))
def test_the_whole_pipeline_grid_is_bit_and_cycle_exact(depths, simulator):
    for fields, shapes in PIPELINE_PROGRAMS.values():
        mult, segments, acc = depths
        cfg = config(**fields, mult_stages=mult, adder_segments=segments, acc_stages=acc)
        cases = [case(cfg, m, k, n, seed) for m, k, n, seed in shapes]
        for c, result in zip(cases, simulator(cfg).run(cases)):
            assert result.passed and result.mismatches == 0
            assert [t.rtl_cycles for t in result.tiles] == [tile_cycles(cfg, p.tile) for p in c.placements]

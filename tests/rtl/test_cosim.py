"""The generated Verilog under Icarus (cocotb): every output equals hwsim.core.golden.int_gemm and every
tile takes exactly hwsim.core.timing.tile_cycles, for the tile programs compiler.tiling produces."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.core.program import Placement, Tile
from hwsim.core.timing import tile_cycles
from rtl import GemmCase, check
from rtl._program import unpack

from .conftest import case, check_cases, config

# Small buffers make the tiler split K across accumulating tiles of two folds (filter half 32 B)
# and M into tiles of 8 rows (accumulator half 128 B) on a 4 x 4 array.
SPLIT = config(4, 4, filter_kib=1 / 16, ofmap_kib=1 / 4, shared_buffer=False)  # a 64-byte weight buffer cuts K

# name -> (config, [(m, k, n, seed)]): shapes that are and are not multiples of the array, K of
# one and of several folds, M = 1, n beyond one column tile.
PROGRAMS = {
    "2x2": (config(2, 2), [(1, 1, 1, 0), (1, 7, 3, 1), (4, 6, 2, 2), (9, 5, 1, 3)]),
    # One row: with m = 1 consecutive folds are one cycle apart, so the accumulator reads a row
    # in the cycle it is written (the memory's transparent read forwards it).
    "1x3": (config(1, 3), [(1, 5, 2, 14), (3, 4, 3, 15)]),
    "8x8": (config(8, 8), [(37, 20, 13, 1), (1, 64, 8, 2), (24, 32, 16, 3)]),
    "4x8": (config(4, 8), [(11, 9, 8, 4), (1, 3, 5, 5), (16, 16, 16, 6)]),
    "16x16": (config(16, 16), [(64, 100, 40, 3), (1, 16, 16, 7)]),
    # Narrow operands and accumulators: the widest sums wrap around many times.
    "3x5 int4 x int6 -> int12": (config(3, 5, input_bits=4, weight_bits=6, acc_bits=12), [(7, 13, 11, 8), (1, 40, 5, 9)]),
    "4x4 int8 -> int16": (config(4, 4, acc_bits=16), [(6, 9, 4, 10)]),
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_outputs_and_cycles_match_the_models(name, simulator):
    cfg, shapes = PROGRAMS[name]
    cases = [case(cfg, m, k, n, seed) for m, k, n, seed in shapes]
    results = simulator(cfg).run(cases)
    for c, result in zip(cases, results):
        shape = (c.a.shape[0], c.a.shape[1], c.b.shape[1])
        assert result.mismatches == 0, shape
        assert [t.rtl_cycles for t in result.tiles] == [tile_cycles(cfg, p.tile) for p in c.placements], shape
        assert result.passed, shape


def _split_cases() -> list[GemmCase]:
    """The compiler's program for a GEMM that splits M, N and K, plus a hand-made program whose K
    tiles are not whole folds (5, then 3, then 7 rows) and whose single row of A is M = 1."""
    tiler = case(SPLIT, 19, 21, 6, seed=11)
    rng = np.random.default_rng(12)
    a, b = rng.integers(-128, 128, size=(1, 15)), rng.integers(-128, 128, size=(15, 3))
    tiles = [(0, Tile(1, 5, 3, accumulate=False, emit=False)), (5, Tile(1, 3, 3, accumulate=True, emit=False)),
             (8, Tile(1, 7, 3, accumulate=True, emit=True))]
    uneven = GemmCase(a=a, b=b, placements=tuple(Placement(0, 0, k0, 0, t) for k0, t in tiles))
    return [tiler, uneven]


@pytest.fixture(scope="module")
def split_run(simulator):
    cases = _split_cases()
    return cases, simulator(SPLIT).observe(cases)


def test_split_program_covers_accumulation_and_partial_folds():
    tiles = [p.tile for p in _split_cases()[0].placements]
    assert any(t.accumulate for t in tiles) and any(not t.emit for t in tiles)
    assert any(t.k > SPLIT.rows for t in tiles) and any(t.k % SPLIT.rows for t in tiles)
    assert any(t.m < 8 for t in tiles) and any(t.n < SPLIT.cols for t in tiles)
    assert len({(p.m0, p.n0) for p in _split_cases()[0].placements}) == 6  # 3 row blocks x 2 column blocks


def test_split_program_is_bit_and_cycle_exact(split_run):
    cases, observed = split_run
    for result in check_cases(SPLIT, cases, observed):
        assert result.mismatches == 0
        assert all(t.rtl_cycles == t.model_cycles for t in result.tiles)
        assert result.passed


@pytest.mark.parametrize("delta", [1, -1])
def test_a_one_cycle_change_of_the_timing_model_is_caught(split_run, delta):
    cases, observed = split_run
    result = check(SPLIT, cases[0], observed, model=lambda cfg, t: tile_cycles(cfg, t) + delta)
    assert result.mismatches == 0
    assert not result.passed
    assert all(t.rtl_cycles == t.model_cycles - delta for t in result.tiles)
    assert result.rtl_cycles == result.model_cycles - delta * len(result.tiles)


def test_stalls_change_cycles_but_never_results(simulator):
    """Random gaps in every input stream and random backpressure on the output."""
    cases = _split_cases()
    observed = simulator(SPLIT).observe(cases, stall=0.3, seed=5)
    slower = 0
    for result in check_cases(SPLIT, cases, observed):
        assert result.mismatches == 0 and result.words_left == 0 and not result.timed_out
        assert all(t.rtl_cycles >= t.model_cycles for t in result.tiles)
        slower += sum(t.rtl_cycles > t.model_cycles for t in result.tiles)
    assert slower > 0


def test_stream_phase_completes_rows_x_cols_macs_every_cycle(simulator):
    """Counting the PEs that do a MAC in each cycle (their registered valid bits) on a long tile."""
    cfg = config(4, 8)
    m, k, n = 40, 16, 8  # four whole folds, all columns, m > rows: folds stream back to back
    operands = case(cfg, m, k, n, seed=13)
    c = GemmCase(operands.a, operands.b, (Placement(0, 0, 0, 0, Tile(m, k, n)),))  # one long tile
    observed = simulator(cfg).observe([c], probe=True)
    assert check(cfg, c, observed).passed
    busy = observed["busy"]
    pes, folds = cfg.rows * cfg.cols, k // cfg.rows
    assert sum(busy) == m * k * n  # every MAC exactly once
    assert max(busy) == pes
    # Each PE works for folds * m consecutive cycles, starting one cycle after its left or upper
    # neighbour: all of them work at once except while the diagonal wavefront fills and drains.
    assert busy.count(pes) == folds * m - (cfg.rows - 1) - (cfg.cols - 1)


def test_gemm_returns_the_hardware_accumulators(simulator):
    """What hwsim run's int8 mode compares with: the RTL's own int32 results for a GEMM."""
    from hwsim.core.golden import int_gemm

    cfg = config(2, 2)
    rng = np.random.default_rng(16)
    a, b = rng.integers(-128, 128, size=(3, 5)), rng.integers(-128, 128, size=(5, 3))
    got = simulator(cfg).gemm(a, b)
    assert got.dtype == np.int64 and got.shape == (3, 3)
    assert (got == int_gemm(a, b, acc_bits=32)).all()


# Pipeline depths (mult_stages, adder_segments, acc_stages): the ECP5 and iCE40 defaults, every
# accumulator mode, one to four carry segments; each must stay bit-exact and take exactly the cycles
# of the one timing function. The whole grid runs in test_slow.py.
PIPELINES = [(3, 1, 3), (2, 2, 3), (0, 1, 2), (1, 3, 3)]
# Arrays and shapes that stress the pipeline: one row (m = 1 puts a fold's row one cycle after the
# previous fold's, so each add needs the sum of the cycle before: the forwarding), K and M split
# into accumulating tiles, narrow operands whose sums wrap around. The 1x3 ones name an FPGA, so
# they run the controller written for one (registered flags, rtl/_queue.py's output queue); their
# 40-row tile emits more rows back to back than the output queue holds, so the exact cycle count
# says that a row's credit, which that controller gets back a cycle after the row leaves, never
# holds the issue.
PIPELINE_PROGRAMS = {
    "1x3": (dict(rows=1, cols=3, fpga="ecp5-25f"), [(1, 5, 2, 14), (3, 4, 3, 15), (2, 1, 1, 16), (40, 2, 3, 17)]),
    # The iCE40 controller: counters without reset, the weights' ready a register, the credit
    # counter an add, the accumulator's carry and older forwarded sums (rtl.Params.short_enables).
    "1x3 iCE40": (dict(rows=1, cols=3, fpga="ice40-up5k"), [(1, 5, 2, 14), (3, 4, 3, 15), (2, 1, 1, 16), (40, 2, 3, 17)]),
    "3x5 int4 x int6 -> int12": (dict(rows=3, cols=5, input_bits=4, weight_bits=6, acc_bits=12),
                                 [(7, 13, 11, 8), (1, 40, 5, 9)]),
}


@pytest.mark.parametrize("depths", PIPELINES, ids=lambda d: "M{}-S{}-A{}".format(*d))
@pytest.mark.parametrize("name", PIPELINE_PROGRAMS)
def test_every_pipeline_depth_is_bit_and_cycle_exact(name, depths, simulator):
    fields, shapes = PIPELINE_PROGRAMS[name]
    mult, segments, acc = depths
    cfg = config(**fields, mult_stages=mult, adder_segments=segments, acc_stages=acc)
    assert cfg.array_latency == cfg.rows + cfg.cols + mult + segments - 1
    cases = [case(cfg, m, k, n, seed) for m, k, n, seed in shapes]
    for c, result in zip(cases, simulator(cfg).run(cases)):
        assert result.mismatches == 0
        assert [t.rtl_cycles for t in result.tiles] == [tile_cycles(cfg, p.tile) for p in c.placements]
        assert result.passed


@pytest.mark.parametrize("fpga", ["ecp5-25f", "ice40-up5k"])
def test_a_one_row_tile_after_a_one_fold_tile_on_a_one_row_fpga_array(fpga, simulator):
    """With one array row a tile's first fold can end the cycle after its fold flags are loaded:
    the next fold's rows left must not come from the tile before's last-fold flag (it did, and
    a 1 x 4 tile after a 2 x 1 one lost its later folds: wrong sums, two cycles short)."""
    cfg = config(rows=1, cols=3, fpga=fpga)
    cases = [case(cfg, 2, 1, 2, 1), case(cfg, 1, 4, 3, 2), case(cfg, 3, 3, 2, 3), case(cfg, 1, 5, 3, 4)]
    for c, result in zip(cases, simulator(cfg).run(cases)):
        assert result.mismatches == 0 and result.passed
        assert [t.rtl_cycles for t in result.tiles] == [tile_cycles(cfg, p.tile) for p in c.placements]


@pytest.mark.parametrize("fpga", ["ecp5-45f", "ice40-up5k"])
def test_the_fpga_families_pipelines_are_exact_on_split_programs_with_stalls(fpga, simulator):
    """The family defaults (what hwsim rtl --fpga builds) on the program that splits M, N and K,
    back to back, then again with random stalls on every stream."""
    cfg = SPLIT.replace(fpga=fpga)
    # ECP5: a fabric register after each DSP block too (docs/fpga.md); iCE40: the SB_MAC16's own.
    assert cfg.pipeline.mult_stages == {"ecp5-45f": 3, "ice40-up5k": 2}[fpga] and cfg.pipeline.acc_stages == 3
    cases = _split_cases()
    sim = simulator(cfg)
    for result in sim.run(cases):
        assert result.passed
    observed = sim.observe(cases, stall=0.3, seed=6)
    for result in check_cases(cfg, cases, observed):
        assert result.mismatches == 0 and result.words_left == 0 and not result.timed_out
        assert all(t.rtl_cycles >= t.model_cycles for t in result.tiles)


def test_columns_past_n_add_nothing_through_the_pipelined_accumulator(simulator):
    """tests/rtl/test_lanes.py's case (a tile with n = 1, then an accumulating tile with every
    column) on the ECP5 pipeline, whose accumulator forwards sums: columns >= 1 hold only the
    second tile's products, and both tiles take the timing function's cycles."""
    cfg = config(2, 3, fpga="ecp5-45f")
    rng = np.random.default_rng(21)
    a, b = rng.integers(-128, 128, size=(2, 4)), rng.integers(-128, 128, size=(4, 3))
    tiles = (Placement(0, 0, 0, 0, Tile(2, 2, 1, accumulate=False, emit=False)),
             Placement(0, 0, 2, 0, Tile(2, 2, 3, accumulate=True, emit=True)))
    observed = simulator(cfg).observe([GemmCase(a=a, b=b, placements=tiles)], seed=3)
    rows = [unpack(word, cfg.acc_bits, cfg.cols) for word in observed["tiles"][1]["outputs"]]
    want = a[:, 2:] @ b[2:, :]
    want[:, 0] += a[:, :2] @ b[:2, 0]
    assert rows == want.tolist()
    assert [t["done"] - t["start"] for t in observed["tiles"]] == [tile_cycles(cfg, p.tile) for p in tiles]

"""The tile program runner: exact K accumulation, and loud failure on a wrong lowering or tiling."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from compiler.schedule import schedule
from hwsim.core.golden import int_gemm
from hwsim.core.program import Placement, Tile
from hwsim.core.workload import GemmShape, Kind, Workload
from hwsim.execute import compile_for_run, run
from hwsim.execute._operands import LoweringMismatch
from hwsim.execute._quant import int_step
from hwsim.execute._tiles import TileProgramError, float_step, run_tiles

from .helpers import CFG
from .models import conv_zoo

SMALL = CFG.replace(rows=4, cols=4, ifmap_kib=0.125, filter_kib=0.125, ofmap_kib=0.125)


def _operands(shape: GemmShape, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (shape.groups, shape.m, shape.k)).astype(np.int8)
    b = rng.integers(-128, 128, (shape.groups, shape.k, shape.n)).astype(np.int8)
    a[:, 0, :], b[:, :, 0] = -128, -128  # the widest sum: k * 2^14
    return a, b


def _placements(shape: GemmShape, cfg=SMALL) -> list[Placement]:
    return list(schedule(Workload("w", "MatMul", Kind.GEMM, gemm=shape), cfg).placements())


@pytest.mark.parametrize("shape, k_split", [(GemmShape(37, 100, 13), True), (GemmShape(5, 9, 3, groups=3), False),
                                            (GemmShape(1, 64, 1), False)])
def test_integer_tiles_equal_one_wrapped_product(shape, k_split):
    """K split over many tiles, grouped or literal, gives the single wrapped product exactly."""
    a, b = _operands(shape)
    tiles = _placements(shape)
    assert (len({p.k0 for p in tiles}) > 1) == k_split
    step = int_step(16)  # narrow accumulators: sums wrap
    grouped = run_tiles(a, b, tiles, step)
    literal = run_tiles(a, b, tiles, step, literal=True)
    want = np.stack([int_gemm(a[g], b[g], acc_bits=16) for g in range(shape.groups)])
    np.testing.assert_array_equal(grouped, want)
    np.testing.assert_array_equal(literal, want)
    exact = np.stack([a[g].astype(np.int64) @ b[g].astype(np.int64) for g in range(shape.groups)])
    assert not np.array_equal(want, exact)  # the test really wraps


def test_float_tiles_accumulate_k_in_order():
    a = np.ones((1, 3, 4), np.float32)
    b = np.full((1, 4, 2), 0.5, np.float32)
    tiles = [Placement(0, 0, 0, 0, Tile(3, 3, 2, False, False)), Placement(0, 0, 3, 0, Tile(3, 1, 2, True, True))]
    np.testing.assert_array_equal(run_tiles(a, b, tiles, float_step), np.full((1, 3, 2), 2.0, np.float32))


@pytest.mark.parametrize("damage", ["drop", "duplicate", "early_emit", "orphan_accumulate"])
def test_a_broken_tile_program_is_an_error(damage):
    shape = GemmShape(10, 40, 6)
    a, b = _operands(shape)
    tiles = _placements(shape)
    if damage == "drop":
        tiles = tiles[:-1]
    elif damage == "duplicate":
        tiles = tiles + tiles[:1]
    elif damage == "early_emit":
        p = tiles[0]
        tiles[0] = dataclasses.replace(p, tile=dataclasses.replace(p.tile, emit=True))
    else:
        p = tiles[0]
        tiles[0] = dataclasses.replace(p, tile=dataclasses.replace(p.tile, accumulate=True))
    with pytest.raises(TileProgramError):
        run_tiles(a, b, tiles, int_step(32))


def test_a_lowering_that_ignores_groups_is_caught():
    compiled = compile_for_run(conv_zoo(), CFG)
    program = compiled.program
    layer = next(s for s in program.layers if s.workload.gemm is not None and s.workload.gemm.groups == 4)
    g = layer.workload.gemm
    dense = dataclasses.replace(layer, workload=dataclasses.replace(layer.workload, gemm=GemmShape(m=g.m, k=g.k * 4, n=g.n * 4)))
    broken = dataclasses.replace(compiled, program=dataclasses.replace(
        program, layers=tuple(dense if s is layer else s for s in program.layers)))
    x = np.zeros((2, 3, 33, 29), np.float32)
    with pytest.raises(LoweringMismatch, match=layer.workload.name):
        run(broken, {"x": x})

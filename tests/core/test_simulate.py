from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.schedule import schedule, schedule_model
from hwsim.core.config import AcceleratorConfig, preset
from hwsim.core.program import Tile
from hwsim.core.timing import command_split_cycles, tile_cycles
from hwsim.core.workload import GemmShape, Kind, LoweredModel, Workload
from hwsim.simulate import simulate

from .test_mapping import configs, gemms


def _gemm_model(g: GemmShape, b_is_weight: bool = True) -> LoweredModel:
    w = Workload("g", "MatMul", Kind.GEMM, gemm=g, input_elems=g.groups * g.m * g.k,
                 weight_elems=g.groups * g.k * g.n, output_elems=g.groups * g.m * g.n, b_is_weight=b_is_weight)
    return LoweredModel("one-gemm", (w,))


@settings(max_examples=200, deadline=None)
@given(g=gemms, cfg=configs, bw=st.sampled_from([0.5, 4.0, 64.0]), b_is_weight=st.booleans())
def test_utilization_and_roofline_bounds(g: GemmShape, cfg: AcceleratorConfig, bw: float, b_is_weight: bool) -> None:
    cfg = cfg.replace(dram_gbps=bw * cfg.clock_mhz / 1000)
    layer = simulate(schedule_model(_gemm_model(g, b_is_weight), cfg)).layers[0]
    assert layer.macs == g.macs
    assert layer.macs <= layer.cycles * cfg.pes  # utilization <= 1
    dram = layer.dram_read_bytes + layer.dram_write_bytes
    assert layer.cycles >= max(g.macs / cfg.pes, dram / cfg.dram_bytes_per_cycle)
    # the operands are read at least once and the results written once
    assert layer.dram_read_bytes >= g.groups * (g.m * g.k * cfg.input_bytes * b_is_weight + g.k * g.n * cfg.weight_bytes)
    assert layer.dram_write_bytes == g.groups * g.m * g.n * cfg.input_bytes


@settings(max_examples=200, deadline=None)
@given(g=gemms, cfg=configs)
def test_compute_cycles_are_the_tile_model_summed_over_placements(g: GemmShape, cfg: AcceleratorConfig) -> None:
    layer = simulate(schedule_model(_gemm_model(g), cfg)).layers[0]
    s = schedule(_gemm_model(g).workloads[0], cfg)
    # each placed tile costs the RTL's tile model, plus the command split of a per-row controller
    assert layer.compute_cycles == sum(tile_cycles(cfg, p.tile) + command_split_cycles(cfg, p.tile, g.row)
                                       for p in s.placements())


def test_report_json_contract_and_determinism() -> None:
    model = _gemm_model(GemmShape(m=300, k=500, n=70, groups=2))
    a = simulate(schedule_model(model, preset("gemmini-like"))).to_json()
    b = simulate(schedule_model(model, preset("gemmini-like"))).to_json()
    assert a == b
    d = json.loads(a)
    assert set(d) == {"model", "hwsim_version", "timing", "scalesim_bandwidth_mode", "clock", "config", "totals", "layers",
                      "skipped"}
    assert (d["timing"], d["scalesim_bandwidth_mode"], d["skipped"]) == ("hwsim", None, [])
    assert set(d["totals"]) == {"macs", "cycles", "latency_s", "energy_j", "utilization", "dram_read_bytes",
                                "dram_write_bytes", "compulsory_dram_bytes"}
    layer = d["layers"][0]
    assert set(layer) == {"name", "op", "macs", "cycles", "compute_cycles", "stall_cycles", "utilization", "energy_j",
                          "energy_breakdown_j", "dram_read_bytes", "dram_write_bytes", "compulsory_dram_bytes",
                          "resident_bytes", "tensors", "mapping", "gemm"}
    assert layer["gemm"] == {"m": 300, "k": 500, "n": 70, "groups": 2}
    assert layer["cycles"] == layer["compute_cycles"] + layer["stall_cycles"]
    assert math.isclose(layer["energy_j"], sum(layer["energy_breakdown_j"].values()), rel_tol=1e-12)
    assert d["totals"]["latency_s"] == d["totals"]["cycles"] / 1e9
    assert d["config"]["rows"] == 16


def test_energy_is_event_counts_times_table() -> None:
    cfg = preset("gemmini-like").replace(energy={"array_reg_pj_per_byte": 0.0, "sram_pj_per_byte_ref": 0.0,
                                                 "dram_pj_per_byte": 0.0, "vector_op_pj": 0.0, "static_power_w": 0.0})
    e = simulate(schedule_model(_gemm_model(GemmShape(m=64, k=64, n=64)), cfg)).layers[0].energy
    assert e.total == pytest.approx(64**3 * 0.3e-12)
    cfg2 = cfg.replace(energy={"mac_pj": 0.0, "dram_pj_per_byte": 160.0})
    layer = simulate(schedule_model(_gemm_model(GemmShape(m=64, k=64, n=64)), cfg2)).layers[0]
    assert layer.energy.total == pytest.approx((layer.dram_read_bytes + layer.dram_write_bytes) * 160e-12)


def test_single_buffering_serializes_transfers() -> None:
    g = GemmShape(m=256, k=256, n=256)
    cfg = preset("gemmini-like")
    one = simulate(schedule_model(_gemm_model(g), cfg.replace(double_buffer=False))).layers[0]
    assert one.stall_cycles == math.ceil((one.dram_read_bytes + one.dram_write_bytes) / cfg.dram_bytes_per_cycle)


def test_vector_and_move_layers() -> None:
    cfg = preset("gemmini-like")
    relu = Workload("r", "Relu", Kind.VECTOR, input_elems=1600, output_elems=1600, vector_ops=1600)
    move = Workload("t", "Transpose", Kind.MOVE, input_elems=1600, output_elems=1600)
    view = Workload("v", "Reshape", Kind.VIEW)
    r = simulate(schedule_model(LoweredModel("m", (relu, move, view)), cfg))
    assert [layer.name for layer in r.listed] == ["r", "t"]
    assert r.layers[0].compute_cycles == 100  # 1600 element ops on 16 lanes
    assert r.layers[0].stall_cycles == 200 - 100  # 3200 bytes at 16 B/cycle
    assert (r.layers[1].compute_cycles, r.layers[1].stall_cycles) == (0, 200)
    assert r.layers[2].cycles == 0


def test_os_and_is_tile_formulas() -> None:
    cfg = preset("gemmini-like")
    t = Tile(m=16, k=100, n=16)
    assert tile_cycles(cfg.replace(dataflow="os"), t) == 100 + 16 + 16 - 2 + 16
    assert tile_cycles(cfg.replace(dataflow="is"), Tile(m=5, k=100, n=40)) == tile_cycles(cfg, Tile(m=40, k=100, n=5))


@settings(max_examples=200, deadline=None)
@given(r=st.integers(1, 32), c=st.integers(1, 32), m=st.integers(1, 200), k=st.integers(1, 300), n=st.integers(1, 100))
def test_single_gemm_compute_cycles_equal_the_documented_closed_form(r: int, c: int, m: int, k: int, n: int) -> None:
    # Buffers large enough that M and K fit one tile, and DRAM fast enough that no tiling hides
    # transfers better: the GEMM is ceil(n / c) weight-stationary tiles.
    cfg = AcceleratorConfig(rows=r, cols=c, ifmap_kib=1024, filter_kib=1024, ofmap_kib=1024, dram_gbps=1e6)
    folds = -(-k // r)
    k_last = k - (folds - 1) * r
    stream = min(k, r) + (max(0, folds - 2) * max(m, r) + max(m, k_last) if folds > 1 else 0)
    one_tile = stream + m + r + c + 1 + 3  # load + stream, last rows, drain through skew/array/de-skew, emit
    layer = simulate(schedule_model(_gemm_model(GemmShape(m=m, k=k, n=n)), cfg)).layers[0]
    assert layer.compute_cycles == -(-n // c) * one_tile

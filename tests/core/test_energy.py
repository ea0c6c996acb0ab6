"""Energy that scales: MACs by width and format, SRAM by size and width, the technology node and
leakage by area, each against published figures (docs/model.md#energy) rather than the formulas."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtl
from compiler.schedule import schedule_model
from hwsim.core.area import asic_area
from hwsim.core.config import AcceleratorConfig, EnergyTable, load_config, preset
from hwsim.core.errors import UserError
from hwsim.core.tech import add_pj, energy_factor, mult_pj
from hwsim.core.workload import GemmShape
from hwsim.simulate import simulate

from .test_simulate import _gemm_model
from .test_mapping import configs

ROOT = Path(__file__).resolve().parents[2]
E = EnergyTable()

# Horowitz, ISSCC 2014, 45 nm: pJ per operation.
INT8_MULT, INT32_MULT, INT8_ADD, INT32_ADD = 0.2, 3.1, 0.03, 0.1
FP16_MULT, FP32_MULT, FP16_ADD, FP32_ADD = 1.1, 3.7, 0.4, 0.9


def test_int8_mac_is_horowitz_8_bit_multiply_plus_32_bit_add() -> None:
    assert E.mac_energy_pj("int", 8, 8, 32) == pytest.approx(INT8_MULT + INT32_ADD, rel=1e-12)
    assert E.mac_energy_pj("int", 32, 32, 32) == pytest.approx(INT32_MULT + INT32_ADD, rel=1e-12)


def test_floating_point_macs_are_horowitz_points() -> None:
    assert E.mac_energy_pj("fp32", 32, 32, 32) == pytest.approx(FP32_MULT + FP32_ADD, rel=1e-12)
    assert E.mac_energy_pj("fp16", 16, 16, 16) == pytest.approx(FP16_MULT + FP16_ADD, rel=1e-12)
    assert E.mac_energy_pj("fp16", 16, 16, 32) == pytest.approx(FP16_MULT + FP32_ADD, rel=1e-12)
    # bfloat16: an fp16-style multiplier on an 8-bit significand costs less than fp16's 11-bit one.
    assert INT8_MULT < mult_pj("bf16", 16, 16) < FP16_MULT
    assert E.mac_energy_pj("bf16", 16, 16, 16) < E.mac_energy_pj("fp16", 16, 16, 16)


def test_integer_mac_lies_between_the_published_points_and_grows_with_width() -> None:
    int16 = E.mac_energy_pj("int", 16, 16, 32)
    assert INT8_MULT + INT32_ADD < int16 < INT32_MULT + INT32_ADD
    widths = range(2, 33)
    macs = [E.mac_energy_pj("int", w, w, 64) for w in widths]
    assert macs == sorted(macs) and len(set(macs)) == len(macs)
    # The multiplier grows about quadratically with width (x4 per doubling), the adder about linearly.
    assert 3.5 < mult_pj("int", 16, 16) / mult_pj("int", 8, 8) < 4.1
    assert 1.6 < add_pj("int", 64) / add_pj("int", 32) < 2.1
    assert E.mac_energy_pj("int", 8, 16, 32) == pytest.approx(E.mac_energy_pj("int", 16, 8, 32))


def test_mac_override_replaces_the_table() -> None:
    assert EnergyTable(mac_pj=1.0).mac_energy_pj("int", 8, 8, 32) == 1.0


@pytest.mark.parametrize(("kib", "pj_per_64_bits", "tolerance"), [(8, 10.0, 1e-12), (32, 20.0, 1e-12), (1024, 100.0, 0.15)])
def test_sram_energy_matches_horowitz_sizes(kib: int, pj_per_64_bits: float, tolerance: float) -> None:
    assert E.sram_pj_per_byte(kib, 64) * 8 == pytest.approx(pj_per_64_bits, rel=tolerance)


def test_sram_energy_grows_with_size_and_a_fixed_part_is_spread_over_wider_ports() -> None:
    sizes = [E.sram_pj_per_byte(k) for k in (1, 8, 64, 512, 4096)]
    assert sizes == sorted(sizes)
    assert E.sram_pj_per_byte(64, 8) == E.sram_pj_per_byte(64, 1024)  # default: per byte width-free
    half = EnergyTable(sram_fixed_fraction=0.5)
    assert half.sram_pj_per_byte(32, 64) == pytest.approx(E.sram_pj_per_byte(32, 64))
    assert half.sram_pj_per_byte(32, 128) == pytest.approx(0.75 * E.sram_pj_per_byte(32, 64))
    assert half.sram_pj_per_byte(32, 32) == pytest.approx(1.5 * E.sram_pj_per_byte(32, 64))
    per_access = [half.sram_pj_per_byte(32, w) * w / 8 for w in (16, 64, 256)]
    assert per_access == sorted(per_access)


def test_node_factors_are_stillmaker_baas_published_values() -> None:
    # The corrigendum's worked example: 32 nm HP at 0.9 V, 0.4571; 65 nm at 1.3 V, 2.604.
    assert energy_factor(32, 0.9) == pytest.approx(0.4571, abs=5e-5)
    assert energy_factor(65, 1.3) == pytest.approx(2.604, abs=5e-4)
    for node, vdd in ((32, 0.9), (65, 1.1)):
        t = EnergyTable(node_nm=node, static_power_w=0.0)
        factor = energy_factor(node, vdd) / energy_factor(45, 1.0)
        assert t.node_factor == pytest.approx(factor)
        assert t.mac_energy_pj("int", 8, 8, 32) == pytest.approx(0.3 * factor)
        assert t.sram_pj_per_byte(8) == pytest.approx(1.25 * factor)
        assert t.register_pj_per_byte == pytest.approx(0.25 * factor)
        assert t.vector_pj == pytest.approx(0.9 * factor)
        assert t.dram_pj_per_byte == E.dram_pj_per_byte  # off chip
    assert EnergyTable(node_nm=32, static_power_w=0.0).node_factor < 1 < EnergyTable(node_nm=65, static_power_w=0.0).node_factor


def test_unverified_nodes_and_unknown_leakage_are_refused() -> None:
    with pytest.raises(UserError, match="node_nm must be one of 32, 45, 65"):
        AcceleratorConfig(energy=EnergyTable(node_nm=7))
    with pytest.raises(UserError, match="node_nm = 32 needs energy.static_power_w"):
        AcceleratorConfig(energy=EnergyTable(node_nm=32))
    with pytest.raises(UserError, match="sram_fixed_fraction"):
        AcceleratorConfig(energy=EnergyTable(sram_fixed_fraction=1.5))


def _leakage(cfg: AcceleratorConfig) -> float:
    area = asic_area(cfg)
    return cfg.energy.static_power(area.array_mm2, area.sram_mm2)


@settings(max_examples=100, deadline=None)
@given(cfg=configs, extra_kib=st.sampled_from([1.0, 16.0, 512.0]))
def test_leakage_grows_with_the_array_and_the_sram(cfg: AcceleratorConfig, extra_kib: float) -> None:
    assert _leakage(cfg.replace(rows=cfg.rows + 1)) > _leakage(cfg)
    assert _leakage(cfg.replace(cols=cfg.cols + 1)) > _leakage(cfg)
    assert _leakage(cfg.replace(ifmap_kib=cfg.ifmap_kib + extra_kib)) > _leakage(cfg)
    assert _leakage(cfg.replace(ofmap_kib=cfg.ofmap_kib + extra_kib)) > _leakage(cfg)
    assert _leakage(cfg.replace(energy={"static_power_w": 0.5})) == 0.5


def test_preset_static_power_makes_sense() -> None:
    # NanGate FA_X1: 75.76 nW on 4.256 µm². gemmini-like: 256 PEs and 320 KiB of SRAM, about 1.47 mm².
    density_w_per_mm2 = 75.762253e-9 / 4.256e-6
    assert _leakage(preset("gemmini-like")) == pytest.approx(density_w_per_mm2 * 1.468, rel=2e-3)
    # tpu-v1-like: far below the whole TPUv1 die's 28 W idle (Jouppi et al. 2017), far above gemmini's.
    assert 1.0 < _leakage(preset("tpu-v1-like")) < 28.0
    assert _leakage(preset("fpga-edge")) == 0.113  # the FPGA's datasheet quiescent power


def test_a_layer_pays_leakage_for_its_latency_and_is_deterministic() -> None:
    cfg = preset("gemmini-like")
    model = _gemm_model(GemmShape(m=128, k=256, n=64))
    layer = simulate(schedule_model(model, cfg)).layers[0]
    assert layer.energy.static == pytest.approx(_leakage(cfg) * layer.cycles / cfg.clock_hz)
    again = simulate(schedule_model(model, preset("gemmini-like"))).layers[0]
    assert again.energy == layer.energy and again.energy.as_dict() == layer.energy.as_dict()
    fp16 = simulate(schedule_model(model, cfg.replace(number_format="fp16", input_bits=16, weight_bits=16))).layers[0]
    assert fp16.energy.mac == pytest.approx(layer.macs * (FP16_MULT + FP32_ADD) * 1e-12)


@pytest.mark.parametrize(("text", "needle"), [
    ('[array]\nnumber_format = "fp8"\n', "number_format must be one of int, fp16, bf16, fp32"),
    ('[array]\nnumber_format = "fp16"\n', "needs input_bits = weight_bits = 16"),
    ('[array]\nnumber_format = "fp32"\ninput_bits = 32\nweight_bits = 32\nacc_bits = 16\n', "acc_bits 32"),
    ("[energy]\nnode_nm = 22\n", "node_nm must be one of"),
    ("[energy]\nnode_nm = 65\n", "needs energy.static_power_w"),
])
def test_bad_formats_and_nodes_name_the_file(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(UserError, match=re.escape(needle)) as e:
        load_config(f)
    assert str(f) in str(e.value)


def test_formats_and_nodes_load_from_toml(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[array]\nnumber_format = "bf16"\ninput_bits = 16\nweight_bits = 16\nacc_bits = 32\n'
                 "[energy]\nnode_nm = 32\nstatic_power_w = 0\n")
    cfg = load_config(f)
    assert (cfg.number_format, cfg.energy.node_nm, cfg.energy.static_power_w) == ("bf16", 32, 0.0)
    assert isinstance(cfg.energy.node_nm, int)
    assert AcceleratorConfig.from_dict(cfg.to_dict()) == cfg


def test_config_docs_example_loads(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    tomllib.loads(example)
    f = tmp_path / "example.toml"
    f.write_text(example)
    cfg = load_config(f)
    assert cfg.energy.static_power_w == 0.113 and cfg.number_format == "int"


def test_the_rtl_builds_integer_arrays_only() -> None:
    cfg = preset("gemmini-like").replace(number_format="fp16", input_bits=16, weight_bits=16)
    with pytest.raises(UserError, match="integer arrays only"):
        rtl.params(cfg)

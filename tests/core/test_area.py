from __future__ import annotations

import pytest

from hwsim.core.config import AcceleratorConfig, preset
from hwsim.core.area import AsicAreaTable, asic_area, pe_register_bits


def test_published_points_are_reproduced_exactly() -> None:
    t = AsicAreaTable()
    assert t.mult_um2(8, 8) == pytest.approx(t.mult8_um2, rel=1e-12)
    assert t.mult_um2(32, 32) == pytest.approx(t.mult32_um2, rel=1e-12)
    assert t.add_um2(8) == pytest.approx(t.add8_um2, rel=1e-12)
    assert t.add_um2(32) == pytest.approx(t.add32_um2, rel=1e-12)
    # In between, the power law lies between the published points and grows with width.
    assert t.mult8_um2 < t.mult_um2(16, 16) < t.mult32_um2
    assert t.mult_um2(8, 16) == pytest.approx(t.mult_um2(16, 8))
    assert t.sram_um2_per_kib == pytest.approx(8192 * t.sram_bitcell_um2 / t.sram_array_efficiency)


def test_design_area_is_pes_times_pe_plus_sram() -> None:
    t = AsicAreaTable()
    cfg = preset("gemmini-like")  # int8 x int8, 32-bit accumulators, 16x16, 320 KiB
    area = asic_area(cfg)
    pe = t.mult_um2(8, 8) + t.add_um2(32) + (8 + 2 * 8 + 32) * t.flop_um2
    assert area.pe_um2 == pytest.approx(pe)
    assert area.array_mm2 == pytest.approx(256 * pe * 1e-6)
    assert area.sram_mm2 == pytest.approx(320 * t.sram_um2_per_kib * 1e-6)
    assert area.total_mm2 == pytest.approx(area.array_mm2 + area.sram_mm2)
    bigger = asic_area(cfg.replace(rows=32))
    assert bigger.array_mm2 == pytest.approx(2 * area.array_mm2) and bigger.sram_mm2 == area.sram_mm2


def test_registers_follow_the_dataflow() -> None:
    cfg = AcceleratorConfig(input_bits=8, weight_bits=4, acc_bits=24)
    assert pe_register_bits(cfg.replace(dataflow="ws")) == 8 + 2 * 4 + 24
    assert pe_register_bits(cfg.replace(dataflow="is")) == 2 * 8 + 4 + 24
    assert pe_register_bits(cfg.replace(dataflow="os")) == 8 + 4 + 24

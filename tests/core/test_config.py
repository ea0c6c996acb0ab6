from __future__ import annotations

from pathlib import Path

import pytest

from hwsim.core.config import AcceleratorConfig, load_config, preset, preset_names
from hwsim.core.errors import UserError


def test_three_presets_with_distinct_arrays() -> None:
    names = preset_names()
    assert {"tpu-v1-like", "gemmini-like", "fpga-edge"} <= set(names)
    shapes = {(preset(n).rows, preset(n).cols) for n in names}
    assert {(256, 256), (16, 16), (8, 8)} <= shapes


def test_toml_overrides_preset_and_energy(tmp_path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('preset = "fpga-edge"\nname = "mine"\n[array]\nrows = 4\n[energy]\nmac_pj = 1\n')
    cfg = load_config(f)
    assert (cfg.name, cfg.rows, cfg.cols, cfg.clock_mhz, cfg.fpga) == ("mine", 4, 8, 180.0, "ecp5-45f")
    assert cfg.energy.mac_pj == 1.0
    assert cfg.energy.dram_pj_per_byte == preset("fpga-edge").energy.dram_pj_per_byte


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[array]\nrowz = 4\n", "array.rowz"),
        ("[array]\nrows = 0\n", "rows"),
        ("[array]\nrows = 2.5\n", "rows"),
        ('[array]\ndataflow = "xs"\n', "dataflow"),
        ("[memory]\ndram_gbps = -1\n", "dram_gbps"),
        ("[energy]\nmac_pj = -0.3\n", "energy.mac_pj"),
        ("[array]\nacc_bits = 8\n", "acc_bits"),
        ("colour = 3\n", "colour"),
        ('preset = "nope"\n', "unknown preset"),
        ("[array\n", "invalid TOML"),
        ("[memory]\nofmap_kib = 0.01\n", "ofmap_kib"),
        ('[fpga]\ndevice = "ecp5-12f"\n', "fpga.device must be one of ecp5-25f"),
        ("[fpga]\nmult_stages = 4\n", "fpga.mult_stages must be an integer from 0 to 3"),
        ("[fpga]\nacc_stages = true\n", "fpga.acc_stages"),
        ("[array]\ninput_bits = 2\nweight_bits = 2\nacc_bits = 6\n[fpga]\nadder_segments = 4\n", "fpga.adder_segments"),
        ("[array]\nrows = 1\ncols = 1\n[fpga]\nmult_stages = 0\nacc_stages = 3\n", "fpga.mult_stages >= 1"),
        ("[fpga]\nclock = 3\n", "fpga.clock"),
    ],
)
def test_bad_toml_names_file_and_key(tmp_path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(UserError) as e:
        load_config(f)
    assert needle in str(e.value)
    assert str(f) in str(e.value)
    assert "\n" not in str(e.value)


def test_fpga_table_picks_the_family_pipeline_and_keys_override_it(tmp_path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('preset = "fpga-edge"\n[fpga]\ndevice = "ice40-up5k"\nacc_stages = 2\n')
    cfg = load_config(f)
    # iCE40's defaults: multiplier registered in and out, four carry segments; acc_stages as given.
    assert (cfg.fpga, cfg.pipeline.mult_stages, cfg.pipeline.adder_segments, cfg.pipeline.acc_stages) == (
        "ice40-up5k", 2, 4, 2)
    # 8 x 8: 16 cycles of skew and array, 2 multiplier registers, 3 carry registers.
    assert cfg.array_latency == 21
    # The preset itself names an ECP5-45F: 16 + 3 multiplier registers (a fabric one after the DSP's two).
    assert preset("fpga-edge").array_latency == 19
    assert preset("gemmini-like").replace(rows=8, cols=8).array_latency == 16


def test_missing_config_file(tmp_path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_derived_quantities() -> None:
    cfg = AcceleratorConfig(rows=16, cols=16, ofmap_kib=64, clock_mhz=1000, dram_gbps=16)
    assert cfg.acc_depth == 64 * 1024 // 2 // (16 * 4)
    assert cfg.dram_bytes_per_cycle == 16.0
    assert cfg.replace(double_buffer=False).acc_depth == 1024
    assert cfg.energy.sram_pj_per_byte(32.0) == pytest.approx(2.5)  # Horowitz: 32 KiB, 20 pJ / 64 bit


def test_a_scalesim_cfg_given_as_a_config_says_what_it_is():
    cfg = Path(__file__).resolve().parents[1] / "scalesim" / "data" / "scale.cfg"
    with pytest.raises(UserError, match="a SCALE-Sim .cfg, not an hwsim config.*--scalesim-config"):
        load_config(cfg)

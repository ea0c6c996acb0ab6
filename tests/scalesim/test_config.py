"""SCALE-Sim .cfg files: what they map to, and errors that name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwsim.core.errors import UserError
from hwsim.scalesim import ScaleSimOptions, load_scalesim_config

DATA = Path(__file__).parent / "data"


def test_shipped_scale_cfg() -> None:
    cfg, opts = load_scalesim_config(DATA / "scale.cfg")
    assert (cfg.name, cfg.rows, cfg.cols, cfg.dataflow) == ("scale_example_run_32x32_ws", 32, 32, "ws")
    assert (cfg.ifmap_kib, cfg.filter_kib, cfg.ofmap_kib) == (64.0, 64.0, 64.0)
    assert (cfg.input_bits, cfg.weight_bits, cfg.double_buffer) == (8, 8, True)
    # Bandwidth 10 words (bytes) per cycle at the default 1 GHz clock.
    assert cfg.clock_mhz == 1000.0 and cfg.dram_gbps == 10.0
    assert opts.bandwidth_mode == "CALC" and opts.bandwidth_words == (10,)
    assert (opts.ifmap_bank_bandwidth, opts.ifmap_bank_num, opts.ifmap_bank_port) == (10, 10, 2)
    assert (opts.read_request_buffer, opts.write_request_buffer) == (32, 32)
    assert opts.write_bandwidth(cfg.cols) == 32  # CALC drains the ofmap at ArrayWidth words/cycle
    assert not opts.reads_stall


def test_shipped_google_cfg() -> None:
    cfg, opts = load_scalesim_config(DATA / "google.cfg")
    assert (cfg.rows, cfg.cols, cfg.ifmap_kib, cfg.filter_kib, cfg.ofmap_kib) == (256, 256, 6144.0, 6144.0, 2048.0)
    assert opts.bandwidth_mode == "USER" and opts.reads_stall
    assert opts.write_bandwidth(cfg.cols) == 10
    assert (opts.filter_offset, opts.ofmap_offset) == (10_000_000, 20_000_000)


def test_older_configs_take_scalesim_defaults(tmp_path) -> None:
    f = tmp_path / "v2.cfg"
    f.write_text("[general]\nrun_name = old\n\n[architecture_presets]\nArrayHeight: 12\nArrayWidth: 14\n"
                 "IfmapSramSzkB: 36\nFilterSramSzkB: 36\nOfmapSramSzkB: 36\nDataflow = os\nBandwidth : 5,7\n"
                 "MemoryBanks: 1\n\n[run_presets]\nInterfaceBandwidth: USER\nSRAM_row_size: 2\n")
    cfg, opts = load_scalesim_config(f)
    assert (cfg.rows, cfg.cols, cfg.dataflow, cfg.dram_gbps) == (12, 14, "os", 5.0)
    assert opts.bandwidth_words == (5, 7)
    assert opts == ScaleSimOptions(run_name="old", bandwidth_words=(5, 7))


GOOD = (DATA / "scale.cfg").read_text()


@pytest.mark.parametrize(
    ("old", "new", "line", "needle"),
    [
        ("ArrayHeight:    32", "ArrayHeight:    3x2", 5, "ArrayHeight must be a positive integer, got '3x2'"),
        ("ArrayWidth:     32", "ArrayWidth:     0", 6, "ArrayWidth must be a positive integer"),
        ("Dataflow : ws", "Dataflow : rs", 14, "Dataflow must be one of ws, os, is, got 'rs'"),
        ("IfmapSramSzkB:   64", "IfmapSramSzkB:   64.5", 7, "IfmapSramSzkB"),
        ("OfmapSramSzkB:   64", "OfmapSramSzkB:   -1", 9, "OfmapSramSzkB"),
        ("InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST", 37, "InterfaceBandwidth must be one of USER, CALC"),
        ("IfmapSRAMBankBandwidth: 10", "IfmapSRAMBankBandwidth: 7", 21, "IfmapSRAMBankBandwidth (7) must be a multiple"),
        ("SparsitySupport : false", "SparsitySupport : true", 30, "SparsitySupport"),
        ("UseRamulatorTrace: False", "UseRamulatorTrace: True", 38, "UseRamulatorTrace"),
        ("IfmapCustomLayout: False", "IfmapCustomLayout: maybe", 20, "IfmapCustomLayout must be True or False"),
        ("Bandwidth : 10", "Bandwidth : ten", 13, "Bandwidth must be positive integers"),
        ("MemoryBanks:   1", "MemoryBanks", 15, "expected 'key : value'"),
    ],
)
def test_malformed_cfg_names_file_line_and_key(tmp_path, old: str, new: str, line: int, needle: str) -> None:
    assert old in GOOD
    f = tmp_path / "bad.cfg"
    f.write_text(GOOD.replace(old, new))
    with pytest.raises(UserError) as e:
        load_scalesim_config(f)
    msg = str(e.value)
    assert msg.startswith(f"{f}:{line}: "), msg
    assert needle in msg
    assert "\n" not in msg


def test_missing_key_names_its_section(tmp_path) -> None:
    f = tmp_path / "bad.cfg"
    f.write_text(GOOD.replace("ArrayWidth:     32\n", ""))
    with pytest.raises(UserError, match=rf"^{f}:4: bad.cfg has no ArrayWidth"):
        load_scalesim_config(f)


def test_user_mode_needs_bandwidth(tmp_path) -> None:
    f = tmp_path / "bad.cfg"
    f.write_text(GOOD.replace("Bandwidth : 10\n", "").replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER"))
    with pytest.raises(UserError, match="has no Bandwidth"):
        load_scalesim_config(f)


def test_key_before_any_section(tmp_path) -> None:
    f = tmp_path / "bad.cfg"
    f.write_text("ArrayHeight: 8\n" + GOOD)
    with pytest.raises(UserError, match=rf"^{f}:1: ArrayHeight comes before any \[section\]"):
        load_scalesim_config(f)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(UserError, match="SCALE-Sim config file not found"):
        load_scalesim_config(tmp_path / "absent.cfg")

"""Yosys synthesis through ``hwsim rtl --synth``: no latches, one multiplier (and one DSP) per PE,
memories where expected; the command writes exactly what rtl.synthesize returns (the FPGA area
model calibrates on that function). Yosys determinism is checked in test_slow.py."""

from __future__ import annotations

import json

import rtl
from hwsim.cli import main
from rtl import FAMILIES, FpgaStats, GenericStats, SynthResult

from .conftest import config

# A 2 x 3 array with a 4-row accumulator keeps Yosys (WebAssembly) quick.
TINY = config(2, 3, ofmap_kib=3 / 32)
TINY_TOML = "[array]\nrows = 2\ncols = 3\n[memory]\nofmap_kib = 0.09375\n"


def test_synthesis_figures(tmp_path, capsys):
    assert TINY.acc_depth == 4
    (tmp_path / "tiny.toml").write_text(TINY_TOML)
    out = tmp_path / "d"
    assert main(["rtl", "--config", str(tmp_path / "tiny.toml"), "--out", str(out),
                 *[f"--family={f}" for f in FAMILIES]]) == 0
    result = json.loads((out / "synth.json").read_text())
    pes = TINY.rows * TINY.cols

    g = result["generic"]
    assert g["latches"] == 0
    assert g["multipliers"] == pes
    # One accumulator memory per column, plus the output queue's storage (one entry is its register).
    queue_depth = TINY.rows + TINY.cols + 5  # TileController.out_queue_depth
    assert g["memories"] == TINY.cols + 1
    assert g["memory_bits"] == TINY.cols * 4 * TINY.acc_bits + (queue_depth - 1) * (TINY.cols * TINY.acc_bits + 1)
    assert g["cells"] > g["flip_flops"] > 0

    assert [f["family"] for f in result["fpga"]] == list(FAMILIES)
    for f in result["fpga"]:
        assert f["dsps"] == pes  # every multiply-accumulate in a DSP block
        assert f["luts"] > 0 and f["flip_flops"] > 0
        assert not any(name.startswith("LD") or "LATCH" in name.upper() for name in f["cell_counts"])
    assert result["fpga"][0]["cell_counts"]["DSP48E1"] == pes
    text = capsys.readouterr().out
    assert f"DSP {pes}" in text and "latches 0" in text
    assert "synth.json" in json.loads((out / "manifest.json").read_text())["files"]


def test_the_command_writes_exactly_what_synthesize_returns(tmp_path, monkeypatch, capsys):
    fake = SynthResult(
        module=TINY.module_name, yosys="Yosys 0.0",
        generic=GenericStats(cells=10, flip_flops=5, multipliers=6, memories=4, memory_bits=512, latches=0),
        fpga=(FpgaStats(family="ice40", luts=7, lutram=0, flip_flops=8, dsps=6, brams=2, bram_kbits=8, carries=3,
                        cell_counts=(("SB_LUT4", 7), ("SB_MAC16", 6))),),
    )
    calls = []
    monkeypatch.setattr(rtl, "synthesize", lambda cfg, families: calls.append((cfg, families)) or fake)
    (tmp_path / "tiny.toml").write_text(TINY_TOML)
    assert main(["rtl", "--config", str(tmp_path / "tiny.toml"), "--out", str(tmp_path / "d"), "--family", "ice40"]) == 0
    assert calls == [(TINY, ["ice40"])]
    assert json.loads((tmp_path / "d" / "synth.json").read_text()) == json.loads(json.dumps(fake.to_dict()))
    assert "ice40    LUT 7  FF 8  DSP 6  BRAM 2 (8 Kibit)  carry 3" in capsys.readouterr().out

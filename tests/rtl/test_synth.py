"""Yosys synthesis: no latches, one multiplier (and one DSP) per PE, memories where expected; and
``hwsim rtl --synth`` reports exactly what rtl.synthesize returns (the FPGA area model uses it)."""

from __future__ import annotations

import json

import pytest

from hwsim.cli import main
from rtl import FAMILIES, params, synthesize

from .conftest import config

# A 2 x 3 array with a 4-row accumulator keeps Yosys (WebAssembly) quick.
TINY = config(2, 3, ofmap_kib=3 / 32)


@pytest.fixture(scope="module")
def result():
    assert params(TINY).acc_depth == 4
    return synthesize(TINY, FAMILIES)


def test_generic_figures(result):
    g = result.generic
    assert g.latches == 0
    assert g.multipliers == TINY.rows * TINY.cols
    queue_depth = TINY.rows + TINY.cols + 5  # rtl TileController.out_queue_depth
    # One accumulator memory per column, plus the output queue's storage (one entry is its register).
    assert g.memories == TINY.cols + 1
    assert g.memory_bits == TINY.cols * 4 * TINY.acc_bits + (queue_depth - 1) * (TINY.cols * TINY.acc_bits + 1)
    assert g.flip_flops > 0 and g.cells > g.flip_flops


def test_fpga_figures(result):
    by_family = {f.family: f for f in result.fpga}
    assert set(by_family) == set(FAMILIES)
    for f in result.fpga:
        assert f.dsps == TINY.rows * TINY.cols  # every multiply-accumulate in a DSP block
        assert f.luts > 0 and f.flip_flops > 0
        assert not any("LD" in name or "LATCH" in name.upper() for name, _ in f.cell_counts)
    assert by_family["xilinx"].dsps == dict(by_family["xilinx"].cell_counts)["DSP48E1"]


def test_cli_reports_the_same_figures(result, tmp_path, capsys):
    out = tmp_path / "d"
    (tmp_path / "tiny.toml").write_text("[array]\nrows = 2\ncols = 3\n[memory]\nofmap_kib = 0.09375\n")
    args = ["rtl", "--config", str(tmp_path / "tiny.toml"), "--out", str(out)]
    assert main(args + ["--family", "xilinx"]) == 0
    written = json.loads((out / "synth.json").read_text())
    expected = json.loads(json.dumps(result.to_dict()))
    assert written["generic"] == expected["generic"]
    assert written["fpga"] == [f for f in expected["fpga"] if f["family"] == "xilinx"]
    text = capsys.readouterr().out
    assert f"DSP {TINY.rows * TINY.cols}" in text and "latches 0" in text
    assert "synth.json" in json.loads((out / "manifest.json").read_text())["files"]

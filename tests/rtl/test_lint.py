"""``verilator --lint-only -Wall`` on the emitted Verilog: no warning outside the waiver file
``hwsim rtl`` writes beside it (rtl/_lint.py names each waived warning and why it is harmless)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from hwsim.core.config import preset
from rtl import LINT_WAIVERS, WAIVER_FILE, generate_verilog

pytestmark = pytest.mark.skipif(shutil.which("verilator") is None,
                                reason="Verilator is not installed (bin/test installs it with apt-get)")


def _lint(tmp_path, verilog: str, top: str) -> subprocess.CompletedProcess:
    (tmp_path / "design.v").write_text(verilog)
    (tmp_path / WAIVER_FILE).write_text(LINT_WAIVERS)
    return subprocess.run(["verilator", "--lint-only", "-Wall", WAIVER_FILE, "design.v", "--top-module", top],
                          cwd=tmp_path, capture_output=True, text=True)


@pytest.mark.parametrize("cfg", [
    preset("fpga-edge").replace(fpga=None),                               # the single-cycle 8x8
    preset("fpga-edge"),                                                  # the preset: its ECP5-45F pipeline
    preset("fpga-edge").replace(rows=4, cols=4, fpga="ecp5-25f"),         # ECP5's pipeline
    preset("fpga-edge").replace(rows=2, cols=4, fpga="ice40-up5k"),       # iCE40's: four carry segments, its controller
    preset("fpga-edge").replace(rows=3, cols=5, input_bits=4, weight_bits=6, acc_bits=12,
                                mult_stages=1, adder_segments=3, acc_stages=2),
], ids=["8x8", "8x8-ecp5-45f", "4x4-ecp5", "2x4-ice40", "3x5-int4-S3-A2"])
def test_the_emitted_verilog_lints_clean_with_the_waivers(cfg, tmp_path):
    done = _lint(tmp_path, generate_verilog(cfg), cfg.module_name)
    assert done.returncode == 0 and "%Warning" not in done.stderr and "%Error" not in done.stderr, done.stderr[:2000]


def test_the_waivers_still_catch_a_width_mismatch_between_signals(tmp_path):
    """A 16-bit sum assigned to an 8-bit register is a real WIDTH warning, not waived."""
    verilog = ("module bad(input clk, input [15:0] a, input [15:0] b, output reg [7:0] q);\n"
               "  always @(posedge clk) q <= a + b;\nendmodule\n")
    done = _lint(tmp_path, verilog, "bad")
    assert done.returncode != 0 and "%Warning-WIDTH" in done.stderr

"""The whole accelerator's Verilog: deterministic, plain Verilog-2005 for Icarus, AMBA port names
for both AXI interfaces (so Vivado's IP packager infers them), and no latches under Yosys."""

from __future__ import annotations

import re

import pytest

from rtl import accelerator_params, generate_accelerator_verilog

from .accel_programs import small_config
from .verilog_checks import assert_icarus_compiles, assert_no_source_attributes_or_dates, assert_same_in_a_fresh_process

R = 8
CFG = small_config(R)
TOP = accelerator_params(CFG).module_name

#: AMBA AXI4 (master) and AXI4-Lite (slave) signals, with the direction seen from the accelerator
#: and the width (None: as the data width says).
AXI4 = {**{f"aw{s}": "output" for s in ("id", "addr", "len", "size", "burst", "lock", "cache", "prot", "valid")},
        "awready": "input", "wdata": "output", "wstrb": "output", "wlast": "output", "wvalid": "output",
        "wready": "input", "bid": "input", "bresp": "input", "bvalid": "input", "bready": "output",
        **{f"ar{s}": "output" for s in ("id", "addr", "len", "size", "burst", "lock", "cache", "prot", "valid")},
        "arready": "input", "rid": "input", "rdata": "input", "rresp": "input", "rlast": "input",
        "rvalid": "input", "rready": "output"}
AXIL = {"awaddr": "input", "awprot": "input", "awvalid": "input", "awready": "output", "wdata": "input",
        "wstrb": "input", "wvalid": "input", "wready": "output", "bresp": "output", "bvalid": "output",
        "bready": "input", "araddr": "input", "arprot": "input", "arvalid": "input", "arready": "output",
        "rdata": "output", "rresp": "output", "rvalid": "output", "rready": "input"}


@pytest.fixture(scope="module")
def verilog() -> str:
    return generate_accelerator_verilog(CFG)


def _ports(verilog: str) -> dict[str, tuple[str, int]]:
    body = verilog[verilog.index(f"module {TOP}(") :]
    body = body[: body.index("endmodule")]
    return {port: (direction, int(width) + 1 if width else 1)
            for direction, width, port in re.findall(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\w+);", body, re.M)}


def test_the_ports_are_the_amba_interfaces_and_nothing_else(verilog):
    ports = _ports(verilog)
    want = {f"m_axi_{k}": d for k, d in AXI4.items()} | {f"s_axil_{k}": d for k, d in AXIL.items()}
    want |= {"clk": "input", "rst": "input", "irq": "output", "layer_done": "output", "layer_cycle": "output"}
    assert {p: d for p, (d, _) in ports.items()} == want
    widths = {p: w for p, (_, w) in ports.items()}
    assert widths["m_axi_wdata"] == widths["m_axi_rdata"] == 8 * R and widths["m_axi_wstrb"] == R
    assert widths["m_axi_awaddr"] == widths["m_axi_araddr"] == 32
    assert (widths["m_axi_arlen"], widths["m_axi_arsize"], widths["m_axi_arburst"]) == (8, 3, 2)
    assert widths["s_axil_wdata"] == widths["s_axil_rdata"] == 32 and widths["s_axil_wstrb"] == 4


def test_no_source_paths_or_dates_and_byte_identical_across_processes(verilog):
    assert_no_source_attributes_or_dates(verilog)
    assert_same_in_a_fresh_process(verilog, f"generate_accelerator_verilog(small_config({R}))",
                                   "from tests.rtl.accel_programs import small_config; "
                                   "from rtl import generate_accelerator_verilog")


def test_icarus_compiles_it_as_verilog_2005(verilog, tmp_path):
    assert_icarus_compiles(verilog, tmp_path)


@pytest.mark.slow
def test_yosys_synthesizes_it_without_latches():
    from rtl import synthesize_verilog

    cfg = small_config(4)
    result = synthesize_verilog(generate_accelerator_verilog(cfg), accelerator_params(cfg).module_name, families=())
    assert result.generic.latches == 0
    assert result.generic.multipliers >= 4 * 4 and result.generic.flip_flops > 0

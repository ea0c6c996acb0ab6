"""Verilog emission: deterministic, self-describing (manifest), and plain Verilog-2005."""

from __future__ import annotations

import re

import pytest

from hwsim.core.config import preset
from hwsim.core.errors import UserError
from rtl import generate_verilog, params, ports

from .conftest import config
from .verilog_checks import assert_icarus_compiles, assert_no_source_attributes_or_dates, assert_same_in_a_fresh_process

CFG = config(3, 2)


@pytest.fixture(scope="module")
def verilog() -> str:
    return generate_verilog(CFG)


def test_top_module_ports_are_the_manifest_ports(verilog):
    name = CFG.module_name
    assert name == "hwsim_gemmini_like_3x2_ws"
    body = verilog[verilog.index(f"module {name}(") :]
    body = body[: body.index("endmodule")]
    declared = {}
    for direction, width, port in re.findall(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\w+);", body, re.M):
        declared[port] = (direction, int(width) + 1 if width else 1)
    assert declared == {p["name"]: (p["direction"], p["width"]) for p in ports(params(CFG))}
    assert declared["a__payload"] == ("input", CFG.rows * CFG.input_bits)
    assert declared["w__payload"] == ("input", CFG.cols * CFG.weight_bits)
    assert declared["o__payload"] == ("output", CFG.cols * CFG.acc_bits)


def test_no_source_paths_or_dates(verilog):
    assert_no_source_attributes_or_dates(verilog)
    assert "/" not in "".join(line for line in verilog.splitlines() if not line.startswith("/*"))


def test_byte_identical_across_processes(verilog):
    assert_same_in_a_fresh_process(verilog, "generate_verilog(config(3, 2))",
                                   "from tests.rtl.conftest import config; from rtl import generate_verilog")


def test_icarus_compiles_it_as_verilog_2005(verilog, tmp_path):
    assert_icarus_compiles(verilog, tmp_path)


def test_every_width_comes_from_the_config():
    cfg = preset("fpga-edge").replace(input_bits=4, weight_bits=6, acc_bits=20)
    p = params(cfg)
    by_name = {q["name"]: q for q in ports(p)}
    assert by_name["a__payload"]["width"] == 8 * 4 and by_name["a__payload"]["lane_bits"] == 4
    assert by_name["w__payload"]["width"] == 8 * 6
    assert by_name["o__payload"]["width"] == 8 * 20
    fields = {f["name"]: f["width"] for f in by_name["cmd__payload"]["fields"]}
    assert fields == {"m": cfg.acc_depth.bit_length(), "k": cfg.k_max.bit_length(), "n": 4, "accumulate": 1, "emit": 1}


def test_other_dataflows_are_refused():
    with pytest.raises(UserError, match="weight-stationary"):
        params(CFG.replace(dataflow="os"))

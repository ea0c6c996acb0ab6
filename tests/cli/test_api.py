"""hwsim's Python API (hwsim.api): the same answers as the command line, configs in every form,
reports that say what produced them and whose config loads back."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import onnx
import pytest

import hwsim
from hwsim.cli import main
from hwsim.core.errors import UserError
from hwsim.report import SCHEMA

ROOT = Path(__file__).resolve().parents[2]
MATMUL = ROOT / "docs" / "examples" / "matmul_64x96x48.onnx"
SCALESIM = ROOT / "tests" / "scalesim" / "data"


def test_estimate_equals_the_command_line(capsys) -> None:
    assert main(["estimate", str(MATMUL), "--preset", "fpga-edge", "--rows", "4", "--json", "-"]) == 0
    cli = capsys.readouterr().out
    assert hwsim.estimate(MATMUL, "fpga-edge", rows=4).to_json() == cli
    # The same model as bytes and as a ModelProto (named after its graph, not a file).
    as_bytes = hwsim.estimate(MATMUL.read_bytes(), "fpga-edge", rows=4).to_dict()
    as_proto = hwsim.estimate(onnx.load(MATMUL), "fpga-edge", rows=4).to_dict()
    assert as_bytes == as_proto and as_bytes["model"] == "worked_example"
    assert as_bytes["totals"] == json.loads(cli)["totals"]


def test_config_in_every_form_gives_the_same_report(tmp_path: Path) -> None:
    base = hwsim.estimate(MATMUL, "gemmini-like")
    toml = tmp_path / "my.toml"
    toml.write_text('preset = "gemmini-like"\n')
    report = tmp_path / "report.json"
    report.write_text(base.to_json())
    for config in (hwsim.preset("gemmini-like"), hwsim.preset("gemmini-like").to_dict(), str(toml), report,
                   json.loads(base.to_json())):
        assert hwsim.estimate(MATMUL, config).totals == base.totals


def test_the_json_config_loads_back_through_the_command_line(tmp_path: Path, capsys) -> None:
    first = tmp_path / "a.json"
    assert main(["estimate", str(MATMUL), "--preset", "tpu-v1-like", "--cols", "32", "--json", str(first)]) == 0
    capsys.readouterr()
    assert main(["estimate", str(MATMUL), "--config", str(first), "--json", "-"]) == 0
    assert capsys.readouterr().out == first.read_text()


def test_bad_config_and_override_are_user_errors() -> None:
    with pytest.raises(UserError, match="neither a preset"):
        hwsim.estimate(MATMUL, "no-such-thing")
    with pytest.raises(UserError, match="unknown config field 'rowz'"):
        hwsim.estimate(MATMUL, rowz=4)
    with pytest.raises(UserError, match="timing 'fast'"):
        hwsim.estimate(MATMUL, timing="fast")


def test_report_says_what_produced_it() -> None:
    report = hwsim.estimate(SCALESIM / "test.csv", SCALESIM / "scale.cfg", timing="scalesim").to_dict()
    jsonschema.validate(report, SCHEMA)
    assert (report["timing"], report["scalesim_bandwidth_mode"]) == ("scalesim", "CALC")
    assert report["hwsim_version"] == hwsim.__version__ and report["model"] == "test"
    plain = hwsim.estimate(MATMUL).to_dict()
    assert (plain["timing"], plain["scalesim_bandwidth_mode"], plain["skipped"]) == ("hwsim", None, [])
    # An ONNX model under SCALE-Sim timing without a .cfg uses USER mode, and says so.
    assert hwsim.estimate(MATMUL, timing="scalesim").to_dict()["scalesim_bandwidth_mode"] == "USER"


def test_scalesim_timing_takes_dram_bytes_from_scalesim_buffers(tmp_path: Path) -> None:
    # One 64x64 @ 64x32 GEMM on a 32x32 ws array with 64 KiB buffers, CALC mode: K = 64 is two row
    # folds, so SCALE-Sim writes the 64x32 partial sums twice; both operands fit the buffers' active
    # halves and are read once.
    topo = tmp_path / "g.csv"
    topo.write_text("Layer, M, N, K,\nG,64,32,64,\n")
    layer = hwsim.estimate(topo, SCALESIM / "scale.cfg", timing="scalesim").to_dict()["layers"][0]
    assert (layer["dram_read_bytes"], layer["dram_write_bytes"]) == (64 * 64 + 64 * 32, 2 * 64 * 32)
    own = hwsim.estimate(topo, SCALESIM / "scale.cfg").to_dict()["layers"][0]
    assert own["dram_write_bytes"] == 64 * 32  # hwsim's accumulator keeps partial sums on chip


def test_skipped_nodes_are_listed_with_op_and_reason(tmp_path: Path) -> None:
    from tests.compiler.test_import_gaps import _sequence_model

    report = hwsim.estimate(_sequence_model(False), allow_unsupported=True).to_dict()
    jsonschema.validate(report, SCHEMA)
    assert [(s["name"], s["op"]) for s in report["skipped"]] == [("pack", "SequenceConstruct"),
                                                                ("count", "SequenceLength")]
    assert all("tensors only" in s["reason"] for s in report["skipped"])


def test_dataframe_has_one_row_per_listed_layer() -> None:
    report = hwsim.estimate("resnet18")
    frame = report.to_dataframe()
    assert len(frame) == len(report.listed) and list(frame["name"]) == [layer.name for layer in report.listed]
    assert int(frame["macs"].sum()) == report.totals.macs == 1814073344


def test_plot_format_follows_the_extension(tmp_path: Path) -> None:
    report = hwsim.estimate(MATMUL)
    assert report.plot(tmp_path / "a.png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.plot(tmp_path / "a.svg").lstrip().startswith(b"<?xml")
    assert report.plot(tmp_path / "a.pdf")[:5] == b"%PDF-"
    assert (tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(UserError, match=r"'\.jpg' is not an image format"):
        report.plot(tmp_path / "a.jpg")
    assert not (tmp_path / "a.jpg").exists()


def test_sweep_is_callable_and_the_package_still_a_package() -> None:
    results = hwsim.sweep(MATMUL, rows=(8, 16), cols=(8,), dataflows=("ws", "os"))
    assert len(results.rows) == 4 and {r["dataflow"] for r in results.rows} == {"ws", "os"}
    assert hwsim.sweep.DesignSpace is not None and callable(hwsim.sweep)


def test_rtl_design_holds_the_files_the_command_writes(tmp_path: Path, capsys) -> None:
    design = hwsim.rtl("fpga-edge", rows=2, cols=2)
    assert main(["rtl", "--preset", "fpga-edge", "--rows", "2", "--cols", "2", "--out", str(tmp_path)]) == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == dict(design.files)
    assert "module hwsim_fpga_edge_2x2_ws(" in design.verilog
    with pytest.raises(UserError, match="weight-stationary"):
        hwsim.rtl("fpga-edge", dataflow="os")


def test_rtl_and_verify_bound_their_work_and_write_all_or_none(tmp_path: Path) -> None:
    # Refused before any generation: a long run needs allow_large, as --allow-large on the command line.
    with pytest.raises(UserError, match="allow-large"):
        hwsim.rtl("fpga-edge", rows=128, cols=128)
    with pytest.raises(UserError, match="allow-large"):
        hwsim.verify("fpga-edge", rows=2, cols=2, m=20000, k=20000, n=20000)
    # A folder that cannot be one fails before the work, and a write leaves no temporary behind.
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        hwsim.rtl("fpga-edge", rows=2, cols=2, out=tmp_path / "file")
    design = hwsim.rtl("fpga-edge", rows=2, cols=2, out=tmp_path / "new" / "rtl")
    assert sorted(p.name for p in (tmp_path / "new" / "rtl").iterdir()) == sorted(design.files)
    with pytest.raises(UserError, match="not a folder"):
        design.write(tmp_path / "file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "new"]

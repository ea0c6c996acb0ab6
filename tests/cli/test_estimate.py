from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from compiler.zoo import resnet18

from .conftest import run_hwsim

RESNET18_MACS = 1_814_073_344  # torchvision ResNet-18 at 224x224: convolutions plus the 512x1000 classifier


def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, path)
    return path


def _one_node_model(op: str, domain: str = "") -> onnx.ModelProto:
    node = helper.make_node(op, ["x"], ["y"], name="mystery", domain=domain)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(g, opset_imports=opsets)


def _if_model() -> onnx.ModelProto:
    then_g = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 8])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [1, 8])])
    nodes = [helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
             helper.make_node("Greater", ["s", "zero"], ["c"]),
             helper.make_node("If", ["c"], ["y"], name="branch", then_branch=then_g, else_branch=else_g)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_default_model_is_resnet18_and_says_so() -> None:
    r = run_hwsim("estimate", "--json", "-")
    assert r.code == 0, r.err
    assert "resnet18" in r.err
    d = json.loads(r.out)
    assert d["totals"]["macs"] == RESNET18_MACS
    assert d["config"]["name"] == "gemmini-like"
    table = run_hwsim("estimate")
    assert table.code == 0 and "TOTAL" in table.out and "latency" in table.out


def test_json_and_csv_are_byte_identical_across_runs(tmp_path: Path) -> None:
    model = _save(resnet18(weights=False), tmp_path / "r18.onnx")
    outs = []
    for i in range(2):
        r = run_hwsim("estimate", str(model), "--preset", "fpga-edge", "--json", str(tmp_path / f"{i}.json"),
                      "--csv", str(tmp_path / f"{i}.csv"))
        assert r.code == 0, r.err
        outs.append(((tmp_path / f"{i}.json").read_bytes(), (tmp_path / f"{i}.csv").read_bytes()))
    assert outs[0] == outs[1]
    d = json.loads(outs[0][0])
    assert d["totals"]["macs"] == RESNET18_MACS
    assert sum(layer["macs"] for layer in d["layers"]) == RESNET18_MACS
    rows = outs[0][1].decode().splitlines()
    assert rows[-1].startswith("TOTAL,") and len(rows) == len(d["layers"]) + 2


def test_flags_override_the_preset() -> None:
    r = run_hwsim("estimate", "--preset", "fpga-edge", "--rows", "4", "--cols", "32", "--dataflow", "os", "--json", "-")
    assert r.code == 0, r.err
    c = json.loads(r.out)["config"]
    # The clock is the preset's (the Fmax of its RTL, docs/fpga.md), untouched by the flags.
    assert (c["name"], c["rows"], c["cols"], c["dataflow"], c["clock_mhz"]) == ("fpga-edge", 4, 32, "os", 180.0)


def _bad_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    garbage = tmp / "garbage.onnx"
    garbage.write_bytes(bytes(range(256)) * 8)
    full = resnet18(weights=False).SerializeToString()
    truncated = tmp / "truncated.onnx"
    truncated.write_bytes(full[: len(full) // 2])
    bad_toml = tmp / "bad.toml"
    bad_toml.write_text("[array]\nrows = -3\n")
    return {
        "garbage": ([str(garbage)], "garbage.onnx"),
        "truncated": ([str(truncated)], "truncated.onnx"),
        "missing": ([str(tmp / "absent.onnx")], "absent.onnx"),
        "control flow": ([str(_save(_if_model(), tmp / "if.onnx"))], "If"),
        "unknown op": ([str(_save(_one_node_model("FancyOp", "com.example"), tmp / "op.onnx"))], "FancyOp"),
        "bad toml": (["--config", str(bad_toml)], "rows"),
        "bad input shape": (["--input-shape", "input=1xax224"], "input-shape"),
        "input shape without name": (["--input-shape", "1x3x224x224"], "input-shape"),
    }


@pytest.mark.parametrize("case", ["garbage", "truncated", "missing", "control flow", "unknown op", "bad toml",
                                  "bad input shape", "input shape without name"])
def test_bad_input_is_one_error_line_exit_2_and_no_output(tmp_path: Path, case: str) -> None:
    args, needle = _bad_cases(tmp_path)[case]
    out = tmp_path / "out.json"
    csv = tmp_path / "out.csv"
    r = run_hwsim("estimate", *args, "--json", str(out), "--csv", str(csv))
    assert r.code == 2, (r.code, r.err)
    lines = r.err.strip().splitlines()
    assert len([line for line in lines if line.startswith("error:")]) == 1 and lines[-1].startswith("error:"), r.err
    assert "Traceback" not in r.err
    assert needle.lower() in lines[-1].lower(), lines[-1]
    assert not out.exists() and not csv.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")], "temporary output left behind"


def test_allow_unsupported_estimates_the_rest_and_lists_skips(tmp_path: Path) -> None:
    model = _save(_one_node_model("FancyOp", "com.example"), tmp_path / "op.onnx")
    r = run_hwsim("estimate", str(model), "--allow-unsupported")
    assert r.code == 0, r.err
    assert "skipped" in r.out and "FancyOp" in r.out


def test_external_weights_absent_estimates_like_the_full_model(tmp_path: Path) -> None:
    full = _save(resnet18(weights=True), tmp_path / "full.onnx")
    ext_dir = tmp_path / "ext"
    ext_dir.mkdir()
    onnx.save(onnx.load(full), ext_dir / "m.onnx", save_as_external_data=True, location="m.data")
    (ext_dir / "m.data").unlink()
    a = run_hwsim("estimate", str(full), "--json", "-")
    b = run_hwsim("estimate", str(ext_dir / "m.onnx"), "--json", "-")
    assert a.code == b.code == 0, (a.err, b.err)
    da, db = json.loads(a.out), json.loads(b.out)
    assert da["layers"] == db["layers"] and da["totals"] == db["totals"]

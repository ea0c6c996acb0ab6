from __future__ import annotations

import csv
import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from hwsim.cli import main


def _matmul_model(path: Path, m: int, k: int, n: int) -> Path:
    """An ONNX MatMul of an (m x k) input by a (k x n) weight, weight bytes left out (shapes only)."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [k, n], [0.0] * (k * n))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "mm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])], initializer=[weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize("flag, value", [
    ("--rows", "0"), ("--rows", "-8"), ("--cols", "8,16.5"), ("--cols", ""), ("--buffer-kib", "64,,256"),
    ("--rows", "64-8"), ("--rows", "8:64:x1"), ("--dataflow", "ws,xs"), ("--buffer-kib", "-64"),
])
def test_bad_ranges_exit_2_with_one_error_line(flag: str, value: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    model = _matmul_model(tmp_path / "mm.onnx", 8, 8, 8)
    assert main(["sweep", str(model), f"{flag}={value}", "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {flag} ") and captured.out == ""
    assert not (tmp_path / "out").exists()


def test_sweep_writes_one_row_per_design_and_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _matmul_model(tmp_path / "wide.onnx", 196, 512, 256)
    b = _matmul_model(tmp_path / "tall.onnx", 3136, 64, 64)
    out = tmp_path / "out"
    argv = ["sweep", str(a), str(b), "--rows", "8:32:x2", "--cols", "8,32", "--dataflow", "ws,os",
            "--buffer-kib", "64,256", "--objective", "latency", "--out", str(out)]
    assert main(argv) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("swept 24 designs x 2 models on gemmini-like: 48 estimates computed, 0 resumed")
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 2 * 2 * 2 * 2
    assert {(r["model"], r["rows"], r["cols"], r["dataflow"], r["buffer_kib"]) for r in rows} == {
        (m, str(r), str(c), d, str(float(bk))) for m in ("wide", "tall") for r in (8, 16, 32) for c in (8, 32)
        for d in ("ws", "os") for bk in (64, 256)}
    data = json.loads((out / "results.json").read_text())
    assert data["objective"] == "latency" and len(data["overall"]) == 24
    for name in ("pareto.png", "heatmap.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    first = {name: (out / name).read_bytes() for name in ("results.csv", "results.json", "pareto.png", "heatmap.png")}
    # The same command again resumes everything and writes the same bytes.
    assert main(argv) == 0
    assert "0 estimates computed, 48 resumed" in capsys.readouterr().out
    assert first == {name: (out / name).read_bytes() for name in first}


def test_ctrl_c_keeps_finished_designs_and_a_rerun_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import hwsim.cli.sweep as cli_sweep

    class CtrlCAfterTwoChunks:
        """Stands in for the progress bar and presses Ctrl-C once 8 of the 16 designs are done."""

        def __init__(self, quiet: bool = False) -> None:
            pass

        def __call__(self, done: int, total: int) -> None:
            if done >= 8:
                raise KeyboardInterrupt

        def close(self) -> None:
            pass

    model = _matmul_model(tmp_path / "mm.onnx", 300, 200, 100)
    out = tmp_path / "out"
    argv = ["sweep", str(model), "--rows", "4,8,16,32", "--cols", "4,8,16,32", "--out", str(out)]
    with monkeypatch.context() as m:
        m.setattr(cli_sweep, "ProgressBar", CtrlCAfterTwoChunks)
        assert main(argv) == 130
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: interrupted after 8 of 16 designs; the finished ones are kept in {out}/records.jsonl: "
                   "run the same command again to resume"]
    assert len((out / "records.jsonl").read_text().splitlines()) == 8
    assert not (out / "results.csv").exists()
    assert main(argv) == 0
    assert "8 estimates computed, 8 resumed" in capsys.readouterr().out
    assert len((out / "results.csv").read_text().splitlines()) == 1 + 16


def test_a_sweep_row_is_the_estimate_of_that_design(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _matmul_model(tmp_path / "mm.onnx", 300, 200, 100)
    assert main(["sweep", str(model), "--rows", "8,32", "--dataflow", "os", "--preset", "fpga-edge",
                 "--out", str(tmp_path / "out")]) == 0
    with open(tmp_path / "out" / "results.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["rows"] == "32")
    capsys.readouterr()
    assert main(["estimate", str(model), "--preset", "fpga-edge", "--rows", "32", "--dataflow", "os",
                 "--json", "-"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    del totals["compulsory_dram_bytes"]  # a property of the model's mapping, not a sweep column
    assert {k: row[k] for k in totals} == {k: repr(v) if isinstance(v, float) else str(v) for k, v in totals.items()}

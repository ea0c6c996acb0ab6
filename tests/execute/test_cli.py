"""``hwsim run`` as a user meets it: outputs, reports, and one-line errors for bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from hwsim.cli import main
from hwsim.execute import compile_for_run, run

from .helpers import CFG
from .models import conv_zoo

X = np.random.default_rng(5).standard_normal((2, 3, 33, 29)).astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    onnx.save(conv_zoo(), d / "net.onnx")
    np.save(d / "x.npy", X)
    return d


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_outputs_match_the_api_and_are_byte_identical(files, capsys):
    a, b = files / "a.npz", files / "b.npz"
    code, out, err = _run(capsys, str(files / "net.onnx"), "--input", f"x={files / 'x.npy'}", "--output", str(a))
    assert code == 0 and err == ""
    assert _run(capsys, str(files / "net.onnx"), "--input", f"x={files / 'x.npy'}", "--output", str(b))[0] == 0
    assert a.read_bytes() == b.read_bytes()
    want = run(compile_for_run(files / "net.onnx", CFG), {"x": X}).outputs
    with np.load(a) as saved:
        assert saved.files == list(want)
        for name, value in want.items():
            np.testing.assert_array_equal(saved[name], value)
            assert f"{name}: float32 {'x'.join(map(str, value.shape))}" in out


def test_int8_prints_and_writes_the_error_report(files, capsys):
    report = files / "report.json"
    calib = files / "calib"
    calib.mkdir(exist_ok=True)
    np.save(calib / "s0.npy", X * 2)
    code, out, err = _run(capsys, str(files / "net.onnx"), "--input", f"x={files / 'x.npy'}", "--precision", "int8",
                          "--calibrate", str(calib), "--report", str(report))
    assert code == 0 and err == ""
    data = json.loads(report.read_text())
    compiled = compile_for_run(files / "net.onnx", CFG)
    result = run(compiled, {"x": X}, precision="int8", calibration=[(str(calib / "s0.npy"), {"x": X * 2})])
    assert data["outputs"] == [e.to_dict() for e in result.errors]
    assert "SNR dB" in out and "top-1" in out
    for e in result.errors:
        assert e.name in out.split("int8 against fp32")[1]


def test_output_to_stdout_is_an_npz(files):
    proc = subprocess.run([sys.executable, "-m", "hwsim", "run", str(files / "net.onnx"), "--input",
                           f"x={files / 'x.npy'}", "--output", "-"], capture_output=True, check=True)
    (files / "stdout.npz").write_bytes(proc.stdout)
    with np.load(files / "stdout.npz") as saved:
        assert len(saved.files) == 3
    assert b"Softmax" in proc.stderr


def _bad_inputs(d: Path) -> dict[str, tuple[list[str], str]]:
    np.save(d / "small.npy", X[:, :, :8])
    np.save(d / "f64.npy", X.astype(np.float64))
    np.save(d / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (d / "garbage.npy").write_bytes(b"\x93NUMPY garbage, not an array")
    model = str(d / "net.onnx")
    return {
        "missing input": ([model], "missing input x (float32 2x3x33x29)"),
        "unknown input": ([model, "--input", f"y={d / 'x.npy'}"], "has no input 'y'"),
        "wrong shape": ([model, "--input", f"x={d / 'small.npy'}"], "expected shape 2x3x33x29, got 2x3x8x29"),
        "wrong dtype": ([model, "--input", f"x={d / 'f64.npy'}"], "expected dtype float32, got float64"),
        "unreadable npy": ([model, "--input", f"x={d / 'garbage.npy'}"], "not a readable .npy array"),
        "pickled npy": ([model, "--input", f"x={d / 'obj.npy'}"], "numpy.array(values, dtype=str)"),
        "absent npy": ([model, "--input", f"x={d / 'nope.npy'}"], "no such file"),
        "malformed input": ([model, "--input", "x"], "expected NAME=FILE.npy"),
        "absent model": ([str(d / "nope.onnx"), "--input", f"x={d / 'x.npy'}"], "no such file"),
        "calibrate without int8": ([model, "--input", f"x={d / 'x.npy'}", "--calibrate", str(d)], "--precision int8"),
        "empty calibration dir": ([model, "--input", f"x={d / 'x.npy'}", "--precision", "int8", "--calibrate",
                                   str(d / "empty")], "no .npy or .npz files"),
    }


BAD = ("missing input", "unknown input", "wrong shape", "wrong dtype", "unreadable npy", "pickled npy", "absent npy",
       "malformed input", "absent model", "calibrate without int8", "empty calibration dir")


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_error_line_and_no_output(files, capsys, case):
    (files / "empty").mkdir(exist_ok=True)
    argv, message = _bad_inputs(files)[case]
    out_file = files / f"out-{case.replace(' ', '-')}.npz"
    code, out, err = _run(capsys, *argv, "--output", str(out_file))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not out_file.exists()
    assert not list(files.glob(f".{out_file.name}*"))


def test_dynamic_dims_take_the_given_arrays_shapes(tmp_path, capsys):
    from compiler import zoo

    onnx.save(zoo.bert(weights=True, layers=1, hidden=32, heads=2, vocab=50, max_positions=16), tmp_path / "bert.onnx")
    ids = np.arange(12, dtype=np.int64).reshape(2, 6)
    np.save(tmp_path / "ids.npy", ids)
    code, out, err = _run(capsys, str(tmp_path / "bert.onnx"), "--input", f"input_ids={tmp_path / 'ids.npy'}")
    assert code == 2
    assert err == "error: missing input attention_mask (int64 [batch, sequence]); give each as --input NAME=FILE.npy\n"
    np.save(tmp_path / "mask.npy", np.ones((2, 6), np.int64))
    code, out, err = _run(capsys, str(tmp_path / "bert.onnx"), "--input", f"input_ids={tmp_path / 'ids.npy'}",
                          "--input", f"attention_mask={tmp_path / 'mask.npy'}")
    assert code == 0 and err == ""
    assert "last_hidden_state: float32 2x6x32" in out and "pooler_output: float32 2x32" in out

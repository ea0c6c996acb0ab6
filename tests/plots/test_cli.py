"""``hwsim plot REPORT.json --out DIR`` and ``write_summary_plot`` (behind ``estimate --plot``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwsim.cli import main
from hwsim.cli.plot import PLOT_FILES, write_summary_plot
from hwsim.core.errors import UserError
from hwsim.plots import cycles_png, energy_png, roofline_png, summary_png

from .reports import make_report

TOP = ["--top", "6"]  # 12 layers: six named, the rest summed


@pytest.fixture(scope="module")
def report() -> dict:
    return make_report(12)


@pytest.fixture(scope="module")
def expected(report: dict) -> dict[str, bytes]:
    """What ``hwsim plot REPORT --top 6`` must write, rendered once through the library."""
    return {"cycles.png": cycles_png(report, top=6), "energy.png": energy_png(report, top=6),
            "roofline.png": roofline_png(report)}


@pytest.fixture()
def report_file(tmp_path: Path, report: dict) -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report, indent=2))
    return path


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    return err.strip()


def test_plot_writes_the_three_pngs_into_a_new_folder(tmp_path: Path, report_file: Path,
                                                      expected: dict[str, bytes]) -> None:
    out = tmp_path / "figs" / "run1"
    assert main(["plot", str(report_file), "--out", str(out), *TOP]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(PLOT_FILES) == sorted(expected)
    for name, png in expected.items():
        assert (out / name).read_bytes() == png, name


def test_plot_output_is_byte_identical_in_a_fresh_process(tmp_path: Path, report_file: Path,
                                                          expected: dict[str, bytes]) -> None:
    # A new interpreter (another hash seed, its own font lookups) must draw the same bytes.
    out = tmp_path / "again"
    subprocess.run([sys.executable, "-m", "hwsim", "plot", str(report_file), "--out", str(out), *TOP],
                   check=True, capture_output=True, env={"PYTHONHASHSEED": "7", "PATH": ""})
    for name, png in expected.items():
        assert (out / name).read_bytes() == png, name


def test_importing_the_cli_does_not_load_matplotlib_and_plotting_leaves_pyplot_alone(report_file: Path,
                                                                                      tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from hwsim.cli import build_parser, main\n"
        "build_parser()\n"
        "assert 'matplotlib' not in sys.modules, 'hwsim startup imports matplotlib'\n"
        f"assert main(['plot', {str(report_file)!r}, '--out', {str(tmp_path / 'o')!r}]) == 0\n"
        "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_missing_report_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    assert main(["plot", str(missing), "--out", str(tmp_path / "out")]) == 2
    assert _error_line(capsys) == (f"error: {missing}: report file not found; "
                                   f"write one with 'hwsim estimate MODEL --json {missing}'")
    assert not (tmp_path / "out").exists()


def test_invalid_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": "x",\n  "layers": [\n')
    assert main(["plot", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert _error_line(capsys).startswith(f"error: {bad}: not valid JSON (Expecting value at line 3 column 1)")
    assert not (tmp_path / "out").exists()


def test_json_that_is_not_a_report_leaves_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "package.json"
    other.write_text('{"name": "left-pad", "version": "1.3.0"}')
    out = tmp_path / "out"
    out.mkdir()
    assert main(["plot", str(other), "--out", str(out)]) == 2
    assert _error_line(capsys).startswith(f"error: {other}: not a hwsim report (no 'model', 'config', 'totals', 'layers')")
    assert list(out.iterdir()) == []


def test_a_bad_layer_names_the_file_and_field(tmp_path: Path, report: dict, capsys: pytest.CaptureFixture[str]) -> None:
    broken = json.loads(json.dumps(report))
    broken["layers"][7]["compute_cycles"] = "many"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    assert main(["plot", str(path), "--out", str(tmp_path / "out")]) == 2
    assert _error_line(capsys) == f"error: {path}: layers[7].compute_cycles must be a non-negative number, got 'many'"


def test_out_must_be_a_folder(tmp_path: Path, report_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", str(report_file), "--out", str(report_file)]) == 2
    assert _error_line(capsys) == f"error: --out {report_file}: is a file, not a folder; give a folder for the PNGs"


def test_report_can_come_from_standard_input(tmp_path: Path, report_file: Path, expected: dict[str, bytes],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(report_file.read_text()))
    assert main(["plot", "-", "--out", str(tmp_path / "o"), *TOP]) == 0
    assert (tmp_path / "o" / "cycles.png").read_bytes() == expected["cycles.png"]


def test_write_summary_plot_writes_one_png_with_all_panels(tmp_path: Path, report: dict) -> None:
    target = tmp_path / "out.png"
    write_summary_plot(report, target)
    assert target.read_bytes() == summary_png(report)
    assert list(tmp_path.iterdir()) == [target]


def test_write_summary_plot_rejects_a_bad_report_without_writing(tmp_path: Path, report: dict) -> None:
    broken = json.loads(json.dumps(report))
    del broken["layers"][0]["energy_breakdown_j"]
    target = tmp_path / "out.png"
    with pytest.raises(UserError, match=r"^estimate: layers\[0\]\.energy_breakdown_j must be an object"):
        write_summary_plot(broken, target, where="estimate")
    assert list(tmp_path.iterdir()) == []


def _tiny_cnn(path: Path) -> None:
    """Conv -> Relu -> Flatten -> Gemm, shapes only (weights are never read by estimate)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = [numpy_helper.from_array(np.zeros(shape, np.float32), name)
               for name, shape in (("w1", (8, 3, 3, 3)), ("b1", (8,)), ("w2", (10, 8 * 16 * 16)), ("b2", (10,)))]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1", "b1"], ["c"], name="conv", pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["r"], name="relu"),
         helper.make_node("Flatten", ["r"], ["f"], name="flatten"),
         helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], name="fc", transB=1)],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], initializer=weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_estimate_plot_writes_the_summary_of_its_own_report(tmp_path: Path) -> None:
    model = tmp_path / "tiny.onnx"
    _tiny_cnn(model)
    png, report = tmp_path / "tiny.png", tmp_path / "tiny.json"
    assert main(["estimate", str(model), "--preset", "fpga-edge", "--json", str(report), "--plot", str(png)]) == 0
    data = json.loads(report.read_text())
    assert [layer["macs"] for layer in data["layers"] if layer["macs"]] == [16 * 16 * 8 * 3 * 3 * 3, 8 * 16 * 16 * 10]
    assert png.read_bytes() == summary_png(data)  # the JSON round trip draws the same picture

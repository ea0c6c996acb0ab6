"""``hwsim estimate TOPOLOGY.csv --scalesim-config FILE.cfg --timing scalesim`` as a SCALE-Sim user
runs it: the JSON's per-layer ``compute_cycles`` equal real SCALE-Sim 3.0 runs, and malformed
inputs stop with one line that names the file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_hwsim

DATA = Path(__file__).resolve().parents[1] / "scalesim" / "data"
FIXTURES = Path(__file__).resolve().parents[1] / "scalesim" / "fixtures"


def _estimate(topology: Path, cfg: Path, out: Path, *extra: str) -> dict:
    r = run_hwsim("estimate", str(topology), "--scalesim-config", str(cfg), "--timing", "scalesim",
                  "--json", str(out), *extra)
    assert r.code == 0, r.err
    return json.loads(out.read_text())


@pytest.mark.parametrize("fixture_name", ["test_mnk", "test_conv", "test_mnk_google", "resnet50"])
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_json_compute_cycles_equal_scalesim_per_layer(tmp_path: Path, fixture_name: str, dataflow: str) -> None:
    fixture = json.loads((FIXTURES / f"{fixture_name}.json").read_text())
    # The command takes the .cfg as it is; compute cycles do not depend on its bandwidth mode.
    expected = next(layers for run, layers in fixture["runs"].items() if run.startswith(f"{dataflow}/"))
    report = _estimate(DATA / fixture["topology"], DATA / fixture["config"], tmp_path / "r.json",
                       "--dataflow", dataflow)
    assert report["config"]["dataflow"] == dataflow
    got = [(layer["name"], layer["compute_cycles"]) for layer in report["layers"]]
    assert got == [(e["name"], e["compute_cycles"]) for e in expected]


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, Path, str]]:
    cfg_text = (DATA / "scale.cfg").read_text()
    bad_cfg = tmp / "bad.cfg"
    bad_cfg.write_text(cfg_text.replace("ArrayWidth:     32", "ArrayWidth:     wide"))
    topo_lines = (DATA / "Resnet50.csv").read_text().splitlines()
    topo_lines[3] = topo_lines[3].replace(",64,1,", ",0,1,")  # CB2a_2: Num Filter 0
    bad_topo = tmp / "bad.csv"
    bad_topo.write_text("\n".join(topo_lines) + "\n")
    good_cfg, good_topo = DATA / "scale.cfg", DATA / "Resnet50.csv"
    return {
        "cfg value": (good_topo, bad_cfg, f"{bad_cfg}:6: ArrayWidth must be a positive integer"),
        "topology row": (bad_topo, good_cfg, f"{bad_topo}:4: field 'Num Filter'"),
    }


@pytest.mark.parametrize("case", ["cfg value", "topology row"])
def test_malformed_input_exits_2_naming_file_line_and_field(tmp_path: Path, case: str) -> None:
    topology, cfg, needle = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out.json"
    r = run_hwsim("estimate", str(topology), "--scalesim-config", str(cfg), "--timing", "scalesim", "--json", str(out))
    assert r.code == 2, (r.code, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {needle}"), r.err
    assert not out.exists()


def test_input_shape_does_not_apply_to_a_topology(tmp_path: Path) -> None:
    r = run_hwsim("estimate", str(DATA / "test.csv"), "--scalesim-config", str(DATA / "scale.cfg"),
                  "--input-shape", "x=1x3x8x8")
    assert r.code == 2 and "--input-shape applies to ONNX models" in r.err

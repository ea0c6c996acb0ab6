"""The sweep's FPGA clocks (hwsim/sweep/fmax.py): the measured post-route Fmax of a calibrated array,
interpolation in the PE count between two calibrated sizes of a family, none outside them, and a
sweep on an FPGA base running each design at the clock it reaches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hwsim.sweep.fmax as fmax
from hwsim.core.config import preset
from hwsim.sweep import OBJECTIVES, DesignSpace, InlinePool, SweepJob, SweepModel, build_results, run_sweep

from .models import tiny_mlp

# A table of the shipped format with made-up figures, so that the expectations below are computed
# here by hand, not read from the code under test.
TABLE = {"flow": "test", "points": [
    {"device": "ecp5-25f", "rows": 4, "cols": 4, "pipeline": [3, 1, 3], "fits": True, "fmax_mhz": 180.0},
    {"device": "ecp5-45f", "rows": 8, "cols": 8, "pipeline": [3, 1, 3], "fits": True, "fmax_mhz": 160.0},
    {"device": "ecp5-85f", "rows": 12, "cols": 12, "pipeline": [3, 1, 3], "fits": True, "fmax_mhz": 120.0},
    {"device": "ice40-up5k", "rows": 2, "cols": 2, "pipeline": [2, 4, 3], "fits": True, "fmax_mhz": 50.0},
]}


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fmax, "_table", lambda: TABLE)


def _cfg(rows: int, cols: int, device: str | None = "ecp5-45f", **kw):
    return preset("fpga-edge").replace(rows=rows, cols=cols, fpga=device, **kw)


def test_a_calibrated_array_gets_its_measured_fmax(table: None) -> None:
    assert fmax.fpga_clock(_cfg(8, 8)) == fmax.FpgaClock(160.0, "place and route")


def test_between_two_sizes_the_fmax_is_interpolated_in_the_pe_count(table: None) -> None:
    # 6x6 = 36 PEs, between 4x4 (16, 180 MHz) and 8x8 (64, 160 MHz): 180 - 20 * 20/48 = 171.67
    assert fmax.fpga_clock(_cfg(6, 6)) == fmax.FpgaClock(171.7, "interpolated")
    # 10x10 = 100 PEs between 64 (160) and 144 (120): 160 - 40 * 36/80 = 142.0
    assert fmax.fpga_clock(_cfg(10, 10)) == fmax.FpgaClock(142.0, "interpolated")
    # 4x4 on the 45F: no point on that device, the family's 4x4 (on the 25F) is the figure
    assert fmax.fpga_clock(_cfg(4, 4)) == fmax.FpgaClock(180.0, "family")


def test_no_clock_outside_the_calibration_or_without_a_device(table: None) -> None:
    assert fmax.fpga_clock(_cfg(16, 16)) is None       # beyond the family's largest point
    assert fmax.fpga_clock(_cfg(2, 2)) is None         # below its smallest
    assert fmax.fpga_clock(_cfg(8, 8, device=None)) is None
    assert fmax.fpga_clock(_cfg(8, 8, mult_stages=2)) is None   # not the pipeline that was measured
    assert fmax.fpga_clock(_cfg(2, 2, device="ice40-up5k")) == fmax.FpgaClock(50.0, "place and route")


def test_a_design_keeps_the_base_clock_where_its_rtl_reaches_it(table: None) -> None:
    assert fmax.design_clock(_cfg(4, 4, clock_mhz=155.0)) == fmax.FpgaClock(155.0, "config")
    assert fmax.design_clock(_cfg(12, 12, clock_mhz=155.0)) == fmax.FpgaClock(120.0, "family")
    assert fmax.design_clock(_cfg(12, 12, device="ecp5-85f", clock_mhz=155.0)) == \
        fmax.FpgaClock(120.0, "place and route")
    assert fmax.design_clock(_cfg(16, 16, clock_mhz=155.0)) == fmax.FpgaClock(155.0, "config")


def test_a_sweep_on_an_fpga_base_runs_each_design_at_its_clock(table: None, tmp_path: Path) -> None:
    base = _cfg(8, 8, clock_mhz=155.0)
    space = DesignSpace.around(base, rows=(4, 12), cols=(4, 12), dataflows=("ws",))
    job = SweepJob(base, (SweepModel.of("mlp", tiny_mlp()),))
    run = run_sweep(space, job, tmp_path, pool=InlinePool())
    rows = {(r["rows"], r["cols"]): r for r in build_results(run, space, OBJECTIVES["edp"]).rows if r["model"] == "mlp"}
    # 4x4: 180 MHz reached, runs at the base's 155; 12x12: 120; 4x12 = 48 PEs: 180 - 20 * 32/48 = 166.67 >= 155
    # 12x4 likewise; every latency is the design's cycles at its clock.
    expected = {(4, 4): (155.0, "config"), (12, 12): (120.0, "family"), (4, 12): (155.0, "config"),
                (12, 4): (155.0, "config")}
    for key, (mhz, source) in expected.items():
        row = rows[key]
        assert (row["clock_mhz"], row["clock_source"]) == (mhz, source)
        assert row["latency_s"] == pytest.approx(row["cycles"] / (mhz * 1e6), rel=1e-12)


def test_the_shipped_table_is_the_points_with_the_family_pipelines() -> None:
    from hwsim.core.fpga import PIPELINE_DEFAULTS, family_of

    shipped = fmax._table()
    assert shipped is not None, "hwsim/data/fpga_fmax.json is missing: run python -m hwsim.sweep.calibrate_fmax"
    assert [(p["device"], p["rows"], p["cols"]) for p in shipped["points"]] == list(fmax.POINTS)
    for p in shipped["points"]:
        d = PIPELINE_DEFAULTS[family_of(p["device"])]
        assert p["pipeline"] == [d.mult_stages, d.adder_segments, d.acc_stages]
        assert p["fits"] and 20.0 < p["fmax_mhz"] < 500.0
    # the preset runs at a clock its own RTL reaches on the device it names
    assert fmax.design_clock(preset("fpga-edge")).source == "config"
    assert fmax.fpga_clock(preset("fpga-edge")).mhz >= preset("fpga-edge").clock_mhz


def test_calibrating_one_device_keeps_the_other_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from hwsim.sweep import calibrate_fmax
    out = tmp_path / "fmax.json"
    # Without a table to keep rows from, --device refuses before placing anything.
    placed: list[tuple[str, int, int]] = []

    def fake(point: tuple[str, int, int]) -> dict:
        placed.append(point)
        return {"device": point[0], "rows": point[1], "cols": point[2], "fits": True, "fmax_mhz": 99.0}

    monkeypatch.setattr(calibrate_fmax, "measure", fake)
    assert calibrate_fmax.main(["--device", "ice40-up5k", "--out", str(out), "--jobs", "1"]) == 2
    assert placed == [] and not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "without --device" in err[0]
    old = [{"device": d, "rows": r, "cols": c, "fits": True, "fmax_mhz": float(10 * r + c)} for d, r, c in fmax.POINTS]
    out.write_text(json.dumps({"flow": "x", "points": old}), encoding="utf-8")
    assert calibrate_fmax.main(["--device", "ice40-up5k", "--out", str(out), "--jobs", "1"]) == 0
    rows = json.loads(out.read_text(encoding="utf-8"))["points"]
    assert placed == [pt for pt in fmax.POINTS if pt[0] == "ice40-up5k"] and len(placed) == 2
    assert [(r["device"], r["rows"], r["cols"]) for r in rows] == list(fmax.POINTS)
    for r, before in zip(rows, old):
        assert r["fmax_mhz"] == (99.0 if r["device"] == "ice40-up5k" else before["fmax_mhz"])

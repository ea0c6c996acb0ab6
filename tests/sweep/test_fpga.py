from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from hwsim.core.config import preset
from hwsim.sweep.calibrate import POINTS, fit
from hwsim.sweep.fpga import FPGA_RESOURCES, TABLE, TERMS, features, fpga_resources, rtl_key

TABLE_DATA = json.loads(resources.files("hwsim").joinpath(*TABLE).read_text())


def _point(name: str, rows: int, cols: int) -> dict:
    key = rtl_key(preset(name).replace(rows=rows, cols=cols, fpga=None))
    return next(p for p in TABLE_DATA["points"] if p["key"] == key)


def test_the_table_holds_every_calibration_point() -> None:
    assert [(p["preset"], p["key"]["rows"], p["key"]["cols"]) for p in TABLE_DATA["points"]] == list(POINTS)
    assert TABLE_DATA["terms"] == {r: list(TERMS[r]) for r in FPGA_RESOURCES}


@pytest.mark.parametrize("name, rows, cols", POINTS)
def test_calibrated_designs_get_the_synthesized_figures_exactly(name: str, rows: int, cols: int) -> None:
    cfg = preset(name).replace(rows=rows, cols=cols, fpga=None)  # the points are the single-cycle RTL
    got = fpga_resources(cfg)
    point = _point(name, rows, cols)
    assert got is not None and got.source == "synthesis"
    assert {r: getattr(got, r) for r in FPGA_RESOURCES} == {r: point[r] for r in FPGA_RESOURCES}


def test_other_designs_get_the_fit_or_nothing() -> None:
    base = preset("gemmini-like")
    big = fpga_resources(base.replace(rows=32, cols=32))
    assert big is not None and big.source == "fit"
    x = features(rtl_key(base.replace(rows=32, cols=32)))
    for r in FPGA_RESOURCES:
        assert getattr(big, r) == max(0, round(sum(c * x[t] for t, c in TABLE_DATA["fit"][r].items())))
    small = _point("gemmini-like", 16, 16)
    assert big.lut > small["lut"] and big.ff > small["ff"] and big.dsp > small["dsp"]
    # The RTL builds weight-stationary arrays of the calibrated widths only: no figures otherwise.
    assert fpga_resources(base.replace(dataflow="os")) is None
    assert fpga_resources(base.replace(input_bits=4, weight_bits=4)) is None
    # A buffer change that alters the generated RTL (the accumulator depth) leaves the calibration.
    deeper = fpga_resources(base.replace(rows=8, cols=8, ofmap_kib=256.0))
    assert deeper is not None and deeper.source == "fit"
    # A design built for an FPGA has pipeline registers no calibration point has: no figures.
    assert preset("fpga-edge").fpga == "ecp5-45f" and fpga_resources(preset("fpga-edge")) is None
    assert fpga_resources(base.replace(mult_stages=2)) is None


def test_fit_recovers_a_linear_law() -> None:
    def key(rows: int, cols: int, depth: int) -> dict:
        return {"rows": rows, "cols": cols, "acc_depth": depth, "acc_bits": 32, "input_bits": 8, "weight_bits": 8,
                "k_max": 64}

    truth = {"fixed": 40.0, "per_pe": 7.5, "per_row": 3.0, "per_col": 11.0, "per_acc_kbit": 0.25}
    points = []
    for rows, cols, depth in ((4, 4, 512), (8, 8, 256), (4, 16, 1024), (16, 4, 128), (16, 16, 64)):
        x = features(key(rows, cols, depth))
        points.append({"key": key(rows, cols, depth),
                       **{r: sum(truth[t] * x[t] for t in TERMS[r]) for r in FPGA_RESOURCES}})
    coefficients = fit(points)
    for r in FPGA_RESOURCES:
        assert coefficients[r] == pytest.approx({t: truth[t] for t in TERMS[r]}, abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("rows, cols", [(8, 8), (16, 16)])
def test_sweep_figures_are_what_hwsim_rtl_synth_prints(rows: int, cols: int, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from hwsim.cli import main

    assert main(["rtl", "--rows", str(rows), "--cols", str(cols), "--synth", "--out", str(tmp_path / "rtl")]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("xilinx"))
    printed = dict(zip(("lut", "lutram", "ff", "dsp", "bram"),
                       map(int, re.search(r"LUT (\d+)  LUTRAM (\d+)  FF (\d+)  DSP (\d+)  BRAM (\d+)", line).groups())))
    got = fpga_resources(preset("gemmini-like").replace(rows=rows, cols=cols))
    assert got is not None and {r: getattr(got, r) for r in FPGA_RESOURCES} == printed

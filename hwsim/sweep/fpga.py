"""FPGA resources of a design (LUT, FF, DSP, BRAM), calibrated on Yosys synthesis of our own RTL.

``hwsim/data/fpga_area.json`` holds the synthesis results of a few generated arrays and, per
resource, a least-squares fit ``fixed + per_pe * rows * cols + per_row * rows + per_col * cols``
(``python -m hwsim.sweep.calibrate`` regenerates it). A design that was synthesized gets its
measured figures exactly (``source = "synthesis"``); another of the same widths and dataflow gets
the fit (``source = "fit"``). Designs the RTL generator cannot build (another dataflow) or that
differ in a field the fit does not model (the widths) get no FPGA figures rather than invented ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from ..config import AcceleratorConfig

__all__ = ["FPGA_RESOURCES", "FpgaResources", "fpga_resources", "fpga_table_info", "TABLE_NAME", "FIT_TERMS",
           "fit_features"]

FPGA_RESOURCES = ("lut", "ff", "dsp", "bram")
TABLE_NAME = "fpga_area.json"
#: The terms of the fit, in the order of its coefficients.
FIT_TERMS = ("fixed", "per_pe", "per_row", "per_col")


@dataclass(frozen=True)
class FpgaResources:
    lut: int
    ff: int
    dsp: int
    bram: int
    #: "synthesis" for a calibrated design, "fit" for the model between them.
    source: str


def fit_features(rows: int, cols: int) -> tuple[int, int, int, int]:
    """The fit's regressors for an array, in :data:`FIT_TERMS` order."""
    return (1, rows * cols, rows, cols)


@lru_cache(maxsize=1)
def _table() -> dict[str, Any] | None:
    path = resources.files("hwsim").joinpath("data", TABLE_NAME)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def fpga_table_info() -> dict[str, Any] | None:
    """What the shipped table was measured with (tool, family, points), for the sweep's JSON."""
    table = _table()
    if table is None:
        return None
    return {k: v for k, v in table.items() if k != "points"} | {
        "calibrated": [{k: p[k] for k in ("rows", "cols", "dataflow")} for p in table["points"]]}


def fpga_resources(cfg: AcceleratorConfig) -> FpgaResources | None:
    """LUT/FF/DSP/BRAM of ``cfg`` on the calibrated FPGA family, or None where the table cannot say."""
    table = _table()
    if table is None:
        return None
    fixed = table["fixed_fields"]
    if any(getattr(cfg, k) != v for k, v in fixed.items()) or cfg.dataflow not in table["dataflows"]:
        return None
    match = table["match_fields"]
    for point in table["points"]:
        if all(getattr(cfg, k) == point[k] for k in match):
            return FpgaResources(*(int(point[r]) for r in FPGA_RESOURCES), source="synthesis")
    x = fit_features(cfg.rows, cfg.cols)
    values = []
    for r in FPGA_RESOURCES:
        coef = table["fit"][r]
        values.append(max(0, round(sum(coef[t] * v for t, v in zip(FIT_TERMS, x)))))
    return FpgaResources(*values, source="fit")

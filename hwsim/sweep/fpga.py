"""FPGA resources of a design (LUT, LUTRAM, FF, DSP, BRAM), calibrated on Yosys synthesis of our own RTL.

``hwsim/data/fpga_area.json`` holds the synthesis results of a few generated arrays and, per
resource, a least-squares fit over the terms of :data:`TERMS` (``python -m hwsim.sweep.calibrate``
regenerates it; docs/sweep.md#fpga). A design whose generated RTL is one that was synthesized (the
same RTL parameters: array, widths, accumulator depth, K limit) gets the measured figures exactly,
``source = "synthesis"``; another gets the fit, ``source = "fit"``. Designs the RTL generator cannot
build (a dataflow other than weight-stationary) or whose widths differ from the calibration's get
no FPGA figures (None) rather than invented ones. So do designs built for an FPGA (an ``[fpga]``
device, e.g. the ``fpga-edge`` preset): their RTL has the family's pipeline registers and the
controller written for a short clock period (docs/rtl.md#pipeline), while every calibration point
is the single-cycle RTL (the ``fpga-edge`` point is its array without the device).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import rtl
from hwsim.core.config import AcceleratorConfig
from hwsim.core.fpga import PIPELINE_DEFAULTS

#: The datapath every calibration point has: no FPGA, no pipeline registers.
SINGLE_CYCLE = PIPELINE_DEFAULTS[None]

__all__ = ["FPGA_RESOURCES", "FIXED_FIELDS", "TERMS", "TABLE", "FpgaResources", "fpga_resources", "fpga_table_info",
           "rtl_key", "features", "shipped_table"]

#: Resources as ``hwsim rtl --synth`` prints them for Xilinx 7-series: logic LUTs, LUTs used as
#: distributed RAM or shift registers, flip-flops, DSP48E1 blocks, block RAMs (RAMB36E1 + RAMB18E1).
FPGA_RESOURCES = ("lut", "lutram", "ff", "dsp", "bram")
#: The table, in the hwsim package's data folder.
TABLE = ("data", "fpga_area.json")
#: The terms each resource is fitted on: logic grows with the PEs and the array's edges (skew
#: registers, lane muxes), BRAM with the accumulator memory the RTL instantiates.
TERMS: dict[str, tuple[str, ...]] = {
    "lut": ("fixed", "per_pe", "per_row", "per_col"),
    "lutram": ("fixed", "per_pe", "per_row", "per_col"),
    "ff": ("fixed", "per_pe", "per_row", "per_col"),
    "dsp": ("fixed", "per_pe"),
    "bram": ("fixed", "per_col", "per_acc_kbit"),
}
#: Config fields the fit does not model: a design must have the calibration's values.
FIXED_FIELDS = ("input_bits", "weight_bits", "acc_bits")


@dataclass(frozen=True)
class FpgaResources:
    lut: int
    lutram: int
    ff: int
    dsp: int
    bram: int
    #: "synthesis" for a design that was synthesized, "fit" otherwise.
    source: str


def rtl_key(cfg: AcceleratorConfig) -> dict[str, int]:
    """The parameters the generated RTL depends on (rtl.params without the module name)."""
    p = rtl.params(cfg)
    return {"rows": p.cfg.rows, "cols": p.cfg.cols, "input_bits": p.cfg.input_bits, "weight_bits": p.cfg.weight_bits,
            "acc_bits": p.cfg.acc_bits, "acc_depth": p.cfg.acc_depth, "k_max": p.cfg.k_max}


def features(key: Mapping[str, int]) -> dict[str, float]:
    """The value of every fit term for a design with RTL parameters ``key``."""
    return {"fixed": 1.0, "per_pe": key["rows"] * key["cols"], "per_row": key["rows"], "per_col": key["cols"],
            "per_acc_kbit": key["acc_depth"] * key["cols"] * key["acc_bits"] / 1024}


@lru_cache(maxsize=None)
def shipped_table(parts: tuple[str, ...]) -> dict[str, Any] | None:
    """The JSON file ``parts`` of the hwsim package (a calibration table), or None if absent."""
    path = resources.files("hwsim").joinpath(*parts)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _table() -> dict[str, Any] | None:
    return shipped_table(TABLE)


def fpga_table_info() -> dict[str, Any] | None:
    """What the shipped table was measured with and its fit, for the sweep's JSON (None if absent)."""
    table = _table()
    if table is None:
        return None
    return {k: v for k, v in table.items() if k != "points"} | {
        "calibrated": [{k: p["key"][k] for k in ("rows", "cols", "acc_depth", "k_max")} for p in table["points"]]}


def fpga_resources(cfg: AcceleratorConfig) -> FpgaResources | None:
    """LUT/LUTRAM/FF/DSP/BRAM of ``cfg`` on the calibrated FPGA family, or None where the table cannot say."""
    table = _table()
    if table is None or cfg.dataflow != "ws" or any(getattr(cfg, k) != table["fixed"][k] for k in FIXED_FIELDS):
        return None
    if cfg.fpga is not None or cfg.pipeline != SINGLE_CYCLE:
        return None  # not the RTL the table was measured on
    key = rtl_key(cfg)
    for point in table["points"]:
        if point["key"] == key:
            return FpgaResources(*(int(point[r]) for r in FPGA_RESOURCES), source="synthesis")
    x = features(key)
    values = [max(0, round(sum(c * x[t] for t, c in table["fit"][r].items()))) for r in FPGA_RESOURCES]
    return FpgaResources(*values, source="fit")

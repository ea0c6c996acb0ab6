"""The clock an FPGA design reaches: post-route Fmax of our own RTL, per family and array size.

``hwsim/data/fpga_fmax.json`` holds, for each point of :data:`POINTS`, the Fmax that nextpnr reports
after placing and routing the ``fpga-edge`` preset resized to that array on that device, with the
family's default pipeline (seed 1, the target the preset's clock: exactly what ``hwsim rtl --preset
fpga-edge --rows R --cols C --fpga DEVICE --pnr`` measures). Regenerate it with
:mod:`hwsim.sweep.calibrate_fmax`::

    .venv/bin/python -m hwsim.sweep.calibrate_fmax [--jobs N] [--out PATH]     # about 11 minutes on 2 cores

A sweep on a base config that names an ``[fpga]`` device runs each design at :func:`design_clock`:
the base config's clock where the design's RTL reaches it, else the Fmax of :func:`fpga_clock` —
the measured one for a calibrated (device, rows, cols), the family's at that size on another of its
parts (``source = "family"``: the fabric is the same, the device's size only moves the routing a
little), otherwise interpolated linearly in the number of PEs between the two calibrated sizes
around it (``source = "interpolated"``). A
design outside the family's calibrated sizes keeps the base config's clock (docs/sweep.md#fpga-clocks):
nextpnr is not run during a sweep.

    >>> from hwsim.core.config import preset
    >>> fpga_clock(preset("fpga-edge")).source
    'place and route'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hwsim.core.config import AcceleratorConfig
from hwsim.core.fpga import family_of

from .fpga import shipped_table

__all__ = ["POINTS", "TABLE", "FpgaClock", "fpga_clock", "design_clock"]

#: (device, rows, cols) placed and routed: every array size that fits each family's parts, by DSP
#: count (docs/fpga.md#which-arrays-fit): the UP5K up to 2x4, the 25F up to 4x4, the 45F 8x8, the 85F 12x12.
POINTS: tuple[tuple[str, int, int], ...] = (
    ("ice40-up5k", 2, 2),
    ("ice40-up5k", 2, 4),
    ("ecp5-25f", 2, 2),
    ("ecp5-25f", 4, 4),
    ("ecp5-45f", 8, 8),
    ("ecp5-85f", 12, 12),
)
#: The table, in the hwsim package's data folder.
TABLE = ("data", "fpga_fmax.json")


@dataclass(frozen=True)
class FpgaClock:
    mhz: float
    #: "place and route" for a calibrated (device, rows, cols), "family" for that size measured on
    #: another part of the family, "interpolated" between two of the family's sizes.
    source: str


def _table() -> dict[str, Any] | None:
    return shipped_table(TABLE)


def fpga_clock(cfg: AcceleratorConfig) -> FpgaClock | None:
    """The clock ``cfg``'s RTL reaches on its ``[fpga]`` device, or None (no device, another
    pipeline than the family's default, or an array outside the family's calibrated sizes)."""
    table = _table()
    family = family_of(cfg.fpga)
    if table is None or family is None or cfg.dataflow != "ws":
        return None
    points = [p for p in table["points"] if family_of(p["device"]) == family and p["fits"]
              and tuple(p["pipeline"]) == (cfg.pipeline.mult_stages, cfg.pipeline.adder_segments, cfg.pipeline.acc_stages)]
    for p in points:
        if (p["device"], p["rows"], p["cols"]) == (cfg.fpga, cfg.rows, cfg.cols):
            return FpgaClock(p["fmax_mhz"], "place and route")
    pes = cfg.rows * cfg.cols
    by_size: dict[int, list[float]] = {}
    for p in points:
        by_size.setdefault(p["rows"] * p["cols"], []).append(p["fmax_mhz"])
    sizes = sorted(by_size)
    below = [s for s in sizes if s <= pes]
    above = [s for s in sizes if s >= pes]
    if not below or not above:
        return None
    lo, hi = below[-1], above[0]
    f_lo, f_hi = min(by_size[lo]), min(by_size[hi])  # two devices at one size: the slower
    if lo == hi:
        return FpgaClock(f_lo, "family")
    return FpgaClock(round(f_lo + (f_hi - f_lo) * (pes - lo) / (hi - lo), 1), "interpolated")


def design_clock(cfg: AcceleratorConfig) -> FpgaClock:
    """The clock a sweep runs ``cfg`` at: its own ``clock_mhz`` when its RTL reaches it (or no
    Fmax is known, ``source = "config"``), otherwise the Fmax of :func:`fpga_clock`."""
    reached = fpga_clock(cfg)
    if reached is None or reached.mhz >= cfg.clock_mhz:
        return FpgaClock(cfg.clock_mhz, "config")
    return reached

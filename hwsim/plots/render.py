"""Figures rendered to PNG bytes in memory, deterministically, without pyplot or a global backend.

Each figure is a :class:`matplotlib.figure.Figure` with its own Agg canvas, so nothing here selects
a backend or touches pyplot's figure registry for the rest of the process. The PNG carries no
``Software`` (matplotlib version) entry and is written at a fixed dpi: the same report gives the same
bytes on every run.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .data import DEFAULT_TOP, ReportView, read_report, select_top
from .panels import MIN_BAR_SLOTS, draw_cycles, draw_energy, draw_roofline

__all__ = ["DPI", "cycles_png", "energy_png", "roofline_png", "summary_png", "new_figure", "png_bytes"]

DPI = 100
_BAR_WIDTH_IN = 11.0
_ROOFLINE_IN = (11.5, 7.5)


def cycles_png(report: Any, *, top: int = DEFAULT_TOP, where: str = "report") -> bytes:
    """Per-layer cycles (compute + stall) of the ``--json`` report dict ``report``, as PNG bytes."""
    view = read_report(report, where)
    fig = new_figure(_BAR_WIDTH_IN, _bar_height(view, top, key="cycles"))
    draw_cycles(fig.add_subplot(), view, top)
    return png_bytes(fig)


def energy_png(report: Any, *, top: int = DEFAULT_TOP, where: str = "report") -> bytes:
    """Per-layer energy stacked by component, as PNG bytes."""
    view = read_report(report, where)
    fig = new_figure(_BAR_WIDTH_IN, _bar_height(view, top, key="energy_j"))
    draw_energy(fig.add_subplot(), view, top)
    return png_bytes(fig)


def roofline_png(report: Any, *, where: str = "report") -> bytes:
    """The configured accelerator's roofline with every array layer placed on it, as PNG bytes."""
    view = read_report(report, where)
    fig = new_figure(*_ROOFLINE_IN)
    draw_roofline(fig.add_subplot(), view)
    return png_bytes(fig)


def summary_png(report: Any, *, top: int = DEFAULT_TOP, where: str = "report") -> bytes:
    """One PNG with all three panels: cycles and energy side by side, the roofline below (``estimate --plot``)."""
    view = read_report(report, where)
    bars_in = max(_bar_height(view, top, key="cycles"), _bar_height(view, top, key="energy_j"))
    fig = new_figure(2 * _BAR_WIDTH_IN, bars_in + _ROOFLINE_IN[1])
    grid = fig.add_gridspec(2, 4, height_ratios=(bars_in, _ROOFLINE_IN[1]))
    draw_cycles(fig.add_subplot(grid[0, :2]), view, top)
    draw_energy(fig.add_subplot(grid[0, 2:]), view, top)
    draw_roofline(fig.add_subplot(grid[1, 1:3]), view)
    return png_bytes(fig)


def new_figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _bar_height(view: ReportView, top: int, key: str) -> float:
    """Inches for a bar chart: room for the title, the axis and a legible row per bar."""
    selection = select_top([getattr(layer, key) for layer in view.layers], top)
    bars = len(selection.shown) + (1 if selection.rest else 0)
    return 2.0 + 0.26 * max(bars, MIN_BAR_SLOTS)


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()

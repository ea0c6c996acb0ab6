"""Figures rendered to image bytes in memory, deterministically, without pyplot or a global backend.

Each figure is a :class:`matplotlib.figure.Figure` with its own Agg canvas, so nothing here selects
a backend or touches pyplot's figure registry for the rest of the process. Images carry no date and
no software version (PNG ``Software``, SVG ``Date``, PDF ``CreationDate``/``Producer``) and SVG ids
are salted with a constant: the same report gives the same bytes on every run.

Panels are laid out by :func:`fit`, not by a layout engine: each axes gets a slot of the figure and
is shrunk until everything it draws (tick labels, title, legends) lies inside that slot, so labels
of one panel can never run into the next, whatever the layer names. (constrained_layout gives up,
with a warning, on a figure whose legends and long labels leave the axes no room.)
"""

from __future__ import annotations

import io
from typing import Any, Sequence

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from .data import DEFAULT_TOP, IMAGE_FORMATS, ReportView, read_report, select_top
from .panels import MIN_BAR_SLOTS, draw_cycles, draw_energy, draw_roofline, settle

__all__ = ["DPI", "cycles_png", "energy_png", "roofline_png", "summary_png", "summary_image", "summary_figure", "new_figure",
           "png_bytes", "figure_bytes", "fit"]

DPI = 100
_BAR_WIDTH_IN = 11.0
_ROOFLINE_IN = (11.5, 7.5)
_GAP_IN = 0.15  # between a slot's edge and the outermost thing its panel draws
#: No date, no software version: the same figure gives the same bytes.
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None},
             "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}}


def cycles_png(report: Any, *, top: int = DEFAULT_TOP, where: str = "report", fmt: str = "png") -> bytes:
    """Per-layer cycles (compute + stall) of the ``--json`` report dict ``report``, as PNG (or ``fmt``) bytes."""
    view = read_report(report, where)
    fig = new_figure(_BAR_WIDTH_IN, _bar_height(view, top, key="cycles"), layout=None)
    ax = fig.add_subplot()
    draw_cycles(ax, view, top)
    fit(fig, [(ax, (0.0, 0.0, 1.0, 1.0))])
    return figure_bytes(fig, fmt)


def energy_png(report: Any, *, top: int = DEFAULT_TOP, where: str = "report", fmt: str = "png") -> bytes:
    """Per-layer energy stacked by component, as PNG (or ``fmt``) bytes."""
    view = read_report(report, where)
    fig = new_figure(_BAR_WIDTH_IN, _bar_height(view, top, key="energy_j"), layout=None)
    ax = fig.add_subplot()
    draw_energy(ax, view, top)
    fit(fig, [(ax, (0.0, 0.0, 1.0, 1.0))])
    return figure_bytes(fig, fmt)


def roofline_png(report: Any, *, where: str = "report", fmt: str = "png") -> bytes:
    """The configured accelerator's roofline with every array layer placed on it, as PNG (or ``fmt``) bytes."""
    view = read_report(report, where)
    fig = new_figure(*_ROOFLINE_IN, layout=None)
    ax = fig.add_subplot()
    draw_roofline(ax, view)
    fit(fig, [(ax, (0.0, 0.0, 1.0, 1.0))])
    return figure_bytes(fig, fmt)


def summary_image(report: Any, *, fmt: str = "png", top: int = DEFAULT_TOP, where: str = "report") -> bytes:
    """One image with all three panels: cycles and energy side by side, the roofline below (``estimate --plot``)."""
    return figure_bytes(summary_figure(report, top=top, where=where), fmt)


def summary_figure(report: Any, *, top: int = DEFAULT_TOP, where: str = "report") -> Figure:
    """The figure of :func:`summary_image`, laid out (for callers that add to it, and for tests)."""
    view = read_report(report, where)
    bars_in = max(_bar_height(view, top, key="cycles"), _bar_height(view, top, key="energy_j"))
    height = bars_in + _ROOFLINE_IN[1]
    fig = new_figure(2 * _BAR_WIDTH_IN, height, layout=None)
    cycles, energy, rooftop = fig.add_subplot(), fig.add_subplot(), fig.add_subplot()
    draw_cycles(cycles, view, top)
    draw_energy(energy, view, top)
    draw_roofline(rooftop, view)
    split = _ROOFLINE_IN[1] / height  # slots in figure fractions: (x0, y0, x1, y1)
    fit(fig, [(cycles, (0.0, split, 0.5, 1.0)), (energy, (0.5, split, 1.0, 1.0)),
              (rooftop, (0.12, 0.0, 0.88, split))])
    return fig


def summary_png(report: Any, *, top: int = DEFAULT_TOP, where: str = "report") -> bytes:
    """:func:`summary_image` as PNG."""
    return summary_image(report, fmt="png", top=top, where=where)


def new_figure(width_in: float, height_in: float, layout: str | None = "constrained") -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout=layout, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def fit(fig: Figure, slots: Sequence[tuple[Axes, tuple[float, float, float, float]]]) -> None:
    """Place each axes so that all it draws lies inside its slot ``(x0, y0, x1, y1)`` (figure fractions).

    The margins an axes needs (its tight box minus its own box) barely depend on its size, so two
    rounds of measure-and-shrink settle them.
    """
    width, height = fig.get_size_inches() * fig.dpi
    gap_x, gap_y = _GAP_IN * fig.dpi / width, _GAP_IN * fig.dpi / height
    for _ in range(2):
        for ax, _slot in slots:
            settle(ax)
        renderer = fig.canvas.get_renderer()
        for ax, (x0, y0, x1, y1) in slots:
            inner = ax.get_window_extent(renderer)
            tight = ax.get_tightbbox(renderer, for_layout_only=False)
            left = (inner.x0 - tight.x0) / width
            right = (tight.x1 - inner.x1) / width
            bottom = (inner.y0 - tight.y0) / height
            top = (tight.y1 - inner.y1) / height
            box = Bbox.from_extents(x0 + gap_x + left, y0 + gap_y + bottom, x1 - gap_x - right, y1 - gap_y - top)
            if box.width <= 0.05 or box.height <= 0.05:
                box = Bbox.from_extents(x0 + gap_x, y0 + gap_y, x1 - gap_x, y1 - gap_y)  # too crowded: best effort
            ax.set_position(box)
    for ax, _slot in slots:
        settle(ax)


def _bar_height(view: ReportView, top: int, key: str) -> float:
    """Inches for a bar chart: room for the title, the legend, the axis and a legible row per bar."""
    selection = select_top([getattr(layer, key) for layer in view.layers], top)
    bars = len(selection.shown) + (1 if selection.rest else 0)
    return 2.6 + 0.26 * max(bars, MIN_BAR_SLOTS)


def figure_bytes(fig: Figure, fmt: str = "png") -> bytes:
    """``fig`` as PNG, SVG or PDF bytes, without dates or versions."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {fmt!r}")
    buf = io.BytesIO()
    with rc_context({"svg.hashsalt": "hwsim", "svg.fonttype": "path", "pdf.compression": 6}):
        fig.savefig(buf, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
    return buf.getvalue()


def png_bytes(fig: Figure) -> bytes:
    return figure_bytes(fig, "png")

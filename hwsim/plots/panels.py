"""The three panels, each drawn into a matplotlib ``Axes`` that the caller owns.

Bar charts list layers top to bottom in model order, numbered by their position in the model, with
the smaller layers summed into one hatched "other (N layers)" bar at the bottom so that a 50-layer
network stays legible. The roofline places every layer that does array work. Nothing here touches
pyplot or global matplotlib state.
"""

from __future__ import annotations

import math
import weakref
from typing import Callable, Sequence

from matplotlib.axes import Axes
from matplotlib.text import Annotation, Text
from matplotlib.ticker import EngFormatter
from matplotlib.transforms import Bbox

from .data import DEFAULT_TOP, LayerView, ReportView, Selection, roofline, select_top

__all__ = ["draw_cycles", "draw_energy", "draw_roofline", "settle", "short_name", "COMPONENT_LABELS", "MIN_BAR_SLOTS"]

#: Legend names and colours of the energy components of the --json contract, in drawing order.
COMPONENT_LABELS: dict[str, tuple[str, str]] = {
    "mac": ("MAC", "#1f77b4"),
    "array_reg": ("array registers", "#9ecae1"),
    "ifmap_sram": ("ifmap SRAM", "#2ca02c"),
    "filter_sram": ("filter SRAM", "#98df8a"),
    "ofmap_sram": ("ofmap SRAM", "#17becf"),
    "dram": ("DRAM", "#d62728"),
    "vector": ("vector unit", "#9467bd"),
    "static": ("static", "#7f7f7f"),
}
# Any component a future report adds still gets a stable colour of its own.
_SPARE_COLOURS = ("#ff7f0e", "#8c564b", "#e377c2", "#bcbd22")
_COMPUTE, _STALL = "#1f77b4", "#ff7f0e"
_OP_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e")
_OTHER_HATCH = "////"
_NAME_CHARS = 44
#: A bar chart has room for at least this many bars, so that a short one keeps the bar thickness.
MIN_BAR_SLOTS = 8
#: How many spots the roofline labels: those where the most cycles are spent.
_ROOFLINE_LABELS = 8


def draw_cycles(ax: Axes, report: ReportView, top: int = DEFAULT_TOP) -> None:
    """Per-layer cycles as horizontal bars stacked into compute and stall cycles."""
    stacks = [("compute", _COMPUTE, lambda layer: layer.compute_cycles),
              ("stall (waiting for DRAM)", _STALL, lambda layer: layer.stall_cycles)]
    selection = _bars(ax, report, top, key=lambda layer: layer.cycles, stacks=stacks,
                      amount=lambda cycles: f"{cycles:,.0f} cycles")
    total = report.totals["cycles"]
    stalls = sum(layer.stall_cycles for layer in report.layers)
    ax.xaxis.set_major_formatter(EngFormatter(sep=" "))
    ax.set_xlabel(f"cycles at {report.config.clock_mhz:g} MHz")
    _title(ax, "Cycles per layer", "cycles", report, selection,
           f"total {total:,.0f} cycles = {_eng(report.totals['latency_s'], 's')}, {_share(stalls, total)} of them stalls",
           legend_columns=2)


def draw_energy(ax: Axes, report: ReportView, top: int = DEFAULT_TOP) -> None:
    """Per-layer energy as horizontal bars stacked by component (MAC, registers, buffers, DRAM, ...)."""
    total = sum(layer.energy_j for layer in report.layers)
    stacks = []
    for i, key in enumerate(report.components):
        label, colour = COMPONENT_LABELS.get(key, (key, _SPARE_COLOURS[i % len(_SPARE_COLOURS)]))
        part = sum(layer.energy_of(key) for layer in report.layers)
        stacks.append((f"{label} ({_share(part, total)})", colour,
                       lambda layer, key=key: layer.energy_of(key)))
    selection = _bars(ax, report, top, key=lambda layer: layer.energy_j, stacks=stacks,
                      amount=lambda joules: _eng(joules, "J"))
    ax.xaxis.set_major_formatter(EngFormatter(unit="J", sep=" "))
    ax.set_xlabel("energy (J); legend: each component's share of the model's total")
    _title(ax, "Energy per layer", "energy", report, selection, f"total {_eng(report.totals['energy_j'], 'J')}",
           legend_columns=4)


def draw_roofline(ax: Axes, report: ReportView) -> None:
    """The accelerator's roofline on log-log axes with every array layer placed on it.

    Marker area grows with the layer's share of the model's cycles; the spots where the most cycles
    go are lettered A, B, ... and the legend lists their layers (see :func:`_busiest_spots`). Layers without MACs (vector unit, data
    movement) have no place on a MAC roofline and are counted in the title; a layer that moves no
    DRAM bytes has infinite intensity and sits on the right edge as a triangle.
    """
    rf = roofline(report.config)
    placed = [layer for layer in report.layers if layer.macs > 0 and layer.cycles > 0]
    finite = [layer.intensity for layer in placed if math.isfinite(layer.intensity)]
    # At least a decade either side of the ridge, and room around the outermost layers.
    lo = min([rf.ridge / 2.5, *finite]) / 4
    hi = max([rf.ridge * 2.5, *finite]) * 4
    edge = hi / 1.6  # where layers with no DRAM traffic are drawn

    xs = sorted({*(lo * (hi / lo) ** (i / 64) for i in range(65)), rf.ridge})
    ax.plot(xs, [rf.attainable(x) for x in xs], color="black", linewidth=2, gid="roof", zorder=2,
            label=f"roof = min({rf.peak:,}, {_num(rf.dram_bytes_per_cycle)} B/cycle \u00d7 intensity)")
    ax.axvline(rf.ridge, color="black", linestyle=":", linewidth=1, zorder=2)
    ax.annotate(f"peak {report.config.rows}\u00d7{report.config.cols} = {rf.peak:,} MAC/cycle",
                (lo, rf.peak), xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.annotate(f"ridge {_num(rf.ridge)} MACs/byte", (rf.ridge, 0.0), xycoords=ax.get_xaxis_transform(),
                xytext=(4, 4), textcoords="offset points", fontsize=8)

    def x_of(layer: LayerView) -> float:
        return layer.intensity if math.isfinite(layer.intensity) else edge

    total_cycles = sum(layer.cycles for layer in report.layers) or 1.0

    def marker_area(layer: LayerView) -> float:
        """Square points: 12 for a negligible layer up to 612 for one that takes all the cycles."""
        return 12 + 600 * layer.cycles / total_cycles

    for j, op in enumerate(dict.fromkeys(layer.op for layer in placed)):
        group = [layer for layer in placed if layer.op == op]
        colour = _OP_COLOURS[j % len(_OP_COLOURS)]
        for marker, members in (("o", [g for g in group if math.isfinite(g.intensity)]),
                                (">", [g for g in group if not math.isfinite(g.intensity)])):
            if members:
                ax.scatter([x_of(g) for g in members], [g.attained for g in members],
                           s=[marker_area(g) for g in members], marker=marker,
                           color=colour, alpha=0.75, edgecolors="black", linewidths=0.5, zorder=3)
        ax.scatter([], [], s=30, color=colour, edgecolors="black", linewidths=0.5,
                   label=f"{op} ({_count(len(group), 'layer')})")

    attained = [layer.attained for layer in placed]
    y_lo, y_hi = min([rf.peak / 64, *attained]) / 2, max([rf.peak, *attained]) * 2.5
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(y_lo, y_hi)

    spots = _busiest_spots(placed, x_of, (lo, hi), (y_lo, y_hi))[:_ROOFLINE_LABELS]
    for k, (where, anchor, members) in enumerate(spots):
        letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[k]
        label = ax.annotate(letter, (x_of(anchor), anchor.attained),
                            xytext=(math.sqrt(marker_area(anchor)) / 2 + 2, 2),
                            textcoords="offset points", fontsize=9, fontweight="bold", va="bottom",
                            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
                                  "alpha": 0.75},
                            arrowprops={"arrowstyle": "-", "color": "0.4", "linewidth": 0.6, "shrinkA": 0,
                                        "shrinkB": 0})
        label.set_gid(_SPOT_LABEL)
        label.arrow_patch.set_visible(False)  # a leader line only once settle() moves the letter away
        _MARKER_RADIUS[label] = math.sqrt(marker_area(anchor)) / 2
        numbers = [str(layer.index + 1) for layer in members]
        which = ", ".join(numbers) if len(numbers) <= 3 else f"{numbers[0]}, {numbers[1]}, \u2026 ({len(numbers)} layers)"
        share = _share(sum(layer.cycles for layer in members), total_cycles)
        ax.plot([], [], linestyle="none",
                label=f"{letter}: {which}  {short_name(members[0].name, _NAME_CHARS)} ({share} of cycles)")

    ax.set_xlabel("arithmetic intensity (MACs per DRAM byte)")
    ax.set_ylabel("attained throughput (MACs per cycle)")
    notes = [f"{_count(len(placed), 'layer')} with MACs, marker size grows with cycles"]
    skipped = len(report.layers) - len(placed)
    if skipped:
        notes.append(f"{_count(skipped, 'layer')} without MACs not shown")
    if len(finite) < len(placed):
        notes.append("\u25b6 at the right edge: no DRAM traffic")
    ax.set_title(f"Roofline: {report.headline}\n{'; '.join(notes)}", loc="left", fontsize=10)
    ax.grid(True, which="major", color="0.85", linewidth=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, borderaxespad=0.0,
              title="op; lettered: the spots with most cycles (layer numbers, first name)" if spots else "op", title_fontsize=8,
              alignment="left")
    ax.set_gid(_ROOFLINE)


def _busiest_spots(placed: Sequence[LayerView], x_of: Callable[[LayerView], float], xlim: tuple[float, float],
                   ylim: tuple[float, float]) -> list[tuple[tuple[float, float], LayerView, list[LayerView]]]:
    """Layers grouped by where they land (within 0.4 % of the log axes), busiest spot first.

    Repeated blocks put many layers on one spot; labelling spots rather than layers names twelve
    identical encoder layers once instead of hiding every other spot behind them. Each spot is
    (its place as a fraction of the axes, its busiest layer, its layers in model order); spots
    rank by their summed cycles.
    """
    def where(layer: LayerView) -> tuple[float, float]:
        return (math.log(x_of(layer) / xlim[0]) / math.log(xlim[1] / xlim[0]),
                math.log(layer.attained / ylim[0]) / math.log(ylim[1] / ylim[0]))

    spots: list[tuple[tuple[float, float], LayerView, list[LayerView]]] = []
    for layer in sorted(placed, key=lambda layer: (-layer.cycles, layer.index)):
        fx, fy = where(layer)
        spot = next((s for s in spots if abs(s[0][0] - fx) < 0.004 and abs(s[0][1] - fy) < 0.004), None)
        if spot is None:
            spots.append(((fx, fy), layer, [layer]))
        else:
            spot[2].append(layer)
    ranked = sorted(spots, key=lambda s: (-sum(layer.cycles for layer in s[2]), s[1].index))
    return [(where, anchor, sorted(members, key=lambda layer: layer.index)) for where, anchor, members in ranked]


_Stack = tuple[str, str, Callable[[LayerView], float]]


def _bars(ax: Axes, report: ReportView, top: int, key: Callable[[LayerView], float],
          stacks: Sequence[_Stack], amount: Callable[[float], str]) -> Selection:
    """Stacked horizontal bars for the ``top`` layers by ``key`` plus an "other" bar; returns the selection.

    When the "other" bar is far longer than every named bar, the axis is scaled to the named bars
    and "other" runs off the right edge with its total written on it (``amount`` formats it), so
    that one big sum does not squash every layer into a sliver.
    """
    layers = report.layers
    selection = select_top([key(layer) for layer in layers], top)
    rows = [[layers[i]] for i in selection.shown]
    labels = [f"{layers[i].index + 1}  {short_name(layers[i].name, _NAME_CHARS)}" for i in selection.shown]
    if selection.rest:
        rows.append([layers[i] for i in selection.rest])
        labels.append(f"other ({len(selection.rest)} layers)")
    positions = list(range(len(rows)))
    left = [0.0] * len(rows)
    for name, colour, value in stacks:
        widths = [sum(value(layer) for layer in row) for row in rows]
        bars = ax.barh(positions, widths, left=left, height=0.75, color=colour, label=name,
                       edgecolor="white", linewidth=0.3)
        if selection.rest:
            bars[-1].set_hatch(_OTHER_HATCH)
        left = [a + b for a, b in zip(left, widths)]
    grand = sum(key(layer) for layer in layers)
    named = max(left[: len(selection.shown)])
    clipped = bool(selection.rest) and left[-1] > 1.5 * named > 0
    for y, width in zip(positions, left):
        if clipped and y == positions[-1]:
            ax.annotate(f"off scale: {amount(width)} = {_share(width, grand)} \u25b6", (1.0, y), xytext=(-6, 0),
                        xycoords=ax.get_yaxis_transform(), textcoords="offset points", ha="right", va="center",
                        fontsize=8, bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.5"})
        else:
            ax.annotate(_share(width, grand), (width, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7, color="0.3")
    ax.set_yticks(positions, labels, fontsize=8)
    # Model order reads top to bottom; a short list keeps the bar thickness of a long one.
    ax.set_ylim(max(len(rows), MIN_BAR_SLOTS) - 0.4, -0.6)
    widest = named if clipped else max(left)
    ax.set_xlim(0, widest * 1.12 if widest > 0 else 1)
    ax.grid(True, axis="x", color="0.85", linewidth=0.6)
    ax.set_axisbelow(True)
    return selection


def _title(ax: Axes, what: str, metric: str, report: ReportView, selection: Selection, totals: str,
           legend_columns: int) -> None:
    """Title, totals and what the bars show, above a legend row that sits between title and bars."""
    n = len(report.layers)
    if selection.rest:
        shown = (f"the {len(selection.shown)} largest of {n} layers by {metric}, "
                 f"numbered by position in the model; the rest summed as 'other'")
    else:
        shown = f"{'all ' if n > 1 else ''}{_count(n, 'layer')}, numbered by position in the model"
    handles, _ = ax.get_legend_handles_labels()
    legend_rows = -(-len(handles) // legend_columns)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=legend_columns, fontsize=8,
              frameon=False, borderaxespad=0.2)
    # A first guess; settle() sets the pad to the legend's measured height.
    ax.set_title(f"{what}: {report.headline}\n{totals}\n{shown}", loc="left", fontsize=10,
                 pad=8 + 13 * legend_rows)
    ax.set_gid(_BARS)


def short_name(name: str, limit: int = _NAME_CHARS) -> str:
    """A layer name for a label: exporters' repeated path parts dropped, then cut in the middle.

    PyTorch names a module's node by its path with every parent repeated
    (``/layer2/layer2.0/downsample/downsample.0/Conv``); a part that the next part begins with
    (``layer2`` before ``layer2.0``) says nothing more. Both ends of what is left say the most.

    >>> short_name("/layer2/layer2.0/downsample/downsample.0/Conv")
    'layer2.0/downsample.0/Conv'
    >>> short_name("/encoder/layer.11/attention/output/dense/MatMul_with_a_very_long_tail", 30)
    'encoder/layer.…_very_long_tail'
    """
    parts = [p for p in name.strip("/").split("/") if p]
    kept = [p for i, p in enumerate(parts) if not (i + 1 < len(parts) and parts[i + 1].startswith(p + "."))]
    text = "/".join(kept) or name
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return f"{text[:head]}\u2026{text[len(text) - (limit - 1 - head):]}"


_BARS, _ROOFLINE, _SPOT_LABEL = "hwsim-bars", "hwsim-roofline", "hwsim-spot-label"
#: Marker radius (points) behind each spot letter, for settle().
_MARKER_RADIUS: weakref.WeakKeyDictionary[Annotation, float] = weakref.WeakKeyDictionary()


def settle(ax: Axes) -> None:
    """Finish a panel once its axes has its final place: the bar charts' title clears their legend,
    and the roofline's letters move off each other and off the other labels. Idempotent; the
    renderers call it from their layout, and a caller drawing into its own axes calls it after layout.
    """
    renderer = getattr(ax.figure.canvas, "get_renderer", None)
    if renderer is None:
        return
    r = renderer()
    if ax.get_gid() == _BARS and ax.get_legend() is not None:
        height = ax.get_legend().get_window_extent(r).height * 72 / ax.figure.dpi
        ax.set_title(ax.get_title(loc="left"), loc="left", fontsize=10, pad=height + 6)
    elif ax.get_gid() == _ROOFLINE:
        _place_letters(ax, r)


def _place_letters(ax: Axes, renderer) -> None:
    """Put each spot letter at the first place around its marker that overlaps no label placed so far."""
    letters = [t for t in ax.texts if isinstance(t, Annotation) and t.get_gid() == _SPOT_LABEL]
    # Text boxes only: an Annotation's own extent includes its leader line.
    placed = [Text.get_window_extent(t, renderer) for t in ax.texts if t.get_gid() != _SPOT_LABEL]
    frame = ax.get_window_extent(renderer)
    scale = ax.figure.dpi / 72
    for label in letters:
        radius = _MARKER_RADIUS.get(label, 4.0)
        for distance, dx, dy in _candidates(radius):
            label.set_position((dx, dy))
            label.set_horizontalalignment("left" if dx > 0 else "right" if dx < 0 else "center")
            label.set_verticalalignment("bottom" if dy > 0 else "top" if dy < 0 else "center")
            box = Text.get_window_extent(label, renderer)
            pad = Bbox.from_extents(box.x0 - scale, box.y0 - scale, box.x1 + scale, box.y1 + scale)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(pad.overlaps(other) for other in placed):
                break
        label.arrow_patch.set_visible(distance > 1)
        placed.append(Text.get_window_extent(label, renderer))


def _candidates(radius: float) -> list[tuple[int, float, float]]:
    """Offsets (points) around a marker: beside it first, then in rings further out (with a leader)."""
    out = []
    for ring in range(1, 6):
        d = radius + 2 + (ring - 1) * 11
        for ux, uy in ((1, 0.2), (-1, 0.2), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1)):
            out.append((ring, ux * d, uy * d))
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _share(part: float, total: float) -> str:
    return f"{100 * part / total:.1f}%" if total else "0%"


def _num(value: float) -> str:
    """Three significant digits without scientific notation: 0.5, 42.9, 1,528."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _eng(value: float, unit: str = "") -> str:
    return EngFormatter(unit=unit, places=3, sep=" ").format_data(value).strip() if value else f"0 {unit}".strip()

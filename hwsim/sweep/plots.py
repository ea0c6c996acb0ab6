"""The sweep's two pictures, as deterministic PNG bytes: a Pareto scatter and a rows x cols heat map.

Both draw one scope of :class:`~.results.SweepResults` (a model, or all models summed) and use the
figure/PNG helpers of :mod:`hwsim.plots.render`, so they share its dpi, its fonts and its
byte-for-byte determinism.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, LogNorm, Normalize
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from hwsim.plots.render import new_figure, png_bytes

from .objectives import PARETO_AXES, Objective
from .results import SweepResults

__all__ = ["pareto_png", "heatmap_png", "DENSE_DESIGNS"]

_MARKERS = {"ws": "o", "os": "s", "is": "^"}
# Light grey for one design, so that no occupied hexagon vanishes into the white background.
_DENSITY = LinearSegmentedColormap.from_list("designs", ["#d0d0d0", "#202020"])
#: Above this many designs the Pareto plot shows their density (hexagons) instead of one marker each.
DENSE_DESIGNS = 400
_FRONT = "#d62728"


def _norm(values: Sequence[float]) -> Normalize:
    lo, hi = min(values), max(values)
    if lo > 0 and hi / lo > 20:
        return LogNorm(lo, hi)
    return Normalize(lo, hi if hi > lo else lo + 1)


def _number(value: float) -> str:
    """Three significant digits without exponents: 0.123, 12.3, 4,560."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


_PLAIN = FuncFormatter(lambda value, _: _number(value))
# Minor ticks of a log axis labelled at 2 and 5 times a power of ten only, so that labels never crowd.
_PLAIN_2_5 = FuncFormatter(lambda value, _: _number(value) if f"{value:.0e}"[0] in "25" else "")


def _colorbar(fig, mappable, ax, label: str) -> None:
    bar = fig.colorbar(mappable, ax=ax, label=label)
    bar.ax.yaxis.set_major_formatter(_PLAIN)
    if isinstance(mappable.norm, LogNorm):
        bar.ax.yaxis.set_minor_formatter(_PLAIN_2_5)


def _close(xs: np.ndarray, ys: np.ndarray, i: int, j: int) -> bool:
    """Whether points ``i`` and ``j`` are within 8 % of the data's range on both axes."""
    span_x, span_y = float(np.ptp(xs)) or 1.0, float(np.ptp(ys)) or 1.0
    return abs(xs[i] - xs[j]) < 0.08 * span_x and abs(ys[i] - ys[j]) < 0.08 * span_y


def _wide(values: Sequence[float]) -> bool:
    lo, hi = min(values), max(values)
    return lo > 0 and hi / lo > 20


def pareto_png(results: SweepResults, scope: str | None = None) -> bytes:
    """Latency against energy for every design, coloured by ASIC area; Pareto-optimal designs ringed."""
    scope = scope or results.headline
    rows = results.scopes[scope]
    fig = new_figure(9.0, 6.5)
    ax = fig.add_subplot()
    lat = np.array([r["latency_s"] * 1e3 for r in rows])
    energy = np.array([r["energy_j"] * 1e3 for r in rows])
    area = [r["area_mm2"] for r in rows]
    norm = _norm(area)
    mappable = None
    dense = len(rows) > DENSE_DESIGNS
    front = sorted((i for i, r in enumerate(rows) if r["pareto"]), key=lambda i: (lat[i], energy[i]))
    if dense:
        # Thousands of markers are one blob: show where the designs are (hexagons of the log plane,
        # coloured by how many designs fall in each) and draw the Pareto set on top.
        log_x, log_y = _wide(lat), _wide(energy)
        mappable = ax.hexbin(lat, energy, gridsize=40, bins="log", cmap=_DENSITY, mincnt=1, linewidths=0.2,
                             xscale="log" if log_x else "linear", yscale="log" if log_y else "linear", zorder=1)
        ax.scatter(lat[front], energy[front], s=14, color=_FRONT, edgecolors="black", linewidths=0.3, zorder=3)
    else:
        for dataflow, marker in _MARKERS.items():
            idx = [i for i, r in enumerate(rows) if r["dataflow"] == dataflow]
            if idx:
                mappable = ax.scatter(lat[idx], energy[idx], c=[area[i] for i in idx], cmap="viridis", norm=norm,
                                      marker=marker, s=34, edgecolors="none", alpha=0.9, zorder=2)
        ax.scatter(lat[front], energy[front], s=110, facecolors="none", edgecolors=_FRONT, linewidths=1.4, zorder=3)
    # The two-dimensional front of the three-dimensional one, as a guide for the eye.
    stair, best = [], math.inf
    for i in front:
        if energy[i] < best:
            stair.append(i)
            best = energy[i]
    if len(stair) > 1:
        ax.step(lat[stair], energy[stair], where="post", color=_FRONT, linewidth=0.8, alpha=0.6, zorder=1)
    ends = stair[:1] + stair[-1:]
    if len(ends) == 2 and _close(lat, energy, *ends):
        ends = ends[:1]  # two labels on one spot would print over each other
    for i, dy in zip(ends, (6, -14)):
        r = rows[i]
        ax.annotate(f"{r['rows']}x{r['cols']} {r['dataflow']} {r['buffer_kib']:g} KiB", (lat[i], energy[i]),
                    xytext=(6, dy), textcoords="offset points", fontsize=8, color="0.2")
    for values, set_scale, axis in ((lat, ax.set_xscale, ax.xaxis), (energy, ax.set_yscale, ax.yaxis)):
        if _wide(values):
            if not dense:
                set_scale("log")
            axis.set_major_formatter(_PLAIN)
            axis.set_minor_formatter(_PLAIN_2_5)
    ax.set_xlabel("latency per inference (ms)")
    ax.set_ylabel("energy per inference (mJ)")
    ax.grid(True, which="major", color="0.88", linewidth=0.6)
    ax.set_axisbelow(True)
    if dense:
        bar = fig.colorbar(mappable, ax=ax, label="designs per hexagon")
        bar.ax.yaxis.set_major_formatter(_PLAIN)
        handles = [Line2D([], [], marker="o", linestyle="", color=_FRONT, markeredgecolor="black",
                          markersize=5, label="Pareto-optimal")]
    else:
        if mappable is not None:
            _colorbar(fig, mappable, ax, "ASIC area at 45 nm (mm²): PE array + SRAM")
        handles = [Line2D([], [], marker=m, linestyle="", color="0.35", label=d)
                   for d, m in _MARKERS.items() if any(r["dataflow"] == d for r in rows)]
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markeredgecolor=_FRONT,
                              markersize=10, label="Pareto-optimal"))
    ax.legend(handles=handles, fontsize=8, loc="best", framealpha=0.85)
    ax.set_title(f"{scope}: {len(rows)} designs, {len(front)} Pareto-optimal over "
                 f"{', '.join(a.rsplit('_', 1)[0] for a in PARETO_AXES)}", loc="left", fontsize=10)
    return png_bytes(fig)


def _best_per_cell(rows: list[dict[str, Any]], objective: Objective) -> dict[tuple[int, int], dict[str, Any]]:
    best: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows:
        cell = (r["rows"], r["cols"])
        old = best.get(cell)
        v = r[objective.column]
        if old is None or (v < old[objective.column] if objective.minimize else v > old[objective.column]):
            best[cell] = r
    return best


def heatmap_png(results: SweepResults, scope: str | None = None, objective: Objective | None = None) -> bytes:
    """The best value of ``objective`` (default: the sweep's) for each array shape, over dataflows and buffers."""
    scope = scope or results.headline
    objective = objective or results.objective
    best = _best_per_cell(results.scopes[scope], objective)
    row_values = sorted({r for r, _ in best})
    col_values = sorted({c for _, c in best})
    grid = np.full((len(row_values), len(col_values)), np.nan)
    for (r, c), row in best.items():
        grid[row_values.index(r), col_values.index(c)] = row[objective.column] * objective.scale
    fig = new_figure(min(13.0, max(6.0, 1.3 * len(col_values) + 3.0)), min(10.0, max(4.5, 0.9 * len(row_values) + 2.2)))
    ax = fig.add_subplot()
    finite = grid[np.isfinite(grid)]
    norm = _norm(finite.tolist())
    # Better is always brighter: reverse the map when smaller is better.
    image = ax.imshow(grid, cmap="viridis_r" if objective.minimize else "viridis", norm=norm, aspect="auto",
                      origin="lower")
    _colorbar(fig, image, ax, f"{objective.name} ({objective.unit}), best over dataflow and buffer size")
    middle = math.sqrt(norm.vmin * norm.vmax) if isinstance(norm, LogNorm) else (norm.vmin + norm.vmax) / 2
    small = len(col_values) > 8
    # Beyond a couple of dozen shapes a side the colour says enough; numbers would not fit.
    labelled = best.items() if max(len(col_values), len(row_values)) <= 24 else ()
    for (r, c), row in labelled:
        value = row[objective.column] * objective.scale
        dark = (value > middle) == objective.minimize
        ax.text(col_values.index(c), row_values.index(r),
                _number(value) if small else f"{_number(value)}\n{row['dataflow']} {row['buffer_kib']:g} KiB",
                ha="center", va="center", fontsize=7 if small else 8, color="white" if dark else "black")
    ax.set_xticks(range(len(col_values)), [str(c) for c in col_values])
    ax.set_yticks(range(len(row_values)), [str(r) for r in row_values])
    ax.set_xlabel("array columns")
    ax.set_ylabel("array rows")
    ax.set_title(f"{scope}: best {objective.description} per array shape", loc="left", fontsize=10)
    return png_bytes(fig)

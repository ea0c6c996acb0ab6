"""A finished sweep as a table: metrics, area, Pareto marks and ranks; rendered as CSV, JSON and text.

Rows are one per (model, design), models in the order given and designs in the space's order.
Pareto marks and ranks are per model; with several models, ``overall`` adds one row per design
whose latency and energy are the sums over the models (one inference of each), ranked and marked
the same way. Every rendering is a pure function of the records, so the same sweep gives the same
bytes whether it ran at once, resumed, or ran on Dask.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from typing import Any

from hwsim.core import __version__
from hwsim.core.area import AsicAreaTable, asic_area
from hwsim.core.files import json_text
from hwsim.report import SUMMARY_FIELDS

from .fmax import design_clock
from .fpga import FPGA_RESOURCES, fpga_resources, fpga_table_info
from .objectives import OBJECTIVES, PARETO_AXES, Objective, competition_ranks, pareto_mask
from .runner import SweepRun
from .space import Design, DesignSpace, split_buffers

__all__ = ["SweepResults", "build_results", "COLUMNS", "OVERALL"]

#: The name of the all-models scope.
OVERALL = "all models"

COLUMNS = (
    "model", "rows", "cols", "dataflow", "buffer_kib", "ifmap_kib", "filter_kib", "ofmap_kib",
    "macs", "cycles", "compute_cycles", "stall_cycles", "latency_s", "energy_j", "edp_js", "utilization",
    "dram_read_bytes", "dram_write_bytes", "area_mm2", "array_area_mm2", "sram_area_mm2",
    *(f"fpga_{r}" for r in FPGA_RESOURCES), "fpga_source", "clock_mhz", "clock_source", "throughput_per_area",
    "pareto", "rank",
)
#: The per-model figures that add up over models (all of a report's summary but ratios and breakdowns).
_SUMMED = tuple(f for f in SUMMARY_FIELDS if f not in ("utilization", "energy_breakdown_j"))


@dataclass(frozen=True)
class SweepResults:
    objective: Objective
    space: DesignSpace
    run: SweepRun
    #: Per model (in order), then OVERALL when there are several: the rows of that scope.
    scopes: dict[str, list[dict[str, Any]]]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One row per (model, design): the CSV."""
        return [row for scope, rows in self.scopes.items() if scope != OVERALL for row in rows]

    @property
    def headline(self) -> str:
        """The scope the plots draw: the one model, or all models summed."""
        return next(reversed(self.scopes))

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.rows:
            writer.writerow(_cell(row[c]) for c in COLUMNS)
        return out.getvalue()

    def to_dict(self) -> dict[str, Any]:
        job = self.run.job
        data: dict[str, Any] = {
            "hwsim_version": __version__,
            "objective": self.objective.name,
            "pareto_axes": list(PARETO_AXES),
            "timing": job.timing,
            "base_config": job.base.to_dict(),
            "space": self.space.to_dict(),
            "models": [{"name": m.name, "macs": m.lowered.macs, "layers": len(m.lowered.workloads),
                        "skipped": list(m.lowered.skipped)} for m in job.models],
            "area_model": {"asic_45nm": dataclasses.asdict(AsicAreaTable()), "fpga": fpga_table_info()},
            "results": self.rows,
            "best": {scope: self.best(scope) for scope in self.scopes},
            "infeasible": [{**d.to_dict(), "reason": reason} for d, reason in self.run.infeasible],
        }
        if OVERALL in self.scopes:
            data["overall"] = self.scopes[OVERALL]
        return data

    def to_json(self) -> str:
        return json_text(self.to_dict(), what="the sweep's results", indent=1, ensure_ascii=False)

    def to_text(self, *, elapsed: float | None = None, out: Any = None) -> str:
        """The summary the command prints: counts, then the best design per objective in each scope."""
        run = self.run
        n_models = len(run.job.models)
        lines = [f"swept {_count(len(run.designs), 'design')} x {_count(n_models, 'model')} on "
                 f"{run.job.base.name}: {_count(run.computed, 'estimate')} computed, {run.resumed} resumed"
                 + (f", {_count(len(run.infeasible), 'design')} infeasible" if run.infeasible else "")
                 + (f", {elapsed:.1f} s in all" if elapsed is not None else "")]
        if out is not None:
            lines.append(f"wrote {out}/results.csv, results.json, pareto.png, heatmap.png")
        columns = [OBJECTIVES[name] for name in ("latency", "energy", "edp", "area", "throughput-per-area")]
        head = ("best", "design", *(o.unit for o in columns), "pareto", "rank")
        for scope, rows in self.scopes.items():
            front = sum(r["pareto"] for r in rows)
            lines += ["", f"{scope}: {front} of {len(rows)} designs Pareto-optimal over latency, energy and area; "
                      f"ranked by {self.objective.name}"]
            table = [head]
            for o in OBJECTIVES.values():
                row = _best_row(rows, o)
                table.append((o.name, _design_label(row), *(f"{row[c.column] * c.scale:.4g}" for c in columns),
                              "yes" if row["pareto"] else "no", str(row["rank"])))
            widths = [max(len(t[i]) for t in table) for i in range(len(head))]
            for t in table:
                lines.append("  " + "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                                              for i, (c, w) in enumerate(zip(t, widths))))
        return "\n".join(lines) + "\n"

    def best(self, scope: str) -> dict[str, dict[str, Any]]:
        """For each objective, the best design in ``scope`` (:func:`_best_row`)."""
        out = {}
        for o in OBJECTIVES.values():
            row = _best_row(self.scopes[scope], o)
            out[o.name] = {k: row[k] for k in ("rows", "cols", "dataflow", "buffer_kib", o.column)}
        return out


def _best_row(rows: list[dict[str, Any]], objective: Objective) -> dict[str, Any]:
    """The best row by ``objective``; among equals a Pareto-optimal one, then the first in space order.

    (A design that ties on the objective can still be dominated, e.g. same latency, more area.)
    """
    sign = 1 if objective.minimize else -1
    return min(rows, key=lambda r: (sign * r[objective.column], not r["pareto"]))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else value


def _derived(latency_s: float, energy_j: float, area_mm2: float) -> dict[str, float]:
    return {"edp_js": energy_j * latency_s, "throughput_per_area": 1.0 / latency_s / area_mm2 if latency_s else 0.0}


def _design_columns(design: Design, run: SweepRun) -> dict[str, Any]:
    cfg = run.configs[design]
    area = asic_area(cfg)
    fpga = fpga_resources(cfg)
    return {
        **design.to_dict(), **split_buffers(run.job.base, design.buffer_kib),
        "area_mm2": area.total_mm2, "array_area_mm2": area.array_mm2, "sram_area_mm2": area.sram_mm2,
        **{f"fpga_{r}": (getattr(fpga, r) if fpga else None) for r in FPGA_RESOURCES},
        "fpga_source": fpga.source if fpga else None,
        "clock_mhz": cfg.clock_mhz, "clock_source": design_clock(design.sized(run.job.base)).source,
    }


def _mark(rows: list[dict[str, Any]], objective: Objective) -> None:
    for row, optimal in zip(rows, pareto_mask([[row[a] for a in PARETO_AXES] for row in rows])):
        row["pareto"] = optimal
    for row, rank in zip(rows, competition_ranks([row[objective.column] for row in rows], objective.minimize)):
        row["rank"] = rank


def build_results(run: SweepRun, space: DesignSpace, objective: Objective) -> SweepResults:
    """The rows of every scope, with area, derived metrics, Pareto marks and ranks by ``objective``."""
    per_design = {d: _design_columns(d, run) for d in run.designs}
    scopes: dict[str, list[dict[str, Any]]] = {}
    for model in run.job.models:
        rows = []
        for design in run.designs:
            record = run.records[design, model.name]
            base = per_design[design]
            row = {"model": model.name, **base, **{k: record[k] for k in (*_SUMMED, "utilization")},
                   **_derived(record["latency_s"], record["energy_j"], base["area_mm2"])}
            rows.append({c: row[c] for c in COLUMNS if c in row})
        _mark(rows, objective)
        scopes[model.name] = rows
    if len(run.job.models) > 1:
        overall = []
        for i, design in enumerate(run.designs):
            base = per_design[design]
            sums = {k: sum(scopes[m.name][i][k] for m in run.job.models) for k in _SUMMED}
            overall.append({"model": OVERALL, **{k: base[k] for k in ("rows", "cols", "dataflow", "buffer_kib",
                                                                        "area_mm2")},
                            **sums, **_derived(sums["latency_s"], sums["energy_j"], base["area_mm2"])})
        _mark(overall, objective)
        scopes[OVERALL] = overall
    return SweepResults(objective, space, run, scopes)


def _design_label(row: dict[str, Any]) -> str:
    return f"{row['rows']}x{row['cols']} {row['dataflow']} {row['buffer_kib']:g} KiB"

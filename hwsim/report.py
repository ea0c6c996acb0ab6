"""Simulation results and their renderings: the table, the JSON report and CSV.

:data:`SCHEMA` is the JSON report's contract (a JSON Schema that docs/cli.md prints and the tests
validate every report against); the sweep and the plots take their field names from here.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, fields
from typing import Any

from hwsim.core import errors
from hwsim.core.config import AcceleratorConfig
from hwsim.core.files import json_text
from hwsim.core.workload import GemmShape, Kind

from .energy import EnergyBreakdown

__all__ = ["LayerResult", "Totals", "Report", "SCHEMA", "LAYER_FIELDS", "TOTAL_FIELDS", "SUMMARY_FIELDS",
           "ENERGY_COMPONENTS"]

#: Energy components of ``energy_breakdown_j``, in order.
ENERGY_COMPONENTS = tuple(f.name for f in fields(EnergyBreakdown))

_COUNT = {"type": "integer", "minimum": 0}
_NUMBER = {"type": "number", "minimum": 0}
_GEMM = {"type": "object", "additionalProperties": False, "required": ["m", "k", "n", "groups"],
         "properties": {key: {"type": "integer", "minimum": 1} for key in ("m", "k", "n", "groups")}}

#: The ``--json`` report as a JSON Schema (draft 2020-12). Units: bytes, cycles, joules, seconds.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "hwsim estimate report",
    "type": "object",
    "additionalProperties": False,
    "required": ["model", "config", "totals", "layers"],
    "properties": {
        "model": {"type": "string", "description": "the model's (graph's) name"},
        "config": {"type": "object", "description": "the effective AcceleratorConfig, every field (docs/config.md)"},
        "totals": {
            "type": "object", "additionalProperties": False,
            "required": ["macs", "cycles", "latency_s", "energy_j", "utilization", "dram_read_bytes", "dram_write_bytes"],
            "properties": {"macs": _COUNT, "cycles": _COUNT, "latency_s": _NUMBER, "energy_j": _NUMBER,
                           "utilization": {"type": "number", "minimum": 0, "maximum": 1},
                           "dram_read_bytes": _COUNT, "dram_write_bytes": _COUNT},
        },
        "layers": {"type": "array", "items": {"$ref": "#/$defs/layer"},
                   "description": "every workload but free views, in execution order"},
    },
    "$defs": {
        "layer": {
            "type": "object", "additionalProperties": False,
            "required": ["name", "op", "macs", "cycles", "compute_cycles", "stall_cycles", "utilization", "energy_j",
                         "energy_breakdown_j", "dram_read_bytes", "dram_write_bytes", "gemm"],
            "properties": {
                "name": {"type": "string"},
                "op": {"type": "string", "description": "the ONNX op, fused ops joined by '+' (Conv+Relu)"},
                "macs": _COUNT, "cycles": _COUNT, "compute_cycles": _COUNT, "stall_cycles": _COUNT,
                "utilization": {"type": "number", "minimum": 0, "maximum": 1},
                "energy_j": _NUMBER,
                "energy_breakdown_j": {"type": "object", "additionalProperties": False,
                                       "required": list(ENERGY_COMPONENTS),
                                       "properties": {c: _NUMBER for c in ENERGY_COMPONENTS}},
                "dram_read_bytes": _COUNT, "dram_write_bytes": _COUNT,
                "gemm": {"oneOf": [_GEMM, {"type": "null"}]},
            },
        },
    },
}
#: Fields of every layer object, in order.
LAYER_FIELDS: tuple[str, ...] = tuple(SCHEMA["$defs"]["layer"]["required"])
#: Fields of the ``totals`` object, in order.
TOTAL_FIELDS: tuple[str, ...] = tuple(SCHEMA["properties"]["totals"]["required"])
#: What :meth:`Report.summary` gives: the totals plus how the cycles split and the energy breakdown.
SUMMARY_FIELDS: tuple[str, ...] = ("macs", "cycles", "compute_cycles", "stall_cycles", "latency_s", "energy_j",
                                   "energy_breakdown_j", "utilization", "dram_read_bytes", "dram_write_bytes")


@dataclass(frozen=True)
class LayerResult:
    """One layer's simulated cost. ``cycles`` = ``compute_cycles`` + ``stall_cycles``."""

    name: str
    op: str
    kind: Kind
    macs: int
    compute_cycles: int
    stall_cycles: int
    dram_read_bytes: int
    dram_write_bytes: int
    energy: EnergyBreakdown
    gemm: GemmShape | None
    tiles: int

    @property
    def cycles(self) -> int:
        return self.compute_cycles + self.stall_cycles


@dataclass(frozen=True)
class Totals:
    macs: int
    cycles: int
    compute_cycles: int
    stall_cycles: int
    latency_s: float
    energy: EnergyBreakdown
    utilization: float
    dram_read_bytes: int
    dram_write_bytes: int


def _utilization(macs: int, cycles: int, pes: int) -> float:
    return macs / (cycles * pes) if cycles else 0.0


@dataclass(frozen=True)
class Report:
    """A model's simulation on one config. Free views (Reshape, Flatten, ...) are counted in the
    totals (they cost nothing) but not listed as layers."""

    model: str
    config: AcceleratorConfig
    layers: tuple[LayerResult, ...]
    skipped: tuple[str, ...] = ()
    timing: str = "hwsim"

    @property
    def listed(self) -> tuple[LayerResult, ...]:
        return tuple(layer for layer in self.layers if layer.kind is not Kind.VIEW)

    @property
    def totals(self) -> Totals:
        cycles = sum(layer.cycles for layer in self.layers)
        macs = sum(layer.macs for layer in self.layers)
        energy = sum((layer.energy for layer in self.layers), EnergyBreakdown())
        return Totals(
            macs=macs,
            cycles=cycles,
            compute_cycles=sum(layer.compute_cycles for layer in self.layers),
            stall_cycles=sum(layer.stall_cycles for layer in self.layers),
            latency_s=cycles / self.config.clock_hz,
            energy=energy,
            utilization=_utilization(macs, cycles, self.config.pes),
            dram_read_bytes=sum(layer.dram_read_bytes for layer in self.layers),
            dram_write_bytes=sum(layer.dram_write_bytes for layer in self.layers),
        )

    def summary(self) -> dict[str, Any]:
        """The whole model's figures, keyed by :data:`SUMMARY_FIELDS` (what a sweep records per design)."""
        t = self.totals
        values = {"macs": t.macs, "cycles": t.cycles, "compute_cycles": t.compute_cycles,
                  "stall_cycles": t.stall_cycles, "latency_s": t.latency_s, "energy_j": t.energy.total,
                  "utilization": t.utilization, "dram_read_bytes": t.dram_read_bytes,
                  "dram_write_bytes": t.dram_write_bytes, "energy_breakdown_j": t.energy.as_dict()}
        return {key: values[key] for key in SUMMARY_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object, as :data:`SCHEMA` describes it."""
        t = self.totals
        pes = self.config.pes
        return {
            "model": self.model,
            "config": self.config.to_dict(),
            "totals": {
                "macs": t.macs,
                "cycles": t.cycles,
                "latency_s": t.latency_s,
                "energy_j": t.energy.total,
                "utilization": t.utilization,
                "dram_read_bytes": t.dram_read_bytes,
                "dram_write_bytes": t.dram_write_bytes,
            },
            "layers": [
                {
                    "name": layer.name,
                    "op": layer.op,
                    "macs": layer.macs,
                    "cycles": layer.cycles,
                    "compute_cycles": layer.compute_cycles,
                    "stall_cycles": layer.stall_cycles,
                    "utilization": _utilization(layer.macs, layer.cycles, pes),
                    "energy_j": layer.energy.total,
                    "energy_breakdown_j": layer.energy.as_dict(),
                    "dram_read_bytes": layer.dram_read_bytes,
                    "dram_write_bytes": layer.dram_write_bytes,
                    "gemm": (
                        {"m": layer.gemm.m, "k": layer.gemm.k, "n": layer.gemm.n, "groups": layer.gemm.groups}
                        if layer.gemm is not None
                        else None
                    ),
                }
                for layer in self.listed
            ],
        }

    def to_json(self) -> str:
        return json_text(self.to_dict(), what=f"the report of {self.model}")

    def to_csv(self) -> str:
        """One row per listed layer, then a TOTAL row; energy components as columns."""
        parts = list(EnergyBreakdown().as_dict())
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["name", "op", "m", "k", "n", "groups", "macs", "cycles", "compute_cycles", "stall_cycles",
                         "utilization", "energy_j", *(f"energy_{p}_j" for p in parts),
                         "dram_read_bytes", "dram_write_bytes"])
        for d, layer in zip(self.to_dict()["layers"], self.listed):
            g = d["gemm"] or {}
            writer.writerow([d["name"], d["op"], g.get("m", ""), g.get("k", ""), g.get("n", ""), g.get("groups", ""),
                             d["macs"], d["cycles"], d["compute_cycles"], d["stall_cycles"], repr(d["utilization"]),
                             repr(d["energy_j"]), *(repr(v) for v in layer.energy.as_dict().values()),
                             d["dram_read_bytes"], d["dram_write_bytes"]])
        t = self.totals
        writer.writerow(["TOTAL", "", "", "", "", "", t.macs, t.cycles, t.compute_cycles, t.stall_cycles,
                         repr(t.utilization), repr(t.energy.total), *(repr(v) for v in t.energy.as_dict().values()),
                         t.dram_read_bytes, t.dram_write_bytes])
        return out.getvalue()

    def to_table(self, limit: int | None = None) -> str:
        """A readable per-layer table with units and a totals line."""
        cfg = self.config
        t = self.totals
        head = ("layer", "op", "GEMM m×k×n (×g)", "MMACs", "kcycles", "stall %", "util %", "µJ", "DRAM KiB")
        rows = []
        listed = self.listed
        shown = listed if limit is None or len(listed) <= limit else listed[:limit]
        for layer in shown:
            g = layer.gemm
            shape = f"{g.m}×{g.k}×{g.n}" + (f" ×{g.groups}" if g.groups > 1 else "") if g else "-"
            rows.append((errors.shown(layer.name, 80), errors.shown(layer.op, 40), shape, f"{layer.macs / 1e6:.2f}",
                         f"{layer.cycles / 1e3:.1f}",
                         f"{100 * layer.stall_cycles / layer.cycles:.0f}" if layer.cycles else "0",
                         f"{100 * _utilization(layer.macs, layer.cycles, cfg.pes):.1f}",
                         f"{layer.energy.total * 1e6:.2f}",
                         f"{(layer.dram_read_bytes + layer.dram_write_bytes) / 1024:.1f}"))
        total = ("TOTAL", f"{len(listed)} layers", "", f"{t.macs / 1e6:.2f}", f"{t.cycles / 1e3:.1f}",
                 f"{100 * t.stall_cycles / t.cycles:.0f}" if t.cycles else "0", f"{100 * t.utilization:.1f}",
                 f"{t.energy.total * 1e6:.2f}", f"{(t.dram_read_bytes + t.dram_write_bytes) / 1024:.1f}")
        widths = [max(len(str(r[i])) for r in (head, *rows, total)) for i in range(len(head))]

        def line(r: tuple[str, ...]) -> str:
            return "  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

        rule = "  ".join("-" * w for w in widths)
        lines = [
            f"model {errors.shown(self.model, 80)} on {errors.shown(cfg.name)}: {cfg.rows}×{cfg.cols} {cfg.dataflow.upper()} array at "
            f"{cfg.clock_mhz:g} MHz, {cfg.dram_gbps:g} GB/s DRAM, timing model {self.timing}",
            "",
            line(head),
            rule,
            *(line(r) for r in rows),
        ]
        if len(shown) < len(listed):
            lines.append(f"... {len(listed) - len(shown)} more layers (use --json or --csv for all)")
        lines += [rule, line(total), ""]
        e = t.energy
        lines.append(
            f"latency {t.latency_s * 1e3:.3f} ms ({t.cycles:,} cycles: {t.compute_cycles:,} compute + "
            f"{t.stall_cycles:,} stall), utilization {100 * t.utilization:.1f} %, energy {e.total * 1e3:.3f} mJ "
            f"(MAC {100 * e.mac / e.total:.0f} %, array {100 * e.array_reg / e.total:.0f} %, "
            f"SRAM {100 * (e.ifmap_sram + e.filter_sram + e.ofmap_sram) / e.total:.0f} %, "
            f"DRAM {100 * e.dram / e.total:.0f} %, vector {100 * e.vector / e.total:.0f} %, "
            f"static {100 * e.static / e.total:.0f} %)"
            if e.total
            else f"latency {t.latency_s * 1e3:.3f} ms"
        )
        if self.skipped:
            lines.append(f"skipped (unsupported, not estimated): {', '.join(self.skipped)}")
        return "\n".join(lines) + "\n"

"""Simulation results and their renderings: the table, the JSON report and CSV.

:data:`SCHEMA` is the JSON report's contract (a JSON Schema that docs/cli.md prints and the tests
validate every report against); the sweep and the plots take their field names from here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, fields, replace
from typing import Any

from hwsim.core import __version__, errors
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.files import json_text
from hwsim.core.program import GemmMapping, TensorPlace
from hwsim.core.workload import GemmShape, Kind, Skipped

from .energy import EnergyBreakdown

__all__ = ["LayerResult", "Totals", "Report", "SCHEMA", "LAYER_FIELDS", "TOTAL_FIELDS", "SUMMARY_FIELDS",
           "ENERGY_COMPONENTS"]

#: Energy components of ``energy_breakdown_j``, in order.
ENERGY_COMPONENTS = tuple(f.name for f in fields(EnergyBreakdown))

_COUNT = {"type": "integer", "minimum": 0}
_NUMBER = {"type": "number", "minimum": 0}
_GEMM = {"type": "object", "additionalProperties": False, "required": ["m", "k", "n", "groups"],
         "properties": {key: {"type": "integer", "minimum": 1} for key in ("m", "k", "n", "groups")}}
_TENSOR = {
    "type": "object", "additionalProperties": False, "required": ["name", "use", "bytes", "on_chip", "dram"],
    "properties": {
        "name": {"type": "string", "description": "the ONNX tensor"},
        "use": {"enum": ["read", "write", "spill"], "description": "read or written by the layer, or a resident "
                "tensor the layer evicts to DRAM to make room"},
        "bytes": _COUNT,
        "on_chip": {"type": "boolean", "description": "in the activation buffer (read there, or kept there)"},
        "dram": {"type": "boolean", "description": "in DRAM (read from there, or written there)"},
    },
}
_MAPPING = {
    "type": "object", "additionalProperties": False,
    "required": ["order", "tile", "block", "a_buffer_bytes", "b_buffer_bytes"],
    "description": "the mapping search's choice (docs/model.md#mapping)",
    "properties": {
        "order": {"enum": ["n", "m"], "description": "the outer block loop: n keeps a block of B while A streams "
                  "past it, m keeps a block of A while B streams"},
        "tile": {"type": "object", "additionalProperties": False, "required": ["m", "k", "n"],
                 "properties": {key: {"type": "integer", "minimum": 1} for key in ("m", "k", "n")},
                 "description": "the array tile's steps (the last step of a loop may be shorter)"},
        "block": {"type": "object", "additionalProperties": False, "required": ["m", "n"],
                  "properties": {key: {"type": "integer", "minimum": 1} for key in ("m", "n")},
                  "description": "rows of A and columns of B per buffer block"},
        "a_buffer_bytes": _COUNT, "b_buffer_bytes": _COUNT,
    },
}

#: The ``--json`` report as a JSON Schema (draft 2020-12). Units: bytes, cycles, joules, seconds.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "hwsim estimate report",
    "type": "object",
    "additionalProperties": False,
    "required": ["model", "hwsim_version", "timing", "scalesim_bandwidth_mode", "clock", "config", "totals", "layers",
                 "skipped"],
    "properties": {
        "model": {"type": "string", "description": "the model's name: its file's stem (the graph's name for an "
                  "in-memory model)"},
        "hwsim_version": {"type": "string", "description": "the hwsim version that made the report"},
        "timing": {"enum": ["hwsim", "scalesim", "replay"], "description": "the timing model of the cycles, stalls "
                   "and GEMM layers' DRAM traffic: hwsim's own (docs/model.md), SCALE-Sim 3.0's (docs/scalesim.md) or "
                   "the accelerator's command program replayed exactly (docs/accelerator.md)"},
        "scalesim_bandwidth_mode": {"enum": ["USER", "CALC", None], "description": "with timing scalesim: "
                                    "SCALE-Sim's InterfaceBandwidth mode (the .cfg's, else USER); else null"},
        "clock": {"type": "object", "additionalProperties": False, "required": ["mhz", "source"],
                  "description": "the clock latency_s is at",
                  "properties": {"mhz": {"type": "number", "description": "= config.clock_mhz"},
                                 "source": {"type": "string", "description": "'config' (its clock_mhz), or the "
                                            "place-and-route timing.json whose Fmax it is (--clock-from)"}}},
        "config": {"type": "object", "description": "the effective AcceleratorConfig, every field (docs/config.md); "
                   "loads back as a config: --config REPORT.json, hwsim.estimate(model, report['config'])"},
        "totals": {
            "type": "object", "additionalProperties": False,
            "required": ["macs", "cycles", "latency_s", "energy_j", "utilization", "dram_read_bytes", "dram_write_bytes",
                         "compulsory_dram_bytes"],
            "properties": {"macs": _COUNT, "cycles": _COUNT, "latency_s": _NUMBER, "energy_j": _NUMBER,
                           "utilization": {"type": "number", "minimum": 0, "maximum": 1},
                           "dram_read_bytes": _COUNT, "dram_write_bytes": _COUNT, "compulsory_dram_bytes": _COUNT},
        },
        "layers": {"type": "array", "items": {"$ref": "#/$defs/layer"},
                   "description": "every workload but free views, in execution order"},
        "skipped": {"type": "array", "items": {"$ref": "#/$defs/skipped"},
                    "description": "nodes --allow-unsupported left out of the estimate (not in any figure)"},
    },
    "$defs": {
        "skipped": {
            "type": "object", "additionalProperties": False, "required": ["name", "op", "reason"],
            "properties": {"name": {"type": "string"}, "op": {"type": "string", "description": "the ONNX op type"},
                           "reason": {"type": "string", "description": "why hwsim could not estimate it"}},
        },
        "layer": {
            "type": "object", "additionalProperties": False,
            "required": ["name", "op", "macs", "cycles", "compute_cycles", "stall_cycles", "utilization", "energy_j",
                         "energy_breakdown_j", "dram_read_bytes", "dram_write_bytes", "compulsory_dram_bytes",
                         "resident_bytes", "tensors", "mapping", "gemm"],
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
                "compulsory_dram_bytes": dict(_COUNT, description="the DRAM bytes if every input, weight and output "
                                              "byte not on chip moved exactly once"),
                "resident_bytes": dict(_COUNT, description="activation-buffer bytes held by tensors kept on chip "
                                       "for later layers while this one runs"),
                "tensors": {"type": "array", "items": _TENSOR, "description": "where each activation tensor the "
                            "layer reads and writes lives (weights always come from DRAM)"},
                "mapping": {"oneOf": [_MAPPING, {"type": "null"}]},
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
    """One layer's simulated cost. ``cycles`` = ``compute_cycles`` + ``stall_cycles``. The memory
    fields repeat the program's decisions (:class:`hwsim.core.program.LayerSchedule`): where the
    layer's tensors live, the mapping and tile steps, and the compulsory DRAM traffic."""

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
    compulsory_dram_bytes: int = 0
    resident_bytes: int = 0
    reads: tuple[TensorPlace, ...] = ()
    writes: tuple[TensorPlace, ...] = ()
    spills: tuple[TensorPlace, ...] = ()
    mapping: GemmMapping | None = None
    tile: tuple[int, int, int] | None = None

    @property
    def cycles(self) -> int:
        return self.compute_cycles + self.stall_cycles

    def tensors(self) -> list[dict[str, Any]]:
        """The ``tensors`` JSON list: reads, writes, then spills."""
        return [{"name": t.name, "use": use, "bytes": t.bytes, "on_chip": t.on_chip, "dram": t.dram}
                for use, places in (("read", self.reads), ("write", self.writes), ("spill", self.spills))
                for t in places]

    def mapping_dict(self) -> dict[str, Any] | None:
        """The ``mapping`` JSON object, or None for a layer that is not a GEMM."""
        if self.mapping is None or self.tile is None:
            return None
        m = self.mapping
        return {"order": m.order, "tile": dict(zip("mkn", self.tile)), "block": {"m": m.block_m, "n": m.block_n},
                "a_buffer_bytes": m.a_bytes, "b_buffer_bytes": m.b_bytes}


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
    compulsory_dram_bytes: int = 0


def _over(moved: int, compulsory: int) -> str:
    """DRAM traffic as a multiple of the compulsory traffic, for the table ("-" when none is needed)."""
    return f"{moved / compulsory:.2f}" if compulsory else "-"


def _utilization(macs: int, cycles: int, pes: int) -> float:
    return macs / (cycles * pes) if cycles else 0.0


@dataclass(frozen=True)
class Report:
    """A model's simulation on one config. Free views (Reshape, Flatten, ...) are counted in the
    totals (they cost nothing) but not listed as layers."""

    model: str
    config: AcceleratorConfig
    layers: tuple[LayerResult, ...]
    skipped: tuple[Skipped, ...] = ()
    timing: str = "hwsim"
    #: With ``timing == "scalesim"``: SCALE-Sim's bandwidth mode (``USER`` or ``CALC``).
    scalesim_bandwidth_mode: str | None = None

    #: Where ``config.clock_mhz`` comes from, when not the config itself (e.g. the Fmax of a
    #: place-and-route ``timing.json``: ``hwsim estimate --clock-from``).
    clock_source: str | None = None

    def with_provenance(self, *, scalesim_bandwidth_mode: str | None, clock_source: str | None = None) -> Report:
        """This report, saying which SCALE-Sim bandwidth mode produced its timing and where its clock came from."""
        return replace(self, scalesim_bandwidth_mode=scalesim_bandwidth_mode, clock_source=clock_source)

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
            compulsory_dram_bytes=sum(layer.compulsory_dram_bytes for layer in self.layers),
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
            "hwsim_version": __version__,
            "timing": self.timing,
            "scalesim_bandwidth_mode": self.scalesim_bandwidth_mode,
            "clock": {"mhz": self.config.clock_mhz, "source": self.clock_source or "config"},
            "config": self.config.to_dict(),
            "totals": {
                "macs": t.macs,
                "cycles": t.cycles,
                "latency_s": t.latency_s,
                "energy_j": t.energy.total,
                "utilization": t.utilization,
                "dram_read_bytes": t.dram_read_bytes,
                "dram_write_bytes": t.dram_write_bytes,
                "compulsory_dram_bytes": t.compulsory_dram_bytes,
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
                    "compulsory_dram_bytes": layer.compulsory_dram_bytes,
                    "resident_bytes": layer.resident_bytes,
                    "tensors": layer.tensors(),
                    "mapping": layer.mapping_dict(),
                    "gemm": (
                        {"m": layer.gemm.m, "k": layer.gemm.k, "n": layer.gemm.n, "groups": layer.gemm.groups}
                        if layer.gemm is not None
                        else None
                    ),
                }
                for layer in self.listed
            ],
            "skipped": [s.to_dict() for s in self.skipped],
        }

    def to_json(self) -> str:
        return json_text(self.to_dict(), what=f"the report of {self.model}")

    def to_dataframe(self) -> Any:
        """The CSV's rows as a ``pandas.DataFrame`` (pandas is optional: ``pip install pandas``)."""
        try:
            import pandas  # optional: only this method needs it
        except ImportError:
            raise UserError("Report.to_dataframe needs pandas; install it with 'pip install pandas'"
                            " (or use to_csv() / to_dict())") from None
        rows = list(csv.reader(io.StringIO(self.to_csv())))
        frame = pandas.DataFrame(rows[1:-1], columns=rows[0])  # the layers, without the TOTAL row
        for column in frame.columns[2:]:
            values = pandas.to_numeric(frame[column].replace("", None))
            frame[column] = values.astype("Int64") if column in ("m", "k", "n", "groups") else values
        return frame

    def to_csv(self) -> str:
        """One row per listed layer, then a TOTAL row; energy components as columns."""
        parts = list(EnergyBreakdown().as_dict())
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["name", "op", "m", "k", "n", "groups", "macs", "cycles", "compute_cycles", "stall_cycles",
                         "utilization", "energy_j", *(f"energy_{p}_j" for p in parts),
                         "dram_read_bytes", "dram_write_bytes", "compulsory_dram_bytes"])
        for d, layer in zip(self.to_dict()["layers"], self.listed):
            g = d["gemm"] or {}
            writer.writerow([d["name"], d["op"], g.get("m", ""), g.get("k", ""), g.get("n", ""), g.get("groups", ""),
                             d["macs"], d["cycles"], d["compute_cycles"], d["stall_cycles"], repr(d["utilization"]),
                             repr(d["energy_j"]), *(repr(v) for v in layer.energy.as_dict().values()),
                             d["dram_read_bytes"], d["dram_write_bytes"], d["compulsory_dram_bytes"]])
        t = self.totals
        writer.writerow(["TOTAL", "", "", "", "", "", t.macs, t.cycles, t.compute_cycles, t.stall_cycles,
                         repr(t.utilization), repr(t.energy.total), *(repr(v) for v in t.energy.as_dict().values()),
                         t.dram_read_bytes, t.dram_write_bytes, t.compulsory_dram_bytes])
        return out.getvalue()

    def to_table(self, limit: int | None = None) -> str:
        """A readable per-layer table with units and a totals line."""
        cfg = self.config
        t = self.totals
        head = ("layer", "op", "GEMM m×k×n (×g)", "MMACs", "kcycles", "stall %", "util %", "µJ", "DRAM KiB",
                "×min")
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
                         f"{(layer.dram_read_bytes + layer.dram_write_bytes) / 1024:.1f}",
                         _over(layer.dram_read_bytes + layer.dram_write_bytes, layer.compulsory_dram_bytes)))
        total = ("TOTAL", f"{len(listed)} layers", "", f"{t.macs / 1e6:.2f}", f"{t.cycles / 1e3:.1f}",
                 f"{100 * t.stall_cycles / t.cycles:.0f}" if t.cycles else "0", f"{100 * t.utilization:.1f}",
                 f"{t.energy.total * 1e6:.2f}", f"{(t.dram_read_bytes + t.dram_write_bytes) / 1024:.1f}",
                 _over(t.dram_read_bytes + t.dram_write_bytes, t.compulsory_dram_bytes))
        widths = [max(len(str(r[i])) for r in (head, *rows, total)) for i in range(len(head))]

        def line(r: tuple[str, ...]) -> str:
            return "  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

        rule = "  ".join("-" * w for w in widths)
        lines = [
            f"model {errors.shown(self.model, 80)} on {errors.shown(cfg.name)}: {cfg.rows}×{cfg.cols} "
            f"{cfg.dataflow.upper()} array at {cfg.clock_mhz:g} MHz, {cfg.dram_gbps:g} GB/s DRAM, "
            f"timing model {self.timing}"
            + (f" ({self.scalesim_bandwidth_mode} bandwidth mode)" if self.scalesim_bandwidth_mode else ""),
            *([f"clock: {self.clock_source}"] if self.clock_source else []),
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
            lines.append(f"skipped (unsupported, not estimated): {', '.join(map(str, self.skipped))}")
        return "\n".join(lines) + "\n"

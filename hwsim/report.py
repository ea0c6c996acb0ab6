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
from hwsim.core.training import PHASES, TrainingStep
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
        "pinned": {"type": "object", "additionalProperties": False, "required": ["loops", "calls", "reuse"],
                   "description": "present when a mapping file pinned the layer's DRAM loops "
                   "(docs/model.md#pinned-mappings): tile, block and buffers are then one call's",
                   "properties": {"loops": {"type": "string", "description": "the DRAM loops, outermost first"},
                                  "calls": {"type": "integer", "minimum": 1,
                                            "description": "one per iteration of the loops"},
                                  "reuse": {"enum": ["none", "order"],
                                            "description": "none: every call loads its operands; order: an operand "
                                            "stays while the loops that advance do not index it"}}},
        "dma_requests": {"type": "integer", "minimum": 1,
                         "description": "present when the config limits a DMA request (dma_request_bytes): the "
                         "requests that move the layer's DRAM bytes, one a cycle (docs/model.md#dma-requests)"},
    },
}

_PHASE_TOTALS = {
    "type": "object", "additionalProperties": False,
    "required": ["layers", "macs", "cycles", "latency_s", "energy_j", "dram_read_bytes", "dram_write_bytes"],
    "properties": {"layers": _COUNT, "macs": _COUNT, "cycles": _COUNT, "latency_s": _NUMBER, "energy_j": _NUMBER,
                   "dram_read_bytes": _COUNT, "dram_write_bytes": _COUNT},
}
_HOLDS = ("stash", "weights", "gradients", "optimizer_state", "total")
_TRAINING = {
    "type": "object", "additionalProperties": False,
    "required": ["batch", "loss", "optimizer", "recompute", "parameters", "phases", "step_cycles", "step_time_s",
                 "samples_per_s", "memory", "capacities", "fits_dram", "dram_shortfall_bytes"],
    "properties": {
        "batch": {"type": "integer", "minimum": 1}, "loss": {"type": "string"}, "optimizer": {"type": "string"},
        "recompute": {"type": "string"},
        "parameters": dict(_COUNT, description="trained parameter elements (weights, biases, norms' scales and "
                           "shifts, embedding tables)"),
        "phases": {"type": "object", "additionalProperties": False, "properties": {p: _PHASE_TOTALS for p in PHASES},
                   "description": "the totals of each phase present in the step"},
        "step_cycles": _COUNT, "step_time_s": _NUMBER,
        "samples_per_s": dict(_NUMBER, description="batch / step_time_s"),
        "memory": {
            "type": "object", "additionalProperties": False,
            "required": ["stash_bytes", "stash_tensors", "stash_peak_layer", "weight_bytes", "gradient_bytes",
                         "optimizer_state_bytes", "total_bytes"],
            "properties": {"stash_bytes": _COUNT, "stash_tensors": _COUNT, "stash_peak_layer": {"type": "string"},
                           "weight_bytes": _COUNT, "gradient_bytes": _COUNT, "optimizer_state_bytes": _COUNT,
                           "total_bytes": _COUNT},
            "description": "bytes the step holds (docs/training.md#memory): the peak of the stashed activations, "
                           "the weights, their gradients, the optimizer state (with fp32 master weights)",
        },
        "capacities": {
            "type": "array", "description": "each memory's capacity and which of the amounts would fit in it",
            "items": {"type": "object", "additionalProperties": False, "required": ["memory", "key", "bytes", "fits"],
                      "properties": {"memory": {"type": "string"}, "key": {"type": "string"}, "bytes": _COUNT,
                                     "fits": {"type": "object", "additionalProperties": False,
                                              "required": list(_HOLDS),
                                              "properties": {h: {"type": "boolean"} for h in _HOLDS}}}},
        },
        "fits_dram": {"type": ["boolean", "null"], "description": "total_bytes fit in DRAM (dram_gib); null when "
                      "the config does not state its DRAM capacity"},
        "dram_shortfall_bytes": {"type": ["integer", "null"], "minimum": 0, "description": "total_bytes beyond the "
                                 "DRAM capacity (0 when it fits; null when dram_gib is not stated)"},
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
        "training": {"$ref": "#/$defs/training",
                     "description": "only in a training-step report (estimate --training, docs/training.md)"},
    },
    "$defs": {
        "training": _TRAINING,
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
                "phase": {"enum": list(PHASES), "description": "only in a training-step report: the part of the "
                          "step the layer belongs to (docs/training.md#phases)"},
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
    #: The training phase (:data:`hwsim.core.training.PHASES`); ``""`` for inference.
    phase: str = ""
    #: A pinned mapping's DRAM loops and calls (docs/model.md#pinned-mappings); ``""`` and 1 when searched.
    loops: str = ""
    calls: int = 1
    reuse: str = ""
    #: The DMA requests of the layer's DRAM bytes (docs/model.md#dma-requests); 0 when not counted.
    dma_requests: int = 0

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
        out: dict[str, Any] = {"order": m.order, "tile": dict(zip("mkn", self.tile)),
                               "block": {"m": m.block_m, "n": m.block_n},
                               "a_buffer_bytes": m.a_bytes, "b_buffer_bytes": m.b_bytes}
        if self.loops:
            out["pinned"] = {"loops": self.loops, "calls": self.calls, "reuse": self.reuse}
        if self.dma_requests:
            out["dma_requests"] = self.dma_requests
        return out


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


def _bytes(n: int) -> str:
    """A byte count for the table, in the largest binary unit that keeps it at least 1."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


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
    #: A training step's memory (``None`` for inference): the report then has ``phase`` per layer and
    #: a ``training`` section (:meth:`training_dict`).
    training: TrainingStep | None = None

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

    def phase_totals(self) -> dict[str, dict[str, Any]]:
        """Layers, MACs, cycles, latency, energy and DRAM bytes of each phase present, in step order."""
        out: dict[str, dict[str, Any]] = {}
        for phase in PHASES:
            layers = [layer for layer in self.layers if layer.phase == phase]
            if not layers:
                continue
            cycles = sum(layer.cycles for layer in layers)
            out[phase] = {"layers": sum(1 for layer in layers if layer.kind is not Kind.VIEW),
                          "macs": sum(layer.macs for layer in layers), "cycles": cycles,
                          "latency_s": cycles / self.config.clock_hz,
                          "energy_j": sum(layer.energy.total for layer in layers),
                          "dram_read_bytes": sum(layer.dram_read_bytes for layer in layers),
                          "dram_write_bytes": sum(layer.dram_write_bytes for layer in layers)}
        return out

    def training_dict(self) -> dict[str, Any] | None:
        """The ``training`` JSON object (docs/training.md), ``None`` for an inference report."""
        step = self.training
        if step is None:
            return None
        memory = step.memory(self.config)
        t = self.totals
        amounts = {"stash": memory.stash_bytes, "weights": memory.weight_bytes, "gradients": memory.gradient_bytes,
                   "optimizer_state": memory.optimizer_state_bytes, "total": memory.total_bytes}
        capacities = [{"memory": label, "key": key, "bytes": size,
                       "fits": {what: amount <= size for what, amount in amounts.items()}}
                      for label, key, size in self.config.memories]
        dram = self.config.dram_capacity_bytes
        return {
            "batch": step.batch, "loss": step.loss, "optimizer": step.optimizer, "recompute": step.recompute,
            "parameters": step.parameters, "phases": self.phase_totals(),
            "step_cycles": t.cycles, "step_time_s": t.latency_s,
            "samples_per_s": step.batch / t.latency_s if t.latency_s else 0.0,
            "memory": {"stash_bytes": memory.stash_bytes, "stash_tensors": step.stash_tensors,
                       "stash_peak_layer": step.stash_peak_layer, "weight_bytes": memory.weight_bytes,
                       "gradient_bytes": memory.gradient_bytes,
                       "optimizer_state_bytes": memory.optimizer_state_bytes, "total_bytes": memory.total_bytes},
            "capacities": capacities,
            "fits_dram": None if dram is None else memory.total_bytes <= dram,
            "dram_shortfall_bytes": None if dram is None else max(0, memory.total_bytes - dram),
        }

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
                    **({"phase": layer.phase} if layer.phase else {}),
                }
                for layer in self.listed
            ],
            "skipped": [s.to_dict() for s in self.skipped],
            **({"training": self.training_dict()} if self.training is not None else {}),
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
        """One row per listed layer, then a TOTAL row; energy components as columns (and, for a
        training step, each layer's phase; with a pinned mapping, each layer's loops and calls)."""
        training = self.training is not None
        pinned = any(layer.loops for layer in self.listed)
        parts = list(EnergyBreakdown().as_dict())
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["name", "op", "m", "k", "n", "groups", "macs", "cycles", "compute_cycles", "stall_cycles",
                         "utilization", "energy_j", *(f"energy_{p}_j" for p in parts),
                         "dram_read_bytes", "dram_write_bytes", "compulsory_dram_bytes",
                         *(["phase"] if training else []), *(["loops", "calls"] if pinned else [])])
        for d, layer in zip(self.to_dict()["layers"], self.listed):
            g = d["gemm"] or {}
            writer.writerow([d["name"], d["op"], g.get("m", ""), g.get("k", ""), g.get("n", ""), g.get("groups", ""),
                             d["macs"], d["cycles"], d["compute_cycles"], d["stall_cycles"], repr(d["utilization"]),
                             repr(d["energy_j"]), *(repr(v) for v in layer.energy.as_dict().values()),
                             d["dram_read_bytes"], d["dram_write_bytes"], d["compulsory_dram_bytes"],
                             *([layer.phase] if training else []),
                             *([layer.loops, layer.calls] if pinned else [])])
        t = self.totals
        writer.writerow(["TOTAL", "", "", "", "", "", t.macs, t.cycles, t.compute_cycles, t.stall_cycles,
                         repr(t.utilization), repr(t.energy.total), *(repr(v) for v in t.energy.as_dict().values()),
                         t.dram_read_bytes, t.dram_write_bytes, t.compulsory_dram_bytes, *([""] if training else []),
                         *(["", sum(layer.calls for layer in self.listed)] if pinned else [])])
        return out.getvalue()

    def to_table(self, limit: int | None = None) -> str:
        """A readable per-layer table with units and a totals line."""
        cfg = self.config
        t = self.totals
        training = self.training is not None
        listed = self.listed
        # A pinned mapping's calls get a column of their own, only when some layer has one.
        pinned = any(layer.loops for layer in listed)
        head = ("layer", "op", *(("phase",) if training else ()), "GEMM m×k×n (×g)", "MMACs", "kcycles", "stall %",
                "util %", "µJ", "DRAM KiB", "×min", *(("calls",) if pinned else ()))
        left = 4 if training else 3  # columns aligned left
        rows = []
        shown = listed if limit is None or len(listed) <= limit else listed[:limit]
        for layer in shown:
            g = layer.gemm
            shape = f"{g.m}×{g.k}×{g.n}" + (f" ×{g.groups}" if g.groups > 1 else "") if g else "-"
            rows.append((errors.shown(layer.name, 80), errors.shown(layer.op, 40), *((layer.phase,) if training else ()),
                         shape, f"{layer.macs / 1e6:.2f}",
                         f"{layer.cycles / 1e3:.1f}",
                         f"{100 * layer.stall_cycles / layer.cycles:.0f}" if layer.cycles else "0",
                         f"{100 * _utilization(layer.macs, layer.cycles, cfg.pes):.1f}",
                         f"{layer.energy.total * 1e6:.2f}",
                         f"{(layer.dram_read_bytes + layer.dram_write_bytes) / 1024:.1f}",
                         _over(layer.dram_read_bytes + layer.dram_write_bytes, layer.compulsory_dram_bytes),
                         *((f"{layer.calls:,}" if layer.loops else "-",) if pinned else ())))
        total = ("TOTAL", f"{len(listed)} layers", *(("",) if training else ()), "", f"{t.macs / 1e6:.2f}", f"{t.cycles / 1e3:.1f}",
                 f"{100 * t.stall_cycles / t.cycles:.0f}" if t.cycles else "0", f"{100 * t.utilization:.1f}",
                 f"{t.energy.total * 1e6:.2f}", f"{(t.dram_read_bytes + t.dram_write_bytes) / 1024:.1f}",
                 _over(t.dram_read_bytes + t.dram_write_bytes, t.compulsory_dram_bytes), *(("",) if pinned else ()))
        widths = [max(len(str(r[i])) for r in (head, *rows, total)) for i in range(len(head))]

        def line(r: tuple[str, ...]) -> str:
            return "  ".join(str(c).ljust(w) if i < left else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

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
        if training:
            lines += ["", *self._training_lines()]
        return "\n".join(lines) + "\n"

    def _training_lines(self) -> list[str]:
        """The table's training section: per-phase totals, step time and throughput, memory against capacities."""
        d = self.training_dict()
        assert d is not None
        t = self.totals
        lines = [f"training step: batch {d['batch']}, loss {d['loss']}, optimizer {d['optimizer']}, "
                 f"recompute {d['recompute']}"]
        head = ("phase", "layers", "MMACs", "kcycles", "ms", "share %")
        rows = [(phase, str(p["layers"]), f"{p['macs'] / 1e6:.2f}", f"{p['cycles'] / 1e3:.1f}",
                 f"{p['latency_s'] * 1e3:.3f}", f"{100 * p['cycles'] / t.cycles:.1f}" if t.cycles else "0")
                for phase, p in d["phases"].items()]
        widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
        for r in (head, *rows):
            lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        lines.append(f"step time {d['step_time_s'] * 1e3:.3f} ms, {d['samples_per_s']:.1f} samples/s")
        m = d["memory"]
        lines.append(f"memory: stashed activations {_bytes(m['stash_bytes'])} (peak at {errors.shown(m['stash_peak_layer'], 60)}), "
                     f"weights {_bytes(m['weight_bytes'])}, gradients {_bytes(m['gradient_bytes'])}, "
                     f"optimizer state {_bytes(m['optimizer_state_bytes'])}; total {_bytes(m['total_bytes'])}")
        for cap in d["capacities"]:
            fits = [what.replace("_", " ") for what in ("stash", "weights", "gradients", "optimizer_state")
                    if cap["fits"][what]]
            held = "everything fits" if cap["fits"]["total"] else (
                f"holds the {', '.join(fits)} alone" if fits else "holds none of them alone")
            lines.append(f"  {cap['memory']} ({cap['key']}) {_bytes(cap['bytes'])}: {held}")
        if d["fits_dram"] is None:
            lines.append("  DRAM: capacity not stated (set dram_gib in the config to check that the step fits)")
        elif not d["fits_dram"]:
            lines.append(f"does not fit: the step needs {_bytes(m['total_bytes'])}, DRAM holds "
                         f"{_bytes(self.config.dram_capacity_bytes)} ({_bytes(d['dram_shortfall_bytes'])} over; "
                         "try --recompute all, a smaller --batch or a larger dram_gib)")
        return lines

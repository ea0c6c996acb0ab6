"""The ``hwsim llm`` report: serving figures, where the weights and KV cache live, per phase and per layer.

:data:`LLM_SCHEMA` is the ``--json`` contract (JSON Schema draft 2020-12, strict: no field is
undocumented or optional); docs/cli.md prints it beside the estimate report's schema, and the
tests validate every report they make against it. Units: seconds, cycles, bytes, joules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from hwsim import plots
from hwsim.core import __version__
from hwsim.core.config import AcceleratorConfig
from hwsim.core.files import json_text, write_output
from hwsim.energy import EnergyBreakdown

from compiler.llm.phases import PHASES

__all__ = ["Cost", "Memory", "Position", "LlmReport", "LLM_SCHEMA", "COST_FIELDS", "OUTSIDE_LAYERS"]

#: The name of the pseudo-layer holding what runs outside the transformer layers.
OUTSIDE_LAYERS = "embeddings and head"


@dataclass(frozen=True)
class Cost:
    """What some layers of one or more steps cost; additive."""

    compute_cycles: int = 0
    stall_cycles: int = 0
    macs: int = 0
    energy: EnergyBreakdown = EnergyBreakdown()
    dram_read_bytes: int = 0
    dram_write_bytes: int = 0
    kv_read_bytes: int = 0
    kv_write_bytes: int = 0
    weight_read_bytes: int = 0

    @property
    def cycles(self) -> int:
        return self.compute_cycles + self.stall_cycles

    def __add__(self, other: Cost) -> Cost:
        # Summed per position and layer group: written out, not through fields(), for speed.
        return Cost(self.compute_cycles + other.compute_cycles, self.stall_cycles + other.stall_cycles,
                    self.macs + other.macs, self.energy + other.energy, self.dram_read_bytes + other.dram_read_bytes,
                    self.dram_write_bytes + other.dram_write_bytes, self.kv_read_bytes + other.kv_read_bytes,
                    self.kv_write_bytes + other.kv_write_bytes, self.weight_read_bytes + other.weight_read_bytes)

    def times(self, n: int) -> Cost:
        """``n`` times this cost (``n`` layers or steps alike)."""
        e = self.energy
        return Cost(self.compute_cycles * n, self.stall_cycles * n, self.macs * n,
                    EnergyBreakdown(*(getattr(e, name) * n for name in _ENERGY_FIELDS)), self.dram_read_bytes * n,
                    self.dram_write_bytes * n, self.kv_read_bytes * n, self.kv_write_bytes * n,
                    self.weight_read_bytes * n)

    def to_dict(self, clock_hz: float) -> dict[str, Any]:
        return {"seconds": self.cycles / clock_hz, "cycles": self.cycles, "compute_cycles": self.compute_cycles,
                "stall_cycles": self.stall_cycles, "macs": self.macs, "energy_j": self.energy.total,
                "dram_read_bytes": self.dram_read_bytes, "dram_write_bytes": self.dram_write_bytes,
                "kv_read_bytes": self.kv_read_bytes, "kv_write_bytes": self.kv_write_bytes,
                "weight_read_bytes": self.weight_read_bytes}


_ENERGY_FIELDS = tuple(f.name for f in fields(EnergyBreakdown))


#: Fields of a cost object in the JSON, in order.
COST_FIELDS = tuple(Cost().to_dict(1.0))


@dataclass(frozen=True)
class Position:
    """One decode step: ``past`` tokens in the KV cache before it appends its own."""

    past: int
    cost: Cost


@dataclass(frozen=True)
class Memory:
    """Sizes against capacities: the model's weights, its KV cache at the last position (all the
    batch's sequences, and one's), the buffers on chip, the DRAM (``None``: the config does not say)."""

    weight_bytes: float
    kv_cache_bytes: float
    kv_bytes_per_sequence: float
    on_chip_bytes: int
    dram_bytes: int | None

    @property
    def fits(self) -> bool | None:
        """Weights and KV cache fit the DRAM (``None`` when its capacity is not stated)."""
        return None if self.dram_bytes is None else self.weight_bytes + self.kv_cache_bytes <= self.dram_bytes

    @property
    def max_batch(self) -> int | None:
        """The most sequences whose KV caches fit the DRAM beside the weights (``None``: no capacity)."""
        if self.dram_bytes is None:
            return None
        room = self.dram_bytes - self.weight_bytes
        return max(0, math.floor(room / self.kv_bytes_per_sequence)) if self.kv_bytes_per_sequence else None

    def to_dict(self, batch: int) -> dict[str, Any]:
        on_chip = self.weight_bytes + self.kv_cache_bytes <= self.on_chip_bytes
        return {"weights": {"bytes": self.weight_bytes, "lives": "dram"},
                "kv_cache": {"bytes": self.kv_cache_bytes, "bytes_per_sequence": self.kv_bytes_per_sequence,
                             "lives": "dram"},
                "on_chip_bytes": self.on_chip_bytes, "fits_on_chip": on_chip, "dram_bytes": self.dram_bytes,
                "fits": self.fits, "max_batch": self.max_batch}


Breakdown = Mapping[tuple[int | None, str], Cost]


@dataclass(frozen=True)
class LlmReport:
    """A prefill of ``prompt`` tokens and ``generate`` decode steps for ``batch`` sequences on ``config``."""

    model: str
    source: str
    config: AcceleratorConfig
    prompt: int
    generate: int
    batch: int
    kv_bits: int
    parameters: int
    layers: int
    kv_heads: int
    head_dim: int
    window: int | None
    prefill: Breakdown
    decode: Breakdown
    positions: tuple[Position, ...]
    memory: Memory

    def _total(self, part: Breakdown) -> Cost:
        return sum(part.values(), Cost())

    @property
    def ttft_s(self) -> float:
        return self._total(self.prefill).cycles / self.config.clock_hz

    @property
    def decode_s(self) -> float:
        return sum(p.cost.cycles for p in self.positions) / self.config.clock_hz

    @property
    def tpot_s(self) -> float | None:
        return self.decode_s / len(self.positions) if self.positions else None

    @property
    def tpot_last_s(self) -> float | None:
        return self.positions[-1].cost.cycles / self.config.clock_hz if self.positions else None

    @property
    def tokens_per_s(self) -> float | None:
        """Generated tokens (all sequences) over the whole run, prefill included."""
        return self.batch * self.generate / (self.ttft_s + self.decode_s) if self.generate else None

    @property
    def energy_per_token_j(self) -> float:
        """All the energy over the tokens generated, or, without decode steps, over the prompt's."""
        energy = self._total(self.prefill).energy.total + self._total(self.decode).energy.total
        return energy / (self.batch * (self.generate or self.prompt))

    def _phases(self, part: Breakdown, clock: float, layer: object = ...) -> dict[str, Any]:
        out: dict[str, Cost] = {phase: Cost() for phase in PHASES}
        for (index, phase), cost in part.items():
            if layer is ... or index == layer:
                out[phase] = out[phase] + cost
        return {phase: cost.to_dict(clock) for phase, cost in out.items()}

    def _part(self, part: Breakdown, clock: float, layer: object = ...) -> dict[str, Any]:
        total = sum((c for (index, _), c in part.items() if layer is ... or index == layer), Cost())
        return {**total.to_dict(clock), "phases": self._phases(part, clock, layer)}

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object, as :data:`LLM_SCHEMA` describes it."""
        clock = self.config.clock_hz
        indices = sorted({i for part in (self.prefill, self.decode) for i, _ in part if i is not None})
        memory = self.memory.to_dict(self.batch)
        layers = [{"name": f"layer {i}", "index": i, "prefill": self._part(self.prefill, clock, i),
                   "decode": self._part(self.decode, clock, i)} for i in indices]
        layers.append({"name": OUTSIDE_LAYERS, "index": None, "prefill": self._part(self.prefill, clock, None),
                       "decode": self._part(self.decode, clock, None)})
        return {
            "model": self.model, "hwsim_version": __version__, "source": self.source, "config": self.config.to_dict(),
            "prompt": self.prompt, "generate": self.generate, "batch": self.batch, "kv_bits": self.kv_bits,
            "weight_bits": self.config.weight_bits,
            "shape": {"parameters": self.parameters, "layers": self.layers, "kv_heads": self.kv_heads,
                      "head_dim": self.head_dim, "window": self.window},
            "ttft_s": self.ttft_s, "tpot_s": self.tpot_s, "tpot_last_s": self.tpot_last_s,
            "tokens_per_s": self.tokens_per_s,
            "decode_tokens_per_s": self.batch / self.tpot_s if self.tpot_s else None,
            "energy_per_token_j": self.energy_per_token_j,
            "weight_bytes": self.memory.weight_bytes, "kv_cache_bytes": self.memory.kv_cache_bytes,
            "fits": memory["fits"], "memory": memory,
            "prefill": self._part(self.prefill, clock), "decode": {**self._part(self.decode, clock),
                                                                   "steps": len(self.positions)},
            "positions": [{"past": p.past, "context": p.past + 1, **p.cost.to_dict(clock)} for p in self.positions],
            "layers": layers,
        }

    def to_json(self) -> str:
        return json_text(self.to_dict(), what=f"the serving report of {self.model}")

    def plot(self, path: str | Path | None = None, fmt: str | None = None) -> bytes:
        """The ``--plot`` figure (time per token against the position, decode time per phase) as
        image bytes, written to ``path`` too when given; the format is ``fmt``, else ``path``'s extension."""
        fmt = fmt or (plots.image_format(path) if path is not None else "png")
        data = plots.serving_image(self.to_dict(), fmt)
        if path is not None:
            write_output(path, data)
        return data

    def to_table(self) -> str:
        """What ``hwsim llm`` prints: the serving figures, memory, and the phases of prefill and decode."""
        cfg, clock = self.config, self.config.clock_hz
        m = self.memory
        gib = 1 << 30
        cache = (f"{self.kv_heads} KV heads of {self.head_dim}{f', window {self.window}' if self.window else ''}"
                 if self.kv_heads else "an encoder, no KV cache")
        lines = [f"model {self.model} ({self.source}: {self.layers} layers, {cache}, "
                 f"{self.parameters / 1e6:,.1f} M parameters) on "
                 f"{cfg.name}: {cfg.rows}×{cfg.cols} {cfg.dataflow.upper()} at {cfg.clock_mhz:g} MHz, "
                 f"{cfg.dram_gbps:g} GB/s DRAM",
                 f"prompt {self.prompt} tokens, {self.generate} generated, batch {self.batch}, weights {cfg.weight_bits} "
                 f"bits, KV cache {self.kv_bits} bits", ""]
        lines.append(f"time to first token   {self.ttft_s * 1e3:12.3f} ms")
        if self.positions:
            lines.append(f"time per output token {self.tpot_s * 1e3:12.3f} ms mean, "   # type: ignore[operator]
                         f"{self.tpot_last_s * 1e3:.3f} ms at context {self.positions[-1].past + 1}")  # type: ignore[operator]
            lines.append(f"tokens/s              {self.tokens_per_s:12.1f} (all sequences, prefill included)")
        lines.append(f"energy per token      {self.energy_per_token_j * 1e3:12.3f} mJ")
        dram = "capacity not stated" if m.dram_bytes is None else \
            f"{m.dram_bytes / gib:.2f} GiB: {'fits' if m.fits else 'does NOT fit'}, up to {m.max_batch} sequences"
        lines += [f"weights {m.weight_bytes / gib:.3f} GiB + KV cache {m.kv_cache_bytes / gib:.3f} GiB in DRAM ({dram})",
                  ""]
        head = ("phase", "prefill ms", "MMACs", "decode ms/token", "MMACs/token", "DRAM MiB/token")
        rows = []
        steps = max(1, len(self.positions))
        pre, dec = self._phases(self.prefill, clock), self._phases(self.decode, clock)
        for phase in PHASES:
            p, d = pre[phase], dec[phase]
            if not (p["cycles"] or d["cycles"] or p["macs"] or d["macs"]):
                continue
            rows.append((phase, f"{p['seconds'] * 1e3:.3f}", f"{p['macs'] / 1e6:.1f}",
                         f"{d['seconds'] * 1e3 / steps:.4f}", f"{d['macs'] / 1e6 / steps:.2f}",
                         f"{(d['dram_read_bytes'] + d['dram_write_bytes']) / steps / (1 << 20):.2f}"))
        widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
        fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
        lines += [fmt(head), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]
        return "\n".join(lines) + "\n"


_COUNT = {"type": "integer", "minimum": 0}
_NUMBER = {"type": "number", "minimum": 0}
_COST_DESCRIPTIONS = {
    "seconds": "cycles / clock", "cycles": "compute_cycles + stall_cycles",
    "compute_cycles": "the array's tiles and the vector unit (docs/model.md)",
    "stall_cycles": "waiting for DRAM beyond what double buffering hides",
    "macs": "multiply-accumulates of the GEMMs", "energy_j": "every component of docs/model.md#energy",
    "dram_read_bytes": "all DRAM reads", "dram_write_bytes": "all DRAM writes",
    "kv_read_bytes": "the KV cache read by the attention GEMMs from DRAM",
    "kv_write_bytes": "the new tokens' keys and values appended to the cache",
    "weight_read_bytes": "the GEMMs' weights read from DRAM",
}
_COST = {"type": "object", "additionalProperties": False, "required": list(COST_FIELDS),
         "properties": {k: dict(_NUMBER if k in ("seconds", "energy_j") else _COUNT, description=_COST_DESCRIPTIONS[k])
                        for k in COST_FIELDS}}
_PHASE_DESCRIPTIONS = {
    "projections": "query, key, value and output projections", "attention_scores": "Q K^T against the KV cache",
    "attention_values": "softmax(scores) V", "mlp": "the MLP's GEMMs (dense or gated)",
    "head": "GEMMs outside the layers: the LM head, input/output projections, a pooler",
    "kv_write": "appending the new tokens to the KV cache", "vector": "norms, softmax, activations, rotary, masks",
    "movement": "transposes, gathers, slices, concatenations", "other": "other GEMMs of two activations",
}
_PART = {"type": "object", "additionalProperties": False, "required": [*COST_FIELDS, "phases"],
         "properties": {**_COST["properties"],  # type: ignore[dict-item]
                        "phases": {"type": "object", "additionalProperties": False, "required": list(PHASES),
                                   "properties": {p: {"$ref": "#/$defs/cost", "description": _PHASE_DESCRIPTIONS[p]}
                                                  for p in PHASES},
                                   "description": "the same figures per phase (docs/llm.md#phases)"}}}
_NULLABLE_NUMBER = {"type": ["number", "null"], "minimum": 0}

#: The ``hwsim llm --json`` report as a JSON Schema (draft 2020-12).
LLM_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "hwsim llm report",
    "$defs": {"cost": _COST, "part": _PART},
    "type": "object",
    "additionalProperties": False,
    "required": ["model", "hwsim_version", "source", "config", "prompt", "generate", "batch", "kv_bits", "weight_bits",
                 "shape", "ttft_s", "tpot_s", "tpot_last_s", "tokens_per_s", "decode_tokens_per_s",
                 "energy_per_token_j", "weight_bytes", "kv_cache_bytes", "fits", "memory", "prefill", "decode",
                 "positions", "layers"],
    "properties": {
        "model": {"type": "string"},
        "hwsim_version": {"type": "string"},
        "source": {"enum": ["config", "onnx"], "description": "a Hugging Face config.json (graph built by hwsim) "
                   "or an ONNX export"},
        "config": {"type": "object", "description": "the effective AcceleratorConfig, as in the estimate report"},
        "prompt": dict(_COUNT, description="prompt tokens per sequence (the prefill)"),
        "generate": dict(_COUNT, description="decode steps, one generated token per sequence each"),
        "batch": {"type": "integer", "minimum": 1, "description": "sequences served together"},
        "kv_bits": {"type": "integer", "minimum": 1, "description": "bits per KV-cache element (packed)"},
        "weight_bits": {"type": "integer", "minimum": 1, "description": "bits per weight (the config's)"},
        "shape": {"type": "object", "additionalProperties": False,
                  "required": ["parameters", "layers", "kv_heads", "head_dim", "window"],
                  "properties": {"parameters": _COUNT, "layers": _COUNT, "kv_heads": _COUNT, "head_dim": _COUNT,
                                 "window": {"type": ["integer", "null"], "minimum": 1,
                                            "description": "sliding-window attention span, or null"}}},
        "ttft_s": dict(_NUMBER, description="time to first token: the prefill"),
        "tpot_s": dict(_NULLABLE_NUMBER, description="time per output token, mean over the decode steps (null "
                       "without decode steps)"),
        "tpot_last_s": dict(_NULLABLE_NUMBER, description="the last decode step's time, at the longest context"),
        "tokens_per_s": dict(_NULLABLE_NUMBER, description="batch x generate / (ttft_s + all decode steps)"),
        "decode_tokens_per_s": dict(_NULLABLE_NUMBER, description="batch / tpot_s"),
        "energy_per_token_j": dict(_NUMBER, description="prefill and decode energy / (batch x generate), or / "
                                   "(batch x prompt) without decode steps"),
        "weight_bytes": dict(_NUMBER, description="the model's parameters x weight_bits / 8"),
        "kv_cache_bytes": dict(_NUMBER, description="layers x KV heads x head size x context x 2 x kv_bits / 8 x "
                               "batch, at the last context (prompt + generate; a window caps the context)"),
        "fits": {"type": ["boolean", "null"], "description": "weights and KV cache fit the config's dram_gib "
                 "(null: the config states no capacity)"},
        "memory": {
            "type": "object", "additionalProperties": False,
            "required": ["weights", "kv_cache", "on_chip_bytes", "fits_on_chip", "dram_bytes", "fits", "max_batch"],
            "properties": {
                "weights": {"type": "object", "additionalProperties": False, "required": ["bytes", "lives"],
                            "properties": {"bytes": _NUMBER, "lives": {"enum": ["dram"]}}},
                "kv_cache": {"type": "object", "additionalProperties": False,
                             "required": ["bytes", "bytes_per_sequence", "lives"],
                             "properties": {"bytes": _NUMBER, "bytes_per_sequence": _NUMBER,
                                            "lives": {"enum": ["dram"]}}},
                "on_chip_bytes": dict(_COUNT, description="activation and weight buffers"),
                "fits_on_chip": {"type": "boolean", "description": "weights and KV cache would fit the buffers"},
                "dram_bytes": dict(_NULLABLE_NUMBER, description="dram_gib in bytes, or null"),
                "fits": {"type": ["boolean", "null"]},
                "max_batch": {"type": ["integer", "null"], "minimum": 0, "description": "the most sequences whose "
                              "KV caches fit the DRAM beside the weights, or null"},
            },
        },
        "prefill": {"$ref": "#/$defs/part", "description": "the prompt's step: totals and phases"},
        "decode": {"type": "object", "additionalProperties": False, "required": [*COST_FIELDS, "phases", "steps"],
                   "properties": {**_PART["properties"], "steps": _COUNT},  # type: ignore[dict-item]
                   "description": "all decode steps together: totals and phases"},
        "positions": {"type": "array", "description": "every decode step in order",
                      "items": {"type": "object", "additionalProperties": False,
                                "required": ["past", "context", *COST_FIELDS],
                                "properties": {"past": dict(_COUNT, description="tokens cached before the step"),
                                               "context": {"type": "integer", "minimum": 1, "description":
                                                           "tokens the step attends to: past + 1"},
                                               **_COST["properties"]}}},  # type: ignore[dict-item]
        "layers": {"type": "array", "description": "every transformer layer, then what runs outside them",
                   "items": {"type": "object", "additionalProperties": False,
                             "required": ["name", "index", "prefill", "decode"],
                             "properties": {"name": {"type": "string"},
                                            "index": {"type": ["integer", "null"], "minimum": 0},
                                            "prefill": {"$ref": "#/$defs/part"},
                                            "decode": {"$ref": "#/$defs/part"}}}},
    },
}

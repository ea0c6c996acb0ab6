"""Serving a language model on one accelerator: a prefill, then decode steps as the context grows.

Contract: :func:`serve` simulates, on ``cfg``, the prefill of ``prompt`` tokens for ``batch``
sequences (one step of the model with an empty KV cache, scheduled by
:func:`compiler.schedule_model`) and ``generate`` decode steps, step ``j`` with ``prompt + j``
tokens cached (a sliding window caps them), each exactly the program
:func:`compiler.schedule_model` makes for the step's graph at that position
(:mod:`compiler.llm.decode`), every layer timed by :func:`hwsim.simulate.simulate_layer`: the same
tiler, the same tile timing and DRAM model as ``hwsim estimate``. Costs are summed per phase and
transformer layer (:func:`compiler.llm.phases.label`). Weights and the KV cache live in DRAM: every
step reads its weights and the cache from there (docs/llm.md#kv-cache).
"""

from __future__ import annotations

from typing import Sequence

from compiler.llm.decode import Positional, StepGroup, schedule_positions
from compiler.llm.model import LlmModel, Step
from compiler.llm.phases import Label, label
from compiler.schedule import Choices, schedule_model
from hwsim.core.config import AcceleratorConfig
from hwsim.core.program import LayerSchedule
from hwsim.core.workload import Kind
from hwsim.simulate import simulate_layer

from .report import Cost, LlmReport, Memory, Position

__all__ = ["serve", "pasts"]


def pasts(prompt: int, generate: int, window: int | None) -> list[int]:
    """Tokens in the KV cache before each decode step: ``prompt + j``, or the window's less one once
    the context outgrows a sliding window."""
    return [min(prompt + j, window - 1) if window is not None else prompt + j for j in range(generate)]


def _cost(s: LayerSchedule, cfg: AcceleratorConfig, lab: Label, kv: frozenset[str]) -> Cost:
    r = simulate_layer(s, cfg)
    w = s.workload
    gemm = w.kind is Kind.GEMM
    reads_kv = gemm and any(ref.name in kv for ref in w.operand("b"))
    return Cost(r.compute_cycles, r.stall_cycles, r.macs, r.energy, r.dram_read_bytes, r.dram_write_bytes,
                kv_read_bytes=s.traffic.dram_read_filter if reads_kv else 0,
                kv_write_bytes=r.dram_write_bytes if lab.phase == "kv_write" else 0,
                weight_read_bytes=s.traffic.dram_read_filter if gemm and w.b_is_weight else 0)


def _add(into: dict[tuple[int | None, str], Cost], lab: Label, cost: Cost) -> None:
    key = (lab.layer, lab.phase)
    into[key] = into.get(key, Cost()) + cost


def _breakdown(layers: Sequence[LayerSchedule], labels: Sequence[Label], cfg: AcceleratorConfig,
               kv: frozenset[str]) -> dict[tuple[int | None, str], Cost]:
    out: dict[tuple[int | None, str], Cost] = {}
    for s, lab in zip(layers, labels):
        _add(out, lab, _cost(s, cfg, lab, kv))
    return out


def serve(model: LlmModel, cfg: AcceleratorConfig, *, prompt: int, generate: int, batch: int,
          kv_bits: int, source: str) -> LlmReport:
    """The report of a prefill and ``generate`` decode steps (module docstring)."""
    choices: Choices = {}
    pre = model.lower(batch, prompt, 0, kv_bits)
    prefill = _breakdown(schedule_model(pre.lowered, cfg, choices=choices).layers, label(pre.lowered, pre.kv), cfg,
                         pre.kv)
    positions: list[Position] = []
    decode: dict[tuple[int | None, str], Cost] = {}
    if generate and model.decoder:
        steps = pasts(prompt, generate, model.window)
        first = model.lower(batch, 1, steps[0], kv_bits)
        positional = Positional.of(first.lowered, model.lower(batch, 1, steps[0] + 1, kv_bits).lowered, steps[0])
        if model.spec is None:  # an export: hold the affine form to a third position
            later = steps[0] + 3
            positional.check(model.lower(batch, 1, later, kv_bits).lowered, later)
        positions, decode = _decode(positional, first, cfg, steps, choices)
    context = prompt + (generate if model.decoder else 0)
    per_sequence = model.kv_elements(context, 1) * kv_bits / 8 if model.decoder else 0.0
    on_chip = int((cfg.ifmap_kib + cfg.filter_kib) * 1024)
    memory = Memory(weight_bytes=model.parameters * cfg.weight_bits / 8, kv_cache_bytes=per_sequence * batch,
                    kv_bytes_per_sequence=per_sequence, on_chip_bytes=on_chip,
                    dram_bytes=cfg.dram_capacity_bytes)
    return LlmReport(model=model.name, source=source, config=cfg, prompt=prompt,
                     generate=generate if model.decoder else 0, batch=batch, kv_bits=kv_bits,
                     parameters=model.parameters,
                     layers=model.layers or len({layer for layer, _ in prefill if layer is not None}),
                     kv_heads=model.kv_heads,
                     head_dim=model.head_dim, window=model.window, prefill=prefill, decode=decode,
                     positions=tuple(positions), memory=memory)


def _decode(positional: Positional, first: Step, cfg: AcceleratorConfig, steps: Sequence[int],
            choices: Choices) -> tuple[list[Position], dict[tuple[int | None, str], Cost]]:
    """Every decode step's cost, and all of them per (layer, phase)."""
    labels = label(first.lowered, first.kv)
    kv = first.kv
    schedules = {s.past: s for s in schedule_positions(positional, cfg, steps, choices)}
    statics: dict[int, tuple[Cost, dict[tuple[int | None, str], Cost]]] = {}
    spread: dict[tuple[int, ...], dict[Label, int]] = {}
    positions: list[Position] = []
    decode: dict[tuple[int | None, str], Cost] = {}
    plan_steps: dict[int, int] = {}
    memo: dict[tuple[int, tuple[int, ...]], Cost] = {}
    summed: dict[tuple[int, ...], Cost] = {}  # each group's cost over every position, spread once at the end
    for past in steps:
        step = schedules[past]
        if step.plan not in statics:
            part = _breakdown([step.static[i] for i in sorted(step.static)],
                              [labels[i] for i in sorted(step.static)], cfg, kv)
            statics[step.plan] = (sum(part.values(), Cost()), part)
        plan_steps[step.plan] = plan_steps.get(step.plan, 0) + 1
        total = statics[step.plan][0]
        for group in step.groups:
            cost = _group_cost(group, past, labels, cfg, kv, memo)
            summed[group.members] = summed.get(group.members, Cost()) + cost
            total = total + cost.times(len(group.members))
        positions.append(Position(past, total))
    for members, cost in summed.items():
        counts = spread.setdefault(members, _counts(members, labels))
        for lab, n in counts.items():
            _add(decode, lab, cost.times(n))
    for plan, n in plan_steps.items():
        for (layer, phase), cost in statics[plan][1].items():
            _add(decode, Label(phase, layer), cost.times(n))
    return positions, decode


def _counts(members: tuple[int, ...], labels: Sequence[Label]) -> dict[Label, int]:
    out: dict[Label, int] = {}
    for i in members:
        out[labels[i]] = out.get(labels[i], 0) + 1
    return out


def _group_cost(group: StepGroup, past: int, labels: Sequence[Label], cfg: AcceleratorConfig, kv: frozenset[str],
                memo: dict[tuple[int, tuple[int, ...]], Cost]) -> Cost:
    key = (past, group.members)
    if key not in memo:
        memo[key] = _cost(group.schedule, cfg, labels[group.members[0]], kv)
    return memo[key]

"""The program builder: a lowered model and an accelerator config in, the tile program out.

Contract: :func:`schedule_model` returns the :class:`~hwsim.core.program.Program` everything
downstream consumes. For every layer it decides where the layer's tensors live
(:mod:`compiler.residency`), then maps GEMM layers onto the array and the buffers
(:mod:`compiler.mapping`) with the staging space residency leaves, and prices everything else as a
stream through the vector unit. The steps of a fused epilogue that the config's store path cannot
apply run as a separate pass over the results. Mappings are searched once per distinct layer shape
and placement, so a network's cost grows with its distinct shapes, not with its tiles or cycles.
"""

from __future__ import annotations

from dataclasses import replace
from typing import AbstractSet

from hwsim.core.config import AcceleratorConfig
from hwsim.core.program import LayerSchedule, Program, TensorPlace, Traffic
from hwsim.core.workload import Kind, LoweredModel, Workload

from .mapping import Choice, Operands, map_gemm
from .pinning import PinnedMapping, check_nest, map_pinned
from .residency import LayerResidency, plan

__all__ = ["schedule", "schedule_model", "reserves", "layer_schedule", "Choices"]

#: Mapping searches already done, by layer shape and placement.
Choices = dict[tuple[object, ...], Choice]


def schedule_model(lowered: LoweredModel, cfg: AcceleratorConfig, *, dram_only: AbstractSet[str] = frozenset(),
                   choices: Choices | None = None, mapping: PinnedMapping | None = None) -> Program:
    """The tile program of a whole model on ``cfg``: residency decided, every layer mapped, in order.

    Tensors in ``dram_only`` never stay on chip (:func:`compiler.residency.plan`). ``choices`` caches
    mapping searches by layer shape and placement; pass one dict to share it between programs of
    the same config (an LLM's decode steps). ``mapping`` pins the DRAM loops of the layers it names
    (:mod:`compiler.pinning`); every other layer is searched."""
    choices = {} if choices is None else choices
    if mapping is not None:
        mapping.check_names([w.name for w in lowered.workloads])
        mapping.check_store_paths(cfg)
        for w in lowered.workloads:  # every error before any work: a bad entry fails the whole run
            nest = mapping.get(w.name)
            if nest is not None:
                check_nest(w, nest, mapping.source)
    pins = mapping or _SEARCHED
    reserve, reserve_on_chip = reserves(lowered, cfg, choices, pins)
    residency = plan(lowered, cfg, reserve, reserve_on_chip, dram_only)
    layers = tuple(layer_schedule(w, cfg, res, choices, pins) for w, res in zip(lowered.workloads, residency))
    return Program(name=lowered.name, config=cfg, layers=layers, skipped=lowered.skipped,
                   training=lowered.training)


#: No layer pinned: every layer searched.
_SEARCHED = PinnedMapping(())


def reserves(lowered: LoweredModel, cfg: AcceleratorConfig, choices: Choices,
             pins: PinnedMapping = _SEARCHED) -> tuple[list[int], list[int]]:
    """Per workload, the activation-buffer bytes its staging keeps free, its streamed operand in
    DRAM and on chip: what :func:`compiler.residency.plan` takes. Without residency nothing is kept
    beside a layer's staging, so there is nothing to reserve (and no search to run for it)."""
    if not cfg.residency:
        return [0] * len(lowered.workloads), [0] * len(lowered.workloads)
    capacity = cfg.activation_buffer_bytes
    return ([_staging(w, cfg, capacity, choices, pins, a_on_chip=False) for w in lowered.workloads],
            [_staging(w, cfg, capacity, choices, pins, a_on_chip=True) for w in lowered.workloads])


def layer_schedule(w: Workload, cfg: AcceleratorConfig, res: LayerResidency, choices: Choices,
                   pins: PinnedMapping = _SEARCHED) -> LayerSchedule:
    """One workload's schedule, its tensors where ``res`` (a residency plan's entry) puts them."""
    return _layer(w, cfg, res, cfg.activation_buffer_bytes, choices, pins)


def schedule(workload: Workload, cfg: AcceleratorConfig) -> LayerSchedule:
    """One workload on its own: its tensors in DRAM, the whole activation buffer for its staging."""
    return _layer(workload, cfg, _in_dram(workload, cfg), cfg.activation_buffer_bytes, {}, _SEARCHED)


def _in_dram(w: Workload, cfg: AcceleratorConfig) -> LayerResidency:
    """Every tensor of ``w`` in DRAM; a workload without named tensors reads ``input_elems`` and
    writes ``output_elems`` as one tensor each."""
    reads = [TensorPlace(r.name, cfg.tensor_bytes(r.elems, r.bits), False, True) for r in w.inputs]
    writes = [TensorPlace(r.name, cfg.tensor_bytes(r.elems, r.bits), False, True) for r in w.outputs]
    if not w.inputs and w.input_elems:
        reads.append(TensorPlace(f"{w.name}:input", cfg.tensor_bytes(w.input_elems), False, True))
    if not w.outputs and w.output_elems:
        writes.append(TensorPlace(f"{w.name}:output", cfg.tensor_bytes(w.output_elems), False, True))
    return LayerResidency(tuple(reads), tuple(writes))


def _map(w: Workload, cfg: AcceleratorConfig, ops: Operands, choices: Choices, pins: PinnedMapping) -> Choice:
    # Layers of one shape and placement map alike (ResNet-50's 53 convolutions have 20 shapes).
    nest = pins.get(w.name)
    path = pins.store_path(w.name)
    key = (w.gemm, w.b_is_weight, w.input_elems, w.weight_elems, w.output_elems, w.vector_ops,
           tuple((r.role, r.elems, r.bits) for r in w.inputs), ops, nest, w.window if nest else None,
           path, w.epilogue if path is not None else None)
    if key not in choices:
        lcfg = pins.layer_config(w.name, cfg)
        choices[key] = map_gemm(w, lcfg, ops) if nest is None else map_pinned(w, lcfg, ops, nest, pins.source)
    return choices[key]


def _staging(w: Workload, cfg: AcceleratorConfig, capacity: int, choices: Choices, pins: PinnedMapping, *,
             a_on_chip: bool) -> int:
    """Activation-buffer bytes a layer keeps for staging, its streamed operand A in DRAM or on chip:
    its best mapping's footprint with the whole buffer. Residency may use only the rest."""
    if w.kind is not Kind.GEMM or (a_on_chip and not w.operand("a")):
        return 0
    ops = replace(_operands(w, cfg, _in_dram(w, cfg), capacity), a_on_chip=a_on_chip)
    return _map(w, cfg, ops, choices, pins).footprint


def _operands(w: Workload, cfg: AcceleratorConfig, res: LayerResidency, capacity: int) -> Operands:
    on_chip = {p.name for p in res.reads if p.on_chip}
    extra = w.operand("extra")
    return Operands(
        a_on_chip=any(r.name in on_chip for r in w.operand("a")),
        b_on_chip=any(r.name in on_chip for r in w.operand("b")),
        out_dram=any(p.dram for p in res.writes) or not res.writes,
        out_chip=any(p.on_chip for p in res.writes),
        free_bytes=max(0, capacity - res.resident_bytes),
        extra_dram_bytes=sum(cfg.tensor_bytes(r.elems, r.bits) for r in extra if r.name not in on_chip),
        extra_chip_bytes=sum(cfg.tensor_bytes(r.elems, r.bits) for r in extra if r.name in on_chip),
        spill_bytes=sum(p.bytes for p in res.spills),
    )


def _layer(w: Workload, cfg: AcceleratorConfig, res: LayerResidency, capacity: int, choices: Choices,
           pins: PinnedMapping) -> LayerSchedule:
    ib = cfg.input_bytes
    if not (w.inputs or w.outputs):
        res = _in_dram(w, cfg)
    spilled = sum(p.bytes for p in res.spills)
    common = dict(workload=w, reads=res.reads, writes=res.writes, spills=res.spills, resident_bytes=res.resident_bytes)
    if w.kind is Kind.VIEW:
        return LayerSchedule(**common)
    if w.kind is not Kind.GEMM:
        read_dram = sum(p.bytes for p in res.reads if p.dram) + w.weight_elems * ib
        write_dram = sum(p.bytes for p in res.writes if p.dram)
        traffic = Traffic(dram_read_ifmap=read_dram, dram_write_ofmap=write_dram + spilled,
                          ifmap_writes=read_dram + sum(p.bytes for p in res.writes if p.on_chip),
                          ifmap_reads=sum(p.bytes for p in res.reads) + w.weight_elems * ib)
        return LayerSchedule(**common, traffic=traffic, compulsory_bytes=read_dram + write_dram)
    choice = _map(w, cfg, _operands(w, cfg, res, capacity), choices, pins)
    return LayerSchedule(
        **common,
        tile_m=choice.tiles.m,
        tile_k=choice.tiles.k,
        tile_n=choice.tiles.n,
        runs=choice.runs,
        traffic=choice.traffic,
        mapping=choice.mapping,
        compulsory_bytes=choice.compulsory,
        first_in=choice.first_in,
        last_out=choice.last_out,
        unfused_ops=choice.unfused_ops,
        unfused_dram_bytes=choice.unfused_dram_bytes,
        k_segment=choice.k_segment if w.gemm is not None and choice.k_segment < w.gemm.k else 0,
        loops=choice.loops,
        calls=choice.calls,
        reuse=choice.reuse,
        dma_requests=choice.dma_requests,
    )

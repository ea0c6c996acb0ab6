"""The cycle-approximate simulator: a tile program in, per-layer cycles, traffic and energy out.

Inside the array, each tile costs exactly :func:`hwsim.core.timing.tile_cycles` (the RTL-proven
model). Above the array the model is analytic (:mod:`hwsim.core.memory`, docs/model.md#stalls): DRAM
transfers run at the configured bandwidth and latency and, with double buffering, overlap the
compute of the previous tile; what does not hide is a stall. Where tensors live and how operands
move is the program's (the compiler decided it). Cost grows with the number of distinct tile
shapes, not with cycles or tile count.

>>> from compiler import compile_model
>>> from compiler.zoo import resnet18
>>> from hwsim.core.config import preset
>>> simulate(compile_model(resnet18(), preset("gemmini-like"))).totals.cycles
7404878
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from hwsim.core.config import AcceleratorConfig
from hwsim.core.memory import LayerTraffic, gemm_stall, stream_stall
from hwsim.core.program import LayerSchedule, Program
from hwsim.core.timing import run_cycles
from hwsim.core.workload import Kind

from .energy import layer_energy
from .report import LayerResult, Report

if TYPE_CHECKING:
    from .scalesim import ScaleSimTiming

__all__ = ["simulate", "simulate_layer", "CycleModel", "gemm_cycles"]

#: A GEMM layer's ``(compute, stall)`` cycles on a config.
CycleModel = Callable[[LayerSchedule, AcceleratorConfig], tuple[int, int]]


def gemm_cycles(s: LayerSchedule, cfg: AcceleratorConfig) -> tuple[int, int]:
    """(compute, stall) cycles of a tiled GEMM layer (docs/model.md#stalls): the array's tiles, the
    memory system around them (:func:`hwsim.core.memory.gemm_stall`, what the mapper ranked by)."""
    t = s.traffic
    row = s.workload.gemm.row if s.workload.gemm is not None else 0
    shapes = [(r.count, run_cycles(cfg, r.tile, row if r.row is None else r.row), r.tile.macs) for r in s.runs]
    moved = t.dram_read + t.dram_write - s.unfused_dram_bytes
    return gemm_stall(cfg, shapes, LayerTraffic(moved, s.first_in, s.last_out, s.runs[-1].tile.m, s.dma_requests),
                      s.workload.vector_ops - s.unfused_ops, s.unfused_ops, s.unfused_dram_bytes)


def _stream_cycles(s: LayerSchedule, cfg: AcceleratorConfig) -> tuple[int, int]:
    """(compute, stall) of vector and data-movement work: the vector unit races DRAM."""
    w = s.workload
    compute = cfg.vector_cycles(w.vector_ops) if w.kind is Kind.VECTOR else 0
    return compute, stream_stall(cfg, compute, s.traffic.dram_read + s.traffic.dram_write)


def simulate_layer(s: LayerSchedule, cfg: AcceleratorConfig, gemm_model: CycleModel = gemm_cycles) -> LayerResult:
    w = s.workload
    if w.kind is Kind.VIEW:
        compute, stall = 0, 0
    elif w.kind is Kind.GEMM:
        compute, stall = gemm_model(s, cfg)
    else:
        compute, stall = _stream_cycles(s, cfg)
    energy = layer_energy(cfg, w.macs, w.vector_ops, s.traffic, compute + stall)
    return LayerResult(
        name=w.name,
        op=w.op,
        kind=w.kind,
        macs=w.macs,
        compute_cycles=compute,
        stall_cycles=stall,
        dram_read_bytes=s.traffic.dram_read,
        dram_write_bytes=s.traffic.dram_write,
        energy=energy,
        gemm=w.gemm,
        tiles=s.tiles,
        compulsory_dram_bytes=s.compulsory_bytes,
        resident_bytes=s.resident_bytes,
        reads=s.reads,
        writes=s.writes,
        spills=s.spills,
        mapping=s.mapping,
        tile=(s.tile_m, s.tile_k, s.tile_n) if s.mapping is not None else None,
        phase=w.phase,
        loops=s.loops,
        calls=s.calls,
        reuse=s.reuse,
        dma_requests=s.dma_requests,
    )


def simulate(program: Program, *, scalesim: ScaleSimTiming | None = None) -> Report:
    """Simulate every layer of ``program`` on its config.

    With ``scalesim``, GEMM layers take their compute and stall cycles from SCALE-Sim 3.0's model
    (:class:`hwsim.scalesim.ScaleSimTiming`), and their DRAM traffic from the same model's demand.
    """
    if scalesim is not None:
        program = scalesim.with_traffic(program)  # DRAM bytes from the model that times the stalls
    cfg = program.config
    gemm_model = gemm_cycles if scalesim is None else scalesim.cycle_model()
    layers = tuple(simulate_layer(s, cfg, gemm_model) for s in program.layers)
    return Report(model=program.name, config=cfg, layers=layers, skipped=program.skipped,
                  timing="hwsim" if scalesim is None else "scalesim", training=program.training)

"""The cycle-approximate simulator: a tile program in, per-layer cycles, traffic and energy out.

Inside the array, each tile costs exactly :func:`hwsim.core.timing.tile_cycles` (the RTL-proven
model). Above the array the model is analytic (docs/model.md#memory): DRAM transfers run at the
configured bandwidth and, with double buffering, overlap the compute of the previous tile; what does
not hide is a stall. Cost grows with the number of distinct tile shapes, not with cycles or tile count.

>>> from compiler import compile_model
>>> from compiler.zoo import resnet18
>>> from hwsim.core.config import preset
>>> simulate(compile_model(resnet18(), preset("gemmini-like"))).totals.cycles
7690611
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from hwsim.core.config import AcceleratorConfig
from hwsim.core.program import LayerSchedule, Program, Tile
from hwsim.core.timing import tile_cycles
from hwsim.core.workload import Kind

from .energy import layer_energy
from .report import LayerResult, Report

if TYPE_CHECKING:
    from .scalesim import ScaleSimTiming

__all__ = ["simulate", "simulate_layer", "CycleModel", "gemm_cycles"]

#: A GEMM layer's ``(compute, stall)`` cycles on a config.
CycleModel = Callable[[LayerSchedule, AcceleratorConfig], tuple[int, int]]


def gemm_cycles(s: LayerSchedule, cfg: AcceleratorConfig) -> tuple[int, int]:
    """(compute, stall) cycles of a tiled GEMM layer (docs/model.md#memory)."""
    bw = cfg.dram_bytes_per_cycle
    t = s.traffic
    compute = sum(r.count * tile_cycles(cfg, r.tile) for r in s.runs)
    dram_bytes = t.dram_read + t.dram_write
    if not cfg.double_buffer:
        stall = math.ceil(dram_bytes / bw)
    else:
        # Each tile's share of the layer's DRAM bytes (by MACs) moves while the previous tile
        # computes; the first tile's operands and the last tile's results cannot overlap anything.
        total_macs = s.workload.macs
        stall_f = 0.0
        for r in s.runs:
            transfer = dram_bytes * r.tile.macs / total_macs / bw
            stall_f += r.count * max(0.0, transfer - tile_cycles(cfg, r.tile))
        first, last = s.runs[0].tile, s.runs[-1].tile
        stall_f += _tile_in_bytes(first, cfg) / bw + last.m * last.n * cfg.input_bytes / bw
        stall = math.ceil(stall_f)
    # The fused epilogue runs on the vector unit as results stream out; only its excess stalls.
    epilogue = math.ceil(s.workload.vector_ops / cfg.vector_lanes)
    return compute, stall + max(0, epilogue - compute)


def _tile_in_bytes(tile: Tile, cfg: AcceleratorConfig) -> int:
    return tile.m * tile.k * cfg.input_bytes + tile.k * tile.n * cfg.weight_bytes


def _stream_cycles(s: LayerSchedule, cfg: AcceleratorConfig) -> tuple[int, int]:
    """(compute, stall) of vector and data-movement work: the vector unit races DRAM."""
    w = s.workload
    compute = math.ceil(w.vector_ops / cfg.vector_lanes) if w.kind is Kind.VECTOR else 0
    transfer = math.ceil((s.traffic.dram_read + s.traffic.dram_write) / cfg.dram_bytes_per_cycle)
    stall = max(0, transfer - compute) if cfg.double_buffer else transfer
    return compute, stall


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
                  timing="hwsim" if scalesim is None else "scalesim")

"""Cycles the memory system adds to a layer: DRAM transfers, their latency and bursts, command issue.

The analytic model of docs/model.md#stalls, written once: the compiler's mapper ranks mappings with
it and the simulator reports with it, so the two can never disagree. Inside the array a tile costs
:func:`hwsim.core.timing.tile_cycles`; this module prices what happens around the tiles.

With double buffering, a tile's share of the layer's DRAM bytes moves while the previous tile
computes, so a tile stalls only for what its transfer takes beyond its compute; the first tile's
operands and the last tile's results overlap nothing, and the first request waits one DRAM latency.
Without double buffering nothing overlaps.

>>> from hwsim.core.config import AcceleratorConfig
>>> cfg = AcceleratorConfig(dram_gbps=16.0, clock_mhz=1000.0, dram_latency_ns=50.0)
>>> transfer_cycles(cfg, 1600)   # 50 cycles of latency + 1600 B at 16 B/cycle
150.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from .config import AcceleratorConfig

__all__ = ["burst_bytes", "transfer_cycles", "row_requests", "LayerTraffic", "overlap_stall", "stream_stall",
           "gemm_stall"]


def burst_bytes(cfg: AcceleratorConfig, nbytes: float) -> float:
    """The bytes DRAM moves for a transfer of ``nbytes``: whole bursts of ``dram_burst_bytes``."""
    if nbytes <= 0:
        return 0.0
    return math.ceil(nbytes / cfg.dram_burst_bytes - 1e-9) * cfg.dram_burst_bytes


def transfer_cycles(cfg: AcceleratorConfig, nbytes: float) -> float:
    """Cycles one DMA transfer of ``nbytes`` takes on its own: the request latency, then whole bursts
    at the DRAM bandwidth."""
    if nbytes <= 0:
        return 0.0
    return cfg.dram_latency_cycles + burst_bytes(cfg, nbytes) / cfg.dram_bytes_per_cycle


def row_requests(cfg: AcceleratorConfig, nbytes: float, rows: Iterable[int], width: int) -> float:
    """DMA requests that move ``nbytes`` of an operand whose tiles cut its rows into pieces of
    ``rows`` elements (each piece as often as the others), ``width`` bytes each: a piece is
    ``ceil(size * width / dma_request_bytes)`` requests (docs/model.md#dma-requests); 0 when the config
    sets no limit.

    >>> cfg = AcceleratorConfig(dma_request_bytes=64)
    >>> row_requests(cfg, 300, [3], 1)     # 100 pixels of 3 channels: a request each
    100.0
    >>> row_requests(cfg, 1600, [96, 64], 1)   # rows of 160 cut 96 + 64: 2 + 1 requests per 160 B
    30.0
    """
    limit = cfg.dma_request_bytes
    pieces = list(rows)
    if not limit or nbytes <= 0 or not pieces:
        return 0.0
    per_row = sum(math.ceil(size * width / limit - 1e-9) for size in pieces)
    return nbytes / (width * sum(pieces)) * per_row


@dataclass(frozen=True)
class LayerTraffic:
    """What the stall model needs of a layer: its DRAM bytes, the bytes its first tile must load
    before it can start, and the bytes its last tile stores, which leave as its ``last_rows`` result
    rows stream out of the accumulator. ``requests``: the DMA requests that move the bytes, one a
    cycle (0: not counted, the bandwidth alone sets the rate)."""

    dram_bytes: int
    first_in: int
    last_out: int
    last_rows: int = 0
    requests: int = 0


def overlap_stall(cfg: AcceleratorConfig, tiles: Iterable[tuple[int, int, int]], traffic: LayerTraffic) -> int:
    """Stall cycles of a tiled layer: ``tiles`` are ``(count, compute cycles, MACs)`` per tile shape.

    The first tile's operands stall in full, and so does the part of the last tile's results that
    DRAM cannot take while they stream out (one row a cycle), and the first request's latency.
    When the DMA's requests, one a cycle, take longer than the bytes at the DRAM bandwidth, the
    layer's bytes move at the requests' rate instead. Every other byte is shared among the tiles by
    MACs and fetched while the previous tile computes; what does not hide is a stall. Without double
    buffering every byte stalls. Every tile command costs ``command_cycles`` of issue on top.
    """
    runs = list(tiles)
    total_macs = sum(count * macs for count, _, macs in runs)
    count = sum(c for c, _, _ in runs)
    bw = cfg.dram_bytes_per_cycle
    issue = cfg.command_cycles * count
    if traffic.dram_bytes <= 0:
        return issue
    moved = burst_bytes(cfg, traffic.dram_bytes)
    if traffic.requests > moved / bw:
        # The DMA issues one request a cycle: short rows move fewer bytes a cycle than DRAM could.
        bw = moved / traffic.requests
    if not cfg.double_buffer:
        return math.ceil(moved / bw + cfg.dram_latency_cycles * count - 1e-9) + issue
    first, last = burst_bytes(cfg, traffic.first_in), burst_bytes(cfg, traffic.last_out)
    # The first tile's operands and the last tile's results are priced on their own below; the
    # rest moves under the tiles' compute, shared by MACs.
    hidden = max(0.0, moved - first - last)
    stall = 0.0
    for n, cycles, macs in runs:
        share = hidden * macs / total_macs / bw if total_macs else hidden / count / bw
        stall += n * max(0.0, share - cycles)
    stall += first / bw
    stall += max(0.0, last / bw - traffic.last_rows)
    if traffic.first_in or traffic.last_out:
        stall += cfg.dram_latency_cycles
    # One DRAM serves loads and stores: the layer never takes less than its bytes' time.
    array = sum(n * cycles for n, cycles, _ in runs)
    stall = max(stall, moved / bw + cfg.dram_latency_cycles - array)
    return math.ceil(stall - 1e-9) + issue


def stream_stall(cfg: AcceleratorConfig, compute: int, dram_bytes: int) -> int:
    """Stall cycles of a vector or data-movement layer whose ``compute`` cycles race its DRAM traffic."""
    if dram_bytes <= 0:
        return 0
    transfer = math.ceil(transfer_cycles(cfg, dram_bytes) - 1e-9)
    return max(0, transfer - compute) if cfg.double_buffer else transfer


def gemm_stall(cfg: AcceleratorConfig, tiles: Iterable[tuple[int, int, int]], traffic: LayerTraffic,
               epilogue_ops: int, unfused_ops: int, round_trip: int) -> tuple[int, int]:
    """``(compute, stall)`` cycles of a GEMM layer: ``tiles`` as for :func:`overlap_stall`.

    The store path's ``epilogue_ops`` run on the vector unit as results stream out, hidden behind
    the array unless longer. Fused operators the store path cannot apply (``unfused_ops``) run as a
    separate pass over the results afterwards: their vector cycles are compute, and the pass's DRAM
    ``round_trip`` (writing the intermediate out and reading it back, when it cannot stay on chip, and
    reading the second tensor of a residual step it adds) races them like any vector layer's traffic.
    ``traffic`` excludes these bytes.
    """
    runs = list(tiles)
    array = sum(count * cycles for count, cycles, _ in runs)
    stall = overlap_stall(cfg, runs, traffic)
    epilogue = cfg.vector_cycles(epilogue_ops)
    stall += max(0, epilogue - array)
    extra = cfg.vector_cycles(unfused_ops)
    return array + extra, stall + stream_stall(cfg, extra, round_trip)

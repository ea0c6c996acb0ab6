"""The tile program: the one stage between the compiler and everything downstream of it.

``compiler.compile_model`` (or ``compiler.schedule_model`` on lowered workloads) produces one
:class:`Program` for one :class:`~hwsim.core.config.AcceleratorConfig`; the simulator, the numeric
executor, the RTL co-simulation and the sweep all consume it, and none of them tiles anything itself.

A :class:`Tile` is one start-to-done run of the tile controller: ``m`` rows of A streamed against a
``k x n`` block of B. The simulator needs only how many tiles of each shape there are
(:attr:`LayerSchedule.runs`); the executor and the RTL test benches need each tile's place in the
matrices (:meth:`LayerSchedule.placements`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from .config import AcceleratorConfig
from .workload import Skipped, Workload

__all__ = ["Tile", "TileRun", "Placement", "Traffic", "LayerSchedule", "Program"]


@dataclass(frozen=True)
class Tile:
    """One run of the tile controller over an ``m x k`` block of A and a ``k x n`` block of B.

    ``accumulate``: add onto the partial sums already in the accumulator (K split across tiles)
    instead of starting from zero. ``emit``: stream the finished results out at the end (the last
    K tile); otherwise they stay in the accumulator for the next K tile.
    """

    m: int
    k: int
    n: int
    accumulate: bool = False
    emit: bool = True

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n


@dataclass(frozen=True)
class TileRun:
    """``count`` consecutive tiles of one shape (the unit of simulation cost)."""

    tile: Tile
    count: int


@dataclass(frozen=True)
class Placement:
    """Where a tile sits: rows ``m0:m0+tile.m`` of A, ``k0:k0+tile.k`` of K, columns ``n0:n0+tile.n``."""

    group: int
    m0: int
    k0: int
    n0: int
    tile: Tile


@dataclass(frozen=True)
class Traffic:
    """Bytes moved for one layer: DRAM to buffers, buffers to the array, and back."""

    dram_read_ifmap: int = 0
    dram_read_filter: int = 0
    dram_write_ofmap: int = 0
    ifmap_reads: int = 0
    ifmap_writes: int = 0
    filter_reads: int = 0
    filter_writes: int = 0
    ofmap_reads: int = 0
    ofmap_writes: int = 0
    #: Bytes that move between neighbouring PE registers inside the array.
    array_reg_bytes: int = 0

    @property
    def dram_read(self) -> int:
        return self.dram_read_ifmap + self.dram_read_filter

    @property
    def dram_write(self) -> int:
        return self.dram_write_ofmap


@dataclass(frozen=True)
class LayerSchedule:
    """One workload cut into tiles, with the loop order that :meth:`placements` follows.

    For GEMM workloads the loops are, outermost first: group, n tile, m tile, k tile, each stepping
    by ``tile_m``/``tile_k``/``tile_n``; the last step of a loop may be shorter.
    """

    workload: Workload
    tile_m: int = 0
    tile_k: int = 0
    tile_n: int = 0
    runs: tuple[TileRun, ...] = ()
    traffic: Traffic = Traffic()

    @property
    def tiles(self) -> int:
        """How many tiles the layer issues."""
        return sum(run.count for run in self.runs)

    def placements(self) -> Iterator[Placement]:
        """Every tile in issue order with its position (GEMM workloads only)."""
        g = self.workload.gemm
        if g is None:
            return
        for group in range(g.groups):
            for n0 in range(0, g.n, self.tile_n):
                n = min(self.tile_n, g.n - n0)
                for m0 in range(0, g.m, self.tile_m):
                    m = min(self.tile_m, g.m - m0)
                    for k0 in range(0, g.k, self.tile_k):
                        k = min(self.tile_k, g.k - k0)
                        tile = Tile(m=m, k=k, n=n, accumulate=k0 > 0, emit=k0 + k == g.k)
                        yield Placement(group=group, m0=m0, k0=k0, n0=n0, tile=tile)


@dataclass(frozen=True)
class Program:
    """Every layer of a model scheduled for ``config``, in execution order.

    ``skipped`` holds one :class:`~hwsim.core.workload.Skipped` per node that ``--allow-unsupported`` left out.
    """

    name: str
    config: AcceleratorConfig
    layers: tuple[LayerSchedule, ...]
    skipped: tuple[Skipped, ...] = ()

    @property
    def macs(self) -> int:
        return sum(layer.workload.macs for layer in self.layers)

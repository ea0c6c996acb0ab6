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
from .training import TrainingStep
from .workload import Skipped, Workload

__all__ = ["Tile", "TileRun", "Placement", "Traffic", "GemmMapping", "TensorPlace", "LayerSchedule", "Program"]


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
    """``count`` consecutive tiles of one shape (the unit of simulation cost). ``row``: the output
    width their commands stop at when it is not their layer's (a pinned call's, whose last tile of a
    dimension may be narrower than the others); None: the layer's."""

    tile: Tile
    count: int
    row: int | None = None


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
class GemmMapping:
    """How a GEMM layer's operands move between DRAM and the buffers (docs/model.md#mapping).

    The layer is cut into blocks of ``block_m`` rows of A and ``block_n`` columns of B, each block
    into array tiles. ``order`` names the outer block loop: ``"n"`` keeps a block of B in the weight
    buffer while A streams past it (A is fetched once per B block unless all of it stays in the
    activation buffer); ``"m"`` keeps a block of A while B streams past it. ``a_bytes`` and
    ``b_bytes`` are the buffer bytes given to one part of each operand's blocks (the split of a
    shared scratchpad).
    """

    order: str
    block_m: int
    block_n: int
    a_bytes: int
    b_bytes: int


@dataclass(frozen=True)
class TensorPlace:
    """Where a tensor a layer reads or writes lives: ``on_chip`` in the activation buffer, ``dram``
    in DRAM (an output may be both: kept for a later layer and written out as a model output)."""

    name: str
    bytes: int
    on_chip: bool
    dram: bool


@dataclass(frozen=True)
class LayerSchedule:
    """One workload cut into tiles, with where its tensors live and how its operands move.

    For GEMM workloads the loops are, outermost first: group, the block loops in ``mapping.order``,
    then within a block n tile, m tile, k tile, each stepping by ``tile_m``/``tile_k``/``tile_n``;
    the last step of a loop may be shorter. The k loop steps within each ``k_segment`` of K in turn
    (one kernel tap's channels on a per-tap array, docs/model.md#per-tap-convolution; 0: all of K). ``reads``/``writes`` say where each activation tensor
    lives; ``spills`` are resident tensors this layer evicts to DRAM to make room. ``resident_bytes``
    is what resident tensors hold of the activation buffer while the layer runs; ``compulsory_bytes``
    the DRAM bytes if every operand byte that is not on chip moved exactly once. ``first_in`` and
    ``last_out`` are the DRAM bytes the first tile waits for and the last tile's results store.
    ``unfused_ops`` counts the vector operations of fused operators the store path cannot apply,
    which run as a separate pass over the results, and ``unfused_dram_bytes`` that pass's DRAM bytes
    (part of ``traffic``): its round trip and the residual operands it reads.
    """

    workload: Workload
    tile_m: int = 0
    tile_k: int = 0
    tile_n: int = 0
    runs: tuple[TileRun, ...] = ()
    traffic: Traffic = Traffic()
    mapping: GemmMapping | None = None
    reads: tuple[TensorPlace, ...] = ()
    writes: tuple[TensorPlace, ...] = ()
    spills: tuple[TensorPlace, ...] = ()
    resident_bytes: int = 0
    compulsory_bytes: int = 0
    first_in: int = 0
    last_out: int = 0
    unfused_ops: int = 0
    unfused_dram_bytes: int = 0
    k_segment: int = 0
    #: A pinned mapping (docs/model.md#pinned-mappings): its DRAM loops, outermost first, and its
    #: calls, one per iteration, each tiled as ``tile_m``/``tile_k``/``tile_n`` and ``mapping`` say
    #: (``runs`` counts every call's tiles, each run with the output width its commands stop at).
    #: ``""`` and 1 for a searched mapping.
    loops: str = ""
    calls: int = 1
    #: What stays on chip between calls ("none" or "order", docs/model.md#pinned-mappings); "" when searched.
    reuse: str = ""
    #: The DMA requests that move the layer's DRAM bytes, one a cycle (docs/model.md#dma-requests); 0: not counted.
    dma_requests: int = 0

    @property
    def tiles(self) -> int:
        """How many tiles the layer issues."""
        return sum(run.count for run in self.runs)

    def placements(self) -> Iterator[Placement]:
        """Every tile in issue order with its position (GEMM workloads only; not for a pinned layer,
        whose calls cut the layer's loops in ways one tile order over the GEMM cannot list)."""
        g = self.workload.gemm
        if g is None:
            return
        if self.loops:
            raise ValueError(f"layer {self.workload.name!r} has a pinned mapping ({self.loops}): its tiles are "
                             "counted per call, not placed")
        mapping = self.mapping or GemmMapping("n", g.m, g.n, 0, 0)
        m_blocks = [(m0, min(mapping.block_m, g.m - m0)) for m0 in range(0, g.m, mapping.block_m)]
        n_blocks = [(n0, min(mapping.block_n, g.n - n0)) for n0 in range(0, g.n, mapping.block_n)]
        pairs = ([(mb, nb) for nb in n_blocks for mb in m_blocks] if mapping.order == "n"
                 else [(mb, nb) for mb in m_blocks for nb in n_blocks])
        segment = self.k_segment or g.k
        k_starts = [(k0, min(self.tile_k, s0 + segment - k0))
                    for s0 in range(0, g.k, segment) for k0 in range(s0, s0 + segment, self.tile_k)]
        for group in range(g.groups):
            for (bm0, bm), (bn0, bn) in pairs:
                for n0 in range(bn0, bn0 + bn, self.tile_n):
                    n = min(self.tile_n, bn0 + bn - n0)
                    for m0 in range(bm0, bm0 + bm, self.tile_m):
                        m = min(self.tile_m, bm0 + bm - m0)
                        for k0, k in k_starts:
                            tile = Tile(m=m, k=k, n=n, accumulate=k0 > 0, emit=k0 + k == g.k)
                            yield Placement(group=group, m0=m0, k0=k0, n0=n0, tile=tile)


@dataclass(frozen=True)
class Program:
    """Every layer of a model scheduled for ``config``, in execution order.

    ``skipped`` holds one :class:`~hwsim.core.workload.Skipped` per node that ``--allow-unsupported`` left out;
    ``training`` is the training step's memory (:class:`~hwsim.core.training.TrainingStep`), ``None``
    for inference.
    """

    name: str
    config: AcceleratorConfig
    layers: tuple[LayerSchedule, ...]
    skipped: tuple[Skipped, ...] = ()
    training: TrainingStep | None = None

    @property
    def macs(self) -> int:
        return sum(layer.workload.macs for layer in self.layers)

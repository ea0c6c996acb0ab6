"""The mapping search: for one GEMM layer, the array tiles, the buffer blocks and the loop order that
cost the fewest cycles on the config, given where the layer's tensors live (docs/model.md#mapping).

Contract: :func:`map_gemm` returns the cheapest :class:`Choice` by the config's
``mapping_objective``: ``"cycles"`` orders candidates by ``(cycles, DRAM bytes, buffer footprint,
fewer K cuts)``, ``"dram"`` by ``(DRAM bytes, cycles, ...)``. Cycles are the array's
(:func:`hwsim.core.timing.run_cycles`: the RTL-proven tile plus its command issue) plus the memory system's
(:func:`hwsim.core.memory.gemm_stall`), the same functions the simulator reports with. With more
buffer the candidates are a superset, so more memory never makes the chosen objective grow: the
cycles under ``"cycles"``, the traffic under ``"dram"`` (which may buy its bytes with cycles, e.g.
short m tiles that keep all of B on chip). Every candidate fits the buffers: one part (half, when double buffered) of the
activation buffer for A's blocks, of the weight buffer for B's (of one shared scratchpad for both,
split per candidate), and the accumulator for a tile's results. The search tries a few dozen
candidates per distinct layer shape, whatever the number of tiles.

Candidates, per array tiling from :func:`compiler.tiling.candidate_sizes`:

- K whole in a tile, order ``n``: a block of B columns as wide as the weight buffer allows stays
  while A streams past it; A comes from DRAM once per B block, or once if it all fits its part.
- K whole, order ``m``: a block of A rows stays while B streams past it; B comes once per A block,
  or once if it all fits.
- K split across tiles: blocks are single tiles (partial sums stay in the accumulator while K
  completes); B comes once per m tile, or once if all of it fits its part; A once per n tile, or
  once if all of A (order ``n``) or one row block of A (order ``m``) fits its part.

An operand already on chip (a resident activation) costs no DRAM bytes and no staging space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

from hwsim.core.config import AcceleratorConfig
from hwsim.core.memory import LayerTraffic, gemm_stall, row_requests
from hwsim.core.program import GemmMapping, TileRun, Traffic
from hwsim.core.timing import run_cycles
from hwsim.core.workload import GemmShape, Workload

from .tiling import TileSizes, candidate_sizes, k_segment, k_tiles, runs

__all__ = ["Operands", "Choice", "LayerBytes", "layer_bytes", "layer_traffic", "map_gemm", "operand_requests", "unfused"]

@dataclass(frozen=True)
class Operands:
    """Where a GEMM layer's tensors live, as the program builder decided.

    ``a_on_chip``: A is in the activation buffer already (no DRAM reads, no staging); likewise
    ``b_on_chip`` for a B that is an activation. ``out_dram``: the results go to DRAM;
    ``out_chip``: they stay on chip (both for a model output that a later layer reads).
    ``free_bytes``: the activation buffer (the whole scratchpad when shared) not held by resident
    tensors, for staging. ``extra_dram_bytes``: epilogue operands (a residual) read from DRAM;
    ``extra_chip_bytes`` the ones read from the activation buffer. ``spill_bytes``: resident
    tensors the layer writes to DRAM to make room.
    """

    a_on_chip: bool = False
    b_on_chip: bool = False
    out_dram: bool = True
    out_chip: bool = False
    free_bytes: int = 0
    extra_dram_bytes: int = 0
    extra_chip_bytes: int = 0
    spill_bytes: int = 0


@dataclass(frozen=True)
class Choice:
    """One mapping and what it costs, cycles split as the simulator reports them; ``compulsory`` is
    the DRAM traffic if every operand byte that is not on chip moved exactly once."""

    tiles: TileSizes
    runs: tuple[TileRun, ...]
    mapping: GemmMapping
    traffic: Traffic
    first_in: int
    last_out: int
    compute: int
    stall: int
    footprint: int
    compulsory: int
    unfused_ops: int
    unfused_dram_bytes: int
    #: The stretch of K that the K tiles step within (:func:`compiler.tiling.k_segment`).
    k_segment: int
    #: DRAM bytes of A and of B (the operands' fetches, without bias and epilogue operands).
    a_dram: int = 0
    b_dram: int = 0
    #: Calls of a pinned mapping (:mod:`compiler.pinning`): one per iteration of its DRAM loops, whose
    #: text (outermost first) is ``loops``, with its ``reuse`` between calls; 1 and ``""`` for a searched mapping.
    calls: int = 1
    loops: str = ""
    reuse: str = ""
    #: DMA requests that move the DRAM bytes, one a cycle (docs/model.md#dma-requests); 0: not counted.
    dma_requests: int = 0

    @property
    def cycles(self) -> int:
        return self.compute + self.stall


def _first_unfused(w: Workload, cfg: AcceleratorConfig) -> int | None:
    """Index of the first epilogue step ``cfg``'s store path cannot apply (None: it applies them all)."""
    return next((i for i, step in enumerate(w.epilogue) if step.family not in cfg.store_path), None)


def unfused(w: Workload, cfg: AcceleratorConfig) -> tuple[int, int]:
    """(vector ops, elements of the intermediate result) of the epilogue steps from the first one
    ``cfg``'s store path cannot apply: they run as a separate pass over the results."""
    first = _first_unfused(w, cfg)
    if first is None or w.gemm is None:
        return 0, 0
    later = w.epilogue[first:]
    # A pooling step still to come means the intermediate is the product's full-size result.
    inter = w.gemm.groups * w.gemm.m * w.gemm.n if any(s.family == "pool" for s in later) else w.output_elems
    return sum(s.vector_ops for s in later), inter


def pass_operand_bytes(w: Workload, cfg: AcceleratorConfig, extra_bytes: int) -> int:
    """Of the epilogue operands' ``extra_bytes`` (a residual's second tensor: the only step family that
    reads a tensor, docs/model.md#the-separate-pass), the share the separate pass reads: the operands
    of residual steps from the first unfused one on, which the pass needs as it runs, not while the
    array computes. Operands follow their steps' order, one per residual step."""
    first = _first_unfused(w, cfg)
    residual = [i for i, step in enumerate(w.epilogue) if step.family == "residual"]
    if first is None or not residual or extra_bytes <= 0:
        return 0
    return extra_bytes * sum(i >= first for i in residual) // len(residual)


def _b_bytes(w: Workload, cfg: AcceleratorConfig) -> Callable[[int], int]:
    """Bytes of ``n`` elements of ``w``'s B operand, packed (:meth:`AcceleratorConfig.tensor_bytes`):
    at ``weight_bits``, or, for an activation B kept in a width of its own (a KV cache), that width.
    Sub-byte weights travel and wait in the buffers packed, as 4-bit LLM weights do."""
    bits = cfg.weight_bits if w.b_is_weight else next((r.bits for r in w.operand("b") if r.bits is not None),
                                                       cfg.weight_bits)
    return lambda n: cfg.tensor_bytes(n, bits)


def _a_unique(w: Workload, g: GemmShape, b_elems: int) -> int:
    """Elements of A that come from memory: the input a convolution's windows touch (im2col expands
    it on chip), or, for a workload without named tensors, its input count less an activation B."""
    if w.operand("a"):
        return w.operand("a")[0].elems
    if w.input_elems:
        return w.input_elems if w.b_is_weight else max(0, w.input_elems - b_elems)
    return g.groups * g.m * g.k


@dataclass(frozen=True)
class LayerBytes:
    """A GEMM layer's DRAM bytes that do not depend on its tiling (docs/model.md#mapping): the
    operand totals, the fixed bytes (bias, epilogue operands, the output, spills, the unfused pass's
    round trip), and the compulsory traffic."""

    a_total: int
    b_total: int
    a_staged: bool
    b_staged: bool
    fifo: bool
    bias_bytes: int
    out_bytes: int
    unfused_ops: int
    inter: int
    round_trip: int
    pass_bytes: int
    fixed: int
    compulsory: int


def layer_bytes(w: Workload, cfg: AcceleratorConfig, ops: Operands) -> LayerBytes:
    """What :func:`map_gemm` charges ``w`` whatever its tiles, with its tensors where ``ops`` says."""
    g = w.gemm
    assert g is not None
    ib, ab = cfg.input_bytes, cfg.acc_bytes
    b_elems = g.groups * g.k * g.n
    a_total = _a_unique(w, g, b_elems) * ib
    fifo = cfg.weight_fifo and w.b_is_weight and cfg.dataflow == "ws"
    # A weight FIFO moves whole array tiles, padded (TPUv1's 600 x 600 LSTM weights are 9 tiles).
    b_bytes = _b_bytes(w, cfg)
    b_total = b_bytes(g.groups * cfg.reduction_folds(g) * cfg.rows * -(-g.n // cfg.cols) * cfg.cols) if fifo \
        else b_bytes(b_elems)
    a_staged = not ops.a_on_chip
    b_staged = w.b_is_weight or not ops.b_on_chip
    bias_bytes = max(0, w.weight_elems - b_elems) * ab if w.b_is_weight else 0
    out_bytes = w.output_elems * ib if ops.out_dram else 0
    unfused_ops, inter = unfused(w, cfg)
    # Without room on chip, the pass over the results writes the intermediate out and reads it back,
    # and it reads its own steps' operands (a residual) from DRAM as it goes.
    round_trip = 2 * inter * ib if unfused_ops and not ops.out_chip else 0
    pass_bytes = round_trip + pass_operand_bytes(w, cfg, ops.extra_dram_bytes)
    fixed = bias_bytes + ops.extra_dram_bytes + out_bytes + ops.spill_bytes + round_trip
    compulsory = ((a_total if a_staged else 0) + (b_total if b_staged else 0) + bias_bytes
                  + ops.extra_dram_bytes + out_bytes)
    return LayerBytes(a_total, b_total, a_staged, b_staged, fifo, bias_bytes, out_bytes, unfused_ops, inter,
                      round_trip, pass_bytes, fixed, compulsory)


def map_gemm(w: Workload, cfg: AcceleratorConfig, ops: Operands) -> Choice:
    """The cheapest mapping of GEMM workload ``w`` on ``cfg`` with its tensors where ``ops`` says."""
    g = w.gemm
    assert g is not None
    ib = cfg.input_bytes
    parts = cfg.buffer_parts
    pool = ops.free_bytes // parts  # one part of the free activation buffer (or shared scratchpad)
    weight_part = pool if cfg.shared_buffer else cfg.filter_part_bytes
    lb = layer_bytes(w, cfg, ops)
    a_total, b_total, a_staged, b_staged, fifo = lb.a_total, lb.b_total, lb.a_staged, lb.b_staged, lb.fifo
    bias_bytes, out_bytes, unfused_ops, inter = lb.bias_bytes, lb.out_bytes, lb.unfused_ops, lb.inter
    round_trip, pass_bytes, fixed, compulsory = lb.round_trip, lb.pass_bytes, lb.fixed, lb.compulsory
    b_bytes = _b_bytes(w, cfg)
    by_cycles = cfg.mapping_objective == "cycles"
    segment = k_segment(g, cfg)
    pass_cycles = cfg.vector_cycles(unfused_ops)  # the separate pass's compute (memory.gemm_stall)
    best: tuple[tuple[int, int, int, int], tuple] | None = None
    for t in candidate_sizes(g, cfg):
        a_tile, b_tile = t.m * t.k * ib, b_bytes(t.k * t.n)
        if fifo:
            b_tile = b_bytes(min(t.k, cfg.rows) * t.n)  # only the first fold's weights wait in the FIFO
        staged = (a_tile if a_staged else 0) + (b_tile if b_staged else 0)
        if cfg.shared_buffer:
            if staged > pool:
                continue
        elif (a_staged and a_tile > pool) or (b_staged and not fifo and b_tile > weight_part):
            continue
        tile_runs = runs(g, t, segment)
        shapes = [(r.count, run_cycles(cfg, r.tile, g.row), r.tile.macs) for r in tile_runs]
        # Stalls are never negative, so a tiling whose compute alone exceeds the best cycles found
        # cannot win, whatever its plan: skip pricing its plans' traffic.
        if by_cycles and best is not None and sum(n * c for n, c, _ in shapes) + pass_cycles > best[0][0]:
            continue
        t_m, t_n = -(-g.m // t.m), -(-g.n // t.n)
        first_in = (a_tile if a_staged else 0) + (b_tile if b_staged else 0)
        last = tile_runs[-1].tile
        last_out = last.m * last.n * ib if ops.out_dram else 0
        plans = _fifo_blocks(g, t, ops, pool, a_total, t_m, t_n, ib, cfg.rows) if fifo else \
            _blocks(g, t, cfg, ops, pool, weight_part, a_total, b_total, t_m, t_n, b_bytes)
        for mapping, a_reads, b_reads, a_used, b_used in plans:
            a_dram = a_total * a_reads if a_staged else 0
            b_dram = b_total * b_reads if b_staged else 0
            moved = a_dram + b_dram + fixed
            requests = _requests(w, cfg, t, mapping, a_dram, b_dram, out_bytes) if cfg.dma_request_bytes else 0
            compute, stall = gemm_stall(cfg, shapes, LayerTraffic(moved - pass_bytes, first_in, last_out, last.m,
                                                                  requests),
                                        w.vector_ops - unfused_ops, unfused_ops, pass_bytes)
            # A held whole is loaded once and needs no second part to fill while the first is used.
            a_parts = 1 if a_used == a_total else parts
            footprint = ((a_used * a_parts if a_staged else 0)
                         + ((b_used if b_staged else 0) * parts if cfg.shared_buffer else 0))
            cycles = compute + stall
            key = ((cycles, moved) if by_cycles else (moved, cycles)) + (footprint, -t.k)
            if best is None or key < best[0]:
                best = (key, (t, tile_runs, mapping, a_dram, b_dram, t_m, t_n, first_in, last_out, compute, stall,
                              footprint, requests))
    if best is None:
        raise AssertionError(f"no mapping of {w.name} fits {cfg.name}; the config's validation should prevent it")
    # Only the winner's traffic is itemized: the search ranks by cycles and bytes alone.
    t, tile_runs, mapping, a_dram, b_dram, t_m, t_n, first_in, last_out, compute, stall, footprint, requests = best[1]
    traffic = _traffic(w, g, t, cfg, ops, a_dram, b_dram, bias_bytes, out_bytes, t_m, t_n,
                       inter * ib if unfused_ops else 0, round_trip, segment, b_bytes)
    return Choice(t, tile_runs, mapping, traffic, first_in, last_out, compute, stall, footprint, compulsory,
                  unfused_ops, pass_bytes, segment, a_dram, b_dram, dma_requests=requests)


def _pieces(size: int, tile: int) -> list[int]:
    """A row of ``size`` elements cut by tiles of ``tile``: its full pieces, then what remains."""
    full, rest = divmod(size, tile) if tile < size else (1, 0)
    return [min(tile, size)] * full + ([rest] if rest else [])


def _requests(w: Workload, cfg: AcceleratorConfig, t: TileSizes, mapping: GemmMapping, a_dram: int, b_dram: int,
              out_bytes: int) -> int:
    """DMA requests of a searched mapping: a row of A in DRAM is a pixel's input channels (a
    convolution's) or a row of A, cut by the k tile; a row of B, and of the results, holds the
    output channels of one block."""
    g = w.gemm
    assert g is not None
    a_row = w.window.c if w.window is not None else g.k
    return operand_requests(w, cfg, _pieces(a_row, t.k), _pieces(g.n, mapping.block_n), a_dram, b_dram, out_bytes)


def operand_requests(w: Workload, cfg: AcceleratorConfig, a_rows: list[int], n_rows: list[int], a_dram: int,
                     b_dram: int, out_bytes: int) -> int:
    """DMA requests of a GEMM layer's operand traffic (docs/model.md#dma-requests), its rows cut into
    ``a_rows`` pieces along A's (input channels) and ``n_rows`` along B's and the results' (output
    channels); 0 when the config sets no limit."""
    ib = cfg.input_bytes
    requests = (row_requests(cfg, a_dram, a_rows, ib)
                + row_requests(cfg, b_dram, n_rows, cfg.weight_bytes if w.b_is_weight else ib)
                + row_requests(cfg, out_bytes, n_rows, ib))
    return math.ceil(requests - 1e-9)


def _largest(step: int, total: int, limit_bytes: int, bytes_per_unit: int) -> int:
    """The largest multiple of ``step`` (or ``total``) whose ``bytes_per_unit`` per unit fit ``limit_bytes``;
    at least ``step``."""
    if total * bytes_per_unit <= limit_bytes:
        return total
    return max(step, limit_bytes // bytes_per_unit // step * step)


def _widths(step: int, total: int) -> list[int]:
    """Block widths to try: ``step`` doubled until ``total``, and ``total``."""
    out, w = [], step
    while w < total:
        out.append(w)
        w *= 2
    out.append(total)
    return out


_Block = tuple[GemmMapping, int, int, int, int]


def _blocks(g: GemmShape, t: TileSizes, cfg: AcceleratorConfig, ops: Operands, pool: int, weight_part: int,
            a_total: int, b_total: int, t_m: int, t_n: int, b_bytes: Callable[[int], int]) -> Iterator[_Block]:
    """``(mapping, A fetches, B fetches, A part bytes used, B part bytes used)`` per candidate block plan."""
    ib = cfg.input_bytes
    a_tile, b_tile = t.m * t.k * ib, b_bytes(t.k * t.n)
    if t.k < g.k:  # K split: blocks are tiles; partial sums wait in the accumulator
        a_part = pool - b_tile if cfg.shared_buffer else pool
        # A held whole is loaded once, so in a buffer of its own it needs no second part.
        whole_room = a_part if cfg.shared_buffer else ops.free_bytes
        whole_a = ops.a_on_chip or a_total <= whole_room
        yield (GemmMapping("n", g.m if whole_a else t.m, t.n, a_part, b_tile),
               1 if whole_a else t_n, t_m, a_total if whole_a else a_tile, b_tile)
        row_block = t.m * g.k * ib  # one m tile's rows of A, all of K
        rows_fit = row_block <= a_part
        yield (GemmMapping("m", t.m, t.n, a_part, b_tile),
               1 if rows_fit else t_n, t_m, row_block if rows_fit else a_tile, b_tile)
        # All of B kept (beside all of A, or A streaming once per n tile): B comes once.
        b_room = pool if cfg.shared_buffer else weight_part
        if t_m > 1 and b_total <= b_room:
            a_part = pool - b_total if cfg.shared_buffer else pool
            if ops.a_on_chip or a_tile <= a_part:
                whole_a = ops.a_on_chip or a_total <= (a_part if cfg.shared_buffer else ops.free_bytes)
                yield (GemmMapping("n", g.m if whole_a else t.m, g.n, a_part, b_total),
                       1 if whole_a else t_n, 1, a_total if whole_a else a_tile, b_total)
        return
    col = b_bytes(g.k)  # bytes of one column of B, all of K
    row = g.k * ib  # bytes of one row of A, all of K
    if not cfg.shared_buffer:
        bn = _largest(t.n, g.n, weight_part, col)
        whole_a = ops.a_on_chip or a_total <= ops.free_bytes
        yield (GemmMapping("n", g.m if whole_a else t.m, bn, pool, weight_part),
               1 if whole_a else -(-g.n // bn), 1, a_total if whole_a else a_tile, bn * col)
        bm = g.m if ops.a_on_chip else _largest(t.m, g.m, pool, row)
        whole_b = b_total <= weight_part
        yield (GemmMapping("m", bm, g.n if whole_b else t.n, pool, weight_part),
               1, 1 if whole_b else -(-g.m // bm), bm * row, b_total if whole_b else b_tile)
        return
    for bn in _widths(t.n, g.n):  # order n: B blocks of bn columns, the rest of the pool for A
        b_used = min(bn * col, b_total)
        a_part = pool - b_used
        if b_used > pool or (a_part < a_tile and not ops.a_on_chip):
            continue
        whole_a = ops.a_on_chip or a_total <= a_part
        yield (GemmMapping("n", g.m if whole_a else t.m, bn, a_part, b_used),
               1 if whole_a else -(-g.n // bn), 1, a_total if whole_a else a_tile, b_used)
    for bm in ([g.m] if ops.a_on_chip else _widths(t.m, g.m)):  # order m: A blocks of bm rows, the rest for B
        a_used = 0 if ops.a_on_chip else bm * row
        b_part = pool - a_used
        if b_part < b_tile:
            continue
        whole_b = b_total <= b_part
        yield (GemmMapping("m", bm, g.n if whole_b else t.n, a_used, b_part),
               1, 1 if whole_b else -(-g.m // bm), a_used, b_total if whole_b else b_tile)


def _fifo_blocks(g: GemmShape, t: TileSizes, ops: Operands, pool: int, a_total: int, t_m: int, t_n: int,
                 ib: int, rows: int) -> Iterator[_Block]:
    """Through a weight FIFO, B streams once per m tile whatever the order, unless all of B is one
    array tile, which the array keeps from one m tile to the next; A comes once if it all fits its
    part (or is on chip), else once per n tile."""
    whole_a = ops.a_on_chip or a_total <= ops.free_bytes
    one_tile = g.k <= rows and t_n == 1
    yield (GemmMapping("n", g.m if whole_a else t.m, t.n, pool, 0),
           1 if whole_a else t_n, 1 if one_tile else t_m, a_total if whole_a else t.m * t.k * ib, 0)


def _traffic(w: Workload, g: GemmShape, t: TileSizes, cfg: AcceleratorConfig, ops: Operands, a_dram: int, b_dram: int,
             bias_bytes: int, out_bytes: int, t_m: int, t_n: int, separate_pass: int, round_trip: int,
             segment: int, b_bytes: Callable[[int], int]) -> Traffic:
    """Bytes moved between DRAM, the buffers and the array (docs/model.md#traffic)."""
    ib, ab = cfg.input_bytes, cfg.acc_bytes
    a_streamed = g.groups * g.m * g.k  # im2col-expanded A, as the array consumes it
    b_elems = g.groups * g.k * g.n
    outputs = g.groups * g.m * g.n
    # The accumulator: every fold writes its partial sums; every fold after the first reads them back,
    # and an emitting tile reads them once more to stream them out. Folds of R rows (os streams K),
    # counted tile by tile, so a per-tap array's partly filled folds count as whole ones.
    folds = 1 if cfg.dataflow == "os" else sum(cfg.folds(k) * c for k, c in k_tiles(g.k, t.k, segment))
    # A is streamed into the array once per n tile, B once per m tile; every MAC passes an operand
    # and a partial sum to a neighbour, and weights shift in once per load.
    array = {"ifmap_reads": a_streamed * ib * t_n, "filter_reads": b_bytes(b_elems) * t_m,
             "ofmap_writes": outputs * folds * ab, "ofmap_reads": outputs * folds * ab,
             "array_reg_bytes": g.macs * (ib + ab) + b_bytes(b_elems) * t_m}
    return layer_traffic(w, cfg, ops, array, a_dram, b_dram, bias_bytes, out_bytes, separate_pass, round_trip)


def layer_traffic(w: Workload, cfg: AcceleratorConfig, ops: Operands, array: dict[str, int], a_dram: int, b_dram: int,
                  bias_bytes: int, out_bytes: int, separate_pass: int, round_trip: int, partial: int = 0) -> Traffic:
    """A layer's :class:`Traffic` from what its tiles move on chip (``array``: the buffers' reads
    into the array, the accumulator's traffic, the array's registers) and what it moves from and
    to DRAM. ``partial``: partial sums that go out to DRAM and come back (half each way)."""
    resident_out = w.output_elems * cfg.input_bytes if ops.out_chip else 0
    return Traffic(
        dram_read_ifmap=a_dram + ops.extra_dram_bytes + round_trip // 2 + partial // 2,
        dram_read_filter=b_dram + bias_bytes,
        dram_write_ofmap=out_bytes + ops.spill_bytes + round_trip // 2 + partial // 2,
        # The activation buffer: DRAM fills, results kept on chip, the unfused pass's intermediate;
        # epilogue operands read as results leave.
        ifmap_writes=a_dram + ops.extra_dram_bytes + resident_out + separate_pass,
        ifmap_reads=array["ifmap_reads"] + ops.extra_chip_bytes + ops.extra_dram_bytes + separate_pass,
        filter_writes=b_dram + bias_bytes,
        filter_reads=array["filter_reads"],
        ofmap_writes=array["ofmap_writes"],
        ofmap_reads=array["ofmap_reads"],
        array_reg_bytes=array["array_reg_bytes"],
    )

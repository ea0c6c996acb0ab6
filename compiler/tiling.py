"""Cut each GEMM workload into tiles that fit the array and its buffers (docs/model.md#tiling).

Contract: :func:`schedule` returns a :class:`~hwsim.core.program.LayerSchedule` whose tiles cover the
GEMM exactly once, whose every tile fits one half of each buffer when double buffering is on (all of
it otherwise), and whose :attr:`~hwsim.core.program.LayerSchedule.runs` count the same tiles that
:meth:`~hwsim.core.program.LayerSchedule.placements` enumerates; :func:`schedule_model` makes the
:class:`~hwsim.core.program.Program` that everything downstream consumes. Work grows with the number of
distinct tile shapes (at most a dozen per layer), never with the number of tiles.

Tile bounds per dataflow (``R`` rows, ``C`` columns, ``D`` accumulator depth):

======  =================  =======================  =============================================
        m (rows of A)      k (reduction)            n (columns of B)
======  =================  =======================  =============================================
``ws``  <= D               multiple of R (folds)    <= C   (weights stationary, A streams)
``os``  <= R               all of K, streamed       <= C   (outputs stationary, A and B stream)
``is``  <= C               multiple of R (folds)    <= D   (inputs stationary, B streams)
======  =================  =======================  =============================================
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.core.config import AcceleratorConfig
from hwsim.core.program import LayerSchedule, Program, Tile, TileRun, Traffic
from hwsim.core.timing import tile_cycles
from hwsim.core.workload import GemmShape, Kind, LoweredModel, Workload

__all__ = ["schedule", "schedule_model", "TileSizes", "tile_sizes", "candidate_sizes"]


@dataclass(frozen=True)
class TileSizes:
    m: int
    k: int
    n: int


def _round_down(value: int, step: int) -> int:
    return value // step * step


def candidate_sizes(g: GemmShape, cfg: AcceleratorConfig) -> list[TileSizes]:
    """Tilings that fit ``cfg``'s buffers, from the deepest K tile to the longest stream.

    The held dimension takes the whole array. Each candidate halves K (in whole folds of ``rows``)
    and lengthens the stream as far as the accumulator and the streamed operand's buffer half allow:
    deep K tiles keep the held operand resident, long streams amortize the array's fill and drain.
    """
    ifmap_cap, filter_cap = cfg.ifmap_part_elems, cfg.filter_part_elems
    r, c, depth = cfg.rows, cfg.cols, cfg.acc_depth
    if cfg.dataflow == "os":
        tm, tn = min(g.m, r), min(g.n, c)
        # A (tm x tk) and B (tk x tn) stream from their buffers; K is cut only if they overflow.
        return [TileSizes(tm, min(g.k, max(1, ifmap_cap // tm), max(1, filter_cap // tn)), tn)]
    if cfg.dataflow == "ws":
        stationary, streamed = filter_cap, ifmap_cap  # B is held, A streams
        t_fixed, t_stream_max = min(g.n, c), min(g.m, depth)
    else:  # "is": A is held, B streams; the mirror image of ws
        stationary, streamed = ifmap_cap, filter_cap
        t_fixed, t_stream_max = min(g.m, c), min(g.n, depth)
    out: list[TileSizes] = []
    k_tile = max(r, _round_down(stationary // t_fixed, r))
    while True:
        tk = min(g.k, k_tile)
        t_stream = min(t_stream_max, max(1, streamed // tk))
        sizes = TileSizes(t_stream, tk, t_fixed) if cfg.dataflow == "ws" else TileSizes(t_fixed, tk, t_stream)
        if sizes not in out:
            out.append(sizes)
        if k_tile <= r or t_stream == t_stream_max:
            return out
        k_tile = max(r, _round_down(k_tile // 2, r))


def _cost(w: Workload, g: GemmShape, t: TileSizes, cfg: AcceleratorConfig) -> tuple[float, int, int]:
    """Roofline cost of a tiling: the slower of the array and DRAM; then DRAM bytes; then fewer K cuts."""
    compute = sum(run.count * tile_cycles(cfg, run.tile) for run in _runs(g, t))
    traffic = _gemm_traffic(w, g, t, cfg)
    moved = traffic.dram_read + traffic.dram_write
    return max(compute, moved / cfg.dram_bytes_per_cycle), moved, -t.k


def tile_sizes(g: GemmShape, cfg: AcceleratorConfig, workload: Workload | None = None) -> TileSizes:
    """The candidate tiling (:func:`candidate_sizes`) with the lowest roofline cost on ``cfg``."""
    w = workload or Workload("gemm", "MatMul", Kind.GEMM, gemm=g)
    return min(candidate_sizes(g, cfg), key=lambda t: _cost(w, g, t, cfg))


def _steps(total: int, step: int) -> list[tuple[int, int]]:
    """(size, count) of the steps that cover ``total``: full steps, then a shorter last one."""
    full, rest = divmod(total, step)
    out = [(step, full)] if full else []
    if rest:
        out.append((rest, 1))
    return out


def _k_steps(total: int, step: int) -> list[tuple[int, bool, bool, int]]:
    """(k, accumulate, emit, count) for the K tiles of one output block, in issue order."""
    steps = _steps(total, step)
    if sum(count for _, count in steps) == 1:
        return [(total, False, True, 1)]
    full_count = steps[0][1]
    last = steps[-1][0]
    middle = full_count - 1 - (1 if len(steps) == 1 else 0)
    out = [(step, False, False, 1)]
    if middle:
        out.append((step, True, False, middle))
    out.append((last, True, True, 1))
    return out


def _runs(g: GemmShape, t: TileSizes) -> tuple[TileRun, ...]:
    runs: list[TileRun] = []
    for n, n_count in _steps(g.n, t.n):
        for m, m_count in _steps(g.m, t.m):
            for k, accumulate, emit, k_count in _k_steps(g.k, t.k):
                tile = Tile(m=m, k=k, n=n, accumulate=accumulate, emit=emit)
                runs.append(TileRun(tile, g.groups * n_count * m_count * k_count))
    return tuple(runs)


def _gemm_traffic(w: Workload, g: GemmShape, t: TileSizes, cfg: AcceleratorConfig) -> Traffic:
    """Bytes moved by the loop nest group > n tile > m tile > k tile (docs/model.md#traffic)."""
    ib, wb, ab = cfg.input_bytes, cfg.weight_bytes, cfg.acc_bytes
    m_tiles, n_tiles, k_tiles = -(-g.m // t.m), -(-g.n // t.n), -(-g.k // t.k)
    a_streamed = g.groups * g.m * g.k  # im2col-expanded A, as the array consumes it
    b_elems = g.groups * g.k * g.n
    # The A operand's DRAM footprint: the unique input (im2col expands on chip). A MatMul whose B is
    # an activation reads both from the input footprint, so split it by operand size.
    if w.b_is_weight:
        a_unique = w.input_elems or a_streamed
    else:
        a_unique = max(0, (w.input_elems or a_streamed + b_elems) - b_elems)
    # A stays resident across n tiles only if all of one group's A fits a tile's part of the buffer.
    a_fits = g.m * g.k * ib <= cfg.ifmap_part_bytes
    a_dram = a_unique * ib * (1 if a_fits or n_tiles == 1 else n_tiles)
    # One n tile's column block of B stays resident across m tiles only if K was not split.
    b_fits = k_tiles == 1
    b_dram = b_elems * wb * (1 if b_fits or m_tiles == 1 else m_tiles)
    bias = (w.weight_elems - b_elems) if w.b_is_weight else 0
    b_dram += max(0, bias) * ab  # a bias is stored at accumulator width
    out_elems = w.output_elems or g.groups * g.m * g.n
    # The accumulator: every fold writes its partial sums; every fold after the first reads them back,
    # and an emitting tile reads them once more to stream them out. Folds of R rows (os streams K).
    k_folds_total = 1 if cfg.dataflow == "os" else sum(cfg.folds(k) * c for k, c in _steps(g.k, t.k))
    outputs = g.groups * g.m * g.n
    acc_writes = outputs * k_folds_total * ab
    acc_reads = outputs * k_folds_total * ab  # (folds - 1) read-backs + one read to emit
    return Traffic(
        dram_read_ifmap=a_dram,
        dram_read_filter=b_dram,
        dram_write_ofmap=out_elems * ib,
        ifmap_writes=a_dram,
        ifmap_reads=a_streamed * ib * n_tiles,
        filter_writes=b_dram,
        filter_reads=b_elems * wb * m_tiles,
        ofmap_writes=acc_writes,
        ofmap_reads=acc_reads,
        # Every MAC passes an operand and a partial sum to a neighbour; weights shift in once per load.
        array_reg_bytes=g.macs * (ib + ab) + b_elems * wb * m_tiles,
    )


def _stream_traffic(w: Workload, cfg: AcceleratorConfig) -> Traffic:
    """Vector-unit and data-movement work streams its operands through the input buffer."""
    ib = cfg.input_bytes
    read = (w.input_elems + w.weight_elems) * ib
    write = w.output_elems * ib
    return Traffic(dram_read_ifmap=read, dram_write_ofmap=write, ifmap_writes=read, ifmap_reads=read)


def schedule(workload: Workload, cfg: AcceleratorConfig) -> LayerSchedule:
    """Tile one workload for ``cfg`` (see the module docstring for the contract)."""
    g = workload.gemm
    if workload.kind is Kind.VIEW:
        return LayerSchedule(workload=workload)
    if g is None:
        return LayerSchedule(workload=workload, traffic=_stream_traffic(workload, cfg))
    t = tile_sizes(g, cfg, workload)
    return LayerSchedule(
        workload=workload,
        tile_m=t.m,
        tile_k=t.k,
        tile_n=t.n,
        runs=_runs(g, t),
        traffic=_gemm_traffic(workload, g, t, cfg),
    )


def schedule_model(lowered: LoweredModel, cfg: AcceleratorConfig) -> Program:
    """The tile program of a whole model on ``cfg``: every workload tiled, in order."""
    return Program(name=lowered.name, config=cfg, layers=tuple(schedule(w, cfg) for w in lowered.workloads),
                   skipped=lowered.skipped)

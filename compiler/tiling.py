"""Cut a GEMM into array tiles: the tile shapes that fit the array, its accumulator and a given
amount of buffer, and the tiles of each shape (docs/model.md#tiling).

Contract: every candidate of :func:`candidate_sizes` fits the array (held dimension at most the
array's) and the accumulator (a stream at most ``acc_depth`` rows); :func:`runs` lists tiles that cover the GEMM exactly once, counted by shape, in the
same multiset that :meth:`~hwsim.core.program.LayerSchedule.placements` enumerates. Which candidate
a layer uses, with which blocks and loop order, is :mod:`compiler.mapping`'s choice. Work grows with
the number of distinct tile shapes (at most a dozen per layer), never with the number of tiles.

On a ``per_tap`` array a convolution's K is ``taps`` segments of ``channels`` (one kernel tap's
input channels each, :meth:`~hwsim.core.config.AcceleratorConfig.reduction_segment`), and an array
fold never mixes two taps. When ``channels`` is a whole number of folds, tap boundaries are fold
boundaries and the tiling is im2col's. When it is not, every K tile lies inside one tap: each tap's
partly filled last fold is a tile of its own, so the padding shows up as extra tiles (a 7x7
convolution of 3 channels on 16 rows has 49 tiles per output block, where im2col's K of 147 has 10
folds), each costing :func:`~hwsim.core.timing.tile_cycles` unchanged.

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
from hwsim.core.program import Tile, TileRun
from hwsim.core.workload import GemmShape

__all__ = ["TileSizes", "candidate_sizes", "runs", "steps", "k_segment", "k_tiles"]


@dataclass(frozen=True)
class TileSizes:
    m: int
    k: int
    n: int


def _k_ladder(k: int, fold: int) -> list[int]:
    """Tile depths to try: all of K, and whole folds doubling from one fold while below K."""
    out = [k]
    d = fold
    while d < k:
        out.append(d)
        d *= 2
    return out


def _halvings(n: int) -> list[int]:
    """``n``, then halvings (rounded up) down to 1."""
    out = [n]
    while out[-1] > 1:
        out.append(-(-out[-1] // 2))
    return out


def _stream_ladder(streamed: int, depth: int) -> list[int]:
    """Stream lengths to try, longest first: the longest the accumulator allows and its halvings,
    and the powers of two that fit. The powers do not depend on the accumulator, so from a
    power-of-two depth a deeper accumulator keeps every candidate: it never loses a tiling."""
    longest = min(streamed, depth)
    powers = (1 << i for i in range(longest.bit_length()))
    return sorted({*_halvings(longest), *powers}, reverse=True)


def candidate_sizes(g: GemmShape, cfg: AcceleratorConfig) -> list[TileSizes]:
    """Every tiling the mapper tries for ``g`` on ``cfg``'s array and accumulator: the held
    dimension takes the whole array, K is all of it or a doubling number of whole folds (on ws at
    most ``cfg.k_max``, the tile controller's limit), and the stream is one of
    :func:`_stream_ladder`'s lengths. The mapper keeps those whose tiles fit the buffer space it
    has; because the list depends on the buffers only through ``k_max``, which grows with the
    weight buffer, more buffer only ever adds candidates (so it never makes the chosen mapping worse).
    """
    r, c, depth = cfg.rows, cfg.cols, cfg.acc_depth
    if cfg.dataflow == "os":
        # A (tm x tk) and B (tk x tn) stream through the array; K is cut only if they overflow.
        tm, tn = min(g.m, r), min(g.n, c)
        return [TileSizes(tm, k, tn) for k in _k_ladder(g.k, 1)]
    ws = cfg.dataflow == "ws"  # ws holds B (N on columns) and streams A; "is" is its mirror image
    held, streamed = (g.n, g.m) if ws else (g.m, g.n)
    fixed = min(held, c)
    # A weight-stationary tile's K is bounded by the weight buffer's part (``k_max``, the tile
    # controller's command limit) even where a shared scratchpad would have room for a longer one.
    depths = [k for k in _k_ladder(k_segment(g, cfg), r) if not ws or k <= cfg.k_max]
    return [TileSizes(s, k, fixed) if ws else TileSizes(fixed, k, s)
            for k in depths for s in _stream_ladder(streamed, depth)]


def k_segment(g: GemmShape, cfg: AcceleratorConfig) -> int:
    """The stretch of K that K tiles step within: one tap's channels when a per-tap array's folds
    cannot cover whole taps (the channels are not a whole number of folds), else all of K."""
    segment = cfg.reduction_segment(g)
    return g.k if segment % cfg.rows == 0 else segment


def steps(total: int, step: int) -> list[tuple[int, int]]:
    """(size, count) of the steps that cover ``total``: full steps, then a shorter last one."""
    full, rest = divmod(total, step)
    out = [(step, full)] if full else []
    if rest:
        out.append((rest, 1))
    return out


def k_tiles(total: int, step: int, segment: int) -> list[tuple[int, int]]:
    """(k, count) of the K tiles of one output block: ``steps(segment, step)`` in each of the
    ``total / segment`` segments (one segment, all of K, unless a per-tap array splits it)."""
    return [(k, count * (total // segment)) for k, count in steps(segment, step)]


def _k_steps(total: int, step: int, segment: int) -> list[tuple[int, bool, bool, int]]:
    """(k, accumulate, emit, count) for the K tiles of one output block, in issue order: the first
    starts the partial sums, the last emits them, the rest accumulate."""
    per_segment = steps(segment, step)
    if total == segment and sum(count for _, count in per_segment) == 1:
        return [(total, False, True, 1)]
    first, last = per_segment[0][0], per_segment[-1][0]
    middle = {k: count for k, count in k_tiles(total, step, segment)}
    middle[first] -= 1
    middle[last] -= 1
    out = [(first, False, False, 1)]
    out += [(k, True, False, count) for k, count in middle.items() if count]
    out.append((last, True, True, 1))
    return out


def runs(g: GemmShape, t: TileSizes, segment: int | None = None) -> tuple[TileRun, ...]:
    """Every tile of ``g`` cut into ``t``, counted by shape; K tiles step within ``segment``
    (:func:`k_segment`; all of K when not given)."""
    out: list[TileRun] = []
    for n, n_count in steps(g.n, t.n):
        for m, m_count in steps(g.m, t.m):
            for k, accumulate, emit, k_count in _k_steps(g.k, t.k, g.k if segment is None else segment):
                tile = Tile(m=m, k=k, n=n, accumulate=accumulate, emit=emit)
                out.append(TileRun(tile, g.groups * n_count * m_count * k_count))
    return tuple(out)

"""Run a layer's tile program: accumulate ``A[m0:m0+m, k0:k0+k] @ B[k0:k0+k, n0:n0+n]`` tile by tile.

Each output element's value depends only on how K was split (the accumulator adds one K tile's
partial product at a time), never on how M and N were cut, because rows and columns of a GEMM are
independent. So when the placements form a grid — every output block sees the same K tiles, the
blocks cover the output exactly once — the tiles that share a K range are computed by one numpy
call; that is the same arithmetic as issuing them one by one (bit-identical for integers, where the
test suite checks it) and much faster. Any other placement pattern runs literally, tile by tile,
with every block's K coverage checked.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np

from hwsim.core.errors import InternalError
from hwsim.core.program import Placement

__all__ = ["Step", "OnTile", "TileProgramError", "run_tiles", "float_step", "float64_step"]

#: One tile on the array for a stack of groups: ``(accumulator or None, A (g, m, k), B (g, k, n))`` to
#: the new accumulator ``(g, m, n)``; ``None`` starts from zero (a tile with ``accumulate=False``).
Step = Callable[[np.ndarray | None, np.ndarray, np.ndarray], np.ndarray]


class TileProgramError(InternalError):
    """The tile program does not compute the GEMM exactly once (a tiler bug)."""


def _float_step(dtype: type) -> Step:
    def step(acc: np.ndarray | None, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        partial = np.matmul(a, b, dtype=dtype)
        if acc is None:
            return partial
        acc += partial
        return acc

    return step


#: fp32 multiply-accumulate of one K tile (float32 accumulators).
float_step: Step = _float_step(np.float32)
#: fp64 multiply-accumulate of one K tile (float64 accumulators: finite-difference checks).
float64_step: Step = _float_step(np.float64)


def _grid_k_tiles(tiles: Sequence[Placement], groups: int, m_total: int, k_total: int, n_total: int) -> list[tuple[int, int]] | None:
    """The K tiles in order if ``tiles`` is a grid with one shared K split, else ``None``."""
    by_k: dict[tuple[int, int], list[tuple]] = {}
    for p in tiles:
        t = p.tile
        by_k.setdefault((p.k0, t.k), []).append((p.group, p.m0, t.m, p.n0, t.n, t.accumulate, t.emit))
    k_tiles = sorted(by_k)
    pos = 0
    for k0, k in k_tiles:
        if k0 != pos:
            return None
        pos += k
    if pos != k_total:
        return None
    blocks = None
    for i, key in enumerate(k_tiles):
        first, last = i == 0, i == len(k_tiles) - 1
        cells = by_k[key]
        if any(acc == first or emit != last for *_, acc, emit in cells):
            return None
        these = sorted(c[:5] for c in cells)
        if blocks is None:
            blocks = these
        elif these != blocks:
            return None
    assert blocks is not None
    ms = sorted({(m0, m) for _, m0, m, _, _ in blocks})
    ns = sorted({(n0, n) for _, _, _, n0, n in blocks})
    if not (_partitions(ms, m_total) and _partitions(ns, n_total)):
        return None
    if len(set(blocks)) != len(blocks) or len(blocks) != groups * len(ms) * len(ns):
        return None
    if {g for g, *_ in blocks} != set(range(groups)):
        return None
    return k_tiles


def _partitions(ranges: list[tuple[int, int]], total: int) -> bool:
    pos = 0
    for start, size in ranges:
        if start != pos or size < 1:
            return False
        pos += size
    return pos == total


#: Observer of literal execution: (placement, A block, B block, accumulators before or None, after).
OnTile = Callable[[Placement, np.ndarray, np.ndarray, "np.ndarray | None", np.ndarray], None]


def _literal(a: np.ndarray, b: np.ndarray, tiles: Sequence[Placement], step: Step, name: str, on_tile: OnTile | None) -> np.ndarray:
    groups, m_total, k_total = a.shape
    n_total = b.shape[2]
    partial: dict[tuple[int, int, int, int, int], tuple[int, np.ndarray]] = {}
    out: np.ndarray | None = None
    written = np.zeros((groups, m_total, n_total), dtype=bool)
    for p in tiles:
        t = p.tile
        key = (p.group, p.m0, t.m, p.n0, t.n)
        if t.accumulate:
            if key not in partial or partial[key][0] != p.k0:
                raise TileProgramError(f"{name}: tile at {p} accumulates onto partial sums that are not there")
            prev = partial.pop(key)[1]
        else:
            if key in partial or p.k0 != 0:
                raise TileProgramError(f"{name}: tile at {p} restarts an accumulator that holds partial sums")
            prev = None
        rows, cols = slice(p.m0, p.m0 + t.m), slice(p.n0, p.n0 + t.n)
        a_blk = a[p.group : p.group + 1, rows, p.k0 : p.k0 + t.k]
        b_blk = b[p.group : p.group + 1, p.k0 : p.k0 + t.k, cols]
        before = None if prev is None or on_tile is None else prev[0].copy()
        acc = step(prev, a_blk, b_blk)
        if on_tile is not None:
            on_tile(p, a_blk[0], b_blk[0], before, acc[0].copy())
        if not t.emit:
            partial[key] = (p.k0 + t.k, acc)
            continue
        if p.k0 + t.k != k_total:
            raise TileProgramError(f"{name}: tile at {p} emits before K is complete")
        if out is None:
            out = np.zeros((groups, m_total, n_total), dtype=acc.dtype)
        if written[p.group, rows, cols].any():
            raise TileProgramError(f"{name}: tile at {p} writes outputs that another tile already wrote")
        written[p.group, rows, cols] = True
        out[p.group, rows, cols] = acc[0]
    if partial or out is None or not written.all():
        raise TileProgramError(f"{name}: the tile program leaves outputs unwritten")
    return out


def run_tiles(
    a: np.ndarray,
    b: np.ndarray,
    placements: Iterable[Placement],
    step: Step,
    *,
    name: str = "layer",
    literal: bool = False,
    on_tile: OnTile | None = None,
) -> np.ndarray:
    """The ``(groups, m, n)`` accumulators after every tile of ``placements`` has run.

    ``literal`` (implied by ``on_tile``) issues every tile on its own, in order.

    >>> from hwsim.core.program import Tile
    >>> a = np.arange(6.0, dtype=np.float32).reshape(1, 2, 3); b = np.ones((1, 3, 1), np.float32)
    >>> tiles = [Placement(0, 0, 0, 0, Tile(2, 2, 1, False, False)), Placement(0, 0, 2, 0, Tile(2, 1, 1, True, True))]
    >>> run_tiles(a, b, tiles, float_step)[0, :, 0].tolist()
    [3.0, 12.0]
    """
    tiles = tuple(placements)
    groups, m_total, k_total = a.shape
    if not literal and on_tile is None:
        k_tiles = _grid_k_tiles(tiles, groups, m_total, k_total, b.shape[2])
        if k_tiles is not None:
            acc = None
            for k0, k in k_tiles:
                acc = step(acc, a[:, :, k0 : k0 + k], b[:, k0 : k0 + k, :])
            return acc
    return _literal(a, b, tiles, step, name, on_tile)

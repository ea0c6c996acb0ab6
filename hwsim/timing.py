"""Cycles of one tile on the array: the one timing model that the simulator uses and the RTL implements.

Every formula for what happens inside the array lives here and only here; docs/model.md derives
each one. The RTL's tile controller (``rtl``) implements exactly the weight-stationary pipeline,
and the cocotb benches assert that its measured cycles equal :func:`tile_cycles`.
"""

from __future__ import annotations

from compiler.program import Tile

from .config import AcceleratorConfig

__all__ = ["tile_cycles", "ws_tile_cycles", "os_tile_cycles", "is_tile_cycles"]


def ws_tile_cycles(rows: int, cols: int, tile: Tile) -> int:
    """Weight-stationary tile, start to done (provisional: the RTL change fixes the exact terms).

    ``folds = ceil(k / rows)``: the first fold's weights load in ``rows`` cycles; each fold streams
    ``max(m, rows)`` cycles (the next fold's weights load into the shadow registers meanwhile);
    the last fold drains through ``rows + cols`` pipeline stages; an emitting tile then streams
    ``m`` result rows out.
    """
    folds = -(-tile.k // rows)
    return rows + folds * max(tile.m, rows) + rows + cols + (tile.m if tile.emit else 0)


def os_tile_cycles(rows: int, cols: int, tile: Tile) -> int:
    """Output-stationary tile (analytic; the RTL implements weight-stationary only).

    PE ``(i, j)`` accumulates output ``(i, j)``; row ``i`` of A enters from the left ``i`` cycles
    late and column ``j`` of B from the top ``j`` cycles late, so the last MAC (``k - 1``, ``m - 1``,
    ``n - 1``) happens at cycle ``k + m + n - 3`` and the results are complete one cycle later. The
    ``m`` rows of results then shift out of the bottom edge, one per cycle, before the next tile's
    operands may enter: ``k + m + n - 2 + m``.
    """
    return tile.k + tile.m + tile.n - 2 + tile.m


def is_tile_cycles(rows: int, cols: int, tile: Tile) -> int:
    """Input-stationary tile: weight-stationary with the roles of A and B exchanged.

    ``C = A B`` is ``C^T = B^T A^T``: the array holds a ``k x m`` block of A^T (K on rows, M on
    columns) and streams the ``n`` columns of B, so the weight-stationary pipeline applies with
    ``m`` and ``n`` swapped. (Analytic; the RTL implements weight-stationary only.)
    """
    return ws_tile_cycles(rows, cols, Tile(m=tile.n, k=tile.k, n=tile.m, accumulate=tile.accumulate, emit=tile.emit))


_BY_DATAFLOW = {"ws": ws_tile_cycles, "os": os_tile_cycles, "is": is_tile_cycles}


def tile_cycles(cfg: AcceleratorConfig, tile: Tile) -> int:
    """Cycles for ``tile`` on ``cfg``'s array with its dataflow."""
    return _BY_DATAFLOW[cfg.dataflow](cfg.rows, cfg.cols, tile)

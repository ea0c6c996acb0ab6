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
    """Weight-stationary tile, from the cycle its command is accepted to the cycle ``done`` rises.

    ``cycles = (F - 1) * max(m, rows) + m + rows + cols + 2 + emit`` with ``F = ceil(k / rows)``
    K folds and ``emit`` 1 for a tile that streams its results out. ``n`` and ``accumulate`` do not
    matter. This is exactly what the RTL's tile controller does (docs/rtl.md#timing has the
    diagram); counting cycles from the command (cycle 0):

    * Weight rows go in one per cycle from cycle 1; fold f's row r reaches the PEs of array row r
      through a column skew that matches the activations' diagonal, so activations of fold f may
      start one cycle after its first weight row (row 0 of fold 0 issues in cycle 1, row 0 of A
      in cycle 2). Fold f + 1's weights load into the other weight bank while fold f streams.
    * Fold f streams its ``m`` rows of A from cycle ``2 + f * max(m, rows)``: a fold cannot start
      before the previous one has streamed (``m`` cycles) nor before its ``rows`` weight rows could
      follow the previous fold's through the one-row-per-cycle weight port (``rows`` cycles). The
      last fold's own size does not matter: its weights keep ahead of its activations.
    * The last row of A issues in cycle ``1 + (F - 1) * max(m, rows) + m``. It takes ``rows + cols``
      cycles through the input skew, the array and the output de-skew to reach the accumulator
      stage, which adds it to the stored partial sums and writes them back in that cycle.
    * ``done`` rises one cycle later, or two for an emitting tile, whose result leaves through an
      output register (results stream out while the array drains: emitting costs one cycle, not m).

    >>> ws_tile_cycles(16, 16, Tile(m=64, k=100, n=16))  # 7 folds of a 16 x 16 array
    483
    >>> ws_tile_cycles(8, 8, Tile(m=1, k=8, n=8, emit=False))  # one GEMV fold: fill and drain only
    19
    """
    folds = -(-tile.k // rows)
    return (folds - 1) * max(tile.m, rows) + tile.m + rows + cols + 2 + (1 if tile.emit else 0)


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

"""Cycles of one tile on the array: the one timing model that the simulator uses and the RTL implements.

Every formula for what happens inside the array lives here and only here; docs/model.md derives
each one. The RTL's tile controller (``rtl``) implements exactly the weight-stationary pipeline,
and the cocotb benches assert that its measured cycles equal :func:`tile_cycles`.
"""

from __future__ import annotations

from compiler.program import Tile

from .config import AcceleratorConfig

__all__ = ["tile_cycles", "ws_tile_cycles"]


def ws_tile_cycles(rows: int, cols: int, tile: Tile) -> int:
    """Weight-stationary tile, start to done (provisional: the RTL change fixes the exact terms).

    ``folds = ceil(k / rows)``: the first fold's weights load in ``rows`` cycles; each fold streams
    ``max(m, rows)`` cycles (the next fold's weights load into the shadow registers meanwhile);
    the last fold drains through ``rows + cols`` pipeline stages; an emitting tile then streams
    ``m`` result rows out.
    """
    folds = -(-tile.k // rows)
    return rows + folds * max(tile.m, rows) + rows + cols + (tile.m if tile.emit else 0)


def tile_cycles(cfg: AcceleratorConfig, tile: Tile) -> int:
    """Cycles for ``tile`` on ``cfg``'s array with its dataflow."""
    if cfg.dataflow == "ws":
        return ws_tile_cycles(cfg.rows, cfg.cols, tile)
    raise NotImplementedError(f"dataflow {cfg.dataflow}")

"""Cycles of one tile on the array: the one timing model that the simulator uses and the RTL implements.

Every formula for what happens inside the array lives here and only here; docs/model.md derives
each one. The RTL's tile controller (``rtl``) implements exactly the weight-stationary pipeline,
and the cocotb benches assert that its measured cycles equal :func:`tile_cycles`.
"""

from __future__ import annotations

from dataclasses import replace

from .config import AcceleratorConfig
from .program import Tile

__all__ = ["tile_cycles", "ws_tile_cycles", "os_tile_cycles", "is_tile_cycles", "command_split_cycles",
           "run_cycles"]


def ws_tile_cycles(cfg: AcceleratorConfig, tile: Tile) -> int:
    """Weight-stationary tile, from the cycle its command is accepted to the cycle ``done`` rises.

    With ``F = cfg.folds(k)`` folds of ``k_f = min(rows, k - f * rows)`` rows of K each::

        cycles = k_0 + sum(max(m, k_f, row_gap) for f in 1 .. F-1) + m + array_latency + 1 + out_latency * emit

    where ``array_latency = rows + cols + mult_stages + adder_segments - 1``
    (:attr:`~AcceleratorConfig.array_latency`) and ``row_gap`` is 2 with ``acc_stages = 3``, else 1
    (the pipeline depths are ``cfg.pipeline``: 0, 1 and 1 for the single-cycle datapath, where
    this is the formula the RTL was first proven with). ``n`` and ``accumulate`` do not matter.
    This is exactly what the RTL's tile controller does (docs/rtl.md#timing has the diagram).
    Counting from the command's cycle 0:

    * Load: fold 0's ``k_0`` weight rows enter one per cycle, in cycles 1 .. k_0.
    * Stream: fold f's ``m`` activation rows enter one per cycle once all its weights are in, and
      meanwhile fold f + 1's ``k_{f+1}`` weight rows load into the other (shadow) weight bank of
      each PE. So fold 0 starts in cycle ``1 + k_0`` and each later fold ``max(m, k_f)`` cycles
      after the one before (at least ``row_gap``: with a pipelined accumulator a one-row tile's
      folds wait a cycle); the last activation row enters in cycle
      ``k_0 + sum(max(m, k_f, row_gap), f >= 1) + m``.
    * Drain: that row takes ``rows + cols`` cycles through the input skew, the array and the
      output de-skew, plus one cycle per multiplier register and per carry segment past the first,
      to the accumulator stage, which adds the stored partial sums and writes the row back;
      ``done`` rises the cycle after.
    * Emit: an emitting tile's result rows stream out while the array drains, through an output
      register and a two-cycle output queue (:attr:`~AcceleratorConfig.out_latency`), so the last
      one leaves 3 cycles after the accumulator stage, not m cycles after.

    All folds but the last are whole, so for F >= 2 the sum is ``(F - 2) * max(m, rows, row_gap) +
    max(m, k_last, row_gap)``. With ``m >= rows`` the folds stream back to back: ``rows x cols`` MACs
    complete every cycle of the stream.

    >>> ws_tile_cycles(AcceleratorConfig(rows=16, cols=16), Tile(m=64, k=100, n=16))  # folds of 16 x 6, 4
    500
    >>> ws_tile_cycles(AcceleratorConfig(rows=8, cols=8), Tile(m=1, k=8, n=8, emit=False))  # one GEMV fold
    26
    >>> ws_tile_cycles(AcceleratorConfig(rows=8, cols=8, fpga="ice40-up5k"), Tile(m=1, k=8, n=8, emit=False))
    31
    """
    rows = cfg.rows
    folds = cfg.folds(tile.k)
    last = tile.k - (folds - 1) * rows
    m = max(tile.m, cfg.pipeline.row_gap)  # a fold's rows, or the accumulator's fewest cycles between two adds to a row
    later = (folds - 2) * max(m, rows) + max(m, last) if folds > 1 else 0
    emit = cfg.out_latency if tile.emit else 0
    return min(tile.k, rows) + later + tile.m + cfg.array_latency + 1 + emit


def os_tile_cycles(cfg: AcceleratorConfig, tile: Tile) -> int:
    """Output-stationary tile (analytic; the RTL implements weight-stationary only).

    PE ``(i, j)`` accumulates output ``(i, j)``; row ``i`` of A enters from the left ``i`` cycles
    late and column ``j`` of B from the top ``j`` cycles late, so the last MAC (``k - 1``, ``m - 1``,
    ``n - 1``) happens at cycle ``k + m + n - 3`` and the results are complete one cycle later. The
    ``m`` rows of results then shift out of the bottom edge, one per cycle, before the next tile's
    operands may enter: ``k + m + n - 2 + m``.
    """
    return tile.k + tile.m + tile.n - 2 + tile.m


def is_tile_cycles(cfg: AcceleratorConfig, tile: Tile) -> int:
    """Input-stationary tile: weight-stationary with the roles of A and B exchanged.

    ``C = A B`` is ``C^T = B^T A^T``: the array holds a ``k x m`` block of A^T (K on rows, M on
    columns) and streams the ``n`` columns of B, so the weight-stationary pipeline applies with
    ``m`` and ``n`` swapped. (Analytic; the RTL implements weight-stationary only.)
    """
    return ws_tile_cycles(cfg, replace(tile, m=tile.n, n=tile.m))


_BY_DATAFLOW = {"ws": ws_tile_cycles, "os": os_tile_cycles, "is": is_tile_cycles}


def tile_cycles(cfg: AcceleratorConfig, tile: Tile) -> int:
    """Cycles for ``tile`` on ``cfg``'s array with its dataflow."""
    return _BY_DATAFLOW[cfg.dataflow](cfg, tile)


def command_split_cycles(cfg: AcceleratorConfig, tile: Tile, row: int = 0) -> int:
    """Cycles a controller that streams each fold as commands of at most ``command_rows`` rows adds
    to ``tile`` (0 when ``command_rows = 0``, hwsim's own controller, which streams a fold whole).

    Gemmini's does (docs/model.md#command-granularity): its convolution loop issues one compute
    command per output row and per ``DIM`` pixels of it (``I = min(ocols - ocol, DIM)``, ``row`` =
    the output width; any other GEMM's rows run on, ``row = 0``), each command takes at least
    ``command_min_cycles``, and the last command of a fold, which carries the next fold's weights
    into the array, takes at least ``rows`` (Gemmini's ``block_size``). With the tile's ``m`` rows
    laid out from the start of an output row, a fold costs::

        G = sum(max(I_c, command_min_cycles) for c < last) + max(I_last, rows)

    where the streaming array of :func:`ws_tile_cycles` charges ``max(m, rows)``; the difference,
    never negative, is charged for each of the tile's folds. Weight-stationary only: the other
    dataflows have no folds of preloaded weights, and get 0.

    >>> cfg = AcceleratorConfig(rows=16, cols=16, command_rows=16, command_min_cycles=4)
    >>> command_split_cycles(cfg, Tile(m=49, k=32, n=16), row=7)   # 2 folds of 6 x 7 + 16 = 58 for 49
    18
    >>> command_split_cycles(cfg, Tile(m=128, k=32, n=16))         # 8 commands of 16: no break
    0
    """
    width = cfg.command_rows
    if width == 0 or cfg.dataflow != "ws":
        return 0
    m, floor = tile.m, cfg.command_min_cycles
    line = row if 0 < row < m else m            # the rows of one output row in the tile
    full, rest = divmod(m, line)                # whole output rows, and a part of one

    def cost(n: int) -> tuple[int, int]:
        """(cycles, size of its last command) of a run of n rows split into commands of width."""
        q, r = divmod(n, width)
        return q * max(width, floor) + (max(r, floor) if r else 0), r or width

    per_line, last_line = cost(line)
    total = full * per_line
    last = last_line
    if rest:
        extra, last = cost(rest)
        total += extra
    total += max(last, cfg.rows) - max(last, floor)   # the last command loads the next fold's weights
    return cfg.folds(tile.k) * max(0, total - max(m, cfg.rows))


def run_cycles(cfg: AcceleratorConfig, tile: Tile, row: int = 0) -> int:
    """Cycles of ``tile`` with its command issue: :func:`tile_cycles` (the RTL-proven array) plus
    :func:`command_split_cycles`. The mapper ranks and the simulator reports with this."""
    return tile_cycles(cfg, tile) + command_split_cycles(cfg, tile, row)

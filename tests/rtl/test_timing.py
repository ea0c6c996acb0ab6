"""hwsim.core.timing.ws_tile_cycles, the closed form, against a cycle-by-cycle replay of the tile
controller's issue rules (rtl/_controller.py) for many more tiles than the RTL runs."""

from __future__ import annotations

import itertools

import pytest

from hwsim.core.config import AcceleratorConfig
from hwsim.core.program import Tile
from hwsim.core.timing import ws_tile_cycles


def replay(rows: int, cols: int, tile: Tile) -> int:
    """Cycles from the command (cycle 0) to done, following the controller's rules one cycle at
    a time: weight rows of fold f wait until fold f - 2's activations are all issued (they reuse
    its bank); activations of fold f wait until all of fold f's weight rows are in."""
    folds = -(-tile.k // rows)
    sizes = [min(rows, tile.k - f * rows) for f in range(folds)]
    w_fold = w_row = a_fold = a_row = 0
    cycle, last = 1, None
    while a_fold < folds:
        want_w = w_fold < folds and w_fold <= a_fold + 1
        want_a = w_fold > a_fold
        if want_a:
            a_row += 1
            if a_row == tile.m:
                a_fold, a_row, last = a_fold + 1, 0, cycle
        if want_w:
            w_row += 1
            if w_row == sizes[w_fold]:
                w_fold, w_row = w_fold + 1, 0
        cycle += 1
    accumulate_stage = last + rows + cols  # input skew, array and de-skew
    return accumulate_stage + 1 + (3 if tile.emit else 0)  # + output register and queue


@pytest.mark.parametrize("rows, cols", [(1, 1), (2, 3), (4, 4), (5, 2), (16, 16)])
def test_closed_form_equals_the_controller_schedule(rows, cols):
    for m, k, emit in itertools.product([1, 2, 3, 7, 16, 17, 40], range(1, 4 * rows + 3), (False, True)):
        tile = Tile(m=m, k=k, n=cols, accumulate=k > 5, emit=emit)
        assert ws_tile_cycles(AcceleratorConfig(rows=rows, cols=cols), tile) == replay(rows, cols, tile), (m, k, emit)


def test_long_tiles_stream_folds_back_to_back():
    # With m >= rows every fold after the first adds exactly m cycles: no bubbles between folds.
    one = ws_tile_cycles(AcceleratorConfig(rows=8, cols=8), Tile(m=50, k=8, n=8))
    assert ws_tile_cycles(AcceleratorConfig(rows=8, cols=8), Tile(m=50, k=8 * 6, n=8)) - one == 5 * 50
    # A short stream is bound by the one-row-per-cycle weight port instead: rows cycles per fold.
    assert ws_tile_cycles(AcceleratorConfig(rows=8, cols=8), Tile(m=3, k=8 * 6, n=8)) - ws_tile_cycles(AcceleratorConfig(rows=8, cols=8), Tile(m=3, k=8, n=8)) == 5 * 8

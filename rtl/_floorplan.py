"""Where the hard blocks of the iCE40 UP5K go: each PE's SB_MAC16 and its column's accumulator and
output-queue SB_RAM40_4K blocks on one side of the chip, a column's blocks nearest its DSPs.

The UP5K has its eight DSP blocks in its two edge columns (x = 0 and 25, y = 5, 10, 15, 23) and
its block RAMs in two inner columns (x = 6 and 19, odd y from 1 to 29), so a 2 x 4 array uses every
DSP on both edges, and nextpnr's placer, left to choose, puts a column's accumulator on the far
side of the chip from its PEs, or the two carry segments of one column on different sides. The
plan keeps each column's datapath (DSP → partial-sum adder → accumulator → output-queue lanes) on
one side; the controller, whose signals reach every column, is left to the placer. It is written
into the flow's Yosys script as ``BEL`` attributes, which nextpnr-ice40 honours (docs/fpga.md).
"""

from __future__ import annotations

from hwsim.core.config import AcceleratorConfig
from hwsim.core.fpga import Device

from ._dsp import sb_ram40_slices, sb_ram40_written
from ._params import Params, params

__all__ = ["floorplan"]

#: The UP5K's sides: (DSP column x, block RAM column x), the DSP rows top to bottom and the block
#: RAM rows (nextpnr-ice40's chip database for the UP5K: SB_MAC16 and SB_RAM40_4K bel locations).
_UP5K_SIDES = ((25, 19), (0, 6))
_UP5K_DSP_Y = (23, 15, 10, 5)
_UP5K_RAM_Y = tuple(range(1, 30, 2))


def floorplan(cfg: AcceleratorConfig, dev: Device) -> dict[str, str]:
    """nextpnr bel of each hard block of ``cfg``'s core (cell names as Yosys flattens the harness:
    ``core.mesh.pe_<r>_<c>.mul.dsp``, ``core.acc_<c>_s<j>.bram_<n>``, ``core.queue.bram_<k>``), or
    {} for a device without a plan (every device but the UP5K, and UP5K arrays a plan does not
    fit: a column taller than one side's four DSPs; without the block RAMs when they do not fit)."""
    if dev.part != "iCE40UP5K-SG48" or cfg.rows > len(_UP5K_DSP_Y) or cfg.rows * cfg.cols > 2 * len(_UP5K_DSP_Y):
        return {}
    p = params(cfg, "ice40")
    R, C = cfg.rows, cfg.cols
    # Columns to sides in order, a column never split between two.
    side_of, used = [], [0, 0]
    side = 0
    for _ in range(C):
        if used[side] + R > len(_UP5K_DSP_Y):
            side += 1
            if side == len(_UP5K_SIDES):
                return {}
        side_of.append(side)
        used[side] += R
    plan: dict[str, str] = {}
    dsp_y: list[list[int]] = []
    taken = [0, 0]
    for c in range(C):
        s = side_of[c]
        ys = list(_UP5K_DSP_Y[taken[s]: taken[s] + R])
        taken[s] += R
        dsp_y.append(ys)
        for r, y in enumerate(ys):
            plan[f"core.mesh.pe_{r}_{c}.mul.dsp"] = f"X{_UP5K_SIDES[s][0]}/Y{y}/mac16_0"
    # Block RAMs column by column, each the free site nearest the column's DSPs (in tiles, x and y
    # alike): its own side's column first, the other's when that is full.
    free = [(x, y) for _, x in _UP5K_SIDES for y in _UP5K_RAM_Y]
    cells = [(c, cell) for c in range(C) for cell in _column_rams(cfg, p, c)]
    if len(cells) > len(free):
        return plan
    for c, cell in cells:
        x_dsp, y_dsp = _UP5K_SIDES[side_of[c]][0], sum(dsp_y[c]) / R
        x, y = min(free, key=lambda site: (abs(site[0] - x_dsp) + abs(site[1] - y_dsp), -site[1], site[0]))
        free.remove((x, y))
        plan[cell] = f"X{x}/Y{y}/ram"
    return plan


def _column_rams(cfg: AcceleratorConfig, p: Params, c: int) -> list[str]:
    """Column ``c``'s block RAM cells: its accumulator segments' blocks, then the output queue's
    blocks whose first bit is in its lane (the queue's word: the lanes, then the tile-end bit, which
    an FPGA's controller never reads: Yosys removes a block that holds only it)."""
    cells = []
    # Only memories written as blocks have these names (a one-stage accumulator is transparent).
    if sb_ram40_written(cfg.acc_depth, transparent=cfg.pipeline.acc_stages == 1):
        for j, (lo, hi) in enumerate(p.segments):
            cells += [f"core.acc_{c}_s{j}.bram_{n}" for n in range(len(sb_ram40_slices(hi - lo, cfg.acc_depth)))]
    queue = p.out_queue_depth - 1    # the queue's memory: one word fewer (rtl._queue)
    if not sb_ram40_written(queue):
        return cells
    cells += [f"core.queue.bram_{k}" for k, (lo, _) in enumerate(sb_ram40_slices(cfg.cols * cfg.acc_bits + 1, queue))
              if lo // cfg.acc_bits == c]
    return cells

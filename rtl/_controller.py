"""The tile controller: the top of the generated design (array + accumulator memory + sequencing).

One command runs one tile (``compiler.program.Tile``) from three input streams to one output
stream; docs/rtl.md has the protocol and the timing diagram, hwsim.timing.ws_tile_cycles the
cycle count that this schedule takes.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.hdl import EnableInserter
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ._array import SystolicArray
from ._params import Params

__all__ = ["TileController"]


class TileController(wiring.Component):
    """Runs tiles of a weight-stationary GEMM.

    Streams (valid/ready; a transfer happens in a cycle where both are high):

    * ``cmd``: one tile, ``{m, k, n, accumulate, emit}`` with 1 <= m <= acc_depth, 1 <= k <= k_max,
      1 <= n <= cols. Accepted only while idle.
    * ``w``: the tile's k x n block of B, one row per transfer (lane c = column c; lanes >= n are
      ignored), rows 0..k-1 in order.
    * ``a``: the tile's m x k block of A, fold by fold: for fold f, rows 0..m-1 of
      A[:, f*rows : f*rows + rows] (lane r = column f*rows + r; lanes past k are ignored).
    * ``o``: when ``emit``, the m result rows in order (lane c = column c, lanes >= n are zero).
    * ``done``: high for one cycle, the first idle cycle after a tile; a command presented then is
      accepted in that cycle.

    The controller follows a fixed schedule and holds the whole pipeline (a clock enable on every
    register) in a cycle where it needs a transfer that cannot happen: ``w`` or ``a`` not valid when
    due, or ``o`` valid but not ready. Sources must therefore raise valid without waiting for
    ready, each stream independently (FIFOs do).
    """

    def __init__(self, p: Params) -> None:
        self._p = p
        super().__init__({
            "cmd": In(stream.Signature(p.cmd_layout)),
            "w": In(stream.Signature(p.weight_layout)),
            "a": In(stream.Signature(p.act_layout)),
            "o": Out(stream.Signature(p.out_layout)),
            "done": Out(1),
        })

    def elaborate(self, platform) -> Module:
        p = self._p
        R, C = p.rows, p.cols
        m = Module()
        m.submodules.mesh = mesh = SystolicArray(p)
        m.submodules.acc = acc = Memory(shape=p.out_layout, depth=p.acc_depth, init=[])
        wr = acc.write_port()
        rd = acc.read_port(transparent_for=(wr,))

        busy = Signal()
        tile = Signal(p.cmd_layout)
        # Weight issue: rows left in the tile, row within the fold, fold number.
        w_left = Signal(p.k_bits)
        w_row = Signal(max(1, ceil_log2(R)))
        w_fold = Signal(p.fold_bits)
        # Activation issue: K rows left from this fold on, row of A within the fold, fold number.
        a_left = Signal(p.k_bits)
        a_row = Signal(p.m_bits)
        a_fold = Signal(p.fold_bits)

        # Weights of fold f go into bank f % 2, which fold f - 2 used: wait until all of fold f - 2
        # has been issued. Activations of fold f follow one cycle behind fold f's first weight row
        # at the least; the skews keep every later row of weights ahead of them too.
        want_w = busy & (w_left != 0) & (w_fold <= a_fold + 1)
        want_a = busy & (a_left != 0) & ((w_fold != a_fold) | (w_row != 0))

        advance = Signal()
        m.d.comb += [
            advance.eq(~((want_w & ~self.w.valid) | (want_a & ~self.a.valid) | (self.o.valid & ~self.o.ready))),
            self.cmd.ready.eq(~busy & advance),
            self.w.ready.eq(want_w & advance),
            self.a.ready.eq(want_a & advance),
        ]
        w_fire = self.w.valid & self.w.ready
        a_fire = self.a.valid & self.a.ready

        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += [busy.eq(1), tile.eq(self.cmd.payload), w_left.eq(self.cmd.payload.k),
                         a_left.eq(self.cmd.payload.k), w_row.eq(0), w_fold.eq(0), a_row.eq(0), a_fold.eq(0)]

        m.d.comb += [mesh.w_data.eq(self.w.payload), mesh.w_row.eq(w_row), mesh.w_bank.eq(w_fold[0]),
                     mesh.w_valid.eq(w_fire)]
        with m.If(w_fire):
            m.d.sync += w_left.eq(w_left - 1)
            with m.If((w_row == R - 1) | (w_left == 1)):
                m.d.sync += [w_row.eq(0), w_fold.eq(w_fold + 1)]
            with m.Else():
                m.d.sync += w_row.eq(w_row + 1)

        # Lanes past the fold's K rows meet stale weights: zero them.
        lanes = Cat(a_fire & (a_left > r) for r in range(R))
        for r in range(R):
            m.d.comb += mesh.a_data[r].eq(Mux(lanes[r], self.a.payload[r], 0))
        m.d.comb += [mesh.a_valid.eq(lanes), mesh.a_bank.eq(a_fold[0])]
        last_fold = a_left <= R
        last_row = a_row == tile.m - 1
        with m.If(a_fire):
            with m.If(last_row):
                m.d.sync += [a_row.eq(0), a_fold.eq(a_fold + 1), a_left.eq(Mux(last_fold, 0, a_left - R))]
            with m.Else():
                m.d.sync += a_row.eq(a_row + 1)

        # Each issued activation row carries its tag through a pipeline as long as the array's,
        # so the accumulator stage knows what the sums leaving the de-skew belong to.
        tag_layout = data.StructLayout({"valid": 1, "row": p.row_bits, "first": 1, "emit": 1, "last": 1})
        tag = Signal(tag_layout, name="tag_issue")
        m.d.comb += [tag.valid.eq(a_fire), tag.row.eq(a_row), tag.first.eq((a_fold == 0) & ~tile.accumulate),
                     tag.emit.eq(last_fold & tile.emit), tag.last.eq(last_fold & last_row)]
        stages = [tag]
        for i in range(R + C):
            stage = Signal(tag_layout, name=f"tag_{i + 1}")
            m.d.sync += stage.eq(stages[-1])
            stages.append(stage)
        # Read the row one cycle ahead (synchronous read); a write to the same row in that cycle
        # is forwarded (the transparent port), which matters only when folds are one cycle apart.
        ahead, at = stages[R + C - 1], stages[R + C]
        m.d.comb += [rd.addr.eq(ahead.row), rd.en.eq(1)]

        total = Signal(p.out_layout)
        for c in range(C):
            m.d.comb += total[c].eq(mesh.p_out[c] + Mux(at.first, 0, rd.data[c]))
        m.d.comb += [wr.addr.eq(at.row), wr.data.eq(total), wr.en.eq(at.valid)]

        out = Signal(p.out_layout)
        out_valid = Signal()
        out_last = Signal()
        for c in range(C):
            m.d.sync += out[c].eq(Mux(tile.n > c, total[c], 0))
        m.d.sync += [out_valid.eq(at.valid & at.emit), out_last.eq(at.valid & at.last)]
        m.d.comb += [self.o.payload.eq(out), self.o.valid.eq(out_valid)]

        m.d.sync += self.done.eq(0)
        finished = (at.valid & at.last & ~at.emit) | (out_valid & out_last & self.o.ready)
        with m.If(busy & finished):
            m.d.sync += [busy.eq(0), self.done.eq(1)]

        # The global stall: every register, memory port and counter holds in a cycle that cannot advance.
        return EnableInserter(advance)(m)

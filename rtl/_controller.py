"""The tile controller: the top of the generated design (array, accumulator memory, output queue
and the sequencing of one tile).

One command runs one tile (``hwsim.core.program.Tile``) from three input streams to one output
stream; docs/rtl.md has the protocol and the timing diagram, hwsim.core.timing.ws_tile_cycles the
cycle count of this schedule.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ._array import SystolicArray
from ._params import Params

__all__ = ["TileController"]


class TileController(wiring.Component):
    """Runs tiles of a weight-stationary GEMM.

    Streams (valid/ready; a word moves in a cycle where both are high; every ready depends on the
    controller's state only):

    * ``cmd``: one tile ``{m, k, n, accumulate, emit}`` with 1 <= m <= acc_depth, 1 <= k <= k_max,
      1 <= n <= cols; accepted while idle.
    * ``w``: the tile's k x n block of B, one row per word (lane c = column c, lanes >= n ignored:
      the controller zeroes them), rows 0..k-1 in order.
    * ``a``: the tile's m x k block of A, fold by fold: for fold f, rows 0..m-1 of
      A[:, f*rows : f*rows + rows] (lane r = column f*rows + r, lanes past k ignored).
    * ``o``: when ``emit``, the m result rows in order (lane c = column c, lanes >= n zero).
    * ``done``: high for one cycle, the first idle cycle after a tile; a command presented then is
      accepted in that cycle.

    The array itself never stalls: a cycle without an activation word sends a bubble through it,
    and result rows go into an output queue whose free space the controller reserves before it
    issues the activations that will produce them.
    """

    def __init__(self, p: Params) -> None:
        self._p = p
        super().__init__(self.signature_for(p))

    @staticmethod
    def signature_for(p: Params) -> wiring.Signature:
        """The top-level ports (see the class docstring)."""
        return wiring.Signature({
            "cmd": In(stream.Signature(p.cmd_layout)),
            "w": In(stream.Signature(p.weight_layout)),
            "a": In(stream.Signature(p.act_layout)),
            "o": Out(stream.Signature(p.out_layout)),
            "done": Out(1),
        })

    @property
    def out_queue_depth(self) -> int:
        """Enough for every row between issue and output, so a ready consumer never holds the issue."""
        return self._p.cfg.rows + self._p.cfg.cols + self._p.cfg.out_latency + 2

    def elaborate(self, platform) -> Module:
        p = self._p
        R, C = p.cfg.rows, p.cfg.cols
        m = Module()
        m.submodules.mesh = mesh = SystolicArray(p)
        # The accumulator: one memory per column (acc_depth x acc_bits each), so that each lane
        # is its own word (see SystolicArray on why lanes stay separate).
        wrs, rds = [], []
        for c in range(C):
            mem = m.submodules[f"acc_{c}"] = Memory(shape=signed(p.cfg.acc_bits), depth=p.cfg.acc_depth, init=[])
            wrs.append(mem.write_port())
            rds.append(mem.read_port(transparent_for=(wrs[-1],)))
        out_row = data.StructLayout({"data": p.out_layout, "last": 1})
        m.submodules.queue = queue = SyncFIFOBuffered(width=out_row.size, depth=self.out_queue_depth)

        busy = Signal()
        tile = Signal(p.cmd_layout)
        # Weight issue: rows left in the tile, row within the fold, fold number.
        w_left = Signal(p.k_bits)
        w_row = Signal(p.array_row_bits)
        w_fold = Signal(p.fold_bits)
        # Activation issue: K rows left from this fold on, row of A within the fold, fold number.
        a_left = Signal(p.k_bits)
        a_row = Signal(p.m_bits)
        a_fold = Signal(p.fold_bits)
        # Output queue entries not yet promised to an issued row.
        credits = Signal(range(self.out_queue_depth + 1), init=self.out_queue_depth)

        last_fold = a_left <= R
        emit_row = last_fold & tile.emit
        # Fold f's weights go into bank f % 2, which fold f - 2 used: they wait until all of fold
        # f - 2 has been issued. Fold f's activations wait until all its weights are in, so they
        # read complete weights whatever gaps the streams have.
        want_w = busy & (w_left != 0) & (w_fold <= a_fold + 1)
        want_a = busy & (a_left != 0) & (w_fold > a_fold) & (~emit_row | (credits != 0))
        m.d.comb += [
            self.cmd.ready.eq(~busy),
            self.w.ready.eq(want_w),
            self.a.ready.eq(want_a),
        ]
        w_fire = self.w.valid & self.w.ready
        a_fire = self.a.valid & self.a.ready

        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += [busy.eq(1), tile.eq(self.cmd.payload), w_left.eq(self.cmd.payload.k),
                         a_left.eq(self.cmd.payload.k), w_row.eq(0), w_fold.eq(0), a_row.eq(0), a_fold.eq(0)]

        # Weight lanes past the tile's n are zeroed: loaded as given, they would multiply into
        # accumulator columns >= n, which a later accumulating tile with a larger n adds (issue 12).
        for c in range(C):
            m.d.comb += mesh.w_data[c].eq(Mux(tile.n > c, self.w.payload[c], 0))
        m.d.comb += [mesh.w_row.eq(w_row), mesh.w_bank.eq(w_fold[0]), mesh.w_valid.eq(w_fire)]
        with m.If(w_fire):
            m.d.sync += w_left.eq(w_left - 1)
            with m.If((w_row == R - 1) | (w_left == 1)):
                m.d.sync += [w_row.eq(0), w_fold.eq(w_fold + 1)]
            with m.Else():
                m.d.sync += w_row.eq(w_row + 1)

        # Lanes past the fold's K rows meet stale weights: zero them.
        for r in range(R):
            lane = a_fire & (a_left > r)
            m.d.comb += [mesh.a_data[r].eq(Mux(lane, self.a.payload[r], 0)), mesh.a_valid[r].eq(lane)]
        m.d.comb += mesh.a_bank.eq(a_fold[0])
        last_row = a_row == tile.m - 1
        with m.If(a_fire):
            with m.If(last_row):
                m.d.sync += [a_row.eq(0), a_fold.eq(a_fold + 1), a_left.eq(Mux(last_fold, 0, a_left - R))]
            with m.Else():
                m.d.sync += a_row.eq(a_row + 1)

        # Each issued activation row carries a tag through a pipeline as long as the array's, so
        # the accumulator stage knows what the sums leaving the de-skew belong to.
        tag_layout = data.StructLayout({"valid": 1, "row": p.acc_addr_bits, "first": 1, "emit": 1, "last": 1})
        tag = Signal(tag_layout, name="tag_issue")
        m.d.comb += [tag.valid.eq(a_fire), tag.row.eq(a_row), tag.first.eq((a_fold == 0) & ~tile.accumulate),
                     tag.emit.eq(emit_row), tag.last.eq(last_fold & last_row)]
        # One shift register (one process in the Verilog); only its valid bits need the reset.
        depth = R + C
        chain = Signal(data.ArrayLayout(tag_layout, depth), name="tags")
        m.d.sync += chain.as_value().eq(Cat(tag, chain.as_value()[: tag_layout.size * (depth - 1)]))
        stages = [tag] + [chain[i] for i in range(depth)]
        # Read the row one cycle ahead (synchronous read); a write to the same row in that cycle
        # is forwarded (the transparent port), which matters only when folds are one cycle apart.
        ahead, at = stages[R + C - 1], stages[R + C]
        totals = []
        for c in range(C):
            total = Signal(signed(p.cfg.acc_bits), name=f"total_{c}")
            m.d.comb += [rds[c].addr.eq(ahead.row), rds[c].en.eq(1),
                         total.eq(mesh.p_out[c] + Mux(at.first, 0, rds[c].data)),
                         wrs[c].addr.eq(at.row), wrs[c].data.eq(total), wrs[c].en.eq(at.valid)]
            totals.append(total)

        # The output register gathers the lanes into one word in a single assignment, then the queue.
        result = Signal(out_row, reset_less=True)
        result_valid = Signal()
        m.d.sync += [result.as_value().eq(Cat(*(Mux(tile.n > c, totals[c], 0) for c in range(C)), at.last)),
                     result_valid.eq(at.valid & at.emit)]
        m.d.comb += [queue.w_data.eq(result), queue.w_en.eq(result_valid)]
        leaving = Signal(out_row)
        m.d.comb += [leaving.eq(queue.r_data), self.o.payload.eq(leaving.data), self.o.valid.eq(queue.r_rdy),
                     queue.r_en.eq(self.o.ready)]
        o_fire = self.o.valid & self.o.ready

        taken = a_fire & emit_row
        with m.If(taken & ~o_fire):
            m.d.sync += credits.eq(credits - 1)
        with m.If(o_fire & ~taken):
            m.d.sync += credits.eq(credits + 1)

        m.d.sync += self.done.eq(0)
        with m.If(busy & ((at.valid & at.last & ~at.emit) | (o_fire & leaving.last))):
            m.d.sync += [busy.eq(0), self.done.eq(1)]
        return m

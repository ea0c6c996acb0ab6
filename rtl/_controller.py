"""The tile controller: the top of the generated design (array, accumulator memory, output queue
and the sequencing of one tile).

One command runs one tile (``hwsim.core.program.Tile``) from three input streams to one output
stream; docs/rtl.md has the protocol and the timing diagram, hwsim.core.timing.ws_tile_cycles the
cycle count of this schedule.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from ._array import SystolicArray
from ._dsp import AccMemory
from ._ice40_issue import finish as ice40_finish
from ._ice40_issue import issue as ice40_issue
from ._params import Params
from ._pipe import delayed
from ._queue import OutputQueue

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
        """The output queue's depth (rtl.Params.out_queue_depth)."""
        return self._p.out_queue_depth

    def elaborate(self, platform) -> Module:
        p = self._p
        cfg = p.cfg
        R, C = cfg.rows, cfg.cols
        m = Module()
        m.submodules.mesh = mesh = SystolicArray(p)
        out_row = data.StructLayout({"data": p.out_layout, "last": 1})
        # For an FPGA the queue whose write and read enables come straight from registers (same
        # cycles); the ASIC presets keep Amaranth's FIFO, the RTL the area table was fitted on.
        queue_type = OutputQueue if p.registered_control else SyncFIFOBuffered
        queue_args = {"target": p.target} if p.registered_control else {}
        m.submodules.queue = queue = queue_type(width=out_row.size, depth=self.out_queue_depth, **queue_args)

        if p.short_enables:
            s = ice40_issue(m, self, p)
            busy, tile, n_mask, w_fire, a_fire = s.busy, s.tile, s.n_mask, s.w_fire, s.a_fire
            a_row, a_first_fold, emit_row, a_last_fold, a_row_last = (s.a_row, s.a_first_fold, s.emit_row, s.a_last_fold,
                                                                     s.a_row_last)
            self._feed_weights(m, mesh, s.w_row, s.w_bank, w_fire, n_mask)
            self._feed_activations(m, mesh, a_fire, s.a_lanes, s.a_bank)
        else:
            # ---- Issue. Every ready is a function of single-bit state registers (one or two LUTs):
            # each comparison a ready or a fold switch needs is kept as a flag, updated from the
            # counters one step ahead, so no counter's compare sits between a register and a ready.
            busy = Signal()
            tile = Signal(p.cmd_layout)
            n_mask = Signal(C)                  # lane c < n: weight lanes and result lanes in use
            m_minus_1 = Signal(p.m_bits)
            m_is_1 = Signal()
            # Weight issue: rows left in the tile, row within the fold, the fold's bank.
            w_left = Signal(p.k_bits)
            w_more = Signal()                   # w_left != 0
            w_one = Signal()                    # w_left == 1
            w_row = Signal(p.array_row_bits)
            w_row_last = Signal()               # w_row == R - 1
            w_bank = Signal()
            # Activation issue: K rows left from this fold on, row of A within the fold, the fold's bank.
            a_left = Signal(p.k_bits)
            a_more = Signal()                   # a_left != 0
            a_last_fold = Signal()              # a_left <= R
            a_lanes = Signal(R)                 # lane r < min(R, a_left): the fold's rows of K
            a_row = Signal(p.m_bits)
            a_togo = Signal(p.m_bits)           # m - 1 - a_row
            a_row_last = Signal()               # a_row == m - 1
            a_first_fold = Signal()
            a_bank = Signal()
            # Weight folds issued minus activation folds issued: 0, 1 or 2.
            gap_some = Signal()                 # gap != 0
            gap_full = Signal()                 # gap == 2
            # Output queue entries not yet promised to an issued row.
            credits = Signal(range(self.out_queue_depth + 1), init=self.out_queue_depth)
            credit_ok = Signal(init=1)          # credits != 0

            emit_row = Signal()                 # a_last_fold & tile.emit: this fold's rows produce results
            # Fold f's weights go into bank f % 2, which fold f - 2 used: they wait until all of fold
            # f - 2 has been issued (gap < 2). Fold f's activations wait until all its weights are in
            # (gap > 0), so they read complete weights whatever gaps the streams have.
            # (w_more and a_more are only ever set while busy, so busy itself is not needed here.)
            want_w = w_more & ~gap_full
            # With acc_stages = 3 an accumulator row may not be added in two consecutive cycles: a
            # one-row tile (m = 1) waits a cycle after each fold (row_gap = 2).
            held = Signal()
            want_a = a_more & gap_some & (~emit_row | credit_ok) & ~held
            if p.registered_control:
                # For an FPGA that enable is itself a register, computed from the flags' next values
                # at the end of elaborate: the issue's updates then start at one register.
                a_go = Signal(name="a_go")
                want_a = a_go
            m.d.comb += [
                self.cmd.ready.eq(~busy),
                self.w.ready.eq(want_w),
                self.a.ready.eq(want_a),
            ]
            w_fire = self.w.valid & self.w.ready
            a_fire = self.a.valid & self.a.ready
            w_fold_end = w_fire & (w_row_last | w_one)
            a_fold_end = a_fire & a_row_last
            if cfg.pipeline.row_gap > 1:
                m.d.sync += held.eq(a_fold_end & m_is_1)

            accept = self.cmd.valid & self.cmd.ready

            def issue_flags(src, k_small=None, m_small=None) -> dict:
                # With k_small (k < 2 ** kb, kb the bits of R) and m_small (m == 1) given as registers,
                # the compares of k with R and of m with 1 are a few-input LUT each.
                k_low = src.k if k_small is None else src.k[:kb]
                if k_small is None:
                    k_le_r = k_low <= R
                else:
                    k_le_r = k_small if (1 << kb) - 1 <= R else k_small & (k_low <= R)  # no constant compare
                k_gt = [(k_low > r) if k_small is None else ~k_small | (k_low > r) for r in range(R)]
                m_is_one = (src.m == 1) if m_small is None else m_small
                flags = {"m_minus_1": m_minus_1.eq(src.m - 1), "m_is_1": m_is_1.eq(m_is_one),
                         "a_last_fold": a_last_fold.eq(k_le_r), "emit_row": emit_row.eq(k_le_r & src.emit),
                         "a_lanes": a_lanes.eq(Cat(*k_gt)),
                         "a_togo": a_togo.eq(src.m - 1), "a_row_last": a_row_last.eq(m_is_one)}
                if m_small is not None:
                    # m - 1 was latched with the command: the cycle after copies it.
                    del flags["m_minus_1"]
                    flags["a_togo"] = a_togo.eq(m_minus_1)
                return flags

            kb = R.bit_length()
            k_small, m_small = Signal(name="k_small"), Signal(name="m_small")

            with m.If(accept):
                cmd = self.cmd.payload
                now = {} if p.registered_control else issue_flags(cmd)
                m.d.sync += [
                    busy.eq(1), tile.eq(cmd), n_mask.eq(Cat(*(cmd.n > c for c in range(C)))),
                    *(now[k] for k in ("m_minus_1", "m_is_1") if k in now),
                    w_left.eq(cmd.k), w_more.eq(1), w_one.eq(cmd.k == 1), w_row.eq(0), w_row_last.eq(R == 1),
                    w_bank.eq(0),
                    a_left.eq(cmd.k), a_more.eq(1), *(now[k] for k in ("a_last_fold", "emit_row", "a_lanes") if k in now),
                    a_row.eq(0), *(now[k] for k in ("a_togo", "a_row_last") if k in now), a_first_fold.eq(1), a_bank.eq(0),
                    gap_some.eq(0), gap_full.eq(0),
                ]
            if p.registered_control:
                # The activation issue's flags are first needed two cycles after the command (its
                # first weight row goes in the cycle after it), so they are computed in the cycle
                # after, from the latched tile; the wide parts of the compares (k's high bits zero,
                # m == 1) are registered with the command.
                started = Signal(name="started")
                m.d.sync += started.eq(accept)
                with m.If(accept):
                    m.d.sync += [k_small.eq(self.cmd.payload.k[kb:] == 0 if p.k_bits > kb else 1),
                                 m_small.eq(self.cmd.payload.m[1:] == 0 if p.m_bits > 1 else 1),
                                 m_minus_1.eq(self.cmd.payload.m - 1)]
                with m.If(started):
                    m.d.sync += list(issue_flags(tile, k_small, m_small).values())

            self._feed_weights(m, mesh, w_row, w_bank, w_fire, n_mask)
            with m.If(w_fire):
                m.d.sync += [w_left.eq(w_left - 1), w_more.eq(~w_one), w_one.eq(w_left == 2)]
                with m.If(w_row_last | w_one):
                    m.d.sync += [w_row.eq(0), w_row_last.eq(R == 1), w_bank.eq(~w_bank)]
                with m.Else():
                    m.d.sync += [w_row.eq(w_row + 1), w_row_last.eq(w_row == R - 2)]

            self._feed_activations(m, mesh, a_fire, a_lanes, a_bank)
            # The next fold's K rows left, whether it is the last and its lanes: with row_gap 2 folds
            # end at least two cycles apart (and the first ends two cycles after the command), so
            # these are registers computed from a_left in the cycle before, off the issue's path.
            next_left = Mux(a_last_fold, 0, a_left - R)
            if p.registered_control and cfg.pipeline.row_gap > 1:
                # For an FPGA the fold flags of a new tile are loaded in the cycle after the command,
                # when these registers are computed for a first fold that ends the cycle after (one
                # row per fold, m = 1): a_last_fold is still the last tile's then. After a last fold
                # nothing reads a_left (a_more is 0 until the next command loads it), so the value
                # without the choice is as good, and never stale.
                next_left = (a_left - R)[: len(a_left)]
            next_last = a_left <= 2 * R
            next_lanes = Cat(*(a_left > R + r for r in range(R)))
            if cfg.pipeline.row_gap > 1:
                ahead = [Signal.like(next_left, name="a_next_left"), Signal(name="a_next_last"),
                         Signal(R, name="a_next_lanes")]
                kb2 = (2 * R).bit_length()
                if p.registered_control and p.k_bits > kb2:
                    # For an FPGA, whether a_left is below 2 ** kb2 is a flag that follows a_left (from
                    # the command's k, then from a_next_left, both registers): the compares with
                    # 2 * R and R + r then take a_left's low kb2 bits only.
                    a_small = Signal(name="a_left_small")
                    with m.If(accept):
                        m.d.sync += a_small.eq(self.cmd.payload.k[kb2:] == 0)
                    with m.Elif(a_fold_end):
                        m.d.sync += a_small.eq(ahead[0][kb2:] == 0)
                    low = a_left[:kb2]
                    next_last = a_small & (low <= 2 * R)
                    next_lanes = Cat(*(~a_small | (low > R + r) for r in range(R)))
                m.d.sync += [reg.eq(value) for reg, value in zip(ahead, (next_left, next_last, next_lanes))]
                next_left, next_last, next_lanes = ahead
            with m.If(a_fire):
                with m.If(a_row_last):
                    m.d.sync += [a_row.eq(0), a_togo.eq(m_minus_1), a_row_last.eq(m_is_1), a_first_fold.eq(0),
                                 a_bank.eq(~a_bank), a_more.eq(~a_last_fold), a_last_fold.eq(next_last),
                                 emit_row.eq(next_last & tile.emit),
                                 a_left.eq(next_left), a_lanes.eq(next_lanes)]
                with m.Else():
                    m.d.sync += [a_row.eq(a_row + 1), a_togo.eq(a_togo - 1), a_row_last.eq(a_togo == 1)]
            with m.If(w_fold_end & ~a_fold_end):
                m.d.sync += [gap_some.eq(1), gap_full.eq(gap_some)]
            with m.If(a_fold_end & ~w_fold_end):
                m.d.sync += [gap_some.eq(gap_full), gap_full.eq(0)]

        # Each issued activation row carries a tag through a pipeline as long as the array's, so
        # the accumulator stage knows what the sums leaving the de-skew belong to.
        tag_layout = data.StructLayout({"valid": 1, "row": p.acc_addr_bits, "first": 1, "emit": 1, "last": 1})
        tag = Signal(tag_layout, name="tag_issue")
        m.d.comb += [tag.valid.eq(a_fire), tag.row.eq(a_row), tag.first.eq(a_first_fold & ~tile.accumulate),
                     tag.emit.eq(emit_row), tag.last.eq(a_last_fold & a_row_last)]
        # Segment j's sums reach the accumulator stage d0 + j cycles after issue; the forwarding
        # below looks up to 4 stages further on.
        segments = len(p.segments)
        d0 = cfg.array_latency - (segments - 1)
        depth = d0 + segments + 3
        # One shift register (one process in the Verilog).
        chain = Signal(data.ArrayLayout(tag_layout, depth), name="tags")
        m.d.sync += chain.as_value().eq(Cat(tag, chain.as_value()[: tag_layout.size * (depth - 1)]))
        stages = [tag] + [chain[i] for i in range(depth)]

        totals: list[list[Value]] = []
        for c in range(C):
            carry, lane = None, []
            for j in range(segments):
                total, carry = self._accumulate(m, stages, d0 + j, mesh.p_out[c][f"s{j}"], carry,
                                                last=j == segments - 1, name=f"acc_{c}_s{j}")
                lane.append(total)
            totals.append(lane)

        # The output register gathers the lanes, segments aligned, into one word in a single
        # assignment, then the queue.
        at = stages[d0 + segments - 1]
        # Lanes past n are zeroed: for an FPGA on the way out of the queue (n_mask holds while the
        # tile's rows are in it), so the output register takes the sum as the accumulator's own
        # sum register does, and the two are one register, in the adder's logic cell.
        mask_out = p.registered_control
        lanes = []
        for c in range(C):
            parts = [delayed(m, totals[c][j], segments - 1 - j, f"total_{c}_s{j}_align") for j in range(segments)]
            lanes.append(Cat(*parts) if mask_out else Mux(n_mask[c], Cat(*parts), 0))
        result = Signal(out_row, reset_less=True)
        result_valid = Signal()
        m.d.sync += [result.as_value().eq(Cat(*lanes, at.last)), result_valid.eq(at.valid & at.emit)]
        m.d.comb += [queue.w_data.eq(result), queue.w_en.eq(result_valid)]
        leaving = Signal(out_row)
        m.d.comb += [leaving.eq(queue.r_data), self.o.valid.eq(queue.r_rdy), queue.r_en.eq(self.o.ready)]
        if mask_out:
            m.d.comb += [self.o.payload[c].eq(Mux(n_mask[c], leaving.data[c], 0)) for c in range(C)]
        else:
            m.d.comb += self.o.payload.eq(leaving.data)
        o_fire = self.o.valid & self.o.ready

        if p.short_enables:
            ice40_finish(m, self, p, s, queue=queue, silent_end=self._silent_end(m, stages[d0 + segments - 2]))
            return m
        taken = a_fire & emit_row
        # A row's credit comes back when it leaves; for an FPGA a cycle later, from a register, so
        # the queue's r_rdy and o.ready reach neither the credit counter nor the issue.
        back = o_fire
        if p.registered_control:
            back = Signal(name="credit_back")
            m.d.sync += back.eq(o_fire)
        with m.If(taken & ~back):
            m.d.sync += credits.eq(credits - 1)
            m.d.sync += credit_ok.eq(credits != 1)
        with m.If(back & ~taken):
            m.d.sync += credits.eq(credits + 1)
            m.d.sync += credit_ok.eq(1)

        # A tile that emits nothing ends when its last tag reaches the output register; for an
        # FPGA that test is a register, made from the tag one stage before.
        silent_end = at.valid & at.last & ~at.emit
        if p.registered_control:
            silent_end = self._silent_end(m, stages[d0 + segments - 2])
            # want_a of the next cycle, from what each flag's updates above make of it (accept
            # and a fold's end never meet: a tile's activations start two cycles after it).
            a_more_n = Mux(accept, 1, Mux(a_fold_end, ~a_last_fold, a_more))
            gap_some_n = Mux(w_fold_end & ~a_fold_end, 1, Mux(a_fold_end & ~w_fold_end, gap_full, Mux(accept, 0, gap_some)))
            # In the cycle after a command the queue is empty (the tile before ended when its last
            # row left it), so credit_ok is 1 whatever emit_row becomes: its compare of the tile's
            # k is not needed here.
            emit_row_n = Mux(a_fold_end, next_last & tile.emit, emit_row)
            credit_ok_n = Mux(taken & ~back, credits != 1, Mux(back & ~taken, 1, credit_ok))
            held_n = a_fold_end & m_is_1 if cfg.pipeline.row_gap > 1 else Const(0, 1)
            m.d.sync += a_go.eq(a_more_n & gap_some_n & (~emit_row_n | credit_ok_n) & ~held_n)
        # An emitting tile ends when its last row leaves. For an FPGA, whether the row on the
        # output is the last is a register, ``armed`` (the queue holds a word that is the tile's
        # m-th to leave), made from next-state values: the end is then one AND with o.ready, not
        # the queue's read data through the credit and issue logic.
        emit_end = o_fire & leaving.last
        if p.registered_control:
            out_left = Signal(p.m_bits, name="out_left")  # rows of the tile still to leave
            out_one = Signal(name="out_one")              # out_left == 1
            armed = Signal(name="armed")                    # o.valid & (the word on o is the last)
            with m.If(started):
                m.d.sync += [out_left.eq(tile.m), out_one.eq(m_small)]
            with m.Elif(o_fire):
                m.d.sync += [out_left.eq(out_left - 1), out_one.eq(out_left == 2)]
            out_one_n = Mux(started, m_small, Mux(o_fire, out_left == 2, out_one))
            m.d.sync += armed.eq(queue.r_rdy_next & out_one_n)
            emit_end = armed & self.o.ready
        m.d.sync += self.done.eq(0)
        with m.If(busy & (silent_end | emit_end)):
            m.d.sync += [busy.eq(0), self.done.eq(1)]
        return m

    def _feed_weights(self, m: Module, mesh: SystolicArray, w_row: Value, w_bank: Value, w_fire: Value,
                      n_mask: Value) -> None:
        # Weight lanes past the tile's n are zeroed: loaded as given, they would multiply into
        # accumulator columns >= n, which a later accumulating tile with a larger n adds (issue 12).
        # n_mask is a register (set with the command), so no compare sits on the weight path.
        m.d.comb += [mesh.w_row.eq(w_row), mesh.w_bank.eq(w_bank), mesh.w_valid.eq(w_fire)]
        for c in range(self._p.cfg.cols):
            m.d.comb += mesh.w_data[c].eq(Mux(n_mask[c], self.w.payload[c], 0))

    def _feed_activations(self, m: Module, mesh: SystolicArray, a_fire: Value, a_lanes: Value, a_bank: Value) -> None:
        # Lanes past the fold's K rows meet stale weights: zero them. For an FPGA a bubble's
        # operands are left as they come (its sums carry an invalid tag, so the accumulator never
        # adds them): the data lanes then do not load a_fire, which every issue register needs.
        for r in range(self._p.cfg.rows):
            lane = a_fire & a_lanes[r]
            keep = a_lanes[r] if self._p.registered_control else lane
            m.d.comb += [mesh.a_data[r].eq(Mux(keep, self.a.payload[r], 0)), mesh.a_valid[r].eq(lane)]
        m.d.comb += mesh.a_bank.eq(a_bank)

    @staticmethod
    def _silent_end(m: Module, before: Value) -> Signal:
        # A tile that emits nothing ends when its last tag reaches the output register: for an
        # FPGA a register, made from the tag one stage before.
        silent_end = Signal(name="silent_end")
        m.d.sync += silent_end.eq(before.valid & before.last & ~before.emit)
        return silent_end

    def _accumulate(self, m: Module, stages: list, at: int, psum: Value, carry: Value | None, *, last: bool,
                    name: str) -> tuple[Value, Value | None]:
        """One segment of one column of the accumulator stage, which tag ``stages[at]`` reaches with
        ``psum``: returns that cycle's sum (the array's column sum plus the stored partial sum,
        or 0 on a tile's first fold, plus ``carry`` from the segment below) and the sum's carry out,
        registered for the segment above (None for the top one).

        ``cfg.pipeline.acc_stages`` (T = the cycle of the addition):

        1. the row is read in T - 1 (transparent to a write in that cycle), added and written back in T;
        2. read in T - 2, the data registered once more (the block RAM's output register), added
           and written back in T: the sums of T - 1 and T - 2 are forwarded;
        3. read in T - 3, data registered, the old value chosen in T - 1 (a register) among it and
           the sums of T - 2 .. T - 4, the sum registered and written back in T + 1. The sum of
           T - 1 is never needed: the issue keeps the rows of one accumulator row at least two
           cycles apart (``cfg.pipeline.row_gap``), so the adder's operands are both registers.

        Every comparison of rows is made a cycle or two ahead from the tags, into registers.
        """
        p = self._p
        mode = p.cfg.pipeline.acc_stages
        width = len(psum)
        latency = 1 if mode == 1 else 2
        ahead = 1 if mode == 3 else 0       # the old value's own register stage
        # For an iCE40 the read data's register also takes the older forwarded sums (below).
        merge = p.short_enables and mode == 3 and at >= 4
        mem = AccMemory(width, p.cfg.acc_depth, 1 if merge else latency, transparent=mode == 1, target=p.target)
        m.submodules[name] = mem
        m.d.comb += mem.r_addr.eq(stages[at - latency - ahead].row)
        tag = stages[at]

        def same_row(i: int, d: int) -> Value:
            """Whether the tag that reaches the stage d cycles before stages[i]'s does is valid and
            writes the same row (both seen in this cycle: it is d stages further on)."""
            return stages[i + d].valid & (stages[i + d].row == stages[i].row)

        if mode == 1:
            old = Mux(tag.first, 0, mem.r_data)
        else:
            sums = [Signal(width, name=f"{name}_sum_{d}", reset_less=True) for d in (1, 2, 3)]
            if mode == 2:
                # Registers, computed in T - 1: which of the sums of T - 1, T - 2 is the row's newest.
                first = Signal(name=f"{name}_first", reset_less=True)
                hit = [Signal(name=f"{name}_hit_{d}", reset_less=True) for d in (1, 2)]
                m.d.sync += [first.eq(stages[at - 1].first)] + [h.eq(same_row(at - 1, d)) for d, h in zip((1, 2), hit)]
                old = Mux(first, 0, Mux(hit[0], sums[0], Mux(hit[1], sums[1], mem.r_data)))
            else:
                # In T - 2: hits of T - 2 .. T - 4; in T - 1: the old value, a register. A row is
                # never added in two consecutive cycles here (the issue keeps a one-row tile's
                # folds two cycles apart), so nothing is chosen in T itself.
                hit = [Signal(name=f"{name}_hit_{d}", reset_less=True) for d in (2, 3, 4)]
                if p.registered_control and at >= 4:
                    # For an FPGA the row compares are made a cycle earlier still, on the same two
                    # tags one stage back, so each hit is a register of a register.
                    pre = [Signal(name=f"{name}_pre_{d}", reset_less=True) for d in (2, 3, 4)]
                    if p.short_enables:
                        # For an iCE40 the compare itself is split over two cycles: two bits of
                        # the rows per register, a stage earlier still (both rows are registers,
                        # the issue's a_row included), then their AND with the later tag's valid.
                        for d, q in zip((2, 3, 4), pre):
                            a, b = stages[at - 4].row, stages[at - 4 + d].row
                            pieces = Signal((len(a) + 1) // 2, name=f"{name}_eq_{d}", reset_less=True)
                            valid = Signal(name=f"{name}_vld_{d}", reset_less=True)
                            m.d.sync += [pieces.eq(Cat(*(a[i:i + 2] == b[i:i + 2] for i in range(0, len(a), 2)))),
                                         valid.eq(stages[at - 4 + d].valid), q.eq(valid & pieces.all())]
                    else:
                        m.d.sync += [q.eq(same_row(at - 3, d)) for d, q in zip((2, 3, 4), pre)]
                    m.d.sync += [h.eq(q) for h, q in zip(hit, pre)]
                else:
                    m.d.sync += [h.eq(same_row(at - 2, d)) for d, h in zip((2, 3, 4), hit)]
                old = Signal(width, name=f"{name}_old", reset_less=True)
                older = Mux(hit[1], sums[1], Mux(hit[2], sums[2], mem.r_data))
                if merge:
                    # The choice among the sums of T - 3, T - 4 and the memory is made a cycle
                    # earlier, from the same values one register back (the read data straight
                    # from the block RAM): the old value is then a LUT of three registers.
                    older = Signal(width, name=f"{name}_older", reset_less=True)
                    m.d.sync += older.eq(Mux(pre[1], sums[0], Mux(pre[2], sums[1], mem.r_data)))
                m.d.sync += old.eq(Mux(stages[at - 1].first, 0, Mux(hit[0], sums[0], older)))

        if carry is None:
            full = psum + old
            total = full[:width]
        else:
            full = Cat(carry, psum) + Cat(Const(1, 1), old)
            total = full[1: width + 1]
        value = Signal(width, name=f"{name}_total")
        m.d.comb += value.eq(total)
        if mode != 1:
            m.d.sync += [sums[0].eq(value), sums[1].eq(sums[0]), sums[2].eq(sums[1])]
        if mode == 3:
            # The registered sum is written back one cycle later, with the row it belongs to.
            m.d.comb += [mem.w_addr.eq(stages[at + 1].row), mem.w_data.eq(sums[0]), mem.w_en.eq(stages[at + 1].valid)]
        else:
            m.d.comb += [mem.w_addr.eq(tag.row), mem.w_data.eq(value), mem.w_en.eq(tag.valid)]
        carry_out = None
        if not last:
            carry_out = Signal(name=f"{name}_carry", reset_less=True)
            if p.short_enables:
                # For an iCE40 the carry is kept for a valid row only (no other row's sums are
                # written, forwarded or output): a LUT of the chain's carry out, which nextpnr
                # places as the chain's next cell with the register, not as a separate cell.
                m.d.sync += carry_out.eq(full[len(full) - 1] & tag.valid)
            else:
                m.d.sync += carry_out.eq(full[len(full) - 1])
        return value, carry_out

"""The tile controller's issue for an iCE40: the same cycles as the ECP5 issue (docs/rtl.md#timing),
written so that no path between two registers is more than three LUTs deep, the last one packed
with its register (docs/rtl.md#pipeline).

On an iCE40 UP5K a LUT costs about 1.2 ns and the shortest route between two logic cells 1.76 ns,
so a period of 12 ns leaves room for about three LUTs when the last one sits in its register's
logic cell. What that takes:

* every fire (``accept``, ``a_fire``, ``w_fire`` and the two fold ends) and every flag's last LUT
  is an rtl._lut LUT, which Yosys's mapper neither merges nor deepens: a fire is one LUT, and a
  flag's next value is never shared with another flag's, so nextpnr packs it with the register;
* the counters are rtl._countdown counters of four-bit digits (no 15-bit carry chain);
* the fold flags of the next fold (is it the last, does it emit, its lanes) are registers made a
  cycle ahead, from K rows left kept as a short low part and a count of its overflows;
* the output queue's free entries are a thermometer code, so "is an entry free" and "is more than
  one free" are register bits.

The flags' next values are those of the ECP5 issue split by what fires in the cycle (see
:func:`finish`).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring

from ._countdown import countdown
from ._lut import all_of, and_all, equals, lut
from ._params import Params

__all__ = ["Ice40Issue", "issue", "finish"]


@dataclass(frozen=True)
class Ice40Issue:
    """The issue's signals that the rest of the controller reads, and those :func:`finish` completes."""

    busy: Signal
    accept: Signal
    started: Signal
    tile: Signal
    n_mask: Signal
    m_small: Signal
    w_fire: Signal
    w_row: Signal
    w_bank: Signal
    a_fire: Signal
    a_row: Signal
    a_bank: Signal
    a_lanes: Signal
    a_first_fold: Signal
    a_last_fold: Signal
    a_row_last: Signal
    emit_row: Signal
    # Read by finish() only.
    a_go: Signal
    w_go: Signal
    w_last: Value
    w_one: Value
    w_more: Signal
    a_more: Signal
    a_fold_cont: Value
    a_next_emit: Value
    a_fold_end: Signal
    w_fold_end: Signal
    gap_some: Signal
    gap_full: Signal


def issue(m: Module, ctl: wiring.Component, p: Params) -> Ice40Issue:
    """The command, weight and activation issue of ``ctl`` (a TileController): its registers and
    their updates, except the readies ``a_go``/``w_go``, the fold gap, ``busy`` and the output
    side, which :func:`finish` adds once the credit and queue signals exist."""
    cfg, t = p.cfg, p.target
    R, C = cfg.rows, cfg.cols
    ahead = cfg.pipeline.row_gap > 1     # folds end two cycles apart at least
    # The registers a command (re)loads have no reset: an iCE40 register's synchronous reset acts
    # only when it is enabled, so a reset would be one more input of each enable.
    loaded = dict(reset_less=True)
    busy, a_go, w_go = Signal(name="busy"), Signal(name="a_go"), Signal(name="w_go")
    m.d.comb += [ctl.cmd.ready.eq(~busy), ctl.w.ready.eq(w_go), ctl.a.ready.eq(a_go)]
    a_row_last = Signal(name="a_row_last", **loaded)
    w_last = Const(1, 1) if R == 1 else Signal(name="w_last", **loaded)   # this weight row ends its fold
    # A command is accepted into many registers across the chip: one copy of the LUT for each
    # group of them, so that each can sit near its group (nextpnr does not duplicate logic).
    def accepted(name: str) -> Signal:
        return lut(m, t, name, lambda v, b: v & (b ^ 1), ctl.cmd.valid, busy)
    accept = accepted("accept")
    w_fire = lut(m, t, "w_fire", lambda v, g: v & g, ctl.w.valid, w_go)
    w_fold_end = lut(m, t, "w_fold_end", lambda v, g, last: v & g & last, ctl.w.valid, w_go, w_last)
    a_fire = lut(m, t, "a_fire", lambda v, g: v & g, ctl.a.valid, a_go)
    a_fold_end = lut(m, t, "a_fold_end", lambda v, g, last: v & g & last, ctl.a.valid, a_go, a_row_last)
    started = Signal(name="started")
    m.d.sync += started.eq(accept)
    # The fold flags are loaded in the cycle after a command and at each fold's end; the row
    # flags in the cycle after a command and at each row.
    fold_start = lut(m, t, "fold_start", lambda s, v, g, last: s | (v & g & last), started, ctl.a.valid, a_go, a_row_last)
    row_start = lut(m, t, "row_start", lambda s, v, g: s | (v & g), started, ctl.a.valid, a_go)

    # ---- The command, and what the issue compares of it, latched when it is accepted.
    cmd = ctl.cmd.payload
    kb, kb2 = R.bit_length(), (2 * R).bit_length()
    tile = Signal(p.cmd_layout, name="tile", **loaded)
    n_mask = Signal(C, name="n_mask", **loaded)                  # lane c < n
    k_small = Signal(name="k_small", **loaded)                   # k < 2 ** kb
    m_small = Signal(name="m_small", **loaded)                   # m == 1
    m_minus_1 = Signal(p.m_bits, name="m_minus_1", **loaded)
    with m.If(accepted("accept_cmd")):
        m.d.sync += [tile.eq(cmd), n_mask.eq(Cat(*(cmd.n > c for c in range(C)))),
                     k_small.eq(equals(m, t, "k_small_cmd", cmd.k[kb:], 0) if p.k_bits > kb else 1),
                     m_small.eq(equals(m, t, "m_small_cmd", cmd.m[1:], 0) if p.m_bits > 1 else 1),
                     m_minus_1.eq(cmd.m - 1)]

    # ---- Weights: rows left, the row within the fold, the fold's bank. Each is loaded in every
    # idle cycle (so also in the one a command is accepted: the enable is one LUT of ``busy`` and
    # the fire, not of the accept), then steps with the rows.
    w_left = countdown(m, t, "w_left", cmd.k, (lambda b: b ^ 1, [busy]),
                       lambda nm, below: all_of(m, t, nm, lambda b, v, g, x: (b ^ 1) | (v & g & x),
                                                [busy, ctl.w.valid, w_go], below))
    w_one = w_left.one
    w_more = Signal(name="w_more")
    m.d.sync += w_more.eq(lut(m, t, "w_more_n", lambda acc, f, one, more: acc | (f & (one ^ 1)) | ((f ^ 1) & more),
                              accept, w_fire, w_one, w_more))
    w_row = Signal(p.array_row_bits, name="w_row", **loaded)
    w_bank = Signal(name="w_bank", **loaded)
    w_step = lut(m, t, "w_step", lambda c, b, v, g: (c & (b ^ 1)) | (v & g), ctl.cmd.valid, busy, ctl.w.valid, w_go)
    with m.If(lut(m, t, "w_row_step", lambda b, v, g: (b ^ 1) | (v & g), busy, ctl.w.valid, w_go)):
        m.d.sync += w_row.eq(Mux(~busy | w_last, 0, w_row + 1))
    with m.If(lut(m, t, "w_bank_step", lambda b, v, g, last: (b ^ 1) | (v & g & last), busy, ctl.w.valid, w_go, w_last)):
        m.d.sync += w_bank.eq(Mux(busy, ~w_bank, 0))
    if R > 1:
        # The next row ends its fold if it is row R - 1 or the tile's last (w_left == 2 now).
        running = Signal(name="w_last_fire")
        m.d.comb += running.eq(((~w_last) & (w_row == R - 2)) | w_left.two)
        first = equals(m, t, "w_last_cmd", cmd.k, 1)
        with m.If(w_step):
            m.d.sync += w_last.eq(lut(m, t, "w_last_n", lambda b, r, f: (b & r) | ((b ^ 1) & f), busy, running, first))

    # ---- Activations: the row within the fold and the rows left after it, the fold's bank.
    # Rows of the fold after this one: loaded in the cycle after a command and at each fold's
    # last row, one off per row.
    def togo_step(nm: str, below: list[Value]) -> Signal:
        if not below:
            return lut(m, t, nm, lambda s, v, g: s | (v & g), started, ctl.a.valid, a_go)
        ends = lut(m, t, f"{nm}_ends", lambda last, *zs: last | and_all(*zs), a_row_last, *below)
        return lut(m, t, nm, lambda s, v, g, e: s | (v & g & e), started, ctl.a.valid, a_go, ends)
    a_togo = countdown(m, t, "a_togo", m_minus_1, (lambda s, last: s | last, [started, a_row_last]), togo_step)
    # The row, its flags and the bank start with the cycle after a command (the first row goes
    # in the cycle after that at the earliest).
    a_row = Signal(p.m_bits, name="a_row", **loaded)
    a_bank = Signal(name="a_bank", **loaded)
    a_first_fold = Signal(name="a_first_fold", **loaded)
    with m.If(row_start):
        m.d.sync += [a_row.eq(Mux(started | a_row_last, 0, a_row + 1)),
                     a_row_last.eq(Mux(started | a_row_last, m_small, a_togo.one))]
    with m.If(fold_start):
        m.d.sync += [a_bank.eq(Mux(started, 0, ~a_bank)), a_first_fold.eq(started)]

    # K rows left from this fold on: a low part of kb2 bits, less R at each fold's end, and a
    # count of the times it went below zero (the high part). The next fold is the last when the
    # high part is zero and the low part at most 2R (< 2 ** kb2).
    a_low = Signal(kb2, name="a_low", **loaded)
    lo_lt_r = Signal(name="a_low_lt_r")                          # the next fold's end borrows
    with m.If(lut(m, t, "a_low_step", lambda b, v, g, last: (b ^ 1) | (v & g & last), busy, ctl.a.valid, a_go, a_row_last)):
        m.d.sync += a_low.eq(Mux(busy, a_low - R, cmd.k[:kb2]))
    # With folds two cycles apart the fold flags of the next fold are registers, made in the
    # cycle after the one before ends (or after the command) from the counts it left.
    early = m.d.sync if ahead else m.d.comb
    early += lo_lt_r.eq(a_low < R)
    if p.k_bits > kb2:
        def high_step(nm: str, below: list[Value]) -> Signal:
            return all_of(m, t, nm, lambda b, v, g, x: (b ^ 1) | (v & g & x), [busy, ctl.a.valid, a_go],
                          [a_row_last, lo_lt_r, *below])
        high_zero = countdown(m, t, "a_high", cmd.k[kb2:], (lambda b: b ^ 1, [busy]), high_step).zero
    else:
        high_zero = Const(1, 1)
    next_last, next_emit, next_lanes = Signal(name="a_next_last"), Signal(name="a_next_emit"), Signal(R, name="a_next_lanes")
    early += [next_last.eq(high_zero & (a_low <= 2 * R)), next_emit.eq(high_zero & (a_low <= 2 * R) & tile.emit),
              next_lanes.eq(Cat(*(~high_zero | (a_low > R + r) for r in range(R))))]
    # The first fold's flags, from the latched command (its first row goes in two cycles after
    # it at the earliest), then the next fold's at each fold's end.
    k_low = tile.k[:kb]
    k_le_r = k_small if (1 << kb) - 1 <= R else k_small & (k_low <= R)
    a_last_fold, emit_row = Signal(name="a_last_fold", **loaded), Signal(name="emit_row", **loaded)
    a_lanes = Signal(R, name="a_lanes", **loaded)
    with m.If(fold_start):
        m.d.sync += [a_last_fold.eq(Mux(started, k_le_r, next_last)), emit_row.eq(Mux(started, k_le_r & tile.emit, next_emit)),
                     a_lanes.eq(Mux(started, Cat(*(~k_small | (k_low > r) for r in range(R))), next_lanes))]
    a_more = Signal(name="a_more")
    m.d.sync += a_more.eq(lut(m, t, "a_more_n", lambda acc, e, last, more: acc | (e & (last ^ 1)) | ((e ^ 1) & more),
                              accept, a_fold_end, a_last_fold, a_more))
    if ahead:
        # The row after this one ends a fold that another follows at once (a one-row tile's folds
        # wait a cycle: the accumulator's row gap).
        a_fold_cont = Signal(name="a_fold_cont", **loaded)
        with m.If(row_start):
            m.d.sync += a_fold_cont.eq(~started & ~a_row_last & a_togo.one & ~a_last_fold)
    else:
        a_fold_cont = ~a_last_fold
    return Ice40Issue(busy=busy, accept=accept, started=started, tile=tile, n_mask=n_mask, m_small=m_small,
                      w_fire=w_fire, w_row=w_row, w_bank=w_bank, a_fire=a_fire, a_row=a_row, a_bank=a_bank,
                      a_lanes=a_lanes, a_first_fold=a_first_fold, a_last_fold=a_last_fold, a_row_last=a_row_last,
                      emit_row=emit_row, a_go=a_go, w_go=w_go, w_last=w_last, w_one=w_one, w_more=w_more,
                      a_more=a_more, a_fold_cont=a_fold_cont, a_next_emit=next_emit, a_fold_end=a_fold_end,
                      w_fold_end=w_fold_end, gap_some=Signal(name="gap_some"), gap_full=Signal(name="gap_full"))


def finish(m: Module, ctl: wiring.Component, p: Params, s: Ice40Issue, *, queue: wiring.Component,
           silent_end: Signal) -> None:
    """The readies, the fold gap, the credits, the end of a tile and ``done``.

    ``a_go`` of the next cycle is the ECP5 issue's (``a_more & gap_some & (~emit_row | credit_ok)
    & ~held`` of the flags' next values) split by what fires. An activation that fires (``a_go``
    was 1, so ``a_more``, ``gap_some`` and the entry it needed were there) and does not end its
    fold leaves the stream going unless it takes the last free entry; one that ends its fold
    lets the next fold follow at once only if there is one and the tile's rows are more than
    one (``a_fold_cont``), its weights are in and it finds a free entry if it emits. Without a
    fire the stream goes on while there are folds, their weights are in and an emitting fold
    has an entry. Neither ``accept`` nor ``started`` enters: the gap and ``a_more`` are 0 before
    a command, and every entry is free in the cycle after one (the tile before ended when its
    last row left).
    """
    t = p.target
    av, wv = ctl.a.valid, ctl.w.valid
    a_go, w_go, gap_some, gap_full = s.a_go, s.w_go, s.gap_some, s.gap_full
    afe, wfe = s.a_fold_end, s.w_fold_end

    # A row's credit comes back a cycle after the row leaves, from a register; the entries in
    # use are a thermometer code (bit i: fewer than i + 1 free), 0 at reset as an iCE40
    # register is without an inverter.
    o_fire = lut(m, t, "o_fire", lambda r, e: r & e, queue.r_rdy, ctl.o.ready)
    back = Signal(name="credit_back")
    m.d.sync += back.eq(o_fire)
    used = Signal(p.out_queue_depth, name="used")
    taken = s.a_fire & s.emit_row
    with m.If(taken ^ back):
        m.d.sync += used.eq(Mux(back, Cat(Const(0, 1), used[:-1]), Cat(used[1:], Const(1, 1))))
    u0, u1 = used[0], used[1]   # no entry free, at most one free

    w_gap_some = lut(m, t, "w_gap_some", lambda v, g, last, gs: (v & g & last) | gs, wv, w_go, s.w_last, gap_some)
    w_gap_full = lut(m, t, "w_gap_full", lambda v, g, last, gf: (v & g & last) | gf, wv, w_go, s.w_last, gap_full)
    idle = lut(m, t, "a_go_idle", lambda more, e, b, n0: more & ((e ^ 1) | b | (n0 ^ 1)), s.a_more, s.emit_row, back, u0)
    row = lut(m, t, "a_go_row", lambda e, b, n1: (e ^ 1) | b | (n1 ^ 1), s.emit_row, back, u1)
    fold = lut(m, t, "a_go_fold", lambda cont, ne, b, n0: cont & ((ne ^ 1) | b | (n0 ^ 1)), s.a_fold_cont,
               s.a_next_emit, back, u0)
    waiting = lut(m, t, "a_go_wait", lambda i, w: i & w, idle, w_gap_some)
    fired = lut(m, t, "a_go_fire", lambda last, f, w, r: (last & f & w) | ((last ^ 1) & r), s.a_row_last, fold,
                w_gap_full, row)
    m.d.sync += a_go.eq(lut(m, t, "a_go_n", lambda v, g, w, f: (v & g & f) | (((v & g) ^ 1) & w), av, a_go, waiting, fired))
    # Weights: without a fire they go on while rows are left and the second bank is free (or an
    # activation fold's end frees it); a fire keeps them going unless it was the tile's last row
    # or it ends a fold that fills the second bank.
    go_fire = lut(m, t, "w_go_fire", lambda one, last, gs, e: (one ^ 1) & ((last & gs & (e ^ 1)) ^ 1),
                  s.w_one, s.w_last, gap_some, afe)
    go_idle = lut(m, t, "w_go_idle", lambda b, c, more, gf: (b & more & (gf ^ 1)) | ((b ^ 1) & c),
                  s.busy, ctl.cmd.valid, s.w_more, gap_full)
    go_wait = lut(m, t, "w_go_wait", lambda i, more, e: i | (more & e), go_idle, s.w_more, afe)
    m.d.sync += w_go.eq(lut(m, t, "w_go_n", lambda v, g, f, w: (v & g & f) | (((v & g) ^ 1) & w), wv, w_go, go_fire, go_wait))
    # Weight folds issued less activation folds issued: 0, 1 or 2 (both 0 before a command).
    m.d.sync += [
        gap_some.eq(lut(m, t, "gap_some_n", lambda w, a, gf, gs: (w & (a ^ 1)) | (a & (w ^ 1) & gf) | ((w ^ a ^ 1) & gs),
                        wfe, afe, gap_full, gap_some)),
        gap_full.eq(lut(m, t, "gap_full_n", lambda w, a, gs, gf: (w & (a ^ 1) & gs) | ((w ^ a ^ 1) & gf),
                        wfe, afe, gap_some, gap_full)),
    ]

    # An emitting tile ends when its last row leaves: ``armed`` says the word on the output is
    # the tile's last (there is one and it is the m-th to leave), so the end is one AND with
    # o.ready. In the cycle after a command the queue is empty, so armed's next value needs no
    # ``started``.
    out_left = countdown(m, t, "out_left", s.tile.m, (lambda st: st, [s.started]),
                         lambda nm, below: all_of(m, t, nm, lambda st, r, e, x: st | (r & e & x),
                                                  [s.started, queue.r_rdy, ctl.o.ready], below))
    out_one = Signal(name="out_one", reset_less=True)               # out_left == 1
    with m.If(lut(m, t, "out_step", lambda st, r, e: st | (r & e), s.started, queue.r_rdy, ctl.o.ready)):
        m.d.sync += out_one.eq(Mux(s.started, s.m_small, out_left.two))
    r_rdy, r_en = queue.r_rdy, ctl.o.ready
    kept = lut(m, t, "out_one_kept", lambda r, e, two, one: (r & e & two) | (((r & e) ^ 1) & one), r_rdy, r_en,
               out_left.two, out_one)
    armed = Signal(name="armed")
    m.d.sync += armed.eq(lut(m, t, "armed_n", lambda nxt, k: nxt & k, queue.r_rdy_next, kept))
    end = Signal(name="tile_end")
    m.d.comb += end.eq(silent_end | (armed & ctl.o.ready))
    m.d.sync += [ctl.done.eq(s.busy & end), s.busy.eq(Mux(s.busy, ~end, s.accept))]

"""The three in-order engines (load, exec, store), their double-banked command memories and the
token counters between them, plus the exec engine's datapath (GEMM and POOL).

An engine fetches a command from its memory (synchronous read), waits until every token it waits on
is there, hands it to its unit (the *start* cycle: the tokens are taken) and, in the unit's done
cycle, sends its tokens and moves on: to the next command of the bank, or, after a ``last``
command, to command 0 of the other bank, which must be valid. The next command's read is issued in
the done cycle, so it can start in the cycle after (``TIMING.restart`` = 1); a bank that becomes
valid in cycle v lets its first command start in v + 2 (``TIMING.bank_fetch``).
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2, exact_log2

from hwsim.core.isa import COMMAND_BYTES, FIELDS, Engine, Opcode, Token

from ._controller import TileController
from ._epilogue import EPILOGUE_LATENCY, Epilogue
from ._feeders import AddressWalker, StreamFeeder, walker_command_layout
from ._params import Params
from ._pool import POOL_LATENCY, PoolUnit

__all__ = ["CommandEngine", "TokenCounters", "ExecUnit", "field", "TOKEN_BITS"]

#: Width of a token counter: signals not yet waited for, at most 2^16 - 1.
TOKEN_BITS = 16
_OPCODES = {Engine.LOAD: (Opcode.LOAD,), Engine.EXEC: (Opcode.CONFIG, Opcode.GEMM, Opcode.POOL),
            Engine.STORE: (Opcode.STORE,)}


def field(word, opcode: Opcode, name: str):
    """Field ``name`` of ``opcode`` (hwsim.core.isa.FIELDS) sliced out of a 256-bit command."""
    for f in FIELDS[opcode]:
        if f.name == name:
            v = word[f.lsb : f.lsb + f.width]
            return v.as_signed() if f.signed else v
    raise KeyError(f"{opcode.name} has no field {name}")


class CommandEngine(wiring.Component):
    """One engine: its command memory (two banks of ``depth`` commands; written ``R`` bytes at a time
    by the DMA at word ``wr_addr``, bank b's command i at words ``(b * depth + i) * 32 / R`` ...) and
    its sequencer. ``launch`` (START) clears the banks and restarts at bank 0, command 0."""

    def __init__(self, engine: Engine, depth: int, R: int) -> None:
        self._engine = engine
        self._depth = depth
        self._R = R
        self._cw = COMMAND_BYTES // R
        self._wr_bits = ceil_log2(2 * depth * self._cw)
        super().__init__({
            "launch": In(1),
            "wr_addr": In(self._wr_bits), "wr_data": In(8 * R), "wr_en": In(1),
            "fill": In(1), "fill_bank": In(1),
            "start": Out(1), "cmd": Out(8 * COMMAND_BYTES), "done": In(1),
            "waits": Out(5), "tokens_ok": In(1), "give": Out(5),
            "busy": Out(1), "stalled": Out(1), "retire": Out(1), "ended": Out(1), "error": Out(1),
            "index": Out(16),
        })

    @property
    def wr_bits(self) -> int:
        return self._wr_bits

    def elaborate(self, platform) -> Module:
        m = Module()
        depth, cw = self._depth, self._cw
        mem = m.submodules.mem = Memory(shape=8 * COMMAND_BYTES, depth=2 * depth, init=[])
        wp = mem.write_port(granularity=8 * self._R)
        rp = mem.read_port()
        lane_bits = exact_log2(cw)
        m.d.comb += [wp.addr.eq(self.wr_addr[lane_bits:]), wp.data.eq(Cat(*[self.wr_data] * cw)),
                     wp.en.eq(Mux(self.wr_en, 1 << self.wr_addr[:lane_bits], 0) if cw > 1 else self.wr_en)]

        valid = Signal(2)
        bank = Signal()
        idx = Signal(range(depth))
        word = rp.data
        op = word[0:4]
        last = word[4]
        m.d.comb += [self.cmd.eq(word), self.waits.eq(word[5:10])]
        legal = Signal()
        m.d.comb += legal.eq(Cat(*[op == int(o) for o in _OPCODES[self._engine]]).any())
        is_last = Signal()
        # Bank b's command i is memory word b * depth + i (any depth, as the DMA writes it).
        at = lambda i, b: i + Mux(b, depth, 0)  # noqa: E731
        m.d.comb += rp.addr.eq(at(idx, bank))
        leave = Signal()  # the done cycle of a bank's last command
        next_bank = Mux(leave, ~bank, bank)

        cleared = Signal(2)
        m.d.comb += cleared.eq(Mux(leave, valid & ~(1 << bank), valid) if True else valid)
        set_mask = Mux(self.fill, Mux(self.fill_bank, 0b10, 0b01), 0)

        with m.FSM(name="engine"):
            with m.State("IDLE"):
                with m.If(self.launch):
                    m.d.sync += [bank.eq(0), idx.eq(0)]
                    m.next = "FETCH"
            with m.State("FETCH"):
                with m.If(valid.bit_select(bank, 1)):
                    m.d.comb += rp.en.eq(1)
                    m.next = "DECODE"
            with m.State("DECODE"):
                with m.If(op == int(Opcode.END)):
                    m.d.comb += self.retire.eq(1)
                    m.next = "ENDED"
                with m.Elif(~legal):
                    m.next = "ERROR"
                with m.Elif(self.tokens_ok):
                    m.d.comb += self.start.eq(1)
                    m.d.sync += is_last.eq(last)
                    m.next = "BUSY"
                with m.Else():
                    m.d.comb += self.stalled.eq(1)
            with m.State("BUSY"):
                m.d.comb += self.busy.eq(1)
                with m.If(self.done):
                    m.d.comb += [self.give.eq(word[10:15]), self.retire.eq(1), leave.eq(is_last)]
                    new_idx = Mux(is_last, 0, idx + 1)[: len(idx)]  # the memory address must see the bank
                    m.d.sync += [bank.eq(next_bank), idx.eq(new_idx)]
                    # Fetch the next command now when its bank is valid (it always is within a bank).
                    with m.If(valid.bit_select(next_bank, 1) & ~(leave & (next_bank == bank))):
                        m.d.comb += [rp.en.eq(1), rp.addr.eq(at(new_idx, next_bank))]
                        m.next = "DECODE"
                    with m.Else():
                        m.next = "FETCH"
            with m.State("ENDED"):
                m.d.comb += self.ended.eq(1)
                with m.If(self.launch):
                    m.d.sync += [bank.eq(0), idx.eq(0)]
                    m.next = "FETCH"
            with m.State("ERROR"):
                m.d.comb += self.error.eq(1)
                with m.If(self.launch):
                    m.d.sync += [bank.eq(0), idx.eq(0)]
                    m.next = "FETCH"
        # A bank becomes valid the cycle after the LOAD that filled it is done, and invalid the cycle
        # after the engine's done cycle of its last command; a fill wins over a leave in one cycle.
        with m.If(self.launch):
            m.d.sync += valid.eq(0)
        with m.Else():
            m.d.sync += valid.eq(cleared | set_mask)
        m.d.comb += self.index.eq(Cat(idx, bank))
        return m


class TokenCounters(wiring.Component):
    """The five counting semaphores: ``inc[t]`` from the signalling engine's done cycle, ``dec[t]``
    from the waiting engine's start cycle; ``avail[t]``: at least one token (a registered count, so
    a signal is visible in the cycle after it)."""

    def __init__(self) -> None:
        super().__init__({"clear": In(1), "inc": In(5), "dec": In(5), "avail": Out(5), "overflow": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        for t in Token:
            count = Signal(TOKEN_BITS, name=f"tokens_{t.name.lower()}")
            m.d.comb += self.avail[t].eq(count != 0)
            with m.If(self.clear):
                m.d.sync += count.eq(0)
            with m.Elif(self.inc[t] & ~self.dec[t]):
                m.d.sync += count.eq(count + 1)
                with m.If(count == (1 << TOKEN_BITS) - 1):
                    m.d.sync += self.overflow.eq(1)
            with m.Elif(self.dec[t] & ~self.inc[t]):
                m.d.sync += count.eq(count - 1)
            with m.If(self.clear):
                m.d.sync += self.overflow.eq(0)
        return m


class ExecUnit(wiring.Component):
    """The exec engine's unit: CONFIG (layer registers), GEMM (walker -> A feeder, W feeder ->
    tile controller -> epilogue -> obuf) and POOL (walker -> pool unit -> obuf).

    Cycle s is the start cycle (``start`` high, ``cmd`` the command). CONFIG is done in s + 1.
    GEMM: the feeders and the epilogue's parameter reads start in s, the tile controller takes
    the tile in s + 2 (``GEMM_ISSUE``) and the GEMM is done in its done cycle, or, when it emits,
    ``EPILOGUE_LATENCY`` cycles later (the cycle after the last obuf write). POOL: the walker reads
    m x kh x kw words in s + 1 ...; done the cycle after the last obuf write.
    """

    GEMM_ISSUE = 2

    def __init__(self, p: Params, sram_bits: int) -> None:
        self._p = p
        self._bits = sram_bits
        R = p.cfg.rows
        w = 8 * R
        super().__init__({
            "start": In(1), "cmd": In(8 * COMMAND_BYTES), "done": Out(1),
            "a_rd_addr": Out(sram_bits), "a_rd_en": Out(1), "a_rd_data": In(w),
            "r_rd_addr": Out(sram_bits), "r_rd_en": Out(1), "r_rd_data": In(w),
            "w_rd_addr": Out(sram_bits), "w_rd_en": Out(1), "w_rd_data": In(w),
            "p_rd_addr": Out(sram_bits), "p_rd_en": Out(1), "p_rd_data": In(w),
            "o_wr_addr": Out(sram_bits), "o_wr_data": Out(w), "o_wr_en": Out(1),
        })

    def elaborate(self, platform) -> Module:
        p, bits = self._p, self._bits
        R = p.cfg.rows
        m = Module()
        cmd = self.cmd
        op = cmd[0:4]
        is_config = self.start & (op == int(Opcode.CONFIG))
        is_gemm = self.start & (op == int(Opcode.GEMM))
        is_pool = self.start & (op == int(Opcode.POOL))

        # Layer registers (CONFIG).
        names = [f.name for f in FIELDS[Opcode.CONFIG][5:]]
        layer = {}
        for f in FIELDS[Opcode.CONFIG][5:]:
            layer[f.name] = Signal(f.width, name=f"cfg_{f.name}")
            with m.If(is_config):
                m.d.sync += layer[f.name].eq(cmd[f.lsb : f.lsb + f.width])
        assert set(names) == set(layer)
        lo, hi = layer["lo"].as_signed(), layer["hi"].as_signed()
        config_done = Signal()
        m.d.sync += config_done.eq(is_config)

        # The walker (GEMM's A words, POOL's windows) on abuf read port 1.
        m.submodules.walker = walker = AddressWalker(bits)
        wc = walker.cmd
        g = lambda name: field(cmd, Opcode.GEMM, name)  # noqa: E731
        pl = lambda name: field(cmd, Opcode.POOL, name)  # noqa: E731
        for key in ("in_h", "in_w", "out_w", "chunks", "chunk_stride", "kh", "kw", "stride_y", "stride_x",
                    "pad_top", "pad_left"):
            m.d.comb += getattr(wc, key).eq(layer[key])
        m.d.comb += [
            wc.pool.eq(op == int(Opcode.POOL)),
            walker.start.eq(is_gemm | is_pool),
            wc.a_addr.eq(Mux(wc.pool, pl("a_addr"), g("a_addr"))),
            wc.y0.eq(Mux(wc.pool, pl("y0"), g("y0"))),
            wc.oy0.eq(Mux(wc.pool, pl("oy0"), g("oy0"))),
            wc.ox0.eq(Mux(wc.pool, pl("ox0"), g("ox0"))),
            wc.m.eq(Mux(wc.pool, pl("m"), g("m"))),
            wc.chunk0.eq(g("chunk0")), wc.ky0.eq(g("ky0")), wc.kx0.eq(g("kx0")),
            wc.folds.eq((g("k") + (R - 1)) >> exact_log2(R)),
        ]
        pooling = Signal()
        with m.If(is_pool):
            m.d.sync += pooling.eq(1)
        with m.Elif(is_gemm):
            m.d.sync += pooling.eq(0)

        m.submodules.a_feed = a_feed = StreamFeeder(8 * R, bits)
        m.d.comb += [a_feed.issue.eq(walker.valid & ~pooling), a_feed.addr_in.eq(walker.addr),
                     a_feed.zero_in.eq(~walker.inside), a_feed.rd_data.eq(self.a_rd_data)]
        m.submodules.pool = pool = PoolUnit(R, bits)
        m.d.comb += [pool.start.eq(is_pool), pool.o_addr.eq(pl("o_addr")),
                     pool.avg.eq(layer["pool_mode"]), pool.mult.eq(layer["pool_mult"].as_signed()),
                     pool.shift.eq(layer["pool_shift"]), pool.lo.eq(lo), pool.hi.eq(hi),
                     pool.valid.eq(walker.valid & pooling), pool.inside.eq(walker.inside),
                     pool.first.eq(walker.first), pool.group_end.eq(walker.group_end),
                     pool.rd_data.eq(self.a_rd_data)]
        m.d.comb += [walker.step.eq(Mux(pooling, walker.valid, a_feed.rd_en)),
                     self.a_rd_addr.eq(walker.addr), self.a_rd_en.eq(a_feed.rd_en | pool.rd_en)]
        # POOL is done the cycle after its last write: POOL_LATENCY + 1 cycles after its last read.
        pool_end = Signal(POOL_LATENCY + 1)
        m.d.sync += pool_end.eq(Cat(pooling & walker.valid & walker.last, pool_end[:-1]))

        # The W feeder on wbuf read port 1: k consecutive words.
        m.submodules.w_feed = w_feed = StreamFeeder(8 * R, bits)
        w_addr = Signal(bits)
        w_left = Signal(16)
        with m.If(is_gemm):
            m.d.sync += [w_addr.eq(g("w_addr")), w_left.eq(g("k"))]
        with m.Elif(w_feed.rd_en):
            m.d.sync += [w_addr.eq(w_addr + 1), w_left.eq(w_left - 1)]
        m.d.comb += [w_feed.issue.eq(w_left != 0), w_feed.addr_in.eq(w_addr), w_feed.zero_in.eq(0),
                     w_feed.rd_data.eq(self.w_rd_data), self.w_rd_addr.eq(w_feed.rd_addr),
                     self.w_rd_en.eq(w_feed.rd_en)]

        # The tile controller takes the tile GEMM_ISSUE cycles after the start.
        m.submodules.core = core = TileController(p)
        tile = Signal(p.cmd_layout)
        issue = Signal(self.GEMM_ISSUE)
        m.d.sync += issue.eq(Cat(is_gemm, issue[:-1]))
        with m.If(is_gemm):
            m.d.sync += [tile.m.eq(g("m")), tile.k.eq(g("k")), tile.n.eq(g("n")), tile.accumulate.eq(g("accumulate")),
                         tile.emit.eq(g("emit"))]
        m.d.comb += [core.cmd.valid.eq(issue[-1]), core.cmd.payload.eq(tile)]
        wiring.connect(m, a_feed.out, core.a)  # same shapes: R lanes of 8 bits
        wiring.connect(m, w_feed.out, core.w)

        m.submodules.epilogue = epi = Epilogue(R, bits)
        m.d.comb += [epi.start.eq(is_gemm), epi.p_addr.eq(g("p_addr")), epi.r_addr.eq(g("r_addr")),
                     epi.o_addr.eq(g("o_addr")), epi.lo.eq(lo), epi.hi.eq(hi), epi.relu_pre.eq(layer["relu_pre"]),
                     epi.residual.eq(layer["residual"]), epi.p_rd_data.eq(self.p_rd_data),
                     epi.r_rd_data.eq(self.r_rd_data),
                     self.p_rd_addr.eq(epi.p_rd_addr), self.p_rd_en.eq(epi.p_rd_en),
                     self.r_rd_addr.eq(epi.r_rd_addr), self.r_rd_en.eq(epi.r_rd_en)]
        wiring.connect(m, core.o, epi.row)
        # An emitting GEMM is done the cycle after its last obuf write.
        gemm_end = Signal(EPILOGUE_LATENCY)
        m.d.sync += gemm_end.eq(Cat(core.done & tile.emit, gemm_end[:-1]))

        m.d.comb += [
            self.o_wr_en.eq(Mux(pooling, pool.o_wr_en, epi.o_wr_en)),
            self.o_wr_addr.eq(Mux(pooling, pool.o_wr_addr, epi.o_wr_addr)),
            self.o_wr_data.eq(Mux(pooling, pool.o_wr_data, epi.o_wr_data)),
            self.done.eq(config_done | pool_end[-1] | gemm_end[-1] | (core.done & ~tile.emit)),
        ]
        return m

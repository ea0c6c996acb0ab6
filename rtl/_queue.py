"""The tile controller's output queue, written for a short clock period.

It behaves cycle for cycle like Amaranth's ``SyncFIFOBuffered`` of the same depth (a memory of
``depth - 1`` words behind a read register, the first word falling through), with two changes
that take logic off its paths: a write is never refused (the controller reserves an entry for
every row it issues, so the queue is never written when full, and ``w_en`` drives the memory's
write enable directly), and whether the memory holds a word is a register, not a compare of
the level counter in front of the read.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ._dsp import sb_ram40_blocks, sb_ram40_written
from ._lut import lut

__all__ = ["OutputQueue"]


class OutputQueue(wiring.Component):
    """``depth`` words of ``width`` bits: ``w_en``/``w_data`` write one (never when full);
    ``r_rdy``/``r_data`` hold the oldest, which leaves in a cycle with ``r_en``; ``r_rdy_next`` is
    what ``r_rdy`` will be in the next cycle (for flags the user registers from it).

    With ``target = "ice40"`` the memory is written as SB_RAM40_4K blocks whose read enable is the
    block's own: inferred, Yosys would keep the read data in fabric registers behind the block
    (for a read of a word written in the same cycle, which the queue never makes: it reads only
    a word it holds and is never written when full)."""

    def __init__(self, width: int, depth: int, target: str = "generic") -> None:
        if depth < 3:
            raise ValueError(f"depth must be at least 3, got {depth!r}")
        self._width, self._depth, self._target = width, depth, target
        super().__init__({"w_en": In(1), "w_data": In(unsigned(width)), "r_en": In(1),
                          "r_data": Out(unsigned(width)), "r_rdy": Out(1), "r_rdy_next": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        inner = self._depth - 1
        produce, consume = Signal(range(inner)), Signal(range(inner))
        level = Signal(range(inner + 1))    # words in the memory
        some = Signal()                     # level != 0
        one = Signal()                      # level == 1
        write = self.w_en
        read = some & (~self.r_rdy | self.r_en)
        if self._target == "ice40" and sb_ram40_written(inner):
            sb_ram40_blocks(m, inner, w_en=write, w_addr=produce, w_data=self.w_data, r_addr=consume,
                            r_en=read, r_data=self.r_data)
        else:
            m.submodules.storage = storage = Memory(shape=unsigned(self._width), depth=inner, init=[])
            wr, rd = storage.write_port(), storage.read_port()
            m.d.comb += [wr.addr.eq(produce), wr.data.eq(self.w_data), wr.en.eq(write),
                         rd.addr.eq(consume), rd.en.eq(read), self.r_data.eq(rd.data)]
        if self._target == "ice40":
            # One LUT of three registers, which the controller's flags read: kept as written.
            nxt = lut(m, self._target, "r_rdy_next", lambda s, r, e: (s & ((r ^ 1) | e)) | (r & (e ^ 1)),
                      some, self.r_rdy, self.r_en)
            m.d.comb += self.r_rdy_next.eq(nxt)
        else:
            m.d.comb += self.r_rdy_next.eq(read | (self.r_rdy & ~self.r_en))
        with m.If(write):
            m.d.sync += produce.eq(Mux(produce == inner - 1, 0, produce + 1))
        with m.If(read):
            m.d.sync += [consume.eq(Mux(consume == inner - 1, 0, consume + 1)), self.r_rdy.eq(1)]
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        with m.If(write & ~read):
            m.d.sync += [level.eq(level + 1), some.eq(1), one.eq(~some)]
        with m.If(read & ~write):
            m.d.sync += [level.eq(level - 1), some.eq(~one), one.eq(level == 2)]
        return m

"""The POOL unit: max or average over windows of abuf, all R lanes at once, into obuf.

The address walker (``rtl._feeders.AddressWalker`` in POOL mode) presents one abuf word a cycle,
window by window; the word read in cycle t arrives in t + 1, where it is folded into the window's
running max or sum (a pixel outside the input is skipped by max and adds 0 to the sum). A window's
result is scaled in t + 2 (average: ``sum * pool_mult``) and rounded, clamped and written to obuf in
t + 3 (:data:`POOL_LATENCY` after its last word was read), exactly as
``hwsim.core.golden.avg_pool_scale``.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PoolUnit", "POOL_LATENCY", "SUM_BITS"]

#: Cycles from the read of a window's last word to the window's obuf write.
POOL_LATENCY = 3
#: Bits of a window's sum: int8 codes over at most 255 x 255 taps.
SUM_BITS = 8 + 16


class PoolUnit(wiring.Component):
    """``start`` latches ``o_addr``; each cycle with ``valid`` one word is read (``rd_en``) and
    folded in (``first``, ``inside``, ``group_end`` describe it, as the walker gives them)."""

    def __init__(self, R: int, sram_bits: int) -> None:
        self._R = R
        self._bits = sram_bits
        super().__init__({
            "start": In(1), "o_addr": In(sram_bits),
            "avg": In(1), "mult": In(signed(32)), "shift": In(6), "lo": In(signed(8)), "hi": In(signed(8)),
            "valid": In(1), "inside": In(1), "first": In(1), "group_end": In(1),
            "rd_en": Out(1), "rd_data": In(8 * R),
            "o_wr_addr": Out(sram_bits), "o_wr_data": Out(8 * R), "o_wr_en": Out(1),
        })

    def elaborate(self, platform) -> Module:
        R = self._R
        m = Module()
        o_addr = Signal(self._bits)
        with m.If(self.start):
            m.d.sync += o_addr.eq(self.o_addr)
        m.d.comb += self.rd_en.eq(self.valid)
        d_valid, d_inside, d_first, d_end = Signal(), Signal(), Signal(), Signal()
        m.d.sync += [d_valid.eq(self.valid), d_inside.eq(self.inside), d_first.eq(self.first),
                     d_end.eq(self.group_end)]
        x = data.ArrayLayout(signed(8), R)(self.rd_data)
        acc = [Signal(signed(SUM_BITS), name=f"acc_{c}", reset_less=True) for c in range(R)]
        fin = [Signal(signed(SUM_BITS), name=f"fin_{c}", reset_less=True) for c in range(R)]
        f_valid = Signal()
        for c in range(R):
            prev = Mux(d_first, Mux(self.avg, 0, -128), acc[c])
            folded = Mux(~d_inside, prev, Mux(self.avg, prev + x[c], Mux(x[c] > prev, x[c], prev)))
            with m.If(d_valid):
                m.d.sync += acc[c].eq(folded)
                with m.If(d_end):
                    m.d.sync += fin[c].eq(folded)
        m.d.sync += f_valid.eq(d_valid & d_end)
        # Scale (average) and hold (max).
        g_valid = Signal()
        g = [Signal(signed(SUM_BITS + 32), name=f"g_{c}", reset_less=True) for c in range(R)]
        for c in range(R):
            m.d.sync += g[c].eq(Mux(self.avg, fin[c] * self.mult, fin[c]))
        m.d.sync += g_valid.eq(f_valid)
        out = []
        for c in range(R):
            half = Signal(signed(SUM_BITS + 32), name=f"half_{c}")
            m.d.comb += half.eq(g[c] >> (self.shift - 1)[:6])
            y = Signal(signed(SUM_BITS + 32), name=f"y_{c}")
            m.d.comb += y.eq(Mux(self.avg, (half + 1) >> 1, g[c]))
            out.append(Mux(y < self.lo, self.lo, Mux(y > self.hi, self.hi, y))[:8])
        m.d.comb += [self.o_wr_en.eq(g_valid), self.o_wr_addr.eq(o_addr), self.o_wr_data.eq(Cat(*out))]
        with m.If(g_valid):
            m.d.sync += o_addr.eq(o_addr + 1)
        return m

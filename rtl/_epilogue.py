"""The store-path epilogue: int32 accumulator rows to int8 rows in obuf (SPEC §4, bit-exact with
``hwsim.core.golden.epilogue``).

Per lane c, with the output chunk's parameters (bias, mult, rmult, shift from the 13-word block in
wbuf) and CONFIG's lo, hi, relu_pre, residual::

    v = saturate_int32(acc + bias[c]);  t = v * mult[c]
    if relu_pre: t = max(t, 0)
    if residual: t = t + r * rmult[c]            (r: the same pixel's int8 code in abuf)
    y = clamp((t + 2^(shift[c]-1)) >> shift[c], lo, hi)

Pipeline: a row arriving in cycle t0 (the tile controller's ``o`` stream, always ready) is
saturated in t0, multiplied in t0 + 1 (its residual word, read in t0, arrives then), summed in
t0 + 2 and rounded, clamped and written to obuf in t0 + 3 (:data:`EPILOGUE_LATENCY`). The rounding
shift is done as ``((t >> (shift - 1)) + 1) >> 1``, which equals ``(t + 2^(shift-1)) >> shift``
without a 64-bit adder for the constant.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwsim.core.isa import PARAM_WORDS

__all__ = ["Epilogue", "EPILOGUE_LATENCY"]

#: Cycles from a row's arrival to its obuf write (the write is in the cycle t0 + this).
EPILOGUE_LATENCY = 3


class Epilogue(wiring.Component):
    """``start`` latches ``p_addr``, ``r_addr``, ``o_addr`` and reads the parameter block (13 words
    in 13 cycles from the next, bias first: the first row cannot arrive sooner than 13 cycles after
    a GEMM starts). Rows on ``row`` then go, in order, to obuf ``o_addr``, ``o_addr + 1``, ..."""

    def __init__(self, R: int, sram_bits: int) -> None:
        self._R = R
        self._bits = sram_bits
        word = 8 * R
        super().__init__({
            "start": In(1), "p_addr": In(sram_bits), "r_addr": In(sram_bits), "o_addr": In(sram_bits),
            "lo": In(signed(8)), "hi": In(signed(8)), "relu_pre": In(1), "residual": In(1),
            "row": In(stream.Signature(data.ArrayLayout(signed(32), R))),
            "p_rd_addr": Out(sram_bits), "p_rd_en": Out(1), "p_rd_data": In(word),
            "r_rd_addr": Out(sram_bits), "r_rd_en": Out(1), "r_rd_data": In(word),
            "o_wr_addr": Out(sram_bits), "o_wr_data": Out(word), "o_wr_en": Out(1),
        })

    def elaborate(self, platform) -> Module:
        R, word = self._R, 8 * self._R
        m = Module()
        p_addr = Signal(self._bits)
        r_addr = Signal(self._bits)
        o_addr = Signal(self._bits)

        # Parameter block: 13 reads, shifted in at the top so that word 0 ends at the bottom.
        params = Signal(PARAM_WORDS * word, reset_less=True)
        reads_left = Signal(range(PARAM_WORDS + 1))
        arriving = Signal()
        with m.If(self.start):
            m.d.sync += [p_addr.eq(self.p_addr + 1), r_addr.eq(self.r_addr), o_addr.eq(self.o_addr),
                         reads_left.eq(PARAM_WORDS - 1)]
        with m.Elif(reads_left != 0):
            m.d.sync += [p_addr.eq(p_addr + 1), reads_left.eq(reads_left - 1)]
        m.d.comb += [self.p_rd_addr.eq(Mux(self.start, self.p_addr, p_addr)),
                     self.p_rd_en.eq(self.start | (reads_left != 0))]
        m.d.sync += arriving.eq(self.p_rd_en)
        with m.If(arriving):
            m.d.sync += params.eq(Cat(params[word:], self.p_rd_data))
        lanes = data.ArrayLayout(signed(32), R)
        bias = lanes(params[0 : 4 * word])
        mult = lanes(params[4 * word : 8 * word])
        rmult = lanes(params[8 * word : 12 * word])
        shift = data.ArrayLayout(8, R)(params[12 * word : 13 * word])

        m.d.comb += self.row.ready.eq(1)
        fire = self.row.valid
        # Stage 0 (t0): saturate acc + bias; read the residual word.
        s1_valid = Signal()
        v = [Signal(signed(32), name=f"v_{c}", reset_less=True) for c in range(R)]
        lo32, hi32 = -(1 << 31), (1 << 31) - 1
        for c in range(R):
            total = self.row.payload[c] + bias[c]
            m.d.sync += v[c].eq(Mux(total < lo32, lo32, Mux(total > hi32, hi32, total)))
        m.d.sync += s1_valid.eq(fire)
        m.d.comb += [self.r_rd_addr.eq(r_addr), self.r_rd_en.eq(fire)]
        with m.If(fire):
            m.d.sync += r_addr.eq(r_addr + 1)
        # Stage 1 (t0 + 1): the products.
        s2_valid = Signal()
        t = [Signal(signed(64), name=f"t_{c}", reset_less=True) for c in range(R)]
        p = [Signal(signed(40), name=f"p_{c}", reset_less=True) for c in range(R)]
        r = data.ArrayLayout(signed(8), R)(self.r_rd_data)
        for c in range(R):
            m.d.sync += [t[c].eq(v[c] * mult[c]), p[c].eq(Mux(self.residual, r[c] * rmult[c], 0))]
        m.d.sync += s2_valid.eq(s1_valid)
        # Stage 2 (t0 + 2): activation before the residual, then the residual.
        s3_valid = Signal()
        u = [Signal(signed(65), name=f"u_{c}", reset_less=True) for c in range(R)]
        for c in range(R):
            m.d.sync += u[c].eq(Mux(self.relu_pre & (t[c] < 0), 0, t[c]) + p[c])
        m.d.sync += s3_valid.eq(s2_valid)
        # Stage 3 (t0 + 3): round, clamp, write.
        out = []
        for c in range(R):
            half = Signal(signed(65), name=f"half_{c}")
            m.d.comb += half.eq(u[c] >> (shift[c][:6] - 1)[:6])
            y = Signal(signed(65), name=f"y_{c}")
            m.d.comb += y.eq((half + 1) >> 1)
            out.append(Mux(y < self.lo, self.lo, Mux(y > self.hi, self.hi, y))[:8])
        m.d.comb += [self.o_wr_en.eq(s3_valid), self.o_wr_addr.eq(o_addr), self.o_wr_data.eq(Cat(*out))]
        with m.If(s3_valid):
            m.d.sync += o_addr.eq(o_addr + 1)
        return m

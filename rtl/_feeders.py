"""The exec engine's operand feeders: the abuf address walker (per-tap convolution addressing with
zero padding and stride, for GEMM and POOL), the A feeder and the W feeder (the tile controller's
``a`` and ``w`` streams).

The walker visits the (pixel, tap) pairs of one command in order and computes, one per cycle, the
abuf word of each and whether it lies inside the input (``hwsim.core.isa.Gemm`` states the
arithmetic). GEMM walks fold by fold (a fold = one tap and one chunk of R channels), the tile's m
pixels inside each fold; POOL walks pixel by pixel, the kh x kw window inside each. All state is
incremental (counters, one multiply for the row offset), so a fold or a window change costs no
cycle.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

__all__ = ["WalkerCommand", "AddressWalker", "StreamFeeder", "FEEDER_DEPTH"]

#: Words a feeder holds: one read in flight plus one waiting keeps one word per cycle flowing.
FEEDER_DEPTH = 4


def walker_command_layout(sram_bits: int) -> data.StructLayout:
    """What the walker needs: the layer geometry (CONFIG) and the command's start point."""
    return data.StructLayout({
        "pool": 1,
        "in_h": 16, "in_w": 16, "out_w": 16, "chunks": 16, "chunk_stride": sram_bits,
        "kh": 8, "kw": 8, "stride_y": 8, "stride_x": 8, "pad_top": 8, "pad_left": 8,
        "a_addr": sram_bits, "y0": 16, "oy0": 16, "ox0": 16, "chunk0": 16, "ky0": 8, "kx0": 8,
        "m": 16, "folds": 16,
    })


WalkerCommand = walker_command_layout


class AddressWalker(wiring.Component):
    """``start`` latches ``cmd``; then, while ``valid``, ``addr``/``inside`` describe the current
    word and ``first``/``group_end`` (POOL: the window's first and last tap), ``last`` (the
    command's last word) describe its place; ``step`` moves on. ``valid`` drops after the last."""

    def __init__(self, sram_bits: int) -> None:
        self._bits = sram_bits
        super().__init__({
            "start": In(1), "cmd": In(walker_command_layout(sram_bits)), "step": In(1),
            "valid": Out(1), "addr": Out(sram_bits), "inside": Out(1), "first": Out(1), "group_end": Out(1),
            "last": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        c = Signal(walker_command_layout(self._bits))  # the latched command
        with m.If(self.start):
            m.d.sync += c.eq(self.cmd)
        busy = Signal()
        # Pixel state: ox, and the input coordinates of tap (0, 0): oy * sy - pad_top, ox * sx - pad_left.
        ox = Signal(16)
        iyb = Signal(signed(18))
        ixb = Signal(signed(18))
        i = Signal(16)  # pixel index in the command
        # Tap state: ky, kx, chunk, and the chunk's abuf base.
        ky = Signal(8)
        kx = Signal(8)
        ch = Signal(16)
        cbase = Signal(self._bits)
        f = Signal(16)  # GEMM: fold index
        # The tile's first pixel, to go back to at each fold (GEMM).
        iyb0 = Signal(signed(18))
        ixb0 = Signal(signed(18))

        cmd = self.cmd
        with m.If(self.start):
            y = cmd.oy0 * cmd.stride_y - cmd.pad_top  # unsigned - unsigned is signed in Amaranth
            x = cmd.ox0 * cmd.stride_x - cmd.pad_left
            m.d.sync += [busy.eq(1), ox.eq(cmd.ox0), iyb.eq(y), ixb.eq(x), iyb0.eq(y), ixb0.eq(x), i.eq(0), f.eq(0),
                         ky.eq(Mux(cmd.pool, 0, cmd.ky0)), kx.eq(Mux(cmd.pool, 0, cmd.kx0)),
                         ch.eq(cmd.chunk0), cbase.eq(cmd.a_addr + Mux(cmd.pool, 0, cmd.chunk0 * cmd.chunk_stride))]

        iy = Signal(signed(19))
        ix = Signal(signed(19))
        m.d.comb += [iy.eq(iyb + ky), ix.eq(ixb + kx)]
        m.d.comb += [
            self.valid.eq(busy),
            self.inside.eq((iy >= 0) & (iy < c.in_h) & (ix >= 0) & (ix < c.in_w)),
            self.addr.eq(cbase + (iy - c.y0) * c.in_w + ix),
        ]
        window_end = (ky == c.kh - 1) & (kx == c.kw - 1)
        pixel_end = i == c.m - 1
        m.d.comb += [
            self.first.eq((ky == 0) & (kx == 0)),
            self.group_end.eq(window_end),
            self.last.eq(Mux(c.pool, window_end & pixel_end, pixel_end & (f == c.folds - 1))),
        ]

        def next_pixel():
            with m.If(ox == c.out_w - 1):
                m.d.sync += [ox.eq(0), ixb.eq(-c.pad_left), iyb.eq(iyb + c.stride_y)]
            with m.Else():
                m.d.sync += [ox.eq(ox + 1), ixb.eq(ixb + c.stride_x)]

        def next_tap():
            with m.If(kx == c.kw - 1):
                m.d.sync += [kx.eq(0), ky.eq(ky + 1)]
            with m.Else():
                m.d.sync += kx.eq(kx + 1)

        with m.If(busy & self.step):
            with m.If(self.last):
                m.d.sync += busy.eq(0)
            with m.Elif(c.pool):
                with m.If(window_end):
                    m.d.sync += [ky.eq(0), kx.eq(0), i.eq(i + 1)]
                    next_pixel()
                with m.Else():
                    next_tap()
            with m.Else():
                with m.If(pixel_end):
                    # The next fold: the next chunk, or chunk 0 of the next tap; back to the first pixel.
                    m.d.sync += [i.eq(0), f.eq(f + 1), ox.eq(c.ox0), iyb.eq(iyb0), ixb.eq(ixb0)]
                    with m.If(ch == c.chunks - 1):
                        m.d.sync += [ch.eq(0), cbase.eq(c.a_addr)]
                        next_tap()
                    with m.Else():
                        m.d.sync += [ch.eq(ch + 1), cbase.eq(cbase + c.chunk_stride)]
                with m.Else():
                    m.d.sync += i.eq(i + 1)
                    next_pixel()
        return m


class StreamFeeder(wiring.Component):
    """Words from a synchronous read port as a stream, one per cycle while the consumer takes them.

    ``issue`` (from the owner: a word is ready to be read at ``addr_in``, with ``zero_in`` to send a
    zero word instead) is taken when ``can_issue``; the word arrives in the cycle after (the read
    port's latency) and waits in a FIFO of :data:`FEEDER_DEPTH` words. ``can_issue`` counts the word
    in flight, so the FIFO never overflows and, while the consumer takes one word a cycle, a word is
    always waiting.
    """

    def __init__(self, width: int, sram_bits: int) -> None:
        self._width = width
        self._bits = sram_bits
        super().__init__({
            "issue": In(1), "addr_in": In(sram_bits), "zero_in": In(1), "can_issue": Out(1),
            "rd_addr": Out(sram_bits), "rd_en": Out(1), "rd_data": In(width),
            "out": Out(stream.Signature(unsigned(width))),
            "clear": In(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.fifo = fifo = SyncFIFO(width=self._width, depth=FEEDER_DEPTH)
        inflight = Signal()
        zero = Signal()
        fire = self.issue & self.can_issue
        m.d.comb += [self.can_issue.eq(fifo.level + inflight < FEEDER_DEPTH),
                     self.rd_addr.eq(self.addr_in), self.rd_en.eq(fire)]
        m.d.sync += [inflight.eq(fire), zero.eq(self.zero_in)]
        m.d.comb += [fifo.w_en.eq(inflight), fifo.w_data.eq(Mux(zero, 0, self.rd_data)),
                     self.out.valid.eq(fifo.r_rdy), self.out.payload.eq(fifo.r_data), fifo.r_en.eq(self.out.ready)]
        return m

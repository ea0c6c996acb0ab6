"""The accelerator's DMA: 2-D strided copies between DRAM (an AXI4 master port) and on-chip memories.

Two independent engines share the port: the **read** engine (AR, R) copies DRAM rows into an
on-chip write port, the **write** engine (AW, W, B) copies words read from an on-chip read port to
DRAM. Every address, stride and length is a whole number of words of ``W`` bytes (the bus width;
the command set guarantees it, ``hwsim.core.isa.check``), so a beat is a word, never split:
``AxSIZE = log2 W``, INCR bursts, every byte strobe set.

Issue rules (``hwsim.replay`` models them; docs/accelerator.md#dma):

* A row of n words is cut greedily, from its first word, into bursts of ``min(max_burst, words left
  in the row, words left before the next 4 KiB boundary)`` beats. Rows are never merged.
* A command is accepted in cycle 0 (``cmd.ready`` = idle). Address requests (AR or AW) go out one per
  cycle from cycle 1, in order, while fewer than ``outstanding`` bursts of that engine are in flight
  (a read burst leaves flight with its last R beat, a write burst with its B; the count is a
  register, so the next request may go out in the following cycle). ``arvalid``/``awvalid`` never
  depend on ``arready``/``awready``; ``rready`` and ``bready`` are always 1.
* Write data: burst i's beats are read from the on-chip memory only after AW i was accepted: the
  first in cycle AW_i + 1 (synchronous read), offered on W from AW_i + 2, one per cycle while
  ``wready``.
* ``done`` is high for one cycle: the cycle after the last R beat (read) or the last B (write).

This is the de-risking prototype's DMA (288 of 288 transfers predicted exactly) restricted to
word-aligned transfers, which removes its byte rotation and two-bank scratchpad.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2, exact_log2

__all__ = ["DmaParams", "Dma", "dma_cmd_layout", "axi4_master_members"]


@dataclass(frozen=True)
class DmaParams:
    """Sizes of the DMA: bus bytes ``W`` (a power of two), on-chip address bits, the longest burst
    and the bursts in flight per direction."""

    W: int
    sram_bits: int
    max_burst: int
    reads_outstanding: int
    writes_outstanding: int
    addr_bits: int = 32
    rows_bits: int = 16
    words_bits: int = 16

    def __post_init__(self) -> None:
        exact_log2(self.W)
        if not 1 <= self.max_burst <= 256 or self.max_burst * self.W > 4096:
            raise ValueError(f"max_burst {self.max_burst} is not an AXI4 burst of {self.W}-byte beats within 4 KiB")
        if self.reads_outstanding < 1 or self.writes_outstanding < 1:
            raise ValueError("at least one burst must be allowed in flight each way")


def dma_cmd_layout(p: DmaParams) -> data.StructLayout:
    """One transfer: ``rows`` rows of ``row_words`` words; DRAM row r at byte ``dram_addr + r *
    dram_stride``, on-chip row r at word ``sram_addr + r * sram_pitch``."""
    return data.StructLayout({
        "dram_addr": p.addr_bits, "dram_stride": p.addr_bits, "rows": p.rows_bits, "row_words": p.words_bits,
        "sram_addr": p.sram_bits, "sram_pitch": p.sram_bits,
    })


def axi4_master_members(W: int, addr_bits: int = 32, prefix: str = "m_axi") -> dict[str, wiring.Member]:
    """A flat AXI4 master port with AMBA names (``m_axi_awaddr``, ...), as Vivado's IP packager and
    cocotbext-axi (``AxiBus.from_prefix(dut, "m_axi")``) expect; one ID bit, always 0."""
    D = 8 * W
    m = {
        "awid": Out(1), "awaddr": Out(addr_bits), "awlen": Out(8), "awsize": Out(3), "awburst": Out(2),
        "awlock": Out(1), "awcache": Out(4), "awprot": Out(3), "awvalid": Out(1), "awready": In(1),
        "wdata": Out(D), "wstrb": Out(W), "wlast": Out(1), "wvalid": Out(1), "wready": In(1),
        "bid": In(1), "bresp": In(2), "bvalid": In(1), "bready": Out(1),
        "arid": Out(1), "araddr": Out(addr_bits), "arlen": Out(8), "arsize": Out(3), "arburst": Out(2),
        "arlock": Out(1), "arcache": Out(4), "arprot": Out(3), "arvalid": Out(1), "arready": In(1),
        "rid": In(1), "rdata": In(D), "rresp": In(2), "rlast": In(1), "rvalid": In(1), "rready": Out(1),
    }
    return {f"{prefix}_{k}": v for k, v in m.items()}


class _Bursts(wiring.Component):
    """The bursts of one transfer in issue order: the current burst's address and length; ``step``
    moves to the next. ``valid`` while a burst remains."""

    def __init__(self, p: DmaParams) -> None:
        self._p = p
        super().__init__({
            "start": In(1), "cmd": In(dma_cmd_layout(p)), "step": In(1),
            "valid": Out(1), "addr": Out(p.addr_bits), "len": Out(9),
        })

    def elaborate(self, platform) -> Module:
        p = self._p
        lw = exact_log2(p.W)
        m = Module()
        row = Signal(p.addr_bits)          # DRAM address of the current row's start
        beat = Signal(p.addr_bits)         # DRAM address of the current burst
        stride = Signal(p.addr_bits)
        rows_left = Signal(p.rows_bits)
        words = Signal(p.words_bits)
        left = Signal(p.words_bits)        # words of the row from the current burst on
        to4k = Signal(range(4096 // p.W + 1))
        m.d.comb += to4k.eq((4096 - beat[:12]) >> lw)
        n = Signal(9)
        m.d.comb += n.eq(Mux(left < p.max_burst, left, p.max_burst))
        length = Signal(9)
        m.d.comb += length.eq(Mux(to4k < n, to4k, n))
        m.d.comb += [self.valid.eq(rows_left != 0), self.addr.eq(beat), self.len.eq(length)]
        with m.If(self.start):
            c = self.cmd
            m.d.sync += [row.eq(c.dram_addr), beat.eq(c.dram_addr), stride.eq(c.dram_stride),
                         rows_left.eq(c.rows), words.eq(c.row_words), left.eq(c.row_words)]
        with m.Elif(self.step):
            with m.If(length == left):  # the row's last burst
                m.d.sync += [row.eq(row + stride), beat.eq(row + stride), rows_left.eq(rows_left - 1),
                             left.eq(words)]
            with m.Else():
                m.d.sync += [beat.eq(beat + (length << lw)), left.eq(left - length)]
        return m


class _Words(wiring.Component):
    """The on-chip word addresses of one transfer in order: ``addr`` is the current word; ``step``
    moves to the next (rows ``sram_pitch`` apart)."""

    def __init__(self, p: DmaParams) -> None:
        self._p = p
        super().__init__({"start": In(1), "cmd": In(dma_cmd_layout(p)), "step": In(1), "addr": Out(p.sram_bits),
                          "last": Out(1)})

    def elaborate(self, platform) -> Module:
        p = self._p
        m = Module()
        row = Signal(p.sram_bits)
        pitch = Signal(p.sram_bits)
        words = Signal(p.words_bits)
        k = Signal(p.words_bits)
        rows_left = Signal(p.rows_bits)
        m.d.comb += [self.addr.eq(row + k), self.last.eq((rows_left == 1) & (k == words - 1))]
        with m.If(self.start):
            m.d.sync += [row.eq(self.cmd.sram_addr), pitch.eq(self.cmd.sram_pitch), words.eq(self.cmd.row_words),
                         k.eq(0), rows_left.eq(self.cmd.rows)]
        with m.Elif(self.step):
            with m.If(k == words - 1):
                m.d.sync += [k.eq(0), row.eq(row + pitch), rows_left.eq(rows_left - 1)]
            with m.Else():
                m.d.sync += k.eq(k + 1)
        return m


class Dma(wiring.Component):
    """The two DMA engines on one AXI4 master port.

    * ``rd_cmd`` (stream of :func:`dma_cmd_layout`): DRAM -> ``wr_addr``/``wr_data``/``wr_en`` (one
      on-chip word written in each R handshake cycle); ``rd_done`` one-cycle pulse.
    * ``wr_cmd``: ``mem_addr``/``mem_en`` (a synchronous read port: data on ``mem_data`` the cycle
      after) -> DRAM; ``wr_done`` one-cycle pulse.
    * ``read_beats``/``write_beats``: a beat moved on R / W in this cycle (for the byte counters).
    """

    def __init__(self, p: DmaParams) -> None:
        self._p = p
        members = {
            "rd_cmd": In(stream.Signature(dma_cmd_layout(p))),
            "rd_done": Out(1),
            "wr_addr": Out(p.sram_bits), "wr_data": Out(8 * p.W), "wr_en": Out(1),
            "wr_cmd": In(stream.Signature(dma_cmd_layout(p))),
            "wr_done": Out(1),
            "mem_addr": Out(p.sram_bits), "mem_en": Out(1), "mem_data": In(8 * p.W),
            "read_beat": Out(1), "write_beat": Out(1),
        }
        members.update(axi4_master_members(p.W, p.addr_bits))
        super().__init__(members)

    def _ax(self, name: str):
        return getattr(self, f"m_axi_{name}")

    def elaborate(self, platform) -> Module:
        p = self._p
        ax = self._ax
        lw = exact_log2(p.W)
        m = Module()
        m.d.comb += [
            ax("arid").eq(0), ax("arsize").eq(lw), ax("arburst").eq(1), ax("arlock").eq(0),
            ax("arcache").eq(0b0011), ax("arprot").eq(0),
            ax("awid").eq(0), ax("awsize").eq(lw), ax("awburst").eq(1), ax("awlock").eq(0),
            ax("awcache").eq(0b0011), ax("awprot").eq(0), ax("wstrb").eq((1 << p.W) - 1),
            ax("rready").eq(1), ax("bready").eq(1),
        ]

        # ---- read engine: AR, R -> on-chip write port
        m.submodules.ar = ar = _Bursts(p)
        m.submodules.r_words = r_words = _Words(p)
        rd_busy = Signal()
        rd_out = Signal(range(p.reads_outstanding + 1))
        m.d.comb += self.rd_cmd.ready.eq(~rd_busy)
        rd_start = self.rd_cmd.valid & ~rd_busy
        m.d.comb += [ar.start.eq(rd_start), ar.cmd.eq(self.rd_cmd.payload),
                     r_words.start.eq(rd_start), r_words.cmd.eq(self.rd_cmd.payload)]
        m.d.comb += [ax("arvalid").eq(rd_busy & ar.valid & (rd_out < p.reads_outstanding)),
                     ax("araddr").eq(ar.addr), ax("arlen").eq(ar.len - 1)]
        ar_fire = ax("arvalid") & ax("arready")
        r_fire = ax("rvalid") & rd_busy  # rready = 1
        r_end = r_fire & ax("rlast")
        m.d.comb += [ar.step.eq(ar_fire), r_words.step.eq(r_fire),
                     self.wr_addr.eq(r_words.addr), self.wr_data.eq(ax("rdata")), self.wr_en.eq(r_fire),
                     self.read_beat.eq(r_fire)]
        with m.If(ar_fire & ~r_end):
            m.d.sync += rd_out.eq(rd_out + 1)
        with m.Elif(r_end & ~ar_fire):
            m.d.sync += rd_out.eq(rd_out - 1)
        m.d.sync += self.rd_done.eq(0)
        with m.If(rd_start):
            m.d.sync += [rd_busy.eq(1), rd_out.eq(0)]
        with m.Elif(r_fire & r_words.last):
            m.d.sync += [rd_busy.eq(0), self.rd_done.eq(1)]

        # ---- write engine: on-chip read port -> AW, W, B
        m.submodules.aw = aw = _Bursts(p)
        m.submodules.w_words = w_words = _Words(p)
        # Lengths of accepted AW bursts whose W beats are still to be read (in order).
        m.submodules.lengths = lengths = SyncFIFO(width=9, depth=p.writes_outstanding + 1)
        wr_busy = Signal()
        wr_out = Signal(range(p.writes_outstanding + 1))
        m.d.comb += self.wr_cmd.ready.eq(~wr_busy)
        wr_start = self.wr_cmd.valid & ~wr_busy
        m.d.comb += [aw.start.eq(wr_start), aw.cmd.eq(self.wr_cmd.payload),
                     w_words.start.eq(wr_start), w_words.cmd.eq(self.wr_cmd.payload)]
        m.d.comb += [ax("awvalid").eq(wr_busy & aw.valid & (wr_out < p.writes_outstanding)),
                     ax("awaddr").eq(aw.addr), ax("awlen").eq(aw.len - 1)]
        aw_fire = ax("awvalid") & ax("awready")
        m.d.comb += [aw.step.eq(aw_fire), lengths.w_en.eq(aw_fire), lengths.w_data.eq(aw.len)]
        b_fire = ax("bvalid") & wr_busy
        with m.If(aw_fire & ~b_fire):
            m.d.sync += wr_out.eq(wr_out + 1)
        with m.Elif(b_fire & ~aw_fire):
            m.d.sync += wr_out.eq(wr_out - 1)

        # Stage 0 reads a word (when a burst's length is known and stage 1 is free or leaving);
        # stage 1 holds it on W until wready (the read port keeps its data while not enabled).
        w_j = Signal(9)
        s1_valid = Signal()
        s1_last = Signal()
        issue = Signal()
        m.d.comb += issue.eq(wr_busy & lengths.r_rdy & (~s1_valid | ax("wready")))
        burst_end = w_j == lengths.r_data - 1
        m.d.comb += [lengths.r_en.eq(issue & burst_end), w_words.step.eq(issue),
                     self.mem_addr.eq(w_words.addr), self.mem_en.eq(issue)]
        with m.If(issue):
            m.d.sync += [w_j.eq(Mux(burst_end, 0, w_j + 1)), s1_valid.eq(1), s1_last.eq(burst_end)]
        with m.Elif(ax("wready")):
            m.d.sync += s1_valid.eq(0)
        m.d.comb += [ax("wvalid").eq(s1_valid), ax("wlast").eq(s1_last), ax("wdata").eq(self.mem_data),
                     self.write_beat.eq(s1_valid & ax("wready"))]

        m.d.sync += self.wr_done.eq(0)
        with m.If(wr_start):
            m.d.sync += [wr_busy.eq(1), wr_out.eq(0), w_j.eq(0), s1_valid.eq(0)]
        with m.Elif(b_fire & ~aw.valid & (wr_out == 1) & ~aw_fire):
            m.d.sync += [wr_busy.eq(0), self.wr_done.eq(1)]
        return m

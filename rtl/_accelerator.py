"""The whole accelerator: the weight-stationary core with its memories, DMA over AXI4, three
command engines, the epilogue, pooling and an AXI4-Lite control port (docs/accelerator.md).

Every size comes from one ``AcceleratorConfig`` through :func:`accelerator_params`::

    >>> from hwsim.core.config import preset
    >>> from rtl import accelerator_params
    >>> ap = accelerator_params(preset("fpga-edge").replace(residency=False, conv_reduction="per_tap",
    ...                         store_path=("activation", "scale", "requantize", "residual")))
    >>> (ap.geometry.R, ap.geometry.abuf_words, ap.module_name)
    (8, 4096, 'hwsim_fpga_edge_8x8_accel')
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out
from amaranth.utils import ceil_log2, exact_log2

from hwsim.core.config import AcceleratorConfig
from hwsim.core.isa import (
    COMMAND_BYTES,
    ID_MAGIC,
    TIMING,
    Engine,
    Geometry,
    Opcode,
    Reg,
    SIGNALLER,
    WAITER,
    Target,
    Timing,
    Token,
    check_config,
)

from ._axilite import AxiLiteSlave, axil_slave_members
from ._dma import Dma, DmaParams, axi4_master_members
from ._engines import CommandEngine, ExecUnit, TokenCounters, field
from ._params import Params

__all__ = ["AcceleratorParams", "accelerator_params", "Accelerator"]

_AXIL_ADDR_BITS = 8


@dataclass(frozen=True)
class AcceleratorParams:
    """What the accelerator's RTL is built from: the config, its :class:`~hwsim.core.isa.Geometry`,
    the timing constants and the widths derived from them."""

    cfg: AcceleratorConfig
    geometry: Geometry
    timing: Timing

    @property
    def core(self) -> Params:
        return Params(self.cfg)

    @property
    def module_name(self) -> str:
        return self.cfg.module_name.removesuffix(f"_{self.cfg.dataflow}") + "_accel"

    @property
    def sram_bits(self) -> int:
        """On-chip word addresses: the largest memory, a command memory's words included."""
        g = self.geometry
        return max(1, ceil_log2(max(g.abuf_words, g.wbuf_words, g.obuf_words,
                                    2 * g.command_depth * g.command_words)))

    @property
    def dma(self) -> DmaParams:
        return DmaParams(W=self.geometry.bus_bytes, sram_bits=self.sram_bits,
                         max_burst=self.timing.max_burst(self.geometry),
                         reads_outstanding=self.timing.reads_outstanding,
                         writes_outstanding=self.timing.writes_outstanding)


def accelerator_params(cfg: AcceleratorConfig) -> AcceleratorParams:
    """The accelerator for ``cfg``; a config it does not implement raises one
    :class:`~hwsim.core.errors.UserError` naming the setting (``hwsim.core.isa.check_config``)."""
    check_config(cfg)
    return AcceleratorParams(cfg=cfg, geometry=Geometry.of(cfg), timing=TIMING)


class Accelerator(wiring.Component):
    """The top module: ``clk``, ``rst`` (synchronous, active high), the AXI4 master ``m_axi_*`` (DRAM),
    the AXI4-Lite slave ``s_axil_*`` (registers, ``hwsim.core.isa.Reg``), ``irq`` (high while DONE),
    and trace outputs: ``layer_done`` (one cycle after each layer_end STORE is done) with
    ``layer_cycle`` (that STORE's done cycle, counted from cycle 0 = the cycle after START)."""

    def __init__(self, ap: AcceleratorParams) -> None:
        self._ap = ap
        members = {"irq": Out(1), "layer_done": Out(1), "layer_cycle": Out(32)}
        members.update(axi4_master_members(ap.geometry.bus_bytes))
        members.update(axil_slave_members(_AXIL_ADDR_BITS))
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        ap = self._ap
        g, R, bits = ap.geometry, ap.geometry.R, ap.sram_bits
        word = unsigned(8 * R)
        m = Module()

        # ---- memories
        abuf = m.submodules.abuf = Memory(shape=word, depth=g.abuf_words, init=[])
        wbuf = m.submodules.wbuf = Memory(shape=word, depth=g.wbuf_words, init=[])
        obuf = m.submodules.obuf = Memory(shape=word, depth=g.obuf_words, init=[])
        a_wp, a_rp1, a_rp2 = abuf.write_port(), abuf.read_port(), abuf.read_port()
        w_wp, w_rp1, w_rp2 = wbuf.write_port(), wbuf.read_port(), wbuf.read_port()
        o_wp, o_rp = obuf.write_port(), obuf.read_port()

        # ---- blocks
        m.submodules.dma = dma = Dma(ap.dma)
        for name, member in axi4_master_members(R).items():
            if member.flow == wiring.Out:
                m.d.comb += getattr(self, name).eq(getattr(dma, name))
            else:
                m.d.comb += getattr(dma, name).eq(getattr(self, name))
        m.submodules.axil = axil = AxiLiteSlave(_AXIL_ADDR_BITS)
        for name, member in axil_slave_members(_AXIL_ADDR_BITS).items():
            if member.flow == wiring.In:
                m.d.comb += getattr(axil, name).eq(getattr(self, name))
            else:
                m.d.comb += getattr(self, name).eq(getattr(axil, name))
        engines = {e: CommandEngine(e, g.command_depth, R) for e in Engine}
        for e, eng in engines.items():
            m.submodules[f"{e.name.lower()}_engine"] = eng
        load, exe, store = engines[Engine.LOAD], engines[Engine.EXEC], engines[Engine.STORE]
        m.submodules.tokens = tokens = TokenCounters()
        m.submodules.exec_unit = unit = ExecUnit(ap.core, bits)

        # ---- control
        launch = Signal()       # cycle 0: the cycle after START was written
        active = Signal()
        done = Signal()
        error = Signal()
        boot_addr = Signal(32)
        boot_count = Signal(16)
        booting = Signal()
        cycles = Signal(64)
        cycles_hi = Signal(32)
        counters = {r: Signal(32, name=r.name.lower()) for r in (
            Reg.EXEC_BUSY, Reg.EXEC_WAIT_LOAD, Reg.DMA_READ_BYTES, Reg.DMA_WRITE_BYTES, Reg.LAYERS_DONE,
            Reg.LOAD_RETIRED, Reg.EXEC_RETIRED, Reg.STORE_RETIRED, Reg.LAST_LAYER_CYCLE, Reg.ERROR_INFO)}
        start_req = axil.wr_en & (axil.wr_addr == Reg.CTRL) & axil.wr_data[0] & ~active & ~launch
        clear_req = axil.wr_en & (axil.wr_addr == Reg.CTRL) & axil.wr_data[1] & ~active & ~launch
        m.d.sync += launch.eq(start_req)
        with m.If(axil.wr_en & (axil.wr_addr == Reg.BOOT_ADDR)):
            m.d.sync += boot_addr.eq(axil.wr_data)
        with m.If(axil.wr_en & (axil.wr_addr == Reg.BOOT_COUNT)):
            m.d.sync += boot_count.eq(axil.wr_data)
        all_ended = load.ended & exe.ended & store.ended
        any_error = load.error | exe.error | store.error | tokens.overflow
        running = launch | active
        with m.If(launch):
            m.d.sync += [active.eq(1), done.eq(0), error.eq(0), cycles.eq(1)]
            for c in counters.values():
                m.d.sync += c.eq(0)
        with m.Elif(active):
            m.d.sync += cycles.eq(cycles + 1)
            with m.If(all_ended | any_error):
                m.d.sync += [active.eq(0), done.eq(1), error.eq(any_error)]
        with m.If(clear_req):
            m.d.sync += [done.eq(0), error.eq(0)]
        m.d.comb += [self.irq.eq(done), tokens.clear.eq(launch)]
        for eng in engines.values():
            m.d.comb += eng.launch.eq(launch)

        # ---- tokens: each engine waits on the tokens of its command, signals at done
        for e, eng in engines.items():
            waited = [t for t in Token if WAITER[t] == e]
            ok = Cat(*[~eng.waits[t] | tokens.avail[t] for t in waited]).all() if waited else 1
            m.d.comb += eng.tokens_ok.eq(ok)
            for t in Token:
                if WAITER[t] == e:
                    m.d.comb += tokens.dec[t].eq(eng.start & eng.waits[t])
                if SIGNALLER[t] == e:
                    m.d.comb += tokens.inc[t].eq(eng.give[t])

        # ---- load unit: boot, then LOAD commands, through the DMA's read engine
        lc = load.cmd
        lf = lambda name: field(lc, Opcode.LOAD, name)  # noqa: E731
        target = Signal(3)
        bank = Signal()
        cw = g.command_words
        cmd_base = Mux(lf("sram_addr")[0], g.command_depth * cw, 0)
        is_cmd_target = lf("target") >= Target.LOAD_CMDS
        rd = dma.rd_cmd.payload
        with m.If(launch):
            m.d.comb += [dma.rd_cmd.valid.eq(1), rd.dram_addr.eq(boot_addr), rd.dram_stride.eq(0), rd.rows.eq(1),
                         rd.row_words.eq(boot_count * cw), rd.sram_addr.eq(0), rd.sram_pitch.eq(boot_count * cw)]
            m.d.sync += [booting.eq(1), target.eq(Target.LOAD_CMDS), bank.eq(0)]
        with m.Elif(load.start):
            m.d.comb += [dma.rd_cmd.valid.eq(1), rd.dram_addr.eq(lf("dram_addr")), rd.dram_stride.eq(lf("dram_stride")),
                         rd.rows.eq(lf("rows")), rd.row_words.eq(lf("row_words")),
                         rd.sram_addr.eq(Mux(is_cmd_target, cmd_base, lf("sram_addr"))),
                         rd.sram_pitch.eq(Mux(is_cmd_target | (lf("sram_stride") == 0), lf("row_words"),
                                              lf("sram_stride")))]
            m.d.sync += [target.eq(lf("target")), bank.eq(lf("sram_addr")[0])]
        with m.If(dma.rd_done):
            m.d.sync += booting.eq(0)
        m.d.comb += load.done.eq(dma.rd_done & ~booting)
        for t, port in ((Target.ABUF, a_wp), (Target.WBUF, w_wp)):
            m.d.comb += [port.addr.eq(dma.wr_addr), port.data.eq(dma.wr_data), port.en.eq(dma.wr_en & (target == t))]
        for t, e in ((Target.LOAD_CMDS, Engine.LOAD), (Target.EXEC_CMDS, Engine.EXEC), (Target.STORE_CMDS, Engine.STORE)):
            eng = engines[e]
            m.d.comb += [eng.wr_addr.eq(dma.wr_addr), eng.wr_data.eq(dma.wr_data), eng.wr_en.eq(dma.wr_en & (target == t)),
                         eng.fill.eq(dma.rd_done & (target == t)), eng.fill_bank.eq(bank)]

        # ---- store unit: STORE commands through the DMA's write engine
        sc = store.cmd
        sf = lambda name: field(sc, Opcode.STORE, name)  # noqa: E731
        wr = dma.wr_cmd.payload
        m.d.comb += [dma.wr_cmd.valid.eq(store.start), wr.dram_addr.eq(sf("dram_addr")),
                     wr.dram_stride.eq(sf("dram_stride")), wr.rows.eq(sf("rows")), wr.row_words.eq(sf("row_words")),
                     wr.sram_addr.eq(sf("sram_addr")),
                     wr.sram_pitch.eq(Mux(sf("sram_stride") == 0, sf("row_words"), sf("sram_stride"))),
                     store.done.eq(dma.wr_done),
                     o_rp.addr.eq(dma.mem_addr), o_rp.en.eq(dma.mem_en), dma.mem_data.eq(o_rp.data)]
        layer_end = Signal()
        with m.If(store.start):
            m.d.sync += layer_end.eq(sf("layer_end"))
        m.d.sync += self.layer_done.eq(dma.wr_done & layer_end)
        with m.If(dma.wr_done & layer_end):
            m.d.sync += [self.layer_cycle.eq(cycles), counters[Reg.LAST_LAYER_CYCLE].eq(cycles)]

        # ---- exec unit
        m.d.comb += [unit.start.eq(exe.start), unit.cmd.eq(exe.cmd), exe.done.eq(unit.done),
                     a_rp1.addr.eq(unit.a_rd_addr), a_rp1.en.eq(unit.a_rd_en), unit.a_rd_data.eq(a_rp1.data),
                     a_rp2.addr.eq(unit.r_rd_addr), a_rp2.en.eq(unit.r_rd_en), unit.r_rd_data.eq(a_rp2.data),
                     w_rp1.addr.eq(unit.w_rd_addr), w_rp1.en.eq(unit.w_rd_en), unit.w_rd_data.eq(w_rp1.data),
                     w_rp2.addr.eq(unit.p_rd_addr), w_rp2.en.eq(unit.p_rd_en), unit.p_rd_data.eq(w_rp2.data),
                     o_wp.addr.eq(unit.o_wr_addr), o_wp.data.eq(unit.o_wr_data), o_wp.en.eq(unit.o_wr_en)]

        # ---- counters
        with m.If(active):
            incs = {
                Reg.EXEC_BUSY: exe.busy,
                Reg.EXEC_WAIT_LOAD: exe.stalled & exe.waits[Token.L2E] & ~tokens.avail[Token.L2E],
                Reg.LAYERS_DONE: dma.wr_done & layer_end,
                Reg.LOAD_RETIRED: load.retire, Reg.EXEC_RETIRED: exe.retire, Reg.STORE_RETIRED: store.retire,
            }
            for r, inc in incs.items():
                with m.If(inc):
                    m.d.sync += counters[r].eq(counters[r] + 1)
            with m.If(dma.read_beat):
                m.d.sync += counters[Reg.DMA_READ_BYTES].eq(counters[Reg.DMA_READ_BYTES] + R)
            with m.If(dma.write_beat):
                m.d.sync += counters[Reg.DMA_WRITE_BYTES].eq(counters[Reg.DMA_WRITE_BYTES] + R)
            with m.If(any_error & ~error):
                which = Mux(load.error, 0, Mux(exe.error, 1, Mux(store.error, 2, 3)))
                idx = Mux(load.error, load.index, Mux(exe.error, exe.index, store.index))
                m.d.sync += counters[Reg.ERROR_INFO].eq(Cat(which[:2], Signal(6), idx))

        # ---- register reads
        values = {Reg.STATUS: Cat(active | launch, done, error), Reg.BOOT_ADDR: boot_addr, Reg.BOOT_COUNT: boot_count,
                  Reg.CYCLES_LO: cycles[:32], Reg.CYCLES_HI: cycles_hi, Reg.ID: ID_MAGIC,
                  Reg.SHAPE: R | (exact_log2(g.command_depth) if g.command_depth & (g.command_depth - 1) == 0
                                  else 0) << 8, **counters}
        rdata = Signal(32)
        with m.Switch(axil.rd_addr):
            for r, v in values.items():
                with m.Case(int(r)):
                    m.d.comb += rdata.eq(v)
        m.d.comb += axil.rd_data.eq(rdata)
        with m.If(axil.rd_en & (axil.rd_addr == Reg.CYCLES_LO)):
            m.d.sync += cycles_hi.eq(cycles[32:])
        return m


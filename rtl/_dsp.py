"""The two blocks whose form depends on the FPGA: each PE's multiplier and the accumulator memory.

Each has one behaviour and one latency for every target; the target only says how it is written:

* ``"generic"``: portable Verilog (behavioural registers, ``*``, an inferred memory). This is what
  ``hwsim rtl`` writes as ``<module>.v``, what the co-simulation runs and what Verilator lints;
  Yosys's ``synth_xilinx`` and Vivado pack its registers into DSP48 blocks themselves.
* ``"ecp5"``: MULT18X18D with its input and output registers on, and DP16KD block RAM with its
  output register on. Yosys maps ``*`` to an unregistered MULT18X18D and memories to DP16KD without
  the output register (5.8 ns clock-to-out), and nextpnr packs no registers into them, so the
  registers must be written as the primitives' own.
* ``"ice40"``: SB_MAC16 with its input and product registers on (nextpnr-ice40 times every
  SB_MAC16 port as a register, so only a registered one is timed truthfully), and SB_RAM40_4K
  blocks written out (an inferred one gets Yosys's read-during-write logic after it).

``hwsim rtl --fpga`` places and routes the family's form; the co-simulation runs the generic one
(the primitives' registers are set to give the same cycles; place-and-route checks that every
multiplier became a DSP block).
"""

from __future__ import annotations

from amaranth import ClockSignal, Const, Instance, Module, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["TARGETS", "Multiplier", "AccMemory", "dp16kd_mode", "sb_ram40_mode", "sb_ram40_written", "sb_ram40_slices", "sb_ram40_blocks"]

#: How the blocks are written: portable Verilog, or the vendor primitives of one FPGA family.
TARGETS = ("generic", "ecp5", "ice40")


class Multiplier(wiring.Component):
    """``p = a * b`` (signed), ``stages`` cycles after ``a`` and ``b`` are presented.

    ``stages`` = 0: combinational; 1: the operands are registered; 2: the product is registered too
    (the registers a DSP block holds); 3: and the product registered once more in the fabric, so the
    wire out of the DSP block ends at a register next to it rather than at the adder.
    The registers have no reset and no enable (they hold data only).
    """

    def __init__(self, a_bits: int, b_bits: int, stages: int, target: str = "generic") -> None:
        if stages not in (0, 1, 2, 3):
            raise ValueError(f"stages must be 0, 1, 2 or 3, got {stages!r}")
        if target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
        self._a_bits, self._b_bits, self._stages, self._target = a_bits, b_bits, stages, target
        self._block = min(stages, 2)  # the stages inside the DSP block
        super().__init__({"a": In(signed(a_bits)), "b": In(signed(b_bits)), "p": Out(signed(a_bits + b_bits))})

    @property
    def primitive(self) -> str | None:
        """The DSP primitive this multiplier is written as, or None for behavioural Verilog (a
        combinational multiplier has no registers to place, and wider operands than the block's
        are left to synthesis)."""
        widest = max(self._a_bits, self._b_bits)
        if self._stages == 0:
            return None
        if self._target == "ecp5" and widest <= 18:
            return "MULT18X18D"
        if self._target == "ice40" and widest <= 16:
            return "SB_MAC16"
        return None

    def elaborate(self, platform) -> Module:
        m = Module()
        primitive = self.primitive
        out = self.p
        if self._stages == 3:
            out = Signal.like(self.p, name="p_block")
            fabric = Signal.like(self.p, name="p_fabric", reset_less=True)
            m.d.sync += fabric.eq(out)
            m.d.comb += self.p.eq(fabric)
        if primitive == "MULT18X18D":
            self._mult18x18d(m, out)
        elif primitive == "SB_MAC16":
            self._sb_mac16(m, out)
        else:
            a, b = self.a, self.b
            if self._block >= 1:
                a, b = Signal.like(self.a, reset_less=True), Signal.like(self.b, reset_less=True)
                m.d.sync += [a.eq(self.a), b.eq(self.b)]
            if self._block == 2:
                product = Signal.like(self.p, reset_less=True)
                m.d.sync += product.eq(a * b)
                m.d.comb += out.eq(product)
            else:
                m.d.comb += out.eq(a * b)
        return m

    def _mult18x18d(self, m: Module, out: Signal) -> None:
        # Operands sign-extended to the 18-bit ports; CLK0 drives the registers the stages ask for.
        a = Signal(signed(18))
        b = Signal(signed(18))
        p = Signal(36)
        m.d.comb += [a.eq(self.a), b.eq(self.b), out.eq(p[: len(out)])]
        reg = "CLK0"
        ports = {f"i_A{i}": a[i] for i in range(18)} | {f"i_B{i}": b[i] for i in range(18)}
        ports |= {f"i_C{i}": Const(0, 1) for i in range(18)}
        ports |= {f"o_P{i}": p[i] for i in range(36)}
        ports |= {"i_SIGNEDA": Const(1, 1), "i_SIGNEDB": Const(1, 1), "i_SOURCEA": Const(0, 1),
                  "i_SOURCEB": Const(0, 1), "i_CLK0": ClockSignal("sync"), "i_CE0": Const(1, 1),
                  "i_RST0": Const(0, 1)}
        for n in (1, 2, 3):
            ports |= {f"i_CLK{n}": Const(0, 1), f"i_CE{n}": Const(0, 1), f"i_RST{n}": Const(0, 1)}
        m.submodules.dsp = Instance(
            "MULT18X18D",
            p_REG_INPUTA_CLK=reg, p_REG_INPUTB_CLK=reg, p_REG_INPUTC_CLK="NONE", p_REG_PIPELINE_CLK="NONE",
            p_REG_OUTPUT_CLK=reg if self._block == 2 else "NONE", p_CLK0_DIV="ENABLED", p_GSR="DISABLED",
            p_RESETMODE="SYNC", p_SOURCEB_MODE="B_SHIFT", p_MULT_BYPASS="DISABLED", p_CAS_MATCH_REG="FALSE",
            **ports,
        )

    def _sb_mac16(self, m: Module, out: Signal) -> None:
        narrow = max(self._a_bits, self._b_bits) <= 8
        a, b = Signal(signed(16)), Signal(signed(16))
        o = Signal(32)
        m.d.comb += [a.eq(self.a), b.eq(self.b), out.eq(o[: len(out)])]
        registered = 1 if self._block == 2 else 0
        # 8 x 8 mode: the bottom 8x8 product (G) on O[15:0]; 16 x 16 mode: the whole product on O.
        params = dict(p_A_REG=1, p_B_REG=1, p_C_REG=0, p_D_REG=0, p_A_SIGNED=1, p_B_SIGNED=1, p_NEG_TRIGGER=0)
        if narrow:
            params |= dict(p_MODE_8x8=1, p_BOT_8x8_MULT_REG=registered, p_BOTOUTPUT_SELECT=2,
                           p_TOP_8x8_MULT_REG=0, p_TOPOUTPUT_SELECT=2, p_PIPELINE_16x16_MULT_REG1=0,
                           p_PIPELINE_16x16_MULT_REG2=0)
        else:
            params |= dict(p_MODE_8x8=0, p_PIPELINE_16x16_MULT_REG1=0, p_PIPELINE_16x16_MULT_REG2=registered,
                           p_BOTOUTPUT_SELECT=3, p_TOPOUTPUT_SELECT=3, p_TOP_8x8_MULT_REG=0, p_BOT_8x8_MULT_REG=0)
        params |= dict(p_TOPADDSUB_LOWERINPUT=0, p_TOPADDSUB_UPPERINPUT=0, p_TOPADDSUB_CARRYSELECT=0,
                       p_BOTADDSUB_LOWERINPUT=0, p_BOTADDSUB_UPPERINPUT=0, p_BOTADDSUB_CARRYSELECT=0)
        zero = Const(0, 1)
        m.submodules.dsp = Instance(
            "SB_MAC16", **params,
            i_CLK=ClockSignal("sync"), i_CE=Const(1, 1), i_A=a, i_B=b, i_C=Const(0, 16), i_D=Const(0, 16),
            **{f"i_{name}": zero for name in ("AHOLD", "BHOLD", "CHOLD", "DHOLD", "IRSTTOP", "IRSTBOT", "ORSTTOP",
                                               "ORSTBOT", "OLOADTOP", "OLOADBOT", "ADDSUBTOP", "ADDSUBBOT",
                                               "OHOLDTOP", "OHOLDBOT", "CI", "ACCUMCI", "SIGNEXTIN")},
            o_O=o,
        )


#: DP16KD data widths and the depth each gives (one 18 Kibit block).
_DP16KD_MODES = ((18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384))


def dp16kd_mode(depth: int) -> tuple[int, int] | None:
    """(data width, depth) of the widest DP16KD configuration at least ``depth`` deep, or None."""
    return next(((w, d) for w, d in _DP16KD_MODES if d >= depth), None)


#: SB_RAM40_4K modes by depth: (READ_MODE/WRITE_MODE, data bits), and the RDATA/WDATA lanes
#: each mode uses, low bit first (iCE40 Technology Library, SB_RAM40_4K; Yosys's cells_sim.v).
_SB_RAM40_MODES = ((256, 0, 16), (512, 1, 8), (1024, 2, 4), (2048, 3, 2))
_SB_RAM40_LANES = {0: tuple(range(16)), 1: tuple(range(0, 16, 2)), 2: (1, 5, 9, 13), 3: (3, 11)}


def sb_ram40_mode(depth: int) -> tuple[int, int] | None:
    """(mode, data bits) of the widest SB_RAM40_4K configuration at least ``depth`` deep, or None."""
    return next(((mode, bits) for d, mode, bits in _SB_RAM40_MODES if d >= depth), None)


def sb_ram40_written(depth: int, transparent: bool = False) -> bool:
    """Whether an iCE40 memory of ``depth`` words is written as SB_RAM40_4K blocks (else inferred):
    up to 2048 words, and not transparent (a write seen by the read of its cycle)."""
    return not transparent and sb_ram40_mode(depth) is not None


def sb_ram40_slices(width: int, depth: int) -> tuple[tuple[int, int], ...]:
    """Bit ranges (lo, hi) of a ``width``-bit word, one SB_RAM40_4K block each, at ``depth`` words."""
    _, bits = sb_ram40_mode(depth)
    return tuple((lo, min(lo + bits, width)) for lo in range(0, width, bits))


def sb_ram40_blocks(m: Module, depth: int, *, w_en: Value, w_addr: Value, w_data: Value, r_addr: Value,
                    r_en: Value, r_data: Value) -> None:
    """Add to ``m`` the SB_RAM40_4K blocks of a ``depth``-word memory as wide as ``w_data``: a
    write at the edge ending a cycle with ``w_en``; ``r_data`` the word at ``r_addr`` after the edge
    ending a cycle with ``r_en`` (held otherwise). A read of the word written at the same edge is
    undefined (the caller never does one, or never uses its answer). A memory deeper than 256 words
    takes narrower blocks side by side (8 bits at 512, 4 at 1024, 2 at 2048), never stacked ones
    whose read data a LUT after them would choose between."""
    mode, _ = sb_ram40_mode(depth)
    lanes = _SB_RAM40_LANES[mode]
    abits = len(w_addr)
    for n, (lo, hi) in enumerate(sb_ram40_slices(len(w_data), depth)):
        wd, rd = Signal(16, name=f"wd_{n}"), Signal(16, name=f"rd_{n}")
        wa, ra = Signal(11, name=f"wa_{n}"), Signal(11, name=f"ra_{n}")
        m.d.comb += [wd[lane].eq(w_data[lo + i]) for i, lane in enumerate(lanes[: hi - lo])]
        m.d.comb += [r_data[lo + i].eq(rd[lane]) for i, lane in enumerate(lanes[: hi - lo])]
        m.d.comb += [wa[:abits].eq(w_addr), ra[:abits].eq(r_addr)]
        one = Const(1, 1)
        m.submodules[f"bram_{n}"] = Instance(
            "SB_RAM40_4K", p_READ_MODE=mode, p_WRITE_MODE=mode,
            o_RDATA=rd, i_RADDR=ra, i_RCLK=ClockSignal("sync"), i_RCLKE=r_en, i_RE=one,
            i_WDATA=wd, i_WADDR=wa, i_WCLK=ClockSignal("sync"), i_WCLKE=one, i_WE=w_en,
            i_MASK=Const(0, 16),
        )


class AccMemory(wiring.Component):
    """One accumulator lane: ``depth`` words of ``width`` bits, one write port, one read port.

    A write presented in a cycle (``w_en``, ``w_addr``, ``w_data``) is done at the rising edge that
    ends it. ``r_data`` holds the word at ``r_addr`` ``latency`` cycles after the address was
    presented: 1 (a synchronous read; with ``transparent`` it sees a write to the same word in
    the same cycle) or 2 (the read data registered once more; a write in the read's cycle may or
    may not be seen, so the caller forwards it).
    """

    def __init__(self, width: int, depth: int, latency: int, transparent: bool = False,
                 target: str = "generic") -> None:
        if latency not in (1, 2):
            raise ValueError(f"latency must be 1 or 2, got {latency!r}")
        if transparent and latency != 1:
            raise ValueError("only a one-cycle read is transparent")
        self._width, self._depth, self._latency, self._transparent, self._target = (
            width, depth, latency, transparent, target)
        abits = max(1, (depth - 1).bit_length())
        super().__init__({"w_en": In(1), "w_addr": In(abits), "w_data": In(unsigned(width)),
                          "r_addr": In(abits), "r_data": Out(unsigned(width))})

    @property
    def primitive(self) -> str | None:
        """``DP16KD`` where the block RAM's output register gives the second cycle; ``SB_RAM40_4K``
        for a non-transparent iCE40 memory up to 2048 words; else None (inferred)."""
        if self._target == "ecp5" and self._latency == 2 and dp16kd_mode(self._depth) is not None:
            return "DP16KD"
        if self._target == "ice40" and sb_ram40_written(self._depth, self._transparent):
            return "SB_RAM40_4K"
        return None

    def elaborate(self, platform) -> Module:
        m = Module()
        if self.primitive == "DP16KD":
            self._dp16kd(m)
            return m
        if self.primitive == "SB_RAM40_4K":
            self._sb_ram40_4k(m)
            return m
        m.submodules.mem = mem = Memory(shape=unsigned(self._width), depth=self._depth, init=[])
        wr = mem.write_port()
        rd = mem.read_port(transparent_for=(wr,) if self._transparent else ())
        m.d.comb += [wr.addr.eq(self.w_addr), wr.data.eq(self.w_data), wr.en.eq(self.w_en),
                     rd.addr.eq(self.r_addr), rd.en.eq(1)]
        self._output(m, rd.data)
        return m

    def _output(self, m: Module, data: Value) -> None:
        """``r_data``: the read data, registered once more for a two-cycle read."""
        if self._latency == 2:
            q = Signal(self._width, reset_less=True)
            m.d.sync += q.eq(data)
            m.d.comb += self.r_data.eq(q)
        else:
            m.d.comb += self.r_data.eq(data)

    def _sb_ram40_4k(self, m: Module) -> None:
        # Written as blocks rather than inferred: for a read in the cycle of a write to the same
        # word Yosys would add a register and a LUT after each block to return the old data, one
        # more level on every path from the memory; the accumulator forwards that word itself
        # (the caller's hits), so the block's own answer is never used.
        data = Signal(self._width)
        sb_ram40_blocks(m, self._depth, w_en=self.w_en, w_addr=self.w_addr, w_data=self.w_data,
                        r_addr=self.r_addr, r_en=Const(1, 1), r_data=data)
        self._output(m, data)

    def _dp16kd(self, m: Module) -> None:
        bits, _ = dp16kd_mode(self._depth)
        # The word address sits above the bits a narrower word does not need (14 address pins in
        # all); in the 18-bit mode pins 0 and 1 are port A's byte enables.
        shift = {18: 4, 9: 3, 4: 2, 2: 1, 1: 0}[bits]
        blocks = -(-self._width // bits)
        zero, one = Const(0, 1), Const(1, 1)
        for n in range(blocks):
            lo, hi = n * bits, min((n + 1) * bits, self._width)
            di = Signal(18, name=f"di_{n}")
            do = Signal(18, name=f"do_{n}")
            m.d.comb += [di.eq(self.w_data[lo:hi]), self.r_data[lo:hi].eq(do[: hi - lo])]
            wa = Signal(14, name=f"wa_{n}")
            ra = Signal(14, name=f"ra_{n}")
            m.d.comb += [wa.eq(self.w_addr << shift), ra.eq(self.r_addr << shift)]
            if bits == 18:
                m.d.comb += [wa[0].eq(1), wa[1].eq(1)]
            ports = {f"i_DIA{i}": di[i] for i in range(18)} | {f"i_DIB{i}": zero for i in range(18)}
            ports |= {f"i_ADA{i}": wa[i] for i in range(14)} | {f"i_ADB{i}": ra[i] for i in range(14)}
            ports |= {f"o_DOB{i}": do[i] for i in range(18)}
            ports |= {"i_CLKA": ClockSignal("sync"), "i_CEA": one, "i_OCEA": one, "i_WEA": self.w_en,
                      "i_RSTA": zero, "i_CSA0": zero, "i_CSA1": zero, "i_CSA2": zero,
                      "i_CLKB": ClockSignal("sync"), "i_CEB": one, "i_OCEB": one, "i_WEB": zero,
                      "i_RSTB": zero, "i_CSB0": zero, "i_CSB1": zero, "i_CSB2": zero}
            m.submodules[f"bram_{n}"] = Instance(
                "DP16KD", p_DATA_WIDTH_A=bits, p_DATA_WIDTH_B=bits, p_REGMODE_A="NOREG", p_REGMODE_B="OUTREG",
                p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL", p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC",
                p_CSDECODE_A="0b000", p_CSDECODE_B="0b000", p_GSR="DISABLED", **ports,
            )

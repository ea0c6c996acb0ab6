"""FPGA families and devices hwsim builds for, and each family's default RTL pipeline depths:
what the command line offers before any tool is loaded, and what the config resolves
``[fpga] device = "ecp5-45f"`` against."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FAMILIES", "Device", "DEVICES", "Pipeline", "PIPELINE_DEFAULTS", "device", "family_of"]

#: FPGA families with a Yosys resource estimate (``hwsim rtl --synth --family``): Xilinx 7-series, iCE40.
FAMILIES = ("xilinx", "ice40")


@dataclass(frozen=True)
class Device:
    """One FPGA part that ``hwsim rtl --fpga NAME --pnr`` places and routes for (nextpnr)."""

    #: The name on the command line and in configs: ``FAMILY-DEVICE``.
    name: str
    #: ``ecp5`` or ``ice40``: the Yosys flow (``synth_ecp5``/``synth_ice40``) and the nextpnr binary.
    family: str
    #: The full part number (speed grade and package included).
    part: str
    #: nextpnr's device flag and package.
    nextpnr_device: str
    package: str
    #: Resources the part has: LUT4s, flip-flops, DSP blocks (MULT18X18D / SB_MAC16), block RAMs
    #: (DP16KD / SB_RAM40_4K), from nextpnr's device database (its utilisation report).
    luts: int
    flip_flops: int
    dsps: int
    brams: int
    #: Pins of the place-and-route harness (clk, rst_in, sin, sout) and the board they come from.
    pins: tuple[tuple[str, str], ...]
    board: str


# ECP5 CABGA381 pins as on the ULX3S (G2 = 25 MHz oscillator on a PCLK input, D6 = a button, B2/C2
# = LEDs), which ships with the 25F, 45F and 85F in that package; iCE40 UP5K SG48 as on the
# iCEBreaker (35 = 12 MHz oscillator on a global buffer input, 10 = the user button, 4/2 = PMOD1A).
_ECP5_PINS = (("clk", "G2"), ("rst_in", "D6"), ("sin", "B2"), ("sout", "C2"))
_UP5K_PINS = (("clk", "35"), ("rst_in", "10"), ("sin", "4"), ("sout", "2"))

#: The devices, by name.
DEVICES: dict[str, Device] = {d.name: d for d in (
    Device("ecp5-25f", "ecp5", "LFE5U-25F-6BG381C", "--25k", "CABGA381", 24288, 24288, 28, 56, _ECP5_PINS, "ULX3S"),
    Device("ecp5-45f", "ecp5", "LFE5U-45F-6BG381C", "--45k", "CABGA381", 43848, 43848, 72, 108, _ECP5_PINS, "ULX3S"),
    Device("ecp5-85f", "ecp5", "LFE5U-85F-6BG381C", "--85k", "CABGA381", 83640, 83640, 156, 208, _ECP5_PINS, "ULX3S"),
    Device("ice40-up5k", "ice40", "iCE40UP5K-SG48", "--up5k", "sg48", 5280, 5280, 8, 30, _UP5K_PINS, "iCEBreaker"),
)}


@dataclass(frozen=True)
class Pipeline:
    """Pipeline depths of the generated datapath (docs/rtl.md#pipeline).

    * ``mult_stages``: registers around each PE's multiplier: 0 (the product is added in the cycle
      the operands arrive), 1 (operands registered), 2 (operands and product registered, the
      registers an FPGA's DSP block holds), 3 (and the product once more in the fabric, so the
      long wire out of the DSP block ends at a register, not at the adder).
    * ``adder_segments``: the partial-sum and accumulator adders are cut into this many carry
      segments, each one cycle behind the one below it (the carry is registered between them).
    * ``acc_stages``: the accumulator's read-add-write loop: 1 (read one cycle ahead, add and write
      back in one cycle), 2 (the read data registered too), 3 (and the old value and the sum
      registered, so the adder's operands are registers; one-row tiles then space their folds
      two cycles apart, :attr:`row_gap`); the writes not yet readable are forwarded.
    """

    mult_stages: int
    adder_segments: int
    acc_stages: int

    @property
    def row_gap(self) -> int:
        """Fewest cycles between two additions into one accumulator row: 2 with ``acc_stages`` = 3
        (the adder never takes the sum it made the cycle before), else 1. Only a one-row tile
        (m = 1) has rows of two folds closer than two cycles; its later folds wait for it."""
        return 2 if self.acc_stages == 3 else 1

    @property
    def latency(self) -> int:
        """Cycles the pipeline adds between an activation row's issue and its sums reaching the
        accumulator stage: one per multiplier register, one per carry segment past the first."""
        return self.mult_stages + self.adder_segments - 1


#: Default depths by family; ``None`` (no FPGA: an ASIC, or the design before pipelining) keeps
#: the original single-cycle datapath, so the ASIC presets' cycles are unchanged. iCE40's carry
#: chains are slow (0.28 ns a bit on the UP5K), so its 32-bit adders are cut in two.
PIPELINE_DEFAULTS: dict[str | None, Pipeline] = {
    None: Pipeline(mult_stages=0, adder_segments=1, acc_stages=1),
    "ecp5": Pipeline(mult_stages=3, adder_segments=1, acc_stages=3),
    "ice40": Pipeline(mult_stages=2, adder_segments=4, acc_stages=3),
}


def device(name: str) -> Device:
    """The device ``name`` (``ecp5-45f``, ...)."""
    return DEVICES[name]


def family_of(name: str | None) -> str | None:
    """The family of device ``name``; None for None."""
    return None if name is None else DEVICES[name].family

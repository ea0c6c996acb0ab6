"""Silicon area of a design at 45 nm: its PE array plus its on-chip SRAM (docs/sweep.md#area-model).

A PE is one multiplier of the config's input x weight widths, one adder of the accumulator width
and the pipeline registers its dataflow needs. Arithmetic areas are published 45 nm synthesis
results, scaled to other widths along the power law through their two published points; registers
are NanGate 45 nm flip-flops; SRAM is the published 45 nm 6T bit cell over an assumed array
efficiency. The vector unit, the tile controller, skew buffers and the DMA engine are not counted:
they are small next to the array and the buffers and barely change across a sweep.

    >>> from hwsim.core.config import preset
    >>> a = asic_area(preset("gemmini-like"))
    >>> round(a.pe_um2), round(a.total_mm2, 3)
    (672, 1.468)
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import AcceleratorConfig
from .tech import power_law

__all__ = ["AsicAreaTable", "AsicArea", "asic_area", "pe_register_bits"]


@dataclass(frozen=True)
class AsicAreaTable:
    """Areas in µm² at 45 nm, each with its source (docs/sweep.md#area-model)."""

    #: 8-bit and 32-bit integer multipliers: 282 and 3495 µm² (TSMC 45 nm, Synopsys Design Compiler),
    #: the area column that Han and Dally published beside Horowitz's ISSCC 2014 energy table.
    mult8_um2: float = 282.0
    mult32_um2: float = 3495.0
    #: 8-bit and 32-bit integer adders from the same table: 36 and 137 µm².
    add8_um2: float = 36.0
    add32_um2: float = 137.0
    #: One flip-flop: DFF_X1 of the NanGate FreePDK45 Open Cell Library, 4.522 µm².
    flop_um2: float = 4.522
    #: 6T SRAM bit cell of Intel's 45 nm process, 0.346 µm² (Mistry et al., IEDM 2007).
    sram_bitcell_um2: float = 0.346
    #: Share of an SRAM macro that is bit cells (the rest: decoders, sense amplifiers, I/O).
    #: An assumption, typical of compiled 45 nm macros of tens to hundreds of KiB.
    sram_array_efficiency: float = 0.7

    def mult_um2(self, a_bits: int, b_bits: int) -> float:
        """An ``a_bits x b_bits`` multiplier: the power law in ``a*b`` through the 8x8 and 32x32 points."""
        return power_law(a_bits * b_bits, 8 * 8, self.mult8_um2, 32 * 32, self.mult32_um2)

    def add_um2(self, bits: int) -> float:
        """A ``bits``-wide adder: the power law in width through the 8- and 32-bit points."""
        return power_law(bits, 8, self.add8_um2, 32, self.add32_um2)

    @property
    def sram_um2_per_kib(self) -> float:
        return 8 * 1024 * self.sram_bitcell_um2 / self.sram_array_efficiency


def pe_register_bits(cfg: AcceleratorConfig) -> int:
    """Flip-flops in one PE: the operand passing on, the stationary operand and the partial sum.

    Weight-stationary PEs hold a weight plus a shadow copy that the next fold loads into while the
    current one computes; input-stationary mirrors that with the input; output-stationary PEs pass
    both operands on and keep their accumulator.
    """
    i, w, acc = cfg.input_bits, cfg.weight_bits, cfg.acc_bits
    return {"ws": i + 2 * w + acc, "is": 2 * i + w + acc, "os": i + w + acc}[cfg.dataflow]


@dataclass(frozen=True)
class AsicArea:
    """A design's area: ``pes`` PEs of ``pe_um2`` each and ``sram_kib`` of buffers."""

    pe_um2: float
    pes: int
    sram_kib: float
    sram_um2_per_kib: float

    @property
    def array_mm2(self) -> float:
        return self.pe_um2 * self.pes * 1e-6

    @property
    def sram_mm2(self) -> float:
        return self.sram_kib * self.sram_um2_per_kib * 1e-6

    @property
    def total_mm2(self) -> float:
        return self.array_mm2 + self.sram_mm2


def asic_area(cfg: AcceleratorConfig, table: AsicAreaTable = AsicAreaTable()) -> AsicArea:
    """The 45 nm area of ``cfg``'s PE array and its ifmap, filter and ofmap buffers (a floating-point
    ``number_format`` gets the integer multiplier and adder of the same widths)."""
    pe = (table.mult_um2(cfg.input_bits, cfg.weight_bits) + table.add_um2(cfg.acc_bits)
          + pe_register_bits(cfg) * table.flop_um2)
    return AsicArea(pe_um2=pe, pes=cfg.pes, sram_kib=cfg.ifmap_kib + cfg.filter_kib + cfg.ofmap_kib,
                    sram_um2_per_kib=table.sram_um2_per_kib)

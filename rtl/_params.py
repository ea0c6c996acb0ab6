"""The RTL's view of one AcceleratorConfig: the config's derived quantities plus the widths of the
hardware's counters, addresses and ports, each derived here once."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.lib import data
from amaranth.utils import ceil_log2

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.fpga import family_of

from ._dsp import TARGETS

__all__ = ["Params", "params"]


def _bits_for(value: int) -> int:
    """Bits of an unsigned field that must hold ``value``."""
    return max(1, value.bit_length())


@dataclass(frozen=True)
class Params:
    """What the RTL needs from ``cfg``: array size, operand widths, accumulator depth, tile limits,
    pipeline depths (all from the config), the widths of the fields that hold them, and the
    ``target`` the multipliers and memories are written for (rtl._dsp.TARGETS)."""

    cfg: AcceleratorConfig
    target: str = "generic"

    @property
    def segments(self) -> tuple[tuple[int, int], ...]:
        """Bit ranges (lo, hi) of the ``cfg.pipeline.adder_segments`` carry segments of a partial
        sum, low to high, as equal as the width allows (the low ones one bit wider)."""
        n, bits = self.cfg.pipeline.adder_segments, self.cfg.acc_bits
        widths = [bits // n + (1 if j < bits % n else 0) for j in range(n)]
        return tuple((sum(widths[:j]), sum(widths[: j + 1])) for j in range(n))

    @property
    def registered_control(self) -> bool:
        """Whether the controller's flags and output queue are written for an FPGA's short clock
        period (same cycles; a config with an ``[fpga]`` device). The ASIC presets keep the RTL the
        FPGA area table was fitted on (hwsim.sweep.fpga)."""
        return self.cfg.fpga is not None

    @property
    def short_enables(self) -> bool:
        """Whether the controller and accumulator are written for the iCE40's slow routing (same
        cycles; a config whose ``[fpga]`` device is an iCE40): the issue of rtl._ice40_issue
        (kept LUTs, digit counters, a thermometer of free entries), an accumulator segment's and
        a PE's carry packed with its register, the older forwarded sums chosen a cycle ahead and
        the row compares over two stages (docs/rtl.md#pipeline). ECP5 keeps the RTL its figures
        were measured on."""
        return family_of(self.cfg.fpga) == "ice40"

    @property
    def out_queue_depth(self) -> int:
        """The tile controller's output queue: enough for every row between issue and output, so a
        ready consumer never holds the issue, with one entry to spare. An FPGA's controller gets a
        row's credit back a cycle after the row leaves, which takes that spare entry: it gets one
        more, to keep one."""
        return self.cfg.array_latency + self.cfg.out_latency + 2 + self.registered_control

    @property
    def m_bits(self) -> int:
        """A tile's m: 1 .. acc_depth."""
        return _bits_for(self.cfg.acc_depth)

    @property
    def k_bits(self) -> int:
        """A tile's k: 1 .. k_max."""
        return _bits_for(self.cfg.k_max)

    @property
    def n_bits(self) -> int:
        """A tile's n: 1 .. cols."""
        return _bits_for(self.cfg.cols)

    @property
    def acc_addr_bits(self) -> int:
        """An accumulator row address: 0 .. acc_depth - 1."""
        return max(1, ceil_log2(self.cfg.acc_depth))

    @property
    def array_row_bits(self) -> int:
        """A PE row index (which row a weight word loads into): 0 .. rows - 1."""
        return max(1, ceil_log2(self.cfg.rows))

    @property
    def fold_bits(self) -> int:
        """Fold counter: up to ``cfg.folds(k_max)`` folds, plus one for 'past the last fold'."""
        return _bits_for(self.cfg.folds(self.cfg.k_max) + 1)

    @property
    def cmd_layout(self) -> data.StructLayout:
        return data.StructLayout({
            "m": self.m_bits, "k": self.k_bits, "n": self.n_bits, "accumulate": 1, "emit": 1,
        })

    @property
    def weight_layout(self) -> data.ArrayLayout:
        return data.ArrayLayout(data.signed(self.cfg.weight_bits), self.cfg.cols)

    @property
    def act_layout(self) -> data.ArrayLayout:
        return data.ArrayLayout(data.signed(self.cfg.input_bits), self.cfg.rows)

    @property
    def out_layout(self) -> data.ArrayLayout:
        return data.ArrayLayout(data.signed(self.cfg.acc_bits), self.cfg.cols)


def params(cfg: AcceleratorConfig, target: str = "generic") -> Params:
    """The RTL parameters for ``cfg`` written for ``target``; the RTL is weight-stationary and integer only."""
    if target not in TARGETS:
        raise UserError(f"unknown RTL target {target!r}; choose from {', '.join(TARGETS)}")
    if cfg.dataflow != "ws":
        raise UserError(
            f"the RTL generator builds weight-stationary arrays only, but the config has dataflow "
            f"{cfg.dataflow!r}; use a ws preset or set dataflow = \"ws\""
        )
    if cfg.number_format != "int":
        raise UserError(f"the RTL generator builds integer arrays only, but the config has number_format "
                        f"{cfg.number_format!r}; set number_format = \"int\"")
    return Params(cfg, target)

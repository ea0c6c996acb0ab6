"""The RTL's view of one AcceleratorConfig: the config's derived quantities plus the widths of the
hardware's counters, addresses and ports, each derived here once."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.lib import data
from amaranth.utils import ceil_log2

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError

__all__ = ["Params", "params"]


def _bits_for(value: int) -> int:
    """Bits of an unsigned field that must hold ``value``."""
    return max(1, value.bit_length())


@dataclass(frozen=True)
class Params:
    """What the RTL needs from ``cfg``: array size, operand widths, accumulator depth, tile limits
    (all from the config), and the widths of the fields that hold them."""

    cfg: AcceleratorConfig

    @property
    def module_name(self) -> str:
        return self.cfg.module_name

    @property
    def rows(self) -> int:
        return self.cfg.rows

    @property
    def cols(self) -> int:
        return self.cfg.cols

    @property
    def input_bits(self) -> int:
        return self.cfg.input_bits

    @property
    def weight_bits(self) -> int:
        return self.cfg.weight_bits

    @property
    def acc_bits(self) -> int:
        return self.cfg.acc_bits

    @property
    def acc_depth(self) -> int:
        return self.cfg.acc_depth

    @property
    def k_max(self) -> int:
        return self.cfg.k_max

    @property
    def out_latency(self) -> int:
        return self.cfg.out_latency

    @property
    def m_bits(self) -> int:
        """A tile's m: 1 .. acc_depth."""
        return _bits_for(self.acc_depth)

    @property
    def k_bits(self) -> int:
        """A tile's k: 1 .. k_max."""
        return _bits_for(self.k_max)

    @property
    def n_bits(self) -> int:
        """A tile's n: 1 .. cols."""
        return _bits_for(self.cols)

    @property
    def acc_addr_bits(self) -> int:
        """An accumulator row address: 0 .. acc_depth - 1."""
        return max(1, ceil_log2(self.acc_depth))

    @property
    def array_row_bits(self) -> int:
        """A PE row index (which row a weight word loads into): 0 .. rows - 1."""
        return max(1, ceil_log2(self.rows))

    @property
    def fold_bits(self) -> int:
        """Fold counter: up to ``cfg.folds(k_max)`` folds, plus one for 'past the last fold'."""
        return _bits_for(self.cfg.folds(self.k_max) + 1)

    @property
    def cmd_layout(self) -> data.StructLayout:
        return data.StructLayout({
            "m": self.m_bits, "k": self.k_bits, "n": self.n_bits, "accumulate": 1, "emit": 1,
        })

    @property
    def weight_layout(self) -> data.ArrayLayout:
        return data.ArrayLayout(data.signed(self.weight_bits), self.cols)

    @property
    def act_layout(self) -> data.ArrayLayout:
        return data.ArrayLayout(data.signed(self.input_bits), self.rows)

    @property
    def out_layout(self) -> data.ArrayLayout:
        return data.ArrayLayout(data.signed(self.acc_bits), self.cols)


def params(cfg: AcceleratorConfig) -> Params:
    """The RTL parameters for ``cfg``; the RTL is weight-stationary only."""
    if cfg.dataflow != "ws":
        raise UserError(
            f"the RTL generator builds weight-stationary arrays only, but the config has dataflow "
            f"{cfg.dataflow!r}; use a ws preset or set dataflow = \"ws\""
        )
    return Params(cfg)

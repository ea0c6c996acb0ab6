"""Geometry and port widths of the generated design, all derived from one AcceleratorConfig."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.lib import data
from amaranth.utils import ceil_log2

from hwsim.config import AcceleratorConfig
from hwsim.errors import UserError

__all__ = ["Params", "params"]


def _bits_for(value: int) -> int:
    """Bits of an unsigned field that must hold ``value``."""
    return max(1, value.bit_length())


@dataclass(frozen=True)
class Params:
    """What the RTL needs from a config: array size, operand widths, accumulator depth, tile limits.

    ``k_max`` is the longest K a tile may have: the tiler's K tile for a one-column B, which is as
    much of B as one half of the weight buffer holds (never less than one fold of ``rows``).
    """

    module_name: str
    rows: int
    cols: int
    input_bits: int
    weight_bits: int
    acc_bits: int
    acc_depth: int
    k_max: int

    @property
    def m_bits(self) -> int:
        return _bits_for(self.acc_depth)

    @property
    def k_bits(self) -> int:
        return _bits_for(self.k_max)

    @property
    def n_bits(self) -> int:
        return _bits_for(self.cols)

    @property
    def row_bits(self) -> int:
        """Accumulator row address."""
        return max(1, ceil_log2(self.acc_depth))

    @property
    def fold_bits(self) -> int:
        """Fold counter: up to ceil(k_max / rows) folds, plus one for 'past the last fold'."""
        return _bits_for(-(-self.k_max // self.rows) + 1)

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
    from compiler.tiling import tile_sizes
    from compiler.workload import GemmShape

    k_max = tile_sizes(GemmShape(m=1, k=1 << 40, n=1), cfg).k
    return Params(
        module_name=cfg.module_name,
        rows=cfg.rows,
        cols=cfg.cols,
        input_bits=cfg.input_bits,
        weight_bits=cfg.weight_bits,
        acc_bits=cfg.acc_bits,
        acc_depth=cfg.acc_depth,
        k_max=max(cfg.rows, k_max),
    )

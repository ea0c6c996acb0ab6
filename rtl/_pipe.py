"""Small pieces of pipeline every block uses: shift-register delays and the layout of a partial
sum cut into carry segments."""

from __future__ import annotations

from amaranth import Cat, Module, Signal, Value, unsigned
from amaranth.lib import data

__all__ = ["delayed", "segment_layout"]


def delayed(m: Module, value, cycles: int, name: str):
    """``value`` seen through ``cycles`` registers (``value`` itself when 0), as one shift register.

    Data registers have no reset and no enable, and a whole chain is one signal: that makes it
    one plain ``always @(posedge clk)`` in the Verilog, which is what Icarus's time is spent on.
    """
    if cycles == 0:
        return value
    raw = Value.cast(value)
    width = len(raw)
    chain = Signal(width * cycles, name=name, reset_less=True)
    m.d.sync += chain.eq(raw if cycles == 1 else Cat(raw, chain[: width * (cycles - 1)]))
    out = Signal.like(value, name=f"{name}_out")
    m.d.comb += Value.cast(out).eq(chain[width * (cycles - 1):])
    return out


def segment_layout(bounds: tuple[tuple[int, int], ...]) -> data.StructLayout:
    """A partial sum cut into carry segments: field ``s<j>`` holds bits ``bounds[j]`` (lo, hi) of
    the ``acc_bits`` sum. Where segments travel together, segment j runs j cycles behind segment 0
    (the carry out of segment j - 1 is registered on its way into segment j)."""
    return data.StructLayout({f"s{j}": unsigned(hi - lo) for j, (lo, hi) in enumerate(bounds)})

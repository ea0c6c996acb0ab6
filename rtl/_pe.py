"""One processing element of the weight-stationary array: a signed multiply-accumulate with two
weight registers (the active one and the shadow one being loaded for the next fold)."""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ProcessingElement", "activation_layout"]


def activation_layout(input_bits: int) -> data.StructLayout:
    """What moves right through a row: the operand ``a``, the weight bank ``b`` it multiplies
    with, and ``v``, set for a real operand (bubbles and padding lanes clear it)."""
    return data.StructLayout({"a": signed(input_bits), "b": 1, "v": 1})


class ProcessingElement(wiring.Component):
    """``p_out <= p_in + x_in.a * w[x_in.b]``, wrapped to ``acc_bits``; ``x_out <= x_in``.

    Activations move right and partial sums move down, one register each. Each activation
    carries the weight bank it multiplies with, so the switch from one fold's weights to the next
    travels through the array with the data: the bank a fold reads is never written while that
    fold is in flight, and the other bank (the shadow) is loaded meanwhile through ``w_en``,
    ``w_bank`` and ``w_data``. ``x.v`` is not used here; it travels along so that simulations can
    count busy MACs, and synthesis removes it.
    """

    def __init__(self, input_bits: int, weight_bits: int, acc_bits: int) -> None:
        super().__init__({
            "x_in": In(activation_layout(input_bits)),
            "p_in": In(signed(acc_bits)),
            "x_out": Out(activation_layout(input_bits)),
            "p_out": Out(signed(acc_bits)),
            "w_en": In(1),
            "w_bank": In(1),
            "w_data": In(signed(weight_bits)),
        })
        self._weight_bits = weight_bits

    def elaborate(self, platform) -> Module:
        m = Module()
        # Registers without reset or enable, each assigned unconditionally: every one is a plain
        # always @(posedge clk) in the Verilog. Icarus evaluates arithmetic bit by bit, once per
        # change of an input, so each operand arrives as one word that changes once per cycle.
        wb = self._weight_bits
        w = Signal(2 * wb, reset_less=True)
        loaded = Mux(self.w_bank, Cat(w[:wb], self.w_data), Cat(self.w_data, w[wb:]))
        m.d.sync += w.eq(Mux(self.w_en, loaded, w))
        x = Value.cast(self.x_in)
        weight = Mux(self.x_in.b, w[wb:], w[:wb]).as_signed()
        # Keeping acc_bits of the sum is two's complement wrap-around, as in the golden model.
        psum = Signal.like(self.p_out, reset_less=True)
        xreg = Signal(len(x), reset_less=True)
        m.d.sync += [psum.eq(self.p_in + self.x_in.a * weight), xreg.eq(x)]
        m.d.comb += [Value.cast(self.x_out).eq(xreg), self.p_out.eq(psum)]
        return m

"""One processing element of the weight-stationary array: a signed multiply-accumulate with two
weight registers (the active one and the shadow one being loaded for the next fold)."""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ProcessingElement"]


class ProcessingElement(wiring.Component):
    """``p_out <= p_in + a_in * w[b_in]``, wrapped to ``acc_bits``; activations move right, partial
    sums move down, one register each.

    Each activation carries the weight bank it multiplies with (``b_in``), so the switch from one
    fold's weights to the next travels through the array with the data: the bank the current fold
    reads is never written while that fold is in flight, the other one is loaded meanwhile.
    ``v_in`` marks real activations; it only travels along (``v_out``) so that simulations can count
    busy MACs, and synthesis removes it.

    Ports: ``a_in``/``a_out`` activation, ``b_in``/``b_out`` bank, ``v_in``/``v_out`` valid,
    ``p_in``/``p_out`` partial sum, and the weight write ``w_en``/``w_bank``/``w_data``.
    """

    def __init__(self, input_bits: int, weight_bits: int, acc_bits: int) -> None:
        super().__init__({
            "a_in": In(signed(input_bits)),
            "b_in": In(1),
            "v_in": In(1),
            "p_in": In(signed(acc_bits)),
            "a_out": Out(signed(input_bits)),
            "b_out": Out(1),
            "v_out": Out(1),
            "p_out": Out(signed(acc_bits)),
            "w_en": In(1),
            "w_bank": In(1),
            "w_data": In(signed(weight_bits)),
        })
        self._weight_bits = weight_bits

    def elaborate(self, platform) -> Module:
        m = Module()
        # Registers without reset or enable, packed into two plain words (no views, whose field
        # aliases cost events too): each word is one always @(posedge clk) in the Verilog, and
        # Icarus's time goes into such processes.
        wb, ab, pb = self._weight_bits, len(self.a_in), len(self.p_out)
        w = Signal(2 * wb, reset_less=True)
        # An unconditional assignment of a Mux (rather than m.If) keeps it a plain register.
        loaded = Mux(self.w_bank, Cat(w[:wb], self.w_data), Cat(self.w_data, w[wb:]))
        m.d.sync += w.eq(Mux(self.w_en, loaded, w))
        weight = Mux(self.b_in, w[wb:], w[:wb]).as_signed()
        # Keeping acc_bits of the sum is two's complement wrap-around, as in the golden model.
        psum = (self.p_in + self.a_in * weight)[:pb]
        pipe = Signal(ab + 2 + pb, reset_less=True)
        m.d.sync += pipe.eq(Cat(self.a_in, self.b_in, self.v_in, psum))
        m.d.comb += [self.a_out.eq(pipe[:ab]), self.b_out.eq(pipe[ab]), self.v_out.eq(pipe[ab + 1]),
                     self.p_out.eq(pipe[ab + 2 :])]
        return m

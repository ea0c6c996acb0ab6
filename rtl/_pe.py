"""One processing element of the weight-stationary array: a signed multiply-accumulate with two
weight registers (the active one and the shadow one being loaded for the next fold)."""

from __future__ import annotations

from amaranth import Cat, Module, Signal, signed
from amaranth.lib import data, wiring
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
        # Few, wide, reset-less registers: one process each in the emitted Verilog, which is what
        # Icarus spends its time on; no reset because only the controller's state needs one.
        w = Signal(data.ArrayLayout(signed(self._weight_bits), 2), reset_less=True)
        fwd = Signal(data.StructLayout({"a": self.a_in.shape(), "b": 1, "v": 1}), reset_less=True)
        psum = Signal.like(self.p_out, reset_less=True)
        with m.If(self.w_en):
            m.d.sync += w[self.w_bank].eq(self.w_data)
        # Assigning to psum truncates to acc_bits: two's complement wrap-around, as the golden model.
        m.d.sync += [
            fwd.eq(Cat(self.a_in, self.b_in, self.v_in)),
            psum.eq(self.p_in + self.a_in * w[self.b_in]),
        ]
        m.d.comb += [self.a_out.eq(fwd.a), self.b_out.eq(fwd.b), self.v_out.eq(fwd.v), self.p_out.eq(psum)]
        return m

"""One processing element of the weight-stationary array: a signed multiply-accumulate with two
weight registers (the active one and the shadow one being loaded for the next fold)."""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ._dsp import Multiplier
from ._lut import lut
from ._params import Params
from ._pipe import delayed, segment_layout

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

    Pipelined (``cfg.pipeline``): the product of the activation in ``x_in`` at cycle t is ready
    ``mult_stages`` cycles later (:class:`~rtl._dsp.Multiplier`), and it meets the partial sum
    that the PE above produced from the same activation row, which is just as late, so every PE
    of the array is shifted by the same ``mult_stages`` cycles. With ``adder_segments`` > 1 the
    sum is cut into carry segments (``p_in``/``p_out`` fields ``s0``, ``s1``, ...): segment j adds
    the product's bits j cycles after segment 0, with the carry registered in between.

    With ``mult_stages`` >= 1 the bank-selected weight is a register of its own (``w_sel``),
    chosen a cycle ahead from ``b_next`` (the bank of the activation that reaches ``x_in`` in the
    next cycle) and from the weight registers as this cycle's load leaves them, so the multiplier's
    operands are both plain registers: the bank select and the long wire into a DSP block are on
    two different paths. It is the same weight in the same cycle as ``w[x_in.b]``, so the cycles
    do not change.
    """

    def __init__(self, p: Params) -> None:
        self._p = p
        cfg = p.cfg
        super().__init__({
            "x_in": In(activation_layout(cfg.input_bits)),
            "p_in": In(segment_layout(p.segments)),
            "x_out": Out(activation_layout(cfg.input_bits)),
            "p_out": Out(segment_layout(p.segments)),
            "w_en": In(1),
            "w_bank": In(1),
            "w_data": In(signed(cfg.weight_bits)),
            "b_next": In(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p, cfg = self._p, self._p.cfg
        # Registers without reset or enable, each assigned unconditionally: every one is a plain
        # always @(posedge clk) in the Verilog. Icarus evaluates arithmetic bit by bit, once per
        # change of an input, so each operand arrives as one word that changes once per cycle.
        wb = cfg.weight_bits
        w = Signal(2 * wb, reset_less=True)
        loaded = Mux(self.w_bank, Cat(w[:wb], self.w_data), Cat(self.w_data, w[wb:]))
        w_next = Mux(self.w_en, loaded, w)
        m.d.sync += w.eq(w_next)
        if cfg.pipeline.mult_stages >= 1:
            weight = Signal(signed(wb), name="w_sel", reset_less=True)
            m.d.sync += weight.eq(Mux(self.b_next, w_next[wb:], w_next[:wb]))
        else:
            weight = Mux(self.x_in.b, w[wb:], w[:wb]).as_signed()
        m.submodules.mul = mul = Multiplier(cfg.input_bits, wb, cfg.pipeline.mult_stages, p.target)
        m.d.comb += [mul.a.eq(self.x_in.a), mul.b.eq(weight)]
        product = Signal(signed(cfg.acc_bits))
        m.d.comb += product.eq(mul.p)

        # Keeping acc_bits of the sum is two's complement wrap-around, as in the golden model.
        carry = None
        for j, (lo, hi) in enumerate(p.segments):
            addend = delayed(m, product[lo:hi], j, f"prod_s{j}")
            psum = Signal(hi - lo, name=f"psum_s{j}", reset_less=True)
            if carry is None:
                total = self.p_in[f"s{j}"] + addend                         # hi - lo + 1 bits
                out = total[: hi - lo]
            else:
                total = Cat(carry, self.p_in[f"s{j}"]) + Cat(Const(1, 1), addend)  # + carry in, one bit up
                out = total[1: hi - lo + 1]
            m.d.sync += psum.eq(out)
            if j + 1 < len(p.segments):
                carry = Signal(name=f"carry_s{j}", reset_less=True)
                carry_out = total[len(total) - 1]
                if p.target == "ice40":
                    # The chain's carry out through a LUT of its own on input I3 (where a carry
                    # enters a LUT): nextpnr packs it, with the register, as the chain's next cell.
                    zero = Const(0, 1)
                    carry_out = lut(m, p.target, f"carry_s{j}_out", lambda a, b, c, co: co, zero, zero, zero, carry_out)
                m.d.sync += carry.eq(carry_out)
            m.d.comb += self.p_out[f"s{j}"].eq(psum)
        x = Value.cast(self.x_in)
        xreg = Signal(len(x), reset_less=True)
        m.d.sync += xreg.eq(x)
        m.d.comb += Value.cast(self.x_out).eq(xreg)
        return m

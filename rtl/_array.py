"""The rows x cols weight-stationary array with its input skew, weight skew and output de-skew."""

from __future__ import annotations

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ._params import Params
from ._pe import ProcessingElement, activation_layout
from ._pipe import delayed, segment_layout

__all__ = ["SystolicArray"]


class SystolicArray(wiring.Component):
    """``rows x cols`` PEs; K maps to rows, N to columns.

    Everything presented on the inputs is the work *issued* in this cycle (call it cycle t):

    * activations ``a_data`` (lane r = A[i, k] for array row r), per-lane ``a_valid``, ``a_bank``:
      lane r passes ``r + 1`` registers (the input skew) and enters PE(r, 0) in cycle ``t + 1 + r``;
      it reaches PE(r, c) in cycle ``t + 1 + r + c``;
    * one weight row ``w_data`` for array row ``w_row`` into bank ``w_bank`` when ``w_valid``:
      column c passes ``c + 1`` registers (the weight skew) and is written into PE(w_row, c)
      at the end of cycle ``t + 1 + c``, a diagonal wavefront like the activations';
    * ``p_out`` (all columns de-skewed) holds the column sums of the activation row issued in
      cycle t during cycle ``t + rows + cols + mult_stages`` (segment j of each sum, with
      ``adder_segments`` > 1, j cycles later): ``cfg.array_latency`` cycles after issue for the
      last segment.

    Lanes are separate ports rather than one wide word: Icarus rebuilds a continuously assigned
    concatenation bit by bit whenever any part changes, and the lanes change at different times.
    """

    def __init__(self, p: Params) -> None:
        self._p = p
        super().__init__({
            "a_data": In(signed(p.cfg.input_bits)).array(p.cfg.rows),
            "a_valid": In(1).array(p.cfg.rows),
            "a_bank": In(1),
            "w_data": In(p.weight_layout),
            "w_row": In(p.array_row_bits),
            "w_bank": In(1),
            "w_valid": In(1),
            "p_out": Out(segment_layout(p.segments)).array(p.cfg.cols),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self._p
        pe = [[ProcessingElement(p) for _ in range(p.cfg.cols)] for _ in range(p.cfg.rows)]
        for r in range(p.cfg.rows):
            for c in range(p.cfg.cols):
                m.submodules[f"pe_{r}_{c}"] = pe[r][c]

        # Input skew: row r's activation enters r + 1 registers later.
        ahead = p.cfg.pipeline.mult_stages >= 1    # the PEs select their weight a cycle ahead
        for r in range(p.cfg.rows):
            lane = Signal(activation_layout(p.cfg.input_bits), name=f"act_{r}")
            m.d.comb += [lane.a.eq(self.a_data[r]), lane.v.eq(self.a_valid[r]), lane.b.eq(self.a_bank)]
            m.d.comb += pe[r][0].x_in.eq(delayed(m, lane, r + 1, f"act_{r}"))
            if ahead:
                # The bank of the activation entering PE(r, 0) next cycle: the skew's stage r (for
                # row 0 the controller's a_bank register itself).
                m.d.comb += pe[r][0].b_next.eq(delayed(m, self.a_bank, r, f"bank_{r}"))

        # Weight skew: column c's weight reaches the column c + 1 cycles after issue, then is
        # broadcast down the column to the row it addresses.
        for c in range(p.cfg.cols):
            col = Signal(data.StructLayout({
                "w": signed(p.cfg.weight_bits), "row": unsigned(p.array_row_bits), "bank": 1, "valid": 1,
            }), name=f"wt_{c}")
            m.d.comb += [col.w.eq(self.w_data[c]), col.row.eq(self.w_row), col.bank.eq(self.w_bank),
                         col.valid.eq(self.w_valid)]
            if ahead:
                # Each PE's write enable is a register, decoded from the skew's stage before.
                stage = delayed(m, col, c, f"wt_{c}")
                enables = []
                for r in range(p.cfg.rows):
                    en = Signal(name=f"w_en_{r}_{c}")
                    m.d.sync += en.eq(stage.valid & (stage.row == r))
                    enables.append(en)
                col = delayed(m, stage, 1, f"wt_{c}_in")
            else:
                col = delayed(m, col, c + 1, f"wt_{c}")
                enables = [col.valid & (col.row == r) for r in range(p.cfg.rows)]
            for r in range(p.cfg.rows):
                m.d.comb += [pe[r][c].w_en.eq(enables[r]), pe[r][c].w_bank.eq(col.bank), pe[r][c].w_data.eq(col.w)]

        # Activations move right, partial sums move down; row 0 starts from zero.
        for r in range(p.cfg.rows):
            for c in range(1, p.cfg.cols):
                m.d.comb += pe[r][c].x_in.eq(pe[r][c - 1].x_out)
                if ahead:
                    m.d.comb += pe[r][c].b_next.eq(pe[r][c - 1].x_in.b)
        for r in range(1, p.cfg.rows):
            for c in range(p.cfg.cols):
                m.d.comb += pe[r][c].p_in.eq(pe[r - 1][c].p_out)

        # Output de-skew: column c finishes c cycles after column 0; delay it cols - 1 - c cycles.
        for c in range(p.cfg.cols):
            m.d.comb += self.p_out[c].eq(delayed(m, pe[p.cfg.rows - 1][c].p_out, p.cfg.cols - 1 - c, f"sum_{c}"))
        return m

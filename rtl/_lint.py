"""Verilator's lint of the emitted Verilog: the waiver file ``hwsim rtl`` writes beside it.

``verilator --lint-only -Wall verilator.vlt <module>.v`` prints no warning. What the waivers cover
is how Yosys's Verilog backend (which ``amaranth.back.verilog`` runs) writes a netlist, never a
width or a connection the design gets wrong: every width in the design is set by Amaranth's own
typed arithmetic, and the co-simulation proves the results bit-exact. Each waiver names one
warning and says why it is harmless; a warning of any other kind, or a WIDTH warning between two
signals of the design, still fails the lint (tests/rtl/test_lint.py).
"""

from __future__ import annotations

__all__ = ["LINT_WAIVERS", "WAIVER_FILE"]

#: The waiver file's name in a design folder.
WAIVER_FILE = "verilator.vlt"

#: The waivers (Verilator configuration file syntax; ``-match`` is a wildcard on the message).
LINT_WAIVERS = """\
`verilator_config
// hwsim's Verilator waivers for the Verilog that amaranth.back.verilog (Yosys write_verilog)
// emits; docs/fpga.md#lint. Lint with: verilator --lint-only -Wall verilator.vlt <module>.v

// WIDTH, a constant: Yosys writes every constant at its minimal width (2'h3 == a 3-bit value,
// 1'h0 + a 16-bit sum). Verilog extends it to the operation's width (IEEE 1364-2005 5.4.1), which
// is Amaranth's meaning of the same expression.
lint_off -rule WIDTH -file "*" -match "*CONST '* generates *"
// WIDTH, LOGNOT of a slice: Amaranth's `x == 0` on a multi-bit value becomes `! x[hi:lo]`,
// true exactly when every bit is 0, as intended.
lint_off -rule WIDTH -file "*" -match "*Logical operator LOGNOT expects 1 bit on the LHS, but LHS's SEL generates*"
// WIDTH, a one-bit signal added to a wider value: the FIFO's `level + r_rdy` (amaranth.lib.fifo)
// and a registered carry entering the next carry segment (`carry + {addend, 1'h1}` once the
// upper bits of the first row's partial sum, which are 0, are folded away). Zero extension
// is the intended meaning.
lint_off -rule WIDTH -file "*" -match "*Operator ADD expects * bits on the *, but *'s VARREF '*' generates 1 bits."
// UNUSEDSIGNAL: Amaranth names a wire for every port of every submodule as seen by its parent
// (`x_out$12`), for every field of a struct (`x_in.v`, `tags[3].row`) and for every stage of a
// delay chain; the last column's activation outputs and the valid bit (read only by the test
// bench's busy-MAC probe) drive nothing. They are names, not logic: synthesis removes them.
lint_off -rule UNUSEDSIGNAL -file "*" -match "Signal is not used: '*"
lint_off -rule UNUSEDSIGNAL -file "*" -match "Bits of signal are not used: '*"
// DECLFILENAME: the submodules (pe_0_0, mesh, queue, ...) share the top module's file.
lint_off -rule DECLFILENAME -file "*"
"""

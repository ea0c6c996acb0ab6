"""Published technology figures behind the energy and area models, and the rules that scale them.

Every number here is quoted from a source named beside it; docs/model.md#energy lists them with
what was checked and what is assumed. Energies are at 45 nm (0.9 V, Horowitz's table); other
nodes use Stillmaker and Baas's energy factors (:func:`node_energy_factor`).

    >>> round(mac_pj("int", 8, 8, 32), 12), round(mac_pj("fp32", 32, 32, 32), 12)
    (0.3, 4.6)
    >>> round(node_energy_factor(32), 4), round(node_energy_factor(65), 4)
    (0.5308, 1.9516)
"""

from __future__ import annotations

import math

__all__ = ["NUMBER_FORMATS", "NODES", "power_law", "mult_pj", "add_pj", "mac_pj", "energy_factor",
           "node_energy_factor", "NANGATE_FA_X1", "NANGATE_DFF_X1"]

#: Operand number formats: integers of any width, or IEEE fp16, bfloat16 and IEEE fp32.
NUMBER_FORMATS = ("int", "fp16", "bf16", "fp32")


def power_law(x: float, x0: float, y0: float, x1: float, y1: float) -> float:
    """``y`` at ``x`` on the power law ``y = y0 · (x / x0)^e`` through ``(x0, y0)`` and ``(x1, y1)``."""
    return y0 * (x / x0) ** (math.log(y1 / y0) / math.log(x1 / x0))


# M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm, 0.9 V.
#: Integer multiply, pJ, by operand width: 8x8 and 32x32.
INT_MULT_PJ = {8: 0.2, 32: 3.1}
#: Integer add, pJ, by width.
INT_ADD_PJ = {8: 0.03, 32: 0.1}
#: Floating-point multiply and add, pJ, by format.
FP_MULT_PJ = {"fp16": 1.1, "fp32": 3.7}
FP_ADD_PJ = {"fp16": 0.4, "fp32": 0.9}
#: Significand bits, hidden bit included (IEEE 754 binary16 and binary32; bfloat16 keeps 7 + 1).
SIGNIFICAND_BITS = {"fp16": 11, "bf16": 8, "fp32": 24}


def mult_pj(number_format: str, a_bits: int, b_bits: int) -> float:
    """One ``a_bits x b_bits`` multiply at 45 nm.

    Integers: the power law in the product of the widths (the partial-product array) through
    Horowitz's 8x8 and 32x32 points, exponent 0.99, so energy grows about quadratically with width.
    Floating point: the same law in the square of the significand width through his fp16 and fp32
    points (exponent 0.78); bfloat16 is an fp16-style multiplier with an 8-bit significand.
    """
    if number_format == "int":
        return power_law(a_bits * b_bits, 8 * 8, INT_MULT_PJ[8], 32 * 32, INT_MULT_PJ[32])
    s, s16, s32 = SIGNIFICAND_BITS[number_format], SIGNIFICAND_BITS["fp16"], SIGNIFICAND_BITS["fp32"]
    return power_law(s * s, s16 * s16, FP_MULT_PJ["fp16"], s32 * s32, FP_MULT_PJ["fp32"])


def add_pj(number_format: str, acc_bits: int) -> float:
    """One add into an accumulator of ``acc_bits`` at 45 nm.

    Integers: the power law in width through Horowitz's 8- and 32-bit adds (exponent 0.87, about
    linear). Floating point: a 32-bit accumulator adds in fp32, a 16-bit one in the operands' own
    format, on the power law in significand width through his fp16 and fp32 adds.
    """
    if number_format == "int":
        return power_law(acc_bits, 8, INT_ADD_PJ[8], 32, INT_ADD_PJ[32])
    s = SIGNIFICAND_BITS["fp32" if acc_bits == 32 else number_format]
    return power_law(s, SIGNIFICAND_BITS["fp16"], FP_ADD_PJ["fp16"], SIGNIFICAND_BITS["fp32"], FP_ADD_PJ["fp32"])


def mac_pj(number_format: str, input_bits: int, weight_bits: int, acc_bits: int) -> float:
    """One multiply-accumulate at 45 nm: an input x weight multiply plus an add at the accumulator width."""
    return mult_pj(number_format, input_bits, weight_bits) + add_pj(number_format, acc_bits)


# A. Stillmaker and B. Baas, "Scaling equations for the accurate prediction of CMOS device performance
# from 180 nm to 7 nm", Integration, the VLSI Journal 58 (2017) 74-81, Table 5: energy factor
# a·V² + b·V + c per node. The 65 nm and 32 nm (HP) rows are the ones the authors' corrigendum prints;
# the 45 nm (HP) row is the reference. Voltages: the nominal supply of each node's PTM model.
_ENERGY_FIT = {
    65: (3.755, -4.398, 1.975, 1.1),
    45: (1.018, -0.3107, 0.1539, 1.0),
    32: (0.8367, -0.4341, 0.1701, 0.9),
}
#: Nodes (nm) with an energy factor; others are refused rather than guessed.
NODES = tuple(sorted(_ENERGY_FIT))


def energy_factor(node_nm: int, vdd: float) -> float:
    """Stillmaker and Baas's energy factor of ``node_nm`` at supply ``vdd`` (volts)."""
    a, b, c, _ = _ENERGY_FIT[node_nm]
    return a * vdd**2 + b * vdd + c


def node_energy_factor(node_nm: int) -> float:
    """Energy per operation at ``node_nm`` relative to 45 nm, each at its nominal supply."""
    return energy_factor(node_nm, _ENERGY_FIT[node_nm][3]) / energy_factor(45, _ENERGY_FIT[45][3])


# NanGate FreePDK45 Open Cell Library, NangateOpenCellLibrary_typical.lib (typical corner, 1.1 V, 25 °C):
#: Full adder FA_X1: (cell_leakage_power nW, area µm²).
NANGATE_FA_X1 = (75.762253, 4.256)
#: Flip-flop DFF_X1: (cell_leakage_power nW, area µm²).
NANGATE_DFF_X1 = (79.112308, 4.522)

"""FPGA families hwsim synthesizes for: what the command line offers before any tool is loaded."""

from __future__ import annotations

__all__ = ["FAMILIES"]

#: FPGA families with a Yosys resource estimate (``hwsim rtl --synth --family``): Xilinx 7-series, iCE40.
FAMILIES = ("xilinx", "ice40")

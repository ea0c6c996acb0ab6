"""The RTL generator: an Amaranth weight-stationary systolic array with its tile controller,
emitted as Verilog, synthesized with Yosys and co-simulated with cocotb + Icarus against hwsim.

Everything comes from one :class:`~hwsim.config.AcceleratorConfig` (dataflow ``ws``)::

    >>> from hwsim.config import preset
    >>> verilog = generate_verilog(preset("fpga-edge"))   # top module hwsim_fpga_edge_8x8_ws
    >>> "module hwsim_fpga_edge_8x8_ws(" in verilog
    True

docs/rtl.md describes the micro-architecture, the stream protocol and the timing that
:func:`hwsim.timing.ws_tile_cycles` states and :func:`verify` checks.
"""

from __future__ import annotations

from ._array import SystolicArray
from ._controller import TileController
from ._cosim import CosimResult, GemmCase, Simulator, TileCheck, check, random_case, verify
from ._emit import generate_verilog, manifest, ports
from ._params import Params, params
from ._pe import ProcessingElement
from ._program import gemm_placements, tile_words
from ._synth import FAMILIES, FpgaStats, GenericStats, SynthResult, synthesize, synthesize_verilog

__all__ = [
    "ProcessingElement", "SystolicArray", "TileController", "Params", "params",
    "generate_verilog", "manifest", "ports",
    "FAMILIES", "GenericStats", "FpgaStats", "SynthResult", "synthesize", "synthesize_verilog",
    "GemmCase", "TileCheck", "CosimResult", "Simulator", "random_case", "check", "verify",
    "gemm_placements", "tile_words",
]

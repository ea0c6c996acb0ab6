"""The RTL generator: an Amaranth weight-stationary systolic array with its tile controller,
emitted as Verilog, synthesized with Yosys and co-simulated with cocotb + Icarus against hwsim.

Everything comes from one :class:`~hwsim.core.config.AcceleratorConfig` (dataflow ``ws``)::

    >>> from hwsim.core.config import preset
    >>> from rtl import generate_verilog
    >>> verilog = generate_verilog(preset("fpga-edge"))   # top module hwsim_fpga_edge_8x8_ws
    >>> "module hwsim_fpga_edge_8x8_ws(" in verilog
    True

docs/rtl.md describes the micro-architecture, the stream protocol and the timing that
:func:`hwsim.core.timing.ws_tile_cycles` states and :func:`verify` checks. The whole accelerator
around it (DMA over AXI4, command engines, epilogue, pooling, AXI4-Lite registers) is
:class:`Accelerator` (docs/accelerator.md); :func:`run_program` runs a command program on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwsim.core.lazy import exports

if TYPE_CHECKING:  # the names below, for type checkers and the import-linter contract
    from ._accel_sim import AccelRun, AccelSimulator, generate_accelerator_verilog, run_program
    from ._accelerator import Accelerator, AcceleratorParams, accelerator_params
    from ._array import SystolicArray
    from ._controller import TileController
    from ._cost import (CONFIRM_SECONDS, RtlCost, accelerator_cost, check_accelerator_cost, check_rtl_cost,
                        check_verify_cost, rtl_cost, verify_cost)
    from ._cosim import CosimResult, GemmCase, Simulator, TileCheck, check, random_case, verify
    from ._emit import generate_verilog, manifest, ports
    from ._lint import LINT_WAIVERS, WAIVER_FILE
    from ._params import Params, params
    from ._pe import ProcessingElement
    from ._pnr import PnrError, fpga_files, place_and_route
    from ._program import gemm_placements, tile_words
    from ._synth import (
        FAMILIES,
        FpgaStats,
        GenericStats,
        SynthResult,
        gate_level_netlist,
        synthesize,
        synthesize_verilog,
    )

# Each public name and the private module that defines it. They load on first use, so that the
# cocotb bench (rtl._bench, imported inside the simulator) does not pay for Amaranth and numpy.
_EXPORTS = {
    "ProcessingElement": "_pe", "SystolicArray": "_array", "TileController": "_controller",
    "Params": "_params", "params": "_params",
    "generate_verilog": "_emit", "manifest": "_emit", "ports": "_emit",
    "FAMILIES": "_synth", "GenericStats": "_synth", "FpgaStats": "_synth", "SynthResult": "_synth",
    "synthesize": "_synth", "synthesize_verilog": "_synth", "gate_level_netlist": "_synth",
    "GemmCase": "_cosim", "TileCheck": "_cosim", "CosimResult": "_cosim", "Simulator": "_cosim",
    "random_case": "_cosim", "check": "_cosim", "verify": "_cosim",
    "gemm_placements": "_program", "tile_words": "_program",
    "Accelerator": "_accelerator", "AcceleratorParams": "_accelerator", "accelerator_params": "_accelerator",
    "AccelRun": "_accel_sim", "AccelSimulator": "_accel_sim", "run_program": "_accel_sim",
    "generate_accelerator_verilog": "_accel_sim",
    "RtlCost": "_cost", "rtl_cost": "_cost", "check_rtl_cost": "_cost", "CONFIRM_SECONDS": "_cost",
    "verify_cost": "_cost", "check_verify_cost": "_cost", "accelerator_cost": "_cost",
    "check_accelerator_cost": "_cost",
    "LINT_WAIVERS": "_lint", "WAIVER_FILE": "_lint",
    "PnrError": "_pnr", "fpga_files": "_pnr", "place_and_route": "_pnr",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = exports(__name__, _EXPORTS)

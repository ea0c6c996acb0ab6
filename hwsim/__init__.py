"""hwsim: cycle-approximate latency and energy of DNNs on a configurable systolic-array accelerator.

The public surface is small; the pipeline stages live in ``compiler`` (ONNX to tiled program),
this package (simulation, energy, reports, command line) and ``rtl`` (Amaranth to Verilog).
"""

from __future__ import annotations

from .config import AcceleratorConfig, EnergyTable, load_config, preset, preset_names
from .errors import UserError

__all__ = ["AcceleratorConfig", "EnergyTable", "UserError", "load_config", "preset", "preset_names"]
__version__ = "0.1.0"

"""hwsim: cycle-approximate latency and energy of DNNs on a configurable systolic-array accelerator.

The pipeline's stages live in ``compiler`` (ONNX to a tile program), this package (the shared
vocabulary in :mod:`hwsim.core`; simulation, execution, reports, applications and the command line)
and ``rtl`` (Amaranth to Verilog); docs/architecture.md draws the layers.
"""

from __future__ import annotations

from .core import __version__
from .core.config import AcceleratorConfig, EnergyTable, load_config, preset, preset_names
from .core.errors import InternalError, UserError

__all__ = ["AcceleratorConfig", "EnergyTable", "InternalError", "UserError", "load_config", "preset", "preset_names",
           "__version__"]

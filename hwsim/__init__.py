"""hwsim: cycle-approximate latency and energy of DNNs on a configurable systolic-array accelerator.

One call per command (docs/api.md)::

    >>> import hwsim
    >>> report = hwsim.estimate("docs/examples/matmul_64x96x48.onnx", "gemmini-like")
    >>> report.totals.macs
    294912

``hwsim.estimate``, ``run``, ``sweep``, ``verify`` and ``rtl`` are the command line's functions
(:mod:`hwsim.api`); ``load_config`` reads hwsim's TOML, ``preset`` a shipped config. The pipeline's
stages live in ``compiler`` (ONNX to a tile program), this package (the shared vocabulary in
:mod:`hwsim.core`; simulation, execution, reports, applications and the command line) and ``rtl``
(Amaranth to Verilog); docs/architecture.md draws the layers. The API loads lazily: ``compiler``
imports :mod:`hwsim.core`, so this package must not import the compiler when it is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core import __version__
from .core.config import AcceleratorConfig, EnergyTable, load_config, preset, preset_names
from .core.errors import InternalError, UserError
from .core.lazy import exports

if TYPE_CHECKING:  # the names below, for type checkers and the import-linter contract
    from .api import Report, RtlDesign, estimate, resolve_config, rtl, run, serve_llm, sweep, verify

__all__ = ["AcceleratorConfig", "EnergyTable", "InternalError", "Report", "RtlDesign", "UserError", "estimate",
           "load_config", "preset", "preset_names", "resolve_config", "rtl", "run", "serve_llm", "sweep", "verify", "__version__"]

__getattr__, __dir__ = exports(__name__, {name: "api" for name in (
    "Report", "RtlDesign", "estimate", "resolve_config", "serve_llm", "rtl", "run", "sweep", "verify")})

"""Pictures of a hwsim report: per-layer cycles, per-layer energy, and the accelerator's roofline.

Every renderer takes the report as the plain dict of the ``--json`` contract (``Report.to_dict()``
or ``json.load`` of a ``--json`` file) and returns PNG bytes for :func:`hwsim._io.write_output`.
matplotlib draws through its Agg canvas directly, so no backend is selected and pyplot is left
alone; it is imported only when a renderer is first used, which keeps ``hwsim`` quick to start
(importing matplotlib costs most of a second). See docs/plots.md.
"""

from __future__ import annotations

from typing import Any

from .data import DEFAULT_TOP, ReportView, Roofline, Selection, read_report, roofline, select_top

__all__ = [
    "DEFAULT_TOP",
    "ReportView",
    "Roofline",
    "Selection",
    "cycles_png",
    "energy_png",
    "read_report",
    "roofline",
    "roofline_png",
    "select_top",
    "summary_png",
]

_RENDERERS = ("cycles_png", "energy_png", "roofline_png", "summary_png")


def __getattr__(name: str) -> Any:
    # PEP 562: the renderers (and matplotlib with them) load on first use.
    if name in _RENDERERS:
        from . import render

        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

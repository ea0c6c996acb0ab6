"""Pictures of a hwsim report: per-layer cycles, per-layer energy, and the accelerator's roofline.

Every renderer takes the report as the plain dict of the ``--json`` contract (``Report.to_dict()``
or ``json.load`` of a ``--json`` file) and returns PNG bytes for :func:`hwsim.core.files.write_output`.
matplotlib draws through its Agg canvas directly, so no backend is selected and pyplot is left
alone; it is imported only when a renderer is first used, which keeps ``hwsim`` quick to start
(importing matplotlib costs most of a second). See docs/plots.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwsim.core.lazy import exports

from .data import DEFAULT_TOP, IMAGE_FORMATS, ReportView, Roofline, Selection, image_format, read_report, roofline, select_top

if TYPE_CHECKING:
    from .render import cycles_png, energy_png, figure_bytes, roofline_png, summary_image, summary_png
    from .serving import serving_image

__all__ = [
    "DEFAULT_TOP",
    "IMAGE_FORMATS",
    "figure_bytes",
    "image_format",
    "summary_image",
    "ReportView",
    "Roofline",
    "Selection",
    "cycles_png",
    "energy_png",
    "read_report",
    "roofline",
    "roofline_png",
    "select_top",
    "serving_image",
    "summary_png",
]

# The renderers (and matplotlib with them) load on first use.
__getattr__, __dir__ = exports(__name__, {**{name: "render" for name in ("cycles_png", "energy_png", "figure_bytes",
                                                                    "roofline_png", "summary_image", "summary_png")},
                                          "serving_image": "serving"})

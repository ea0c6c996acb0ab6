"""What the plots read from a report: a validated view of the ``--json`` dict, layer grouping, the roofline.

The plots take the report as plain data (``Report.to_dict()`` or a ``--json`` file read back), so
everything they use is checked here once, with a one-line :class:`~hwsim.core.errors.UserError` naming the
file and the field, before any drawing starts.

>>> rf = roofline(AcceleratorConfig(rows=16, cols=16, clock_mhz=1000.0, dram_gbps=16.0))
>>> (rf.peak, rf.dram_bytes_per_cycle, rf.ridge)
(256, 16.0, 16.0)
>>> rf.attainable(4.0), rf.attainable(100.0)
(64.0, 256.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError, shown
from hwsim.report import LAYER_FIELDS, TOTAL_FIELDS

__all__ = ["DEFAULT_TOP", "IMAGE_FORMATS", "image_format", "LayerView", "ReportView", "Roofline", "Selection", "read_report", "roofline", "select_top"]

# The report's fields the plots use; hwsim.report.SCHEMA defines them.
_LAYER_NUMBERS = ("macs", "cycles", "compute_cycles", "stall_cycles", "energy_j", "dram_read_bytes", "dram_write_bytes")
_TOTAL_NUMBERS = ("macs", "cycles", "latency_s", "energy_j")
assert set(_LAYER_NUMBERS) <= set(LAYER_FIELDS) and set(_TOTAL_NUMBERS) <= set(TOTAL_FIELDS)
_HOW_TO_MAKE = "write one with 'hwsim estimate MODEL --json FILE'"
#: Layers a bar chart names before it sums the rest into "other (N layers)".
DEFAULT_TOP = 25
#: Image formats the plots write, by file extension.
IMAGE_FORMATS = ("png", "svg", "pdf")


def image_format(path: Any, flag: str = "--plot") -> str:
    """The image format of ``path`` from its extension; standard output (``-``) and a device or
    descriptor without one (``/dev/null``, ``/dev/stdout``, ``/proc/self/fd/1``) take PNG.

    >>> image_format("report.svg"), image_format("-"), image_format("/dev/null")
    ('svg', 'png', 'png')
    """
    text = str(path)
    suffix = text.rsplit(".", 1)[-1].lower() if "." in text.rsplit("/", 1)[-1] else ""
    if not suffix and (text == "-" or text.startswith(("/dev/", "/proc/self/fd/"))):
        return "png"
    if suffix not in IMAGE_FORMATS:
        what = f"'.{shown(suffix, 20)}'" if suffix else "no extension"
        raise UserError(f"{flag} {shown(text, 80)}: {what} is not an image format hwsim writes; end the file name in "
                        f"{', '.join('.' + f for f in IMAGE_FORMATS)}")
    return suffix


@dataclass(frozen=True)
class LayerView:
    """One layer's figures, as the plots use them."""

    index: int
    name: str
    op: str
    macs: float
    cycles: float
    compute_cycles: float
    stall_cycles: float
    energy_j: float
    #: (component, joules) in the report's order.
    energy_breakdown_j: tuple[tuple[str, float], ...]
    dram_bytes: float

    def energy_of(self, component: str) -> float:
        """Joules of one energy ``component`` (a key of the report's ``energy_breakdown_j``)."""
        return dict(self.energy_breakdown_j)[component]

    @property
    def intensity(self) -> float:
        """Arithmetic intensity in MACs per DRAM byte (``inf`` when the layer moves no DRAM bytes)."""
        return self.macs / self.dram_bytes if self.dram_bytes else math.inf

    @property
    def attained(self) -> float:
        """Attained throughput in MACs per cycle, stalls included."""
        return self.macs / self.cycles if self.cycles else 0.0


@dataclass(frozen=True)
class ReportView:
    """The parts of a report that the plots draw."""

    model: str
    config: AcceleratorConfig
    totals: Mapping[str, float]
    layers: tuple[LayerView, ...]

    @property
    def components(self) -> tuple[str, ...]:
        """Energy components in the report's order."""
        return tuple(key for key, _ in self.layers[0].energy_breakdown_j)

    @property
    def headline(self) -> str:
        """``model on config (RxC dataflow, clock)``: the name every plot title carries."""
        c = self.config
        return f"{self.model} on {c.name} ({c.rows}\u00d7{c.cols} {c.dataflow}, {c.clock_mhz:g} MHz)"


@dataclass(frozen=True)
class Roofline:
    """The roofline of one accelerator: MAC/cycle against MACs per DRAM byte.

    ``peak`` is the array's ``rows x cols`` MACs per cycle; ``dram_bytes_per_cycle`` the DRAM
    bandwidth at the array's clock; ``ridge`` the intensity (MACs/byte) where the two roofs meet.
    """

    peak: int
    dram_bytes_per_cycle: float

    @property
    def ridge(self) -> float:
        return self.peak / self.dram_bytes_per_cycle

    def attainable(self, intensity: float) -> float:
        """The roof: the most MACs per cycle a layer of ``intensity`` MACs/byte can reach."""
        return min(float(self.peak), intensity * self.dram_bytes_per_cycle)


def roofline(cfg: AcceleratorConfig) -> Roofline:
    """The roofline of ``cfg``: peak ``cfg.pes`` MAC/cycle, DRAM ``cfg.dram_bytes_per_cycle`` bytes/cycle."""
    return Roofline(peak=cfg.pes, dram_bytes_per_cycle=cfg.dram_bytes_per_cycle)


@dataclass(frozen=True)
class Selection:
    """Which layers a bar chart names (``shown``, in model order) and which it sums as one "other" bar."""

    shown: tuple[int, ...]
    rest: tuple[int, ...]


def select_top(values: Sequence[float], top: int) -> Selection:
    """Name the ``top`` largest ``values`` (model order kept) and group the rest.

    Ties go to the earlier layer. A single leftover layer is shown rather than grouped, since an
    "other (1 layer)" bar would hide its name for nothing.

    >>> select_top([5, 1, 9, 3, 7], top=2)
    Selection(shown=(2, 4), rest=(0, 1, 3))
    >>> select_top([5, 1, 9], top=2)
    Selection(shown=(0, 1, 2), rest=())
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    if len(values) <= top + 1:
        return Selection(shown=tuple(range(len(values))), rest=())
    ranked = sorted(range(len(values)), key=lambda i: (-values[i], i))
    shown = tuple(sorted(ranked[:top]))
    return Selection(shown=shown, rest=tuple(sorted(ranked[top:])))


def read_report(data: Any, where: str = "report") -> ReportView:
    """Check that ``data`` is a hwsim report (the ``--json`` contract) and return what the plots need.

    ``where`` names the source (a file name) in every error message.
    """
    if not isinstance(data, Mapping):
        raise UserError(f"{where}: not a hwsim report (expected a JSON object, got {_kind(data)}); {_HOW_TO_MAKE}")
    missing = [key for key in ("model", "config", "totals", "layers") if key not in data]
    if missing:
        raise UserError(f"{where}: not a hwsim report (no {', '.join(repr(k) for k in missing)}); {_HOW_TO_MAKE}")
    model = data["model"]
    if not isinstance(model, str):
        raise UserError(f"{where}: 'model' must be a string, got {_kind(model)}")
    cfg = AcceleratorConfig.from_dict(data["config"], f"{where}: config")
    totals = data["totals"]
    if not isinstance(totals, Mapping):
        raise UserError(f"{where}: 'totals' must be an object, got {_kind(totals)}")
    checked_totals = {key: _number(totals, key, f"{where}: totals") for key in _TOTAL_NUMBERS}
    layers = data["layers"]
    if not isinstance(layers, list):
        raise UserError(f"{where}: 'layers' must be a list, got {_kind(layers)}")
    if not layers:
        raise UserError(f"{where}: the report has no layers to plot")
    views = tuple(_layer(layer, i, where) for i, layer in enumerate(layers))
    components = tuple(key for key, _ in views[0].energy_breakdown_j)
    for view in views[1:]:
        if tuple(key for key, _ in view.energy_breakdown_j) != components:
            raise UserError(f"{where}: layers[{view.index}].energy_breakdown_j has components "
                            f"{', '.join(k for k, _ in view.energy_breakdown_j)}; layers[0] has {', '.join(components)}")
    return ReportView(model=model, config=cfg, totals=checked_totals, layers=views)


def _layer(layer: Any, i: int, where: str) -> LayerView:
    at = f"{where}: layers[{i}]"
    if not isinstance(layer, Mapping):
        raise UserError(f"{at} must be an object, got {_kind(layer)}")
    for key in ("name", "op"):
        if not isinstance(layer.get(key), str):
            raise UserError(f"{at}.{key} must be a string, got {_kind(layer.get(key))}")
    n = {key: _number(layer, key, at) for key in _LAYER_NUMBERS}
    breakdown = layer.get("energy_breakdown_j")
    if not isinstance(breakdown, Mapping) or not breakdown:
        raise UserError(f"{at}.energy_breakdown_j must be an object of joules per component, got {_kind(breakdown)}")
    energy = tuple((str(key), _number(breakdown, key, f"{at}.energy_breakdown_j")) for key in breakdown)
    return LayerView(index=i, name=layer["name"], op=layer["op"], macs=n["macs"], cycles=n["cycles"],
                     compute_cycles=n["compute_cycles"], stall_cycles=n["stall_cycles"], energy_j=n["energy_j"],
                     energy_breakdown_j=energy, dram_bytes=n["dram_read_bytes"] + n["dram_write_bytes"])


def _number(mapping: Mapping[str, Any], key: str, at: str) -> float:
    value = mapping.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        got = "nothing" if key not in mapping else shown(repr(value), 40)
        raise UserError(f"{at}.{key} must be a non-negative number, got {got}")
    return float(value)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)

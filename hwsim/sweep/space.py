"""The design space: value lists and ranges on the command line, and the designs they span.

Integer axes (``--rows``, ``--cols``, ``--buffer-kib``) take a comma-separated list of items; each
item is one of

===============  ==========================================  ===================
``16``           one value                                   16
``8-64/8``       ``start-stop/step``: arithmetic, inclusive  8, 16, 24, ..., 64
``8-12``         ``start-stop``: step 1                      8, 9, 10, 11, 12
``8:64:8``       ``start:stop:step``: the same as ``8-64/8``  8, 16, 24, ..., 64
``8:64:x2``      ``start:stop:xF``: geometric, factor F >= 2  8, 16, 32, 64
===============  ==========================================  ===================

Ranges include ``stop`` when a step lands on it and never pass it. Values are positive integers;
the union of all items is sorted and duplicates dropped (``8,8-16/8`` is 8, 16). Anything else
(0, negative numbers, fractions, empty items, ``stop < start``, a step of 0, a factor below 2) is a
:class:`~hwsim.core.errors.UserError` naming the flag and the item.

    >>> parse_int_axis("8:64:x2,48", "--rows")
    (8, 16, 32, 48, 64)

``--buffer-kib B`` is the *total* on-chip SRAM of a design, split between the ifmap, filter and
ofmap buffers in the proportions of the base config (``gemmini-like``: 128 : 128 : 64, so
``--buffer-kib 256`` gives 102.4 + 102.4 + 51.2 KiB). Area scales with total SRAM, so the axis is
what an area budget is spent on; to sweep a different split, give a ``--config`` with it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from hwsim.core.config import DATAFLOWS, AcceleratorConfig
from hwsim.core.errors import UserError

from .fmax import design_clock

__all__ = ["Design", "DesignSpace", "parse_int_axis", "parse_dataflows", "split_buffers", "MAX_AXIS_VALUES"]

#: An axis longer than this is almost certainly a typo (``1-100000``), not a sweep.
MAX_AXIS_VALUES = 4096

_INT = r"(-?\d+)"
_RANGE_DASH = re.compile(rf"^{_INT}-{_INT}(?:/{_INT})?$")
_RANGE_COLON = re.compile(rf"^{_INT}:{_INT}:(x?){_INT}$")


def _positive(text: str, flag: str, item: str, what: str = "values") -> int:
    value = int(text)
    if value < 1:
        raise UserError(f"{flag} {item!r}: {what} must be positive integers, got {value}")
    return value


def _parse_item(item: str, flag: str) -> list[int]:
    if re.fullmatch(r"-?\d+", item):
        return [_positive(item, flag, item)]
    dash = _RANGE_DASH.match(item)
    colon = _RANGE_COLON.match(item)
    if dash:
        start, stop, step, geometric = dash.group(1), dash.group(2), dash.group(3) or "1", False
    elif colon:
        start, stop, geometric, step = colon.group(1), colon.group(2), colon.group(3) == "x", colon.group(4)
    else:
        raise UserError(f"{flag} {item!r}: not an integer or a range; write e.g. 16, 8-64/8 or 8:64:x2")
    lo, hi = _positive(start, flag, item), _positive(stop, flag, item)
    if hi < lo:
        raise UserError(f"{flag} {item!r}: the range ends ({hi}) before it starts ({lo})")
    n = int(step)
    if geometric:
        if n < 2:
            raise UserError(f"{flag} {item!r}: a geometric factor must be an integer of at least 2, got x{n}")
        values = [lo]
        while values[-1] * n <= hi and len(values) <= MAX_AXIS_VALUES:
            values.append(values[-1] * n)
        return values
    _positive(step, flag, item, what="steps")
    if (hi - lo) // n + 1 > MAX_AXIS_VALUES:
        raise UserError(f"{flag} {item!r}: more than {MAX_AXIS_VALUES} values; use a larger step")
    return list(range(lo, hi + 1, n))


def parse_int_axis(text: str, flag: str) -> tuple[int, ...]:
    """The sorted, distinct positive integers that ``text`` lists (module docstring has the syntax)."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise UserError(f"{flag} {text!r}: empty value; give a comma-separated list such as 8,16,32")
    values = sorted({v for item in items for v in _parse_item(item, flag)})
    if len(values) > MAX_AXIS_VALUES:
        raise UserError(f"{flag} {text!r}: more than {MAX_AXIS_VALUES} values; use a larger step")
    return tuple(values)


def parse_dataflows(text: str, flag: str = "--dataflow") -> tuple[str, ...]:
    """Distinct dataflows from a comma list, in the canonical order ws, os, is; ``all`` is all three."""
    items = [item.strip().lower() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise UserError(f"{flag} {text!r}: empty value; give a comma-separated list such as ws,os,is")
    chosen: set[str] = set()
    for item in items:
        if item == "all":
            chosen.update(DATAFLOWS)
        elif item in DATAFLOWS:
            chosen.add(item)
        else:
            raise UserError(f"{flag} {item!r}: unknown dataflow; choose from {', '.join(DATAFLOWS)} or all")
    return tuple(d for d in DATAFLOWS if d in chosen)


def split_buffers(base: AcceleratorConfig, total_kib: float) -> dict[str, float]:
    """``total_kib`` of SRAM split between the three buffers in ``base``'s proportions.

    >>> split_buffers(AcceleratorConfig(ifmap_kib=128.0, filter_kib=128.0, ofmap_kib=64.0), 256)
    {'ifmap_kib': 102.4, 'filter_kib': 102.4, 'ofmap_kib': 51.2}
    """
    base_total = base.ifmap_kib + base.filter_kib + base.ofmap_kib
    return {key: total_kib * getattr(base, key) / base_total for key in ("ifmap_kib", "filter_kib", "ofmap_kib")}


@dataclass(frozen=True, order=True)
class Design:
    """One point of the design space; the rest of the accelerator comes from the base config."""

    rows: int
    cols: int
    dataflow: str
    #: Total on-chip SRAM in KiB, split between the buffers by :func:`split_buffers`.
    buffer_kib: float

    @property
    def label(self) -> str:
        """A short human name: ``16x32 ws 256 KiB``."""
        return f"{self.rows}x{self.cols} {self.dataflow} {self.buffer_kib:g} KiB"

    def config(self, base: AcceleratorConfig) -> AcceleratorConfig:
        """``base`` with this design's array and buffers (raises UserError if that is not a valid config),
        at the clock its RTL reaches when ``base`` names an FPGA (:func:`~hwsim.sweep.fmax.design_clock`)."""
        cfg = self.sized(base)
        return cfg.replace(clock_mhz=design_clock(cfg).mhz)

    def sized(self, base: AcceleratorConfig) -> AcceleratorConfig:
        """``base`` with this design's array and buffers, at ``base``'s clock."""
        return base.replace(rows=self.rows, cols=self.cols, dataflow=self.dataflow,
                            **split_buffers(base, self.buffer_kib))

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "cols": self.cols, "dataflow": self.dataflow, "buffer_kib": self.buffer_kib}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Design:
        return cls(int(data["rows"]), int(data["cols"]), str(data["dataflow"]), float(data["buffer_kib"]))


@dataclass(frozen=True)
class DesignSpace:
    """The cartesian product rows x cols x dataflow x buffer size, in that nesting order."""

    rows: tuple[int, ...]
    cols: tuple[int, ...]
    dataflows: tuple[str, ...]
    buffer_kib: tuple[float, ...]

    @classmethod
    def around(cls, base: AcceleratorConfig, *, rows: tuple[int, ...] | None = None,
               cols: tuple[int, ...] | None = None, dataflows: tuple[str, ...] | None = None,
               buffer_kib: tuple[float, ...] | None = None) -> DesignSpace:
        """A space whose unswept axes hold ``base``'s own value."""
        return cls(rows=rows or (base.rows,), cols=cols or (base.cols,), dataflows=dataflows or (base.dataflow,),
                   buffer_kib=tuple(float(b) for b in buffer_kib) if buffer_kib
                   else (base.ifmap_kib + base.filter_kib + base.ofmap_kib,))

    def __len__(self) -> int:
        return len(self.rows) * len(self.cols) * len(self.dataflows) * len(self.buffer_kib)

    def designs(self) -> list[Design]:
        return [Design(r, c, d, b) for r, c, d, b in itertools.product(self.rows, self.cols, self.dataflows,
                                                                       self.buffer_kib)]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": list(self.rows), "cols": list(self.cols), "dataflow": list(self.dataflows),
                "buffer_kib": list(self.buffer_kib)}

"""SCALE-Sim topology ``.csv`` files, read into GEMM workloads with SCALE-Sim's own operand mapping.

Two forms; the first line is a header and is skipped, as SCALE-Sim does::

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
    Conv1,224,224,7,7,3,64,2,

    Layer, M, N, K,
    FF_A_0,128,512,2048,

A convolution row becomes SCALE-Sim's GEMM (a :class:`ConvLayer` that keeps its geometry): ``m`` = ofmap pixels with SCALE-Sim's
``ceil((H - Fh + S) / S)`` per axis (no padding; one stride for both axes), ``k = Fh * Fw * C``,
``n`` = filters. A row whose name contains ``DP`` is depthwise: like SCALE-Sim, it becomes one
single-channel layer per channel, named ``<name>Channel_<i>``. A GEMM row ``M, N, K`` is
``m = M, k = K, n = N``. A field ``N:M`` after the numbers (SCALE-Sim's sparsity ratio) is
checked and ignored, and so is any other field after the numbers (SCALE-Sim drops the last one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.core.errors import UserError
from hwsim.core.files import read_text
from hwsim.core.workload import GemmShape, Kind, Workload

__all__ = ["CONV_FIELDS", "GEMM_FIELDS", "ConvGeometry", "ConvLayer", "load_topology", "topology_form"]

CONV_FIELDS = ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels", "Num Filter", "Strides")
GEMM_FIELDS = ("M", "N", "K")


@dataclass(frozen=True)
class ConvGeometry:
    """A convolution row as SCALE-Sim reads it: ``h x w x c`` input, ``fh x fw`` filter, one stride."""

    h: int
    w: int
    c: int
    fh: int
    fw: int
    stride: int

    @property
    def out_h(self) -> int:
        return math.ceil((self.h - self.fh + self.stride) / self.stride)

    @property
    def out_w(self) -> int:
        return math.ceil((self.w - self.fw + self.stride) / self.stride)

    @property
    def overlapping(self) -> bool:
        """Whether neighbouring windows share input pixels (then im2col entries repeat)."""
        return self.fh > self.stride or self.fw > self.stride

    @property
    def hangs(self) -> bool:
        """Whether the last windows hang over the input's edge (SCALE-Sim's ceil allows that,
        e.g. a 1x1 stride-2 filter on 56 pixels makes 29 outputs): the operand then has holes."""
        return (self.out_h - 1) * self.stride + self.fh > self.h or (self.out_w - 1) * self.stride + self.fw > self.w

    def addresses(self, pixel: np.ndarray, window: np.ndarray) -> np.ndarray:
        """SCALE-Sim's ifmap operand (operand_matrix.calc_ifmap_elem_addr) at broadcastable
        ``pixel`` (ofmap pixel, row of the operand) and ``window`` (``(filter row, filter column,
        channel)``, its column) indices: the input element's index, or -1 where a window hangs over
        the input's edge (SCALE-Sim's ceil allows that) or the pixel or window is out of range.

        >>> g = ConvGeometry(h=3, w=3, c=1, fh=2, fw=2, stride=1)
        >>> g.addresses(np.arange(4)[:, None], np.arange(4)[None, :]).tolist()
        [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]
        """
        pixels, window_len = self.out_h * self.out_w, self.fh * self.fw * self.c
        # Out-of-range pixels start one row below the input, so no window of theirs is inside.
        iy = np.where(pixel < pixels, (pixel // self.out_w) * self.stride, self.h).astype(np.int32)
        ix = ((pixel % self.out_w) * self.stride).astype(np.int32)
        fy, rest = np.divmod(window.astype(np.int32), self.fw * self.c)
        fx, ch = np.divmod(rest, self.c)
        fy = np.where(window < window_len, fy, self.h)
        address = (iy * self.w + ix) * self.c + ((fy * self.w + fx) * self.c + ch)
        if self.hangs:
            return np.where((iy + fy < self.h) & (ix + fx < self.w), address, -1)
        # No window hangs over: only out-of-range indices are invalid, a cheaper mask.
        if np.any(pixel >= pixels) or np.any(window >= window_len):
            return np.where((pixel < pixels) & (window < window_len), address, -1)
        return address

    def im2col(self) -> np.ndarray:
        """The whole ifmap operand: one row per ofmap pixel, one column per window element."""
        return self.addresses(np.arange(self.out_h * self.out_w)[:, None],
                              np.arange(self.fh * self.fw * self.c)[None, :])


@dataclass(frozen=True)
class ConvLayer(Workload):
    """A topology file's convolution: a GEMM workload that keeps its geometry, which SCALE-Sim's
    memory model looks at (overlapping windows make im2col entries repeat)."""

    geometry: ConvGeometry | None = None


def load_topology(path: str | Path, *, form: str | None = None) -> tuple[Workload, ...]:
    """Every layer of a SCALE-Sim topology file as a GEMM :class:`~hwsim.core.workload.Workload`.

    ``form`` is ``"conv"`` or ``"gemm"``; by default the header decides (``M, N, K`` columns mean
    GEMM), as SCALE-Sim's ``-i gemm`` switch would. Every error names the file, line and field.
    """
    p = Path(path)
    lines = read_text(p, "topology file").splitlines()
    if not lines:
        raise UserError(f"{p}: topology file is empty; it needs a header line and one line per layer")
    if form is None:
        form = _detect_form(lines[0])
    elif form not in ("conv", "gemm"):
        raise ValueError(f"form must be 'conv' or 'gemm', got {form!r}")
    parse = _conv_row if form == "conv" else _gemm_row
    layers: list[Workload] = []
    for number, raw in enumerate(lines[1:], start=2):
        fields = [f.strip() for f in raw.split(",")]
        while fields and not fields[-1]:
            fields.pop()  # SCALE-Sim rows end with a comma; empty trailing fields carry nothing
        if not fields:
            continue
        layers.extend(parse(fields, f"{p}:{number}"))
    if not layers:
        raise UserError(f"{p}: no layers after the header line")
    return tuple(layers)


def _detect_form(header: str) -> str:
    names = [f.strip().lower() for f in header.split(",")]
    return "gemm" if names[1:4] == ["m", "n", "k"] else "conv"


def topology_form(path: str | Path) -> str:
    """``"gemm"`` if the header names the columns M, N, K (SCALE-Sim's ``-i gemm``), else ``"conv"``."""
    lines = read_text(path, "topology file").splitlines()
    return _detect_form(lines[0] if lines else "")


def _numbers(fields: list[str], names: tuple[str, ...], where: str) -> tuple[str, list[int]]:
    name = fields[0]
    if not name:
        raise UserError(f"{where}: field 'Layer name' is empty; every row starts with the layer's name")
    values = []
    for i, field in enumerate(names, start=1):
        if i >= len(fields) or not fields[i]:
            raise UserError(f"{where}: field '{field}' is missing in layer {name!r}; "
                            f"a row needs the name then {', '.join(names)}")
        try:
            value = int(fields[i])
        except ValueError:
            value = 0
        if value < 1:
            raise UserError(f"{where}: field '{field}' must be a positive integer, got {fields[i]!r}")
        values.append(value)
    for extra in fields[len(names) + 1:]:
        if ":" in extra:  # SCALE-Sim's optional sparsity ratio; other extra fields are notes
            _check_ratio(extra, where)
    return name, values


def _check_ratio(text: str, where: str) -> None:
    n, sep, m = text.partition(":")
    if not sep or not (n.strip().isdigit() and m.strip().isdigit()) or int(m) < 1 or not 0 < int(n) <= int(m):
        raise UserError(f"{where}: field 'Sparsity' must be a ratio N:M with 0 < N <= M, got {text!r}")


def _conv_row(fields: list[str], where: str) -> list[Workload]:
    name, (h, w, fh, fw, ch, nf, stride) = _numbers(fields, CONV_FIELDS, where)
    if fh > h:
        raise UserError(f"{where}: field 'Filter Height' ({fh}) is larger than 'IFMAP Height' ({h})")
    if fw > w:
        raise UserError(f"{where}: field 'Filter Width' ({fw}) is larger than 'IFMAP Width' ({w})")
    if "DP" in name:  # SCALE-Sim's depthwise convention: one single-channel layer per channel
        return [_conv(f"{name}Channel_{i}", ConvGeometry(h, w, 1, fh, fw, stride), nf) for i in range(ch)]
    return [_conv(name, ConvGeometry(h, w, ch, fh, fw, stride), nf)]


def _conv(name: str, g: ConvGeometry, filters: int) -> ConvLayer:
    k, pixels = g.fh * g.fw * g.c, g.out_h * g.out_w
    return ConvLayer(name=name, op="Conv", kind=Kind.GEMM, gemm=GemmShape(m=pixels, k=k, n=filters, taps=g.fh * g.fw),
                     input_elems=g.h * g.w * g.c, weight_elems=k * filters, output_elems=pixels * filters,
                     nodes=(name,), geometry=g)


def _gemm_row(fields: list[str], where: str) -> list[Workload]:
    name, (m, n, k) = _numbers(fields, GEMM_FIELDS, where)
    return [Workload(name=name, op="Gemm", kind=Kind.GEMM, gemm=GemmShape(m=m, k=k, n=n),
                     input_elems=m * k, weight_elems=k * n, output_elems=m * n, nodes=(name,))]

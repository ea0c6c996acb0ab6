"""A user's mapping: per layer, the DRAM-level loops pinned, each iteration one call whose inside
hwsim's search maps (docs/model.md#pinned-mappings).

Contract: :func:`load_mapping` reads a mapping file (TOML, or JSON when the name ends in
``.json``) into a :class:`PinnedMapping`; every error is one :class:`~hwsim.core.errors.UserError`
line naming the file, the layer and the fix. :func:`map_pinned` costs one GEMM layer as its pinned
loops run it: one call per iteration of the loops, outermost first. With ``reuse = "none"`` a call
loads the input window and the weight block it needs from DRAM whatever the previous call loaded
(as Gemmini's ``tiled_conv`` issues one ``sp_tiled_conv``, and ``tiled_matmul`` one
``sp_tiled_matmul_ws``, per iteration, each moving its operands in); partial sums of a reduction cut
across calls wait in the accumulator, and a result leaves once, after its last call. With ``reuse =
"order"`` (Timeloop's convention) an operand stays while only loops that do not index it advance, and
a result left before its reduction ends goes out and comes back as partial sums. Inside a call
:func:`compiler.mapping.map_gemm` searches tiles that fit the buffers. The calls run back to back through the same memory model as
tiles (:func:`hwsim.core.memory.gemm_stall`): the next call's loads overlap this call's compute.

The dimensions are Timeloop's (and DOSA's): a convolution's ``N`` images, ``K`` output and ``C``
input channels, ``Q`` output rows and ``P`` output columns, ``S`` kernel rows and ``R`` kernel
columns. A GEMM ``(m x k) @ (k x n)`` is a 1x1 convolution: ``P = m``, ``C = k``, ``K = n``, and
``N`` its batch (groups). A loop nest is written outermost first, ``"Q7 S3 R3 K64"``; a dimension
left out is not cut at the DRAM level (its factor is 1).

>>> nest = parse_loops("Q7 S3 R3 K64", "example")
>>> nest.calls, nest.factor("K"), nest.factor("C"), nest.text
(4032, 64, 1, 'Q7 S3 R3 K64')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Union

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError, shown
from hwsim.core.files import parse_json, parse_toml, read_text
from hwsim.core.memory import LayerTraffic, gemm_stall
from hwsim.core.program import TileRun
from hwsim.core.timing import run_cycles
from hwsim.core.workload import GemmShape, Kind, TensorRef, Workload

from .mapping import Choice, Operands, layer_bytes, layer_traffic, map_gemm
from .ops.gemm import touched_positions

__all__ = ["DIMS", "LoopNest", "PinnedMapping", "MappingSource", "parse_loops", "load_mapping", "as_mapping",
           "layer_dims", "check_nest", "map_pinned"]

#: The dimensions a loop may cut, with what each is.
DIMS: dict[str, str] = {"N": "batch", "K": "output channels", "C": "input channels", "Q": "output rows",
                        "P": "output columns", "S": "kernel rows", "R": "kernel columns"}
_OUTPUT_DIMS = "NPQ"  # the dimensions that select a result, besides K
#: The dimensions that index each operand: the input, the weights, the results.
_INDEXES = {"a": "NCQPSR", "b": "KCSR", "out": "NKQP"}
#: What ``reuse`` may be: no operand kept between calls (Gemmini's ``tiled_conv``), or kept while the
#: loops that advance do not index it (Timeloop's convention).
REUSE = ("none", "order")
_TOKEN = re.compile(r"([A-Z])(\d+)$")
_HINT = "write loops outermost first as dimension letter and factor, e.g. loops = \"Q7 S3 R3 K64\", with letters " \
        "from N K C P Q R S (docs/model.md#pinned-mappings)"


@dataclass(frozen=True)
class LoopNest:
    """DRAM-level loops, outermost first: ``(dimension, factor)`` pairs, each dimension at most once.
    ``reuse`` (:data:`REUSE`): ``"none"``, every call loads its operands; ``"order"``, an operand stays
    on chip from one call to the next while only loops that do not index it advance."""

    loops: tuple[tuple[str, int], ...]
    reuse: str = "none"

    def factor(self, dim: str) -> int:
        return next((f for d, f in self.loops if d == dim), 1)

    @property
    def calls(self) -> int:
        """One call per iteration of the loops."""
        return math.prod(f for _, f in self.loops)

    @property
    def text(self) -> str:
        return " ".join(f"{d}{f}" for d, f in self.loops)

    def visits(self, dims: str) -> int:
        """How many times an operand indexed by ``dims`` is brought on chip: once per call without
        reuse; with ``reuse = "order"`` once per iteration of the loops down to the innermost one
        that indexes it (the loops inside it leave it in place)."""
        if self.reuse == "none":
            return self.calls
        inner = max((i for i, (d, _) in enumerate(self.loops) if d in dims), default=-1)
        return math.prod(f for _, f in self.loops[:inner + 1])


@dataclass(frozen=True)
class PinnedMapping:
    """Loop nests by layer name; ``source`` names where they came from, for error messages."""

    nests: tuple[tuple[str, LoopNest], ...]
    source: str = "mapping"

    def get(self, name: str) -> LoopNest | None:
        return next((nest for key, nest in self.nests if key == name), None)

    def check_names(self, names: list[str]) -> None:
        """A one-line error for the first pinned layer that is not among ``names``."""
        known = set(names)
        for name, _ in self.nests:
            if name not in known:
                near = ", ".join(shown(n, 40) for n in names[:3])
                raise UserError(f"{self.source}: layer {shown(name, 80)} is not a layer of the model; key each "
                                f"loop nest by a layer name as the report lists them (e.g. {near})")


#: What :func:`as_mapping` accepts: a file, a mapping object, or layer names to loop text.
MappingSource = Union[str, Path, PinnedMapping, Mapping[str, str]]


def parse_loops(text: object, where: str, reuse: str = "none") -> LoopNest:
    """A loop nest from its text (``"Q7 S3 R3 K64"``); ``where`` names the file and layer for errors."""
    if not isinstance(text, str):
        raise UserError(f"{where}: loops must be a string, got {shown(repr(text), 40)}; {_HINT}")
    loops: list[tuple[str, int]] = []
    for token in text.split():
        m = _TOKEN.match(token)
        if m is None or m.group(1) not in DIMS:
            raise UserError(f"{where}: loop {shown(repr(token), 40)} is not a dimension letter and a factor; {_HINT}")
        dim, factor = m.group(1), int(m.group(2))
        if factor < 1:
            raise UserError(f"{where}: loop {token}: a factor is at least 1; {_HINT}")
        if any(d == dim for d, _ in loops):
            raise UserError(f"{where}: dimension {dim} appears twice; give each dimension one factor (their product)")
        loops.append((dim, factor))
    return LoopNest(tuple(loops), reuse)


def _from_data(data: Any, where: str) -> PinnedMapping:
    if not isinstance(data, dict) or set(data) - {"layers", "reuse"} or not isinstance(data.get("layers"), dict):
        raise UserError(f"{where}: a mapping file holds a table [layers], with a table per layer name, and "
                        f"optionally reuse; e.g. [layers.\"conv1\"] loops = \"K4 Q2\" (docs/model.md#pinned-mappings)")
    reuse = data.get("reuse", "none")
    if reuse not in REUSE:
        raise UserError(f"{where}: reuse = {shown(repr(reuse), 40)}: choose \"none\" (every call loads its operands) "
                        "or \"order\" (an operand stays while the loops that advance do not index it)")
    nests = []
    for name, entry in data["layers"].items():
        at = f"{where}: layer {shown(name, 80)}"
        if not isinstance(entry, dict) or set(entry) != {"loops"}:
            raise UserError(f"{at}: give exactly one key, loops; {_HINT}")
        nests.append((str(name), parse_loops(entry["loops"], at, reuse)))
    return PinnedMapping(tuple(nests), where)


def load_mapping(path: str | Path) -> PinnedMapping:
    """Read a mapping file: TOML (``[layers."name"] loops = "Q7 K64"``), or JSON with the same shape
    when its name ends in ``.json``."""
    p = Path(path)
    where = shown(p)
    text = read_text(p, "mapping file", missing_hint="give the path of a mapping file, e.g. "
                     "docs/examples/matmul_mapping.toml (docs/model.md#pinned-mappings)")
    if p.suffix.lower() == ".json":
        return _from_data(parse_json(text, where, "give a mapping file (docs/model.md#pinned-mappings)"), where)
    return _from_data(parse_toml(text, where, "give a mapping file (docs/model.md#pinned-mappings)"), where)


def as_mapping(source: MappingSource | None) -> PinnedMapping | None:
    """A :class:`PinnedMapping` from a file, a dict shaped as a file (``{"reuse": ..., "layers":
    {name: {"loops": ...}}}``), a dict of layer name to loop text, or one already made."""
    if source is None or isinstance(source, PinnedMapping):
        return source
    if isinstance(source, (str, Path)):
        return load_mapping(source)
    if isinstance(source.get("layers"), dict):
        return _from_data(dict(source), "mapping")
    return _from_data({"layers": {name: {"loops": loops} for name, loops in source.items()}}, "mapping")


def layer_dims(w: Workload) -> dict[str, int] | None:
    """The sizes of ``w``'s dimensions (:data:`DIMS`), or None when a pinned mapping cannot cut it:
    not a GEMM, a grouped convolution, or a convolution whose geometry is not known (1-D, 3-D,
    transposed, a gradient)."""
    g = w.gemm
    if w.kind is not Kind.GEMM or g is None:
        return None
    win = w.window
    if win is not None:
        if g.groups > 1:
            return None
        return {"N": win.n, "K": win.k, "C": win.c, "Q": win.q, "P": win.p, "S": win.s, "R": win.r}
    if g.taps > 1:
        return None
    return {"N": g.groups, "K": g.n, "C": g.k, "Q": 1, "P": g.m, "S": 1, "R": 1}


def _divisors(n: int) -> str:
    small = [d for d in range(1, n + 1) if n % d == 0]
    return ", ".join(map(str, small[:8])) + (", ..." if len(small) > 8 else "")


def check_nest(w: Workload, nest: LoopNest, where: str) -> dict[str, int]:
    """``w``'s dimension sizes, once every factor of ``nest`` divides its dimension; else a UserError."""
    dims = layer_dims(w)
    at = f"{where}: layer {shown(w.name, 80)}"
    if dims is None:
        raise UserError(f"{at} ({w.op}) cannot be pinned: a pinned mapping cuts GEMMs and ungrouped 2-D "
                        "convolutions; remove its entry")
    for dim, factor in nest.loops:
        if dims[dim] % factor:
            raise UserError(f"{at}: {dim}{factor} does not divide the layer's {dim} = {dims[dim]} ({DIMS[dim]}); "
                            f"use a divisor of {dims[dim]} ({_divisors(dims[dim])})")
    return dims


def _window_sum(w: Workload, tile: dict[str, int], f: dict[str, int]) -> tuple[int, int]:
    """(input elements of every distinct input tile, summed; the most one call loads): a call reads
    the input positions its outputs' windows touch through its taps (the padding is not read)."""
    win = w.window
    assert win is not None

    def axis(size: int, outs: int, taps: int, stride: int, dil: int, pad: int, fo: int, ft: int) -> tuple[int, int]:
        counts = [touched_positions(size, taps, stride, dil, pad - i * outs * stride - j * taps * dil, outs)
                  for i in range(fo) for j in range(ft)]
        return sum(counts), max(counts)

    rows, rows_max = axis(win.in_h, tile["Q"], tile["S"], win.stride_h, win.dilation_h, win.pad_top, f["Q"], f["S"])
    cols, cols_max = axis(win.in_w, tile["P"], tile["R"], win.stride_w, win.dilation_w, win.pad_left, f["P"], f["R"])
    per_pixel = tile["N"] * tile["C"]
    return f["N"] * f["C"] * per_pixel * rows * cols, per_pixel * rows_max * cols_max


def _call(w: Workload, tile: dict[str, int], a_elems: int) -> Workload:
    """The workload of one call: the layer's product cut to the call's dimensions, its operands in DRAM."""
    if w.window is not None:
        g = GemmShape(m=tile["N"] * tile["Q"] * tile["P"], k=tile["C"] * tile["S"] * tile["R"], n=tile["K"],
                      taps=tile["S"] * tile["R"], row=tile["P"])
    else:
        g = GemmShape(m=tile["P"], k=tile["C"], n=tile["K"], groups=tile["N"])
    inputs = [TensorRef(f"{w.name}:a", a_elems, a_elems, "a")]
    b_elems = g.groups * g.k * g.n
    if not w.b_is_weight:
        inputs.append(TensorRef(f"{w.name}:b", b_elems, b_elems, "b"))
    return Workload(name=w.name, op=w.op, kind=Kind.GEMM, gemm=g, input_elems=sum(r.elems for r in inputs),
                    weight_elems=b_elems if w.b_is_weight else 0, output_elems=g.groups * g.m * g.n,
                    b_is_weight=w.b_is_weight, inputs=tuple(inputs))


def map_pinned(w: Workload, cfg: AcceleratorConfig, ops: Operands, nest: LoopNest, where: str = "mapping") -> Choice:
    """``w`` on ``cfg`` as ``nest`` runs it (the module docstring), with its tensors where ``ops`` says."""
    dims = check_nest(w, nest, where)
    assert w.gemm is not None  # check_nest refuses anything else
    f = {d: nest.factor(d) for d in DIMS}
    tile = {d: dims[d] // f[d] for d in DIMS}
    calls = nest.calls
    ib = cfg.input_bytes
    if w.window is not None:
        a_tiles, a_call = _window_sum(w, tile, f)
    else:
        a_call = tile["N"] * tile["P"] * tile["C"]
        a_tiles = f["N"] * f["P"] * f["C"] * a_call
    # Inside a call the search maps the call's product alone, its operands staged from DRAM.
    call = _call(w, tile, a_call)
    assert call.gemm is not None
    call_ops = Operands(a_on_chip=ops.a_on_chip, b_on_chip=ops.b_on_chip, free_bytes=ops.free_bytes)
    inner = map_gemm(call, cfg, call_ops)
    lb, call_lb = layer_bytes(w, cfg, ops), layer_bytes(call, cfg, call_ops)
    a_fetches = inner.a_dram // (a_call * ib) if a_call else 0  # times the search moves a call's A in
    # An operand stays between calls only if a call holds it whole; one the call streams comes again.
    a_visits = nest.visits(_INDEXES["a"]) if a_fetches <= 1 else calls
    b_visits = nest.visits(_INDEXES["b"]) if inner.b_dram <= call_lb.b_total else calls
    a_dram = a_fetches * a_tiles * ib * (a_visits // math.prod(f[d] for d in _INDEXES["a"]))
    b_dram = b_visits * inner.b_dram
    # Each output tile's first call loads the bias of its output channels.
    bias = lb.bias_bytes * math.prod(f[d] for d in _OUTPUT_DIMS)
    # A result left before its reduction ends (a reduction loop outside an output loop, with reuse by
    # order) goes out and comes back as partial sums: every visit but its last writes them, every one
    # but its first reads them back. Without reuse they wait in the accumulator.
    out_tiles = math.prod(f[d] for d in _INDEXES["out"])
    partial = 0
    if nest.reuse == "order" and ops.out_dram:
        products = w.gemm.groups * w.gemm.m * w.gemm.n  # the sums before any fused pooling
        partial = 2 * (nest.visits(_INDEXES["out"]) - out_tiles) * (products // out_tiles) * cfg.acc_bytes
    moved = a_dram + b_dram + bias + partial + lb.fixed - lb.bias_bytes
    tile_runs = tuple(TileRun(r.tile, r.count * calls) for r in inner.runs)
    row = call.gemm.row  # a call's commands stop at the call's output rows
    shapes = [(r.count, run_cycles(cfg, r.tile, row), r.tile.macs) for r in tile_runs]
    compute, stall = gemm_stall(cfg, shapes, LayerTraffic(moved - lb.pass_bytes, inner.first_in, inner.last_out,
                                                          tile_runs[-1].tile.m),
                                w.vector_ops - lb.unfused_ops, lb.unfused_ops, lb.pass_bytes)
    # On chip every call moves what its own mapping moves; DRAM is the layer's, counted above.
    array = {key: getattr(inner.traffic, key) * calls
             for key in ("ifmap_reads", "filter_reads", "ofmap_writes", "ofmap_reads", "array_reg_bytes")}
    traffic = layer_traffic(w, cfg, ops, array, a_dram, b_dram, bias, lb.out_bytes,
                            lb.inter * ib if lb.unfused_ops else 0, lb.round_trip, partial)
    return Choice(inner.tiles, tile_runs, inner.mapping, traffic, inner.first_in, inner.last_out, compute, stall,
                  inner.footprint, lb.compulsory, lb.unfused_ops, lb.pass_bytes, inner.k_segment, a_dram, b_dram,
                  calls=calls, loops=nest.text, row=row, reuse=nest.reuse)

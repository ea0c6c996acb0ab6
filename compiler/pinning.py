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

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Union

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError, shown
from hwsim.core.files import parse_json, parse_toml, read_text
from hwsim.core.memory import LayerTraffic, gemm_stall
from hwsim.core.program import TileRun
from hwsim.core.timing import run_cycles
from hwsim.core.workload import STORE_PATH_FAMILIES, GemmShape, Kind, TensorRef, Workload

from .mapping import Choice, Operands, layer_bytes, layer_traffic, map_gemm, operand_requests
from .ops.gemm import touched_positions

__all__ = ["DIMS", "WINDOWS", "VIEWS", "LoopNest", "PinnedMapping", "MappingSource", "parse_loops", "parse_tiles",
           "load_mapping", "as_mapping", "layer_dims", "check_nest", "map_pinned"]

#: The dimensions a loop may cut, with what each is.
DIMS: dict[str, str] = {"N": "batch", "K": "output channels", "C": "input channels", "Q": "output rows",
                        "P": "output columns", "S": "kernel rows", "R": "kernel columns"}
_OUTPUT_DIMS = "NPQ"  # the dimensions that select a result, besides K
#: The dimensions that index each operand: the input, the weights, the results.
_INDEXES = {"a": "NCQPSR", "b": "KCSR", "out": "NKQP"}
#: What ``reuse`` may be: no operand kept between calls (Gemmini's ``tiled_conv``), or kept while the
#: loops that advance do not index it (Timeloop's convention).
REUSE = ("none", "order")
#: How a call loads its input window: the positions its taps read, or the whole span between the
#: first and the last (Gemmini's ``LoopConvLdInput`` loads every row and column of the window).
WINDOWS = ("touched", "span")
#: What dimensions a layer's nest cuts: the layer's own, or, for a 1x1 convolution of stride 1 without
#: padding, its GEMM's: its pixels are the rows of the product (``P``), as Gemmini's ``tiled_matmul``
#: runs such a layer, its tiles of rows crossing the ends of image rows.
VIEWS = ("layer", "gemm")
_TILE_TOKEN = re.compile(r"([A-Z])(\d+)(?::(\d+))?$")
_TILES_HINT = "write tiles outermost first as dimension letter and tile size, with an optional :step on Q or P, " \
              "e.g. tiles = \"K32 Q6:4 P16\", with letters from N K C P Q R S (docs/model.md#pinned-mappings)"
_HINT = "write loops outermost first as dimension letter and factor, e.g. loops = \"Q7 S3 R3 K64\", with letters " \
        "from N K C P Q R S (docs/model.md#pinned-mappings)"


@dataclass(frozen=True)
class LoopNest:
    """DRAM-level loops, outermost first, each dimension at most once: ``(dimension, factor)`` pairs,
    or with ``tiles`` ``(dimension, tile size)`` pairs, as Gemmini's library gives its tiles: the loop
    over a dimension of size ``D`` with tiles of ``t`` runs ``ceil(D / t)`` times and its last tile is
    what remains. ``steps`` gives an output dimension (``Q``, ``P``) of the tiles form a step below its
    tile size: neighbouring calls then overlap and each computes the overlap again, as a call that
    pools its results computes the rows its pooling windows share with the next call's.
    ``reuse`` (:data:`REUSE`): ``"none"``, every call loads its operands; ``"order"``, an operand stays
    on chip from one call to the next while only loops that do not index it advance. ``window``
    (:data:`WINDOWS`): a call loads the input positions its taps read (``"touched"``), or every row
    and column from the first it reads to the last (``"span"``, Gemmini's ``LoopConvLdInput``).
    ``view`` (:data:`VIEWS`): ``"gemm"`` cuts a 1x1 stride-1 unpadded convolution as the GEMM over its
    pixels (``P`` = images x rows x columns, no command break at the end of an image row)."""

    loops: tuple[tuple[str, int], ...]
    reuse: str = "none"
    tiles: bool = False
    steps: tuple[tuple[str, int], ...] = ()
    window: str = "touched"
    view: str = "layer"

    def factor(self, dim: str) -> int:
        """The factor of ``dim`` in the factors form (the tiles form has one per layer: :meth:`axes`)."""
        assert not self.tiles, "a tiles nest's factors depend on the layer: use axes()"
        return next((f for d, f in self.loops if d == dim), 1)

    @property
    def calls(self) -> int:
        """One call per iteration of the loops (the factors form)."""
        assert not self.tiles, "a tiles nest's calls depend on the layer: use axes()"
        return math.prod(f for _, f in self.loops)

    @property
    def text(self) -> str:
        prefix = "gemm " if self.view == "gemm" else ""
        if not self.tiles:
            return prefix + " ".join(f"{d}{f}" for d, f in self.loops)
        steps = dict(self.steps)
        return prefix + "tiles " + " ".join(f"{d}{t}" + (f":{steps[d]}" if d in steps else "") for d, t in self.loops)

    def axes(self, dims: Mapping[str, int]) -> dict[str, tuple[tuple[int, int], ...]]:
        """Per dimension of sizes ``dims``, each call's ``(offset, size)`` along it, in loop order."""
        out: dict[str, tuple[tuple[int, int], ...]] = {}
        given, steps = dict(self.loops), dict(self.steps)
        for d in DIMS:
            size = dims[d]
            if not self.tiles:
                f = given.get(d, 1)
                out[d] = tuple((i * (size // f), size // f) for i in range(f))
                continue
            tile = min(given.get(d, size), size)
            step = steps.get(d, tile)
            count = 1 + max(0, -(-(size - tile) // step))
            out[d] = tuple((i * step, min(tile, size - i * step)) for i in range(count))
        return out

    def visits(self, dims: str, factors: Mapping[str, int]) -> int:
        """How many times an operand indexed by ``dims`` is brought on chip, with ``factors`` the
        layer's loop counts: once per call without reuse; with ``reuse = "order"`` once per iteration
        of the loops down to the innermost one that indexes it (the loops inside it leave it in place)."""
        order = [d for d, _ in self.loops]
        if self.reuse == "none":
            return math.prod(factors[d] for d in order)
        inner = max((i for i, d in enumerate(order) if d in dims), default=-1)
        return math.prod(factors[d] for d in order[:inner + 1])


@dataclass(frozen=True)
class PinnedMapping:
    """Loop nests by layer name; ``source`` names where they came from, for error messages.
    ``store_paths`` gives layers a store path narrower than the config's: the families their calls
    apply as results leave, the later epilogue steps running as a separate pass (as MoCA's AlexNet
    stores each convolution and pools it in a ``tiled_pool`` call of its own)."""

    nests: tuple[tuple[str, LoopNest], ...]
    source: str = "mapping"
    store_paths: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def get(self, name: str) -> LoopNest | None:
        return next((nest for key, nest in self.nests if key == name), None)

    def store_path(self, name: str) -> tuple[str, ...] | None:
        """The layer's own store path, or None: the config's."""
        return next((path for key, path in self.store_paths if key == name), None)

    def layer_config(self, name: str, cfg: AcceleratorConfig) -> AcceleratorConfig:
        """``cfg`` as the layer ``name`` runs: with its own store path if it has one."""
        path = self.store_path(name)
        return cfg if path is None else replace(cfg, store_path=path)

    def check_store_paths(self, cfg: AcceleratorConfig) -> None:
        """A one-line error for the first layer whose store path applies a family ``cfg``'s cannot."""
        for name, path in self.store_paths:
            extra = [f for f in path if f not in cfg.store_path]
            if extra:
                raise UserError(f"{self.source}: layer {shown(name, 80)}: store_path family {extra[0]!r} is not in "
                                f"the config's store_path {list(cfg.store_path)}; a mapping can leave steps to a "
                                "separate pass, not give the store path a family the hardware lacks")

    def check_names(self, names: list[str]) -> None:
        """A one-line error for the first pinned layer that is not among ``names``."""
        known = set(names)
        for name in dict.fromkeys([key for key, _ in self.nests] + [key for key, _ in self.store_paths]):
            if name not in known:
                near = ", ".join(shown(n, 40) for n in names[:3])
                raise UserError(f"{self.source}: layer {shown(name, 80)} is not a layer of the model; key each "
                                f"loop nest by a layer name as the report lists them (e.g. {near})")


#: What :func:`as_mapping` accepts: a file, a mapping object, or layer names to loop text.
MappingSource = Union[str, Path, PinnedMapping, Mapping[str, str]]


def _words(text: object, where: str, key: str, noun: str, hint: str) -> list[tuple[str, int, str | None]]:
    """``(dimension, number, step text or None)`` per word of a ``loops`` or ``tiles`` string."""
    if not isinstance(text, str):
        raise UserError(f"{where}: {key} must be a string, got {shown(repr(text), 40)}; {hint}")
    words: list[tuple[str, int, str | None]] = []
    for token in text.split():
        m = _TILE_TOKEN.match(token)
        if m is None or m.group(1) not in DIMS or (key == "loops" and m.group(3) is not None):
            raise UserError(f"{where}: {key[:-1]} {shown(repr(token), 40)} is not a dimension letter and a {noun}; "
                            f"{hint}")
        dim, number = m.group(1), int(m.group(2))
        if number < 1:
            raise UserError(f"{where}: {key[:-1]} {token}: a {noun} is at least 1; {hint}")
        if any(d == dim for d, _, _ in words):
            raise UserError(f"{where}: dimension {dim} appears twice; give each dimension one {noun}"
                            + (" (their product)" if key == "loops" else ""))
        words.append((dim, number, m.group(3)))
    return words


def parse_loops(text: object, where: str, reuse: str = "none", window: str = "touched", view: str = "layer") -> LoopNest:
    """A loop nest from its text (``"Q7 S3 R3 K64"``); ``where`` names the file and layer for errors."""
    loops = tuple((dim, factor) for dim, factor, _ in _words(text, where, "loops", "factor", _HINT))
    return LoopNest(loops, reuse, window=window, view=view)


def parse_tiles(text: object, where: str, reuse: str = "none", window: str = "touched", view: str = "layer") -> LoopNest:
    """A loop nest from its tile sizes (``"K32 Q6:4 P16"``), outermost first; ``:step`` lets calls
    along an output dimension overlap."""
    tiles: list[tuple[str, int]] = []
    steps: list[tuple[str, int]] = []
    for dim, size, step_text in _words(text, where, "tiles", "tile size", _TILES_HINT):
        if step_text is not None:
            step = int(step_text)
            if dim not in "QP" or not 1 <= step <= size:
                raise UserError(f"{where}: tile {dim}{size}:{step_text}: a step is given only on Q or P, from 1 to the "
                                f"tile size (calls may overlap on outputs, never on a reduction), e.g. Q6:4")
            if step < size:
                steps.append((dim, step))
        tiles.append((dim, size))
    return LoopNest(tuple(tiles), reuse, tiles=True, steps=tuple(steps), window=window, view=view)


_ENTRY_HINT = ("give loops (factors) or tiles (tile sizes), optionally view = \"gemm\", and/or store_path = [families]; "
               "e.g. [layers.\"conv1\"] tiles = \"K32 Q15\" (docs/model.md#pinned-mappings)")


def _store_path(value: object, at: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(f, str) for f in value) \
            or not set(value) <= set(STORE_PATH_FAMILIES) or len(set(value)) != len(value):
        raise UserError(f"{at}: store_path = {shown(repr(value), 60)}: give a list of distinct families from "
                        f"{', '.join(STORE_PATH_FAMILIES)}, e.g. store_path = [\"activation\", \"scale\"]")
    return tuple(value)


def _from_data(data: Any, where: str) -> PinnedMapping:
    if not isinstance(data, dict) or set(data) - {"layers", "reuse", "window"} or not isinstance(data.get("layers"), dict):
        raise UserError(f"{where}: a mapping file holds a table [layers], with a table per layer name, and "
                        f"optionally reuse and window; e.g. [layers.\"conv1\"] loops = \"K4 Q2\" "
                        "(docs/model.md#pinned-mappings)")
    reuse = data.get("reuse", "none")
    if reuse not in REUSE:
        raise UserError(f"{where}: reuse = {shown(repr(reuse), 40)}: choose \"none\" (every call loads its operands) "
                        "or \"order\" (an operand stays while the loops that advance do not index it)")
    window = data.get("window", "touched")
    if window not in WINDOWS:
        raise UserError(f"{where}: window = {shown(repr(window), 40)}: choose \"touched\" (a call loads the input "
                        "positions its taps read) or \"span\" (every row and column from the first it reads to the last)")
    nests, paths = [], []
    for name, entry in data["layers"].items():
        at = f"{where}: layer {shown(name, 80)}"
        if not isinstance(entry, dict) or not entry or not set(entry) <= {"loops", "tiles", "view", "store_path"} \
                or {"loops", "tiles"} <= set(entry):
            raise UserError(f"{at}: {_ENTRY_HINT}")
        if "store_path" in entry:
            paths.append((str(name), _store_path(entry["store_path"], at)))
        view = entry.get("view", "layer")
        if view not in VIEWS or ("view" in entry and not {"loops", "tiles"} & set(entry)):
            raise UserError(f"{at}: view = {shown(repr(view), 40)}: choose \"layer\" (its own dimensions) or \"gemm\" "
                            "(a 1x1 stride-1 convolution's pixels as the rows of its GEMM), beside loops or tiles")
        for key, parse in (("loops", parse_loops), ("tiles", parse_tiles)):
            if key in entry:
                nests.append((str(name), parse(entry[key], at, reuse, window, view)))
    return PinnedMapping(tuple(nests), where, tuple(paths))


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
    """``w``'s dimension sizes in ``nest``'s view, once every factor of ``nest`` divides its dimension
    (every tile fits it); else a UserError."""
    dims = layer_dims(w)
    at = f"{where}: layer {shown(w.name, 80)}"
    if dims is None:
        raise UserError(f"{at} ({w.op}) cannot be pinned: a pinned mapping cuts GEMMs and ungrouped 2-D "
                        "convolutions; remove its entry")
    win = w.window
    if nest.view == "gemm" and win is not None:
        if (win.s, win.r, win.stride_h, win.stride_w, win.pad_top, win.pad_left) != (1, 1, 1, 1, 0, 0):
            raise UserError(f"{at}: view = \"gemm\" needs a 1x1 convolution of stride 1 without padding (its pixels "
                            f"are then the rows of a GEMM), this one is {win.s}x{win.r} of stride {win.stride_h}; "
                            "remove view")
        dims = {"N": 1, "K": win.k, "C": win.c, "Q": 1, "P": win.n * win.q * win.p, "S": 1, "R": 1}
    if nest.tiles:
        for dim, size in nest.loops:
            if size > dims[dim]:
                raise UserError(f"{at}: tile {dim}{size} is larger than the layer's {dim} = {dims[dim]} "
                                f"({DIMS[dim]}); give a tile of at most {dims[dim]}")
        return dims
    for dim, factor in nest.loops:
        if dims[dim] % factor:
            raise UserError(f"{at}: {dim}{factor} does not divide the layer's {dim} = {dims[dim]} ({DIMS[dim]}); "
                            f"use a divisor of {dims[dim]} ({_divisors(dims[dim])})")
    return dims


def _positions(size: int, outs: tuple[tuple[int, int], ...], taps: tuple[tuple[int, int], ...], stride: int,
               dil: int, pad: int, span: bool) -> tuple[int, dict[tuple[int, int], int]]:
    """Along one axis: (input positions loaded, summed over every pair of an output tile and a tap
    tile; the most one pair of each ``(outputs, taps)`` size loads). The padding is not read."""
    total, most = 0, {}
    for o_off, o in outs:
        for t_off, t in taps:
            base = pad - o_off * stride - t_off * dil  # position p = o' * stride + j * dil - base
            if span:
                first, last = max(0, -base), min(size - 1, (o - 1) * stride + (t - 1) * dil - base)
                count = max(0, last - first + 1)
            else:
                count = touched_positions(size, t, stride, dil, base, o)
            total += count
            most[(o, t)] = max(most.get((o, t), 0), count)
    return total, most


def _call(w: Workload, tile: dict[str, int], a_elems: int, conv: bool) -> Workload:
    """The workload of one call: the layer's product cut to the call's dimensions (a convolution's
    when ``conv``, else a GEMM's), its operands in DRAM."""
    if conv:
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
    axes = nest.axes(dims)
    f = {d: len(axes[d]) for d in DIMS}
    calls = math.prod(f.values())
    ib = cfg.input_bytes
    win = w.window if nest.view == "layer" else None
    if win is not None:
        rows, rows_most = _positions(win.in_h, axes["Q"], axes["S"], win.stride_h, win.dilation_h, win.pad_top,
                                     nest.window == "span")
        cols, cols_most = _positions(win.in_w, axes["P"], axes["R"], win.stride_w, win.dilation_w, win.pad_left,
                                     nest.window == "span")
        a_sum = dims["N"] * dims["C"] * rows * cols  # every call's input elements, once per distinct input tile
    else:
        a_sum = dims["N"] * dims["P"] * dims["C"]
    # The calls come in a few shapes: along each dimension its full tiles and a last one that is what
    # remains. Inside a call the search maps the call's product alone, its operands staged from DRAM.
    sizes = {d: sorted(Counter(size for _, size in axes[d]).items(), reverse=True) for d in DIMS}
    call_ops = Operands(a_on_chip=ops.a_on_chip, b_on_chip=ops.b_on_chip, free_bytes=ops.free_bytes)
    lb = layer_bytes(w, cfg, ops)
    shapes: list[tuple[int, dict[str, int], Choice, int, int]] = []  # (calls, tile, its mapping, A elems, B bytes)
    rows_of: list[int | None] = []  # each shape's output width, where its commands stop
    for combo in itertools.product(*(sizes[d] for d in DIMS)):
        tile = {d: size for d, (size, _) in zip(DIMS, combo)}
        if win is not None:
            a_call = tile["N"] * tile["C"] * rows_most[(tile["Q"], tile["S"])] * cols_most[(tile["P"], tile["R"])]
        else:
            a_call = tile["N"] * tile["P"] * tile["C"]
        call = _call(w, tile, a_call, conv=win is not None)
        inner = map_gemm(call, cfg, call_ops)
        assert call.gemm is not None
        rows_of.append(None if call.gemm.row == w.gemm.row else call.gemm.row)
        shapes.append((math.prod(n for _, n in combo), tile, inner, a_call, layer_bytes(call, cfg, call_ops).b_total))
    first = next(s for s in shapes if all(s[1][d] == axes[d][0][1] for d in DIMS))[2]
    last = next(s for s in shapes if all(s[1][d] == axes[d][-1][1] for d in DIMS))[2]
    # Times the search moves a call's A in; an operand stays between calls only if a call holds it
    # whole, and one the call streams comes again.
    a_fetches = max((inner.a_dram // (a_call * ib) if a_call else 0) for _, _, inner, a_call, _ in shapes)
    a_visits = nest.visits(_INDEXES["a"], f) if a_fetches <= 1 else calls
    b_whole = all(inner.b_dram <= b_total for _, _, inner, _, b_total in shapes)
    b_visits = nest.visits(_INDEXES["b"], f) if b_whole else calls
    a_dram = a_fetches * a_sum * ib * (a_visits // math.prod(f[d] for d in _INDEXES["a"]))
    b_every = sum(n * inner.b_dram for n, _, inner, _, _ in shapes)  # B moved, every call loading its own
    b_dram = b_every * b_visits // calls
    # Each output tile's first call loads the bias of its output channels.
    bias = lb.bias_bytes * math.prod(f[d] for d in _OUTPUT_DIMS)
    # A result left before its reduction ends (a reduction loop outside an output loop, with reuse by
    # order) goes out and comes back as partial sums: every visit but its last writes them, every one
    # but its first reads them back. Without reuse they wait in the accumulator.
    out_tiles = math.prod(f[d] for d in _INDEXES["out"])
    partial = 0
    if nest.reuse == "order" and ops.out_dram:
        products = w.gemm.groups * w.gemm.m * w.gemm.n  # the sums before any fused pooling
        partial = 2 * (nest.visits(_INDEXES["out"], f) - out_tiles) * (products // out_tiles) * cfg.acc_bytes
    moved = a_dram + b_dram + bias + partial + lb.fixed - lb.bias_bytes
    # A call's commands stop at its own output rows; its tiles repeat once per call of its shape.
    tile_runs = tuple(TileRun(r.tile, r.count * n, row) for (n, _, inner, _, _), row in zip(shapes, rows_of)
                      for r in inner.runs)
    runs = [(r.count, run_cycles(cfg, r.tile, w.gemm.row if r.row is None else r.row), r.tile.macs) for r in tile_runs]
    # Each row of a call's tile is its own run of DMA requests: a pixel's input channels, a tap's
    # weights for the output channels, an output pixel's channels.
    requests = operand_requests(w, cfg, [size for _, size in axes["C"]], [size for _, size in axes["K"]], a_dram,
                                b_dram, lb.out_bytes)
    compute, stall = gemm_stall(cfg, runs, LayerTraffic(moved - lb.pass_bytes, first.first_in, last.last_out,
                                                        tile_runs[-1].tile.m, requests),
                                w.vector_ops - lb.unfused_ops, lb.unfused_ops, lb.pass_bytes)
    # On chip every call moves what its own mapping moves; DRAM is the layer's, counted above.
    array = {key: sum(getattr(inner.traffic, key) * n for n, _, inner, _, _ in shapes)
             for key in ("ifmap_reads", "filter_reads", "ofmap_writes", "ofmap_reads", "array_reg_bytes")}
    traffic = layer_traffic(w, cfg, ops, array, a_dram, b_dram, bias, lb.out_bytes,
                            lb.inter * ib if lb.unfused_ops else 0, lb.round_trip, partial)
    return Choice(first.tiles, tile_runs, first.mapping, traffic, first.first_in, last.last_out, compute, stall,
                  first.footprint, lb.compulsory, lb.unfused_ops, lb.pass_bytes, first.k_segment, a_dram, b_dram,
                  calls=calls, loops=nest.text, reuse=nest.reuse, dma_requests=requests)


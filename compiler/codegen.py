"""Code generation for the accelerator (``rtl.Accelerator``): a compiled :class:`~hwsim.core.program.Program`
and its graph in, the three engines' command lists and the DRAM memory map out (docs/accelerator.md).

Contract: :func:`codegen` returns an :class:`AcceleratorProgram` whose commands
(:mod:`hwsim.core.isa`) compute every layer exactly as the Program tiles it, for a config the
accelerator implements (:func:`hwsim.core.isa.check_config`). It holds layout and commands only:
no weights, no quantization numbers (the DRAM image builder, ``hwsim.execute.dram_image``, puts
them in and patches each CONFIG's clamp and pooling constants).

**Layers.** A GEMM layer (Conv, Gemm, MatMul with a constant weight, one group, N = 1) whose fused
chain is the integer store path (:func:`compiler.ops.epilogue.integer_chain`) becomes a CONFIG and
one GEMM per tile of the Program, in its order; a fused MaxPool/AveragePool follows as a second
part: the GEMMs store the pooling's input to DRAM and POOL commands read it back. A MaxPool,
AveragePool (windows of one size), GlobalAveragePool or GlobalMaxPool layer becomes a CONFIG and
POOL commands. Views (Reshape, Flatten, ...) cost nothing: the consumer reads the producer's bytes
(a Flatten of ``C x H x W`` with ``C`` a multiple of R permutes the next layer's weight rows
instead). Anything else is a :class:`~hwsim.core.errors.UserError` naming the layer and why.

**Buffers.** abuf, wbuf and obuf are each cut in two parts (double buffering). Operands move in
*units*, as the Program's mapping says (``LayerSchedule.mapping``): with K whole in a tile, A's
unit is the mapping's block of ``block_m`` rows (all of K) and B's the block of ``block_n``
columns; under a K split the blocks are single tiles unless the mapping keeps all of A, one row
block of A (order ``m``) or all of B. The placements of a block are consecutive, so a unit is
loaded once, used by consecutive GEMMs and left for the next unit of its operand, which goes to
the other part: DRAM moves the fetches the mapping counts. A unit that does not fit its part as
laid out (input windows span whole pixels, a weight chunk carries its 13 parameter words) falls back
to smaller units: groups of whole weight chunks that fit a part (when the tiles visit each group in
one run, so each chunk still loads once a visit), else both parts as one ("wide": no overlap), then
single tiles, and a tile whose window or weights still do not fit is run as K pieces (the
accumulator carries the partial sums; only the last piece emits). Input windows re-read the pixels
that neighbouring tiles and kernel taps share: at full size this is most of the difference from the
analytic traffic (docs/model.md#analytic-vs-replay).

* An A unit is an input *window*: the contiguous run of input pixels from the first to the last
  one its GEMMs read, for the chunks they read (all of them, or only the ones of a tile inside one
  kernel tap), chunks ``chunk_stride`` words apart in abuf. GEMM's ``a_addr`` points ``x_lo``
  words before the window, so the feeder's ``(iy - y0) * in_w + ix`` lands on it.
* A B unit is one or more output chunks' weight blocks (13 parameter words + K rows each, as laid
  out in DRAM), or a tile's K rows (plus the parameters when it emits).
* A residual (the epilogue's ``r``) is loaded per emitting tile into one of two residual slots at
  the top of abuf; results go to the two obuf halves in turn.

**Dependencies.** Every command records what it needs: a GEMM the loads of its units, a load the
last GEMM that read the memory it overwrites (E2L) and the stores that wrote the DRAM it reads
(S2L, tracked word by word per tensor), a store the GEMM that filled its obuf half (E2S), a GEMM
the store that emptied its obuf half (S2E). Tokens then follow from one greedy pass per counter
in the waiter's order: a command waits only if it needs a command later than the last one whose
token it consumed, and that command signals. Signals are thus on distinct commands in the
signaller's order, so the k-th wait consumes the k-th signal (FIFO pairing) and means exactly
"that command is done"; waits only point to commands whose own needs come earlier in the load
order, so the program cannot deadlock.

**Banks.** Each list is cut into banks of ``command_depth`` commands, ``last`` on each bank's
final command. The load list carries the bank fills: each load bank starts with the LOAD of the
next load bank (its other bank was left already); the exec (store) bank ``k`` is filled by a LOAD
placed right after the data loads of the first command of bank ``k - 1`` (of the exec command
feeding the first store of bank ``k - 1``), waiting (E2L / S2L) for the engine to finish bank
``k - 2``, the bank it overwrites. Boot loads load bank 0.

**Memory map.** Activations in blocked NCHWc (c = R, :func:`hwsim.core.isa.activation_offset`),
each tensor once (residency is off: every layer's output goes to DRAM); per GEMM layer the weight
blocks of its output chunks (:func:`hwsim.core.isa.weight_blocks`); the command banks. Regions
are 64-byte aligned, in the order: model inputs and layer outputs as they appear, weights, exec
banks, store banks, load banks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Sequence

import numpy as np

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.isa import (
    COMMAND_BYTES, PARAM_WORDS, Command, Config, End, Engine, Gemm, Geometry, Load, Pool, PoolMode, Store,
    Target, Token, check, check_config, encode_program,
)
from hwsim.core.program import LayerSchedule, Placement, Program, Tile
from hwsim.core.workload import Kind

from .graph import Graph, Node
from .lowering import _Roots
from .ops.epilogue import IntegerChain, integer_chain, integer_pool
from .ops.gemm import gemm_view
from .ops.window import Window, window

__all__ = ["TensorView", "TensorRegion", "WeightRegion", "BankRegion", "MemoryMap", "LayerBytes", "LayerCode",
           "AcceleratorProgram", "codegen", "tensor_view", "ALIGN"]

#: Every DRAM region starts on a multiple of this many bytes.
ALIGN = 64


# ------------------------------------------------------------------------------------- layout types


@dataclass(frozen=True)
class TensorView:
    """How an activation's bytes lie in DRAM: blocked ``channels x height x width`` (N = 1).

    A 4-D ``(1, C, H, W)`` tensor is ``(C, H, W)``; a matrix ``(..., K)`` of ``M`` rows is
    ``(K, M, 1)`` (the same bytes as SPEC §2's ``H = 1, W = M``); a vector ``(K,)`` is ``(K, 1, 1)``.
    Two views with the same channels and pixels (``height * width``) are the same bytes.
    """

    channels: int
    height: int
    width: int

    @property
    def pixels(self) -> int:
        return self.height * self.width

    def chunks(self, R: int) -> int:
        return -(-self.channels // R)

    def words(self, R: int) -> int:
        return self.chunks(R) * self.pixels

    def same_bytes(self, other: TensorView) -> bool:
        return self.channels == other.channels and self.pixels == other.pixels


@dataclass(frozen=True)
class TensorRegion:
    """An activation tensor in DRAM: its graph ``name`` (a view's root), byte address, blocked
    ``view``, ONNX ``shape``, and ``role``: ``input`` (a model input, written by the host),
    ``output`` (a layer's output), ``intermediate`` (a pooling's input inside one layer)."""

    name: str
    addr: int
    view: TensorView
    shape: tuple[int, ...]
    role: str

    def nbytes(self, R: int) -> int:
        return self.view.words(R) * R


@dataclass(frozen=True)
class WeightRegion:
    """One GEMM layer's weight blocks in DRAM: per output chunk of R channels, the 13-word
    parameter block then ``k`` weight rows (:func:`hwsim.core.isa.weight_blocks`).

    ``order`` says how row ``i`` maps to the ONNX weight: ``"taps"`` (a convolution,
    :func:`hwsim.core.isa.conv_weight_matrix`: tap-major, channels inner), ``"matrix"`` (row i is
    input feature i), ``"flatten"`` (the input is a Flatten of ``source``: row i is the feature at
    DRAM byte i of the source's blocked layout).
    """

    node: str
    addr: int
    k: int
    n: int
    order: str
    source: TensorView | None = None

    def chunks(self, R: int) -> int:
        return -(-self.n // R)

    def block_words(self) -> int:
        return PARAM_WORDS + self.k

    def nbytes(self, R: int) -> int:
        return self.chunks(R) * self.block_words() * R


@dataclass(frozen=True)
class BankRegion:
    """Bank ``index`` of ``engine``'s command list: ``commands`` commands at ``addr``."""

    engine: Engine
    index: int
    addr: int
    commands: int


@dataclass(frozen=True)
class MemoryMap:
    """Where everything lives in DRAM; ``size`` bytes in all. ``boot_addr``/``boot_count`` are the
    values for the BOOT_ADDR and BOOT_COUNT registers (load bank 0)."""

    R: int
    tensors: tuple[TensorRegion, ...]
    weights: tuple[WeightRegion, ...]
    banks: tuple[BankRegion, ...]
    size: int
    boot_addr: int
    boot_count: int

    def tensor(self, name: str) -> TensorRegion:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    def weight(self, node: str) -> WeightRegion:
        for w in self.weights:
            if w.node == node:
                return w
        raise KeyError(node)

    @property
    def program_addr(self) -> int:
        """Where the command banks start; they run to the end of the image."""
        return min(b.addr for b in self.banks)

    def to_dict(self) -> dict[str, Any]:
        R = self.R
        return {
            "R": R,
            "size": self.size,
            "boot": {"addr": self.boot_addr, "count": self.boot_count},
            "program": {"addr": self.program_addr, "bytes": self.size - self.program_addr},
            "tensors": [{"name": t.name, "role": t.role, "addr": t.addr, "bytes": t.nbytes(R), "shape": list(t.shape),
                         "blocked": {"channels": t.view.channels, "height": t.view.height, "width": t.view.width}}
                        for t in self.tensors],
            "weights": [{"node": w.node, "addr": w.addr, "bytes": w.nbytes(R), "k": w.k, "n": w.n, "order": w.order,
                         "block_words": w.block_words()} for w in self.weights],
            "banks": [{"engine": b.engine.name.lower(), "index": b.index, "addr": b.addr, "commands": b.commands}
                      for b in self.banks],
        }


@dataclass(frozen=True)
class LayerBytes:
    """DRAM bytes one layer's commands move, by what they carry: its streamed ``input`` (input
    windows), ``weights`` (weight rows and parameter blocks), the ``residual``, the ``output``, and
    for a fused pool the ``intermediate`` it stores and reads back (``pool_input``; a pooling
    layer's own input reads count there too)."""

    input: int = 0
    weights: int = 0
    residual: int = 0
    output: int = 0
    intermediate: int = 0
    pool_input: int = 0

    @property
    def read(self) -> int:
        return self.input + self.weights + self.residual + self.pool_input

    @property
    def written(self) -> int:
        return self.output + self.intermediate


@dataclass(frozen=True)
class LayerCode:
    """What one Program layer became: its workload ``name``, ``kind`` (``gemm``, ``pool``,
    ``gemm+pool``), the ONNX nodes whose numbers it needs (``gemm_node``, ``pool_node``), the tensor
    it ``reads`` first and the one it finally writes (``output``), the pooling's input
    (``intermediate``), and the exec indices of its CONFIG commands, by node name (the image builder
    patches their clamp and pooling constants)."""

    name: str
    kind: str
    output: str
    reads: str
    gemm_node: str | None = None
    pool_node: str | None = None
    intermediate: str | None = None
    configs: tuple[tuple[int, str], ...] = ()
    bytes: LayerBytes = LayerBytes()


@dataclass(frozen=True)
class AcceleratorProgram:
    """The three command lists, the memory map and the layers, for ``config``."""

    config: AcceleratorConfig
    load: tuple[Command, ...]
    exec: tuple[Command, ...]
    store: tuple[Command, ...]
    memory: MemoryMap
    layers: tuple[LayerCode, ...]

    def commands(self, engine: Engine) -> tuple[Command, ...]:
        return {Engine.LOAD: self.load, Engine.EXEC: self.exec, Engine.STORE: self.store}[engine]

    def banks(self, engine: Engine) -> list[tuple[Command, ...]]:
        """The engine's list cut into its banks."""
        depth = self.config.command_depth
        cmds = self.commands(engine)
        return [cmds[i:i + depth] for i in range(0, len(cmds), depth)]

    def images(self) -> Iterator[tuple[int, bytes]]:
        """``(DRAM address, bytes)`` of every command bank."""
        for region in self.memory.banks:
            bank = self.banks(region.engine)[region.index]
            yield region.addr, encode_program(bank)

    def with_exec(self, replacements: dict[int, Command]) -> AcceleratorProgram:
        """The same program with exec commands replaced by index (same opcode and tokens:
        :meth:`hwsim.execute` patches CONFIG constants this way)."""
        cmds = list(self.exec)
        for i, cmd in replacements.items():
            old = cmds[i]
            if type(cmd) is not type(old) or cmd.waits != old.waits or cmd.signals != old.signals or cmd.last != old.last:
                raise ValueError(f"exec command {i}: a replacement must keep the command's kind, tokens and bank flag")
            cmds[i] = cmd
        return replace(self, exec=tuple(cmds))


# --------------------------------------------------------------------------------------- helpers


def tensor_view(shape: Sequence[int], what: str) -> TensorView:
    """The blocked view of a tensor of ``shape`` (:class:`TensorView`); ``what`` names it in errors."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 4:
        if shape[0] != 1:
            raise UserError(f"{what}: batch {shape[0]}; the accelerator runs one image at a time (export with batch 1)")
        return TensorView(shape[1], shape[2], shape[3])
    if len(shape) in (2, 3):
        return TensorView(shape[-1], math.prod(shape[:-1]), 1)
    if len(shape) == 1:
        return TensorView(shape[0], 1, 1)
    raise UserError(f"{what}: a {len(shape)}-D tensor {list(shape)}; the accelerator lays out 1- to 4-D tensors")


def _align(x: int) -> int:
    return -(-x // ALIGN) * ALIGN


@dataclass
class _Op:
    """A command under construction: its engine, the command without tokens, and what it needs
    (per token: the signalling engine's op it needs done)."""

    engine: Engine
    cmd: Command
    needs: dict[Token, _Op] = field(default_factory=dict)
    seq: int = -1       # creation order within its engine (data ops)
    index: int = -1     # position in the final list
    consumer: int = -1  # loads: the exec seq of the first command that reads them (ordering of fills)

    def need(self, token: Token, op: _Op | None) -> None:
        if op is None:
            return
        old = self.needs.get(token)
        if old is None or op.seq > old.seq:
            self.needs[token] = op


@dataclass
class _Unit:
    """Something held in an on-chip memory range: the load(s) that filled it and its last reader."""

    memory: str
    start: int
    end: int
    load: _Op | None = None
    last_user: _Op | None = None
    last_writer: _Op | None = None  # obuf: the exec op that wrote it (then read by a store)


class _Memories:
    """Who holds which words of abuf / wbuf / obuf, so a new unit knows whom to wait for."""

    def __init__(self) -> None:
        self.units: dict[str, list[_Unit]] = {"abuf": [], "wbuf": [], "obuf": []}

    def claim(self, memory: str, start: int, end: int) -> tuple[_Unit, _Op | None]:
        """A new unit over ``[start, end)``; the latest reader of what it overwrites."""
        need = None
        keep = []
        for u in self.units[memory]:
            if u.start < end and start < u.end:
                if u.last_user is not None and (need is None or u.last_user.seq > need.seq):
                    need = u.last_user
            else:
                keep.append(u)
        unit = _Unit(memory, start, end)
        keep.append(unit)
        self.units[memory] = keep
        return unit, need


class _Written:
    """The last store that wrote each word of each tensor in DRAM (RAW through DRAM)."""

    def __init__(self) -> None:
        self.last: dict[str, np.ndarray] = {}
        self.stores: list[_Op] = []

    def add(self, region: TensorRegion, R: int) -> None:
        self.last[region.name] = np.full(region.view.words(R), -1, dtype=np.int64)

    def write(self, name: str, word: int, rows: int, row_words: int, stride_words: int, op: _Op) -> None:
        arr = self.last[name]
        self.stores.append(op)
        k = len(self.stores) - 1
        for r in range(rows):
            arr[word + r * stride_words: word + r * stride_words + row_words] = k

    def need(self, name: str, word: int, rows: int, row_words: int, stride_words: int) -> _Op | None:
        arr = self.last.get(name)
        if arr is None:
            return None
        if rows == 1 or stride_words == row_words:
            top = int(arr[word: word + (rows - 1) * stride_words + row_words].max(initial=-1))
        else:
            top = max(int(arr[word + r * stride_words: word + r * stride_words + row_words].max(initial=-1))
                      for r in range(rows))
        return None if top < 0 else self.stores[top]


# ----------------------------------------------------------------------------------- the geometry


@dataclass(frozen=True)
class _ConvGeometry:
    """A GEMM layer as the feeder walks it: ``cin`` channels a tap, an ``h x w`` input, a
    ``kh x kw`` kernel with strides and top/left pads, an ``oh x ow`` output (FC: h = M, w = 1)."""

    cin: int
    h: int
    w: int
    kh: int
    kw: int
    sy: int
    sx: int
    pt: int
    pl: int
    oh: int
    ow: int

    @property
    def taps(self) -> int:
        return self.kh * self.kw


@dataclass(frozen=True)
class _Window:
    """An A window: input pixels ``q_lo .. q_hi`` (linear ``y * w + x``, inclusive; ``empty`` when
    the GEMMs read only padding) of chunks ``c_lo .. c_hi - 1``; ``y_lo`` is its first row."""

    c_lo: int
    c_hi: int
    q_lo: int
    q_hi: int
    y_lo: int
    empty: bool = False

    @property
    def span(self) -> int:
        return 0 if self.empty else self.q_hi - self.q_lo + 1

    @property
    def chunks(self) -> int:
        return self.c_hi - self.c_lo

    def x_lo(self, w: int) -> int:
        return 0 if self.empty else self.q_lo - self.y_lo * w

    def footprint(self, pitch: int, w: int, base_room: int) -> int:
        """Words from the part's start to the window's end, the window placed ``x_lo`` words in
        when the part starts fewer than ``x_lo`` words into abuf (``base_room``)."""
        if self.empty:
            return 0
        return max(0, self.x_lo(w) - base_room) + (self.chunks - 1) * pitch + self.span


def _pixel_window(g: _ConvGeometry, p0: int, p1: int, ky: tuple[int, int], kx: tuple[int, int],
                  chunks: tuple[int, int]) -> _Window:
    """The input pixels that output pixels ``p0 .. p1 - 1`` (row-major) read through the taps in
    kernel rows ``ky`` and columns ``kx`` (inclusive ranges), for ``chunks``.

    Input row ``oy * sy + ky - pt`` of the first output row ``oy_a`` is read by no later output
    row (that would need a smaller ``ky``), so when it is inside the image the window starts at the
    first output pixel's first column; likewise it ends at the last one's last column. A clipped
    end row (the kernel reaching into the padding) may be read by other output rows: whole row.
    """
    empty = _Window(chunks[0], chunks[1], 0, 0, 0, empty=True)
    oy_a, ox_a = divmod(p0, g.ow)
    oy_b, ox_b = divmod(p1 - 1, g.ow)
    y_lo_raw = oy_a * g.sy + ky[0] - g.pt
    y_hi_raw = oy_b * g.sy + ky[1] - g.pt
    y_lo, y_hi = max(0, y_lo_raw), min(g.h - 1, y_hi_raw)
    if y_lo > y_hi:
        return empty
    x_first = max(0, ox_a * g.sx + kx[0] - g.pl)
    x_last = min(g.w - 1, ox_b * g.sx + kx[1] - g.pl)
    if oy_a == oy_b:
        if x_first > x_last:
            return empty
    else:
        if y_lo != y_lo_raw:
            x_first = 0
        if y_hi != y_hi_raw:
            x_last = g.w - 1
    return _Window(chunks[0], chunks[1], y_lo * g.w + x_first, y_hi * g.w + x_last, y_lo)


# ------------------------------------------------------------------------------------- the builder


@dataclass
class _Piece:
    """One GEMM command to be: a tile or a K piece of one."""

    placement: Placement
    k0: int
    k: int
    accumulate: bool
    emit: bool


class _Builder:
    def __init__(self, graph: Graph, program: Program) -> None:
        cfg = program.config
        check_config(cfg)
        self.cfg = cfg
        self.graph = graph
        self.program = program
        self.geo = Geometry.of(cfg)
        self.R = cfg.rows
        self.producers = graph.producers()
        self._root = _Roots(graph)
        self.nodes = {n.name: n for n in graph.nodes}
        self.ops: dict[Engine, list[_Op]] = {Engine.LOAD: [], Engine.EXEC: [], Engine.STORE: []}
        self.memories = _Memories()
        self.written = _Written()
        self.tensors: dict[str, TensorRegion] = {}
        self.weights: list[WeightRegion] = []
        self.layers: list[LayerCode] = []
        self.configs: list[tuple[int, str]] = []  # (exec seq, node) of every CONFIG
        self.bytes: dict[str, int] = {}
        self.addr = 0
        self.obuf_next = 0  # the obuf half the next result goes to
        self.rslot_next = 0
        self.a_part_next = 0
        self.b_part_next = 0

    # ----------------------------------------------------------------------------- regions

    def region(self, name: str, role: str, where: str) -> TensorRegion:
        """The region of tensor ``name`` (a view's root), allocated on first use."""
        root = self._root(name)  # a view's bytes are its root's
        if root not in self.tensors:
            shape = tuple(self.graph.shape(root))
            view = tensor_view(shape, f"{where}: tensor '{root}'")
            region = TensorRegion(root, self._place(view.words(self.R) * self.R), view, shape, role)
            self.tensors[root] = region
            self.written.add(region, self.R)
        return self.tensors[root]

    def _place(self, nbytes: int) -> int:
        """The DRAM address of a new region of ``nbytes``, in order of first use."""
        addr = self.addr
        self.addr = _align(addr + nbytes)
        return addr

    # -------------------------------------------------------------------------------- ops

    def op(self, engine: Engine, cmd: Command, **needs: _Op | None) -> _Op:
        o = _Op(engine, cmd, seq=len(self.ops[engine]))
        for key, value in needs.items():
            o.need(Token[key], value)
        self.ops[engine].append(o)
        return o

    def exec_op(self, cmd: Command) -> _Op:
        return self.op(Engine.EXEC, cmd)

    def config_op(self, cmd: Config, node: str) -> _Op:
        """A CONFIG whose clamp and pooling constants come from ``node``'s quantization."""
        op = self.exec_op(cmd)
        self.configs.append((op.seq, node))
        return op

    def load(self, target: Target, sram: int, dram: int, rows: int, row_words: int, dram_stride: int = 0,
             sram_stride: int = 0, *, kind: str, reads: tuple[str, int, int] | None = None,
             frees: _Op | None = None) -> _Op:
        """A data LOAD of ``kind`` (a :class:`LayerBytes` field); ``reads`` = (tensor, first word,
        word stride between rows) for RAW tracking."""
        self.bytes[kind] += rows * row_words * self.R
        cmd = Load(target=target, sram_addr=sram, dram_addr=dram, rows=rows, row_words=row_words,
                   dram_stride=dram_stride, sram_stride=sram_stride)
        raw = None
        if reads is not None:
            raw = self.written.need(reads[0], reads[1], rows, row_words, reads[2])
        return self.op(Engine.LOAD, cmd, E2L=frees, S2L=raw)

    def store(self, region: TensorRegion, word: int, sram: int, rows: int, row_words: int, stride_words: int,
              producer: _Op, kind: str = "output") -> _Op:
        R = self.R
        self.bytes[kind] += rows * row_words * R
        cmd = Store(sram_addr=sram, dram_addr=region.addr + word * R, rows=rows, row_words=row_words,
                    dram_stride=stride_words * R if rows > 1 else 0, sram_stride=row_words if rows > 1 else 0)
        o = self.op(Engine.STORE, cmd, E2S=producer)
        self.written.write(region.name, word, rows, row_words, stride_words, o)
        return o

    def obuf(self, words: int) -> tuple[int, _Unit, _Op | None]:
        """The next obuf half for ``words`` result words: (address, unit, the store it waits for)."""
        half = self.geo.acc_depth
        assert words <= half
        base = self.obuf_next * half
        self.obuf_next ^= 1
        unit, need = self.memories.claim("obuf", base, base + half)
        return base, unit, need

    # --------------------------------------------------------------------------- building

    def build(self) -> AcceleratorProgram:
        for inp in self.graph.inputs:
            if inp not in self.graph.constants:
                self.region(inp, "input", "model input")
        for layer in self.program.layers:
            w = layer.workload
            # A Concat written in place is a view to the model; this accelerator's stores do not write
            # slices of a tensor, so it has no code for one. Refuse before its producers are built.
            if w.kind is Kind.VIEW and w.op == "Concat":
                raise _no_code(w.name, w.op)
        for layer in self.program.layers:
            w = layer.workload
            if w.kind is Kind.VIEW:
                continue
            anchor = self.nodes.get(w.nodes[0]) if w.nodes else None
            if anchor is None:
                raise UserError(f"layer '{w.name}' ({w.op}): the accelerator has no code for it (no graph node)")
            self.bytes = {f: 0 for f in LayerBytes.__dataclass_fields__}
            if w.kind is Kind.GEMM:
                self._gemm_layer(layer, anchor)
            elif anchor.op_type in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):
                self._pool_layer(w.name, anchor, anchor, first=True)
            else:
                raise _no_code(w.name, w.op, anchor.op_type)
        return self._assemble()

    # ------------------------------------------------------------------------- GEMM layers

    def _geometry(self, node: Node, what: str) -> _ConvGeometry:
        g = self.graph
        if node.op_type == "Conv":
            x = g.shape(node.inputs[0])
            if len(x) != 4:
                raise UserError(f"{what}: a {len(x) - 2}-D convolution; the accelerator runs 2-D ones")
            win = window(node, g)
            if any(d != 1 for d in win.dilations):
                raise UserError(f"{what}: dilations {list(win.dilations)}; the accelerator's feeder walks "
                                "undilated kernels")
            if any(k > 255 for k in win.kernel) or any(s > 255 for s in win.strides) or any(p > 255 for p in win.begin):
                raise UserError(f"{what}: a kernel, stride or pad above 255 does not fit CONFIG's fields")
            return _ConvGeometry(cin=x[1], h=x[2], w=x[3], kh=win.kernel[0], kw=win.kernel[1], sy=win.strides[0],
                                 sx=win.strides[1], pt=win.begin[0], pl=win.begin[1], oh=win.out_size[0],
                                 ow=win.out_size[1])
        view = gemm_view(node, g)
        m, k = view.shape.m, view.shape.k
        return _ConvGeometry(cin=k, h=m, w=1, kh=1, kw=1, sy=1, sx=1, pt=0, pl=0, oh=m, ow=1)

    def _gemm_layer(self, layer: LayerSchedule, node: Node) -> None:
        w = layer.workload
        what = f"layer '{w.name}' ({w.op})"
        chain = integer_chain(node, self.graph)
        if isinstance(chain, str):
            raise UserError(f"{what}: the accelerator's store path cannot run it: {chain}")
        if node.op_type == "Gemm" and node.attr("transA", 0):
            raise UserError(f"{what}: transA = 1; the accelerator streams A as stored")
        R = self.R
        g = w.gemm
        assert g is not None
        geo = self._geometry(node, what)
        a_name = node.inputs[0]
        src = self.region(a_name, "output", what)
        consumer = tensor_view(self.graph.shape(a_name), f"{what}: input '{a_name}'")
        order, source = ("taps" if node.op_type == "Conv" else "matrix"), None
        if node.op_type == "Conv":
            if src.view != consumer:
                raise UserError(f"{what}: its input is a reshaped view of '{src.name}'; the accelerator reads "
                                "convolution inputs as stored")
        elif not src.view.same_bytes(consumer):
            if src.view.channels % R == 0 and src.view.channels * src.view.pixels == consumer.channels \
                    and consumer.pixels == 1:
                order, source = "flatten", src.view  # the weight rows follow the source's bytes
            else:
                raise UserError(f"{what}: its input flattens '{src.name}' ({src.view.channels} channels of "
                                f"{src.view.height}x{src.view.width}); the accelerator can flatten only a channel "
                                f"count that is a multiple of {R} or a 1x1 image")
        a_view = TensorView(geo.cin, geo.h, geo.w)
        if a_view.words(R) > src.view.words(R):
            raise UserError(f"{what}: its input reads more bytes than '{src.name}' holds")
        pooled = chain.pool is not None
        out_name = chain.output
        out = self.region(out_name, "intermediate" if pooled else "output", what)
        if out.view.channels != g.n or out.view.pixels != geo.oh * geo.ow:
            raise UserError(f"{what}: its output '{out.name}' is not laid out as {g.n} channels of {geo.oh}x{geo.ow}")
        residual = None
        if chain.residual is not None:
            residual = self.region(chain.residual, "output", what)
            if not residual.view.same_bytes(out.view):
                raise UserError(f"{what}: its residual '{residual.name}' is not shaped like its output")
        weights = WeightRegion(node.name, 0, g.k, g.n, order, source)
        weights = replace(weights, addr=self._place(weights.nbytes(R)))
        self.weights.append(weights)
        configs_before = len(self.configs)
        config = Config(in_h=geo.h, in_w=geo.w, out_w=geo.ow, chunks=-(-geo.cin // R), chunk_stride=0,
                        kh=geo.kh, kw=geo.kw, stride_y=geo.sy, stride_x=geo.sx, pad_top=geo.pt, pad_left=geo.pl,
                        relu_pre=chain.relu_pre, residual=residual is not None)
        self._gemm_tiles(layer, geo, src, out, residual, weights, config, what)
        code = LayerCode(w.name, "gemm+pool" if pooled else "gemm", out.name, src.name, gemm_node=node.name,
                         intermediate=out.name if pooled else None, configs=tuple(self.configs[configs_before:]))
        if pooled:
            assert chain.pool is not None
            pool_code = self._pool_layer(w.name, chain.pool, node, first=False)
            code = replace(code, kind="gemm+pool", output=pool_code.output, pool_node=chain.pool.name,
                           configs=code.configs + pool_code.configs)
        else:
            self._end_layer()
        self.layers.append(replace(code, bytes=LayerBytes(**self.bytes)))

    def _a_parts(self, residual: bool, tile_m: int) -> tuple[list[int], int, list[int]]:
        """(A part bases, A part size, residual slot bases) of abuf for a layer."""
        words = self.geo.abuf_words
        slot = tile_m if residual else 0
        part = (words - 2 * slot) // 2
        return [0, part], part, [2 * part, 2 * part + slot]

    def _b_parts(self) -> tuple[list[int], int]:
        half = self.geo.wbuf_words // 2
        return [0, half], half

    def _gemm_tiles(self, layer: LayerSchedule, geo: _ConvGeometry, src: TensorRegion, out: TensorRegion,
                    residual: TensorRegion | None, weights: WeightRegion, config: Config, what: str) -> None:
        R = self.R
        g = layer.workload.gemm
        assert g is not None and layer.mapping is not None
        if g.groups != 1:
            raise UserError(f"{what}: {g.groups} groups; the accelerator runs one group")
        mapping = layer.mapping
        a_bases, a_size, r_slots = self._a_parts(residual is not None, layer.tile_m)
        b_bases, b_size = self._b_parts()
        chunks_in = -(-geo.cin // R)
        k_whole = layer.tile_k >= g.k
        block_words = weights.block_words()
        placements = list(layer.placements())

        def tile_window(p0: int, p1: int, k0: int, k: int) -> _Window:
            tap_a, c_a = divmod(k0, geo.cin)
            tap_b = (k0 + k - 1) // geo.cin
            if c_a % R:
                raise UserError(f"{what}: a K tile starts inside a channel chunk (k0 = {k0}); the accelerator "
                                "needs per-tap K tiles that start on whole chunks")
            if tap_a == tap_b:  # inside one tap: only the chunks it reads
                ky, kx = divmod(tap_a, geo.kw)
                return _pixel_window(geo, p0, p1, (ky, ky), (kx, kx), (c_a // R, c_a // R + -(-k // R)))
            ky_a, ky_b = tap_a // geo.kw, tap_b // geo.kw
            kx = (0, geo.kw - 1) if ky_a != ky_b else (tap_a % geo.kw, tap_b % geo.kw)
            return _pixel_window(geo, p0, p1, (ky_a, ky_b), kx, (0, chunks_in))

        def a_block_of(p: Placement) -> tuple[int, int]:
            bm0 = p.m0 // mapping.block_m * mapping.block_m
            return bm0, min(mapping.block_m, g.m - bm0)

        def b_block_of(p: Placement) -> tuple[int, int]:
            bn0 = p.n0 // mapping.block_n * mapping.block_n
            return bn0, min(mapping.block_n, g.n - bn0)

        def block_window(block: tuple[int, int]) -> _Window:
            m0, m = block
            return _pixel_window(geo, m0, m0 + m, (0, geo.kh - 1), (0, geo.kw - 1), (0, chunks_in))

        # A units: the mapping's blocks when it keeps them (they fit a part, or both parts), else tiles.
        a_mode = "tile"
        if k_whole or mapping.block_m >= g.m or mapping.order == "m":
            blocks = [block_window(b) for b in dict.fromkeys(a_block_of(p) for p in placements)]
            pitch = max([w.span for w in blocks] + [1])
            if all(w.footprint(pitch, geo.w, 0) <= a_size for w in blocks):
                a_mode = "block"
            elif all(w.footprint(pitch, geo.w, 0) <= 2 * a_size for w in blocks):
                a_mode = "wide"  # a block larger than a part (padded channels): both parts, no overlap
        # B units: the mapping's blocks when it keeps them (K whole, or all of B), else tiles.
        b_mode = "tile"
        if k_whole or mapping.block_n >= g.n:
            chunks_per_block = [-(-(bn0 + bn) // R) - bn0 // R for bn0, bn in dict.fromkeys(b_block_of(p) for p in placements)]
            need = max(chunks_per_block) * block_words
            b_mode = "block" if need <= b_size else "wide" if need <= 2 * b_size else "tile"
        # A block that overflows a part (its chunks' parameter words are not in the mapping's
        # bytes) loses double buffering in "wide" mode; groups of whole chunks that fit a part keep
        # it, when the tiles visit each group in one run (each chunk is still loaded once a visit).
        per_unit = 0
        if b_mode in ("wide", "tile") and (k_whole or mapping.block_n >= g.n) and block_words <= b_size:
            per = b_size // block_words

            def runs(key) -> int:
                keys = [key(p) for p in placements]
                return 1 + sum(a != b for a, b in zip(keys, keys[1:]))

            def block_key(p: Placement) -> tuple[int, int | None]:
                return b_block_of(p)[0], (p.m0 // mapping.block_m) if mapping.order == "m" else None

            def group_key(p: Placement) -> tuple[Any, int]:
                return block_key(p), (p.n0 // R - b_block_of(p)[0] // R) // per

            groups = -(-max(chunks_per_block) // per)
            if runs(group_key) <= runs(block_key) * groups:
                b_mode, per_unit = "chunks", per

        def pieces(p: Placement) -> list[_Piece]:
            """The tile, or K pieces of it where its own window or weights do not fit a part."""
            t = p.tile
            todo = [_Piece(p, p.k0, t.k, t.accumulate, t.emit)]
            done: list[_Piece] = []
            while todo:
                pc = todo.pop(0)
                win = tile_window(p.m0, p.m0 + t.m, pc.k0, pc.k)
                fits_a = a_mode != "tile" or win.footprint(win.span, geo.w, 0) <= a_size
                fits_b = b_mode != "tile" or pc.k + (PARAM_WORDS if pc.emit else 0) <= b_size
                if fits_a and fits_b:
                    done.append(pc)
                    continue
                folds = -(-pc.k // R)
                if folds < 2:
                    raise UserError(f"{what}: one fold of its tile at m0={p.m0} needs more than a buffer part "
                                    f"(an input window of {win.span} words a chunk); give the config larger buffers")
                k1 = (folds // 2) * R
                todo[:0] = [_Piece(p, pc.k0, k1, pc.accumulate, False), _Piece(p, pc.k0 + k1, pc.k - k1, True, pc.emit)]
            return done

        all_pieces = [pc for p in placements for pc in pieces(p)]

        def a_key_window(pc: _Piece) -> tuple[Any, _Window]:
            p = pc.placement
            if a_mode != "tile":
                block = a_block_of(p)
                return ("block", block), block_window(block)
            return ("tile", p.m0, pc.k0, pc.k), tile_window(p.m0, p.m0 + p.tile.m, pc.k0, pc.k)

        pitch = max([a_key_window(pc)[1].span for pc in all_pieces] + [1])
        self.config_op(replace(config, chunk_stride=pitch), weights.node)
        current_pitch = pitch
        a_unit: tuple[Any, _Unit, int, _Window] | None = None  # (key, unit, window base, window)
        b_unit: tuple[Any, _Unit, int, int] | None = None      # (key, unit, base, first chunk)
        src_pixels = src.view.pixels
        for pc in all_pieces:
            p = pc.placement
            t = p.tile
            # ---- A: a new unit when the key changes
            key, win = a_key_window(pc)
            if a_unit is None or a_unit[0] != key:
                if a_mode == "wide":
                    base_part, room = 0, 2 * a_size
                else:
                    base_part, room = a_bases[self.a_part_next], a_size
                    self.a_part_next ^= 1
                unit_pitch = current_pitch
                if win.footprint(unit_pitch, geo.w, base_part) > room:
                    unit_pitch = win.span  # this window's chunks packed tighter than the layer's pitch
                    if win.footprint(unit_pitch, geo.w, base_part) > room:
                        raise UserError(f"{what}: an input window of {win.chunks} chunks x {win.span} words does "
                                        f"not fit an abuf part of {room} words")
                base = base_part + max(0, win.x_lo(geo.w) - base_part)
                unit, free = self.memories.claim("abuf", base_part, base_part + room)
                if win.empty:
                    unit.last_user = free  # nothing to load; a later writer still follows the old readers
                else:
                    first_word = win.c_lo * src_pixels + win.q_lo
                    unit.load = self.load(Target.ABUF, base, src.addr + first_word * R, rows=win.chunks, kind="input",
                                          row_words=win.span, dram_stride=src_pixels * R if win.chunks > 1 else 0,
                                          sram_stride=unit_pitch if win.chunks > 1 else 0,
                                          reads=(src.name, first_word, src_pixels), frees=free)
                if unit_pitch != current_pitch:
                    self.config_op(replace(config, chunk_stride=unit_pitch), weights.node)
                    current_pitch = unit_pitch
                a_unit = (key, unit, base, win)
            _, a_u, a_base, a_win = a_unit
            # ---- B
            j = p.n0 // R
            b_loads: list[_Op | None]
            if b_mode != "tile":
                bn0, bn = b_block_of(p)
                j_lo, j_hi = bn0 // R, -(-(bn0 + bn) // R)
                if per_unit:  # the group of whole chunks holding chunk j
                    j_lo += (j - j_lo) // per_unit * per_unit
                    j_hi = min(j_hi, j_lo + per_unit)
                bkey = ("block", bn0, (p.m0 // mapping.block_m) if mapping.order == "m" else None, j_lo)
                if b_unit is None or b_unit[0] != bkey:
                    if b_mode == "wide":
                        base, room = 0, 2 * b_size
                    else:
                        base, room = b_bases[self.b_part_next], b_size
                        self.b_part_next ^= 1
                    unit, free = self.memories.claim("wbuf", base, base + room)
                    unit.load = self.load(Target.WBUF, base, weights.addr + j_lo * block_words * R, rows=1, kind="weights",
                                          row_words=(j_hi - j_lo) * block_words, frees=free)
                    b_unit = (bkey, unit, base, j_lo)
                _, b_u, b_base, b_first = b_unit
                p_addr = b_base + (j - b_first) * block_words
                w_addr = p_addr + PARAM_WORDS + pc.k0
                b_loads = [b_u.load]
            else:
                base = b_bases[self.b_part_next]
                self.b_part_next ^= 1
                b_u, free = self.memories.claim("wbuf", base, base + b_size)
                block = weights.addr + j * block_words * R
                p_addr, w_addr = base, base + PARAM_WORDS
                if pc.emit and pc.k0 == 0:  # parameters and rows are one run in DRAM
                    b_loads = [self.load(Target.WBUF, base, block, rows=1, row_words=PARAM_WORDS + pc.k,
                                        kind="weights", frees=free)]
                elif pc.emit:
                    b_loads = [self.load(Target.WBUF, w_addr, block + (PARAM_WORDS + pc.k0) * R, rows=1,
                                         row_words=pc.k, kind="weights", frees=free),
                               self.load(Target.WBUF, base, block, rows=1, row_words=PARAM_WORDS, kind="weights")]
                else:
                    p_addr, w_addr = 0, base
                    b_loads = [self.load(Target.WBUF, base, block + (PARAM_WORDS + pc.k0) * R, rows=1,
                                         row_words=pc.k, kind="weights", frees=free)]
                b_u.load = b_loads[-1]
            # ---- residual and results
            r_addr, r_load, r_unit = 0, None, None
            o_addr, o_unit, o_free = 0, None, None
            if pc.emit:
                if residual is not None:
                    slot = r_slots[self.rslot_next]
                    self.rslot_next ^= 1
                    r_unit, free = self.memories.claim("abuf", slot, slot + layer.tile_m)
                    word = j * residual.view.pixels + p.m0
                    r_load = self.load(Target.ABUF, slot, residual.addr + word * R, rows=1, row_words=t.m, kind="residual",
                                       reads=(residual.name, word, residual.view.pixels), frees=free)
                    r_unit.load = r_load
                    r_addr = slot
                o_addr, o_unit, o_free = self.obuf(t.m)
            tap_a, c_a = divmod(pc.k0, geo.cin)
            ky0, kx0 = divmod(tap_a, geo.kw)
            oy0, ox0 = divmod(p.m0, geo.ow)
            gemm = Gemm(m=t.m, k=pc.k, n=t.n, accumulate=pc.accumulate, emit=pc.emit,
                        a_addr=a_base - a_win.x_lo(geo.w), w_addr=w_addr, p_addr=p_addr if pc.emit else 0,
                        r_addr=r_addr, o_addr=o_addr, y0=a_win.y_lo, oy0=oy0, ox0=ox0,
                        chunk0=c_a // R - a_win.c_lo, ky0=ky0, kx0=kx0)
            check(gemm, self.cfg)
            e = self.exec_op(gemm)
            for ld in [a_u.load, *b_loads, r_load]:
                if ld is not None:
                    e.need(Token.L2E, ld)
                    if ld.consumer < 0:
                        ld.consumer = e.seq
            for u in (a_u, b_u, r_unit):
                if u is not None:
                    u.last_user = e
            if pc.emit:
                assert o_unit is not None
                e.need(Token.S2E, o_free)
                word = j * out.view.pixels + p.m0
                o_unit.last_user = self.store(out, word, o_addr, rows=1, row_words=t.m, stride_words=out.view.pixels,
                                              producer=e, kind="intermediate" if out.role == "intermediate" else "output")

    def _end_layer(self) -> None:
        """Flag the layer's last data STORE."""
        last = self.ops[Engine.STORE][-1]
        assert isinstance(last.cmd, Store)
        last.cmd = replace(last.cmd, layer_end=True)

    # ----------------------------------------------------------------------------- pooling

    def _pool_layer(self, name: str, node: Node, anchor: Node, *, first: bool) -> LayerCode:
        """A pooling: standalone (``first``) or the second part of a GEMM layer with a fused pool."""
        R = self.R
        what = f"layer '{name}' ({node.op_type})"
        win = integer_pool(node, self.graph)
        if isinstance(win, str):
            raise UserError(f"{what}: the accelerator's POOL cannot run it: {win}")
        if len(win.kernel) != 2:
            raise UserError(f"{what}: a {len(win.kernel)}-D pooling; the accelerator pools 2-D images")
        if any(d != 1 for d in win.dilations):
            raise UserError(f"{what}: dilations {list(win.dilations)}; POOL walks undilated windows")
        if any(k > 255 for k in win.kernel) or any(s > 255 for s in win.strides) or any(p > 255 for p in win.begin):
            raise UserError(f"{what}: a window, stride or pad above 255 does not fit CONFIG's fields")
        src = self.region(node.inputs[0], "output", what)
        out = self.region(node.outputs[0] if first else anchor.outputs[0], "output", what)
        h, w = win.in_size
        oh, ow = win.out_size
        if src.view != TensorView(src.view.channels, h, w) or out.view.pixels != oh * ow:
            raise UserError(f"{what}: its tensors are not laid out as {h}x{w} -> {oh}x{ow} images")
        chunks = src.view.chunks(R)
        geo = _ConvGeometry(cin=src.view.channels, h=h, w=w, kh=win.kernel[0], kw=win.kernel[1], sy=win.strides[0],
                            sx=win.strides[1], pt=win.begin[0], pl=win.begin[1], oh=oh, ow=ow)
        mode = PoolMode.MAX if node.op_type in ("MaxPool", "GlobalMaxPool") else PoolMode.AVG
        a_bases, a_size, _ = self._a_parts(False, 0)
        half = self.geo.acc_depth
        # Output pixels per POOL: whole output rows while they fit an obuf half, else a part of a row.
        rows_out = max(1, half // ow)
        ranges: list[tuple[int, int]] = []
        if ow <= half:
            for oy in range(0, oh, rows_out):
                ranges.append((oy * ow, min(oh, oy + rows_out) * ow))
        else:
            for p0 in range(0, oh * ow, half):
                ranges.append((p0, min(oh * ow, p0 + half)))
        jobs: list[tuple[int, int, int, int, _Window]] = []

        def fitting(p0: int, p1: int) -> list[tuple[int, int, _Window]]:
            """Pixel ranges whose one-chunk window fits a part (halving a range that does not)."""
            win0 = _pixel_window(geo, p0, p1, (0, geo.kh - 1), (0, geo.kw - 1), (0, 1))
            if win0.footprint(win0.span, w, 0) <= a_size:
                return [(p0, p1, win0)]
            if p1 - p0 == 1:
                raise UserError(f"{what}: one output pixel's window needs more than an abuf part")
            mid = p0 + (p1 - p0) // 2
            return fitting(p0, mid) + fitting(mid, p1)

        for r0, r1 in ranges:
            for p0, p1, win0 in fitting(r0, r1):
                if win0.empty:
                    raise UserError(f"{what}: a pooling window reads only padding")
                # As many chunks as the obuf half and the abuf part hold, one LOAD and one STORE.
                per = max(1, min(chunks, half // (p1 - p0), (a_size - win0.x_lo(w)) // max(1, win0.span)))
                for c0 in range(0, chunks, per):
                    c1 = min(chunks, c0 + per)
                    jobs.append((p0, p1, c0, c1, replace(win0, c_lo=c0, c_hi=c1)))
        configs_before = len(self.configs)
        self.config_op(Config(in_h=h, in_w=w, out_w=ow, chunks=1, chunk_stride=0, kh=geo.kh, kw=geo.kw,
                              stride_y=geo.sy, stride_x=geo.sx, pad_top=geo.pt, pad_left=geo.pl, pool_mode=mode),
                       node.name)
        for p0, p1, c0, c1, wj in jobs:
            m = p1 - p0
            part = self.a_part_next
            self.a_part_next ^= 1
            base_part = a_bases[part]
            x_lo = wj.x_lo(w)
            base = base_part + max(0, x_lo - base_part)
            pitch = wj.span  # POOL addresses each chunk itself: the chunks lie packed
            unit, free = self.memories.claim("abuf", base_part, base_part + a_size)
            first_word = c0 * src.view.pixels + wj.q_lo
            assert wj.footprint(pitch, w, base_part) <= a_size
            unit.load = self.load(Target.ABUF, base, src.addr + first_word * R, rows=c1 - c0, row_words=wj.span,
                                  kind="pool_input",
                                  dram_stride=src.view.pixels * R, sram_stride=pitch if c1 - c0 > 1 else 0,
                                  reads=(src.name, first_word, src.view.pixels), frees=free)
            o_addr, o_unit, o_free = self.obuf((c1 - c0) * m)
            oy0, ox0 = divmod(p0, ow)
            last = None
            for c in range(c0, c1):
                pool = Pool(m=m, a_addr=base + (c - c0) * pitch - x_lo, o_addr=o_addr + (c - c0) * m, y0=wj.y_lo,
                            oy0=oy0, ox0=ox0)
                check(pool, self.cfg)
                e = self.exec_op(pool)
                e.need(Token.L2E, unit.load)
                if unit.load.consumer < 0:
                    unit.load.consumer = e.seq
                if c == c0:
                    e.need(Token.S2E, o_free)
                last = e
            assert last is not None
            unit.last_user = last
            st = self.store(out, c0 * out.view.pixels + p0, o_addr, rows=c1 - c0, row_words=m,
                            stride_words=out.view.pixels, producer=last)
            o_unit.last_user = st
        self._end_layer()
        code = LayerCode(name, "pool", out.name, src.name, pool_node=node.name,
                         configs=tuple(self.configs[configs_before:]))
        if first:
            self.layers.append(replace(code, bytes=LayerBytes(**self.bytes)))
        return code

    # ---------------------------------------------------------------------------- assembly

    def _assemble(self) -> AcceleratorProgram:
        R, depth = self.R, self.cfg.command_depth
        execs, stores, data_loads = self.ops[Engine.EXEC], self.ops[Engine.STORE], self.ops[Engine.LOAD]
        if not execs:
            raise UserError("the model has no layer the accelerator runs")
        execs.append(_Op(Engine.EXEC, End(), seq=len(execs)))
        stores.append(_Op(Engine.STORE, End(), seq=len(stores)))
        exec_banks = -(-len(execs) // depth)
        store_banks = -(-len(stores) // depth)
        # DRAM: the activations and weights (placed as they were first used), then the banks.
        tensors = list(self.tensors.values())
        weights = list(self.weights)
        bank_bytes = depth * COMMAND_BYTES
        exec_base = _align(self.addr)
        store_base = exec_base + exec_banks * bank_bytes
        load_base = store_base + store_banks * bank_bytes

        # Bank fills of the exec and store lists, placed among the data loads (see the docstring).
        def bank_load(engine: Engine, index: int, base: int, count: int) -> _Op:
            target = {Engine.LOAD: Target.LOAD_CMDS, Engine.EXEC: Target.EXEC_CMDS, Engine.STORE: Target.STORE_CMDS}[engine]
            return _Op(Engine.LOAD, Load(target=target, sram_addr=index % 2, dram_addr=base + index * bank_bytes,
                                         rows=1, row_words=count * COMMAND_BYTES // R))

        fills: list[tuple[int, _Op]] = []  # (position key: exec seq, op)
        for k in range(exec_banks):
            op = bank_load(Engine.EXEC, k, exec_base, min(depth, len(execs) - k * depth))
            if k >= 2:
                op.need(Token.E2L, execs[(k - 1) * depth - 1])
            fills.append((max(0, (k - 1) * depth), op))
        for k in range(store_banks):
            op = bank_load(Engine.STORE, k, store_base, min(depth, len(stores) - k * depth))
            if k >= 2:
                op.need(Token.S2L, stores[(k - 1) * depth - 1])
            if k == 0:
                key = 0
            else:
                first_of_prev = stores[(k - 1) * depth]
                producer = first_of_prev.needs.get(Token.E2S)
                key = producer.seq if producer is not None else len(execs)
            fills.append((key, op))
        fills.sort(key=lambda f: f[0])
        logical: list[_Op] = []
        fi = 0
        for ld in data_loads:
            consumer = ld.consumer if ld.consumer >= 0 else len(execs)
            # A fill keyed at exec seq s goes after the loads of commands up to s.
            while fi < len(fills) and fills[fi][0] < consumer:
                logical.append(fills[fi][1])
                fi += 1
            logical.append(ld)
        logical.extend(f[1] for f in fills[fi:])
        logical.append(_Op(Engine.LOAD, End()))
        # Load banks: each starts with the fill of the next one.
        per_bank = depth - 1
        chunks = [logical[i:i + per_bank] for i in range(0, len(logical), per_bank)] or [[]]
        if len(chunks) > 1 and len(chunks[-1]) == 0:
            chunks.pop()
        loads: list[_Op] = []
        n_load_banks = len(chunks)
        counts = [len(c) + (1 if i + 1 < n_load_banks else 0) for i, c in enumerate(chunks)]
        for i, c in enumerate(chunks):
            if i + 1 < n_load_banks:
                loads.append(bank_load(Engine.LOAD, i + 1, load_base, counts[i + 1]))
            loads.extend(c)
        # Indices and tokens.
        for lst in (loads, execs, stores):
            for i, o in enumerate(lst):
                o.index = i
        for token, waiters in ((Token.L2E, execs), (Token.E2L, loads), (Token.E2S, stores),
                               (Token.S2E, execs), (Token.S2L, loads)):
            done = -1
            for o in waiters:
                need = o.needs.get(token)
                if need is None or need.index <= done:
                    continue
                o.cmd = replace(o.cmd, waits=o.cmd.waits | {token})
                need.cmd = replace(need.cmd, signals=need.cmd.signals | {token})
                done = need.index
        final: dict[Engine, tuple[Command, ...]] = {}
        for engine, lst in ((Engine.LOAD, loads), (Engine.EXEC, execs), (Engine.STORE, stores)):
            cmds = []
            for i, o in enumerate(lst):
                last = (i % depth == depth - 1) and i != len(lst) - 1
                cmd = o.cmd
                if last:
                    cmd = replace(cmd, last=True)
                check(cmd, self.cfg)
                cmds.append(cmd)
            final[engine] = tuple(cmds)
        banks = [BankRegion(Engine.EXEC, k, exec_base + k * bank_bytes, min(depth, len(execs) - k * depth))
                 for k in range(exec_banks)]
        banks += [BankRegion(Engine.STORE, k, store_base + k * bank_bytes, min(depth, len(stores) - k * depth))
                  for k in range(store_banks)]
        banks += [BankRegion(Engine.LOAD, k, load_base + k * bank_bytes, counts[k]) for k in range(n_load_banks)]
        size = load_base + n_load_banks * bank_bytes
        memory = MemoryMap(R, tuple(tensors), tuple(weights), tuple(banks), size, load_base, counts[0])
        return AcceleratorProgram(self.cfg, final[Engine.LOAD], final[Engine.EXEC], final[Engine.STORE], memory,
                                  tuple(self.layers))


def _no_code(name: str, op: str, op_type: str | None = None) -> UserError:
    return UserError(f"layer '{name}' ({op}): the accelerator runs convolutions, Gemm, MatMul and pooling; "
                     f"{op_type or op} would need a vector unit it does not have")


def codegen(graph: Graph, program: Program) -> AcceleratorProgram:
    """The accelerator program of ``program`` (compiled from ``graph`` for an accelerator config)."""
    return _Builder(graph, program).build()

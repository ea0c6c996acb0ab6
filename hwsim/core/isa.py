"""The accelerator's instruction set, memory layouts and timing constants: the one contract between
the code generator (``compiler``), the RTL (``rtl``), the replay model (``hwsim.replay``) and the
host (docs/accelerator.md is the long form).

The accelerator (``rtl.Accelerator``) has three engines that each run their own list of commands in
order: the **load** engine (``LOAD``: DRAM to an on-chip memory), the **exec** engine (``CONFIG``,
``GEMM``, ``POOL``) and the **store** engine (``STORE``: output staging to DRAM); every list ends
with ``END``. Commands are 256 bits (:data:`COMMAND_BYTES` = 32), little-endian, fields at the bit
positions of :data:`FIELDS`::

    >>> from hwsim.core.isa import Gemm, Token, decode, encode
    >>> g = Gemm(m=16, k=8, n=4, a_addr=0, w_addr=13, p_addr=0, o_addr=0, waits={Token.L2E})
    >>> len(encode(g)), decode(encode(g)) == g
    (32, True)
    >>> encode(g)[0] & 0xF == 4           # the opcode, bits 0-3
    True

**Dependencies.** Five token counters (:class:`Token`) order the engines, VTA-style: a command may
*wait* on tokens sent to its engine and *signal* tokens its engine sends (:data:`SIGNALLER`,
:data:`WAITER`). A wait takes one token when the command starts; a signal adds one in the cycle the
command is done, visible to a waiter from the next cycle. Waits pair with signals in FIFO order.

**Banks.** Each engine's command memory has two banks of ``cfg.command_depth`` commands. A
command with ``last`` set is the last of its bank: the engine then continues at command 0 of its
other bank once a ``LOAD`` has filled it (``Load(target=Target.EXEC_CMDS, sram_addr=bank, ...)``
fills bank ``sram_addr`` of the exec engine and marks it valid in its done cycle; an engine marks
a bank invalid when it leaves it). At start the accelerator loads ``BOOT_COUNT`` commands from
``BOOT_ADDR`` into the load engine's bank 0 (:class:`Reg`); everything else follows from the
program. Exec and store start at their bank 0 and wait until it is valid.

**Addresses.** DRAM addresses are bytes and, with strides and lengths, whole words: a word is
``R`` bytes (``R = cfg.rows = cfg.cols``, the AXI data width and the width of every on-chip
memory). On-chip addresses are word addresses. Layouts: :func:`activation_offset` (blocked NCHWc,
c = R), :func:`weight_block` (13 parameter words then K weight rows per output chunk).

**Limits.** Field widths are fixed (:data:`FIELDS`); what depends on the config (buffer sizes,
``acc_depth``, ``k_max``, ``R``) is checked by :func:`check` against :class:`Geometry`, and
:func:`check_config` says which configs the accelerator implements.

**Timing.** :data:`TIMING` states the RTL's fixed cycle costs once (the replay model uses them;
``tests/rtl/test_accelerator.py`` holds the RTL's counters equal to the replay's and shows that
each constant one cycle off breaks the equality).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import ClassVar, Iterable, Sequence

import numpy as np

from .config import AcceleratorConfig
from .errors import UserError

__all__ = [
    "COMMAND_BYTES", "PARAM_WORDS", "Opcode", "Engine", "Token", "Target", "PoolMode", "SIGNALLER", "WAITER",
    "Field", "FIELDS", "Command", "Load", "Store", "Config", "Gemm", "Pool", "End", "ENGINE_OF",
    "encode", "decode", "encode_program", "decode_program",
    "Geometry", "check_config", "check", "MemoryTiming", "Timing", "TIMING", "Reg", "ID_MAGIC",
    "activation_offset", "activation_bytes", "pack_activation", "unpack_activation",
    "conv_weight_matrix", "param_block", "unpack_param_block", "weight_block", "weight_blocks",
    "weight_block_words",
]

#: Bytes of one command (256 bits).
COMMAND_BYTES = 32
#: Words of an output chunk's epilogue parameter block in wbuf (bias, mult, rmult: 4 words each of
#: R int32; shift: 1 word of R uint8).
PARAM_WORDS = 13


class Opcode(enum.IntEnum):
    """Bits 0-3 of every command. 0 is not a command: an engine that fetches it stops with an error
    (STATUS.ERROR), so a program running into unwritten command memory never passes for done."""

    LOAD = 1
    STORE = 2
    CONFIG = 3
    GEMM = 4
    POOL = 5
    END = 6


class Engine(enum.IntEnum):
    LOAD = 0
    EXEC = 1
    STORE = 2


class Token(enum.IntEnum):
    """The five token counters; the value is the bit in a command's wait and signal masks."""

    L2E = 0  #: load -> exec: data an exec command needs has arrived
    E2L = 1  #: exec -> load: a buffer part an exec command read is free again
    E2S = 2  #: exec -> store: results are in obuf
    S2E = 3  #: store -> exec: an obuf part is free again
    S2L = 4  #: store -> load: data a later load reads back from DRAM has been written (RAW through DRAM)


#: The engine that signals each token, and the one that waits on it.
SIGNALLER = {Token.L2E: Engine.LOAD, Token.E2L: Engine.EXEC, Token.E2S: Engine.EXEC,
             Token.S2E: Engine.STORE, Token.S2L: Engine.STORE}
WAITER = {Token.L2E: Engine.EXEC, Token.E2L: Engine.LOAD, Token.E2S: Engine.STORE,
          Token.S2E: Engine.EXEC, Token.S2L: Engine.LOAD}


class Target(enum.IntEnum):
    """Where a LOAD writes: an activation or weight buffer word address, or a command bank."""

    ABUF = 0
    WBUF = 1
    LOAD_CMDS = 2
    EXEC_CMDS = 3
    STORE_CMDS = 4

    @property
    def engine(self) -> Engine | None:
        """The engine whose command memory this target is (None for abuf, wbuf)."""
        return {Target.LOAD_CMDS: Engine.LOAD, Target.EXEC_CMDS: Engine.EXEC,
                Target.STORE_CMDS: Engine.STORE}.get(self)


class PoolMode(enum.IntEnum):
    MAX = 0
    AVG = 1


@dataclass(frozen=True)
class Field:
    """``width`` bits from bit ``lsb`` of the 256-bit command; ``signed``: two's complement."""

    name: str
    lsb: int
    width: int
    signed: bool = False

    @property
    def lo(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1


#: The header every command has: bits 0-15.
HEADER = (Field("opcode", 0, 4), Field("last", 4, 1), Field("waits", 5, 5), Field("signals", 10, 5),
          Field("layer_end", 15, 1))
_PAYLOAD_LSB = 16
#: On-chip word addresses (abuf, wbuf, obuf) are at most this many bits: 1 Mi words.
SRAM_ADDR_BITS = 20


def _layout(*spec: tuple[str, int] | tuple[str, int, bool]) -> tuple[Field, ...]:
    out, lsb = list(HEADER), _PAYLOAD_LSB
    for name, width, *sign in spec:
        out.append(Field(name, lsb, width, bool(sign and sign[0])))
        lsb += width
    assert lsb <= 8 * COMMAND_BYTES, spec
    return tuple(out)


_A = SRAM_ADDR_BITS
#: Every command's fields (header first), by opcode. The RTL decodes with this same table.
FIELDS: dict[Opcode, tuple[Field, ...]] = {
    Opcode.LOAD: _layout(("target", 3), ("sram_addr", _A), ("dram_addr", 32), ("dram_stride", 32),
                         ("rows", 16), ("row_words", 16), ("sram_stride", _A)),
    Opcode.STORE: _layout(("sram_addr", _A), ("dram_addr", 32), ("dram_stride", 32), ("rows", 16),
                          ("row_words", 16), ("sram_stride", _A)),
    Opcode.CONFIG: _layout(("in_h", 16), ("in_w", 16), ("out_w", 16), ("chunks", 16), ("chunk_stride", _A),
                           ("kh", 8), ("kw", 8), ("stride_y", 8), ("stride_x", 8), ("pad_top", 8),
                           ("pad_left", 8), ("lo", 8, True), ("hi", 8, True), ("relu_pre", 1), ("residual", 1),
                           ("pool_mode", 1), ("pool_shift", 6), ("pool_mult", 32, True)),
    Opcode.GEMM: _layout(("m", 16), ("k", 16), ("n", 8), ("accumulate", 1), ("emit", 1),
                         ("a_addr", _A), ("w_addr", _A), ("p_addr", _A), ("r_addr", _A), ("o_addr", _A),
                         ("y0", 16), ("oy0", 16), ("ox0", 16), ("chunk0", 16), ("ky0", 8), ("kx0", 8)),
    Opcode.POOL: _layout(("m", 16), ("a_addr", _A), ("o_addr", _A), ("y0", 16), ("oy0", 16), ("ox0", 16)),
    Opcode.END: _layout(),
}


def _tokens(value: Iterable[Token | int] | None) -> frozenset[Token]:
    return frozenset(Token(t) for t in (value or ()))


@dataclass(frozen=True, kw_only=True)
class Command:
    """What every command has: ``waits`` and ``signals`` (sets of :class:`Token`, legal for the
    command's engine) and ``last`` (the last command of its bank). Subclasses add their fields; all
    fields are keyword-only and checked against their widths on construction."""

    OPCODE: ClassVar[Opcode]
    waits: frozenset[Token] = frozenset()
    signals: frozenset[Token] = frozenset()
    last: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "waits", _tokens(self.waits))
        object.__setattr__(self, "signals", _tokens(self.signals))
        name = type(self).__name__
        engine = ENGINE_OF.get(self.OPCODE)
        for kind, tokens, legal in (("wait on", self.waits, WAITER), ("signal", self.signals, SIGNALLER)):
            for t in sorted(tokens):
                if engine is None or legal[t] != engine:
                    owner = "no engine's END" if engine is None else f"the {engine.name.lower()} engine"
                    raise UserError(f"{name}: {owner} cannot {kind} {t.name}; {t.name} is signalled by "
                                    f"{SIGNALLER[t].name.lower()} and waited on by {WAITER[t].name.lower()}")
        by_name = {f.name: f for f in FIELDS[self.OPCODE]}
        for f in fields(self):
            if f.name in ("waits", "signals"):
                continue
            v = getattr(self, f.name)
            spec = by_name[f.name]
            if isinstance(v, enum.Enum):
                v = v.value
            if isinstance(v, bool):
                v = int(v)
            if not isinstance(v, (int, np.integer)) or not spec.lo <= int(v) <= spec.hi:
                raise UserError(f"{name}.{f.name} must be an integer from {spec.lo} to {spec.hi} "
                                f"({spec.width}-bit field), got {getattr(self, f.name)!r}")

    @property
    def engine(self) -> Engine | None:
        """The engine that runs this command (None for END, which every list has)."""
        return ENGINE_OF.get(self.OPCODE)

    def encode(self) -> bytes:
        return encode(self)


class _Rows:
    """What LOAD and STORE derive from their 2-D transfer fields (``rows`` rows of ``row_words``
    words, on-chip rows ``sram_stride`` apart, 0 meaning packed)."""

    rows: int
    row_words: int
    sram_addr: int
    sram_stride: int

    @property
    def words(self) -> int:
        return self.rows * self.row_words

    @property
    def sram_pitch(self) -> int:
        """Words between on-chip row starts."""
        return self.sram_stride or self.row_words

    @property
    def sram_end(self) -> int:
        """One past the last on-chip word written (LOAD) or read (STORE)."""
        return self.sram_addr + (self.rows - 1) * self.sram_pitch + self.row_words


@dataclass(frozen=True, kw_only=True)
class Load(Command, _Rows):
    """DRAM -> an on-chip memory, a 2-D strided copy: ``rows`` rows of ``row_words`` words; row r
    comes from DRAM byte ``dram_addr + r * dram_stride`` and goes to word ``sram_addr + r *
    sram_stride`` (``sram_stride`` 0: packed, ``row_words``). ``target`` ABUF and WBUF take a word address; a command bank
    (``LOAD_CMDS``, ``EXEC_CMDS``, ``STORE_CMDS``) takes the bank (0 or 1) in ``sram_addr``, is
    written from its command 0 (``COMMAND_BYTES / R`` words a command) and becomes valid in the
    LOAD's done cycle. Load engine; may wait on E2L and S2L, signal L2E.

    >>> Load(target=Target.ABUF, sram_addr=0, dram_addr=0x1000, rows=2, row_words=8, dram_stride=256,
    ...      signals={Token.L2E}).signals == {Token.L2E}
    True
    """

    OPCODE: ClassVar[Opcode] = Opcode.LOAD
    target: Target
    sram_addr: int
    dram_addr: int
    rows: int = 1
    row_words: int
    dram_stride: int = 0
    sram_stride: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", Target(self.target))
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class Store(Command, _Rows):
    """obuf -> DRAM: row r of ``row_words`` words from obuf word ``sram_addr + r * sram_stride``
    (0: packed, ``row_words``) to DRAM
    byte ``dram_addr + r * dram_stride``. ``layer_end``: this STORE completes a layer (the RTL counts
    layers and latches the cycle, docs/accelerator.md#per-layer-accounting). Store engine; may wait
    on E2S, signal S2E and S2L."""

    OPCODE: ClassVar[Opcode] = Opcode.STORE
    sram_addr: int
    dram_addr: int
    rows: int = 1
    row_words: int
    dram_stride: int = 0
    sram_stride: int = 0
    layer_end: bool = False


@dataclass(frozen=True, kw_only=True)
class Config(Command):
    """The exec engine's layer constants, kept until the next CONFIG.

    Geometry of the input window in abuf (stored ``[chunk][row][x]``, see :class:`Gemm`):
    ``in_h`` x ``in_w`` input pixels (the tensor's, for the padding test; ``in_w`` is also the
    window's row pitch in words), ``out_w`` output pixels a row, ``chunks`` channel chunks of R
    channels (a fold walks them), ``chunk_stride`` words between chunks in abuf, kernel ``kh`` x
    ``kw`` (POOL's window; GEMM walks taps along ``kw``), ``stride_y``, ``stride_x``, ``pad_top``,
    ``pad_left`` (bottom and right padding follow from ``in_h``, ``in_w``).

    Epilogue (SPEC §4, docs/accelerator.md#epilogue): clamp to ``lo`` .. ``hi`` (int8), ``relu_pre``
    (clip the scaled value at 0 before the residual add), ``residual`` (add ``r * rmult``).
    POOL: ``pool_mode`` MAX or AVG; AVG computes ``(sum * pool_mult + 2^(pool_shift-1)) >> pool_shift``.
    """

    OPCODE: ClassVar[Opcode] = Opcode.CONFIG
    in_h: int = 1
    in_w: int = 1
    out_w: int = 1
    chunks: int = 1
    chunk_stride: int = 0
    kh: int = 1
    kw: int = 1
    stride_y: int = 1
    stride_x: int = 1
    pad_top: int = 0
    pad_left: int = 0
    lo: int = -127
    hi: int = 127
    relu_pre: bool = False
    residual: bool = False
    pool_mode: PoolMode = PoolMode.MAX
    pool_shift: int = 1
    pool_mult: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "pool_mode", PoolMode(self.pool_mode))
        super().__post_init__()
        for key in ("in_h", "in_w", "out_w", "chunks", "kh", "kw", "stride_y", "stride_x"):
            if getattr(self, key) < 1:
                raise UserError(f"Config.{key} must be at least 1, got {getattr(self, key)}")
        if self.lo > self.hi:
            raise UserError(f"Config: clamp lo ({self.lo}) is above hi ({self.hi})")
        if self.pool_mode == PoolMode.AVG and not 1 <= self.pool_shift <= 62:
            raise UserError(f"Config.pool_shift must be from 1 to 62 for average pooling, got {self.pool_shift}")


@dataclass(frozen=True, kw_only=True)
class Gemm(Command):
    """One tile: ``m`` rows of A against a ``k`` x ``n`` block of B through the array, then (``emit``)
    the epilogue into obuf. ``accumulate``: add onto the partial sums of the tile before (a K split);
    ``emit``: the last K tile of its output block.

    Operands, with the geometry of the last CONFIG (R = array size, F = ceil(k / R) folds):

    * Fold f reads tap (ky_f, kx_f) and chunk c_f: (ky_0, kx_0, c_0) = (``ky0``, ``kx0``, ``chunk0``),
      each next fold the chunk after (c + 1; at ``chunks`` back to 0 with the next tap: kx + 1, at
      ``kw`` back to 0 with ky + 1). A tile's K rows start on a chunk: per-tap K is tap-major,
      channels inner (:func:`conv_weight_matrix`), and a tile never crosses a tap unless the
      channels are a whole number of chunks.
    * Row i is output pixel (oy_i, ox_i): (``oy0``, ``ox0``) for i = 0, then ox + 1, at ``out_w``
      back to 0 with oy + 1. Its input pixel for fold f is iy = oy_i * stride_y + ky_f - pad_top,
      ix = ox_i * stride_x + kx_f - pad_left; the A word is zero outside 0 <= iy < in_h,
      0 <= ix < in_w (zero padding), else abuf word
      ``a_addr + c_f * chunk_stride + (iy - y0) * in_w + ix`` (``y0``: the input row at the window's
      row 0).
    * Weights: wbuf words ``w_addr`` .. ``w_addr + k - 1``, one K row each (lane j = output lane j).
    * Epilogue (``emit``): the 13-word parameter block at wbuf ``p_addr`` (:func:`param_block`), the
      residual of row i at abuf ``r_addr + i`` (when CONFIG.residual), the int8 result row i to obuf
      ``o_addr + i``; lanes >= n hold the epilogue of a zero accumulator.

    Exec engine; may wait on L2E and S2E, signal E2L and E2S.
    """

    OPCODE: ClassVar[Opcode] = Opcode.GEMM
    m: int
    k: int
    n: int
    accumulate: bool = False
    emit: bool = True
    a_addr: int
    w_addr: int
    p_addr: int = 0
    r_addr: int = 0
    o_addr: int = 0
    y0: int = 0
    oy0: int = 0
    ox0: int = 0
    chunk0: int = 0
    ky0: int = 0
    kx0: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("m", "k", "n"):
            if getattr(self, key) < 1:
                raise UserError(f"Gemm.{key} must be at least 1, got {getattr(self, key)}")


@dataclass(frozen=True, kw_only=True)
class Pool(Command):
    """Max or average pooling (CONFIG.pool_mode) of one chunk: ``m`` output pixels from (``oy0``,
    ``ox0``) as in :class:`Gemm`, each over the kh x kw window at iy = oy * stride_y + ky - pad_top,
    ix = ox * stride_x + kx - pad_left, reading abuf ``a_addr + (iy - y0) * in_w + ix`` (all R lanes
    at once). Pixels outside the input are skipped by MAX and count as 0 in AVG's sum (ONNX
    ``count_include_pad = 1``; the divisor is in pool_mult). MAX of no pixel is CONFIG.lo. The result
    is clamped to CONFIG.lo .. hi and written to obuf ``o_addr + i``. Exec engine."""

    OPCODE: ClassVar[Opcode] = Opcode.POOL
    m: int
    a_addr: int
    o_addr: int = 0
    y0: int = 0
    oy0: int = 0
    ox0: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.m < 1:
            raise UserError(f"Pool.m must be at least 1, got {self.m}")


@dataclass(frozen=True, kw_only=True)
class End(Command):
    """The end of an engine's list; it has no dependencies. All three engines at END: done."""

    OPCODE: ClassVar[Opcode] = Opcode.END


_CLASSES: dict[Opcode, type[Command]] = {c.OPCODE: c for c in (Load, Store, Config, Gemm, Pool, End)}
#: The engine of each opcode (END belongs to every list).
ENGINE_OF: dict[Opcode, Engine] = {Opcode.LOAD: Engine.LOAD, Opcode.STORE: Engine.STORE, Opcode.CONFIG: Engine.EXEC,
                                   Opcode.GEMM: Engine.EXEC, Opcode.POOL: Engine.EXEC}


def encode(cmd: Command) -> bytes:
    """The 32 bytes of ``cmd`` (little-endian; fields at :data:`FIELDS`)."""
    word = 0
    for f in FIELDS[cmd.OPCODE]:
        if f.name == "opcode":
            v = int(cmd.OPCODE)
        elif f.name in ("waits", "signals"):
            v = sum(1 << int(t) for t in getattr(cmd, f.name))
        elif f.name == "layer_end" and not isinstance(cmd, Store):
            v = 0
        else:
            v = int(getattr(cmd, f.name))
        word |= (v & ((1 << f.width) - 1)) << f.lsb
    return word.to_bytes(COMMAND_BYTES, "little")


def decode(blob: bytes) -> Command:
    """The command in 32 bytes; a precise :class:`UserError` for an unknown opcode or a set bit
    outside the opcode's fields.

    >>> decode(encode(End())) == End()
    True
    """
    if len(blob) != COMMAND_BYTES:
        raise UserError(f"a command is {COMMAND_BYTES} bytes, got {len(blob)}")
    word = int.from_bytes(blob, "little")
    op = word & 0xF
    try:
        opcode = Opcode(op)
    except ValueError:
        raise UserError(f"command {blob.hex()}: unknown opcode {op}") from None
    values: dict[str, object] = {}
    used = 0
    for f in FIELDS[opcode]:
        raw = (word >> f.lsb) & ((1 << f.width) - 1)
        used |= ((1 << f.width) - 1) << f.lsb
        if f.signed and raw >> (f.width - 1):
            raw -= 1 << f.width
        values[f.name] = raw
    if word & ~used:
        raise UserError(f"command {blob.hex()}: bits set outside the fields of {opcode.name} "
                        f"(mask {word & ~used:#x})")
    cls = _CLASSES[opcode]
    names = {f.name for f in fields(cls)}
    if values["layer_end"] and cls is not Store:
        raise UserError(f"command {blob.hex()}: layer_end is set on {opcode.name} (STORE only)")
    kwargs = {k: v for k, v in values.items() if k in names}
    kwargs["waits"] = {Token(i) for i in range(5) if int(values["waits"]) >> i & 1}
    kwargs["signals"] = {Token(i) for i in range(5) if int(values["signals"]) >> i & 1}
    for f in fields(cls):
        if f.type in ("bool", bool) and f.name in kwargs:
            kwargs[f.name] = bool(kwargs[f.name])
    return cls(**kwargs)


def encode_program(commands: Sequence[Command]) -> bytes:
    """The commands back to back, 32 bytes each."""
    return b"".join(encode(c) for c in commands)


def decode_program(blob: bytes) -> list[Command]:
    """The inverse of :func:`encode_program`."""
    if len(blob) % COMMAND_BYTES:
        raise UserError(f"a command program is a whole number of {COMMAND_BYTES}-byte commands, got {len(blob)} bytes")
    return [decode(blob[i : i + COMMAND_BYTES]) for i in range(0, len(blob), COMMAND_BYTES)]


# ---------------------------------------------------------------- the configs the RTL implements


#: Store-path families the accelerator's epilogue implements (pooling is its own command).
EPILOGUE_FAMILIES = ("activation", "scale", "requantize", "residual")


def check_config(cfg: AcceleratorConfig) -> None:
    """Raise one :class:`UserError` naming the first setting of ``cfg`` the accelerator does not
    implement (SPEC §0, docs/accelerator.md#configs); return None for a supported config."""
    def no(what: str, fix: str) -> UserError:
        return UserError(f"the accelerator RTL does not implement {what} (config {cfg.name!r}); {fix}")

    if cfg.dataflow != "ws":
        raise no(f"dataflow {cfg.dataflow!r}", 'set dataflow = "ws"')
    if cfg.number_format != "int":
        raise no(f"number_format {cfg.number_format!r}", 'set number_format = "int"')
    if cfg.rows != cfg.cols:
        raise no(f"a {cfg.rows}x{cfg.cols} array (it needs rows == cols)", "make the array square")
    if cfg.rows not in (4, 8, 16, 32):
        raise no(f"{cfg.rows}x{cfg.rows} (the array size is the AXI data width in bytes)",
                 "use 4, 8, 16 or 32 rows and cols")
    if (cfg.input_bits, cfg.weight_bits, cfg.acc_bits) != (8, 8, 32):
        raise no(f"int{cfg.input_bits} x int{cfg.weight_bits} -> int{cfg.acc_bits}",
                 "set input_bits = weight_bits = 8 and acc_bits = 32")
    if not cfg.double_buffer:
        raise no("single-buffered memories", "set double_buffer = true")
    for key in ("shared_buffer", "weight_fifo", "residency"):
        if getattr(cfg, key):
            raise no(f"{key} = true", f"set {key} = false")
    extra = [f for f in cfg.store_path if f not in EPILOGUE_FAMILIES]
    if extra:
        why = "pooling is its own POOL command" if extra[0] == "pool" else "the epilogue has no such step"
        raise no(f"store_path family {extra[0]!r} ({why})",
                 f"set store_path to a subset of {list(EPILOGUE_FAMILIES)}")
    if cfg.conv_reduction != "per_tap":
        raise no(f"conv_reduction {cfg.conv_reduction!r} (the A feeder walks kernel taps)",
                 'set conv_reduction = "per_tap"')
    if cfg.command_rows:
        raise no(f"command_rows = {cfg.command_rows} (its GEMM command streams each fold whole)", "set command_rows = 0")
    g = Geometry.of(cfg)
    for name, words in (("ifmap_kib", g.abuf_words), ("filter_kib", g.wbuf_words)):
        if words > 1 << SRAM_ADDR_BITS:
            raise no(f"{name} of {words} words (addresses are {SRAM_ADDR_BITS} bits)", f"make {name} smaller")
    if g.wbuf_words < PARAM_WORDS + cfg.rows:
        raise no(f"a weight buffer of {g.wbuf_words} words", f"make filter_kib hold at least {PARAM_WORDS + cfg.rows} words")


@dataclass(frozen=True)
class Geometry:
    """The accelerator's sizes, all from the config (docs/accelerator.md#memories).

    >>> from hwsim.core.config import preset
    >>> g = Geometry.of(preset("fpga-edge").replace(residency=False, conv_reduction="per_tap"))
    >>> (g.R, g.abuf_words, g.wbuf_words, g.obuf_words, g.command_words)
    (8, 4096, 4096, 512, 4)
    """

    R: int
    abuf_words: int
    wbuf_words: int
    obuf_words: int
    acc_depth: int
    k_max: int
    command_depth: int

    @classmethod
    def of(cls, cfg: AcceleratorConfig) -> Geometry:
        parts = cfg.buffer_parts
        return cls(R=cfg.rows, abuf_words=cfg.ifmap_part_bytes * parts // cfg.rows,
                   wbuf_words=cfg.filter_part_bytes * parts // cfg.rows, obuf_words=2 * cfg.acc_depth,
                   acc_depth=cfg.acc_depth, k_max=cfg.k_max, command_depth=cfg.command_depth)

    @property
    def bus_bytes(self) -> int:
        """The AXI data width in bytes: one buffer word per beat."""
        return self.R

    @property
    def command_words(self) -> int:
        """Bus words of one command."""
        return COMMAND_BYTES // self.R

    def memory_words(self, target: Target) -> int:
        """Words a LOAD may write into ``target`` (a command bank: ``command_depth`` commands)."""
        if target == Target.ABUF:
            return self.abuf_words
        if target == Target.WBUF:
            return self.wbuf_words
        return self.command_depth * self.command_words


def check(cmd: Command, cfg: AcceleratorConfig) -> None:
    """Raise a :class:`UserError` if ``cmd`` does not fit ``cfg``'s accelerator: buffer ranges,
    tile limits, word-aligned DRAM addresses. (Token pairing is the program's: the replay model
    reports a wait that no signal ever satisfies.)"""
    g = Geometry.of(cfg)
    name = type(cmd).__name__

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise UserError(f"{name}: {what} ({cmd})")

    def span(base: int, words: int, size: int, memory: str) -> None:
        need(base + words <= size, f"words {base}..{base + words - 1} are past the end of {memory} ({size} words)")

    if isinstance(cmd, (Load, Store)):
        need(cmd.dram_addr % g.R == 0 and cmd.dram_stride % g.R == 0,
             f"DRAM address and stride must be multiples of the {g.R}-byte word")
        need(cmd.rows >= 1 and cmd.row_words >= 1, "rows and row_words must be at least 1")
        need(cmd.dram_addr + (cmd.rows - 1) * cmd.dram_stride + cmd.row_words * g.R <= 1 << 32,
             "the transfer runs past the 4 GiB address space")
    if isinstance(cmd, Load):
        if cmd.target.engine is None:
            span(cmd.sram_addr, cmd.sram_end - cmd.sram_addr, g.memory_words(cmd.target), cmd.target.name.lower())
        else:
            need(cmd.sram_addr in (0, 1), "a command bank load names bank 0 or 1 in sram_addr")
            need(cmd.sram_stride in (0, cmd.row_words), "a command bank load writes its rows packed")
            need(cmd.words % g.command_words == 0, f"a command bank load moves whole commands ({g.command_words} words each)")
            span(0, cmd.words, g.memory_words(cmd.target), f"a {g.command_depth}-command bank")
    elif isinstance(cmd, Store):
        span(cmd.sram_addr, cmd.sram_end - cmd.sram_addr, g.obuf_words, "obuf")
    elif isinstance(cmd, Gemm):
        need(cmd.m <= g.acc_depth, f"m must be at most acc_depth = {g.acc_depth}")
        need(cmd.k <= g.k_max, f"k must be at most k_max = {g.k_max}")
        need(cmd.n <= g.R, f"n must be at most {g.R}")
        span(cmd.w_addr, cmd.k, g.wbuf_words, "wbuf")
        if cmd.emit:
            span(cmd.p_addr, PARAM_WORDS, g.wbuf_words, "wbuf")
            span(cmd.o_addr, cmd.m, g.obuf_words, "obuf")
            span(cmd.r_addr, cmd.m, g.abuf_words, "abuf")
        need(cmd.a_addr < g.abuf_words, f"a_addr must be inside abuf ({g.abuf_words} words)")
    elif isinstance(cmd, Pool):
        need(cmd.m <= g.obuf_words, f"m must be at most the obuf's {g.obuf_words} words")
        span(cmd.o_addr, cmd.m, g.obuf_words, "obuf")
        need(cmd.a_addr < g.abuf_words, f"a_addr must be inside abuf ({g.abuf_words} words)")
    elif isinstance(cmd, Config):
        need(cmd.chunk_stride < g.abuf_words or cmd.chunks == 1, "chunk_stride must be inside abuf")


# ---------------------------------------------------------------- timing


@dataclass(frozen=True)
class MemoryTiming:
    """The DRAM the accelerator is measured against (the bench's ``TimedAxiRam``, the replay model):
    per direction a request-to-data latency in cycles and an interval per bus beat, exact.

    ``latency``: ``cfg.dram_latency_cycles``, at least 2 (the fastest the bench's AXI memory
    answers). ``beat_interval``: bus bytes / ``cfg.dram_bytes_per_cycle_exact``, at least 1 (the bus
    moves a beat a cycle), so the bandwidth is capped at the bus width. Reads and writes each have
    this bandwidth (per-direction DRAM channels).

    >>> from hwsim.core.config import AcceleratorConfig
    >>> t = MemoryTiming.of(AcceleratorConfig(rows=8, cols=8, dram_gbps=1.6, clock_mhz=500.0, dram_latency_ns=50))
    >>> (t.read_latency, t.beat_interval)
    (25, Fraction(5, 2))
    """

    read_latency: int
    write_latency: int
    beat_interval: Fraction

    @classmethod
    def of(cls, cfg: AcceleratorConfig) -> MemoryTiming:
        latency = max(2, cfg.dram_latency_cycles)
        q = max(Fraction(1), Fraction(cfg.rows) / cfg.dram_bytes_per_cycle_exact)
        return cls(read_latency=latency, write_latency=latency, beat_interval=q)


@dataclass(frozen=True)
class Timing:
    """The RTL's fixed cycle costs, stated once (docs/accelerator.md#timing has the diagrams;
    the replay model, ``hwsim.replay``, uses exactly these; ``tests/rtl/test_accelerator.py`` holds
    the RTL's counters equal to the replay's, and unequal with any one constant one cycle off).

    Cycle t is the clock period ending with rising edge t; cycle 0 is the cycle after START was
    written. An engine *starts* a command in the cycle it hands it to its unit (and takes its wait
    tokens); the command is *done* in the cycle its unit's done pulse is high (its signals and the
    bank it filled are visible from the next cycle).

    * ``restart``: a command starts at the earliest ``restart`` cycles after the done cycle of the
      one before it on the same engine (in the same bank or, after a ``last`` one, the other).
    * ``bank_fetch``: the first command of a bank starts at the earliest ``bank_fetch`` cycles
      after the done cycle of the LOAD that filled it (boot included).
    * ``token``: a wait is satisfied at the earliest ``token`` cycles after its signal's done cycle.
    * ``boot``: the boot load of the load engine's bank 0 is accepted by the DMA in cycle ``boot``.
    * DMA: a LOAD or STORE is accepted in its start cycle; its first address request goes out
      ``dma_issue`` cycles later; a write burst's first W beat ``write_data`` cycles after its AW;
      ``done`` ``dma_done`` cycles after the last R beat or B (the AXI model: ``hwsim.replay``).
    * GEMM: ``gemm_prologue`` + ``tile_cycles`` + ``gemm_drain`` when it emits (the epilogue).
    * POOL: ``pool_prologue`` + m * kh * kw + ``pool_drain``.
    * CONFIG: ``config``. END: the engine stops in the cycle it would start it; CYCLES is the last
      END's cycle + ``end``.
    * ``max_burst`` (a method: it depends on the bus width), ``reads_outstanding``,
      ``writes_outstanding``: the DMA's bursts.
    """

    restart: int = 1
    bank_fetch: int = 2
    token: int = 1
    boot: int = 0
    dma_issue: int = 1
    write_data: int = 2
    dma_done: int = 1
    gemm_prologue: int = 2
    gemm_drain: int = 3
    pool_prologue: int = 1
    pool_drain: int = 3
    config: int = 1
    end: int = 2
    reads_outstanding: int = 4
    writes_outstanding: int = 4

    def max_burst(self, geometry: Geometry) -> int:
        """Beats of the longest burst: AXI4's 256, and never more than 4 KiB."""
        return min(256, 4096 // geometry.bus_bytes)


#: The accelerator's timing.
TIMING = Timing()


# ---------------------------------------------------------------- the host interface


class Reg(enum.IntEnum):
    """AXI4-Lite registers (32-bit, byte offsets; docs/accelerator.md#registers)."""

    CTRL = 0x00            #: write 1 to bit 0: START (zeroes the counters); bit 1: CLEAR (DONE and ERROR)
    STATUS = 0x04          #: bit 0 BUSY, bit 1 DONE, bit 2 ERROR
    BOOT_ADDR = 0x08       #: DRAM byte address of the load engine's first bank
    BOOT_COUNT = 0x0C      #: commands in it (1 .. command_depth)
    CYCLES_LO = 0x10       #: cycles from START to done; reading LO latches HI
    CYCLES_HI = 0x14
    EXEC_BUSY = 0x18       #: cycles the exec engine ran a command
    EXEC_WAIT_LOAD = 0x1C  #: cycles the exec engine waited for an L2E token (the array idle for data)
    DMA_READ_BYTES = 0x20
    DMA_WRITE_BYTES = 0x24
    LAYERS_DONE = 0x28     #: STOREs with layer_end completed
    LOAD_RETIRED = 0x2C    #: commands each engine completed (END included)
    EXEC_RETIRED = 0x30
    STORE_RETIRED = 0x34
    LAST_LAYER_CYCLE = 0x38  #: the CYCLES value at the last layer_end STORE's done cycle
    ERROR_INFO = 0x3C      #: engine (bits 0-1) and command index (bits 8-31) of the first error
    ID = 0x40              #: ID_MAGIC
    SHAPE = 0x44           #: R (bits 0-7), log2 command_depth (bits 8-15)


ID_MAGIC = 0x48574131  # "HWA1"


# ---------------------------------------------------------------- layouts


def activation_offset(n: int, ch: int, y: int, x: int, *, channels: int, height: int, width: int, R: int) -> int:
    """Byte offset of activation (n, ch, y, x) in blocked NCHWc with c = R (SPEC §2): chunks =
    ceil(channels / R) and ``(((n * chunks + ch // R) * height + y) * width + x) * R + ch % R``.

    >>> activation_offset(0, 5, 1, 2, channels=6, height=3, width=4, R=4)   # chunk 1, pixel (1, 2), lane 1
    73
    """
    chunks = -(-channels // R)
    return (((n * chunks + ch // R) * height + y) * width + x) * R + ch % R


def activation_bytes(shape: Sequence[int], R: int) -> int:
    """Bytes of an (N, C, H, W) activation in the blocked layout (padding channels included)."""
    n, c, h, w = shape
    return n * -(-c // R) * h * w * R


def pack_activation(x: np.ndarray, R: int) -> bytes:
    """An int8 (N, C, H, W) array (or (M, K) for a GEMM: H = 1, W = M) in the blocked layout."""
    a = np.asarray(x)
    if a.ndim == 2:
        a = a.T[None, :, None, :]
    n, c, h, w = a.shape
    chunks = -(-c // R)
    padded = np.zeros((n, chunks * R, h, w), dtype=np.int8)
    padded[:, :c] = a
    return padded.reshape(n, chunks, R, h, w).transpose(0, 1, 3, 4, 2).tobytes()


def unpack_activation(blob: bytes, shape: Sequence[int], R: int) -> np.ndarray:
    """The inverse of :func:`pack_activation` for an (N, C, H, W) shape (or (M, K))."""
    gemm = len(shape) == 2
    n, c, h, w = (1, shape[1], 1, shape[0]) if gemm else shape
    chunks = -(-c // R)
    a = np.frombuffer(blob, dtype=np.int8, count=n * chunks * h * w * R).reshape(n, chunks, h, w, R)
    out = a.transpose(0, 1, 4, 2, 3).reshape(n, chunks * R, h, w)[:, :c]
    return out[0, :, 0, :].T.copy() if gemm else out.copy()


def conv_weight_matrix(w: np.ndarray) -> np.ndarray:
    """An (out, in, kh, kw) convolution weight as the K x N matrix of the per-tap order: row
    ``(ky * kw + kx) * in + c`` (tap-major, channels inner), column = output channel."""
    o, i, kh, kw = w.shape
    return np.asarray(w).transpose(2, 3, 1, 0).reshape(kh * kw * i, o)


def param_block(bias: Sequence[int], mult: Sequence[int], rmult: Sequence[int], shift: Sequence[int], R: int) -> bytes:
    """An output chunk's 13 parameter words (R lanes each; fewer values are padded with bias 0,
    mult 0, rmult 0, shift 1): bias int32 at byte 4c, mult int32 at 4R + 4c, rmult int32 at
    8R + 4c, shift uint8 at 12R + c.

    >>> len(param_block([1], [2], [3], [4], R=4)), param_block([1], [2], [3], [4], R=4)[48]
    (52, 4)
    """
    def lanes(values: Sequence[int], fill: int, dtype: str, lo: int, hi: int, what: str) -> bytes:
        v = [int(x) for x in values]
        if len(v) > R:
            raise UserError(f"param_block: {len(v)} {what} values for {R} lanes")
        bad = [x for x in v if not lo <= x <= hi]
        if bad:
            raise UserError(f"param_block: {what} {bad[0]} is outside {lo}..{hi}")
        return np.array(v + [fill] * (R - len(v)), dtype=dtype).tobytes()

    i32 = (-(1 << 31), (1 << 31) - 1)
    return (lanes(bias, 0, "<i4", *i32, "bias") + lanes(mult, 0, "<i4", *i32, "mult")
            + lanes(rmult, 0, "<i4", *i32, "rmult") + lanes(shift, 1, "u1", 1, 62, "shift"))


def unpack_param_block(blob: bytes, R: int) -> dict[str, np.ndarray]:
    """bias, mult, rmult (int64) and shift of a :func:`param_block`."""
    return {"bias": np.frombuffer(blob, "<i4", R, 0).astype(np.int64),
            "mult": np.frombuffer(blob, "<i4", R, 4 * R).astype(np.int64),
            "rmult": np.frombuffer(blob, "<i4", R, 8 * R).astype(np.int64),
            "shift": np.frombuffer(blob, "u1", R, 12 * R).astype(np.int64)}


def weight_block_words(k: int) -> int:
    """Words of one output chunk's block: the parameters, then K weight rows."""
    return PARAM_WORDS + k


def weight_block(w_kn: np.ndarray, chunk: int, R: int, *, bias: Sequence[int], mult: Sequence[int],
                 rmult: Sequence[int], shift: Sequence[int]) -> bytes:
    """Output chunk ``chunk``'s block of a K x N int8 weight matrix: its :func:`param_block`
    (parameters of channels chunk*R .. chunk*R + R - 1), then K rows of R int8 weights (lanes past N
    zero). ``bias`` etc. are that chunk's values (up to R each)."""
    w = np.asarray(w_kn)
    k, n = w.shape
    block = np.zeros((k, R), dtype=np.int8)
    cols = w[:, chunk * R : chunk * R + R]
    block[:, : cols.shape[1]] = cols
    return param_block(bias, mult, rmult, shift, R) + block.tobytes()


def weight_blocks(w_kn: np.ndarray, R: int, *, bias: Sequence[int], mult: Sequence[int],
                  rmult: Sequence[int], shift: Sequence[int]) -> bytes:
    """Every output chunk's :func:`weight_block`, chunk 0 first (per-channel parameters of all N)."""
    n = np.asarray(w_kn).shape[1]
    out = []
    for j in range(-(-n // R)):
        cut = slice(j * R, min(n, j * R + R))
        out.append(weight_block(w_kn, j, R, bias=list(bias)[cut], mult=list(mult)[cut],
                                rmult=list(rmult)[cut], shift=list(shift)[cut]))
    return b"".join(out)

"""The exact event model of the accelerator (``rtl.Accelerator``): replay a command program and get
the RTL's performance counters, cycle for cycle::

    result = replay(cfg, dram_image, boot_addr=0, boot_count=7)
    result.cycles, result.layer_cycles, result.exec_wait_load

The program is read the way the accelerator reads it: the load engine's first bank from
``boot_addr``, every other bank from the DRAM address of the LOAD that fills it. Each engine runs
its commands in order; a command starts at the latest of its engine's readiness (``restart``
cycles after the previous command's done cycle, ``bank_fetch`` after the fill of a new bank) and
its wait tokens (``token`` cycles after the matching signal's done cycle, FIFO pairing), with the
constants of :data:`hwsim.core.isa.TIMING`. Durations: GEMM, POOL and CONFIG from the same
constants and :func:`hwsim.core.timing.tile_cycles`; LOAD and STORE from the AXI model of the DMA
and the DRAM (per-row INCR bursts, the 4 KiB rule, a bounded number of bursts in flight, and
per-direction latency and bandwidth whose virtual clocks carry across the whole program;
docs/accelerator.md#dma).

Cost grows with commands and bursts, not with cycles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

from hwsim.core import isa
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.isa import Command, Config, End, Engine, Gemm, Load, MemoryTiming, Pool, Store, Target, Timing, Token
from hwsim.core.program import Tile
from hwsim.core.timing import tile_cycles

__all__ = ["ReplayResult", "CommandTrace", "replay", "bursts", "Dram"]


@dataclass(frozen=True)
class CommandTrace:
    """One command as the replay saw it: its engine, index in its list, start and done cycles."""

    engine: Engine
    index: int
    command: Command
    ready: int
    start: int
    done: int


@dataclass(frozen=True)
class ReplayResult:
    """The accelerator's counters for one program (names as :class:`hwsim.core.isa.Reg`)."""

    cycles: int
    exec_busy: int
    exec_wait_load: int
    dma_read_bytes: int
    dma_write_bytes: int
    layer_end_cycles: tuple[int, ...]
    retired: dict[Engine, int]
    trace: tuple[CommandTrace, ...] = field(repr=False, default=())

    @property
    def layer_cycles(self) -> tuple[int, ...]:
        """Each layer's cycles: its end cycle minus the previous layer's (the first from cycle 0)."""
        ends = (0,) + self.layer_end_cycles
        return tuple(b - a for a, b in zip(ends, ends[1:]))

    def counters(self) -> dict[str, int]:
        """The counters under their register names (as ``rtl.AccelRun.counters``)."""
        return {"CYCLES": self.cycles, "EXEC_BUSY": self.exec_busy, "EXEC_WAIT_LOAD": self.exec_wait_load,
                "DMA_READ_BYTES": self.dma_read_bytes, "DMA_WRITE_BYTES": self.dma_write_bytes,
                "LAYERS_DONE": len(self.layer_end_cycles),
                "LAST_LAYER_CYCLE": self.layer_end_cycles[-1] if self.layer_end_cycles else 0,
                "LOAD_RETIRED": self.retired[Engine.LOAD], "EXEC_RETIRED": self.retired[Engine.EXEC],
                "STORE_RETIRED": self.retired[Engine.STORE]}


def bursts(addr: int, rows: int, row_words: int, stride: int, W: int, max_burst: int) -> list[int]:
    """Beats of every burst of a transfer, in issue order: each row's words cut greedily into runs of
    ``min(max_burst, words left in the row, words left before the next 4 KiB boundary)``.

    >>> bursts(0x0FF0, 2, 6, 0x100, W=8, max_burst=16)    # row 0 crosses 4 KiB after 2 words
    [2, 4, 6]
    """
    out = []
    for r in range(rows):
        a, left = addr + r * stride, row_words
        while left:
            n = min(max_burst, left, (4096 - a % 4096) // W)
            out.append(n)
            a += n * W
            left -= n
    return out


class Dram:
    """The DRAM's two virtual clocks (reads, writes) and the DMA's issue rules: exact cycles of each
    transfer (docs/accelerator.md#dma, ``rtl._dma``)."""

    def __init__(self, mem: MemoryTiming, timing: Timing, W: int, max_burst: int) -> None:
        if mem.beat_interval < 1:
            raise ValueError("the bus moves at most one beat a cycle: beat_interval must be at least 1")
        self.mem, self.t, self.W, self.max_burst = mem, timing, W, max_burst
        self.F = Fraction(0)
        self.G = Fraction(0)

    def load(self, start: int, addr: int, rows: int, row_words: int, stride: int) -> int:
        """The done cycle of a read transfer accepted in ``start``."""
        N, L, q = self.t.reads_outstanding, self.mem.read_latency, self.mem.beat_interval
        first = start + self.t.dma_issue
        ar: list[int] = []
        last: list[int] = []
        F = self.F
        beat = 0
        for i, n in enumerate(bursts(addr, rows, row_words, stride, self.W, self.max_burst)):
            a = max(first, ar[-1] + 1 if ar else first, last[i - N] + 1 if i >= N else first)
            ar.append(a)
            # Beat j of the burst leaves the DRAM at ceil(max(F, e) + j*q): the clock F passes e at
            # the first beat and a beat interval q >= 1 keeps it ahead (closed form, not a loop).
            F = max(F, Fraction(a + L))
            beat = math.ceil(F + (n - 1) * q)
            F += n * q
            last.append(beat)
        self.F = F
        return last[-1] + self.t.dma_done

    def store(self, start: int, addr: int, rows: int, row_words: int, stride: int) -> int:
        """The done cycle of a write transfer accepted in ``start``."""
        N, L, q = self.t.writes_outstanding, self.mem.write_latency, self.mem.beat_interval
        first = start + self.t.dma_issue
        aw: list[int] = []
        resp: list[int] = []
        G = self.G
        prev = None
        for i, n in enumerate(bursts(addr, rows, row_words, stride, self.W, self.max_burst)):
            a = max(first, aw[-1] + 1 if aw else first, resp[i - N] + 1 if i >= N else first)
            aw.append(a)
            w0 = a + self.t.write_data if prev is None else max(a + self.t.write_data, prev + 1)
            # As for reads: W beat j is taken at ceil(max(G, w0) + j*q), never before it is sent (q >= 1).
            G = max(G, Fraction(w0))
            d = math.ceil(G + (n - 1) * q)
            G += n * q
            prev = w0 + n - 1
            resp.append(d + L)
        self.G = G
        return resp[-1] + self.t.dma_done


class _Engine:
    def __init__(self, kind: Engine, depth: int) -> None:
        self.kind = kind
        self.banks = [[b""] * depth, [b""] * depth]
        self.bank = 0
        self.index = 0          # within the bank
        self.count = 0          # commands run (END excluded)
        self.visits = [0, 0]
        self.ready: int | None = None  # None: waiting for the bank's fill
        self.prev_done: int | None = None
        self.ended: int | None = None
        self.bank_left: list[list[int]] = [[], []]  # the done cycle of each visit's last command


def replay(cfg: AcceleratorConfig, dram: bytes | Callable[[int, int], bytes], *, boot_addr: int, boot_count: int,
           memory: MemoryTiming | None = None, timing: Timing = isa.TIMING,
           tile_model: Callable[[AcceleratorConfig, Tile], int] = tile_cycles) -> ReplayResult:
    """The counters of the program booted from ``boot_addr`` (``boot_count`` commands) in the DRAM
    image ``dram`` (bytes, or ``read(addr, n)``), with DRAM ``memory`` timing (the config's by
    default). A program that deadlocks or runs into a bank that was never filled is a
    :class:`UserError` saying where."""
    isa.check_config(cfg)
    g = isa.Geometry.of(cfg)
    mem = memory or MemoryTiming.of(cfg)
    read = dram if callable(dram) else (lambda a, n: bytes(dram[a : a + n]).ljust(n, b"\0"))
    t = timing
    ram = Dram(mem, t, g.bus_bytes, t.max_burst(g))
    engines = {e: _Engine(e, g.command_depth) for e in Engine}
    fills: dict[tuple[Engine, int], list[tuple[int, int, int, int]]] = {(e, b): [] for e in Engine for b in (0, 1)}
    signals: dict[Token, list[int]] = {tk: [] for tk in Token}
    taken = {tk: 0 for tk in Token}
    trace: list[CommandTrace] = []
    layer_ends: list[int] = []
    busy = wait_load = 0
    read_beats = write_beats = 0

    def fill(e: Engine, bank: int, done: int, start: int, addr: int, n: int) -> None:
        fills[(e, bank)].append((done, start, addr, n))

    # Boot: a read of boot_count commands into the load engine's bank 0, accepted in cycle `boot`.
    if not 1 <= boot_count <= g.command_depth:
        raise UserError(f"boot_count must be from 1 to command_depth = {g.command_depth}, got {boot_count}")
    boot_done = ram.load(t.boot, boot_addr, 1, boot_count * g.command_words, 0)
    read_beats += boot_count * g.command_words
    fill(Engine.LOAD, 0, boot_done, t.boot, boot_addr, boot_count)

    def enter_bank(en: _Engine) -> bool:
        """Make the engine's next bank visit current, if its fill is known; False if not yet."""
        key = (en.kind, en.bank)
        visit = en.visits[en.bank]
        if len(fills[key]) <= visit:
            return False
        done, start, addr, n = fills[key][visit]
        if visit > 0 and en.bank_left[en.bank][visit - 1] >= start:
            raise UserError(f"{en.kind.name.lower()} engine: bank {en.bank} is refilled by a LOAD that starts in "
                            f"cycle {start}, before the engine left it (cycle {en.bank_left[en.bank][visit - 1]})")
        blob = read(addr, n * isa.COMMAND_BYTES)
        for i in range(n):
            en.banks[en.bank][i] = blob[i * isa.COMMAND_BYTES : (i + 1) * isa.COMMAND_BYTES]
        en.visits[en.bank] += 1
        en.index = 0
        ready = done + t.bank_fetch
        en.ready = ready if en.prev_done is None else max(en.prev_done + t.restart, ready)
        return True

    def duration(c: Command, start: int) -> int:
        nonlocal read_beats, write_beats
        if isinstance(c, Load):
            read_beats += c.words
            return ram.load(start, c.dram_addr, c.rows, c.row_words, c.dram_stride)
        if isinstance(c, Store):
            write_beats += c.words
            return ram.store(start, c.dram_addr, c.rows, c.row_words, c.dram_stride)
        if isinstance(c, Config):
            layer[0] = c
            return start + t.config
        if isinstance(c, Gemm):
            tile = Tile(m=c.m, k=c.k, n=c.n, accumulate=c.accumulate, emit=c.emit)
            return start + t.gemm_prologue + tile_model(cfg, tile) + (t.gemm_drain if c.emit else 0)
        if isinstance(c, Pool):
            L = layer[0]
            return start + t.pool_prologue + c.m * L.kh * L.kw + t.pool_drain
        raise AssertionError(c)

    layer = [Config()]
    legal = {Engine.LOAD: (Load,), Engine.EXEC: (Config, Gemm, Pool), Engine.STORE: (Store,)}

    def step(en: _Engine) -> bool:
        """Run the engine's next command if everything it depends on is known."""
        if en.ended is not None:
            return False
        if en.ready is None and not enter_bank(en):
            return False
        blob = en.banks[en.bank][en.index]
        where = f"{en.kind.name.lower()} engine, bank {en.bank} command {en.index}"
        try:
            c = isa.decode(blob) if blob else None
        except UserError as e:
            raise UserError(f"{where}: {e}") from None
        if c is None:
            raise UserError(f"{where}: the bank holds no command there (a LOAD filled fewer)")
        if isinstance(c, End):
            en.ended = en.ready
            return True
        if not isinstance(c, legal[en.kind]):
            raise UserError(f"{where}: {type(c).__name__} is not a {en.kind.name.lower()} engine command")
        isa.check(c, cfg)
        need = []
        for tk in sorted(c.waits):
            k = taken[tk]
            if len(signals[tk]) <= k:
                return False
            need.append(signals[tk][k] + t.token)
        ready = en.ready
        start = max([ready] + need)
        for tk in c.waits:
            taken[tk] += 1
        if en.kind == Engine.EXEC:
            if Token.L2E in c.waits:
                l2e = signals[Token.L2E][taken[Token.L2E] - 1] + t.token
                nonlocal_wait[0] += max(0, min(start, l2e) - ready)
        done = duration(c, start)
        if en.kind == Engine.EXEC:
            nonlocal_busy[0] += done - start
        for tk in c.signals:
            signals[tk].append(done)
        if isinstance(c, Load) and c.target.engine is not None:
            fill(c.target.engine, c.sram_addr, done, start, c.dram_addr, c.words // g.command_words)
        if isinstance(c, Store) and c.layer_end:
            layer_ends.append(done)
        trace.append(CommandTrace(en.kind, en.count, c, ready, start, done))
        en.count += 1
        en.prev_done = done
        if c.last:
            en.bank_left[en.bank].append(done)
            en.bank ^= 1
            en.ready = None
            if not enter_bank(en):
                pass
        else:
            en.index += 1
            if en.index >= g.command_depth:
                raise UserError(f"{where}: the bank's last command has no 'last' flag")
            en.ready = done + t.restart
        return True

    nonlocal_wait = [0]
    nonlocal_busy = [0]
    while not all(en.ended is not None for en in engines.values()):
        progressed = False
        for en in engines.values():
            while step(en):
                progressed = True
        if not progressed:
            stuck = ", ".join(f"{en.kind.name.lower()} at bank {en.bank} command {en.index}"
                              for en in engines.values() if en.ended is None)
            raise UserError(f"the program deadlocks: {stuck} wait for tokens or a bank that never comes")
    busy, wait_load = nonlocal_busy[0], nonlocal_wait[0]
    last_end = max(en.ended for en in engines.values())
    return ReplayResult(
        cycles=last_end + t.end, exec_busy=busy, exec_wait_load=wait_load,
        dma_read_bytes=read_beats * g.bus_bytes, dma_write_bytes=write_beats * g.bus_bytes,
        layer_end_cycles=tuple(layer_ends),
        retired={e: en.count + 1 for e, en in engines.items()}, trace=tuple(trace))

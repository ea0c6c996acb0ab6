"""A functional model of the accelerator's instruction set (hwsim/core/isa.py), independent of the
code generator, for its tests: it boots from a DRAM image, fetches every command from the command
banks that LOADs fill, runs the three engines one whole command at a time in any order their
tokens and bank flags allow, and checks the rules the hardware relies on:

* a wait takes one token of its counter (tokens counted as signalled); no engine may run on into a
  bank that is not valid, and no LOAD may overwrite a bank an engine is still in;
* if no engine can move before all three reach END, the program deadlocks (an error);
* GEMM, POOL, LOAD and STORE compute as their docstrings say, on numpy copies of the memories.

It knows nothing of cycles: the replay model and the RTL are the timing's judges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.core.config import AcceleratorConfig
from hwsim.core.isa import (COMMAND_BYTES, PARAM_WORDS, Config, End, Engine, Gemm, Geometry, Load, Pool, PoolMode,
                            Store, Target, Token, decode, unpack_param_block)
from hwsim.core.requant import Epilogue, requantize, round_shift

WAITER_OF = {Token.L2E: Engine.EXEC, Token.E2L: Engine.LOAD, Token.E2S: Engine.STORE, Token.S2E: Engine.EXEC,
             Token.S2L: Engine.LOAD}


class FunctionalError(AssertionError):
    pass


@dataclass
class _EngineState:
    bank: int = 0
    pc: int = 0
    done: bool = False


class Functional:
    def __init__(self, cfg: AcceleratorConfig, dram: bytes, boot_addr: int, boot_count: int) -> None:
        self.cfg = cfg
        self.g = Geometry.of(cfg)
        R = self.R = cfg.rows
        self.dram = bytearray(dram)
        self.abuf = np.zeros((self.g.abuf_words, R), np.int8)
        self.wbuf = np.zeros((self.g.wbuf_words, R), np.int8)
        self.obuf = np.zeros((self.g.obuf_words, R), np.int8)
        self.acc = np.zeros((self.g.acc_depth, R), np.int64)
        self.config = Config()
        self.tokens = {t: 0 for t in Token}
        self.banks: dict[Engine, list[list | None]] = {e: [None, None] for e in Engine}
        self.state = {e: _EngineState() for e in Engine}
        self.retired = {e: 0 for e in Engine}
        self.layer_ends = 0
        self.banks[Engine.LOAD][0] = self._fetch(boot_addr, boot_count)
        self.dma_read = boot_count * COMMAND_BYTES  # the boot load is a DMA read too
        self.dma_write = 0

    # ------------------------------------------------------------------------------- memories

    def _fetch(self, addr: int, count: int) -> list:
        return [decode(bytes(self.dram[addr + i * COMMAND_BYTES: addr + (i + 1) * COMMAND_BYTES])) for i in range(count)]

    def _words(self, addr: int, words: int) -> np.ndarray:
        R = self.R
        return np.frombuffer(bytes(self.dram[addr: addr + words * R]), np.int8).reshape(words, R)

    # --------------------------------------------------------------------------------- engines

    def run(self, limit: int = 10_000_000) -> None:
        steps = 0
        while not all(s.done for s in self.state.values()):
            moved = False
            for engine in Engine:
                while self._step(engine):
                    moved = True
                    steps += 1
                    if steps > limit:
                        raise FunctionalError("too many steps")
            if not moved:
                where = {e.name: (s.bank, s.pc, s.done) for e, s in self.state.items()}
                raise FunctionalError(f"deadlock: {where}, tokens {dict(self.tokens)}")

    def _step(self, engine: Engine) -> bool:
        st = self.state[engine]
        if st.done:
            return False
        bank = self.banks[engine][st.bank]
        if bank is None:
            return False
        if st.pc >= len(bank):
            raise FunctionalError(f"{engine.name} ran past the end of bank {st.bank} (no last flag)")
        cmd = bank[st.pc]
        if any(self.tokens[t] <= 0 for t in cmd.waits):
            return False
        for t in cmd.waits:
            if WAITER_OF[t] != engine:
                raise FunctionalError(f"{engine.name} waits on {t.name}")
            self.tokens[t] -= 1
        self._execute(engine, cmd)
        for t in cmd.signals:
            self.tokens[t] += 1
        self.retired[engine] += 1
        if isinstance(cmd, End):
            st.done = True
            return True
        if cmd.last:
            self.banks[engine][st.bank] = None  # left: invalid
            st.bank ^= 1
            st.pc = 0
        else:
            st.pc += 1
        return True

    def _execute(self, engine: Engine, cmd) -> None:
        R = self.R
        if isinstance(cmd, End):
            return
        if isinstance(cmd, Load):
            if cmd.target.engine is not None:
                target = cmd.target.engine
                if self.banks[target][cmd.sram_addr] is not None:  # valid: not yet left by its engine
                    raise FunctionalError(f"a LOAD overwrites bank {cmd.sram_addr} of {target.name} before the engine left it")
                count = cmd.words * R // COMMAND_BYTES
                self.banks[target][cmd.sram_addr] = self._fetch(cmd.dram_addr, count)
                self.dma_read += cmd.words * R
                return
            mem = self.abuf if cmd.target == Target.ABUF else self.wbuf
            for r in range(cmd.rows):
                at = cmd.sram_addr + r * cmd.sram_pitch
                mem[at: at + cmd.row_words] = self._words(cmd.dram_addr + r * cmd.dram_stride, cmd.row_words)
            self.dma_read += cmd.words * R
            return
        if isinstance(cmd, Store):
            for r in range(cmd.rows):
                at = cmd.sram_addr + r * cmd.sram_pitch
                blob = self.obuf[at: at + cmd.row_words].tobytes()
                a = cmd.dram_addr + r * cmd.dram_stride
                self.dram[a: a + len(blob)] = blob
            self.dma_write += cmd.words * R
            if cmd.layer_end:
                self.layer_ends += 1
            return
        if isinstance(cmd, Config):
            self.config = cmd
            return
        if isinstance(cmd, Gemm):
            self._gemm(cmd)
            return
        if isinstance(cmd, Pool):
            self._pool(cmd)
            return
        raise FunctionalError(f"unknown command {cmd}")

    def _pixels(self, m: int, oy0: int, ox0: int) -> list[tuple[int, int]]:
        out, oy, ox = [], oy0, ox0
        for _ in range(m):
            out.append((oy, ox))
            ox += 1
            if ox == self.config.out_w:
                ox, oy = 0, oy + 1
        return out

    def _gemm(self, cmd: Gemm) -> None:
        c, R = self.config, self.R
        pixels = self._pixels(cmd.m, cmd.oy0, cmd.ox0)
        acc = np.zeros((cmd.m, R), np.int64)
        ky, kx, ch = cmd.ky0, cmd.kx0, cmd.chunk0
        folds = -(-cmd.k // R)
        for f in range(folds):
            kf = min(R, cmd.k - f * R)
            w = self.wbuf[cmd.w_addr + f * R: cmd.w_addr + f * R + kf].astype(np.int64)  # (kf, R)
            a = np.zeros((cmd.m, R), np.int64)
            for i, (oy, ox) in enumerate(pixels):
                iy = oy * c.stride_y + ky - c.pad_top
                ix = ox * c.stride_x + kx - c.pad_left
                if 0 <= iy < c.in_h and 0 <= ix < c.in_w:
                    word = cmd.a_addr + ch * c.chunk_stride + (iy - cmd.y0) * c.in_w + ix
                    if not 0 <= word < len(self.abuf):
                        raise FunctionalError(f"GEMM reads abuf word {word}: {cmd}")
                    a[i] = self.abuf[word]
            acc += a[:, :kf] @ w
            ch += 1
            if ch == c.chunks:
                ch, kx = 0, kx + 1
                if kx == c.kw:
                    kx, ky = 0, ky + 1
        acc[:, cmd.n:] = 0  # lanes past n: zero weights (the TileController fix)
        if cmd.accumulate:
            acc += self.acc[: cmd.m]
        acc = ((acc + (1 << 31)) % (1 << 32)) - (1 << 31)  # 32-bit accumulators
        self.acc[: cmd.m] = acc
        if not cmd.emit:
            return
        p = unpack_param_block(self.wbuf[cmd.p_addr: cmd.p_addr + PARAM_WORDS].tobytes(), R)
        ep = Epilogue(bias=p["bias"].astype(np.int32), mult=p["mult"].astype(np.int32), rmult=p["rmult"].astype(np.int32),
                      shift=p["shift"].astype(np.uint8), lo=c.lo, hi=c.hi, relu_pre=c.relu_pre, residual=c.residual)
        r = self.abuf[cmd.r_addr: cmd.r_addr + cmd.m] if c.residual else None
        self.obuf[cmd.o_addr: cmd.o_addr + cmd.m] = requantize(acc, ep, r)

    def _pool(self, cmd: Pool) -> None:
        c, R = self.config, self.R
        for i, (oy, ox) in enumerate(self._pixels(cmd.m, cmd.oy0, cmd.ox0)):
            vals = []
            for ky in range(c.kh):
                for kx in range(c.kw):
                    iy = oy * c.stride_y + ky - c.pad_top
                    ix = ox * c.stride_x + kx - c.pad_left
                    if 0 <= iy < c.in_h and 0 <= ix < c.in_w:
                        word = cmd.a_addr + (iy - cmd.y0) * c.in_w + ix
                        if not 0 <= word < len(self.abuf):
                            raise FunctionalError(f"POOL reads abuf word {word}: {cmd}")
                        vals.append(self.abuf[word].astype(np.int64))
            if c.pool_mode == PoolMode.MAX:
                y = np.max(vals, axis=0) if vals else np.full(R, c.lo)
            else:
                total = np.sum(vals, axis=0) if vals else np.zeros(R, np.int64)
                y = round_shift(total * np.int64(c.pool_mult), c.pool_shift)
            self.obuf[cmd.o_addr + i] = np.clip(y, c.lo, c.hi)

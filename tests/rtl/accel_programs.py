"""Hand-written accelerator programs for the tests: lay per-engine command lists out in DRAM (with
the bank LOADs that fill the exec and store engines' banks), and a numpy golden of every command's
semantics that runs them functionally."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwsim.core import golden, isa
from hwsim.core.config import AcceleratorConfig
from hwsim.core.isa import Command, Config, End, Gemm, Load, Pool, Store, Target, Token

CW = isa.COMMAND_BYTES


def test_config(R: int = 4, **changes) -> AcceleratorConfig:
    """A small accelerator: 1 KiB buffers, command banks of 16."""
    base = dict(name="t", rows=R, cols=R, ifmap_kib=1, filter_kib=1, ofmap_kib=1, residency=False,
                conv_reduction="per_tap", store_path=("activation", "scale", "requantize", "residual"),
                command_depth=16, clock_mhz=100.0, dram_gbps=100.0, dram_latency_ns=0.0)
    base.update(changes)
    return AcceleratorConfig(**base)


@dataclass
class Image:
    """A DRAM image being built: data regions and the program."""

    size: int = 1 << 16
    data: bytearray = field(default_factory=lambda: bytearray(1 << 16))

    def put(self, addr: int, blob: bytes) -> int:
        self.data[addr : addr + len(blob)] = blob
        return addr


def layout(cfg: AcceleratorConfig, image: Image, load: list[Command], exec_: list[Command],
           store: list[Command], base: int = 0) -> tuple[int, int, dict[str, list[Command]]]:
    """Put ``exec_`` and ``store`` (one bank each) and the boot list (LOADs of those banks, then
    ``load``) at ``base``; returns (boot_addr, boot_count, lists as the engines see them)."""
    g = isa.Geometry.of(cfg)
    assert len(exec_) <= g.command_depth and len(store) <= g.command_depth
    exec_addr = base + g.command_depth * CW
    store_addr = exec_addr + g.command_depth * CW
    image.put(exec_addr, isa.encode_program(exec_))
    image.put(store_addr, isa.encode_program(store))
    boot = [Load(target=Target.EXEC_CMDS, sram_addr=0, dram_addr=exec_addr, row_words=len(exec_) * g.command_words),
            Load(target=Target.STORE_CMDS, sram_addr=0, dram_addr=store_addr,
                 row_words=len(store) * g.command_words)] + load
    assert len(boot) <= g.command_depth, len(boot)
    image.put(base, isa.encode_program(boot))
    return base, len(boot), {"load": boot, "exec": exec_, "store": store}


class Golden:
    """Each command's semantics on numpy memories (abuf, wbuf, obuf as words of R bytes, DRAM as
    bytes), run in an order the tokens allow (engines in order; a command starts when its tokens
    are there). The result does not depend on the order for a race-free program."""

    def __init__(self, cfg: AcceleratorConfig, dram: bytes) -> None:
        self.cfg = cfg
        self.g = isa.Geometry.of(cfg)
        R = self.g.R
        self.dram = bytearray(dram)
        self.abuf = np.zeros((self.g.abuf_words, R), np.int8)
        self.wbuf = np.zeros((self.g.wbuf_words, R), np.int8)
        self.obuf = np.zeros((self.g.obuf_words, R), np.int8)
        self.acc = np.zeros((self.g.acc_depth, R), np.int64)
        self.layer = Config()

    def run(self, lists: dict[str, list[Command]]) -> bytes:
        pcs = {k: 0 for k in lists}
        tokens = {t: 0 for t in Token}
        while True:
            progressed = False
            for name, cmds in lists.items():
                if pcs[name] >= len(cmds):
                    continue
                c = cmds[pcs[name]]
                if isinstance(c, End):
                    pcs[name] = len(cmds)
                    progressed = True
                    continue
                if any(tokens[t] == 0 for t in c.waits):
                    continue
                for t in c.waits:
                    tokens[t] -= 1
                self.execute(c)
                for t in c.signals:
                    tokens[t] += 1
                pcs[name] += 1
                progressed = True
            if all(pcs[k] >= len(v) for k, v in lists.items()):
                return bytes(self.dram)
            assert progressed, f"deadlock at {pcs} with tokens {tokens}"

    def _rows(self, c) -> list[tuple[int, int]]:
        return [(c.dram_addr + r * c.dram_stride, c.sram_addr + r * c.sram_pitch) for r in range(c.rows)]

    def execute(self, c: Command) -> None:
        R = self.g.R
        if isinstance(c, Load):
            if c.target.engine is not None:
                return  # command banks: the lists are given to the golden directly
            mem = self.abuf if c.target == Target.ABUF else self.wbuf
            for d, s in self._rows(c):
                mem[s : s + c.row_words] = np.frombuffer(bytes(self.dram[d : d + c.row_words * R]), np.int8).reshape(-1, R)
        elif isinstance(c, Store):
            for d, s in self._rows(c):
                self.dram[d : d + c.row_words * R] = self.obuf[s : s + c.row_words].tobytes()
        elif isinstance(c, Config):
            self.layer = c
        elif isinstance(c, Gemm):
            self._gemm(c)
        elif isinstance(c, Pool):
            self._pool(c)

    def _pixels(self, m: int, oy0: int, ox0: int):
        L, oy, ox = self.layer, oy0, ox0
        for _ in range(m):
            yield oy, ox
            ox += 1
            if ox == L.out_w:
                ox, oy = 0, oy + 1

    def _word(self, base: int, y0: int, iy: int, ix: int) -> np.ndarray | None:
        L = self.layer
        if not (0 <= iy < L.in_h and 0 <= ix < L.in_w):
            return None
        return self.abuf[base + (iy - y0) * L.in_w + ix].astype(np.int64)

    def _gemm(self, c: Gemm) -> None:
        L, R = self.layer, self.g.R
        folds = -(-c.k // R)
        a = np.zeros((c.m, folds * R), np.int64)
        ky, kx, ch = c.ky0, c.kx0, c.chunk0
        for f in range(folds):
            base = c.a_addr + ch * L.chunk_stride
            for i, (oy, ox) in enumerate(self._pixels(c.m, c.oy0, c.ox0)):
                w = self._word(base, c.y0, oy * L.stride_y + ky - L.pad_top, ox * L.stride_x + kx - L.pad_left)
                if w is not None:
                    a[i, f * R : f * R + R] = w
            ch += 1
            if ch == L.chunks:
                ch, kx = 0, kx + 1
                if kx == L.kw:
                    kx, ky = 0, ky + 1
        a = a[:, : c.k]
        b = self.wbuf[c.w_addr : c.w_addr + c.k].astype(np.int64)
        b[:, c.n :] = 0
        acc = self.acc[: c.m] if c.accumulate else None
        self.acc[: c.m] = golden.int_gemm(a, b, acc_bits=32, acc=acc)
        if c.emit:
            p = isa.unpack_param_block(self.wbuf[c.p_addr : c.p_addr + isa.PARAM_WORDS].tobytes(), R)
            acc = self.acc[: c.m].copy()
            acc[:, c.n :] = 0
            res = self.abuf[c.r_addr : c.r_addr + c.m].astype(np.int64) if L.residual else None
            y = golden.epilogue(acc, bias=p["bias"], mult=p["mult"], shift=p["shift"], lo=L.lo, hi=L.hi,
                                relu_pre=L.relu_pre, residual=res, rmult=p["rmult"])
            self.obuf[c.o_addr : c.o_addr + c.m] = y.astype(np.int8)

    def _pool(self, c: Pool) -> None:
        L, R = self.layer, self.g.R
        for i, (oy, ox) in enumerate(self._pixels(c.m, c.oy0, c.ox0)):
            vals = []
            for ky in range(L.kh):
                for kx in range(L.kw):
                    w = self._word(c.a_addr, c.y0, oy * L.stride_y + ky - L.pad_top, ox * L.stride_x + kx - L.pad_left)
                    if w is not None:
                        vals.append(w)
            if L.pool_mode == isa.PoolMode.AVG:
                total = np.sum(vals, axis=0) if vals else np.zeros(R, np.int64)
                y = golden.avg_pool_scale(total, mult=L.pool_mult, shift=L.pool_shift, lo=L.lo, hi=L.hi)
            else:
                y = np.clip(np.max(vals, axis=0) if vals else np.full(R, -128), L.lo, L.hi)
            self.obuf[c.o_addr + i] = y.astype(np.int8)

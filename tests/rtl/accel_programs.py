"""Hand-written accelerator programs for the tests: lay per-engine command lists out in DRAM (with
the bank LOADs that fill the exec and store engines' banks), and a numpy golden of every command's
semantics that runs them functionally."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from hwsim.core import golden, isa
from hwsim.core.config import AcceleratorConfig
from hwsim.core.isa import Command, Config, End, Gemm, Load, Pool, Store, Target, Token

CW = isa.COMMAND_BYTES


def small_config(R: int = 4, **changes) -> AcceleratorConfig:
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
                row = bytes(self.dram[d : d + c.row_words * R])
                mem[s : s + c.row_words] = np.frombuffer(row, np.int8).reshape(-1, R)
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


# ---------------------------------------------------------------- the programs


@dataclass(frozen=True)
class Program:
    """A hand-written program laid out in DRAM, and what its output regions must hold."""

    image: Image
    boot_addr: int
    boot_count: int
    lists: dict[str, list[Command]]
    #: DRAM address -> the bytes an independent reference computes there
    expect: dict[int, bytes]
    #: (load index, first and last exec index): a next tile's LOAD and this tile's GEMMs it overlaps
    overlaps: tuple[tuple[int, int, int], ...] = ()


def _params(rng, n: int, R: int, *, rmult: bool) -> dict:
    return {"bias": rng.integers(-3000, 3000, n).tolist(), "mult": rng.integers(1 << 13, 1 << 15, n).tolist(),
            "rmult": (rng.integers(1 << 19, 1 << 21, n) if rmult else np.zeros(n, int)).tolist(),
            "shift": rng.integers(21, 24, n).tolist()}


def network(cfg: AcceleratorConfig, seed: int = 0) -> Program:
    """Three layers, every command and every token: a 3x3 convolution (padding 1, stride 2, C = R + 2
    channels: two input chunks, per-tap K tiles accumulated over the 9 taps, two output chunks the
    second of n = 2 lanes) with a residual add and ReLU; a 2x2 max pool of its output read back from
    DRAM (S2L, and E2L: it reuses the input's abuf words; S2E: it reuses obuf words); a padded 3x3
    stride-2 average pool."""
    R = cfg.rows
    rng = np.random.default_rng(seed)
    C = N = R + 2
    img = Image()
    x = rng.integers(-128, 128, (1, C, 5, 5)).astype(np.int8)
    res = rng.integers(-128, 128, (1, N, 3, 3)).astype(np.int8)
    w = rng.integers(-128, 128, (N, C, 3, 3)).astype(np.int8)
    kn = isa.conv_weight_matrix(w)
    K = kn.shape[0]
    X, RES, WB, Y, P, Q = 0x2000, 0x3000, 0x4000, 0x6000, 0x7000, 0x8000
    img.put(X, isa.pack_activation(x, R))
    img.put(RES, isa.pack_activation(res, R))
    img.put(WB, isa.weight_blocks(kn, R, **_params(rng, N, R, rmult=True)))
    block = isa.weight_block_words(K)
    XA, RA, WA = 0, 60, 0
    T = Token
    load = [
        Load(target=Target.ABUF, sram_addr=XA, dram_addr=X, rows=1, row_words=2 * 25),
        Load(target=Target.ABUF, sram_addr=RA, dram_addr=RES, row_words=2 * 9),
        Load(target=Target.WBUF, sram_addr=WA, dram_addr=WB, row_words=block, signals={T.L2E}),
        Load(target=Target.WBUF, sram_addr=WA + block, dram_addr=WB + block * R, row_words=block, signals={T.L2E}),
        # layer 2 reads layer 1's output back into the input's words
        Load(target=Target.ABUF, sram_addr=XA, dram_addr=Y, row_words=9, waits={T.S2L, T.E2L}),
        Load(target=Target.ABUF, sram_addr=XA + 9, dram_addr=Y + 9 * R, row_words=9, waits={T.S2L}, signals={T.L2E}),
        # layer 3: a fresh region, two rows strided in DRAM
        Load(target=Target.ABUF, sram_addr=XA + 100, dram_addr=P, rows=2, row_words=4, dram_stride=4 * R,
             waits={T.S2L}, signals={T.L2E}),
        End(),
    ]
    ex: list[Command] = [Config(in_h=5, in_w=5, out_w=3, chunks=2, chunk_stride=25, kh=3, kw=3, stride_y=2, stride_x=2,
                                pad_top=1, pad_left=1, lo=0, hi=127, residual=True)]
    for j in range(2):
        for t in range(9):
            waits = {T.L2E} if t == 0 else set()
            signals = ({T.E2S} if t == 8 else set()) | ({T.E2L} if (j, t) == (1, 8) else set())
            ex.append(Gemm(m=9, k=C, n=min(R, N - j * R), a_addr=XA, w_addr=WA + j * block + isa.PARAM_WORDS + t * C,
                           p_addr=WA + j * block, r_addr=RA + 9 * j, o_addr=9 * j, ky0=t // 3, kx0=t % 3,
                           accumulate=t > 0, emit=t == 8, waits=waits, signals=signals))
    ex += [Config(in_h=3, in_w=3, out_w=2, chunks=2, chunk_stride=9, kh=2, kw=2, lo=-128, hi=127),
           Pool(m=4, a_addr=XA, o_addr=0, waits={T.L2E, T.S2E}, signals={T.E2S}),
           Pool(m=4, a_addr=XA + 9, o_addr=9, waits={T.S2E}, signals={T.E2S}),
           Config(in_h=2, in_w=2, out_w=1, chunks=2, chunk_stride=4, kh=3, kw=3, stride_y=2, stride_x=2, pad_top=1,
                  pad_left=1, pool_mode=isa.PoolMode.AVG, pool_mult=7282, pool_shift=16),
           Pool(m=1, a_addr=XA + 100, o_addr=20, waits={T.L2E}, signals={T.E2S}),
           Pool(m=1, a_addr=XA + 104, o_addr=21, signals={T.E2S}),
           End()]
    st = [Store(sram_addr=0, dram_addr=Y, row_words=9, waits={T.E2S}, signals={T.S2L, T.S2E}),
          Store(sram_addr=9, dram_addr=Y + 9 * R, row_words=9, waits={T.E2S}, signals={T.S2L, T.S2E}, layer_end=True),
          Store(sram_addr=0, dram_addr=P, row_words=4, waits={T.E2S}),
          Store(sram_addr=9, dram_addr=P + 4 * R, row_words=4, waits={T.E2S}, signals={T.S2L}, layer_end=True),
          Store(sram_addr=20, dram_addr=Q, row_words=1, waits={T.E2S}),
          Store(sram_addr=21, dram_addr=Q + R, row_words=1, waits={T.E2S}, layer_end=True),
          End()]
    boot, count, lists = layout(cfg, img, load, ex, st)
    return Program(img, boot, count, lists, expect={})


def banked(cfg: AcceleratorConfig, seed: int = 0) -> Program:
    """Bank switching: with command banks of d = command_depth (any d >= 8), the exec and store lists
    visit bank 0, bank 1, then bank 0 again (refilled by LOADs that wait for the engine to leave it:
    E2L, S2L), and the load engine continues in its own bank 1. 2d + 2 GEMMs cycle through 8 obuf
    slots (S2E)."""
    d = cfg.command_depth
    assert d >= 8
    R, g = cfg.rows, isa.Geometry.of(cfg)
    rng = np.random.default_rng(seed)
    img = Image()
    n, pixels = 2 * d + 2, 2 * d + 8
    a = rng.integers(-128, 128, (pixels, R)).astype(np.int8)
    b = rng.integers(-128, 128, (R, R)).astype(np.int8)
    X, WB, OUT, PROG = 0x2000, 0x3000, 0x4000, 0x8000
    img.put(X, isa.pack_activation(a, R))
    img.put(WB, isa.weight_blocks(b, R, **_params(rng, R, R, rmult=False)))
    T = Token
    slot = lambda e, v: PROG + (e * 4 + v) * d * CW  # noqa: E731  DRAM of engine e's bank visit v
    gemms = [Gemm(m=4, k=R, n=R, a_addr=i, w_addr=isa.PARAM_WORDS, o_addr=4 * (i % 8),
                  waits=({T.L2E} if i == 0 else set()) | ({T.S2E} if i >= 8 else set()), signals={T.E2S})
             for i in range(n)]
    stores = [Store(sram_addr=4 * (i % 8), dram_addr=OUT + 4 * R * i, row_words=4, waits={T.E2S}, signals={T.S2E},
                    layer_end=i == n - 1) for i in range(n)]
    exec_banks = [[Config(in_h=1, in_w=pixels, out_w=pixels)] + gemms[: d - 1], gemms[d - 1 : 2 * d - 1],
                  gemms[2 * d - 1 :] + [End()]]
    exec_banks[0][-1] = replace(exec_banks[0][-1], last=True, signals=exec_banks[0][-1].signals | {T.E2L})
    exec_banks[1][-1] = replace(exec_banks[1][-1], last=True)
    store_banks = [stores[:d], stores[d : 2 * d], stores[2 * d :] + [End()]]
    store_banks[0][-1] = replace(store_banks[0][-1], last=True, signals={T.S2E, T.S2L})
    store_banks[1][-1] = replace(store_banks[1][-1], last=True)
    words = lambda k: k * g.command_words  # noqa: E731
    for e, banks in ((1, exec_banks), (2, store_banks)):
        for v, bank in enumerate(banks):
            img.put(slot(e, v), isa.encode_program(bank))
    load_bank1 = [Load(target=Target.EXEC_CMDS, sram_addr=0, dram_addr=slot(1, 2), row_words=words(len(exec_banks[2])),
                       waits={T.E2L}),
                  Load(target=Target.STORE_CMDS, sram_addr=0, dram_addr=slot(2, 2),
                       row_words=words(len(store_banks[2])), waits={T.S2L}),
                  End()]
    img.put(slot(0, 1), isa.encode_program(load_bank1))
    boot = [Load(target=Target.EXEC_CMDS, sram_addr=0, dram_addr=slot(1, 0), row_words=words(d)),
            Load(target=Target.EXEC_CMDS, sram_addr=1, dram_addr=slot(1, 1), row_words=words(d)),
            Load(target=Target.STORE_CMDS, sram_addr=0, dram_addr=slot(2, 0), row_words=words(d)),
            Load(target=Target.STORE_CMDS, sram_addr=1, dram_addr=slot(2, 1), row_words=words(d)),
            Load(target=Target.ABUF, sram_addr=0, dram_addr=X, row_words=pixels),
            Load(target=Target.WBUF, sram_addr=0, dram_addr=WB, row_words=isa.weight_block_words(R), signals={T.L2E}),
            # the load engine's own bank 1, the last command of its bank 0
            Load(target=Target.LOAD_CMDS, sram_addr=1, dram_addr=slot(0, 1), row_words=words(len(load_bank1)),
                 last=True)]
    img.put(PROG, isa.encode_program(boot))
    lists = {"load": boot + load_bank1, "exec": [c for b in exec_banks for c in b],
             "store": [c for b in store_banks for c in b]}
    return Program(img, PROG, len(boot), lists, expect={})


def _requant(rng, n: int, *, residual: bool) -> dict:
    """Per-channel parameters that keep most outputs inside int8 (so a wrong product shows): a
    scale of 2^-12 .. 2^-10 on products of random int8 codes, a residual weight of about 1/4."""
    shift = rng.integers(22, 24, n)
    return {"bias": rng.integers(-3000, 3000, n).tolist(), "mult": rng.integers(1 << 11, 1 << 13, n).tolist(),
            "rmult": (rng.integers(1 << 19, 1 << 20, n) << (shift - 22) if residual else np.zeros(n, int)).tolist(),
            "shift": shift.tolist()}


def _conv_reference(x: np.ndarray, w: np.ndarray, pad: int, stride: int = 1) -> np.ndarray:
    """A convolution of one (C, H, W) image by (O, C, kh, kw) weights, int64, zero padding on every
    side: written from the definition, independent of any tile or address walk."""
    c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((c, h + 2 * pad, wd + 2 * pad), np.int64)
    xp[:, pad : pad + h, pad : pad + wd] = x
    out = np.zeros((o, (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1), np.int64)
    for oy in range(out.shape[1]):
        for ox in range(out.shape[2]):
            window = xp[:, oy * stride : oy * stride + kh, ox * stride : ox * stride + kw]
            out[:, oy, ox] = np.tensordot(w, window, axes=3)
    return out


def tiled(cfg: AcceleratorConfig, seed: int = 0) -> Program:
    """Two layers in double-buffered tiles, the next tile's loads overlapping this tile's compute.

    Layer 1: a 3x3 convolution (padding 1) of a 1 x R x 6 x 4 image to R channels, in three tiles of
    two output rows (m = 8, input windows of 3 or 4 rows with their halo, nine accumulated per-tap
    GEMMs each), epilogue ReLU before a residual add, then a clip to -20 .. 100. Layer 2: a 12 x 6R
    by 6R x (3R + 1) fully connected layer in three tiles of 4 rows, each K split into two
    accumulated GEMMs of 3R (one 2-D LOAD of 6 chunk rows: more bursts than the DMA keeps in
    flight), four output chunks (the last n = 1) stored with one 2-D STORE, ReLU.

    Tile g (0..5 over both layers) uses abuf half g % 2 and obuf slot g % 2: its LOADs wait for the
    E2L of tile g - 2's last GEMM, its first emitting GEMM for the S2E of tile g - 2's STORE. A
    LOAD and the last STORE cross a 4 KiB boundary (one more burst than the DMA keeps in flight)."""
    R = cfg.rows
    g_ = isa.Geometry.of(cfg)
    assert g_.command_depth >= 64 and g_.acc_depth >= 8 and g_.obuf_words >= 32 and g_.abuf_words >= 256
    rng = np.random.default_rng(seed)
    T = Token
    H, W, N2, M2, K2 = 6, 4, 3 * R + 1, 12, 6 * R
    x = rng.integers(-128, 128, (1, R, H, W)).astype(np.int8)
    res = rng.integers(-128, 128, (1, R, H, W)).astype(np.int8)
    w1 = rng.integers(-128, 128, (R, R, 3, 3)).astype(np.int8)
    z = rng.integers(-128, 128, (M2, K2)).astype(np.int8)
    w2 = rng.integers(-128, 128, (K2, N2)).astype(np.int8)
    p1, p2 = _requant(rng, R, residual=True), _requant(rng, N2, residual=False)
    X, RES, W1, W2, Y = 0x1400, 0x1600, 0x1800, 0x2000, 0x4000
    Z = 0x3000 - 3 * M2 * R - 2 * R     # tile 0's chunk-3 row crosses 4 KiB after 2 words
    OUT = 0x5000 - 11 * R               # the last tile's chunk-0 row crosses 4 KiB after 3 words
    img = Image()
    img.put(X, isa.pack_activation(x, R))
    img.put(RES, isa.pack_activation(res, R))
    img.put(W1, isa.weight_blocks(isa.conv_weight_matrix(w1), R, **p1))
    img.put(W2, isa.weight_blocks(w2, R, **p2))
    img.put(Z, isa.pack_activation(z, R))
    b1, b2 = isa.weight_block_words(9 * R), isa.weight_block_words(K2)
    WB2 = 256                            # layer 2's blocks in wbuf, after layer 1's
    half = lambda t: 128 * (t % 2)       # noqa: E731
    slot = lambda t: 16 * (t % 2)        # noqa: E731

    load: list[Command] = [Load(target=Target.WBUF, sram_addr=0, dram_addr=W1, row_words=b1)]
    ex: list[Command] = [Config(in_h=H, in_w=W, out_w=W, kh=3, kw=3, pad_top=1, pad_left=1, lo=-20, hi=100,
                                relu_pre=True, residual=True)]
    st: list[Command] = []
    for t in range(3):
        y0, y1 = max(0, 2 * t - 1), min(H, 2 * t + 3)
        load += [Load(target=Target.ABUF, sram_addr=half(t), dram_addr=X + y0 * W * R, row_words=(y1 - y0) * W,
                      waits={T.E2L} if t >= 2 else set()),
                 Load(target=Target.ABUF, sram_addr=half(t) + 16, dram_addr=RES + 2 * t * W * R, row_words=8,
                      signals={T.L2E})]
        for i in range(9):
            ex.append(Gemm(m=8, k=R, n=R, a_addr=half(t), w_addr=isa.PARAM_WORDS + i * R, p_addr=0,
                           r_addr=half(t) + 16, o_addr=slot(t), y0=y0, oy0=2 * t, ky0=i // 3, kx0=i % 3,
                           accumulate=i > 0, emit=i == 8,
                           waits=({T.L2E} if i == 0 else set()) | ({T.S2E} if i == 8 and t >= 2 else set()),
                           signals={T.E2S, T.E2L} if i == 8 else set()))
        st.append(Store(sram_addr=slot(t), dram_addr=Y + 2 * t * W * R, row_words=8, waits={T.E2S},
                        signals={T.S2E}, layer_end=t == 2))
    ex.append(Config(in_h=1, in_w=4, out_w=4, chunks=6, chunk_stride=4, lo=0, hi=127))
    for u in range(3):
        t = 3 + u
        load.append(Load(target=Target.ABUF, sram_addr=half(t), dram_addr=Z + 4 * u * R, rows=6, row_words=4,
                         dram_stride=M2 * R, waits={T.E2L}, signals={T.L2E} if u else set()))
        if u == 0:  # the weights after the first window, so that it overlaps tile 2
            load.append(Load(target=Target.WBUF, sram_addr=WB2, dram_addr=W2, row_words=4 * b2, signals={T.L2E}))
        for j in range(4):
            for q in range(2):
                last = (j, q) == (3, 1)
                ex.append(Gemm(m=4, k=3 * R, n=min(R, N2 - j * R), a_addr=half(t), chunk0=3 * q,
                               w_addr=WB2 + j * b2 + isa.PARAM_WORDS + q * 3 * R, p_addr=WB2 + j * b2,
                               o_addr=slot(t) + 4 * j, accumulate=q == 1, emit=q == 1,
                               waits={(0, 0): {T.L2E}, (0, 1): {T.S2E}}.get((j, q), set()),
                               signals=({T.E2S} | ({T.E2L} if t <= 3 else set())) if last else set()))
        st.append(Store(sram_addr=slot(t), dram_addr=OUT + 4 * u * R, rows=4, row_words=4, dram_stride=M2 * R,
                        waits={T.E2S}, signals={T.S2E} if t <= 3 else set(), layer_end=u == 2))
    load.append(End())
    ex.append(End())
    st.append(End())
    boot, count, lists = layout(cfg, img, load, ex, st)

    def epilogue(acc, p, **kw):
        return golden.epilogue(acc, bias=p["bias"], mult=p["mult"], rmult=p["rmult"], shift=p["shift"], **kw)

    acc1 = _conv_reference(x[0].astype(np.int64), w1.astype(np.int64), 1).transpose(1, 2, 0)  # (H, W, R)
    y1 = epilogue(acc1, p1, lo=-20, hi=100, relu_pre=True, residual=res[0].transpose(1, 2, 0))
    y2 = epilogue(z.astype(np.int64) @ w2.astype(np.int64), p2, lo=0, hi=127)
    expect = {Y: isa.pack_activation(y1.transpose(2, 0, 1)[None].astype(np.int8), R),
              OUT: isa.pack_activation(y2.astype(np.int8), R)}
    # Tile t's GEMMs (first, last in the exec list) and tile t + 1's window LOAD (in the load list,
    # after the two bank LOADs and W1): the LOAD must run while those GEMMs do.
    gemms = [(1 + 9 * t, 9 + 9 * t) for t in range(3)] + [(29 + 8 * u, 36 + 8 * u) for u in range(3)]
    window_load = [5, 7, 9, 11, 12]
    overlaps = tuple((window_load[t], *gemms[t]) for t in range(5))
    return Program(img, boot, count, lists, expect, overlaps)


def corners(cfg: AcceleratorConfig, seed: int = 0) -> Program:
    """The addressing corners a compiler meets. Layer 1: a 3x3 stride-2 convolution (padding 1) of a
    1 x 2R x 7 x 7 image to R + 1 channels (output chunks of n = R and n = 1), in two m-tiles of 10
    and 6 output pixels (the second starts mid-row, at (2, 2)), each from its own input window
    (rows 0-5 and 3-6: y0 = 3) loaded with a gap between chunks (sram_stride > row_words); K in
    tiles of 5R, 5R, 5R, 3R chunks that cross taps and start on the second chunk of a tap (chunk0 =
    1, kx0 = 2 and 1); both chunks stored by one 2-D STORE from obuf rows 12 words apart. Layer 2:
    a 3x3 stride-2 average pool (padding 1, clamp -100 .. 100) of layer 1's output read back from
    DRAM (S2L) into two windows (rows 0-1, and rows 1-3 with y0 = 1), one POOL starting at ox0 = 1."""
    R = cfg.rows
    g_ = isa.Geometry.of(cfg)
    assert g_.acc_depth >= 10 and g_.obuf_words >= 24 and g_.abuf_words >= 256 and g_.command_depth >= 32
    rng = np.random.default_rng(seed)
    T = Token
    C, H, N, OH = 2 * R, 7, R + 1, 4
    x = rng.integers(-128, 128, (1, C, H, H)).astype(np.int8)
    w = rng.integers(-128, 128, (N, C, 3, 3)).astype(np.int8)
    p = _requant(rng, N, residual=False)
    X, WB, Y, Q = 0x1400, 0x1800, 0x3000, 0x3800
    img = Image()
    img.put(X, isa.pack_activation(x, R))
    img.put(WB, isa.weight_blocks(isa.conv_weight_matrix(w), R, **p))
    K = 9 * C
    blk = isa.weight_block_words(K)
    load: list[Command] = [Load(target=Target.WBUF, sram_addr=0, dram_addr=WB, row_words=2 * blk)]
    ex: list[Command] = [Config(in_h=H, in_w=H, out_w=OH, chunks=2, chunk_stride=48, kh=3, kw=3, stride_y=2,
                                stride_x=2, pad_top=1, pad_left=1, lo=-128, hi=127)]
    st: list[Command] = []
    for t, (p0, m, y0, y1) in enumerate(((0, 10, 0, 6), (10, 6, 3, 7))):
        base = 128 * t
        load.append(Load(target=Target.ABUF, sram_addr=base, dram_addr=X + y0 * H * R, rows=2, row_words=(y1 - y0) * H,
                         dram_stride=H * H * R, sram_stride=48, signals={T.L2E}))
        for j in range(2):
            for q in range(4):
                s0 = 5 * q                  # the K tile's first chunk in (tap, chunk) order
                tap = s0 // 2
                last = (j, q) == (1, 3)
                ex.append(Gemm(m=m, k=min(5, 18 - s0) * R, n=R if j == 0 else 1, accumulate=q > 0, emit=q == 3,
                               a_addr=base, w_addr=j * blk + isa.PARAM_WORDS + s0 * R, p_addr=j * blk, o_addr=12 * j,
                               y0=y0, oy0=p0 // OH, ox0=p0 % OH, chunk0=s0 % 2, ky0=tap // 3, kx0=tap % 3,
                               waits={(0, 0): {T.L2E}, (0, 3): {T.S2E} if t else set()}.get((j, q), set()),
                               signals=({T.E2S} | ({T.E2L} if t == 0 else set())) if last else set()))
        st.append(Store(sram_addr=0, dram_addr=Y + p0 * R, rows=2, row_words=m, dram_stride=OH * OH * R, sram_stride=12,
                        waits={T.E2S}, signals={T.S2E} | ({T.S2L} if t else set()), layer_end=t == 1))
    # layer 2: windows of layer 1's output, chunk j of window w at abuf 8 + 40 w + 16 j
    load += [Load(target=Target.ABUF, sram_addr=8, dram_addr=Y, rows=2, row_words=2 * OH, dram_stride=OH * OH * R,
                  sram_stride=16, waits={T.S2L, T.E2L}),
             Load(target=Target.ABUF, sram_addr=48, dram_addr=Y + OH * R, rows=2, row_words=3 * OH,
                  dram_stride=OH * OH * R, sram_stride=16, signals={T.L2E}), End()]
    ex.append(Config(in_h=OH, in_w=OH, out_w=2, kh=3, kw=3, stride_y=2, stride_x=2, pad_top=1, pad_left=1,
                     lo=-100, hi=100, pool_mode=isa.PoolMode.AVG, pool_mult=7282, pool_shift=16))
    for j in range(2):
        ex += [Pool(m=1, a_addr=8 + 16 * j, o_addr=4 * j, waits={T.L2E, T.S2E} if j == 0 else set()),
               Pool(m=1, a_addr=8 + 16 * j, o_addr=4 * j + 1, ox0=1),
               Pool(m=2, a_addr=48 + 16 * j, o_addr=4 * j + 2, y0=1, oy0=1, signals={T.E2S} if j == 1 else set())]
    st.append(Store(sram_addr=0, dram_addr=Q, rows=2, row_words=4, dram_stride=4 * R, waits={T.E2S}, layer_end=True))
    ex.append(End())
    st.append(End())
    boot, count, lists = layout(cfg, img, load, ex, st)

    acc = _conv_reference(x[0].astype(np.int64), w.astype(np.int64), 1, 2).transpose(1, 2, 0)   # (4, 4, N)
    y = golden.epilogue(acc, bias=p["bias"], mult=p["mult"], rmult=p["rmult"], shift=p["shift"], lo=-128, hi=127)
    padded = np.zeros((OH + 2, OH + 2, N), np.int64)
    padded[1:-1, 1:-1] = y
    sums = np.array([[padded[2 * oy : 2 * oy + 3, 2 * ox : 2 * ox + 3].sum(axis=(0, 1)) for ox in range(2)]
                     for oy in range(2)])
    pooled = golden.avg_pool_scale(sums, mult=7282, shift=16, lo=-100, hi=100)
    expect = {Y: isa.pack_activation(y.transpose(2, 0, 1)[None].astype(np.int8), R),
              Q: isa.pack_activation(pooled.transpose(2, 0, 1)[None].astype(np.int8), R)}
    return Program(img, boot, count, lists, expect)

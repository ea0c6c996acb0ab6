"""Write the tiles Gemmini's MoCA library picks for each convolution into hwsim mapping files
(benchmarks/silicon/moca-<network>-mapping.toml).

The MoCA artifact's networks (Kim et al., HPCA 2023; ucb-bar/gemmini-rocc-tests branch MOCA @ 80b7b9a,
``imagenet/funct_<network>_1.h``) run every convolution with a kernel larger than 1x1, and every one
that pools its results, through ``tiled_conv_A_stride_auto_cid`` (``include/gemmini.h``). That call
chooses its own tiles (``tiling_factor_calculate``): starting from the whole layer it shrinks the
batch, then output rows, output columns, kernel rows and columns, and channels, by its own rules, until
one tile's input and weights fit half the scratchpad (``BANK_NUM * BANK_ROWS / 2`` rows of ``DIM``
bytes) and its results half the accumulator (``ACC_ROWS / 2`` rows), then grows each back while it
still fits. Its loops (``tiled_conv_A_stride_cid``) run output channels, batch, pooled output rows,
pooled output columns, kernel rows, kernel columns and input channels, outermost first, one
``sp_tiled_conv_A_stride`` per iteration, the last tile of each loop what remains; a call that pools
computes ``porows * pool_stride + pool_size - 1`` output rows for its ``porows`` pooled ones, so
neighbouring calls compute the rows their pooling windows share again. Each call's input is loaded
row by row over the whole window span (``LoopConvLdInput`` in ucb-bar/gemmini MOCA @ 3200b4a).

:func:`moca_tiles` is our reimplementation of that choice (the same rules, in the same order);
:func:`mapping_file` writes one entry per such layer of hwsim's model of the network as a ``tiles``
nest with ``window = "span"`` (docs/model.md#pinned-mappings). One difference remains: MoCA's pooled
calls start ``pool_padding`` rows before their pooled tile (clipped at the edge), hwsim's steps at row
0, so with a padded pool (ResNet-50's conv1) the first and last calls differ by that row; the number of
calls and of rows computed per full call are MoCA's.

The 1x1 convolutions of stride 1 and the FC layers go through ``tiled_matmul_nn_auto_cid``
(``include/gemmini_nn.h``), whose tiles ``tiling_factor_matmul_calculate_auto`` picks: in blocks of
``DIM`` rows and columns, ``tile_I`` and ``tile_J`` start at ``sqrt(ACC_ROWS / 2 / DIM)`` (5) and
``tile_K`` at the half-partition's blocks over that (25), each clipped to the layer, then ``tile_J``,
``tile_I`` and ``tile_K`` grow by one block in turn while A's and B's blocks fit half the scratchpad and
C's half the accumulator. ``tiled_matmul_outer`` loops I, J and K, outermost first, one
``gemmini_loop_ws`` per iteration (its J loop snakes, which changes nothing without reuse between
calls). :func:`moca_matmul_tiles` reimplements that; the file gives such a layer ``view = "gemm"``, its
pixels the rows of the product as the matmul path runs them. A pool MoCA runs as a separate
``tiled_pool`` call after a layer hwsim fuses it into (AlexNet's three, SqueezeNet's first) gets the
layer a ``store_path`` without ``pool``, so hwsim prices it as a separate pass
(docs/model.md#pinned-mappings)::

    .venv/bin/python benchmarks/moca_mappings.py           # rewrite the files
    .venv/bin/python benchmarks/moca_mappings.py --check   # exit 1 if a file is not what it would write

The files are committed; benchmarks/silicon.py reads them.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import onnx  # noqa: E402

from compiler import lower_model  # noqa: E402
from compiler.zoo import resnet50  # noqa: E402
from compiler.zoo.published import alexnet, googlenet_tv, squeezenet11  # noqa: E402
from hwsim.core.config import load_config  # noqa: E402
from hwsim.core.workload import ConvWindow, Workload  # noqa: E402

OUT = ROOT / "benchmarks" / "silicon"
#: The config the files are for (benchmarks/silicon.py's Gemmini (MoCA)): a layer whose pool MoCA runs
#: apart keeps the rest of its store path.
CONFIG = OUT / "gemmini-moca.toml"
SOURCE = "ucb-bar/gemmini-rocc-tests MOCA @ 80b7b9a"

# gemmini_params.h @ 80b7b9a: DIM 16, BANK_NUM 4, BANK_ROWS 2048, ACC_ROWS 1024, MAX_BYTES 64.
DIM = 16
MAX_BLOCK_LEN = 64 // DIM
MAX_SPAD_ROWS = 4 * 2048 // 2  # halves, for double buffering
MAX_ACC_ROWS = 1024 // 2

#: The networks as benchmarks/silicon.py builds them (MODELS there), batch 1, and the artifact's file
#: of each: imagenet/funct_<stem>_1.h and <stem>_params_1.h.
STEMS = {"alexnet": "alexnet", "squeezenet11": "squeezenet", "resnet50": "resnet", "googlenet": "googlenet"}
NETWORKS: dict[str, Callable[[], onnx.ModelProto]] = {
    "alexnet": lambda: alexnet(batch=1, num_classes=1024),
    "squeezenet11": lambda: squeezenet11(batch=1),
    "resnet50": lambda: resnet50(batch=1, num_classes=1024),
    "googlenet": lambda: googlenet_tv(batch=1),
}

#: The convolutions whose MoCA call pools its results, by hwsim layer name: (pool size, stride,
#: padding, ceil). funct_<network>_1.h @ 80b7b9a passes these pools from <network>_params_1.h; every
#: other call passes none, and a pool after it is a tiled_pool call of its own (AlexNet's three;
#: SqueezeNet's first, whose call the file at 80b7b9a comments out but the log times, "Pool layer 0",
#: 290 k cycles, added into its total; GoogLeNet's other calls pass a 1x1 pool, which changes nothing).
POOLED: dict[str, dict[str, tuple[int, int, int, bool]]] = {
    "alexnet": {},
    # conv_6 / conv_7 and conv_12 / conv_13: the expand layers of the fire modules before each pool.
    "squeezenet11": {f"/features.{i}/{branch}/Conv": (3, 2, 0, False)
                     for i in (4, 7) for branch in ("expand1x1", "expand3x3")},
    "resnet50": {"/conv1/Conv": (3, 2, 1, False)},
    "googlenet": {"/conv1/Conv": (3, 2, 0, True), "/conv3/Conv": (3, 2, 0, True)},
}


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _rows(t: list[int], stride: int, dilation: int, pool_size: int, pool_stride: int) -> tuple[int, int]:
    """(scratchpad rows, accumulator rows) one call of tiles ``t`` needs (tiled_conv_total_spad_rows_A_stride)."""
    batches, porows, pocols, ochs, krows, kcols, kchs = t
    orows, ocols = porows * pool_stride + pool_size - 1, pocols * pool_stride + pool_size - 1
    irows = orows * stride + krows + (dilation - 1) * (krows - 1) - 1
    icols = ocols * stride + kcols + (dilation - 1) * (kcols - 1) - 1
    a = _ceil(kchs, DIM) * batches * irows * icols
    b = _ceil(ochs, DIM) * kcols * krows * kchs
    return a + b, _ceil(ochs, DIM) * batches * orows * ocols


def moca_tiles(batch: int, pooled_dim: int, out_channels: int, kernel: int, in_channels: int, stride: int,
               padding: int, dilation: int = 1, pool_size: int = 1, pool_stride: int = 1) -> list[int]:
    """MoCA's tiles ``[batches, porows, pocols, pochs, krows, kcols, kchs]`` of one convolution
    (``tiling_factor_calculate``, then ``tiled_conv_A_stride_bubble_calculate``'s clamp), for one core.

    >>> moca_tiles(1, 55, 64, 11, 3, 4, 2)   # AlexNet conv1
    [1, 15, 16, 32, 2, 3, 3]
    """
    t = [batch, pooled_dim, pooled_dim, out_channels, kernel, kernel, in_channels]
    most = list(t)
    ich, och, orow, ocol = 6, 3, 1, 2
    block = MAX_BLOCK_LEN * DIM

    def fits(c: list[int]) -> bool:
        spad, acc = _rows(c, stride, dilation, pool_size, pool_stride)
        return spad <= MAX_SPAD_ROWS and acc <= MAX_ACC_ROWS

    while not fits(t):
        best, at = -1, -1
        for i in (0, ocol, 4, 5, orow, och, ich):
            if i == 0 and t[0] > 1:  # the batch first
                best, at = t[0], 0
                break
            if ((pool_stride > 1 and t[ich] >= DIM) or t[ich] == block) and t[och] <= block:
                if i == orow and t[orow] > 1 and (t[ocol] <= DIM or (t[ich] <= block and t[och] == block)):
                    best, at = t[orow], orow
                    break
                if i == ocol and t[i] > DIM:
                    best, at = t[ocol], ocol
                    break
                if i in (4, 5) and t[i] > 1:
                    best, at = t[i], i
                    break
                if t[i] > DIM and pool_stride > 1 and i in (ich, och):
                    best, at = t[i], i
            elif not (i == ocol and t[i] <= DIM and t[orow] > 1) and t[i] > best:
                if not (i in (och, ich) and t[i] <= DIM):
                    best, at = t[i], i
        if at < 0:
            raise ValueError(f"no tile to shrink from {t}")
        if at in (och, ich):
            if best > block or pool_stride > 1:
                # a channel tile shrinks by blocks, never by one channel
                if t[at] > block and t[at] % block:
                    t[at] = t[at] // block * block
                elif t[at] % (2 * DIM) == 0:
                    t[at] //= 2
                else:
                    t[at] = (t[at] - 1) // DIM * DIM
                t[at] = max(t[at], 1)
            elif t[4] > 1 or t[5] > 1:
                if t[4] > 1:
                    t[4] = 1
                else:
                    t[5] -= 1
            elif t[ich] < DIM:  # a first layer
                t[at] //= 2
            elif t[orow] > 4:
                t[orow] //= 2
            elif t[ocol] > DIM:
                t[ocol] = DIM
        elif at == ocol:
            t[at] = t[at] // DIM * DIM if t[at] % DIM else t[at] - DIM // pool_stride
        else:
            t[at] = 1 if at in (4, 5) else t[at] - 1
        if in_channels == 3 and padding == 0 and kernel == 3:
            # a 3-channel unpadded 3x3 layer keeps every output channel and narrows its columns instead
            share = _ceil(out_channels, t[och])
            t[och], t[ocol] = out_channels, t[ocol] // share
    grown, first = True, True
    while grown:
        grown = False
        for i in (5, ich, 4, och, ocol, orow, 0):
            c = list(t)
            if i in (och, ich):
                c[i] *= 2
            elif i == ocol and t[i] % DIM == 0:
                c[i] += DIM
            else:
                c[i] += 2 if first and i in (4, 5) else 1
            if c[i] > most[i] or not fits(c):
                continue
            t[i], grown, first = c[i], True, False
    t[orow] = min(t[orow], pooled_dim)
    return t


def moca_matmul_tiles(dim_i: int, dim_j: int, dim_k: int) -> tuple[int, int, int]:
    """MoCA's tiles ``(tile_I, tile_J, tile_K)``, in blocks of ``DIM``, of one ``dim_i x dim_k`` by
    ``dim_k x dim_j`` product on one core (``tiling_factor_matmul_calculate_auto``).

    >>> moca_matmul_tiles(1, 4096, 9216)   # AlexNet's fc6 at batch 1
    (1, 8, 28)
    >>> moca_matmul_tiles(3025, 16, 64)    # SqueezeNet's first squeeze layer
    (32, 1, 4)
    """
    blocks = [_ceil(d, DIM) for d in (dim_i, dim_j, dim_k)]
    first_ij = math.isqrt(MAX_ACC_ROWS // DIM)
    first_k = MAX_SPAD_ROWS // 2 // DIM // first_ij  # db_max_tile_k: half a partition's blocks
    t = [min(blocks[0], first_ij), min(blocks[1], first_ij), min(blocks[2], first_k)]

    def fits(i: int, j: int, k: int) -> bool:
        return (i * k + k * j) * DIM <= MAX_SPAD_ROWS and i * j * DIM <= MAX_ACC_ROWS

    grown = True
    while grown:
        grown = False
        for at in (1, 0, 2):  # J, then I, then K, each by one block while it fits
            c = list(t)
            c[at] += 1
            if c[at] <= blocks[at] and fits(*c):
                t, grown = c, True
    return t[0], t[1], t[2]


def matmul_tiles_text(m: int, n: int, k: int) -> str:
    """The ``tiles`` nest of a product on MoCA's matmul path: loops I (hwsim's P), J (K), K (C)."""
    ti, tj, tk = moca_matmul_tiles(m, n, k)
    return f"P{min(ti * DIM, m)} K{min(tj * DIM, n)} C{min(tk * DIM, k)}"


def pooled(dim: int, size: int, stride: int, padding: int, ceil: bool) -> int:
    span = dim + 2 * padding - size
    return span // stride + 1 + (1 if ceil and span % stride else 0)


def tiles_text(win: ConvWindow, pool: tuple[int, int, int, bool] | None) -> str:
    """The ``tiles`` nest of one layer: MoCA's loop order, its tiles in hwsim's dimensions (conv
    output rows and columns; a pooled call's overlap as a step)."""
    size, stride, padding, ceil = pool if pool is not None else (1, 1, 0, False)
    out = pooled(win.q, size, stride, padding, ceil)
    b, porows, pocols, pochs, krows, kcols, kchs = moca_tiles(win.n, out, win.k, win.s, win.c, win.stride_h,
                                                              win.pad_top, win.dilation_h, size, stride)

    def spatial(letter: str, pooled_tile: int, dim: int) -> str:
        tile = min(pooled_tile * stride + size - 1, dim)
        step = pooled_tile * stride
        return f"{letter}{tile}" + (f":{step}" if step < tile else "")

    return " ".join([f"K{pochs}", f"N{b}", spatial("Q", porows, win.q), spatial("P", pocols, win.p),
                     f"S{krows}", f"R{kcols}", f"C{kchs}"])


def layer_entry(w: Workload, pools: dict[str, tuple[int, int, int, bool]], store_path: tuple[str, ...]) -> list[str]:
    """The lines of one layer's entry: its tiles on the path MoCA's library runs it through, and a
    store path without ``pool`` when MoCA pools its results in a call of its own; none for a layer
    neither path runs (grouped, or not a GEMM)."""
    g, win = w.gemm, w.window
    if g is None or g.groups > 1 and win is not None:
        return []
    lines = [f'[layers."{w.name}"]']
    if win is None:  # an FC layer
        if g.groups > 1 or g.taps > 1:
            return []
        lines.append(f'tiles = "{matmul_tiles_text(g.m, g.n, g.k)}"')
    elif win.s * win.r == 1 and (win.stride_h, win.stride_w) == (1, 1) and w.name not in pools:
        lines += ['view = "gemm"', f'tiles = "{matmul_tiles_text(g.m, g.n, g.k)}"']
    else:
        lines.append(f'tiles = "{tiles_text(win, pools.get(w.name))}"')
    if w.name not in pools and any(step.family == "pool" for step in w.epilogue):
        families = [f for f in store_path if f != "pool"]
        lines.append("store_path = [" + ", ".join(f'"{f}"' for f in families) + "]")
    return lines + [""]


def mapping_file(network: str) -> str:
    lines = [f"# The tiles Gemmini's MoCA library ({SOURCE}) picks for each layer of imagenet/funct_{STEMS[network]}_1.h,",
             "# outermost first in its loop order: tiled_conv_A_stride_auto_cid (include/gemmini.h) for the convolutions",
             "# with a kernel above 1x1, a stride or a pool, a whole-span input window per call; tiled_matmul_nn_auto_cid",
             "# (include/gemmini_nn.h) for the 1x1 stride-1 convolutions (their pixels the rows of a GEMM) and the FC",
             "# layers; a store path without pool where a tiled_pool call pools the results. Written by",
             "# benchmarks/moca_mappings.py; an hwsim mapping file (docs/model.md#pinned-mappings).",
             'window = "span"', ""]
    pools = POOLED[network]
    store_path = load_config(CONFIG).store_path
    names = set()
    for w in lower_model(NETWORKS[network]()).workloads:
        names.add(w.name)
        lines += layer_entry(w, pools, store_path)
    missing = set(pools) - names
    if missing:
        raise SystemExit(f"{network}: pooled layers {sorted(missing)} are not layers of the model")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file differs")
    args = parser.parse_args(argv)
    stale = []
    for network in NETWORKS:
        path = OUT / f"moca-{network}-mapping.toml"
        text = mapping_file(network)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("stale: " + ", ".join(stale) + " (run benchmarks/moca_mappings.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The tile program the compiler produces for one GEMM, and the stream words that feed it to the RTL."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compiler.schedule import schedule_model
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.program import Placement, Tile
from hwsim.core.workload import GemmShape, Kind, LoweredModel, Workload

from ._params import Params

__all__ = ["gemm_placements", "TileWords", "tile_words", "pack", "unpack", "check_tile"]


def gemm_placements(cfg: AcceleratorConfig, m: int, k: int, n: int) -> list[Placement]:
    """The tiles of an ``m x k @ k x n`` GEMM's tile program on ``cfg``, in issue order."""
    work = Workload(name="gemm", op="MatMul", kind=Kind.GEMM, gemm=GemmShape(m=m, k=k, n=n),
                    input_elems=m * k, weight_elems=k * n, output_elems=m * n)
    (layer,) = schedule_model(LoweredModel("gemm", (work,)), cfg).layers
    return list(layer.placements())


def pack(values, bits: int) -> int:
    """Lanes (lane 0 in the least significant bits) as one ``bits``-per-lane two's complement word."""
    mask = (1 << bits) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * bits)
    return word


def unpack(word: int, bits: int, lanes: int) -> list[int]:
    """The inverse of :func:`pack`: ``lanes`` signed values."""
    mask, sign = (1 << bits) - 1, 1 << (bits - 1)
    out = []
    for i in range(lanes):
        v = (word >> (i * bits)) & mask
        out.append(v - (1 << bits) if v & sign else v)
    return out


def check_tile(p: Params, tile: Tile) -> None:
    """The tile controller's command limits (docs/rtl.md#protocol)."""
    if not (1 <= tile.m <= p.cfg.acc_depth and 1 <= tile.k <= p.cfg.k_max and 1 <= tile.n <= p.cfg.cols):
        raise UserError(
            f"tile m={tile.m} k={tile.k} n={tile.n} does not fit the {p.cfg.module_name} tile controller "
            f"(1 <= m <= {p.cfg.acc_depth}, 1 <= k <= {p.cfg.k_max}, 1 <= n <= {p.cfg.cols})"
        )


@dataclass(frozen=True)
class TileWords:
    """One tile as the words of its streams: a command, k weight rows, folds x m activation rows."""

    cmd: int
    weights: tuple[int, ...]
    acts: tuple[int, ...]


def tile_words(p: Params, tile: Tile, a: np.ndarray, b: np.ndarray, rng: np.random.Generator | None = None) -> TileWords:
    """The stream words for ``tile`` with operand blocks ``a`` (m x k) and ``b`` (k x n).

    Lanes the tile does not use (weight lanes >= n, activation lanes past k in the last fold) are
    don't-care for the hardware; with ``rng`` they are filled with random operands to prove it.
    """
    check_tile(p, tile)
    if a.shape != (tile.m, tile.k) or b.shape != (tile.k, tile.n):
        raise ValueError(f"blocks {a.shape} and {b.shape} do not match tile {tile}")

    def padded(block: np.ndarray, lanes: int, bits: int) -> np.ndarray:
        out = np.zeros((block.shape[0], lanes), dtype=np.int64)
        if rng is not None:
            out[:] = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=out.shape)
        out[:, : block.shape[1]] = block
        return out

    cmd = p.cmd_layout.const({"m": tile.m, "k": tile.k, "n": tile.n, "accumulate": int(tile.accumulate),
                              "emit": int(tile.emit)}).as_value().value
    weights = tuple(pack(row, p.cfg.weight_bits) for row in padded(b, p.cfg.cols, p.cfg.weight_bits))
    acts: list[int] = []
    for k0 in range(0, tile.k, p.cfg.rows):
        acts.extend(pack(row, p.cfg.input_bits) for row in padded(a[:, k0 : k0 + p.cfg.rows], p.cfg.rows, p.cfg.input_bits))
    return TileWords(cmd=cmd, weights=weights, acts=tuple(acts))

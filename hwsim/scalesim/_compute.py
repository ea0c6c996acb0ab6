"""SCALE-Sim 3.0's compute timing: how a GEMM folds onto the array and how many cycles that takes.

SCALE-Sim maps a GEMM ``(m x k) @ (k x n)`` onto an ``R x C`` array as two spatial extents
``Sr x Sc`` and one temporal extent ``T`` (topology_utils.calc_spatio_temporal_params)::

    ws: Sr = k, Sc = n, T = m      (weights pinned, ofmap pixels stream)
    os: Sr = m, Sc = n, T = k      (outputs pinned, the reduction streams)
    is: Sr = k, Sc = m, T = n      (inputs pinned, filters stream)

It cuts ``Sr x Sc`` into ``ceil(Sr / R) * ceil(Sc / C)`` folds, run one after the other, column
fold outermost. Each fold's demand matrices (systolic_compute_{ws,os,is}.py) are as long as::

    ws, is: 2R + C + T - 2 cycles   (R to load the stationary operand, T to stream, C - 1 and
                                     R - 1 of skew to fill and drain the array)
    os:     R + C + T - 2 cycles    (no separate load: operands stream in skewed)

SCALE-Sim then serves one demand line per cycle and reports ``Total Cycles`` = the cycle of the
last line (lines count from 0) plus stalls, so its compute cycles are ``folds * fold - 1``.

>>> fold_map(32, 32, "ws", m=256, k=256, n=128).compute_cycles  # SCALE-Sim's test_mnk_input.csv
11199
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.core.config import AcceleratorConfig
from hwsim.core.workload import Workload

__all__ = ["FoldMap", "compute_cycles", "fold_map", "groups", "layer_fold_map"]


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class FoldMap:
    """One GEMM on one array in SCALE-Sim's terms."""

    rows: int
    cols: int
    dataflow: str
    sr: int
    sc: int
    t: int

    @property
    def row_folds(self) -> int:
        return _ceil(self.sr, self.rows)

    @property
    def col_folds(self) -> int:
        return _ceil(self.sc, self.cols)

    @property
    def all_folds(self) -> int:
        """Row folds times column folds: how many times SCALE-Sim refills the array."""
        return self.row_folds * self.col_folds

    @property
    def fold_cycles(self) -> int:
        """Demand lines per fold: one line per cycle."""
        load = self.rows if self.dataflow in ("ws", "is") else 0
        return load + self.rows + self.cols + self.t - 2

    @property
    def lines(self) -> int:
        """Demand lines of the whole layer."""
        return self.all_folds * self.fold_cycles

    @property
    def compute_cycles(self) -> int:
        return self.lines - 1


def fold_map(rows: int, cols: int, dataflow: str, *, m: int, k: int, n: int) -> FoldMap:
    """SCALE-Sim's ``Sr, Sc, T`` for ``(m x k) @ (k x n)`` on ``rows x cols`` with ``dataflow``."""
    sr, sc, t = {"ws": (k, n, m), "os": (m, n, k), "is": (k, m, n)}[dataflow]
    return FoldMap(rows=rows, cols=cols, dataflow=dataflow, sr=sr, sc=sc, t=t)


def layer_fold_map(cfg: AcceleratorConfig, layer: Workload) -> FoldMap:
    g = layer.gemm
    if g is None:
        raise ValueError(f"layer {layer.name!r} is {layer.kind.value}: SCALE-Sim times GEMM layers only")
    return fold_map(cfg.rows, cfg.cols, cfg.dataflow, m=g.m, k=g.k, n=g.n)


def groups(layer: Workload) -> int:
    return layer.gemm.groups if layer.gemm is not None else 1


def compute_cycles(cfg: AcceleratorConfig, layer: Workload) -> int:
    """SCALE-Sim 3.0's compute cycles ("Total Cycles" minus "Stall Cycles") for a GEMM layer.

    A workload with ``groups`` independent GEMMs counts as that many SCALE-Sim layers (how
    SCALE-Sim runs a depthwise convolution: one layer per channel).
    """
    fm = layer_fold_map(cfg, layer)
    return groups(layer) * fm.compute_cycles

"""What a sweep ranks designs by, and which designs are Pareto-optimal.

Pareto optimality is over three costs, all minimized: latency (s), energy (J) and ASIC area (mm²).
Design ``a`` *dominates* ``b`` when ``a`` is no worse than ``b`` in all three and strictly better in
at least one. A design is Pareto-optimal when no design dominates it; designs with identical costs
do not dominate each other, so ties are all marked or all unmarked together.

    >>> pareto_mask([(1, 1, 1), (2, 2, 2), (1, 1, 1), (0.5, 3, 1)])
    [True, False, True, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["Objective", "OBJECTIVES", "PARETO_AXES", "pareto_mask", "competition_ranks"]

#: The result columns Pareto optimality is judged on, each minimized.
PARETO_AXES = ("latency_s", "energy_j", "area_mm2")


@dataclass(frozen=True)
class Objective:
    """A ranking: the result column, its direction, and how to print a value of it."""

    name: str
    column: str
    minimize: bool
    unit: str
    scale: float
    description: str

    def format(self, value: float) -> str:
        return f"{value * self.scale:.4g} {self.unit}"


OBJECTIVES: dict[str, Objective] = {o.name: o for o in (
    Objective("latency", "latency_s", True, "ms", 1e3, "latency of one inference"),
    Objective("energy", "energy_j", True, "mJ", 1e3, "energy of one inference"),
    Objective("edp", "edp_js", True, "µJ·s", 1e6, "energy-delay product: energy x latency"),
    Objective("area", "area_mm2", True, "mm²", 1.0, "ASIC area at 45 nm: PE array + SRAM"),
    Objective("throughput-per-area", "throughput_per_area", False, "inf/s/mm²", 1.0,
              "inferences per second per mm² of ASIC area"),
)}


def pareto_mask(points: Sequence[Sequence[float]] | np.ndarray) -> list[bool]:
    """For each point (a row of costs, all minimized), whether no other point dominates it.

    Points are visited in lexicographic order, so every dominator of a point comes before it; a
    point is compared only with the front found so far, because whatever dominates it is either on
    that front or dominated by a member of it (dominance is transitive).
    """
    costs = np.asarray(points, dtype=float)
    if costs.size == 0:
        return []
    order = np.lexsort(costs.T[::-1])
    mask = np.zeros(len(costs), dtype=bool)
    front = np.empty((0, costs.shape[1]))
    for i in order:
        p = costs[i]
        dominated = np.any(np.all(front <= p, axis=1) & np.any(front < p, axis=1))
        if not dominated:
            mask[i] = True
            front = np.vstack([front, p])
    return mask.tolist()


def competition_ranks(values: Sequence[float], minimize: bool) -> list[int]:
    """1 for the best value, equal values share a rank, the next rank skips (1, 2, 2, 4).

    >>> competition_ranks([3.0, 1.0, 3.0, 2.0], minimize=True)
    [3, 1, 3, 2]
    """
    keyed = [v if minimize else -v for v in values]
    ordered = sorted(keyed)
    first = {}
    for position, v in enumerate(ordered, start=1):
        first.setdefault(v, position)
    return [first[v] for v in keyed]

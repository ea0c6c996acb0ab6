"""Shared fixtures: one Icarus build per array config per test session (per xdist worker)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from hwsim.core.config import AcceleratorConfig, preset
from rtl import CosimResult, GemmCase, Simulator, check, random_case


def config(rows: int, cols: int, **changes) -> AcceleratorConfig:
    """The gemmini-like preset resized; ``changes`` override any other field."""
    return preset("gemmini-like").replace(rows=rows, cols=cols, **changes)


def case(cfg: AcceleratorConfig, m: int, k: int, n: int, seed: int = 0) -> GemmCase:
    return random_case(cfg, m, k, n, np.random.default_rng(seed))


@pytest.fixture(scope="session")
def simulator(tmp_path_factory) -> Callable[[AcceleratorConfig], Simulator]:
    """``simulator(cfg)``: the design for ``cfg`` compiled once, ready to run programs."""
    built: dict[AcceleratorConfig, Simulator] = {}

    def get(cfg: AcceleratorConfig) -> Simulator:
        if cfg not in built:
            built[cfg] = Simulator(cfg, tmp_path_factory.mktemp(cfg.module_name))
        return built[cfg]

    return get


def check_cases(cfg: AcceleratorConfig, cases: list[GemmCase], observed: dict) -> list[CosimResult]:
    """:func:`rtl.check` for each case of one bench run, whose tiles follow one another."""
    results, first = [], 0
    for c in cases:
        results.append(check(cfg, c, observed, first))
        first += len(c.placements)
    return results

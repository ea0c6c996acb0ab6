from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.sweep.objectives import OBJECTIVES, competition_ranks, pareto_mask


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def test_hand_made_front() -> None:
    # (latency, energy, area)
    designs = {
        "fast-big":      (1.0, 5.0, 9.0),   # optimal: nothing is as fast
        "slow-small":    (9.0, 5.0, 1.0),   # optimal: nothing is as small
        "frugal":        (5.0, 1.0, 5.0),   # optimal: nothing uses as little energy
        "twin-a":        (4.0, 4.0, 4.0),   # optimal, tied with twin-b: neither dominates the other
        "twin-b":        (4.0, 4.0, 4.0),
        "worse-twin":    (4.0, 4.0, 4.5),   # dominated by the twins (equal in two, worse in one)
        "everywhere":    (9.0, 9.0, 9.0),   # dominated by all of the above
        "almost-fast":   (1.0, 5.0, 9.5),   # dominated by fast-big (equal, equal, worse)
        "trade-off":     (2.0, 6.0, 3.0),   # optimal: faster than all but fast-big, which is bigger
    }
    mask = dict(zip(designs, pareto_mask(list(designs.values()))))
    assert mask == {
        "fast-big": True, "slow-small": True, "frugal": True, "twin-a": True, "twin-b": True,
        "worse-twin": False, "everywhere": False, "almost-fast": False, "trade-off": True,
    }


def test_degenerate_inputs() -> None:
    assert pareto_mask([]) == []
    assert pareto_mask([(3.0, 2.0, 1.0)]) == [True]
    assert pareto_mask([(1.0, 1.0, 1.0)] * 3) == [True, True, True]
    # A chain: each point dominates the next.
    assert pareto_mask([(3, 3, 3), (1, 1, 1), (2, 2, 2)]) == [False, True, False]


points = st.lists(st.tuples(*[st.integers(0, 6)] * 3), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(points)
def test_matches_the_definition(pts: list[tuple[int, int, int]]) -> None:
    mask = pareto_mask(pts)
    for i, p in enumerate(pts):
        dominated = any(_dominates(q, p) for q in pts)
        assert mask[i] == (not dominated)
    # Never empty, and every dominated point is dominated by a marked one.
    assert any(mask)
    for i, j in itertools.product(range(len(pts)), repeat=2):
        if _dominates(pts[j], pts[i]):
            assert any(mask[k] and _dominates(pts[k], pts[i]) for k in range(len(pts)))


def test_ranks() -> None:
    assert competition_ranks([5.0, 1.0, 5.0, 3.0], minimize=True) == [3, 1, 3, 2]
    assert competition_ranks([5.0, 1.0, 5.0, 3.0], minimize=False) == [1, 4, 1, 3]
    assert {o.name: (o.column, o.minimize) for o in OBJECTIVES.values()} == {
        "latency": ("latency_s", True), "energy": ("energy_j", True), "edp": ("edp_js", True),
        "area": ("area_mm2", True), "throughput-per-area": ("throughput_per_area", False)}

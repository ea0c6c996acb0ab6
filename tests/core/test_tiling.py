from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.tiling import TileSizes, candidate_sizes, schedule, tile_sizes
from hwsim.core.config import AcceleratorConfig
from hwsim.core.workload import GemmShape, Kind, Workload

configs = st.builds(
    AcceleratorConfig,
    rows=st.integers(1, 48),
    cols=st.integers(1, 48),
    dataflow=st.sampled_from(["ws", "os", "is"]),
    ifmap_kib=st.sampled_from([8.0, 32.0, 128.0]),
    filter_kib=st.sampled_from([8.0, 32.0, 128.0]),
    ofmap_kib=st.sampled_from([16.0, 64.0]),
    double_buffer=st.booleans(),
)
gemms = st.builds(GemmShape, m=st.integers(1, 700), k=st.integers(1, 3000), n=st.integers(1, 300), groups=st.integers(1, 3))


@settings(max_examples=150, deadline=None)
@given(g=gemms, cfg=configs)
def test_tiles_cover_the_gemm_once_and_fit(g: GemmShape, cfg: AcceleratorConfig) -> None:
    s = schedule(Workload("x", "MatMul", Kind.GEMM, gemm=g), cfg)
    placements = list(s.placements())
    assert Counter(p.tile for p in placements) == Counter({r.tile: r.count for r in s.runs})
    assert sum(p.tile.macs for p in placements) == g.macs
    half = 2 if cfg.double_buffer else 1
    bounds = {"ws": (cfg.acc_depth, cfg.cols), "os": (cfg.rows, cfg.cols), "is": (cfg.cols, cfg.acc_depth)}
    max_m, max_n = bounds[cfg.dataflow]
    for p in placements:
        t = p.tile
        assert t.m <= max_m and t.n <= max_n
        # every K tile but the last is whole folds, so folds never straddle tiles
        if not t.emit and cfg.dataflow != "os":
            assert t.k % cfg.rows == 0
        assert t.k * t.n * cfg.weight_bytes <= max(cfg.filter_kib * 1024 / half, cfg.rows * t.n)
        assert t.m * t.k * cfg.input_bytes <= max(cfg.ifmap_kib * 1024 / half, cfg.rows * t.m * cfg.input_bytes)
        # accumulate exactly when the tile does not start K, emit exactly when it ends K
        assert t.accumulate == (p.k0 > 0)
        assert t.emit == (p.k0 + t.k == g.k)


def test_resnet_layer_prefers_a_long_stream_over_a_deep_k() -> None:
    cfg = AcceleratorConfig(rows=16, cols=16, ifmap_kib=128, filter_kib=128, ofmap_kib=64)
    g = GemmShape(m=49, k=4608, n=512)
    # 64 KiB weight halves hold 4096 x 16 (then A tiles hold only 16 rows of 4096, and B is re-read for
    # each of 4 m tiles); 1024-deep K tiles let all 49 rows stream, so B is read from DRAM once.
    assert candidate_sizes(g, cfg) == [TileSizes(16, 4096, 16), TileSizes(32, 2048, 16), TileSizes(49, 1024, 16)]
    s = schedule(Workload("c", "Conv", Kind.GEMM, gemm=g), cfg)
    assert (s.tile_m, s.tile_k, s.tile_n) == (49, 1024, 16)
    assert s.traffic.dram_read_filter == 4608 * 512
    assert sum(r.count for r in s.runs) == 32 * 5


@settings(max_examples=60, deadline=None)
@given(g=gemms, cfg=configs)
def test_chosen_tiling_is_the_cheapest_candidate(g: GemmShape, cfg: AcceleratorConfig) -> None:
    from compiler.tiling import _cost

    w = Workload("x", "MatMul", Kind.GEMM, gemm=g)
    chosen = tile_sizes(g, cfg)
    assert all(_cost(w, g, chosen, cfg) <= _cost(w, g, t, cfg) for t in candidate_sizes(g, cfg))

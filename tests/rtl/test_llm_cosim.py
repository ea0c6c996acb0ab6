"""A decode step's GEMMs on the generated Verilog, as ``hwsim verify`` runs them: one projection
(m = the batch) and one attention GEMM (the grouped query heads against one key/value head's cache),
every output equal to the golden model and every tile's cycles equal to the timing model."""

from __future__ import annotations

from compiler.llm.model import from_spec
from compiler.llm.phases import label
from compiler.llm.spec import LlmSpec
from hwsim.core.timing import tile_cycles

from .conftest import case, config

CFG = config(4, 4)
# 4 query heads share 2 key/value heads of 8: each attention GEMM stacks 2 query heads.
SPEC = LlmSpec("tiny", "llama", layers=1, hidden=16, heads=4, kv_heads=2, head_dim=8, intermediate=24, vocab=40,
               max_positions=64, mlp="gated", activation="silu", qkv_bias=False, out_bias=False, mlp_bias=False)
BATCH, PAST = 3, 5


def test_decode_projection_and_attention_are_cycle_exact_on_the_rtl(simulator) -> None:
    step = from_spec(SPEC).lower(BATCH, 1, PAST, kv_bits=8)
    labels = label(step.lowered, step.kv)
    gemms = {}
    for w, lab in zip(step.lowered.workloads, labels):
        if w.gemm is not None:
            gemms.setdefault(lab.phase, w.gemm)
    projection, scores = gemms["projections"], gemms["attention_scores"]
    assert (projection.m, projection.k, projection.n) == (BATCH, 16, 4 * 8)   # q_proj, m = batch: hidden -> 4 heads of 8
    # Per (sequence, KV head): 2 query heads x head_dim 8 x (past + the new token) keys.
    assert (scores.groups, scores.m, scores.k, scores.n) == (BATCH * 2, 2, 8, PAST + 1)
    cases = [case(CFG, g.m, g.k, g.n, seed) for seed, g in enumerate((projection, scores))]
    results = simulator(CFG).run(cases)
    for c, result in zip(cases, results):
        assert result.mismatches == 0
        assert [t.rtl_cycles for t in result.tiles] == [tile_cycles(CFG, p.tile) for p in c.placements]
        assert result.passed

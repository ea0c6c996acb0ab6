"""A deep spec-built decoder lowered from its three-layer version equals the model lowered whole."""

from __future__ import annotations

from dataclasses import replace

import pytest

from compiler.llm.model import from_spec
from compiler.llm.spec import LlmSpec

SPECS = {
    "llama": LlmSpec("t", "llama", layers=6, hidden=32, heads=4, kv_heads=2, head_dim=8, intermediate=48, vocab=50,
                     max_positions=64, mlp="gated", activation="silu", qkv_bias=False, out_bias=False,
                     mlp_bias=False),
    "gpt2": LlmSpec("t", "gpt2", layers=5, hidden=32, heads=4, kv_heads=4, head_dim=8, intermediate=64, vocab=50,
                    max_positions=64),
    "opt": LlmSpec("t", "opt", layers=4, hidden=32, heads=4, kv_heads=4, head_dim=8, intermediate=64, vocab=50,
                   max_positions=64, activation="relu"),
}


@pytest.mark.parametrize("family", SPECS)
@pytest.mark.parametrize("batch, seq, past", [(2, 5, 0), (1, 1, 7)])
def test_replicated_layers_are_the_whole_models(family: str, batch: int, seq: int, past: int) -> None:
    spec = SPECS[family]
    model = from_spec(spec)
    assert model.template is not None and model.template.layers == 3
    whole = replace(model, template=None)
    fast, slow = model.lower(batch, seq, past, 8), whole.lower(batch, seq, past, 8)
    assert fast.lowered == slow.lowered
    assert fast.kv == slow.kv and len(fast.kv) == 2 * spec.layers

"""The graphs hwsim builds from a config compute what the model computes.

A tiny LLaMA-style model (grouped-query attention, rotary embeddings, RMSNorm, SwiGLU) is built with
random weights, run by onnxruntime, and compared with a NumPy transcription of the model's equations
(the LLaMA paper's pre-norm block, RoFormer's rotary embedding, GQA's shared heads); every family's
decode step with the cache a prefill produced gives the logits a longer prefill gives.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from compiler.llm.build import build
from compiler.llm.spec import LlmSpec

LLAMA = LlmSpec("tiny-llama", "llama", layers=2, hidden=32, heads=4, kv_heads=2, head_dim=8, intermediate=48,
                vocab=50, max_positions=64, mlp="gated", activation="silu", qkv_bias=False, out_bias=False,
                mlp_bias=False)
GPT2 = LlmSpec("tiny-gpt2", "gpt2", layers=2, hidden=32, heads=4, kv_heads=4, head_dim=8, intermediate=64,
               vocab=50, max_positions=64)
OPT = LlmSpec("tiny-opt", "opt", layers=2, hidden=32, heads=4, kv_heads=4, head_dim=8, intermediate=64,
              vocab=50, max_positions=64, activation="relu")


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _feeds(spec: LlmSpec, ids: np.ndarray, past: list[np.ndarray] | None, total: int) -> dict[str, np.ndarray]:
    batch, seq = ids.shape
    start = total - seq
    feeds = {"input_ids": ids.astype(np.int64), "attention_mask": np.ones((batch, total), np.int64)}
    if spec.family != "opt":
        feeds["position_ids"] = np.tile(np.arange(start, total, dtype=np.int64), (batch, 1))
    for i in range(spec.layers):
        for j, kind in enumerate(("key", "value")):
            feeds[f"past_key_values.{i}.{kind}"] = (past[2 * i + j] if past is not None else
                                                    np.zeros((batch, spec.kv_heads, 0, spec.head_dim), np.float32))
    return feeds


def _rms(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * g


def _rotary(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """RoFormer eq. 34 in the half-split layout: pairs (x_i, x_{i+d/2}) rotated by position x 10000^(-2i/d)."""
    d = x.shape[-1]
    theta = positions[:, None] * 10000.0 ** (-np.arange(0, d, 2) / d)     # [S, d/2]
    c, s = np.cos(theta), np.sin(theta)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def _llama_reference(spec: LlmSpec, w: dict[str, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """Logits of a LLaMA decoder, written from the equations (one sequence)."""
    seq, d, group = ids.shape[0], spec.head_dim, spec.heads // spec.kv_heads
    x = w["model.embed_tokens.weight"][ids].astype(np.float64)
    pos = np.arange(seq, dtype=np.float64)
    causal = np.triu(np.full((seq, seq), -np.inf), 1)
    for i in range(spec.layers):
        p = f"model.layers.{i}."
        h = _rms(x, w[p + "input_layernorm.weight"])
        q = (h @ w[p + "self_attn.q_proj.weight"]).reshape(seq, spec.heads, d)
        k = (h @ w[p + "self_attn.k_proj.weight"]).reshape(seq, spec.kv_heads, d)
        v = (h @ w[p + "self_attn.v_proj.weight"]).reshape(seq, spec.kv_heads, d)
        ctx = np.empty((seq, spec.heads, d))
        for head in range(spec.heads):
            kv = head // group   # query heads 0..group-1 share key/value head 0, ...
            qh, kh = _rotary(q[:, head], pos), _rotary(k[:, kv], pos)
            scores = qh @ kh.T / np.sqrt(d) + causal
            probs = np.exp(scores - scores.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            ctx[:, head] = probs @ v[:, kv]
        x = x + ctx.reshape(seq, -1) @ w[p + "self_attn.o_proj.weight"]
        h = _rms(x, w[p + "post_attention_layernorm.weight"])
        gate = h @ w[p + "mlp.gate_proj.weight"]
        x = x + (gate / (1 + np.exp(-gate)) * (h @ w[p + "mlp.up_proj.weight"])) @ w[p + "mlp.down_proj.weight"]
    return _rms(x, w["model.norm.weight"]) @ w["model.embed_tokens.weight"].T


def test_llama_graph_computes_the_llama_equations() -> None:
    model = build(LLAMA, weights=True, seed=3)
    weights = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    ids = np.array([[7, 1, 42, 3, 3, 19]])
    logits = _session(model).run(["logits"], _feeds(LLAMA, ids, None, 6))[0]
    np.testing.assert_allclose(logits[0], _llama_reference(LLAMA, weights, ids[0]), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("spec", [LLAMA, GPT2, OPT], ids=lambda s: s.family)
def test_decode_with_the_prefill_cache_matches_a_longer_prefill(spec: LlmSpec) -> None:
    model = build(spec, weights=True, seed=5)
    sess = _session(model)
    names = ["logits"] + [f"present.{i}.{k}" for i in range(spec.layers) for k in ("key", "value")]
    ids = np.array([[4, 9, 2, 33, 8], [1, 1, 5, 40, 12]])
    full = sess.run(["logits"], _feeds(spec, ids, None, 5))[0]
    out = sess.run(names, _feeds(spec, ids[:, :4], None, 4))
    np.testing.assert_allclose(out[0], full[:, :4], rtol=1e-4, atol=1e-5)
    assert out[1].shape == (2, spec.kv_heads, 4, spec.head_dim)
    step = sess.run(names, _feeds(spec, ids[:, 4:], out[1:], 5))
    np.testing.assert_allclose(step[0][:, 0], full[:, 4], rtol=1e-4, atol=1e-5)
    assert step[1].shape == (2, spec.kv_heads, 5, spec.head_dim)


def test_export_without_past_has_no_cache() -> None:
    model = build(LLAMA, past=False, weights=True)
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask", "position_ids"]
    assert [o.name for o in model.graph.output] == ["logits"]
    with_past = build(LLAMA, weights=True)
    ids = np.array([[3, 8, 1]])
    plain = _session(model).run(["logits"], {k: v for k, v in _feeds(LLAMA, ids, None, 3).items()
                                             if not k.startswith("past")})[0]
    np.testing.assert_allclose(plain, _session(with_past).run(["logits"], _feeds(LLAMA, ids, None, 3))[0], rtol=1e-6)

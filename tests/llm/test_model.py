"""Models as ``hwsim llm`` reads them: a config.json's shape, an export's inputs and KV cache, and
counts worked out by hand for a tiny configuration."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from compiler.llm.build import build
from compiler.llm.model import from_onnx, from_spec
from compiler.llm.spec import LlmSpec, from_hf_config, load_hf_config, named
from hwsim.core.config import preset
from hwsim.core.errors import UserError
from hwsim.llm import LLM_SCHEMA, serve

# hidden 64, 4 query heads sharing 2 key/value heads of 16, MLP 128, vocabulary 100, 2 layers, tied head.
TINY = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "max_position_embeddings": 64,
        "tie_word_embeddings": True}
# Worked by hand. Per layer: q 64x64 = 4096, k and v 64x32 = 2048 each, o 4096 -> 12,288;
# gate, up 64x128 and down 128x64 -> 24,576; two RMSNorm scales of 64 -> 128; 36,992 per layer.
# Embeddings 100x64 = 6,400, final norm 64: 6,400 + 2 x 36,992 + 64 = 80,448 parameters.
TINY_PARAMETERS = 80_448
# Per token: 2 layers x 2 KV heads x 16 x (K and V) = 128 elements = 256 bytes at 16 bits.
TINY_KV_BYTES_PER_TOKEN_16 = 256
# Per generated token: projections 2 x 12,288 + MLP 2 x 24,576 + head 64 x 100 = 80,128 MACs, and
# attention: 2 layers x (scores + values) x 4 heads x 16 x context = 256 per token of context.
TINY_DECODE_MACS = 80_128
TINY_ATTENTION_MACS_PER_CONTEXT = 256


def tiny() -> LlmSpec:
    return from_hf_config(TINY, name="tiny")


def test_tiny_shape_and_counts() -> None:
    spec = tiny()
    assert (spec.layers, spec.hidden, spec.heads, spec.kv_heads, spec.head_dim, spec.group) == (2, 64, 4, 2, 16, 2)
    assert from_spec(spec).parameters == TINY_PARAMETERS
    assert spec.kv_bytes(context=1, batch=1, bits=16) == TINY_KV_BYTES_PER_TOKEN_16
    assert spec.kv_bytes(context=12, batch=3, bits=4) == 12 * 3 * TINY_KV_BYTES_PER_TOKEN_16 / 4


def test_tiny_macs_per_phase_are_the_closed_forms() -> None:
    r = serve(from_spec(tiny()), preset("tpu-v1-like"), prompt=8, generate=4, batch=1, kv_bits=16,
              source="config").to_dict()
    for position in r["positions"]:
        context = position["past"] + 1
        assert position["macs"] == TINY_DECODE_MACS + TINY_ATTENTION_MACS_PER_CONTEXT * context
    contexts = sum(range(9, 13))   # the four steps attend to 9, 10, 11 and 12 tokens
    phases = r["decode"]["phases"]
    assert phases["projections"]["macs"] == 4 * 2 * 12_288
    assert phases["mlp"]["macs"] == 4 * 2 * 24_576
    assert phases["head"]["macs"] == 4 * 6_400
    assert phases["attention_scores"]["macs"] == phases["attention_values"]["macs"] == 2 * 4 * 16 * contexts
    # Prefill of 8 tokens: 8 x 80,128 for the GEMMs with weights, 2 layers x 2 x 4 heads x 16 x 8 x 8 for attention.
    assert r["prefill"]["macs"] == 8 * TINY_DECODE_MACS + 2 * 2 * 4 * 16 * 8 * 8
    assert r["weight_bytes"] == TINY_PARAMETERS  # tpu-v1-like holds weights in 8 bits
    assert r["kv_cache_bytes"] == 12 * TINY_KV_BYTES_PER_TOKEN_16
    # Each step reads its layers' whole cache from DRAM (K and V of every position) once.
    assert [p["kv_read_bytes"] for p in r["positions"]] == [c * TINY_KV_BYTES_PER_TOKEN_16 for c in range(9, 13)]
    assert all(p["kv_write_bytes"] == TINY_KV_BYTES_PER_TOKEN_16 for p in r["positions"])


@pytest.mark.parametrize("config, parameters, kv_per_token", [
    # Hugging Face's gpt2: 124,439,808 parameters (model.num_parameters()); 12 x 12 x 64 x 2 x 2 bytes.
    ({"model_type": "gpt2"}, 124_439_808, 36_864),
    # Llama-3.2-1B's config: 1,235,814,400 parameters (tied head); 16 layers x 8 KV heads x 64 x 2 x 2 bytes.
    ({"model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
      "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": True},
     1_235_814_400, 32_768),
    # LLaMA-7B (transformers' LlamaConfig defaults): 6,738,415,616 parameters; 32 x 32 x 128 x 2 x 2 bytes.
    ({"model_type": "llama"}, 6_738_415_616, 524_288),
    # Mistral-7B-v0.1: 7,241,732,096 parameters; 8 KV heads: 32 x 8 x 128 x 2 x 2 bytes.
    ({"model_type": "mistral", "vocab_size": 32000, "tie_word_embeddings": False, "sliding_window": 4096},
     7_241_732_096, 131_072),
], ids=["gpt2", "llama-1b", "llama-7b", "mistral-7b"])
def test_published_parameter_counts(config: dict, parameters: int, kv_per_token: int) -> None:
    spec = from_hf_config(config)
    assert from_spec(spec).parameters == parameters
    assert spec.kv_bytes(context=1, batch=1, bits=16) == kv_per_token


def test_export_with_past_is_recognised() -> None:
    spec = tiny()
    model = from_onnx(build(spec), "export")
    assert [(k.layer, k.kind, k.heads, k.head_dim) for k in model.kv] == [
        (0, "key", 2, 16), (0, "value", 2, 16), (1, "key", 2, 16), (1, "value", 2, 16)]
    assert model.mask_spans_past and model.decoder
    assert model.kv_elements(context=10, batch=2) == 2 * 10 * TINY_KV_BYTES_PER_TOKEN_16 // 2


@pytest.mark.parametrize("family", ["llama", "gpt2", "opt"])
def test_export_without_past_is_given_a_cache_and_costs_the_same(family: str) -> None:
    config = dict(TINY, model_type=family) if family != "gpt2" else {
        "model_type": "gpt2", "n_embd": 64, "n_head": 4, "n_layer": 2, "vocab_size": 100, "n_positions": 64}
    if family == "opt":
        config.update(ffn_dim=128, num_key_value_heads=4)
    spec = from_hf_config(config, name="t")
    cfg = preset("gemmini-like")
    plain = from_onnx(build(spec, past=False), "plain")
    assert [(k.layer, k.kind, k.heads) for k in plain.kv] == [
        (i, kind, spec.kv_heads) for i in range(2) for kind in ("key", "value")]
    a = serve(plain, cfg, prompt=6, generate=3, batch=2, kv_bits=8, source="onnx").to_dict()
    b = serve(from_onnx(build(spec), "past"), cfg, prompt=6, generate=3, batch=2, kv_bits=8, source="onnx").to_dict()
    for key in ("kv_cache_bytes", "weight_bytes"):
        assert a[key] == b[key]
    for part in ("prefill", "decode"):
        for phase in ("projections", "attention_scores", "attention_values", "mlp", "head"):
            assert a[part]["phases"][phase]["macs"] == b[part]["phases"][phase]["macs"] > 0
    assert [p["kv_read_bytes"] for p in a["positions"]] == [p["kv_read_bytes"] for p in b["positions"]]


def _with_input(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    out.graph.input.append(helper.make_tensor_value_info(name, TensorProto.BOOL, [1]))
    return out


def test_bad_models_are_user_errors(tmp_path: Path) -> None:
    model = build(tiny())
    with pytest.raises(UserError, match="use_cache_branch.*decoder_with_past"):
        from_onnx(_with_input(model, "use_cache_branch"), "merged")
    with pytest.raises(UserError, match="input 'pixel_values' is not one"):
        from_onnx(_with_input(model, "pixel_values"), "odd")
    with pytest.raises(UserError, match="no such file"):
        from_onnx(tmp_path / "absent.onnx")
    (tmp_path / "broken.onnx").write_bytes(b"\x00 not protobuf at all")
    with pytest.raises(UserError, match="not a valid ONNX model"):
        from_onnx(tmp_path / "broken.onnx")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(UserError, match="model_type 't5' is not one hwsim builds"):
        load_hf_config(tmp_path / "config.json")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 768, "num_attention_heads": 6,
                                                      "num_key_value_heads": 4}))
    with pytest.raises(UserError, match="6 attention heads do not split into 4"):
        load_hf_config(tmp_path / "config.json")
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(UserError, match="not valid JSON"):
        load_hf_config(tmp_path / "config.json")


def test_report_follows_its_schema_and_is_deterministic() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    runs = [serve(from_spec(tiny()), preset("fpga-edge"), prompt=5, generate=2, batch=1, kv_bits=4,
                  source="config").to_json() for _ in range(2)]
    assert runs[0] == runs[1]
    jsonschema.validate(json.loads(runs[0]), LLM_SCHEMA)


@pytest.mark.parametrize("name, layers, hidden, heads, kv_heads, head_dim, mlp, mlp_gemms, vocab", [
    ("gpt2", 12, 768, 12, 12, 64, 3072, 2, 50257),
    ("llama-3.2-1b", 16, 2048, 32, 8, 64, 8192, 3, 128256),
])
def test_published_models_macs_per_phase_from_config_and_from_onnx(name: str, layers: int, hidden: int, heads: int,
                                                                    kv_heads: int, head_dim: int, mlp: int,
                                                                    mlp_gemms: int, vocab: int) -> None:
    prompt, generate = 8, 2
    projections = layers * (hidden * (heads + 2 * kv_heads) * head_dim + heads * head_dim * hidden)
    per_phase = {"projections": projections, "mlp": layers * mlp_gemms * hidden * mlp, "head": hidden * vocab}
    contexts = [prompt + 1 + j for j in range(generate)]
    spec = named(name)
    cfg = preset("tpu-v1-like")
    for model in (from_spec(spec), from_onnx(build(spec), name)):
        r = serve(model, cfg, prompt=prompt, generate=generate, batch=1, kv_bits=16, source="config").to_dict()
        for phase, macs in per_phase.items():
            assert r["prefill"]["phases"][phase]["macs"] == prompt * macs, phase
            assert r["decode"]["phases"][phase]["macs"] == generate * macs, phase
        for phase in ("attention_scores", "attention_values"):
            assert r["prefill"]["phases"][phase]["macs"] == layers * heads * head_dim * prompt * prompt
            assert r["decode"]["phases"][phase]["macs"] == layers * heads * head_dim * sum(contexts)


def test_a_config_beyond_every_published_model_is_refused() -> None:
    with pytest.raises(UserError, match="layers 100,000,000 is more than hwsim llm builds"):
        from_hf_config(dict(TINY, num_hidden_layers=100_000_000), name="huge")


def test_an_encoder_has_a_prefill_only_with_its_closed_form_macs() -> None:
    spec = from_hf_config({"model_type": "bert", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
                           "intermediate_size": 128, "vocab_size": 100}, name="tiny-bert")
    r = serve(from_spec(spec), preset("gemmini-like"), prompt=8, generate=5, batch=1, kv_bits=16,
              source="config").to_dict()
    assert (r["generate"], r["positions"], r["kv_cache_bytes"], r["shape"]["layers"]) == (0, [], 0.0, 2)
    phases = r["prefill"]["phases"]
    # Per layer: q, k, v, out 4 x S x H x H; scores and values S x S x H each; MLP 2 x S x H x I; the pooler H x H.
    assert phases["projections"]["macs"] == 2 * 4 * 8 * 64 * 64
    assert phases["attention_scores"]["macs"] == phases["attention_values"]["macs"] == 2 * 8 * 8 * 64
    assert phases["mlp"]["macs"] == 2 * 2 * 8 * 64 * 128
    assert phases["head"]["macs"] == 64 * 64
    assert r["decode"]["macs"] == 0

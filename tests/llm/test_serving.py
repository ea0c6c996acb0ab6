"""Properties every serving report must have, whatever the model and the accelerator."""

from __future__ import annotations

from dataclasses import replace

import pytest

from compiler.llm.model import from_spec
from compiler.llm.spec import LlmSpec
from hwsim.core.config import preset
from hwsim.llm import serve

SMALL = LlmSpec("small", "llama", layers=3, hidden=256, heads=8, kv_heads=2, head_dim=32, intermediate=512,
                vocab=1000, max_positions=4096, mlp="gated", activation="silu", qkv_bias=False, out_bias=False,
                mlp_bias=False, tied_embeddings=True)
GPT = LlmSpec("gpt", "gpt2", layers=2, hidden=128, heads=4, kv_heads=4, head_dim=32, intermediate=512, vocab=500,
              max_positions=4096)


def _serve(spec: LlmSpec, chip: str = "gemmini-like", **kw):
    args = dict(prompt=16, generate=8, batch=1, kv_bits=16)
    args.update(kw)
    return serve(from_spec(spec), preset(chip), source="config", **args).to_dict()


@pytest.mark.parametrize("chip", ["gemmini-like", "tpu-v1-like", "fpga-edge"])
def test_decode_step_is_no_faster_than_streaming_its_weights_and_cache(chip: str) -> None:
    r = _serve(SMALL, chip, prompt=40, generate=12, batch=2)
    cfg = preset(chip)
    assert r["weight_bytes"] > cfg.filter_kib * 1024   # the weights do not fit the weight buffer
    per_token = SMALL.kv_bytes(context=1, batch=2, bits=16)
    for p in r["positions"]:
        floor = (r["weight_bytes"] + per_token * p["context"]) / (cfg.dram_gbps * 1e9)
        assert p["seconds"] >= floor
        assert p["dram_read_bytes"] >= r["weight_bytes"] + per_token * p["context"] - per_token * 2


def test_time_to_first_token_never_decreases_with_the_prompt() -> None:
    ttft = [_serve(SMALL, prompt=p, generate=0)["ttft_s"] for p in (1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 64, 65)]
    assert ttft == sorted(ttft)


def test_prefill_macs_are_linear_plus_attention_quadratic() -> None:
    macs = {p: _serve(GPT, prompt=p, generate=0)["prefill"]["macs"] for p in (1, 2, 3, 10, 37)}
    # Weight GEMMs per token: 2 layers x (qkv 128x384 + proj 128x128 + MLP 2 x 128x512) + head 128x500;
    # attention: 2 layers x (scores + values) x 4 heads x 32 x P x P.
    linear = 2 * (128 * 384 + 128 * 128 + 2 * 128 * 512) + 128 * 500
    assert macs == {p: linear * p + 2 * 2 * 4 * 32 * p * p for p in macs}


@pytest.mark.parametrize("chip", ["gemmini-like", "tpu-v1-like"])
def test_time_per_token_never_decreases_with_the_position(chip: str) -> None:
    r = _serve(GPT, chip, prompt=1, generate=70)
    cycles = [p["cycles"] for p in r["positions"]]
    assert cycles == sorted(cycles) and cycles[-1] > cycles[0]
    assert r["tpot_last_s"] == r["positions"][-1]["seconds"] >= r["tpot_s"]


def test_kv_bytes_follow_the_config_and_the_width() -> None:
    base = _serve(SMALL, prompt=10, generate=5, batch=3, kv_bits=8)
    # 3 layers x 2 KV heads x 32 x 15 tokens x 2 (K, V) x 1 byte x 3 sequences.
    assert base["kv_cache_bytes"] == 3 * 2 * 32 * 15 * 2 * 3
    wide = _serve(SMALL, prompt=10, generate=5, batch=3, kv_bits=16)
    narrow = _serve(SMALL, prompt=10, generate=5, batch=3, kv_bits=4)
    assert wide["kv_cache_bytes"] == 2 * base["kv_cache_bytes"] == 4 * narrow["kv_cache_bytes"]
    reads = [[p["kv_read_bytes"] for p in r["positions"]] for r in (narrow, base, wide)]
    assert reads[2] == [2 * x for x in reads[1]] == [4 * x for x in reads[0]]
    # Fewer key/value heads, a smaller cache: grouped-query attention.
    mha = _serve(replace(SMALL, kv_heads=8), prompt=10, generate=5, batch=3, kv_bits=8)
    mqa = _serve(replace(SMALL, kv_heads=1), prompt=10, generate=5, batch=3, kv_bits=8)
    assert mha["kv_cache_bytes"] == 4 * base["kv_cache_bytes"] == 8 * mqa["kv_cache_bytes"]
    assert mha["decode"]["phases"]["attention_scores"]["macs"] == mqa["decode"]["phases"]["attention_scores"]["macs"]


def test_weight_bits_scale_the_weights() -> None:
    cfg = preset("gemmini-like")
    four = serve(from_spec(SMALL), cfg.replace(weight_bits=4), prompt=4, generate=2, batch=1, kv_bits=16,
                 source="config").to_dict()
    eight = _serve(SMALL, prompt=4, generate=2)
    assert four["weight_bytes"] * 2 == eight["weight_bytes"] == from_spec(SMALL).parameters


def test_sliding_window_caps_the_cache() -> None:
    spec = replace(SMALL, window=8)
    r = _serve(spec, prompt=5, generate=10)
    assert [p["past"] for p in r["positions"]] == [5, 6, 7, 7, 7, 7, 7, 7, 7, 7]
    assert r["kv_cache_bytes"] == 3 * 2 * 32 * 8 * 2 * 2
    assert len({p["cycles"] for p in r["positions"][3:]}) == 1


def test_the_plot_draws_decode_steps_or_a_prefill_alone() -> None:
    decoding = serve(from_spec(GPT), preset("fpga-edge"), prompt=4, generate=3, batch=1, kv_bits=16, source="config")
    prefill_only = serve(from_spec(GPT), preset("fpga-edge"), prompt=4, generate=0, batch=1, kv_bits=16,
                         source="config")
    svg = decoding.plot(fmt="svg").decode()
    assert "decode step by phase" in svg and "time per output token" in svg
    svg = prefill_only.plot(fmt="svg").decode()
    assert "prefill by phase" in svg and "no decode steps" in svg

"""Transformer encoders and decoders as ``torch.onnx.export`` writes Hugging Face models.

Both take a dynamic ``sequence`` axis (``dim_param``) unless ``seq`` is given, reshape heads through
``Shape -> Gather -> Unsqueeze -> Concat -> Reshape`` chains, and add linear biases as a separate
``Add`` after each ``MatMul``.

- :func:`bert`: Gather embeddings (word, position from a sliced buffer, token type from an
  expanded buffer), ``LayerNormalization``, attention with an additive mask built from
  ``attention_mask``, Softmax, Erf-GELU, and a Gemm+Tanh pooler.
- :func:`gpt`: GPT-2: position ids from ``Range``, LayerNorm decomposed into ReduceMean/Sub/Pow/Sqrt
  (opset 13 exports), fused QKV ``MatMul`` then ``Split``, a causal mask sliced from a ``tril``
  buffer and applied with ``Where``, a scale computed through ``Shape -> Cast -> Sqrt``, Tanh-GELU,
  and an LM head tied to the token embedding (``MatMul`` by a ``Transpose`` of it).
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto

from ._builder import Builder, Dim

__all__ = ["bert", "gpt"]


def _linear(b: Builder, x: str, cin: int, cout: int, scope: str) -> str:
    w = b.param(f"{scope}.weight", (cin, cout), std=1.0 / math.sqrt(cin))
    bias = b.param(f"{scope}.bias", (cout,), std=0.02)
    return b.node("Add", [bias, b.node("MatMul", [x, w], scope)], scope)


def _heads(b: Builder, x: str, heads: int, head_dim: int, perm: list[int], scope: str) -> str:
    """[B, S, H] -> [B, heads, S, d] (or any ``perm`` of [B, S, heads, d])."""
    y = b.reshape_dynamic(x, [0, 1], [heads, head_dim], scope)
    return b.node("Transpose", [y], scope, perm=perm)


def _merge_heads(b: Builder, x: str, hidden: int, scope: str) -> str:
    y = b.node("Transpose", [x], scope, perm=[0, 2, 1, 3])
    return b.reshape_dynamic(y, [0, 1], [hidden], scope)


def _layer_norm(b: Builder, x: str, hidden: int, scope: str, eps: float) -> str:
    gamma = b.param(f"{scope}.weight", (hidden,), low=0.8, high=1.2)
    beta = b.param(f"{scope}.bias", (hidden,), std=0.02)
    return b.node("LayerNormalization", [x, gamma, beta], scope, axis=-1, epsilon=eps)


def _decomposed_layer_norm(b: Builder, x: str, hidden: int, scope: str, eps: float) -> str:
    """LayerNorm as opset-13 exports write it: mean, centre, variance, normalize, affine."""
    gamma = b.param(f"{scope}.weight", (hidden,), low=0.8, high=1.2)
    beta = b.param(f"{scope}.bias", (hidden,), std=0.02)
    mean = b.node("ReduceMean", [x], scope, axes=[-1], keepdims=1)
    centred = b.node("Sub", [x, mean], scope)
    var = b.node("ReduceMean", [b.node("Pow", [centred, b.const(np.float32(2.0), "two")], scope)], scope,
                 axes=[-1], keepdims=1)
    std = b.node("Sqrt", [b.node("Add", [var, b.const(np.float32(eps), "eps")], scope)], scope)
    normed = b.node("Div", [centred, std], scope)
    return b.node("Add", [b.node("Mul", [normed, gamma], scope), beta], scope)


def bert(*, layers: int = 12, hidden: int = 768, heads: int = 12, intermediate: int | None = None,
         vocab: int = 30522, max_positions: int = 512, batch: Dim = "batch", seq: Dim = "sequence",
         weights: bool = False, seed: int = 0) -> onnx.ModelProto:
    """BERT-style encoder (BERT-base by default). Inputs ``input_ids`` and ``attention_mask``
    (int64, ``[batch, sequence]``); outputs ``last_hidden_state`` and ``pooler_output``.

    MACs per sequence of length S: ``layers * (4 S H^2 + 2 S^2 H + 2 S H I) + H^2``.
    """
    intermediate = intermediate or 4 * hidden
    head_dim = hidden // heads
    b = Builder("bert", weights=weights, seed=seed, opset=17)
    ids = b.input("input_ids", TensorProto.INT64, [batch, seq])
    mask = b.input("attention_mask", TensorProto.INT64, [batch, seq])

    sc = "/embeddings"
    seq_len = b.shape_dim(ids, 1, sc)
    word = b.node("Gather", [b.param("embeddings.word_embeddings.weight", (vocab, hidden)), ids], sc, axis=0)
    pos_buf = b.const(np.arange(max_positions, dtype=np.int64).reshape(1, -1), "embeddings.position_ids")
    pos_ids = b.node("Slice", [pos_buf, b.const([0], "start", "int64"), seq_len, b.const([1], "axis", "int64")], sc)
    pos = b.node("Gather", [b.param("embeddings.position_embeddings.weight", (max_positions, hidden)), pos_ids],
                 sc, axis=0)
    type_buf = b.const(np.zeros((1, max_positions), np.int64), "embeddings.token_type_ids")
    type_ids = b.node("Slice", [type_buf, b.const([0], "start", "int64"), seq_len, b.const([1], "axis", "int64")], sc)
    target = b.node("Concat", [b.shape_dim(ids, 0, sc), seq_len], sc, axis=0)
    type_ids = b.node("Expand", [type_ids, target], sc)
    types = b.node("Gather", [b.param("embeddings.token_type_embeddings.weight", (2, hidden)), type_ids], sc, axis=0)
    x = b.node("Add", [b.node("Add", [word, types], sc), pos], sc)
    x = _layer_norm(b, x, hidden, f"{sc}/LayerNorm", 1e-12)

    sc = "/extended_mask"
    ext = b.node("Unsqueeze", [mask, b.const([1, 2], "axes", "int64")], sc)
    ext = b.node("Cast", [ext], sc, to=TensorProto.FLOAT)
    ext = b.node("Sub", [b.const(np.float32(1.0), "one"), ext], sc)
    ext = b.node("Mul", [ext, b.const(np.float32(-10000.0), "neg_inf")], sc)

    scale = b.const(np.float32(math.sqrt(head_dim)), "scale")
    for i in range(layers):
        sc = f"/encoder/layer.{i}"
        q = _heads(b, _linear(b, x, hidden, hidden, f"{sc}/attention/self/query"), heads, head_dim, [0, 2, 1, 3], sc)
        k = _heads(b, _linear(b, x, hidden, hidden, f"{sc}/attention/self/key"), heads, head_dim, [0, 2, 3, 1], sc)
        v = _heads(b, _linear(b, x, hidden, hidden, f"{sc}/attention/self/value"), heads, head_dim, [0, 2, 1, 3], sc)
        scores = b.node("Div", [b.node("MatMul", [q, k], sc), scale], sc)
        probs = b.node("Softmax", [b.node("Add", [scores, ext], sc)], sc, axis=-1)
        ctx = _merge_heads(b, b.node("MatMul", [probs, v], sc), hidden, sc)
        attn = _linear(b, ctx, hidden, hidden, f"{sc}/attention/output/dense")
        x = _layer_norm(b, b.node("Add", [attn, x], sc), hidden, f"{sc}/attention/output/LayerNorm", 1e-12)
        h = _linear(b, x, hidden, intermediate, f"{sc}/intermediate/dense")
        erf = b.node("Erf", [b.node("Div", [h, b.const(np.float32(math.sqrt(2.0)), "sqrt2")], sc)], sc)
        gelu = b.node("Mul", [b.node("Mul", [h, b.node("Add", [erf, b.const(np.float32(1.0), "one")], sc)], sc),
                              b.const(np.float32(0.5), "half")], sc)
        out = _linear(b, gelu, intermediate, hidden, f"{sc}/output/dense")
        x = _layer_norm(b, b.node("Add", [out, x], sc), hidden, f"{sc}/output/LayerNorm", 1e-12)

    sc = "/pooler"
    first = b.node("Gather", [x, b.const(np.int64(0), "index")], sc, axis=1)
    w = b.param("pooler.dense.weight", (hidden, hidden), std=1.0 / math.sqrt(hidden))
    pooled = b.node("Tanh", [b.node("Gemm", [first, w, b.param("pooler.dense.bias", (hidden,), std=0.02)], sc,
                                    transB=1)], sc)
    b.output(x, "last_hidden_state", TensorProto.FLOAT, [batch, seq, hidden])
    b.output(pooled, "pooler_output", TensorProto.FLOAT, [batch, hidden])
    return b.model()


def gpt(*, layers: int = 12, hidden: int = 768, heads: int = 12, vocab: int = 50257, max_positions: int = 1024,
        batch: Dim = "batch", seq: Dim = "sequence", weights: bool = False, seed: int = 0) -> onnx.ModelProto:
    """GPT-2-style decoder (GPT-2 small by default). Input ``input_ids`` (int64, ``[batch, sequence]``);
    output ``logits`` ``[batch, sequence, vocab]``.

    MACs per sequence of length S: ``layers * (12 S H^2 + 2 S^2 H) + S H V``.
    """
    head_dim = hidden // heads
    b = Builder("gpt", weights=weights, seed=seed, opset=13)
    ids = b.input("input_ids", TensorProto.INT64, [batch, seq])

    sc = "/transformer"
    seq_len = b.node("Gather", [b.node("Shape", [ids], sc), b.const(np.int64(1), "idx")], sc, axis=0)
    positions = b.node("Range", [b.const(np.int64(0), "start"), seq_len, b.const(np.int64(1), "delta")], sc)
    positions = b.node("Unsqueeze", [positions, b.const([0], "axes", "int64")], sc)
    wte = b.param("transformer.wte.weight", (vocab, hidden))
    x = b.node("Add", [b.node("Gather", [wte, ids], sc, axis=0),
                       b.node("Gather", [b.param("transformer.wpe.weight", (max_positions, hidden), std=0.01),
                                         positions], sc, axis=0)], sc)
    causal = b.param("attn.bias", (1, 1, max_positions, max_positions), dtype="bool",
                     values=np.tril(np.ones((max_positions, max_positions), bool)))
    masked = b.const(np.float32(np.finfo(np.float32).min), "masked_bias")

    for i in range(layers):
        sc = f"/transformer/h.{i}"
        h = _decomposed_layer_norm(b, x, hidden, f"{sc}/ln_1", 1e-5)
        qkv = _linear(b, h, hidden, 3 * hidden, f"{sc}/attn/c_attn")
        q, k, v = b.multi("Split", [qkv, b.const([hidden] * 3, "split", "int64")], sc, outputs=3, axis=2)
        q = _heads(b, q, heads, head_dim, [0, 2, 1, 3], sc)
        k = _heads(b, k, heads, head_dim, [0, 2, 3, 1], sc)
        v = _heads(b, v, heads, head_dim, [0, 2, 1, 3], sc)
        scores = b.node("MatMul", [q, k], sc)
        dim = b.node("Gather", [b.node("Shape", [v], sc), b.const(np.int64(-1), "idx")], sc, axis=0)
        scale = b.node("Sqrt", [b.node("Cast", [dim], sc, to=TensorProto.FLOAT)], sc)
        scores = b.node("Div", [scores, scale], sc)
        q_len = b.node("Gather", [b.node("Shape", [q], sc), b.const(np.int64(2), "idx")], sc, axis=0)
        k_len = b.node("Gather", [b.node("Shape", [k], sc), b.const(np.int64(3), "idx")], sc, axis=0)
        start = b.node("Unsqueeze", [b.node("Sub", [k_len, q_len], sc), b.const([0], "axes", "int64")], sc)
        end = b.node("Unsqueeze", [k_len, b.const([0], "axes", "int64")], sc)
        rows = b.node("Slice", [causal, start, end, b.const([2], "axis", "int64")], sc)
        mask = b.node("Slice", [rows, b.const([0], "start", "int64"), end, b.const([3], "axis", "int64")], sc)
        scores = b.node("Where", [mask, scores, masked], sc)
        probs = b.node("Softmax", [scores], sc, axis=-1)
        ctx = _merge_heads(b, b.node("MatMul", [probs, v], sc), hidden, sc)
        x = b.node("Add", [x, _linear(b, ctx, hidden, hidden, f"{sc}/attn/c_proj")], sc)
        h = _decomposed_layer_norm(b, x, hidden, f"{sc}/ln_2", 1e-5)
        h = _linear(b, h, hidden, 4 * hidden, f"{sc}/mlp/c_fc")
        cube = b.node("Mul", [b.node("Pow", [h, b.const(np.float32(3.0), "three")], sc),
                              b.const(np.float32(0.044715), "c")], sc)
        inner = b.node("Mul", [b.node("Add", [h, cube], sc), b.const(np.float32(math.sqrt(2.0 / math.pi)), "c")], sc)
        gelu = b.node("Mul", [b.node("Mul", [b.const(np.float32(0.5), "half"), h], sc),
                              b.node("Add", [b.const(np.float32(1.0), "one"), b.node("Tanh", [inner], sc)], sc)], sc)
        x = b.node("Add", [x, _linear(b, gelu, 4 * hidden, hidden, f"{sc}/mlp/c_proj")], sc)

    x = _decomposed_layer_norm(b, x, hidden, "/transformer/ln_f", 1e-5)
    head = b.node("Transpose", [wte], "/lm_head", perm=[1, 0])
    logits = b.node("MatMul", [x, head], "/lm_head")
    b.output(logits, "logits", TensorProto.FLOAT, [batch, seq, vocab])
    return b.model()

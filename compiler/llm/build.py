"""An :class:`~compiler.llm.spec.LlmSpec` as the ONNX graph PyTorch and Optimum export for it.

Contract: :func:`build` returns a decoder *with past*: inputs ``input_ids``, ``attention_mask``
(and ``position_ids`` where the exporter has it) of symbolic ``batch_size`` x
``sequence_length`` / ``past_sequence_length + sequence_length``, and per layer
``past_key_values.{i}.key`` / ``.value`` of ``batch_size x kv_heads x past_sequence_length x
head_dim``; outputs ``logits`` and ``present.{i}.key`` / ``.value``. The same file serves prefill
(past length 0) and every decode step, as Optimum's ``text-generation-with-past`` export does. An
encoder (BERT) is :func:`compiler.zoo.bert` with the spec's widths. Shapes only: parameters are
external-data references with no data file (:class:`compiler.zoo._builder.Builder`).

The graph is written the way the exporters write it, quirks included: head splits through
``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``, the cache extended by ``Concat`` on the
sequence axis, keys transposed for the scores, grouped-query heads repeated with
``Unsqueeze -> Expand -> Reshape`` (``repeat_kv``), rotary embeddings computed from the positions and
applied as ``rotate_half`` (Slice, Neg, Concat), RMSNorm as Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul, SiLU as Sigmoid x input, an
additive causal mask from ``attention_mask``, logits for every position. hwsim's LLM passes
(:mod:`compiler.passes.grouped_attention`, :mod:`compiler.passes.kv_append`) then treat this graph
and a real export the same way.

>>> model = build(LlmSpec("tiny", "llama", layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16,
...                       intermediate=128, vocab=100, max_positions=64, mlp="gated", activation="silu"))
>>> [i.name for i in model.graph.input][:4]
['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key']
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto

from ..zoo import bert
from ..zoo._builder import Builder
from .spec import LlmSpec

__all__ = ["build", "BATCH", "SEQUENCE", "PAST", "TOTAL"]

BATCH, SEQUENCE, PAST, TOTAL = "batch_size", "sequence_length", "past_sequence_length", "total_sequence_length"
_MIN = float(np.finfo(np.float32).min)


def build(spec: LlmSpec, *, past: bool = True, weights: bool = False, seed: int = 0) -> onnx.ModelProto:
    """The export-like ONNX graph of ``spec``: a decoder with past (``past=False``: the plain
    ``text-generation`` export, no cache inputs or ``present`` outputs, the mask over the new tokens
    only), or an encoder. ``weights``: random parameters (seeded) instead of external references,
    for running the graph."""
    if spec.family == "bert":
        return bert(layers=spec.layers, hidden=spec.hidden, heads=spec.heads, intermediate=spec.intermediate,
                    vocab=spec.vocab, max_positions=spec.max_positions, batch=BATCH, seq=SEQUENCE)
    b = Builder(spec.name, weights=weights, seed=seed, opset=17)
    ids = b.input("input_ids", TensorProto.INT64, [BATCH, SEQUENCE])
    mask = b.input("attention_mask", TensorProto.INT64, [BATCH, TOTAL if past else SEQUENCE])
    positions = b.input("position_ids", TensorProto.INT64, [BATCH, SEQUENCE]) if spec.family != "opt" else None
    pasts: list[tuple[str, str] | None] = []
    for i in range(spec.layers):
        pasts.append(tuple(b.input(f"past_key_values.{i}.{kv}", TensorProto.FLOAT,  # type: ignore[arg-type]
                                   [BATCH, spec.kv_heads, PAST, spec.head_dim]) for kv in ("key", "value"))
                     if past else None)
    return _Decoder(spec, b).run(ids, mask, positions, pasts)


class _Decoder:
    def __init__(self, spec: LlmSpec, b: Builder) -> None:
        self.spec, self.b = spec, b

    # ----------------------------------------------------------------------------------- top

    def run(self, ids: str, mask: str, positions: str | None, pasts: list[tuple[str, str] | None]) -> onnx.ModelProto:
        s, b = self.spec, self.b
        llama = s.family == "llama"
        prefix = "/model" if llama else "/transformer" if s.family == "gpt2" else "/model/decoder"
        embed_dim = s.embed_dim or s.hidden
        wte_name = {"llama": "model.embed_tokens.weight", "gpt2": "transformer.wte.weight",
                    "opt": "model.decoder.embed_tokens.weight"}[s.family]
        wte = b.param(wte_name, (s.vocab, embed_dim))
        x = b.node("Gather", [wte, ids], f"{prefix}/embed_tokens", axis=0)
        if s.embed_scale:
            x = b.node("Mul", [x, b.const(np.float32(math.sqrt(s.hidden)), "normalizer")], prefix)
        seq = b.shape_dim(ids, 1, prefix)
        total = b.shape_dim(mask, 1, prefix)
        past_len = b.node("Sub", [total, seq], prefix)
        if s.family == "opt":
            # OPT's learned positions: cumsum(attention_mask) * mask - 1, offset by 2, the last S of them.
            cum = b.node("CumSum", [mask, b.const(np.int64(1), "axis")], f"{prefix}/embed_positions")
            pos = b.node("Sub", [b.node("Mul", [cum, mask], f"{prefix}/embed_positions"),
                                 b.const(np.int64(1), "one")], f"{prefix}/embed_positions")
            pos = b.node("Slice", [pos, past_len, b.const([np.iinfo(np.int64).max], "end", "int64"),
                                   b.const([1], "axes", "int64")], f"{prefix}/embed_positions")
            pos = b.node("Add", [pos, b.const(np.int64(2), "offset")], f"{prefix}/embed_positions")
            table = b.param("model.decoder.embed_positions.weight", (s.max_positions + 2, s.hidden), std=0.01)
            if s.embed_dim:
                x = self._linear(x, embed_dim, s.hidden, f"{prefix}/project_in", bias=False)
            x = b.node("Add", [x, b.node("Gather", [table, pos], f"{prefix}/embed_positions", axis=0)], prefix)
        elif s.family == "gpt2":
            assert positions is not None
            wpe = b.param("transformer.wpe.weight", (s.max_positions, s.hidden), std=0.01)
            x = b.node("Add", [x, b.node("Gather", [wpe, positions], f"{prefix}/wpe", axis=0)], prefix)
        cos_sin = self._rotary(positions, prefix) if llama else None
        additive = self._mask(mask, seq, total, past_len, prefix)
        presents: list[str] = []
        for i, past in enumerate(pasts):
            x, kv = self._layer(i, x, past, additive, cos_sin)
            if past is not None:
                presents.extend(kv)
        scope = {"llama": "/model/norm", "gpt2": "/transformer/ln_f", "opt": "/model/decoder/final_layer_norm"}
        x = self._norm(x, scope[s.family])
        if s.embed_dim:
            x = self._linear(x, s.hidden, embed_dim, "/model/decoder/project_out", bias=False)
        head = (b.node("Transpose", [wte], "/lm_head", perm=[1, 0]) if s.tied_embeddings
                else b.param("lm_head.weight", (embed_dim, s.vocab), std=1.0 / math.sqrt(embed_dim)))
        logits = b.node("MatMul", [x, head], "/lm_head")
        b.output(logits, "logits", TensorProto.FLOAT, [BATCH, SEQUENCE, s.vocab])
        for i in range(s.layers if presents else 0):
            for j, kv in enumerate(("key", "value")):
                b.output(presents[2 * i + j], f"present.{i}.{kv}", TensorProto.FLOAT,
                         [BATCH, s.kv_heads, TOTAL, s.head_dim])
        return b.model()

    # ----------------------------------------------------------------------------- pieces

    def _linear(self, x: str, cin: int, cout: int, scope: str, bias: bool, name: str = "") -> str:
        b = self.b
        w = b.param(f"{name or scope.strip('/').replace('/', '.')}.weight", (cin, cout), std=1.0 / math.sqrt(cin))
        y = b.node("MatMul", [x, w], scope)
        if bias:
            y = b.node("Add", [b.param(f"{name or scope.strip('/').replace('/', '.')}.bias", (cout,)), y], scope)
        return y

    def _norm(self, x: str, scope: str) -> str:
        b, s = self.b, self.spec
        gamma = b.param(f"{scope.strip('/').replace('/', '.')}.weight", (s.hidden,), low=0.8, high=1.2)
        if s.family != "llama":
            beta = b.param(f"{scope.strip('/').replace('/', '.')}.bias", (s.hidden,))
            return b.node("LayerNormalization", [x, gamma, beta], scope, axis=-1, epsilon=1e-5)
        # RMSNorm: x * rsqrt(mean(x^2) + eps) * weight, as torch.onnx writes rsqrt.
        var = b.node("ReduceMean", [b.node("Pow", [x, b.const(np.float32(2.0), "two")], scope)], scope,
                     axes=[-1], keepdims=1)
        rstd = b.node("Reciprocal", [b.node("Sqrt", [b.node("Add", [var, b.const(np.float32(1e-6), "eps")], scope)],
                                            scope)], scope)
        return b.node("Mul", [gamma, b.node("Mul", [x, rstd], scope)], scope)

    def _rotary(self, positions: str | None, prefix: str) -> tuple[str, str]:
        """cos and sin for each position ([batch, 1, seq, head_dim]), as ``transformers`` computes
        them: inverse frequencies from a Range (folded to a constant), times the positions."""
        b, s = self.b, self.spec
        assert positions is not None
        scope = f"{prefix}/rotary_emb"
        steps = b.node("Cast", [b.node("Range", [b.const(np.int64(0), "start"), b.const(np.int64(s.head_dim), "end"),
                                                 b.const(np.int64(2), "delta")], scope)], scope, to=TensorProto.FLOAT)
        exponent = b.node("Div", [steps, b.const(np.float32(s.head_dim), "dim")], scope)
        inv_freq = b.node("Reciprocal", [b.node("Pow", [b.const(np.float32(10000.0), "base"), exponent], scope)], scope)
        pos = b.node("Unsqueeze", [b.node("Cast", [positions], scope, to=TensorProto.FLOAT),
                                   b.const([-1], "axes", "int64")], scope)                    # [B, S, 1]
        freqs = b.node("Mul", [pos, inv_freq], scope)                                         # [B, S, d/2]
        emb = b.node("Concat", [freqs, freqs], scope, axis=-1)                                # [B, S, d]
        return tuple(b.node("Unsqueeze", [b.node(op, [emb], scope), b.const([1], "axes", "int64")], scope)
                     for op in ("Cos", "Sin"))  # type: ignore[return-value]

    def _mask(self, mask: str, seq: str, total: str, past_len: str, prefix: str) -> str:
        """The additive attention mask, [batch, 1, seq, total]: padding from ``attention_mask`` and,
        for a causal decoder, key positions after the query's (and outside a sliding window)."""
        b, s = self.b, self.spec
        scope = f"{prefix}/attn_mask"
        padding = b.node("Unsqueeze", [mask, b.const([1, 2], "axes", "int64")], scope)
        padding = b.node("Equal", [padding, b.const(np.int64(0), "zero")], scope)      # [B, 1, 1, T]
        k_pos = b.node("Range", [b.const(np.int64(0), "start"), b.node("Squeeze", [total], scope),
                                 b.const(np.int64(1), "delta")], scope)
        q_pos = b.node("Range", [b.node("Squeeze", [past_len], scope),
                                 b.node("Squeeze", [b.node("Add", [past_len, seq], scope)], scope),
                                 b.const(np.int64(1), "delta")], scope)
        q_col = b.node("Unsqueeze", [q_pos, b.const([1], "axes", "int64")], scope)       # [S, 1]
        future = b.node("Greater", [k_pos, q_col], scope)                              # [S, T]
        if s.window is not None:
            early = b.node("LessOrEqual", [k_pos, b.node("Sub", [q_col, b.const(np.int64(s.window), "window")],
                                                         scope)], scope)
            future = b.node("Or", [future, early], scope)
        blocked = b.node("Or", [padding, future], scope)                               # [B, 1, S, T]
        return b.node("Where", [blocked, b.const(np.float32(_MIN), "min"), b.const(np.float32(0.0), "zero")], scope)

    def _heads(self, x: str, heads: int, scope: str) -> str:
        """[B, S, heads * d] -> [B, heads, S, d]."""
        y = self.b.reshape_dynamic(x, [0, 1], [heads, self.spec.head_dim], scope)
        return self.b.node("Transpose", [y], scope, perm=[0, 2, 1, 3])

    def _rope(self, x: str, cos_sin: tuple[str, str], scope: str) -> str:
        b, half = self.b, self.spec.head_dim // 2
        cos, sin = cos_sin
        axes = b.const([-1], "axes", "int64")
        x1 = b.node("Slice", [x, b.const([0], "start", "int64"), b.const([half], "end", "int64"), axes], scope)
        x2 = b.node("Slice", [x, b.const([half], "start", "int64"), b.const([np.iinfo(np.int64).max], "end", "int64"),
                              axes], scope)
        rotated = b.node("Concat", [b.node("Neg", [x2], scope), x1], scope, axis=-1)
        return b.node("Add", [b.node("Mul", [x, cos], scope), b.node("Mul", [rotated, sin], scope)], scope)

    def _repeat_kv(self, x: str, scope: str) -> str:
        """HF's ``repeat_kv``: [B, kv, T, d] -> [B, kv * group, T, d] through Unsqueeze, Expand, Reshape."""
        b, s = self.b, self.spec
        if s.group == 1:
            return x
        y = b.node("Unsqueeze", [x, b.const([2], "axes", "int64")], scope)
        shape = b.node("Concat", [b.shape_dim(x, 0, scope), b.const([s.kv_heads], "dim", "int64"),
                                  b.const([s.group], "dim", "int64"), b.shape_dim(x, 2, scope),
                                  b.const([s.head_dim], "dim", "int64")], scope, axis=0)
        y = b.node("Expand", [y, shape], scope)
        target = b.node("Concat", [b.shape_dim(x, 0, scope), b.const([s.heads], "dim", "int64"),
                                   b.shape_dim(x, 2, scope), b.const([s.head_dim], "dim", "int64")], scope, axis=0)
        return b.node("Reshape", [y, target], scope)

    def _attention(self, i: int, h: str, past: tuple[str, str] | None, additive: str,
                   cos_sin: tuple[str, str] | None) -> tuple[str, tuple[str, str]]:
        b, s = self.b, self.spec
        d, q_width, kv_width = s.head_dim, s.heads * s.head_dim, s.kv_heads * s.head_dim
        if s.family == "gpt2":
            sc = f"/transformer/h.{i}/attn"
            qkv = self._linear(h, s.hidden, q_width + 2 * kv_width, f"{sc}/c_attn", bias=s.qkv_bias)
            q, k, v = b.multi("Split", [qkv, b.const([q_width, kv_width, kv_width], "split", "int64")], sc,
                              outputs=3, axis=2)
            out_name = f"{sc}/c_proj"
        else:
            sc = f"/model/layers.{i}/self_attn" if s.family == "llama" else f"/model/decoder/layers.{i}/self_attn"
            q = self._linear(h, s.hidden, q_width, f"{sc}/q_proj", bias=s.qkv_bias)
            if s.family == "opt":
                q = b.node("Mul", [q, b.const(np.float32(d ** -0.5), "scaling")], sc)
            k = self._linear(h, s.hidden, kv_width, f"{sc}/k_proj", bias=s.qkv_bias)
            v = self._linear(h, s.hidden, kv_width, f"{sc}/v_proj", bias=s.qkv_bias)
            out_name = f"{sc}/o_proj" if s.family == "llama" else f"{sc}/out_proj"
        q, k, v = self._heads(q, s.heads, sc), self._heads(k, s.kv_heads, sc), self._heads(v, s.kv_heads, sc)
        if cos_sin is not None:
            q, k = self._rope(q, cos_sin, sc), self._rope(k, cos_sin, sc)
        if past is not None:
            k = b.node("Concat", [past[0], k], sc, axis=2)
            v = b.node("Concat", [past[1], v], sc, axis=2)
        present = (k, v)
        k, v = self._repeat_kv(k, sc), self._repeat_kv(v, sc)
        scores = b.node("MatMul", [q, b.node("Transpose", [k], sc, perm=[0, 1, 3, 2])], sc)
        if s.family != "opt":
            scores = b.node("Div", [scores, b.const(np.float32(math.sqrt(d)), "scale")], sc)
        probs = b.node("Softmax", [b.node("Add", [scores, additive], sc)], sc, axis=-1)
        ctx = b.node("MatMul", [probs, v], sc)
        ctx = b.node("Transpose", [ctx], sc, perm=[0, 2, 1, 3])
        ctx = b.reshape_dynamic(ctx, [0, 1], [q_width], sc)
        return self._linear(ctx, q_width, s.hidden, out_name, bias=s.out_bias), present

    def _activation(self, x: str, scope: str) -> str:
        b, act = self.b, self.spec.activation
        if act == "relu":
            return b.node("Relu", [x], scope)
        if act == "silu":
            return b.node("Mul", [x, b.node("Sigmoid", [x], scope)], scope)
        if act == "gelu":
            erf = b.node("Erf", [b.node("Div", [x, b.const(np.float32(math.sqrt(2.0)), "sqrt2")], scope)], scope)
            return b.node("Mul", [b.node("Mul", [x, b.node("Add", [erf, b.const(np.float32(1.0), "one")], scope)],
                                         scope), b.const(np.float32(0.5), "half")], scope)
        cube = b.node("Mul", [b.node("Pow", [x, b.const(np.float32(3.0), "three")], scope),
                              b.const(np.float32(0.044715), "c")], scope)
        inner = b.node("Mul", [b.node("Add", [x, cube], scope), b.const(np.float32(math.sqrt(2.0 / math.pi)), "c")],
                       scope)
        return b.node("Mul", [b.node("Mul", [b.const(np.float32(0.5), "half"), x], scope),
                              b.node("Add", [b.const(np.float32(1.0), "one"), b.node("Tanh", [inner], scope)], scope)],
                      scope)

    def _mlp(self, i: int, h: str) -> str:
        s = self.spec
        if s.family == "gpt2":
            sc = f"/transformer/h.{i}/mlp"
            up = self._linear(h, s.hidden, s.intermediate, f"{sc}/c_fc", bias=s.mlp_bias)
            return self._linear(self._activation(up, sc), s.intermediate, s.hidden, f"{sc}/c_proj", bias=s.mlp_bias)
        if s.family == "opt":
            sc = f"/model/decoder/layers.{i}"
            up = self._linear(h, s.hidden, s.intermediate, f"{sc}/fc1", bias=s.mlp_bias)
            return self._linear(self._activation(up, sc), s.intermediate, s.hidden, f"{sc}/fc2", bias=s.mlp_bias)
        sc = f"/model/layers.{i}/mlp"
        gate = self._linear(h, s.hidden, s.intermediate, f"{sc}/gate_proj", bias=s.mlp_bias)
        up = self._linear(h, s.hidden, s.intermediate, f"{sc}/up_proj", bias=s.mlp_bias)
        act = self.b.node("Mul", [self._activation(gate, f"{sc}/act_fn"), up], sc)
        return self._linear(act, s.intermediate, s.hidden, f"{sc}/down_proj", bias=s.mlp_bias)

    def _layer(self, i: int, x: str, past: tuple[str, str] | None, additive: str,
               cos_sin: tuple[str, str] | None) -> tuple[str, tuple[str, str]]:
        s, b = self.spec, self.b
        names = {"gpt2": (f"/transformer/h.{i}/ln_1", f"/transformer/h.{i}/ln_2", f"/transformer/h.{i}"),
                 "opt": (f"/model/decoder/layers.{i}/self_attn_layer_norm",
                         f"/model/decoder/layers.{i}/final_layer_norm", f"/model/decoder/layers.{i}"),
                 "llama": (f"/model/layers.{i}/input_layernorm", f"/model/layers.{i}/post_attention_layernorm",
                           f"/model/layers.{i}")}[s.family]
        attn, present = self._attention(i, self._norm(x, names[0]), past, additive, cos_sin)
        x = b.node("Add", [x, attn], names[2])
        x = b.node("Add", [x, self._mlp(i, self._norm(x, names[1]))], names[2])
        return x, present

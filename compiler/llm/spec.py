"""A transformer language model's shape: the small typed description hwsim builds LLM graphs from.

:class:`LlmSpec` holds what the cost of a transformer depends on (layers, widths, heads, the kind
of MLP, norm and position embedding, which projections carry biases) and nothing else: no weights,
no tokenizer, no numerics. :func:`from_hf_config` reads one from a Hugging Face ``config.json``
(GPT-2, LLaMA, Mistral, Qwen2, Gemma, OPT, BERT); :mod:`compiler.llm.build` turns it into the ONNX
graph an exporter would write. The KV-cache size is a formula of the spec, written once here::

    >>> spec = from_hf_config({"model_type": "gpt2"})
    >>> spec.layers, spec.hidden, spec.kv_heads, spec.head_dim
    (12, 768, 12, 64)
    >>> spec.kv_elements(context=1024, batch=1)   # 12 layers x 12 heads x 64 x 1024 x (K and V)
    18874368
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from hwsim.core.errors import UserError, shown
from hwsim.core.files import read_text

__all__ = ["LlmSpec", "FAMILIES", "MLPS", "ACTIVATIONS", "NAMED", "from_hf_config", "kv_span", "load_hf_config",
           "named"]

#: Graph styles: ``gpt2`` (learned positions, LayerNorm, fused QKV), ``opt`` (learned positions
#: offset by 2, LayerNorm, separate q/k/v), ``llama`` (RMSNorm, rotary embeddings, grouped-query
#: attention, gated MLP; also Mistral, Qwen2 and Gemma), ``bert`` (an encoder: no causal mask, no
#: KV cache, post-norm).
FAMILIES = ("gpt2", "opt", "llama", "bert")
#: ``dense``: up projection, activation, down projection; ``gated``: act(gate(x)) * up(x), down (SwiGLU, GeGLU).
MLPS = ("dense", "gated")
#: Activations as the exporters write them.
ACTIVATIONS = ("gelu_tanh", "gelu", "relu", "silu")


#: The largest value of each count hwsim builds a graph for: well above every published model
#: (Llama 3.1 405B: 126 layers, 16,384 wide, 128 heads; vocabularies of 256k), and low enough that a
#: mistyped config cannot make the graph builder run for hours.
_LIMITS = {"layers": 1024, "hidden": 1 << 20, "heads": 1 << 14, "kv_heads": 1 << 14, "head_dim": 1 << 14,
           "intermediate": 1 << 22, "vocab": 1 << 24, "max_positions": 1 << 24}


@dataclass(frozen=True)
class LlmSpec:
    """A transformer's shape. ``heads`` query heads of ``head_dim`` share ``kv_heads`` key/value heads
    (grouped-query attention when fewer, multi-query with one); ``window`` limits attention to the
    last ``window`` positions (sliding-window attention), ``None`` for full attention."""

    name: str
    family: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    max_positions: int
    mlp: str = "dense"
    activation: str = "gelu_tanh"
    qkv_bias: bool = True
    out_bias: bool = True
    mlp_bias: bool = True
    tied_embeddings: bool = True
    window: int | None = None
    #: OPT-350m's narrower word embeddings, projected in and out of ``hidden`` (``None``: same width).
    embed_dim: int | None = None
    #: Gemma scales its embeddings by sqrt(hidden).
    embed_scale: bool = False
    type_vocab: int = 0

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise UserError(f"{self.name}: model family {self.family!r} is not one of {', '.join(FAMILIES)}")
        for key, most in _LIMITS.items():
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"{self.name}: {key} must be a positive integer, got {value!r}")
            if value > most:
                raise UserError(f"{self.name}: {key} {value:,} is more than hwsim llm builds (at most {most:,})")
        if self.heads % self.kv_heads:
            raise UserError(f"{self.name}: {self.heads} attention heads do not split into {self.kv_heads} "
                            "key/value head groups")
        if self.mlp not in MLPS:
            raise UserError(f"{self.name}: mlp {self.mlp!r} is not one of {', '.join(MLPS)}")
        if self.activation not in ACTIVATIONS:
            raise UserError(f"{self.name}: activation {self.activation!r} is not one of {', '.join(ACTIVATIONS)}")
        if self.window is not None and (isinstance(self.window, bool) or not isinstance(self.window, int)
                                        or self.window < 1):
            raise UserError(f"{self.name}: sliding_window must be a positive integer or null, got {self.window!r}")

    @property
    def decoder(self) -> bool:
        """A causal decoder with a KV cache (every family but BERT)."""
        return self.family != "bert"

    @property
    def group(self) -> int:
        """Query heads per key/value head."""
        return self.heads // self.kv_heads

    def span(self, context: int) -> int:
        """Positions one token attends to, and the KV cache holds, at ``context`` tokens."""
        return kv_span(context, self.window)

    def kv_elements(self, context: int, batch: int) -> int:
        """KV-cache elements at ``context`` tokens: layers x KV heads x head size x span x 2 (K and V) x batch."""
        return self.layers * self.kv_heads * self.head_dim * self.span(context) * 2 * batch

    def kv_bytes(self, context: int, batch: int, bits: int) -> float:
        """KV-cache bytes at ``bits`` per element (packed: 4 bits are half a byte)."""
        return self.kv_elements(context, batch) * bits / 8


def kv_span(context: int, window: int | None) -> int:
    """Tokens the KV cache holds at ``context`` tokens: all of them, or a sliding window's last ``window``."""
    return context if window is None else min(context, window)


# --------------------------------------------------------------------------------- config.json

def load_hf_config(path: str | Path) -> LlmSpec:
    """Read a Hugging Face ``config.json``; every problem is a one-line :class:`UserError`."""
    p = Path(path)
    text = read_text(p, "model config")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{p}: not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict):
        raise UserError(f"{p}: a Hugging Face config.json holds one JSON object")
    return from_hf_config(data, name=p.parent.name if p.name == "config.json" and p.parent.name else p.stem,
                          where=shown(p))


_TYPES = {"gpt2": "gpt2", "llama": "llama", "mistral": "llama", "qwen2": "llama", "gemma": "llama", "opt": "opt",
          "bert": "bert"}
_ARCHITECTURES = {"GPT2LMHeadModel": "gpt2", "LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral",
                  "Qwen2ForCausalLM": "qwen2", "GemmaForCausalLM": "gemma", "OPTForCausalLM": "opt",
                  "BertModel": "bert", "BertForMaskedLM": "bert"}
_ACTS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh", "gelu": "gelu",
         "relu": "relu", "silu": "silu", "swish": "silu"}


class _Fields:
    """Typed access to a config's fields, naming the file and the key in every error."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data, self.where = data, where

    def int(self, key: str, default: int | None = None) -> int:
        value = self.data.get(key, default)
        if value is None:
            raise UserError(f"{self.where}: missing {key!r}, which a {self.data.get('model_type')} config needs")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"{self.where}: {key} must be a positive integer, got {value!r}")
        return value

    def opt_int(self, key: str) -> int | None:
        return None if self.data.get(key) is None else self.int(key)

    def bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise UserError(f"{self.where}: {key} must be true or false, got {value!r}")
        return value

    def act(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if value not in _ACTS:
            raise UserError(f"{self.where}: {key} {value!r} is not an activation hwsim knows "
                            f"({', '.join(sorted(_ACTS))})")
        return _ACTS[value]


def from_hf_config(data: Mapping[str, Any], *, name: str = "", where: str = "config.json") -> LlmSpec:
    """The spec of a Hugging Face config (a parsed ``config.json``), with the library's defaults for
    absent fields (those of ``transformers``' config classes)."""
    model_type = data.get("model_type")
    if model_type is None:
        archs = data.get("architectures") or []
        model_type = next((_ARCHITECTURES[a] for a in archs if isinstance(a, str) and a in _ARCHITECTURES), None)
    if model_type not in _TYPES:
        raise UserError(f"{where}: model_type {shown(repr(model_type), 60)} is not one hwsim builds; it reads "
                        f"{', '.join(sorted(_TYPES))} configs (or give an ONNX export)")
    f = _Fields(data, where)
    name = shown(name or str(data.get("_name_or_path") or model_type).rsplit("/", 1)[-1] or str(model_type), 80)
    if model_type == "gpt2":
        hidden, heads = f.int("n_embd", 768), f.int("n_head", 12)
        return LlmSpec(name, "gpt2", f.int("n_layer", 12), hidden, heads, heads, _head_dim(hidden, heads, where),
                       f.opt_int("n_inner") or 4 * hidden, f.int("vocab_size", 50257), f.int("n_positions", 1024),
                       activation=f.act("activation_function", "gelu_new"),
                       tied_embeddings=f.bool("tie_word_embeddings", True))
    if model_type == "opt":
        hidden, heads = f.int("hidden_size", 768), f.int("num_attention_heads", 12)
        if not f.bool("do_layer_norm_before", True):
            raise UserError(f"{where}: OPT with do_layer_norm_before = false (OPT-350m's post-norm) is not supported")
        bias = f.bool("enable_bias", True)
        embed = f.int("word_embed_proj_dim", hidden)
        return LlmSpec(name, "opt", f.int("num_hidden_layers", 12), hidden, heads, heads,
                       _head_dim(hidden, heads, where), f.int("ffn_dim", 3072), f.int("vocab_size", 50272),
                       f.int("max_position_embeddings", 2048), activation=f.act("activation_function", "relu"),
                       qkv_bias=bias, out_bias=bias, mlp_bias=bias, tied_embeddings=f.bool("tie_word_embeddings", True),
                       embed_dim=None if embed == hidden else embed)
    if model_type == "bert":
        hidden, heads = f.int("hidden_size", 768), f.int("num_attention_heads", 12)
        return LlmSpec(name, "bert", f.int("num_hidden_layers", 12), hidden, heads, heads,
                       _head_dim(hidden, heads, where), f.int("intermediate_size", 3072), f.int("vocab_size", 30522),
                       f.int("max_position_embeddings", 512), activation=f.act("hidden_act", "gelu"),
                       tied_embeddings=False, type_vocab=f.int("type_vocab_size", 2))
    # LLaMA and its relatives: RMSNorm, rotary positions, grouped-query attention, a gated MLP.
    defaults = {"llama": (4096, 32, 32, 11008, 32000, 2048, False, "silu"),
                "mistral": (4096, 32, 32, 14336, 32000, 4096 * 32, False, "silu"),
                "qwen2": (4096, 28, 32, 22016, 151936, 32768, False, "silu"),
                "gemma": (3072, 28, 16, 24576, 256000, 8192, True, "gelu_tanh")}[model_type]
    hidden, layers_default, heads_default, inter, vocab, positions, tied, act = defaults
    hidden = f.int("hidden_size", hidden)
    heads = f.int("num_attention_heads", heads_default)
    kv_heads = f.int("num_key_value_heads", heads if model_type != "mistral" else 8)
    head_dim = f.opt_int("head_dim") or _head_dim(hidden, heads, where)
    act_key = "hidden_activation" if model_type == "gemma" and data.get("hidden_activation") else "hidden_act"
    window = None
    if model_type == "mistral":
        window = f.opt_int("sliding_window")
    elif model_type == "qwen2" and f.bool("use_sliding_window", False):
        window = f.opt_int("sliding_window")
    qkv_bias = True if model_type == "qwen2" else f.bool("attention_bias", False)
    spec = LlmSpec(name, "llama", f.int("num_hidden_layers", layers_default), hidden, heads, kv_heads, head_dim,
                   f.int("intermediate_size", inter), f.int("vocab_size", vocab),
                   f.int("max_position_embeddings", positions), mlp="gated",
                   activation=f.act(act_key, {"silu": "silu", "gelu_tanh": "gelu_pytorch_tanh"}[act]),
                   qkv_bias=qkv_bias, out_bias=model_type != "qwen2" and f.bool("attention_bias", False),
                   mlp_bias=f.bool("mlp_bias", False), tied_embeddings=f.bool("tie_word_embeddings", tied),
                   window=window, embed_scale=model_type == "gemma")
    return spec


def _head_dim(hidden: int, heads: int, where: str) -> int:
    if hidden % heads:
        raise UserError(f"{where}: hidden size {hidden} does not split into {heads} heads")
    return hidden // heads


#: Configs ``hwsim llm`` knows by name: the fields of each model's published ``config.json`` that
#: its cost depends on (the rest take ``transformers``' defaults).
NAMED: dict[str, dict[str, Any]] = {
    "gpt2": {"model_type": "gpt2"},
    "gpt2-medium": {"model_type": "gpt2", "n_embd": 1024, "n_head": 16, "n_layer": 24},
    "opt-125m": {"model_type": "opt", "hidden_size": 768, "ffn_dim": 3072, "num_hidden_layers": 12,
                 "num_attention_heads": 12, "vocab_size": 50272, "max_position_embeddings": 2048},
    "llama-7b": {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                 "num_attention_heads": 32, "vocab_size": 32000, "max_position_embeddings": 2048,
                 "tie_word_embeddings": False},
    "llama-2-7b": {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                   "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32000,
                   "max_position_embeddings": 4096, "tie_word_embeddings": False},
    "llama-3.2-1b": {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
                     "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256,
                     "max_position_embeddings": 131072, "tie_word_embeddings": True},
    "mistral-7b": {"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                   "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000,
                   "max_position_embeddings": 32768, "sliding_window": 4096, "tie_word_embeddings": False},
    "qwen2-0.5b": {"model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                   "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
                   "max_position_embeddings": 32768, "tie_word_embeddings": True},
    "bert-base": {"model_type": "bert"},
}


def named(name: str) -> LlmSpec:
    """A config of :data:`NAMED` as a spec."""
    if name not in NAMED:
        raise UserError(f"model {name!r}: not a file and not a model hwsim knows by name ({', '.join(NAMED)})")
    return from_hf_config(NAMED[name], name=name, where=f"model {name}")

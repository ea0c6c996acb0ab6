"""A language model as ``hwsim llm`` takes it: an ONNX decoder whose inputs and KV cache it knows.

Contract: :func:`from_onnx` reads an export (PyTorch, Optimum) and :func:`from_spec` builds one from
a config (:mod:`compiler.llm.build`); both give an :class:`LlmModel` that sizes every input for a
step of ``batch`` sequences, ``seq`` new tokens and ``past`` cached ones, and lowers that step
(:meth:`LlmModel.lower`): import with those shapes, :func:`compiler.passes.llm_pipeline`, lowering,
and the KV cache's tensors marked at ``kv_bits``.

- A decoder *with past* (inputs ``past_key_values.N.key/value``, :data:`compiler.passes.kv_append.KV_INPUT`)
  runs as exported: a prefill has no past (each cache input becomes an empty constant, as the
  exporters' ``past_sequence_length = 0``), a decode step ``past`` cached tokens.
- A decoder *without past* is given one: hwsim finds each attention's keys and values, the
  ``[batch, heads, sequence, head_dim]`` tensors the scores and values MatMuls read (through a
  transpose or a ``repeat_kv``), and appends them to new cache inputs, as ``transformers`` does
  with ``use_cache``; its ``attention_mask`` keeps covering only the new tokens.
- An encoder (inputs ``token_type_ids``, or no causal decoder config) has prefill only.

Every other input is a user error naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

import onnx
from onnx import TensorProto, helper

from hwsim.core.errors import UserError, shown
from hwsim.core.workload import LoweredModel, TensorRef

from ..graph import Graph
from ..importer import load_model, read_model
from ..lowering import lower
from ..passes import fold_constants, llm_pipeline
from ..passes.kv_append import KV_INPUT, kv_layer
from .build import BATCH, PAST, TOTAL, build
from .replicate import TEMPLATE_LAYERS, expand, expand_set
from .spec import LlmSpec, kv_span

__all__ = ["KvInput", "LlmModel", "Step", "from_onnx", "from_spec", "kv_tensors", "with_bits", "ROLES"]

#: Inputs hwsim sizes, by name: what each holds.
ROLES = {"input_ids": "ids", "attention_mask": "mask", "position_ids": "positions", "token_type_ids": "types",
         "cache_position": "cache_position"}
_PROBE_BATCH, _PROBE_SEQ = 3, 13  # sizes no model dim is likely to equal, to find the sequence axis


@dataclass(frozen=True)
class KvInput:
    """One KV-cache input: ``[batch, heads, past, head_dim]``, the cache of ``layer``'s keys or values."""

    name: str
    layer: int
    kind: str
    heads: int
    head_dim: int


@dataclass(frozen=True)
class LlmModel:
    """An ONNX language model with its inputs' roles and its KV cache recognised."""

    name: str
    proto: onnx.ModelProto = field(repr=False, compare=False)
    inputs: tuple[tuple[str, str], ...]   #: (name, role), roles of :data:`ROLES` or "kv"
    kv: tuple[KvInput, ...] = ()
    decoder: bool = True
    #: The attention mask spans the past and the new tokens (an export with past); after hwsim gave
    #: a model its past, the mask keeps covering only the new tokens.
    mask_spans_past: bool = True
    spec: LlmSpec | None = None
    #: Sliding-window attention: the cache keeps the last ``window`` positions.
    window: int | None = None
    #: A deep model built from a spec lowers its three-layer version and repeats its middle layer
    #: (:mod:`compiler.llm.replicate`): the same workloads, without lowering every layer.
    template: LlmModel | None = field(default=None, repr=False, compare=False)

    @property
    def layers(self) -> int:
        return len({k.layer for k in self.kv})

    @property
    def kv_heads(self) -> int:
        return self.kv[0].heads if self.kv else 0

    @property
    def head_dim(self) -> int:
        return self.kv[0].head_dim if self.kv else 0

    def kv_elements(self, context: int, batch: int) -> int:
        """KV-cache elements at ``context`` tokens (layers x KV heads x head size x span x 2 x batch),
        from the cache inputs themselves."""
        return sum(k.heads * k.head_dim for k in self.kv) * kv_span(context, self.window) * batch

    def shapes(self, batch: int, seq: int, past: int) -> dict[str, tuple[int, ...]]:
        """Every input's shape for a step of ``seq`` new tokens after ``past`` cached ones (no cache
        inputs when ``past`` is 0: :meth:`step` makes them empty constants)."""
        total = past + seq if self.mask_spans_past else seq
        by_role = {"ids": (batch, seq), "positions": (batch, seq), "types": (batch, seq), "mask": (batch, total),
                   "cache_position": (seq,)}
        out = {name: by_role[role] for name, role in self.inputs if role != "kv"}
        out.update({k.name: (batch, k.heads, past, k.head_dim) for k in self.kv if past})
        return out

    def step(self, batch: int, seq: int, past: int) -> onnx.ModelProto:
        """The model for a step with ``past`` cached tokens: itself, or, with no past, its cache inputs
        replaced by empty constants (the exporters' zero-length past)."""
        if past or not self.kv:
            return self.proto
        model = onnx.ModelProto()
        model.CopyFrom(self.proto)
        empty = {k.name: k for k in self.kv}
        kept = [vi for vi in model.graph.input if vi.name not in empty]
        del model.graph.input[:]
        model.graph.input.extend(kept)
        for k in self.kv:
            model.graph.initializer.append(TensorProto(name=k.name, data_type=TensorProto.FLOAT,
                                                       dims=[batch, k.heads, 0, k.head_dim]))
        return model

    def graph(self, batch: int, seq: int, past: int) -> Graph:
        """The step imported at its shapes, after the LLM passes."""
        return llm_pipeline(load_model(self.step(batch, seq, past), input_shapes=self.shapes(batch, seq, past)))

    def lower(self, batch: int, seq: int, past: int, kv_bits: int | None = None) -> Step:
        """The step's workloads, the KV cache's tensors at ``kv_bits`` (``None``: the activations' width)."""
        if self.template is not None:
            step = self.template.lower(batch, seq, past)
            lowered = replace(expand(step.lowered, self.layers), name=self.name)
            cache = expand_set(step.kv, self.layers)
            return Step(lowered if kv_bits is None else with_bits(lowered, cache, kv_bits), cache)
        graph = self.graph(batch, seq, past)
        cache = kv_tensors(graph)
        lowered = replace(lower(graph), name=self.name)
        return Step(lowered if kv_bits is None else with_bits(lowered, cache, kv_bits), cache)

    @property
    def parameters(self) -> int:
        """The model's parameters: elements of its floating-point initializers of more than one element
        (weights, biases, norm scales, embeddings; not scalar constants)."""
        floats = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE}
        total = 0
        for t in self.proto.graph.initializer:
            size = 1
            for d in t.dims:
                size *= d
            if t.data_type in floats and size > 1 and not KV_INPUT.match(t.name):
                total += size
        return total


@dataclass(frozen=True)
class Step:
    """One step of a model lowered: its workloads and the names of its KV cache's tensors."""

    lowered: LoweredModel
    kv: frozenset[str]


def kv_tensors(graph: Graph) -> frozenset[str]:
    """The KV cache's tensors in a graph after :func:`compiler.passes.llm_pipeline`: what the
    in-place appends write (each layer's updated keys and values)."""
    return frozenset(o for n in graph.nodes if n.meta.appends_to for o in n.outputs if o)


def with_bits(lowered: LoweredModel, names: frozenset[str], bits: int) -> LoweredModel:
    """``lowered`` with every reference to a tensor in ``names`` at ``bits`` per element."""
    def mark(refs: tuple[TensorRef, ...]) -> tuple[TensorRef, ...]:
        return tuple(replace(r, bits=bits) if r.name in names else r for r in refs)
    return replace(lowered, workloads=tuple(replace(w, inputs=mark(w.inputs), outputs=mark(w.outputs))
                                            for w in lowered.workloads))


# ------------------------------------------------------------------------------------- sources

def from_spec(spec: LlmSpec) -> LlmModel:
    """The export-like graph of a config's spec (:func:`compiler.llm.build.build`)."""
    model = replace(_recognise(build(spec), spec.name, spec), window=spec.window)
    if spec.decoder and spec.layers > TEMPLATE_LAYERS:
        model = replace(model, template=from_spec(replace(spec, layers=TEMPLATE_LAYERS)))
    return model


def from_onnx(source: str | Path | onnx.ModelProto, name: str | None = None) -> LlmModel:
    """An export, its inputs and KV cache recognised; without past, given one (module docstring)."""
    if isinstance(source, onnx.ModelProto):
        proto, label = source, shown(name or source.graph.name or "model")
    else:
        # The importer's reader: size limits, one-line errors for a missing, damaged or foreign file.
        proto, _, _ = read_model(source)
        label = shown(name or Path(source).stem)
    model = _recognise(proto, label, None)
    if model.kv or not model.decoder:
        return model
    return _add_past(model)


def _recognise(proto: onnx.ModelProto, name: str, spec: LlmSpec | None) -> LlmModel:
    inits = {t.name for t in proto.graph.initializer}
    roles: list[tuple[str, str]] = []
    kv: list[KvInput] = []
    for vi in proto.graph.input:
        if vi.name in inits:
            continue
        if vi.name == "use_cache_branch":
            raise UserError(f"{name}: a merged decoder (input use_cache_branch, an If on it); give the "
                            "decoder with past (decoder_with_past_model.onnx) or export with "
                            "'optimum-cli export onnx --task text-generation-with-past'")
        layer = kv_layer(vi.name) if KV_INPUT.match(vi.name) else None
        if layer is not None:
            dims = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
            if len(dims) != 4 or dims[1] is None or dims[3] is None:
                raise UserError(f"{name}: KV-cache input {shown(vi.name)} should be [batch, heads, past, head_dim] with "
                                f"static heads and head_dim, got {_dims(vi)}")
            kv.append(KvInput(vi.name, layer[0], layer[1], dims[1], dims[3]))
            roles.append((vi.name, "kv"))
        elif vi.name in ROLES:
            roles.append((vi.name, ROLES[vi.name]))
        else:
            known = ", ".join(list(ROLES) + ["past_key_values.N.key", "past_key_values.N.value"])
            raise UserError(f"{name}: input '{shown(vi.name)}' is not one hwsim llm sizes ({known})")
    if not any(role == "ids" for _, role in roles):
        raise UserError(f"{name}: no input_ids input; hwsim llm reads token-id inputs named input_ids")
    decoder = bool(kv) or not (any(role == "types" for _, role in roles)
                               or any(o.name in ("last_hidden_state", "pooler_output") for o in proto.graph.output))
    if spec is not None:
        decoder = spec.decoder
    return LlmModel(name, proto, tuple(roles), tuple(sorted(kv, key=lambda k: (k.layer, k.kind))), decoder,
                    spec=spec)


def _dims(vi: onnx.ValueInfoProto) -> str:
    return "[" + ", ".join(d.dim_param or str(d.dim_value) for d in vi.type.tensor_type.shape.dim) + "]"


# ------------------------------------------------------------------- giving a model its past

def _add_past(model: LlmModel) -> LlmModel:
    """A decoder exported without past, with cache inputs appended to each attention's keys and values."""
    probe = fold_constants.run(load_model(model.proto, input_shapes=model.shapes(_PROBE_BATCH, _PROBE_SEQ, 0)))
    producers = probe.producers()
    pairs = [n for n in probe.nodes if n.op_type in ("MatMul", "Einsum") and not n.domain and len(n.inputs) == 2
             and not probe.is_constant(n.inputs[0]) and not probe.is_constant(n.inputs[1])]
    if not pairs or len(pairs) % 2:
        raise UserError(f"{model.name}: found {len(pairs)} activation x activation MatMuls, not a pair per "
                        "attention; export the decoder with past_key_values (optimum-cli export onnx "
                        "--task text-generation-with-past)")
    targets: list[tuple[str, int, str]] = []  # (tensor, layer, "key"/"value")
    for i in range(0, len(pairs), 2):
        for node, kind in ((pairs[i], "key"), (pairs[i + 1], "value")):
            targets.append((_heads_tensor(probe, producers, node.inputs[1], model.name, node.name), i // 2, kind))
    proto = onnx.ModelProto()
    proto.CopyFrom(model.proto)
    g = proto.graph
    kv: list[KvInput] = []
    for tensor, layer, kind in targets:
        shape = probe.shape(tensor)
        past, present = f"past_key_values.{layer}.{kind}", f"present.{layer}.{kind}"
        for node in g.node:
            for j, name in enumerate(node.input):
                if name == tensor:
                    node.input[j] = present
        for out in g.output:
            if out.name == tensor:
                raise UserError(f"{model.name}: attention {kind}s '{shown(tensor)}' are a graph output; export with past")
        g.input.append(helper.make_tensor_value_info(past, TensorProto.FLOAT, [BATCH, shape[1], PAST, shape[3]]))
        g.output.append(helper.make_tensor_value_info(present, TensorProto.FLOAT, [BATCH, shape[1], TOTAL, shape[3]]))
        at = next((j + 1 for j, node in enumerate(g.node) if tensor in node.output), 0)
        g.node.insert(at, helper.make_node("Concat", [past, tensor], [present], name=f"/hwsim/past.{layer}.{kind}",
                                           axis=2))
        kv.append(KvInput(past, layer, kind, shape[1], shape[3]))
    roles = model.inputs + tuple((k.name, "kv") for k in kv)
    return replace(model, proto=proto, inputs=roles, kv=tuple(kv), mask_spans_past=False)


_PASS_THROUGH = ("Transpose", "Reshape", "Expand", "Unsqueeze", "Squeeze", "Identity", "Cast")


def _heads_tensor(graph: Graph, producers: Mapping[str, object], operand: str, model: str, where: str) -> str:
    """The ``[batch, heads, sequence, head_dim]`` tensor behind an attention MatMul's second operand."""
    cur, found = operand, None
    for _ in range(8):
        shape = graph.shape(cur)
        if len(shape) == 4 and shape[0] == _PROBE_BATCH and shape[2] == _PROBE_SEQ:
            found = cur  # the earliest such tensor: before a repeat_kv, the cache's own heads
        node = producers.get(cur)
        if node is None or node.op_type not in _PASS_THROUGH:  # type: ignore[attr-defined]
            break
        cur = node.inputs[0]  # type: ignore[attr-defined]
    if found is not None:
        return found
    raise UserError(f"{model}: found no [batch, heads, sequence, head_dim] keys or values before attention "
                    f"'{shown(where)}'; export the decoder with past_key_values (optimum-cli export onnx --task "
                    "text-generation-with-past)")

"""What each workload of a transformer step is part of: its phase and its transformer layer.

Contract: :func:`label` gives every workload of a lowered step (after
:func:`compiler.passes.llm_pipeline`) a :class:`Label`, from the graph's structure, not from op
names:

- ``attention_scores``: a GEMM of two activations whose result reaches a Softmax through vector
  and data-movement layers only; ``attention_values``: one whose streamed operand comes from a
  Softmax that way;
- ``projections``: a weight GEMM inside a layer whose result reaches an attention GEMM (queries,
  keys, values), or whose streamed operand comes from an attention-values GEMM (the output
  projection), through non-GEMM layers;
- ``mlp``: the other weight GEMMs inside a layer; ``head``: weight GEMMs outside every layer (the
  LM head, OPT's projections in and out, BERT's pooler);
- ``kv_write``: the in-place appends to the KV cache (the layers writing a tensor of ``kv``);
- ``vector``, ``movement``: the rest, by kind (free views are ``movement`` and cost nothing);
  ``other``: a GEMM of two activations that is neither scores nor values.

A workload's layer is the number in its name's module scope (``/model/layers.3/...``,
``/transformer/h.3/...``, ``/encoder/layer.3/...``) or its KV cache's (``present.3.key``);
``None`` for what runs before the first layer or after the last (embeddings, the attention mask,
the final norm, the head).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import AbstractSet

from hwsim.core.workload import Kind, LoweredModel, Workload

from ..passes.kv_append import kv_layer

__all__ = ["Label", "PHASES", "label"]

#: Phases in report order.
PHASES = ("projections", "attention_scores", "attention_values", "mlp", "head", "kv_write", "vector",
          "movement", "other")
_LAYER = re.compile(r"(?:^|[/._])(?:layers|layer|h|blocks|block)[._/](\d+)(?=[/._]|$)")
_DEPTH = 16  # non-GEMM layers between a projection and its attention (head split, rotary, cache)


@dataclass(frozen=True)
class Label:
    phase: str
    layer: int | None


def _layer_of(w: Workload) -> int | None:
    for r in w.outputs:
        kv = kv_layer(r.name)
        if kv is not None:
            return kv[0]
    match = _LAYER.search(w.name)
    return int(match.group(1)) if match else None


def label(lowered: LoweredModel, kv: AbstractSet[str] = frozenset()) -> tuple[Label, ...]:
    """Every workload's label; ``kv`` names the KV cache's tensors (:func:`compiler.llm.model.kv_tensors`)."""
    ws = lowered.workloads
    producer: dict[str, int] = {}
    readers: dict[str, list[int]] = {}
    for i, w in enumerate(ws):
        if w.kind is Kind.VIEW:
            continue
        for r in w.outputs:
            producer.setdefault(r.name, i)
        for r in w.inputs:
            readers.setdefault(r.name, []).append(i)

    def forward(i: int) -> set[int]:
        """Layers reached from ``i``'s results through non-GEMM layers (GEMMs reached included)."""
        seen, frontier = set(), [i]
        for _ in range(_DEPTH):
            nxt = []
            for j in frontier:
                for r in ws[j].outputs:
                    for k in readers.get(r.name, ()):
                        if k not in seen:
                            seen.add(k)
                            if ws[k].kind is not Kind.GEMM:
                                nxt.append(k)
            frontier = nxt
        return seen

    def backward(name: str) -> set[int]:
        """Layers behind tensor ``name`` through non-GEMM layers (GEMMs reached included)."""
        seen, frontier = set(), [name]
        for _ in range(_DEPTH):
            nxt = []
            for t in frontier:
                j = producer.get(t)
                if j is not None and j not in seen:
                    seen.add(j)
                    if ws[j].kind is not Kind.GEMM:
                        nxt.extend(r.name for r in ws[j].inputs)
            frontier = nxt
        return seen

    softmax = {i for i, w in enumerate(ws) if w.op == "Softmax"}
    attention = [i for i, w in enumerate(ws) if w.kind is Kind.GEMM and not w.b_is_weight]
    values = {i for i in attention if any(softmax & backward(r.name) for r in ws[i].operand("a"))}
    scores = {i for i in attention if i not in values and softmax & forward(i)}
    layers = [_layer_of(w) for w in ws]
    out: list[Label] = []
    for i, w in enumerate(ws):
        if i in scores:
            phase = "attention_scores"
        elif i in values:
            phase = "attention_values"
        elif w.kind is Kind.GEMM and not w.b_is_weight:
            phase = "other"
        elif w.kind is Kind.GEMM:
            if layers[i] is None:
                phase = "head"
            elif forward(i) & (scores | values) or any(backward(r.name) & values for r in w.operand("a")):
                phase = "projections"
            else:
                phase = "mlp"
        elif any(r.name in kv for r in w.outputs):
            phase = "kv_write"
        else:
            phase = "vector" if w.kind is Kind.VECTOR else "movement"
        out.append(Label(phase, layers[i]))
    return tuple(out)

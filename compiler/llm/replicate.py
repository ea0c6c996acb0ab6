"""A deep decoder's step from a three-layer one: the same workloads, layer by layer, without
importing and lowering every layer.

A decoder built from a spec (:mod:`compiler.llm.build`) repeats one layer: layer ``i``'s nodes and
tensors are layer ``1``'s with the index in their names (``/model/layers.1/...``,
``/transformer/h.1/...``, ``present.1.key``) changed, reading layer ``i - 1``'s output where
layer 1 reads layer 0's. Contract: :func:`expand` turns the lowered step of the spec's three-layer
version into the lowered step of its ``layers``-layer version, equal workload for workload to
lowering that model itself (``tests/llm/test_replicate.py`` holds it to that): what runs before
the first layer and layer 0 as they are, layer 1 once for each of layers ``1 .. layers - 2``,
layer 2 as the last layer, and what runs after it reading the last layer.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import AbstractSet, Callable, Iterable

from hwsim.core.workload import LoweredModel, TensorRef, Workload

__all__ = ["TEMPLATE_LAYERS", "expand", "expand_names", "expand_set"]

#: Layers of the template model: the first, one in the middle, the last.
TEMPLATE_LAYERS = 3
_INDEX = re.compile(r"(?<![A-Za-z0-9_])(layers|h|present|past_key_values)([._])(\d+)(?=[/._]|$)")


def _index(name: str) -> int | None:
    found = {int(m.group(3)) for m in _INDEX.finditer(name)}
    return max(found) if found else None


def _renamer(mapping: dict[int, int]) -> Callable[[str], str]:
    def rename(name: str) -> str:
        return _INDEX.sub(lambda m: f"{m.group(1)}{m.group(2)}{mapping.get(int(m.group(3)), int(m.group(3)))}", name)
    return rename


def _rename(w: Workload, rename: Callable[[str], str]) -> Workload:
    def refs(rs: tuple[TensorRef, ...]) -> tuple[TensorRef, ...]:
        return tuple(TensorRef(rename(r.name), r.elems, r.size, r.role, r.bits) for r in rs)
    return replace(w, name=rename(w.name), nodes=tuple(rename(n) for n in w.nodes), inputs=refs(w.inputs),
                   outputs=refs(w.outputs))


def _layer(w: Workload) -> int | None:
    """The layer whose scope names ``w`` (its own name's index, else its outputs')."""
    own = _index(w.name)
    return own if own is not None else max((i for r in w.outputs if (i := _index(r.name)) is not None),
                                           default=None)


def expand(lowered: LoweredModel, layers: int) -> LoweredModel:
    """The ``layers``-layer step from the three-layer ``lowered`` (module docstring)."""
    if layers <= TEMPLATE_LAYERS:
        raise ValueError(f"expand builds more than {TEMPLATE_LAYERS} layers, not {layers}")
    parts: dict[object, list[Workload]] = {"before": [], 0: [], 1: [], 2: [], "after": []}
    for w in lowered.workloads:
        layer = _layer(w)
        if layer is None:
            parts["after" if parts[0] else "before"].append(w)
        elif layer in (0, 1, 2):
            if parts["after"]:
                raise ValueError(f"{w.name}: a layer's workload after the layers")
            parts[layer].append(w)
        else:
            raise ValueError(f"{w.name}: layer {layer} in a three-layer template")
    last = layers - 1
    out = parts["before"] + parts[0]
    for j in range(1, last):
        rename = _renamer({0: j - 1, 1: j})
        out += [_rename(w, rename) for w in parts[1]]
    rename = _renamer({1: last - 1, 2: last})
    out += [_rename(w, rename) for w in parts[2]]
    out += [_rename(w, _renamer({2: last})) for w in parts["after"]]
    return replace(lowered, workloads=tuple(out), outputs=tuple(expand_names(lowered.outputs, layers)))


def expand_names(names: Iterable[str], layers: int) -> list[str]:
    """Tensor names of the template (model outputs, KV-cache tensors) for the ``layers``-layer model,
    in order: each run of layer 1's names once for each middle layer."""
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        for j in range(1, layers - 1):
            out.extend(_renamer({1: j})(n) for n in block)
        block.clear()

    for name in names:
        index = _index(name)
        if index == 1:
            block.append(name)
            continue
        flush()
        out.append(_renamer({2: layers - 1})(name) if index == 2 else name)
    flush()
    return out


def expand_set(names: AbstractSet[str], layers: int) -> frozenset[str]:
    return frozenset(expand_names(names, layers))

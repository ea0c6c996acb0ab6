"""A token's keys and values are appended to the KV cache in place.

Contract: a Concat of two inputs whose first is a KV-cache input (a graph input, or the empty
constant that stands for it in a prefill, named as :data:`KV_INPUT` matches, such as
``past_key_values.3.key``) gets ``meta.appends_to`` naming that cache. Lowering then counts only
the appended keys or values as read and written: the exporters' ``torch.cat((past, new))`` copies
the whole cache every step, where a serving engine writes the new entries into the cache it keeps in
memory and the attention reads the cache once (docs/llm.md#kv-cache). Every other node is unchanged.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..graph import Graph, Node

__all__ = ["run", "KV_INPUT", "KV_OUTPUT", "kv_layer"]

#: Names exporters give KV-cache inputs: ``past_key_values.0.key`` (Optimum, transformers),
#: ``past_key.0`` / ``past_value.0``, ``past.0.key``; group 1 or 3 is the layer, 2 or 4 key/value.
KV_INPUT = re.compile(r"^past(?:_key_values)?[._](\d+)[._](key|value)$|^past[._](key|value)[._](\d+)$")
#: Names of the updated caches the exporters output: ``present.0.key``, ``present_key.0``, ...
KV_OUTPUT = re.compile(r"^present(?:_key_values)?[._](\d+)[._](key|value)$|^present[._](key|value)[._](\d+)$")


def kv_layer(name: str) -> tuple[int, str] | None:
    """``(layer, "key" | "value")`` of a KV-cache input or output name, else ``None``."""
    match = KV_INPUT.match(name) or KV_OUTPUT.match(name)
    if match is None:
        return None
    if match.group(1) is not None:
        return int(match.group(1)), match.group(2)
    return int(match.group(4)), match.group(3)


def _is_cache(name: str, graph: Graph) -> bool:
    return KV_INPUT.match(name) is not None and (name in graph.inputs or graph.is_constant(name))


def run(graph: Graph) -> Graph:
    nodes: list[Node] = []
    changed = False
    for node in graph.nodes:
        if (node.op_type == "Concat" and not node.domain and len(node.inputs) == 2
                and _is_cache(node.inputs[0], graph) and not node.meta.appends_to):
            node = replace(node, meta=replace(node.meta, appends_to=node.inputs[0]))
            changed = True
        nodes.append(node)
    return replace(graph, nodes=tuple(nodes)) if changed else graph

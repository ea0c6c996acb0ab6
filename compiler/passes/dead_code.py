"""Remove nodes none of whose outputs reach a graph output, and constants nothing reads any more.

Contract: the remaining nodes keep their order; ``graph.constants`` and ``graph.weights`` keep only
names read by a remaining node (including fused epilogues) or named as graph outputs. Tensor
metadata (``graph.tensors``) is kept for every name.
"""

from __future__ import annotations

from dataclasses import replace

from ..graph import Graph, Node

__all__ = ["run"]


def run(graph: Graph) -> Graph:
    live = set(graph.outputs)
    kept: list[Node] = []
    for node in reversed(graph.nodes):
        if any(o in live for o in node.outputs if o):
            kept.append(node)
            live.update(node.reads())
    kept.reverse()
    constants = {k: v for k, v in graph.constants.items() if k in live}
    weights = frozenset(w for w in graph.weights if w in live)
    if len(kept) == len(graph.nodes) and len(constants) == len(graph.constants) and weights == graph.weights:
        return graph
    return replace(graph, nodes=tuple(kept), constants=constants, weights=weights)

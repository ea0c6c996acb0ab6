"""Remove nodes whose outputs are known before run time.

Contract: a node is folded when all of its outputs already have values in ``graph.constants``
(``Shape`` of a static tensor and everything the importer computed from it), or when all of its
inputs are constants (:meth:`Graph.is_constant`) and its operator has a kernel
(:data:`compiler.kernels.KERNELS`). Folded outputs whose values are not materialized (weights
absent, or too large to keep) become derived parameters in ``graph.weights``, so a
``DequantizeLinear`` of an int8 weight or a ``Transpose`` of a weight becomes part of the weight,
not run-time work. The decision never looks at values, only at which names are constant.
"""

from __future__ import annotations

from dataclasses import replace

from ..graph import Graph
from ..kernels import KERNELS

__all__ = ["run"]


def run(graph: Graph) -> Graph:
    constants = graph.constants
    weights = set(graph.weights)
    kept = []
    for node in graph.nodes:
        outputs = [o for o in node.outputs if o]
        foldable = not node.domain and (
            all(o in constants for o in outputs)
            or (node.op_type in KERNELS and all(i in weights or i in constants for i in node.inputs if i))
        )
        if foldable:
            weights.update(o for o in outputs if o not in constants)
        else:
            kept.append(node)
    if len(kept) == len(graph.nodes):
        return graph
    return replace(graph, nodes=tuple(kept), weights=frozenset(weights))

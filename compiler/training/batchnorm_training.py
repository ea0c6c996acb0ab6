"""Put every BatchNormalization into training mode.

Contract: each BatchNormalization gets ``training_mode = 1``: it normalizes with the batch's own
mean and (biased) variance over the batch and spatial axes, and its scale and shift are trained.
The default pipeline folds inference BatchNormalization into the preceding convolution
(:mod:`compiler.passes.fold_batchnorm`); a training program never does. Nothing else changes.
"""

from __future__ import annotations

from dataclasses import replace

from ..graph import Graph

__all__ = ["run"]


def run(graph: Graph) -> Graph:
    nodes = tuple(replace(n, attrs={**n.attrs, "training_mode": 1})
                  if n.op_type == "BatchNormalization" and not n.domain and not n.attr("training_mode", 0) else n
                  for n in graph.nodes)
    return graph if nodes == graph.nodes else replace(graph, nodes=nodes)

"""Compute in float64: every float32 value of the graph becomes float64.

Contract: the static types (``graph.tensors``) and the constants of dtype float32 become float64, and
so do Cast nodes to float32 (and a ConstantOfShape's fill value); nothing else changes. Not part of
the default pipeline: ``hwsim run --training-step --precision fp64`` applies it so that gradients can
be checked against central finite differences, which float32 rounding would swamp.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from onnx import TensorProto

from ..graph import Graph, Node

__all__ = ["run"]


def _node(node: Node) -> Node:
    if node.domain:
        return node
    if node.op_type == "Cast" and int(node.attr("to", 0)) == TensorProto.FLOAT:
        return replace(node, attrs={**node.attrs, "to": TensorProto.DOUBLE})
    value = node.attr("value")
    if node.op_type == "ConstantOfShape" and isinstance(value, np.ndarray) and value.dtype == np.float32:
        return replace(node, attrs={**node.attrs, "value": value.astype(np.float64)})
    return node


def run(graph: Graph) -> Graph:
    tensors = {name: replace(info, dtype="float64") if info.dtype == "float32" else info
               for name, info in graph.tensors.items()}
    constants = {name: value.astype(np.float64) if value.dtype == np.float32 else value
                 for name, value in graph.constants.items()}
    return replace(graph, nodes=tuple(_node(n) for n in graph.nodes), tensors=tensors, constants=constants)

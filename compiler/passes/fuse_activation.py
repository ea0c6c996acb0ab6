"""Fuse the element-wise chain after a GEMM operator into it as an epilogue.

Contract: after a Conv, ConvTranspose, Gemm, MatMul, Einsum or quantized GEMM (``ConvInteger``,
``MatMulInteger``, ``QLinearConv``, ``QLinearMatMul``), a chain of single-consumer nodes is absorbed
while each one is

- an activation (Relu, Clip, Sigmoid, HardSigmoid, HardSwish, LeakyRelu, PRelu, Tanh, Elu, Selu,
  Celu, Softplus, Softsign, ThresholdedRelu, Gelu, Mish) whose other inputs are constants, or
- Add/Sub/Mul/Div with a constant operand that does not change the shape (bias, scale), or
- QuantizeLinear with constant scale and zero point (requantization in QDQ models).

The GEMM node keeps its name, op type, inputs and ONNX attributes; it takes the chain's last output
as its output and the absorbed nodes, unchanged and in order, as ``meta.epilogue`` (see
:class:`~compiler.graph.NodeMeta`); the first reads the GEMM's own result, named
``meta.gemm_output``, each later one the previous one's output. Lowering reports it as one
workload, op ``"Conv+Relu"``, whose ``nodes`` list them all. Chains stop at graph outputs.
"""

from __future__ import annotations

from dataclasses import replace

from ..graph import Graph, Node
from ..ops.gemm import GEMM_OPS
from ..ops.shapes import broadcast

__all__ = ["run", "ACTIVATIONS"]

ACTIVATIONS = frozenset({"Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu", "PRelu", "Tanh",
                         "Elu", "Selu", "Celu", "Softplus", "Softsign", "ThresholdedRelu", "Gelu", "Mish"})
_ARITH = frozenset({"Add", "Sub", "Mul", "Div"})


def _absorbable(node: Node, value: str, graph: Graph) -> bool:
    outputs = [o for o in node.outputs if o]
    if node.domain or len(outputs) != 1 or not node.inputs:
        return False
    others = [i for i in node.inputs if i and i != value]
    if node.op_type in ACTIVATIONS or node.op_type == "QuantizeLinear":
        return node.inputs[0] == value and all(graph.is_constant(i) for i in others)
    if node.op_type in _ARITH and len(node.inputs) == 2 and len(others) == 1:
        other = others[0]
        if node.op_type in ("Sub", "Div") and node.inputs[1] != other:
            return False  # const - x and const / x are not epilogues of x
        shape = graph.shape(value)
        return graph.is_constant(other) and broadcast(graph.shape(other), shape) == shape
    return False


def run(graph: Graph) -> Graph:
    users = graph.consumers()
    outputs = set(graph.outputs)
    fused: dict[str, Node] = {}
    absorbed: set[str] = set()
    for node in graph.nodes:
        if node.op_type not in GEMM_OPS or node.domain or node.name in absorbed:
            continue
        chain: list[Node] = []
        value = node.outputs[0]
        while value not in outputs and len(users.get(value, ())) == 1:
            follower = users[value][0]
            if follower.inputs.count(value) != 1 or not _absorbable(follower, value, graph):
                break
            chain.append(follower)
            value = follower.outputs[0]
        if chain:
            meta = replace(node.meta, epilogue=node.meta.epilogue + tuple(chain),
                           gemm_output=node.meta.gemm_output or node.outputs[0])
            fused[node.name] = replace(node, outputs=(value,) + node.outputs[1:], meta=meta)
            absorbed.update(n.name for n in chain)
    if not fused:
        return graph
    nodes = tuple(fused.get(n.name, n) for n in graph.nodes if n.name not in absorbed)
    return replace(graph, nodes=nodes)

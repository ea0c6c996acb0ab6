"""Fuse the element-wise chain after a GEMM operator into it as an epilogue on its store path.

Contract: after a GEMM operator (:data:`compiler.ops.gemm.GEMM_OPS`), a chain of single-consumer
nodes is absorbed while each one is, in its store-path family (:func:`family`):

- ``activation``: Relu, Clip, Sigmoid, HardSigmoid, HardSwish, LeakyRelu, PRelu, Tanh, Elu, Selu,
  Celu, Softplus, Softsign, ThresholdedRelu, Gelu, Mish, whose other inputs are constants;
- ``scale``: Add/Sub/Mul/Div with a constant operand that does not change the shape (bias, scale),
  or an inference BatchNormalization with constant parameters;
- ``requantize``: QuantizeLinear with constant scale and zero point (QDQ models);
- ``residual``: Add/Sub/Mul with an activation operand of the result's shape, computed before the
  GEMM (a ResNet shortcut): it is read as the results stream out;
- ``pool``: MaxPool or AveragePool (its Indices output unused).

Whether the accelerator's store path can do a family is the config's to say; the program builder
charges the steps it cannot do as a separate pass (docs/model.md#fusion). The GEMM node keeps its
name, op type, inputs and ONNX attributes; it takes the chain's last output as its output and the
absorbed nodes, unchanged and in order, as ``meta.epilogue`` (see :class:`~compiler.graph.NodeMeta`);
the first reads the GEMM's own result, named ``meta.gemm_output``, each later one the previous one's
output. Lowering reports it as one workload, op ``"Conv+Add+Relu"``, whose ``nodes`` list them all.
Chains stop at graph outputs.
"""

from __future__ import annotations

from dataclasses import replace

from ..graph import Graph, Node
from ..ops.gemm import GEMM_OPS
from ..ops.shapes import broadcast

__all__ = ["run", "family", "ACTIVATIONS"]

ACTIVATIONS = frozenset({"Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu", "PRelu", "Tanh",
                         "Elu", "Selu", "Celu", "Softplus", "Softsign", "ThresholdedRelu", "Gelu", "Mish"})
_ARITH = frozenset({"Add", "Sub", "Mul", "Div"})
_RESIDUAL = frozenset({"Add", "Sub", "Mul"})
_POOLS = frozenset({"MaxPool", "AveragePool"})


def family(node: Node, value: str, graph: Graph, available: set[str], users: dict[str, list[Node]]) -> str | None:
    """The store-path family of ``node`` as a follower reading ``value``, or ``None`` if it cannot be
    fused; ``available`` holds the values computed before the GEMM (a residual must be one of them),
    ``users`` every value's consumers."""
    outputs = [o for o in node.outputs if o]
    if node.domain or not node.inputs:
        return None
    others = [i for i in node.inputs if i and i != value]
    if node.op_type in ACTIVATIONS or node.op_type == "QuantizeLinear":
        if len(outputs) != 1 or node.inputs[0] != value or not all(graph.is_constant(i) for i in others):
            return None
        return "activation" if node.op_type in ACTIVATIONS else "requantize"
    if node.op_type == "BatchNormalization":
        if node.inputs[0] != value or node.attr("training_mode", 0) or len(node.inputs) < 5:
            return None
        if any(o in users or o in graph.outputs for o in node.outputs[1:] if o):
            return None
        return "scale" if all(graph.is_constant(i) for i in node.inputs[1:5]) else None
    if node.op_type in _POOLS:
        return "pool" if node.inputs[0] == value and len(outputs) == 1 else None
    if node.op_type in _ARITH and len(node.inputs) == 2 and len(others) == 1 and len(outputs) == 1:
        other = others[0]
        shape = graph.shape(value)
        if graph.is_constant(other):
            if node.op_type in ("Sub", "Div") and node.inputs[1] != other:
                return None  # const - x and const / x are not epilogues of x
            return "scale" if broadcast(graph.shape(other), shape) == shape else None
        if node.op_type in _RESIDUAL and graph.shape(other) == shape and other in available:
            if node.op_type == "Sub" and node.inputs[1] == value:
                return None  # other - x: keep the GEMM's result as the minuend only
            return "residual"
    return None


def run(graph: Graph) -> Graph:
    users = graph.consumers()
    outputs = set(graph.outputs)
    available = set(graph.inputs) | set(graph.constants) | set(graph.weights)
    fused: dict[str, Node] = {}
    absorbed: set[str] = set()
    for node in graph.nodes:
        if node.op_type in GEMM_OPS and not node.domain and node.name not in absorbed:
            chain: list[Node] = []
            families: list[str] = []
            value = node.outputs[0]
            while value not in outputs and len(users.get(value, ())) == 1:
                follower = users[value][0]
                kind = family(follower, value, graph, available, users) if follower.inputs.count(value) == 1 else None
                if kind is None:
                    break
                chain.append(follower)
                families.append(kind)
                value = follower.outputs[0]
            if chain:
                meta = replace(node.meta, epilogue=node.meta.epilogue + tuple(chain),
                               families=node.meta.families + tuple(families),
                               gemm_output=node.meta.gemm_output or node.outputs[0])
                fused[node.name] = replace(node, outputs=(value,) + node.outputs[1:], meta=meta)
                absorbed.update(n.name for n in chain)
        if node.name not in absorbed:
            available.update(o for o in fused.get(node.name, node).outputs if o)
    if not fused:
        return graph
    nodes = tuple(fused.get(n.name, n) for n in graph.nodes if n.name not in absorbed)
    return replace(graph, nodes=nodes)

"""Graph -> :class:`~hwsim.core.workload.LoweredModel`: one workload per remaining node.

GEMM operators become :attr:`Kind.GEMM` workloads through :mod:`compiler.ops.gemm`, with their fused
epilogue (see :mod:`compiler.passes.fuse_activation`) charged on the vector unit. Every other operator
is classified by :data:`compiler.ops.costs.TABLE` as vector work, data movement or a free view;
anything else is unsupported: a :class:`~hwsim.core.errors.UserError`, or with ``allow_unsupported``
a line in :attr:`LoweredModel.skipped`.

Element counts: ``input_elems`` sums the activation inputs a node reads (each distinct name once;
Slice and the Gathers read only as many data elements as they write), ``weight_elems`` the constant
operands (weights, bias, LayerNorm's scale, an embedding's gathered rows, ...) but not parameters
such as shapes, axes or quantization scales, ``output_elems`` all outputs, and ``vector_ops`` the
operator's cost per element of its first output times that output's size.

>>> from compiler.importer import load_model
>>> from compiler.passes import default_pipeline
>>> from compiler.zoo import resnet18
>>> lowered = lower(default_pipeline(load_model(resnet18())))
>>> lowered.macs, lowered.workloads[0].op, lowered.workloads[0].gemm
(1814073344, 'Conv+Relu', GemmShape(m=12544, k=147, n=64, groups=1))
"""

from __future__ import annotations

from hwsim.core.errors import UserError
from hwsim.core.workload import Kind, LoweredModel, Skipped, Workload

from .graph import Graph, Node
from .ops import ShapeError
from .ops.costs import PARTIAL_READ, OpClass, classify, ops_per_output, unit_cost
from .ops.gemm import gemm_view

__all__ = ["lower"]


def lower(graph: Graph, *, allow_unsupported: bool = False) -> LoweredModel:
    """Lower every node of ``graph`` (normally after :func:`compiler.passes.default_pipeline`)."""
    workloads: list[Workload] = []
    skipped: list[Skipped] = list(graph.skipped)
    for node in graph.nodes:
        entry = classify(node)
        reason = "" if entry is not None else "unsupported operator (see docs/ops.md)"
        workload = None
        if entry is not None:
            try:
                workload = _gemm(node, graph) if entry.kind is Kind.GEMM else _other(node, entry, graph)
            except ShapeError as exc:
                reason = str(exc)
        if workload is not None:
            workloads.append(workload)
        elif allow_unsupported:
            domain = f" in domain '{node.domain}'" if node.domain else ""
            skipped.append(Skipped(node.name, node.op_type, f"{reason}{domain}"))
        else:
            domain = f" (domain '{node.domain}')" if node.domain else ""
            raise UserError(f"{graph.name}: {node.op_type}{domain} node '{node.name}': {reason}; rerun with"
                            " --allow-unsupported to estimate the rest of the model without it")
    return LoweredModel(graph.name, tuple(workloads), tuple(skipped))


def _split(names: list[str], graph: Graph, counts: dict[str, int] | None = None) -> tuple[int, int]:
    """(activation elements, constant elements) over distinct names."""
    acts = consts = 0
    for name in dict.fromkeys(names):
        size = counts.get(name, graph.info(name).size) if counts else graph.info(name).size
        if graph.is_constant(name):
            consts += size
        else:
            acts += size
    return acts, consts


def _outputs(node: Node, graph: Graph) -> int:
    return sum(graph.info(o).size for o in node.outputs if o)


def _data_inputs(node: Node, entry: OpClass) -> list[tuple[int, str]]:
    return [(i, name) for i, name in enumerate(node.inputs)
            if name and (entry.data is None or i in entry.data)]


def _gemm(node: Node, graph: Graph) -> Workload:
    view = gemm_view(node, graph)
    operands = [view.a, view.b] + ([view.bias] if view.bias else [])
    vector_ops = sum(unit_cost(op) * elems for op, elems in view.implied)
    epilogue = node.meta.epilogue
    previous = node.meta.gemm_output
    for inner in epilogue:
        entry = classify(inner)
        assert entry is not None, inner.op_type  # fusion only absorbs tabled operators
        operands += [name for _, name in _data_inputs(inner, entry) if name != previous]
        vector_ops += ops_per_output(inner, graph) * graph.info(inner.outputs[0]).size
        previous = inner.outputs[0]
    acts, consts = _split(operands, graph)
    return Workload(
        name=node.name,
        op="+".join([node.op_type] + [e.op_type for e in epilogue]),
        kind=Kind.GEMM,
        gemm=view.shape,
        input_elems=acts,
        weight_elems=consts,
        output_elems=_outputs(node, graph),
        vector_ops=vector_ops,
        b_is_weight=view.b_is_weight(graph),
        nodes=(node.name, *node.meta.folded, *(e.name for e in epilogue)),
    )


def _other(node: Node, entry: OpClass, graph: Graph) -> Workload:
    inputs = _data_inputs(node, entry)
    first_out = graph.info(node.outputs[0]).size
    counts = {name: min(graph.info(name).size, first_out)
              for i, name in inputs if i == 0 and node.op_type in PARTIAL_READ}
    acts, consts = _split([name for _, name in inputs], graph, counts)
    kind = entry.kind
    per_output = ops_per_output(node, graph) if kind is Kind.VECTOR else 0
    return Workload(
        name=node.name,
        op=node.op_type,
        kind=kind,
        input_elems=acts,
        weight_elems=consts,
        output_elems=_outputs(node, graph),
        vector_ops=per_output * first_out,
        nodes=(node.name,),
    )

"""Remove nodes that pass their input through unchanged: Identity, inference-mode Dropout, a Cast
to the dtype the value already has.

Contract: consumers of the removed node's output read its input instead. When the output is a graph
output, the producer of the input is renamed to write the graph output directly; if that is not
possible (the input is itself a graph input, output or constant) the node is kept, so graph inputs
and outputs keep their names. A Dropout whose mask output is used is kept.
"""

from __future__ import annotations

from dataclasses import replace

from ..graph import Graph, Node

__all__ = ["run"]


def _passthrough(node: Node, graph: Graph, used: set[str]) -> bool:
    if node.domain or not node.inputs or not node.inputs[0]:
        return False
    if node.op_type == "Identity":
        return True
    if node.op_type == "Dropout":
        return not any(o in used for o in node.outputs[1:] if o)
    if node.op_type == "Cast":
        return graph.info(node.inputs[0]).dtype == graph.info(node.outputs[0]).dtype
    return False


def run(graph: Graph) -> Graph:
    used = {i for node in graph.nodes for i in node.inputs if i} | set(graph.outputs)
    graph_outputs = set(graph.outputs)
    produced = {o for node in graph.nodes for o in node.outputs if o}
    alias: dict[str, str] = {}  # removed output -> the value consumers read instead
    rename: dict[str, str] = {}  # producer output -> graph output it now writes
    removed: set[str] = set()
    for node in graph.nodes:
        if not _passthrough(node, graph, used):
            continue
        source, target = alias.get(node.inputs[0], node.inputs[0]), node.outputs[0]
        if target not in graph_outputs:
            alias[target] = source
        elif source in produced and source not in graph_outputs and source not in rename:
            rename[source] = target
        else:
            continue
        removed.add(node.name)
    if not removed:
        return graph

    def resolve(name: str) -> str:
        name = alias.get(name, name)
        return rename.get(name, name)

    nodes = tuple(
        replace(node, inputs=tuple(resolve(i) if i else "" for i in node.inputs),
                outputs=tuple(rename.get(o, o) if o else "" for o in node.outputs))
        for node in graph.nodes if node.name not in removed
    )
    return replace(graph, nodes=nodes)

"""Fuse a training step's element-wise layers into the layer whose result they read.

Contract: :func:`groups` partitions the lowered nodes of a training graph into *fusion groups*,
and :func:`lower` lowers the graph with one workload per group (:func:`compiler.lowering.lower`
for each node first). A group is an **anchor** (a GEMM, or a vector layer no earlier group took)
and the **followers** that read a value computed inside the group, each of a
store-path family (:data:`hwsim.core.workload.STORE_PATH_FAMILIES`):

- ``activation``, ``scale``, ``residual``: the inference families
  (:func:`compiler.passes.fuse_epilogue.family`: a ReLU, a constant scale, an Add of a tensor
  computed before the anchor), and ``Sum`` of two gradients of the same shape (``residual``: the
  gradient arriving at a fork, the other one computed before the anchor);
- ``gradient``: an activation's gradient ``dX = dY·f'(s)`` (ReluGrad, SigmoidGrad, TanhGrad,
  ClipGrad, GeluGrad, ...) reading ``dY`` in the group and its stashed tensor ``s``, computed
  before the anchor (the forward pass wrote it);
- ``statistics``: the per-channel reductions of a normalization's backward pass
  (BatchNormalizationParamGrad, LayerNormalizationParamGrad: ``Σ dY`` and ``Σ dY·x̂``), reading ``dY``
  in the group and the stashed input ``x``, and a bias's gradient (``SumTo``: ``dY`` summed over
  the broadcast axes; ``scale`` when it only scales); they write only the reduced vectors.

A follower's other inputs are all computed before its anchor (or constant), so the group runs at
its anchor's place. Followers are in the anchor's part of the step (forward, recompute, or the
backward pass; the optimizer is never fused) and do not read through a view. Nothing else joins:
a training-mode BatchNormalization and a normalization's data gradient need the statistics of
their whole input, complete only when the layer that writes it has finished, so each anchors a
group of its own (the following ReLU, residual Add and ReLU join it) rather than following its
producer (Jung
et al., "Restructuring Batch Normalization to Accelerate CNN Training", MLSys 2019: BN's two
parts are its statistics, which can ride on the producer, and its normalization, which cannot).

The workload of a group reads every tensor its members read from outside the group once (a GEMM
group's extra tensors in role ``extra``, read as the results stream out) and writes every value a
member computes that a node outside the group reads (or a graph output); a value read only inside
the group never goes to memory. MACs, vector operations and the graph itself are unchanged: the
executor (``hwsim run --training-step``) runs every node as before, and a GEMM group's array tiles
are its anchor's. A group takes its anchor's name and phase; its ``op`` joins the members'
(``ConvTranspose+Sum+ReluGrad+BatchNormalizationParamGrad``) and ``epilogue`` lists the followers.
A GEMM takes only followers whose family is in ``store_path`` (the config's: what its store path
can apply); a follower it cannot take anchors a vector group of its own, whose input is then an
ordinary tensor. In a vector group the vector unit applies every step to each block it holds, so
no store path is involved. When a GEMM writes a training-mode BatchNormalization's input and its
store path has ``statistics``, the GEMM also computes the BatchNorm's sums as it stores its results
(:data:`~compiler.ops.costs.BATCH_NORM_STATISTICS` of the BatchNorm's operations per element move
to it). docs/model.md#training-fusion states the rules and the costs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Collection

from hwsim.core.workload import STORE_PATH_FAMILIES, EpilogueStep, Kind, LoweredModel, TensorRef, Workload

from ..graph import Graph, Node
from ..lowering import lower as lower_graph
from ..ops import TRAINING_DOMAIN
from ..ops.costs import BATCH_NORM_STATISTICS, classify
from ..passes.fuse_epilogue import family as epilogue_family

__all__ = ["Group", "groups", "lower", "GRADIENTS", "STATISTICS"]

#: Activation gradients ``dX = op(dY, s, constants...)``: family ``gradient``.
GRADIENTS = frozenset({"ReluGrad", "SigmoidGrad", "TanhGrad", "SqrtGrad", "ClipGrad", "GeluGrad", "HardSigmoidGrad",
                       "HardSwishGrad", "ErfGrad", "PowGrad"})
#: Per-channel reductions of a normalization's backward pass ``(dY, x) -> (dScale, dBias)``: family ``statistics``.
STATISTICS = frozenset({"BatchNormalizationParamGrad", "LayerNormalizationParamGrad"})
#: The inference families a training follower may have (a pool changes the shape, a requantize has no place here).
_INFERENCE = frozenset({"activation", "scale", "residual"})
_PART = {"forward": "forward", "recompute": "recompute", "backward-data": "backward", "backward-weight": "backward"}


@dataclass(frozen=True)
class Group:
    """One fusion group: the ``anchor`` node's name and its ``followers`` in graph order with their
    ``families``."""

    anchor: str
    followers: tuple[str, ...] = ()
    families: tuple[str, ...] = ()


def _family(node: Node, value: str, graph: Graph, available: set[str], users: dict[str, list[Node]]) -> str | None:
    """The family of ``node`` as a follower reading the in-group ``value``, or ``None``."""
    outputs = [o for o in node.outputs if o]
    if node.inputs.count(value) != 1 or not outputs:
        return None
    others = [i for i in node.inputs if i and i != value]
    if not all(i in available for i in others):
        return None
    if node.domain == TRAINING_DOMAIN:
        if node.op_type == "SumTo" and node.inputs[0] == value and len(outputs) == 1:
            # A bias's gradient: dY summed to the bias's shape (or only scaled, to its own).
            return "scale" if graph.shape(outputs[0]) == graph.shape(value) else "statistics"
        if node.inputs[0] != value or len(node.inputs) < 2 or node.inputs[1] not in available:
            return None
        if node.op_type in GRADIENTS and len(outputs) == 1 and graph.shape(outputs[0]) == graph.shape(value) \
                and all(graph.is_constant(i) for i in node.inputs[2:] if i):
            return "gradient"
        if node.op_type in STATISTICS and graph.shape(node.inputs[1]) == graph.shape(value):
            return "statistics"
        return None
    if node.op_type == "Sum" and len(node.inputs) == 2 and len(outputs) == 1 \
            and graph.shape(others[0]) == graph.shape(value) == graph.shape(outputs[0]):
        return "residual"
    kind = epilogue_family(node, value, graph, available, users)
    return kind if kind in _INFERENCE else None


def _users(graph: Graph) -> dict[str, list[Node]]:
    """Every value's readers, a fused epilogue's operands included."""
    users: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for name in dict.fromkeys(node.reads()):
            users.setdefault(name, []).append(node)
    return users


def groups(graph: Graph, store_path: Collection[str] = STORE_PATH_FAMILIES) -> tuple[Group, ...]:
    """The fusion groups of ``graph``, in the order their anchors run, a GEMM taking only followers
    of the families in ``store_path``; a node in no group with followers is a group of its own.
    Nodes that lower to no vector or GEMM work are left out."""
    users = _users(graph)
    index = {n.name: i for i, n in enumerate(graph.nodes)}
    available = set(graph.inputs) | set(graph.constants) | set(graph.weights)
    absorbed: set[str] = set()
    found: list[Group] = []
    for node in graph.nodes:
        if node.name in absorbed:
            continue
        entry = classify(node)
        part = _PART.get(node.meta.phase)
        if entry is None or entry.kind not in (Kind.GEMM, Kind.VECTOR) or part is None:
            available.update(o for o in node.outputs if o)
            continue
        members: dict[str, str] = {}
        inside = [o for o in node.outputs if o]
        queue = list(inside)
        while queue:
            value = queue.pop(0)
            for user in users.get(value, ()):
                if user.name in absorbed or user.name in members or user is node \
                        or _PART.get(user.meta.phase) != part or index[user.name] < index[node.name]:
                    continue
                kind = classify(user)
                if kind is None or kind.kind is not Kind.VECTOR:
                    continue
                fam = _family(user, value, graph, available, users)
                if fam is None or (entry.kind is Kind.GEMM and fam not in store_path):
                    continue
                members[user.name] = fam
                produced = [o for o in user.outputs if o]
                inside.extend(produced)
                queue.extend(produced)
        order = sorted(members, key=index.__getitem__)
        absorbed.update(order)
        found.append(Group(node.name, tuple(order), tuple(members[m] for m in order)))
        available.update(inside)
    return tuple(found)


def _merge(group: Group, by_node: dict[str, Workload], outside: dict[str, bool]) -> Workload:
    """One workload for ``group`` from its members' workloads (``outside``: whether a value
    produced in the group is read outside it or is a graph output)."""
    anchor = by_node[group.anchor]
    members = [by_node[m] for m in group.followers]
    produced = {r.name for w in (anchor, *members) for r in w.outputs}
    role = "extra" if anchor.kind is Kind.GEMM else "data"
    inputs: list[TensorRef] = list(anchor.inputs)
    seen = {(r.name, r.role) for r in inputs}
    for w in members:
        for r in w.inputs:
            if r.name in produced:
                continue
            ref = replace(r, role=role)
            if (ref.name, ref.role) not in seen:
                seen.add((ref.name, ref.role))
                inputs.append(ref)
    outputs = [r for w in (anchor, *members) for r in w.outputs if outside.get(r.name, True)]
    steps = tuple(EpilogueStep(w.op, fam, w.vector_ops) for w, fam in zip(members, group.families))
    return replace(
        anchor,
        op="+".join([anchor.op] + [w.op for w in members]),
        input_elems=sum(r.elems for r in inputs),
        weight_elems=anchor.weight_elems + sum(w.weight_elems for w in members),
        output_elems=sum(r.elems for r in outputs),
        vector_ops=anchor.vector_ops + sum(w.vector_ops for w in members),
        nodes=anchor.nodes + tuple(n for w in members for n in w.nodes),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        epilogue=anchor.epilogue + steps,
    )


def lower(graph: Graph, store_path: Collection[str] = STORE_PATH_FAMILIES) -> LoweredModel:
    """The workloads of training graph ``graph`` with every fusion group of :func:`groups` one
    workload, at its anchor's place, for a store path that can apply ``store_path``."""
    lowered = lower_graph(graph)
    by_node = {w.nodes[0]: w for w in lowered.workloads if w.nodes}
    fused = [g for g in groups(graph, store_path) if g.followers and g.anchor in by_node
             and all(f in by_node for f in g.followers)]
    member_of = {n: g for g in fused for n in (g.anchor, *g.followers)}
    users = _users(graph)
    graph_outputs = set(graph.outputs)
    outside: dict[str, bool] = {}
    for node in graph.nodes:
        g = member_of.get(node.name)
        if g is not None:
            names = {g.anchor, *g.followers}
            for out in node.outputs:
                if out:
                    outside[out] = out in graph_outputs or any(u.name not in names for u in users.get(out, ()))
    workloads: list[Workload] = []
    for w in lowered.workloads:
        name = w.nodes[0] if w.nodes else w.name
        g = member_of.get(name)
        if g is None:
            workloads.append(w)
        elif name == g.anchor:
            workloads.append(_merge(g, by_node, outside))
    if "statistics" in store_path:
        workloads = list(_statistics(workloads, graph))
    return replace(lowered, workloads=tuple(workloads))


def _statistics(workloads: list[Workload], graph: Graph) -> tuple[Workload, ...]:
    """A training-mode BatchNormalization whose input a GEMM layer of its phase writes takes its statistics
    (:data:`~compiler.ops.costs.BATCH_NORM_STATISTICS` operations per element) from that layer's
    store path, a ``statistics`` step over the stored result; its own pass only normalizes."""
    writer = {r.name: i for i, w in enumerate(workloads) if w.kind is Kind.GEMM for r in w.outputs}
    nodes = {n.name: n for n in graph.nodes}
    out = list(workloads)
    for i, w in enumerate(workloads):
        node = nodes.get(w.nodes[0]) if w.nodes else None
        if node is None or node.op_type != "BatchNormalization" or node.domain or not node.attr("training_mode", 0):
            continue
        j = writer.get(node.inputs[0])
        if j is None or workloads[j].phase != w.phase:
            continue  # a recomputed BatchNorm reading a forward checkpoint computes its own
        elems = graph.info(node.inputs[0]).size
        ops = BATCH_NORM_STATISTICS * elems
        step = EpilogueStep(node.op_type, "statistics", ops)
        out[j] = replace(out[j], vector_ops=out[j].vector_ops + ops, epilogue=out[j].epilogue + (step,))
        out[i] = replace(out[i], vector_ops=out[i].vector_ops - ops)
    return tuple(out)

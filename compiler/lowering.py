"""Graph -> :class:`~hwsim.core.workload.LoweredModel`: one workload per remaining node.

GEMM operators become :attr:`Kind.GEMM` workloads through :mod:`compiler.ops.gemm`, with their fused
epilogue (see :mod:`compiler.passes.fuse_epilogue`) charged on the vector unit. Every other operator
is classified by :data:`compiler.ops.costs.TABLE` as vector work, data movement or a free view;
anything else is unsupported: a :class:`~hwsim.core.errors.UserError`, or with ``allow_unsupported``
a line in :attr:`LoweredModel.skipped`.

Element counts: ``input_elems`` sums the activation inputs a node reads (each distinct name once;
Slice and the Gathers read only as many data elements as they write), ``weight_elems`` the constant
operands (weights, bias, LayerNorm's scale, an embedding's gathered rows, ...) but not parameters
such as shapes, axes or quantization scales, ``output_elems`` all outputs, and ``vector_ops`` the
operator's cost per element of its first output times that output's size (of its ``basis`` input
for the training operators that say so, :func:`compiler.ops.costs.cost_basis`). A node that extends
storage in place (``meta.appends_to``, a KV cache) reads and writes only what it appends. A Concat
whose every input is computed by a node of its own and read by nothing else is written in place
(:func:`in_place_concats`): its producers write their slices of its result, which is one tensor, and
the Concat is a free view. Each workload carries its node's training phase (``NodeMeta.phase``;
``""`` outside a training program).

>>> from compiler.importer import load_model
>>> from compiler.passes import default_pipeline
>>> from compiler.zoo import resnet18
>>> lowered = lower(default_pipeline(load_model(resnet18())))
>>> lowered.macs, lowered.workloads[0].op, lowered.workloads[0].gemm
(1814073344, 'Conv+Relu+MaxPool', GemmShape(m=12544, k=147, n=64, groups=1, taps=49, row=112))
"""

from __future__ import annotations

from hwsim.core.errors import UserError
from hwsim.core.workload import EpilogueStep, Kind, LoweredModel, Skipped, TensorRef, Workload

from .graph import Graph, Node
from .ops import ShapeError
from .ops.costs import ALIASES, PARTIAL_READ, OpClass, classify, cost_basis, ops_per_output, unit_cost
from .ops.gemm import a_footprint, conv_window, gemm_view

__all__ = ["lower", "in_place_concats"]


def lower(graph: Graph, *, allow_unsupported: bool = False) -> LoweredModel:
    """Lower every node of ``graph`` (normally after :func:`compiler.passes.default_pipeline`)."""
    workloads: list[Workload] = []
    skipped: list[Skipped] = list(graph.skipped)
    roots = _Roots(graph)
    for node in graph.nodes:
        entry = classify(node)
        reason = "" if entry is not None else "unsupported operator (see docs/ops.md)"
        workload = None
        if entry is not None:
            try:
                workload = _gemm(node, graph, roots) if entry.kind is Kind.GEMM else _other(node, entry, graph, roots)
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
    return LoweredModel(graph.name, tuple(workloads), tuple(skipped), tuple(roots(o) for o in graph.outputs))


def _alias(node: Node | None) -> bool:
    return node is not None and node.op_type in ALIASES and not node.domain and bool(node.inputs) \
        and bool(node.inputs[0])


def in_place_concats(graph: Graph) -> dict[str, str]:
    """The Concat inputs written in place, each to its Concat's output: for a Concat (of the default
    domain) whose inputs are distinct values, each the output of a node that computes it (neither a
    view nor a graph input or constant), read by this Concat alone and not a graph output. Its
    producers can then store their results straight into their slices of the concatenation, as
    Gemmini's software does with a row stride (MoCA's ``funct_squeezenet_1.h`` writes each expand
    layer at its channel offset, ``out_stride`` the concatenation's channels), and the Concat moves
    nothing."""
    producers, users = graph.producers(), graph.consumers()
    outputs = set(graph.outputs)
    into: dict[str, str] = {}
    for node in graph.nodes:
        if node.op_type != "Concat" or node.domain or len([o for o in node.outputs if o]) != 1:
            continue
        names = list(node.inputs)

        def written_in_place(name: str) -> bool:
            producer = producers.get(name)
            entry = classify(producer) if producer is not None else None
            return (bool(name) and producer is not None and entry is not None and entry.kind is not Kind.VIEW
                    and not _alias(producer) and not graph.is_constant(name) and name not in outputs
                    and len(users.get(name, ())) == 1)

        if len(set(names)) == len(names) and names and all(written_in_place(n) for n in names):
            into.update((name, node.outputs[0]) for name in names)
    return into


class _Roots:
    """The tensor whose bytes a value shares: views (Reshape, Flatten, ...) alias their input, and a
    Concat's in-place inputs its output."""

    def __init__(self, graph: Graph) -> None:
        self._producers = graph.producers()
        self.into = in_place_concats(graph)

    def __call__(self, name: str) -> str:
        while True:
            node = self._producers.get(name)
            if name in self.into:
                name = self.into[name]
            elif _alias(node):
                name = node.inputs[0]
            else:
                return name


def _ref(name: str, graph: Graph, roots: _Roots, role: str, elems: int | None = None) -> TensorRef:
    root = roots(name)
    # A slice written in place moves its own elements of the whole tensor it belongs to.
    return TensorRef(root, graph.info(name).size if elems is None else elems, graph.info(root).size, role)


def _consts(names: list[str], graph: Graph, counts: dict[str, int] | None = None) -> int:
    """Elements of the distinct constant operands among ``names`` (``counts`` overrides a read size)."""
    return sum((counts or {}).get(n, graph.info(n).size) for n in dict.fromkeys(names) if graph.is_constant(n))


def _activations(refs: list[TensorRef]) -> tuple[TensorRef, ...]:
    """Each activation tensor once per role, in order (a GEMM reading ``x`` as A and again as its
    residual reads it twice)."""
    seen: dict[tuple[str, str], TensorRef] = {}
    for r in refs:
        seen.setdefault((r.name, r.role), r)
    return tuple(seen.values())


def _outputs(node: Node, graph: Graph, roots: _Roots) -> tuple[TensorRef, ...]:
    return tuple(_ref(o, graph, roots, "data") for o in node.outputs if o)


def _data_inputs(node: Node, entry: OpClass) -> list[tuple[int, str]]:
    return [(i, name) for i, name in enumerate(node.inputs)
            if name and (entry.data is None or i in entry.data)]


def _gemm(node: Node, graph: Graph, roots: _Roots) -> Workload:
    view = gemm_view(node, graph)
    names = [view.a, view.b] + ([view.bias] if view.bias else [])
    refs = [_ref(view.a, graph, roots, "a", a_footprint(node, graph)) if not graph.is_constant(view.a) else None]
    if not graph.is_constant(view.b):
        refs.append(_ref(view.b, graph, roots, "b"))
    vector_ops = sum(unit_cost(op) * elems for op, elems in view.implied)
    steps: list[EpilogueStep] = []
    previous = node.meta.gemm_output
    for inner, kind in zip(node.meta.epilogue, node.meta.families):
        entry = classify(inner)
        assert entry is not None, inner.op_type  # fusion only absorbs tabled operators
        for _, name in _data_inputs(inner, entry):
            if name != previous:
                names.append(name)
                if not graph.is_constant(name):
                    refs.append(_ref(name, graph, roots, "extra"))
        ops = ops_per_output(inner, graph) * graph.info(inner.outputs[0]).size
        vector_ops += ops
        steps.append(EpilogueStep(inner.op_type, kind, ops))
        previous = inner.outputs[0]
    inputs = _activations([r for r in refs if r is not None])
    outputs = _outputs(node, graph, roots)
    return Workload(
        name=node.name,
        op="+".join([node.op_type] + [e.op_type for e in node.meta.epilogue]),
        kind=Kind.GEMM,
        gemm=view.shape,
        input_elems=sum(r.elems for r in inputs),
        weight_elems=_consts(names, graph),
        output_elems=sum(r.elems for r in outputs),
        vector_ops=vector_ops,
        b_is_weight=view.b_is_weight(graph),
        nodes=(node.name, *node.meta.folded, *(e.name for e in node.meta.epilogue)),
        inputs=inputs,
        outputs=outputs,
        epilogue=tuple(steps),
        phase=node.meta.phase,
        window=conv_window(node, graph),
    )


def _other(node: Node, entry: OpClass, graph: Graph, roots: _Roots) -> Workload:
    inputs = _data_inputs(node, entry)
    first_out = graph.info(node.outputs[0]).size
    # The gather-like movers read only as many data elements as they write.
    partial = {name: min(graph.info(name).size, first_out) for i, name in inputs
               if i == 0 and node.op_type in PARTIAL_READ}
    base = node.meta.appends_to
    refs = [_ref(name, graph, roots, "data", partial.get(name)) for i, name in inputs
            if not graph.is_constant(name) and name != base]
    kind = Kind.VIEW if node.inputs and node.inputs[0] in roots.into else entry.kind
    per_output = ops_per_output(node, graph) if kind is Kind.VECTOR else 0
    acts = _activations(refs)
    outputs = _outputs(node, graph, roots)
    if base:  # an in-place append writes only what it appends to the storage it extends
        out = outputs[0]
        outputs = (TensorRef(out.name, out.size - graph.info(base).size, out.size, out.role),)
    return Workload(
        name=node.name,
        op=node.op_type,
        kind=kind,
        input_elems=sum(r.elems for r in acts),
        weight_elems=_consts([name for _, name in inputs], graph, partial),
        output_elems=sum(r.elems for r in outputs),
        vector_ops=per_output * cost_basis(node, graph) if kind is Kind.VECTOR else 0,
        nodes=(node.name,),
        inputs=acts,
        outputs=outputs,
        phase=node.meta.phase,
    )

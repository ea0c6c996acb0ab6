"""Append the loss and the backward pass to a forward graph (reverse-mode differentiation).

Contract: ``run(graph, options)`` returns the graph with its forward nodes unchanged but tagged
``forward``, then the loss, then one backward rule (:mod:`compiler.training.rules`) per forward node
in reverse order, then the accumulation of each parameter's gradient. Inputs: the graph's inputs
plus one target per floating-point model output (:func:`~compiler.training.names.target`; class
indices for ``xent``, values of the output's shape for ``mse``). Outputs: :data:`~compiler.training.names.LOSS`
and ``grad:P`` for every trainable parameter ``P`` (and every floating-point model input with
``options.input_grads``), in the order of their first use.

- **Trainable parameters** are the floating-point parameters of rank ≥ 1 (``graph.weights``) that
  the loss depends on through inputs their consumers' rules differentiate; scalars (epsilons,
  constants of decomposed formulas) stay constant, and so do inputs a rule does not differentiate
  (Clip's bounds, Pow's exponent, BatchNormalization's running statistics).
- **The loss**: ``xent`` is the softmax cross entropy over each output's last axis (an output that
  is itself a Softmax or LogSoftmax over its last axis is replaced by its logits), ``mse`` the mean
  squared error; several outputs add their losses.
- **No data gradient without a reader**: a value gets a gradient only if it depends on a trainable
  parameter, so the first layer computes no gradient for the model's input.
- **Phases**: a gradient node is ``backward-weight`` when every value it serves depends on
  parameters alone, else ``backward-data``.
- A forward node on the path from a parameter to the loss without a rule, or with attributes its
  rule does not cover, is a :class:`~hwsim.core.errors.UserError` naming the operator and the node.
"""

from __future__ import annotations

from dataclasses import replace
from hwsim.core.errors import UserError
from hwsim.core.training import BACKWARD_DATA, BACKWARD_WEIGHT, FORWARD

from ..graph import Graph, Node
from . import names
from .emit import Emitter
from .options import TrainingOptions
from .grad import Backward, Unsupported
from .params import is_float as _float
from .params import trainable_candidates
from .rules import RULES

__all__ = ["run"]

_SOFTMAXES = ("Softmax", "LogSoftmax")


def _slots(node: Node) -> list[int]:
    """The inputs through which ``node`` passes gradients (all of them for an operator without a
    rule, so that a dependence through it is reported)."""
    rule = RULES.get(node.op_type) if not node.domain else None
    return [i for i, name in enumerate(node.inputs) if name and (rule is None or rule.differentiable(i))]


def _label(node: Node) -> str:
    return f"{node.op_type}" + (f" (domain '{node.domain}')" if node.domain else "") + f" node '{node.name}'"


def run(graph: Graph, options: TrainingOptions) -> Graph:
    emit = Emitter(graph, BACKWARD_DATA)
    producers = graph.producers()
    candidates = trainable_candidates(graph)
    seeds = set(candidates)
    model_inputs = [i for i in graph.inputs if _float(graph.info(i).dtype)] if options.input_grads else []
    seeds.update(model_inputs)

    # Which values depend on a seed (need a gradient), and which on the model's inputs (data).
    requires: set[str] = set(seeds)
    data: set[str] = set(graph.inputs)
    for node in graph.nodes:
        if any(i in data for i in node.inputs if i):
            data.update(o for o in node.outputs if o)
        if any(node.inputs[i] in requires for i in _slots(node)):
            requires.update(o for o in node.outputs if o and _float(graph.info(o).dtype))
    param_only = {name: name not in data for name in requires}

    # The loss's sources: each float output, or the logits under a final softmax.
    sources: list[tuple[str, str]] = []  # (model output, the value the loss reads)
    for out in graph.outputs:
        info = graph.info(out)
        if not _float(info.dtype):
            continue
        value = out
        producer = producers.get(value)
        if options.loss == "xent" and producer is not None and producer.op_type in _SOFTMAXES and not producer.domain:
            rank = len(graph.shape(producer.inputs[0]))
            axis = int(producer.attr("axis", -1 if graph.opset >= 13 else 1)) % max(rank, 1)
            if axis == rank - 1:
                value = producer.inputs[0]
        if options.loss == "xent" and not graph.shape(value):
            raise UserError(f"{graph.name}: output '{out}' is a scalar; cross entropy needs logits with a class "
                            "axis (use --loss mse)")
        sources.append((out, value))
    if not sources:
        raise UserError(f"{graph.name}: no floating-point output to train on")

    # Which values the loss depends on.
    reach: set[str] = {value for _, value in sources}
    for node in reversed(graph.nodes):
        if any(o in reach and o in requires for o in node.outputs if o):
            reach.update(node.inputs[i] for i in _slots(node) if node.inputs[i] in requires)
    params = [p for p in candidates if p in reach]
    if not params and not options.input_grads:
        raise UserError(f"{graph.name}: the loss depends on no trainable parameter")

    # The loss (forward) and its gradient (the first backward node).
    contribs: dict[str, list[str]] = {}
    losses, targets = [], []
    single = len(sources) == 1
    for out, value in sources:
        shape, dtype = graph.shape(value), graph.info(value).dtype
        if options.loss == "xent":
            target = emit.value(names.target(out), shape[:-1], "int64", exact=True)
            kind = "SoftmaxCrossEntropy"
        else:
            target = emit.value(names.target(out), shape, dtype, exact=True)
            kind = "MeanSquaredError"
        targets.append(target)
        base = f"/loss/{out}"
        result = emit.value(names.LOSS, (), dtype, exact=True) if single else (f"{base}/{kind}_output", (), dtype)
        losses.append(emit.node(kind, [value, target], [result], f"{base}/{kind}", phase=FORWARD)[0])
        if value in requires:
            grad = emit.node(f"{kind}Grad", [value, target], [(f"{value}.grad", shape, dtype)], f"{base}/{kind}Grad",
                             phase=BACKWARD_DATA)[0]
            contribs.setdefault(value, []).append(grad)
    if not single:
        emit.value(names.LOSS, (), graph.info(sources[0][1]).dtype, exact=True)
        emit.node("Sum", losses, [names.LOSS], "/loss/Sum", phase=FORWARD, training=False)

    def total(value: str, final: str | None = None) -> str | None:
        """The gradient of ``value``: its one contribution, or their Sum (named ``final`` if given)."""
        parts = contribs.pop(value, [])
        if not parts:
            return None
        phase = BACKWARD_WEIGHT if param_only.get(value) else BACKWARD_DATA
        if len(parts) == 1 and final is None:
            return parts[0]
        kind = "Sum" if len(parts) > 1 else "Identity"  # an Identity only names a finished gradient
        info = graph.info(value)
        out = emit.value(final, info.shape, info.dtype, exact=True) if final else (f"{value}.grad_sum", info.shape,
                                                                                     info.dtype)
        return emit.node(kind, parts, [out], f"{value}/grad/{kind}", phase=phase, training=False)[0]

    for node in reversed(graph.nodes):
        outs = [o for o in node.outputs]
        if not any(o in contribs for o in outs if o):
            continue
        dys = [total(o) if o else None for o in outs]
        rule = RULES.get(node.op_type) if not node.domain else None
        if rule is None:
            raise UserError(f"{graph.name}: {_label(node)} has no backward rule, so the model cannot be trained "
                            "(docs/training.md lists the supported operators)")
        needs = [bool(name) and name in requires and name in reach and rule.differentiable(i)
                 for i, name in enumerate(node.inputs)]
        only = [param_only.get(name, False) for name in node.inputs]
        try:
            grads = rule.fn(Backward(node, emit, dys, needs, only))
        except Unsupported as exc:
            raise UserError(f"{graph.name}: {_label(node)}: no backward rule for {exc}") from None
        for index, g in grads.items():
            if needs[index]:
                contribs.setdefault(node.inputs[index], []).append(g)

    outputs = [names.LOSS]
    for value in params + model_inputs:
        final = total(value, names.grad(value))
        if final is None:  # reached through a rule that computed nothing for it
            continue
        outputs.append(final)
    forward = tuple(replace(n, meta=replace(n.meta, phase=FORWARD)) for n in graph.nodes)
    return emit.graph(inputs=list(graph.inputs) + targets, outputs=outputs, prefix=forward)

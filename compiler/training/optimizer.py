"""Append the optimizer's update of every trainable parameter.

Contract: for every graph output ``grad:P`` whose ``P`` is a parameter, one update node (phase
``optimizer``, after the whole backward pass) reads ``P``, its gradient and its optimizer state
(graph inputs ``state:K:P`` shaped like ``P``, :data:`~compiler.training.names.STATES`) and writes
``updated:P`` and ``updated:state:K:P`` (graph outputs):

- ``sgd``: ``w − lr·(g + λw)``; ``momentum`` (PyTorch's): ``v' = μv + g + λw``, ``w' = w − lr·v'``;
- ``adam``: Kingma and Ba's Algorithm 1 at step ``t``, the weight decay ``λ`` added to the gradient;
  ``adamw``: Loshchilov and Hutter's decoupled weight decay, ``w' = w − lr·(update + λw)``.

The gradients stay graph outputs with ``options.keep_gradients`` (``hwsim run`` saves them), else
they are intermediate values. With ``options.state_words > 1`` (a mixed-precision estimate: the
array's words are narrower than fp32) the update reads and writes the fp32 master copy
``master:P`` and fp32 state, declared with a trailing axis of ``state_words`` array words so the
program builder moves their real bytes, and also writes ``updated:P`` at the array's width for the
next step's forward pass; such a program is for estimation only.
"""

from __future__ import annotations

from hwsim.core.training import OPTIMIZER

from ..graph import Graph
from . import names
from .emit import Emitter
from .options import TrainingOptions

__all__ = ["run"]

_OPS = {"sgd": "SGD", "momentum": "Momentum", "adam": "Adam", "adamw": "Adam"}


def _attrs(options: TrainingOptions) -> dict[str, object]:
    o = options
    if o.optimizer == "sgd":
        return {"lr": o.learning_rate, "weight_decay": o.weight_decay}
    if o.optimizer == "momentum":
        return {"lr": o.learning_rate, "momentum": o.momentum, "weight_decay": o.weight_decay}
    return {"lr": o.learning_rate, "beta1": o.beta1, "beta2": o.beta2, "epsilon": o.epsilon,
            "weight_decay": o.weight_decay, "decoupled": int(o.optimizer == "adamw"), "step": o.step}


def run(graph: Graph, options: TrainingOptions) -> Graph:
    emit = Emitter(graph, OPTIMIZER)
    words = options.state_words
    inputs, outputs = list(graph.inputs), [o for o in graph.outputs if options.keep_gradients or not o.startswith("grad:")]
    for out in graph.outputs:
        param = out[len("grad:"):] if out.startswith("grad:") else ""
        if not param or param not in graph.weights:
            continue
        info = graph.info(param)
        wide = info.shape + ((words,) if words > 1 else ())
        dtype = "float32" if words > 1 else info.dtype
        states = [emit.value(names.state(kind, param), wide, dtype, exact=True) for kind in names.STATES[options.optimizer]]
        inputs.extend(states)
        if words > 1:
            weight = emit.value(names.master(param), wide, dtype, exact=True)
            inputs.append(weight)
        else:
            weight = param
        results = [emit.value(names.updated(weight), wide, dtype, exact=True)]
        results += [emit.value(names.updated(s), wide, dtype, exact=True) for s in states]
        if words > 1:
            results.append(emit.value(names.updated(param), info.shape, info.dtype, exact=True))
        emit.node(_OPS[options.optimizer], [weight, out, *states], results, f"/optimizer/{param}",
                  **_attrs(options))
        outputs.extend(results)
    return emit.graph(inputs=inputs, outputs=outputs)

"""Fold the constant work of a model that is about to be trained, and only that.

Contract: as :mod:`compiler.passes.fold_constants`, except that nothing computed from a trainable
parameter candidate (:func:`~compiler.training.params.trainable_candidates`) is folded, and the
values the importer computed from them are dropped from ``graph.constants``: in a training program
they change every step, so a Transpose of a tied embedding or a Gather of a position table stays a
node whose gradient reaches the parameter. Shape arithmetic (``Shape``, ``Size`` and what follows
from them) still folds.
"""

from __future__ import annotations

from dataclasses import replace

from ..graph import Graph
from ..kernels import SHAPE_ONLY
from ..passes import fold_constants
from .params import trainable_candidates

__all__ = ["run"]


def run(graph: Graph) -> Graph:
    candidates = set(trainable_candidates(graph))
    tainted = set(candidates)
    for node in graph.nodes:
        if node.op_type not in SHAPE_ONLY and any(i in tainted for i in node.inputs if i):
            tainted.update(o for o in node.outputs if o)
    stale = tainted - candidates
    masked = replace(graph, weights=graph.weights - candidates,
                     constants={k: v for k, v in graph.constants.items() if k not in tainted})
    folded = fold_constants.run(masked)
    kept = {k: graph.constants[k] for k in candidates if k in graph.constants}
    return replace(folded, weights=(folded.weights | candidates) - stale,
                   constants={**folded.constants, **kept})

"""Graph clean-up passes, each ``run(graph) -> Graph`` (pure: the input graph is not changed).

:func:`default_pipeline` is what ``compile_model`` and ``hwsim estimate`` apply between import and
lowering. Every pass makes the same decisions with and without weight bytes, so an estimate never
depends on whether the weights were available.
"""

from __future__ import annotations

from ..graph import Graph
from . import dead_code, fold_batchnorm, fold_constants, fuse_epilogue, remove_identity, widen_float

__all__ = ["PIPELINE", "default_pipeline", "dead_code", "fold_batchnorm", "fold_constants",
           "fuse_epilogue", "remove_identity", "widen_float"]

#: The passes of :func:`default_pipeline`, in order.
PIPELINE = (fold_constants, remove_identity, fold_batchnorm, fuse_epilogue, dead_code)


def default_pipeline(graph: Graph) -> Graph:
    """Fold constants, drop identities, fold BatchNorm, fuse epilogues, remove dead nodes.

    >>> from compiler.importer import load_model
    >>> from compiler.zoo import resnet18
    >>> g = default_pipeline(load_model(resnet18()))
    >>> [n.op_type for n in g.nodes][:3], len(g.nodes)
    (['Conv', 'Conv', 'Conv'], 23)
    """
    for stage in PIPELINE:
        graph = stage.run(graph)
    return graph

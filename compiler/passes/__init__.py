"""Graph clean-up passes, each ``run(graph) -> Graph`` (pure: the input graph is not changed).

:func:`default_pipeline` is what ``compile_model`` and ``hwsim estimate`` apply between import and
lowering. Every pass makes the same decisions with and without weight bytes, so an estimate never
depends on whether the weights were available.
"""

from __future__ import annotations

from ..graph import Graph
from . import (dead_code, fold_batchnorm, fold_constants, fuse_epilogue, grouped_attention, kv_append,
               remove_identity, widen_float)

__all__ = ["PIPELINE", "LLM_PIPELINE", "default_pipeline", "llm_pipeline", "dead_code", "fold_batchnorm",
           "fold_constants", "fuse_epilogue", "grouped_attention", "kv_append", "remove_identity", "widen_float"]

#: The passes of :func:`default_pipeline`, in order.
PIPELINE = (fold_constants, remove_identity, fold_batchnorm, fuse_epilogue, dead_code)
#: The passes of :func:`llm_pipeline`: the default ones, with attention reading the KV cache in
#: place (:mod:`.grouped_attention`, :mod:`.kv_append`) before fusion.
LLM_PIPELINE = (fold_constants, remove_identity, grouped_attention, kv_append, dead_code, fold_batchnorm,
                fuse_epilogue, dead_code)


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


def llm_pipeline(graph: Graph) -> Graph:
    """What ``hwsim llm`` applies: :data:`LLM_PIPELINE` (docs/llm.md)."""
    for stage in LLM_PIPELINE:
        graph = stage.run(graph)
    return graph

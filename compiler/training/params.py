"""Which values of a model a training step may train."""

from __future__ import annotations

from ..graph import Graph

__all__ = ["is_float", "trainable_candidates"]


def is_float(dtype: str) -> bool:
    """A floating-point dtype name (gradients exist only for these)."""
    return dtype.startswith("float") or dtype == "bfloat16"


def trainable_candidates(graph: Graph) -> list[str]:
    """Parameters that may be trained: in ``graph.weights``, floating point, of rank ≥ 1 (scalars are
    the constants of formulas: epsilons, ``0.5``, ``sqrt(2)``), in order of first use."""
    seen: dict[str, None] = {}
    for node in graph.nodes:
        for name in node.inputs:
            if name and name in graph.weights and name not in seen:
                info = graph.info(name)
                if is_float(info.dtype) and len(info.shape) >= 1:
                    seen[name] = None
    return list(seen)

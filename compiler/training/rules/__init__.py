"""The backward rules, one table by operator type (ONNX default domain): :data:`RULES`.

An operator without an entry has no backward rule; a training program whose loss depends on one
through a value that needs a gradient is an error naming the operator (docs/training.md lists
every rule and the GEMM shapes of the GEMM operators' gradients).
"""

from __future__ import annotations

from ..grad import Rule
from . import gemm, movement, normalization, pointwise

__all__ = ["RULES"]


def _merge(*tables: dict[str, Rule]) -> dict[str, Rule]:
    merged: dict[str, Rule] = {}
    for table in tables:
        overlap = merged.keys() & table.keys()
        if overlap:
            raise ValueError(f"backward rules defined twice: {sorted(overlap)}")
        merged.update(table)
    return merged


RULES: dict[str, Rule] = _merge(gemm.RULES, pointwise.RULES, normalization.RULES, movement.RULES)

"""The backward rules, one table by operator type (ONNX default domain): :data:`RULES`.

An operator without an entry has no backward rule; a training program whose loss depends on one
through a value that needs a gradient is an error naming the operator (docs/training.md lists
every rule and the GEMM shapes of the GEMM operators' gradients).
"""

from __future__ import annotations

from ..grad import Rule
from . import gemm, movement, normalization, pointwise

__all__ = ["RULES"]


_TABLES = (gemm.RULES, pointwise.RULES, normalization.RULES, movement.RULES)
RULES: dict[str, Rule] = {op: rule for table in _TABLES for op, rule in table.items()}
# An operator in two tables would silently keep the last rule.
assert len(RULES) == sum(len(table) for table in _TABLES), "a backward rule is defined twice"

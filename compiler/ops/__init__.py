"""Per-operator knowledge, one table per concern.

- :mod:`compiler.ops.shapes`: static output shapes and dtypes (the importer's shape inference).
- :mod:`compiler.ops.costs`: how each operator is classified for the hardware and what it costs on
  the vector unit (the table ``docs/ops.md`` is generated from: ``python -m compiler.ops``).
- :mod:`compiler.ops.gemm`: everything about the GEMM operators: which they are, their operands,
  which operand stays in the array, their GEMM view (M, K, N, groups).
- :mod:`compiler.ops.dtypes`: ONNX element types and numpy dtypes.

Values (constant folding and ``hwsim run``) come from one kernel table, :mod:`compiler.kernels`.
"""

from __future__ import annotations

#: The domain of the operators a training program adds (:mod:`compiler.training`): gradients,
#: losses and optimizer updates, each in the tables beside the ONNX operators (shapes are set by the
#: training builder itself).
TRAINING_DOMAIN = "ai.hwsim.training"


class ShapeError(Exception):
    """An operator's inputs do not determine a static output; the importer adds the node's name."""

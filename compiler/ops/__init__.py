"""Per-operator knowledge, one table per concern.

- :mod:`compiler.ops.shapes`: static output shapes and dtypes (the importer's shape inference).
- :mod:`compiler.ops.fold`: numpy evaluation of operators whose inputs are all compile-time constants.
- :mod:`compiler.ops.costs`: how each operator is classified for the hardware and what it costs on
  the vector unit (the table ``docs/ops.md`` is generated from: ``python -m compiler.ops``).
- :mod:`compiler.ops.gemm`: the GEMM view (M, K, N, groups) of Conv, ConvTranspose, Gemm, MatMul,
  Einsum and their quantized forms.
"""

from __future__ import annotations


class ShapeError(Exception):
    """An operator's inputs do not determine a static output; the importer adds the node's name."""

"""The one table of ONNX operator semantics: numpy kernels that ``hwsim run`` executes and that the
importer and :mod:`compiler.passes.fold_constants` fold compile-time constants with.

A kernel maps an :class:`OpEnv` (the node, the opset, its outputs' static types) and the node's
input values (``None`` for omitted optional inputs) to its output values. Operators running on the
array (``compiler.ops.gemm.GEMM_OPS``) execute tile by tile in ``hwsim.execute``; the table holds
them only where a constant needs folding (MatMul) or an operator falls back to a plain evaluation
(an Einsum that is not a GEMM). The operators of training programs (gradients, losses, optimizer
updates, :mod:`compiler.training`) are here too, under names no ONNX operator has.

>>> import numpy as np
>>> from compiler.graph import Node, TensorInfo
>>> node = Node("n", "Div", ("a", "b"), ("y",))
>>> evaluate(node, [np.array([-7]), np.array([2])], [TensorInfo("y", (1,), "int64")])[0].tolist()
[-3]
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..graph import Node, TensorInfo
from . import _elementwise, _grad, _matmul, _movement, _pool, _qlinear, _reduce, _resize
from ._env import Kernel, OpEnv, Outputs, attr_ints
from ._qlinear import IntOperand, per_axis, requantize, signed, zero_point_correction
from ._window import padded, spatial_pads, taps

__all__ = ["KERNELS", "SHAPE_ONLY", "Kernel", "OpEnv", "Outputs", "attr_ints", "evaluate",
           # the pieces the executor's array layers share with the kernels: integer arithmetic
           # with zero points, and the sliding windows of convolution and pooling
           "IntOperand", "per_axis", "requantize", "signed", "zero_point_correction", "padded", "spatial_pads", "taps"]


def _merge(*tables: Mapping[str, Kernel]) -> dict[str, Kernel]:
    merged: dict[str, Kernel] = {}
    for table in tables:
        overlap = merged.keys() & table.keys()
        if overlap:
            raise ValueError(f"kernels defined twice: {sorted(overlap)}")
        merged.update(table)
    return merged


#: Every operator hwsim can evaluate, by ONNX op type (default domain).
KERNELS: dict[str, Kernel] = _merge(_elementwise.KERNELS, _reduce.KERNELS, _movement.KERNELS, _pool.KERNELS,
                                    _resize.KERNELS, _qlinear.KERNELS, _matmul.KERNELS, _grad.KERNELS)

#: Operators whose outputs depend only on their inputs' static shapes and dtypes, not their values.
SHAPE_ONLY = frozenset({"Shape", "Size"})


def evaluate(node: Node, values: Sequence[np.ndarray | None], outputs: Sequence[TensorInfo | None],
             opset: int = 17) -> tuple[np.ndarray, ...]:
    """``node``'s output values from its input ``values`` (``None`` for omitted inputs), as the kernel
    table defines them; ``outputs`` are the outputs' static types (``None`` for omitted outputs)."""
    out = KERNELS[node.op_type](OpEnv(node, opset, tuple(outputs)), values)
    return out if isinstance(out, tuple) else (out,)

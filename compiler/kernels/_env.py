"""What an operator kernel sees besides its inputs: the node, the opset, the declared output types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

import numpy as np

from ..graph import Node, TensorInfo
from ..ops.dtypes import onnx_to_numpy

__all__ = ["OpEnv", "Kernel", "Outputs", "attr_ints", "np_dtype"]

Outputs = Union[np.ndarray, tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class OpEnv:
    """One node's context: its attributes, the model's opset and its outputs' static types.

    Kernels that need a size the ONNX shape inference already settled (pooling with ``ceil_mode``,
    ConvTranspose with ``output_shape``, Resize) read it from :meth:`out_shape` rather than
    re-deriving it, so the executor and the compiler cannot disagree about a tensor's shape.
    """

    node: Node
    opset: int
    outputs: tuple[TensorInfo | None, ...]

    def attr(self, key: str, default=None):
        return self.node.attr(key, default)

    def out_shape(self, index: int = 0) -> tuple[int, ...]:
        info = self.outputs[index]
        if info is None:
            raise KeyError(f"{self.node.name}: output {index} has no static shape")
        return info.shape

    def out_dtype(self, index: int = 0) -> np.dtype:
        info = self.outputs[index]
        if info is None:
            raise KeyError(f"{self.node.name}: output {index} has no static type")
        return np.dtype(info.dtype)


#: A kernel maps a node's inputs (``None`` for omitted optional inputs) to its outputs.
Kernel = Callable[[OpEnv, Sequence[Union[np.ndarray, None]]], Outputs]


def attr_ints(env: OpEnv, key: str, default: Sequence[int] | None = None) -> tuple[int, ...] | None:
    value = env.attr(key)
    if value is None:
        return None if default is None else tuple(default)
    if isinstance(value, np.ndarray):
        return tuple(int(v) for v in value.ravel())
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    return tuple(int(v) for v in value)


def np_dtype(onnx_type: int) -> np.dtype:
    """numpy dtype of an ONNX ``TensorProto`` element type number (Cast's ``to``)."""
    return np.dtype(onnx_to_numpy(int(onnx_type)))

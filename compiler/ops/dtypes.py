"""ONNX element types <-> numpy dtype names (the ``dtype`` of :class:`~compiler.graph.TensorInfo`)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from onnx import TensorProto, helper

from . import ShapeError

__all__ = ["onnx_to_numpy", "numpy_to_onnx"]


@lru_cache(maxsize=None)
def onnx_to_numpy(elem_type: int) -> str:
    """The numpy dtype name of an ONNX element type.

    >>> onnx_to_numpy(1), onnx_to_numpy(7), onnx_to_numpy(9)
    ('float32', 'int64', 'bool')
    """
    try:
        return str(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)))
    except (KeyError, TypeError, ValueError):
        raise ShapeError(f"unsupported ONNX element type {elem_type}") from None


def numpy_to_onnx(dtype: str) -> int:
    """The ONNX element type of a numpy dtype name.

    >>> numpy_to_onnx("int8")
    3
    """
    try:
        return _reverse()[dtype]
    except KeyError:
        raise ShapeError(f"dtype {dtype} has no ONNX element type") from None


@lru_cache(maxsize=None)
def _reverse() -> dict[str, int]:
    table: dict[str, int] = {}
    for elem_type in TensorProto.DataType.values():
        if elem_type:
            try:
                table.setdefault(onnx_to_numpy(elem_type), elem_type)
            except ShapeError:
                pass
    return table

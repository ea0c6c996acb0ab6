"""ONNX to a tiled systolic-array program: import, clean-up passes, lowering, tiling.

>>> from compiler import compile_model
>>> from compiler.zoo import resnet50
>>> compile_model(resnet50()).macs
4089184256

Public names are imported lazily, so ``import compiler.workload`` does not load onnx.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import onnx

    from .workload import LoweredModel

__all__ = ["compile_model", "load_model", "parse_input_shape", "parse_input_shapes", "default_pipeline",
           "lower", "Graph", "Node", "TensorInfo", "Kind", "GemmShape", "Workload", "LoweredModel"]

_LAZY = {
    "load_model": "importer", "parse_input_shape": "importer", "parse_input_shapes": "importer",
    "default_pipeline": "passes", "lower": "lowering",
    "Graph": "graph", "Node": "graph", "TensorInfo": "graph",
    "Kind": "workload", "GemmShape": "workload", "Workload": "workload", "LoweredModel": "workload",
}


def compile_model(
    source: str | Path | onnx.ModelProto,
    *,
    input_shapes: Mapping[str, tuple[int, ...]] | None = None,
    allow_unsupported: bool = False,
) -> LoweredModel:
    """Import (without weights), run :func:`default_pipeline`, and lower to workloads."""
    from .importer import load_model
    from .lowering import lower
    from .passes import default_pipeline

    graph = default_pipeline(load_model(source, input_shapes=input_shapes))
    return lower(graph, allow_unsupported=allow_unsupported)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'compiler' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))

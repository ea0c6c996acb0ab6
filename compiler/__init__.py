"""The compiler: ONNX to a tile program for one accelerator (import, passes, lowering, tiling).

>>> import compiler
>>> from compiler.zoo import resnet50
>>> compiler.lower_model(resnet50()).macs
4089184256

Every stage is a module of its own (docs/architecture.md); this package exports the common entry
points lazily, so ``import compiler`` loads neither ONNX nor numpy until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwsim.core.lazy import exports

if TYPE_CHECKING:  # the names below, for type checkers and the import-linter contract
    from . import zoo
    from .graph import Graph, Node, NodeMeta, TensorInfo
    from .importer import load_model, parse_input_shape, parse_input_shapes, parse_input_values
    from .lowering import lower
    from .passes import default_pipeline
    from .pinning import MappingSource, PinnedMapping, as_mapping, load_mapping
    from .pipeline import compile_graph, compile_model, lower_model, lower_training
    from .schedule import schedule, schedule_model

__all__ = ["compile_model", "lower_model", "lower_training", "compile_graph", "load_model", "parse_input_shape", "parse_input_shapes", "parse_input_values",
           "default_pipeline", "lower", "schedule", "schedule_model", "Graph", "Node", "NodeMeta", "TensorInfo",
           "MappingSource", "PinnedMapping", "as_mapping", "load_mapping"]

__getattr__, __dir__ = exports(__name__, {
    "compile_model": "pipeline", "lower_model": "pipeline", "lower_training": "pipeline", "compile_graph": "pipeline",
    "load_model": "importer", "parse_input_shape": "importer", "parse_input_shapes": "importer",
    "parse_input_values": "importer",
    "default_pipeline": "passes", "lower": "lowering", "schedule": "schedule", "schedule_model": "schedule",
    "Graph": "graph", "Node": "graph", "NodeMeta": "graph", "TensorInfo": "graph",
    "MappingSource": "pinning", "PinnedMapping": "pinning", "as_mapping": "pinning", "load_mapping": "pinning",
}, submodules=("zoo",))

"""The compiler's stages end to end: a model in, its graph, its workloads, its tile program out.

``load_model`` (import) → ``default_pipeline`` (passes) → ``lower`` (workloads) → ``schedule_model``
(the tile program for one accelerator). :func:`lower_model` stops before the accelerator enters,
so a sweep lowers a model once and schedules it for every design; :func:`compile_model` goes all
the way, and its :class:`~hwsim.core.program.Program` is what the simulator, the executor and the
RTL co-simulation consume.

>>> from hwsim.core.config import preset
>>> from compiler.zoo import resnet50
>>> program = compile_model(resnet50(), preset("gemmini-like"))
>>> program.macs, len(program.layers)
(4089184256, 56)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Collection, Mapping

import numpy as np
import onnx

from hwsim.core.config import AcceleratorConfig
from hwsim.core.program import Program
from hwsim.core.workload import STORE_PATH_FAMILIES, LoweredModel

from .graph import Graph
from .importer import load_model
from .lowering import lower
from .passes import default_pipeline, widen_float
from .pinning import MappingSource, as_mapping
from .schedule import schedule_model
from .training import TrainingOptions, TrainingProgram, build

__all__ = ["compile_graph", "lower_model", "compile_model", "training_program", "lower_training"]

Source = str | Path | onnx.ModelProto


Shapes = Mapping[str, tuple[int, ...]]
Values = Mapping[str, np.ndarray]


def compile_graph(source: Source, *, input_shapes: Shapes | None = None, input_values: Values | None = None,
                  load_weights: bool = False, allow_unsupported: bool = False) -> Graph:
    """Import ``source`` (weights only if ``load_weights``) and run :func:`default_pipeline` on it."""
    return default_pipeline(load_model(source, input_shapes=input_shapes, input_values=input_values,
                                       load_weights=load_weights, allow_unsupported=allow_unsupported))


def lower_model(source: Source, *, input_shapes: Shapes | None = None, input_values: Values | None = None,
                allow_unsupported: bool = False) -> LoweredModel:
    """The model's workloads, independent of any accelerator (import without weights, passes, lowering)."""
    graph = compile_graph(source, input_shapes=input_shapes, input_values=input_values,
                          allow_unsupported=allow_unsupported)
    return lower(graph, allow_unsupported=allow_unsupported)


def compile_model(source: Source, cfg: AcceleratorConfig, *, input_shapes: Shapes | None = None,
                  input_values: Values | None = None, allow_unsupported: bool = False,
                  mapping: MappingSource | None = None) -> Program:
    """The tile program of ``source`` on ``cfg``; ``mapping`` (a mapping file, or layer names to loop
    text) pins the DRAM-level loops of the layers it names (:mod:`compiler.pinning`)."""
    pinned = as_mapping(mapping)
    return schedule_model(lower_model(source, input_shapes=input_shapes, input_values=input_values,
                                      allow_unsupported=allow_unsupported), cfg, mapping=pinned)


def training_program(source: Source, options: TrainingOptions, *, input_shapes: Shapes | None = None,
                     input_values: Values | None = None, load_weights: bool = False,
                     float64: bool = False) -> TrainingProgram:
    """One training step of ``source`` (:func:`compiler.training.build`); with ``float64`` every
    float32 value is computed in float64 (finite-difference checks)."""
    graph = load_model(source, input_shapes=input_shapes, input_values=input_values, load_weights=load_weights)
    return build(widen_float.run(graph) if float64 else graph, options)


def lower_training(source: Source, options: TrainingOptions, *, input_shapes: Shapes | None = None,
                   input_values: Values | None = None,
                   store_path: Collection[str] = STORE_PATH_FAMILIES) -> LoweredModel:
    """The workloads of one training step of ``source``, each with its phase, its fusion groups one
    workload each (:mod:`compiler.training.fuse`; a GEMM takes the followers whose families are in
    ``store_path``, the config's), and the step's memory (``LoweredModel.training``)."""
    program = training_program(source, options, input_shapes=input_shapes, input_values=input_values)
    return program.lowered(store_path=store_path)

"""``hwsim run --training-step``: one training step executed as the accelerator would run it.

The training program (:mod:`compiler.training`) is compiled with the model's weights and scheduled
for the config like any model; its array layers (the forward GEMMs and the backward data and weight
GEMMs) run tile by tile as the program places them, everything else through the kernel table. In
``fp64`` every float32 value is computed in float64, so that gradients can be compared with central
finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

import numpy as np
import onnx

from compiler.pipeline import training_program
from compiler.schedule import schedule_model
from compiler.training import TrainingOptions, TrainingProgram, names
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError

from ._executor import Compiled, Executor

__all__ = ["TRAINING_PRECISIONS", "CompiledStep", "compile_training_step", "training_step"]

TRAINING_PRECISIONS = ("fp32", "fp64")


@dataclass(frozen=True)
class CompiledStep:
    """A training step ready to run: the compiled training graph and its tile program, and what the
    step reads (``program``: parameters, model inputs, targets)."""

    compiled: Compiled
    program: TrainingProgram

    @property
    def states(self) -> tuple[str, ...]:
        """The optimizer-state inputs (zeros unless given)."""
        known = set(self.program.model_inputs) | set(self.program.targets)
        return tuple(i for i in self.compiled.graph.inputs if i not in known)


def compile_training_step(source: str | Path | onnx.ModelProto, cfg: AcceleratorConfig, options: TrainingOptions, *,
                          input_shapes: Mapping[str, tuple[int, ...]] | None = None,
                          precision: str = "fp32") -> CompiledStep:
    """Import with weights, build the training step (every gradient kept as an output), lower and
    schedule it for ``cfg``."""
    if precision not in TRAINING_PRECISIONS:
        raise UserError(f"--precision {precision!r}: a training step runs in {' or '.join(TRAINING_PRECISIONS)}")
    program = training_program(source, replace(options, keep_gradients=True, state_words=1),
                               input_shapes=input_shapes, load_weights=True, float64=precision == "fp64")
    # The estimate's program: a fusion group's array tiles are its anchor's, and every node still runs.
    return CompiledStep(Compiled(graph=program.graph, program=schedule_model(program.lowered(store_path=cfg.store_path), cfg)), program)


def _typed(graph, name: str, value: np.ndarray, where: str) -> np.ndarray:
    """``value`` as graph value ``name`` (its shape checked, its dtype cast); ``where`` names it in errors."""
    info = graph.info(name)
    value = np.asarray(value)
    if tuple(value.shape) != tuple(info.shape):
        dims = "x".join(map(str, info.shape)) or "scalar"
        got = "x".join(map(str, value.shape)) or "scalar"
        raise UserError(f"{where}: expected shape {dims}, got {got}")
    if np.dtype(info.dtype).kind == "i" and value.dtype.kind not in "iu":
        raise UserError(f"{where}: expected integers ({info.dtype}), got {value.dtype}")
    return value.astype(info.dtype)


def training_step(step: CompiledStep, inputs: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray], *,
                  states: Mapping[str, np.ndarray] | None = None,
                  parameters: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Run one step: ``inputs`` by model input name, ``targets`` by model output name (class indices
    for ``xent``), ``states`` by state name (``state:m:P``; zeros when left out) and, optionally,
    ``parameters`` replacing the model's own. Returns ``loss``, ``grad:P``, ``updated:P`` and
    ``updated:state:K:P`` for every parameter ``P`` (:mod:`compiler.training.names`)."""
    graph, program = step.compiled.graph, step.program
    feeds: dict[str, np.ndarray] = {}
    unknown = [n for n in inputs if n not in program.model_inputs]
    if unknown:
        raise UserError(f"--input: the model has no input '{unknown[0]}'; its inputs are: {', '.join(program.model_inputs)}")
    for name in program.model_inputs:
        if name not in inputs:
            raise UserError(f"missing input {name}; give it as --input {name}=FILE.npy")
        feeds[name] = _typed(graph, name, inputs[name], f"--input {name}")
    outputs = {t[len("target:"):]: t for t in program.targets}
    unknown = [n for n in targets if n not in outputs]
    if unknown:
        raise UserError(f"--target: the model has no output '{unknown[0]}' to train; its outputs are: {', '.join(outputs)}")
    for output, name in outputs.items():
        if output not in targets:
            raise UserError(f"missing the target of output {output}; give it as --target {output}=FILE.npy")
        feeds[name] = _typed(graph, name, targets[output], f"--target {output}")
        if graph.info(name).dtype == "int64":  # class indices of the logits the loss reads
            logits = next(n.inputs[0] for n in graph.nodes if n.op_type == "SoftmaxCrossEntropy" and name in n.inputs)
            classes = graph.shape(logits)[-1]
            if feeds[name].size and (feeds[name].min() < 0 or feeds[name].max() >= classes):
                raise UserError(f"--target {output}: class indices must be from 0 to {classes - 1}, got "
                                f"{int(feeds[name].min())} to {int(feeds[name].max())}")
    given_states = dict(states or {})
    unknown = [n for n in given_states if n not in step.states]
    if unknown:
        raise UserError(f"--state: the step has no state '{unknown[0]}'" +
                        (f"; its states are: {', '.join(step.states)}" if step.states else " (the optimizer keeps none)"))
    for name in step.states:
        feeds[name] = _typed(graph, name, given_states[name], f"--state {name}") if name in given_states else \
            np.zeros(graph.shape(name), graph.info(name).dtype)
    for name, value in (parameters or {}).items():
        if name not in program.parameters:
            raise UserError(f"parameter {name!r} is not trained by this step")
        feeds[name] = _typed(graph, name, value, f"parameter {name}")
    return Executor(step.compiled).run(feeds)



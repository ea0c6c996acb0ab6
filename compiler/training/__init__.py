"""The training-program builder: an inference graph in, one training step out, as a graph.

:func:`build` takes an imported inference graph and returns the graph of one training step: the
forward pass (BatchNormalization in training mode, nothing folded that a parameter feeds), the
loss, the backward pass (one rule per forward operator, :mod:`compiler.training.rules`: the data and
weight gradients of every GEMM operator are GEMMs again), the optimizer update of every parameter
and, with ``recompute="all"``, the recomputation of the activations that were not stashed. Every
node carries its phase (``NodeMeta.phase``). The result is lowered and scheduled like any model
(:func:`compiler.pipeline.lower_training`), so residency, fusion, the mapping search and the DRAM
model apply to it unchanged; ``hwsim run --training-step`` executes the same graph.

The passes, one per module, each with its contract: :mod:`~compiler.training.freeze`,
:mod:`~compiler.training.batchnorm_training`, :mod:`~compiler.training.autodiff`,
:mod:`~compiler.training.optimizer`, :mod:`~compiler.training.recompute`, then the default
pipeline's :mod:`~compiler.passes.fuse_epilogue` and :mod:`~compiler.passes.dead_code`.
:meth:`TrainingProgram.lowered` lowers the step with the training fusion of
:mod:`~compiler.training.fuse` (a costing of the same nodes: the graph is not changed).

>>> from compiler.importer import load_model
>>> from compiler.zoo import resnet18
>>> step = build(load_model(resnet18(batch=2, image=32, num_classes=10)), TrainingOptions(optimizer="adam"))
>>> len(step.parameters), sorted({n.meta.phase for n in step.graph.nodes})
(42, ['backward-data', 'backward-weight', 'forward', 'optimizer'])
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Collection

from hwsim.core.training import TrainingStep
from hwsim.core.workload import STORE_PATH_FAMILIES, LoweredModel

from ..graph import Graph
from ..lowering import lower
from ..passes import dead_code, fuse_epilogue, remove_identity
from . import autodiff, batchnorm_training, freeze, fuse, names, optimizer, recompute
from .memory import Stash, stash
from .options import TrainingOptions
from .params import trainable_candidates

__all__ = ["TrainingOptions", "TrainingProgram", "build", "names", "trainable_candidates", "Stash", "stash"]

@dataclass(frozen=True)
class TrainingProgram:
    """One training step as a graph: its ``parameters`` (trained, in order of first use),
    ``model_inputs`` (the inference model's inputs) and ``targets`` (the loss's, one per output)."""

    graph: Graph
    parameters: tuple[str, ...]
    model_inputs: tuple[str, ...]
    targets: tuple[str, ...]
    options: TrainingOptions

    def step(self) -> TrainingStep:
        """What the step holds in memory, in elements (:class:`hwsim.core.training.TrainingStep`)."""
        peak = stash(self.graph, self.model_inputs)
        first = self.graph.shape(self.model_inputs[0]) if self.model_inputs else ()
        return TrainingStep(batch=first[0] if first else 1, loss=self.options.loss, optimizer=self.options.optimizer,
                            recompute=self.options.recompute,
                            parameters=sum(self.graph.info(p).size for p in self.parameters),
                            stash_elems=peak.elems, stash_tensors=peak.tensors, stash_peak_layer=peak.peak_node)

    def lowered(self, *, fused: bool = True, store_path: Collection[str] = STORE_PATH_FAMILIES) -> LoweredModel:
        """The step's workloads with its memory (``LoweredModel.training``): each fusion group one
        workload (:mod:`compiler.training.fuse`, for a GEMM store path that applies the families in
        ``store_path``: a config's ``store_path``), or with ``fused=False`` one per node."""
        lowered = fuse.lower(self.graph, store_path) if fused else lower(self.graph)
        return replace(lowered, training=self.step())


def build(graph: Graph, options: TrainingOptions) -> TrainingProgram:
    """The training step of an imported inference ``graph`` (:func:`compiler.importer.load_model`)."""
    for stage in (remove_identity, freeze, batchnorm_training, dead_code):
        graph = stage.run(graph)
    model_inputs = graph.inputs
    graph = autodiff.run(graph, options)
    parameters = tuple(o[len("grad:"):] for o in graph.outputs if o.startswith("grad:") and o[5:] in graph.weights)
    targets = tuple(i for i in graph.inputs if i not in model_inputs)
    graph = optimizer.run(graph, options)
    if options.recompute == "all":
        graph = recompute.run(graph)
    for stage in (fuse_epilogue, dead_code):
        graph = stage.run(graph)
    return TrainingProgram(graph, parameters, tuple(model_inputs), targets, options)

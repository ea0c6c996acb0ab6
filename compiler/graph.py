"""The imported model: ONNX nodes with static shapes, independent of the protobuf.

The importer produces a :class:`Graph`; clean-up passes return new graphs; lowering reads one.
Weight bytes are optional: a graph imported for estimation knows every tensor's shape and dtype but
holds data only for the small constants that shape arithmetic needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterator, Mapping

import numpy as np

from hwsim.core.workload import Skipped

__all__ = ["TensorInfo", "NodeMeta", "Node", "Graph"]


@dataclass(frozen=True)
class TensorInfo:
    """A value's static type. ``dtype`` is a numpy dtype name such as ``"float32"`` or ``"int8"``."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class NodeMeta:
    """What compiler passes record about a node, kept apart from its ONNX attributes.

    ``epilogue``: the element-wise nodes fused into a GEMM's store path
    (:mod:`compiler.passes.fuse_epilogue`), in order, and ``families`` their store-path families
    (``hwsim.core.workload.STORE_PATH_FAMILIES``); the first reads ``gemm_output``, the GEMM's own
    result, each later one the previous one's output. ``folded``: names of the nodes folded into
    this one (a BatchNormalization folded into its Conv). ``appends_to``: the input whose storage
    this node's output extends in place (a KV cache the new token's keys or values are appended to,
    :mod:`compiler.passes.kv_append`): only the other inputs move. ``phase``: in a training program
    (:mod:`compiler.training`), the step's phase the node belongs to
    (:data:`hwsim.core.training.PHASES`); ``""`` in an inference graph.
    """

    epilogue: tuple[Node, ...] = ()
    families: tuple[str, ...] = ()
    gemm_output: str = ""
    folded: tuple[str, ...] = ()
    phase: str = ""
    appends_to: str = ""


@dataclass(frozen=True)
class Node:
    """One operator. Omitted optional inputs are ``""``, as in ONNX.

    ``attrs`` holds the ONNX attributes as plain Python values: ints, floats, strings, tuples of
    those, numpy arrays for tensor attributes. ``meta`` holds what the compiler's passes decided.
    """

    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    domain: str = ""
    meta: NodeMeta = NodeMeta()

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", _freeze(self.attrs))

    def attr(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)

    def reads(self) -> list[str]:
        """Every value the node reads, its fused epilogue's operands included."""
        names = [i for i in self.inputs if i]
        for inner in self.meta.epilogue:
            names.extend(i for i in inner.inputs if i)
        return names


@dataclass(frozen=True)
class Graph:
    """A topologically sorted graph with a static :class:`TensorInfo` for every value.

    ``constants`` maps value names to data known before run time: folded shape arithmetic, small
    initializers, and (when imported with weights) every initializer. ``weights`` names the values
    that are model parameters (initializers and Constant-node outputs), whether or not their data
    was loaded.
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    nodes: tuple[Node, ...]
    tensors: Mapping[str, TensorInfo]
    constants: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))
    weights: frozenset[str] = frozenset()
    opset: int = 17
    #: Nodes the importer left out under ``allow_unsupported`` (Sequence operators, ...).
    skipped: tuple[Skipped, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tensors", _freeze(self.tensors))
        object.__setattr__(self, "constants", _freeze(self.constants))
        object.__setattr__(self, "weights", frozenset(self.weights))

    def info(self, name: str) -> TensorInfo:
        return self.tensors[name]

    def shape(self, name: str) -> tuple[int, ...]:
        return self.tensors[name].shape

    def is_constant(self, name: str) -> bool:
        """True for parameters and compile-time constants (their values do not depend on inputs)."""
        return name in self.weights or name in self.constants

    def producers(self) -> dict[str, Node]:
        return {out: node for node in self.nodes for out in node.outputs if out}

    def consumers(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                if name:
                    users.setdefault(name, []).append(node)
        return users

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

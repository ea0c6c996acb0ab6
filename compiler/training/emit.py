"""The builder that training passes add nodes, values and constants with.

An :class:`Emitter` starts from a graph and collects what a pass appends: nodes (each with its
training phase in ``NodeMeta.phase``), the static type of every new value, and new constants.
:meth:`Emitter.graph` returns the graph with them. Names stay unique: a node or value name that is
taken gets a numeric suffix. Nothing is ever rewritten in place.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from ..graph import Graph, Node, NodeMeta, TensorInfo
from ..ops import TRAINING_DOMAIN

__all__ = ["Emitter"]


class Emitter:
    """Appends to ``graph``; ``phase`` is the default phase of the nodes it adds."""

    def __init__(self, graph: Graph, phase: str = "") -> None:
        self.source = graph
        self.phase = phase
        self.nodes: list[Node] = []
        self.tensors: dict[str, TensorInfo] = dict(graph.tensors)
        self.constants: dict[str, np.ndarray] = dict(graph.constants)
        self.weights: set[str] = set(graph.weights)
        self._node_names = {n.name for n in graph.nodes}
        self._counts: dict[str, int] = {}

    # --------------------------------------------------------------------------------- lookups

    def info(self, name: str) -> TensorInfo:
        return self.tensors[name]

    def shape(self, name: str) -> tuple[int, ...]:
        return self.tensors[name].shape

    def dtype(self, name: str) -> str:
        return self.tensors[name].dtype

    def is_constant(self, name: str) -> bool:
        return name in self.weights or name in self.constants

    # ------------------------------------------------------------------------------------ names

    def fresh(self, base: str) -> str:
        """``base``, or ``base_N`` when a value of that name exists."""
        name, n = base, self._counts.get(base, 0)
        while name in self.tensors:
            n += 1
            name = f"{base}_{n}"
        self._counts[base] = n
        return name

    def _node_name(self, base: str) -> str:
        name, n = base, 1
        while name in self._node_names:
            name, n = f"{base}_{n}", n + 1
        self._node_names.add(name)
        return name

    # ---------------------------------------------------------------------------------- emitting

    def value(self, name: str, shape: Sequence[int], dtype: str, *, exact: bool = False) -> str:
        """Declare a new value (``exact``: under exactly this name, which must be free)."""
        if exact:
            if name in self.tensors:
                raise ValueError(f"value {name!r} exists already")
        else:
            name = self.fresh(name)
        self.tensors[name] = TensorInfo(name, tuple(int(d) for d in shape), dtype)
        return name

    def constant(self, base: str, value: np.ndarray) -> str:
        """A new compile-time constant (shapes, axes, zeros)."""
        value = np.asarray(value)
        name = self.value(base, value.shape, value.dtype.name)
        self.constants[name] = value
        return name

    def node(self, op: str, inputs: Sequence[str], outputs: Sequence[tuple[str, Sequence[int], str] | str],
             name: str, *, phase: str | None = None, training: bool = True, **attrs: Any) -> list[str]:
        """Append one node. ``outputs`` are ``(base name, shape, dtype)`` for new values, or names of
        values already declared (:meth:`value`); ``training`` puts it in the training domain. Returns
        the output names."""
        names = [o if isinstance(o, str) else self.value(o[0], o[1], o[2]) for o in outputs]
        node = Node(self._node_name(name), op, tuple(inputs), tuple(names), attrs,
                    domain=TRAINING_DOMAIN if training else "", meta=NodeMeta(phase=self.phase if phase is None else phase))
        self.nodes.append(node)
        return names

    def graph(self, *, inputs: Sequence[str] | None = None, outputs: Sequence[str] | None = None,
              prefix: Sequence[Node] | None = None) -> Graph:
        """The source graph with the added nodes after ``prefix`` (default: the source's nodes)."""
        nodes = tuple(self.source.nodes if prefix is None else prefix) + tuple(self.nodes)
        return replace(self.source, nodes=nodes, tensors=self.tensors, constants=self.constants,
                       weights=frozenset(self.weights),
                       inputs=tuple(self.source.inputs if inputs is None else inputs),
                       outputs=tuple(self.source.outputs if outputs is None else outputs))

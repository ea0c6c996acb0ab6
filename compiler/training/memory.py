"""What a training program stashes: the activations the forward pass keeps for the backward pass.

:func:`stash` sweeps the program in order. A value is stashed when a forward (or recompute) node
writes it, or it is a model input, and a backward or recompute node reads it; it is held from its
writer to its last such reader. Views (Reshape, Flatten, ...) share their input's bytes and count
once. The result is the peak of the held elements over the program and where it is reached.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.core.training import BACKWARD_DATA, BACKWARD_WEIGHT, FORWARD, RECOMPUTE

from ..graph import Graph
from ..ops.costs import ALIASES

__all__ = ["Stash", "stash"]

_WRITERS = (FORWARD, RECOMPUTE)
_READERS = (BACKWARD_DATA, BACKWARD_WEIGHT, RECOMPUTE)


@dataclass(frozen=True)
class Stash:
    """The peak of stashed activation elements, how many tensors make it, and the node it is reached at."""

    elems: int
    tensors: int
    peak_node: str


def stash(graph: Graph, model_inputs: tuple[str, ...] = ()) -> Stash:
    """The stash peak of ``graph``; ``model_inputs`` are the inputs that are activations (not
    targets or optimizer state)."""
    root: dict[str, str] = {}
    for node in graph.nodes:
        if node.op_type in ALIASES and not node.domain and node.inputs and node.inputs[0]:
            root[node.outputs[0]] = root.get(node.inputs[0], node.inputs[0])
    written: dict[str, int] = {name: -1 for name in model_inputs}
    last: dict[str, int] = {}
    for i, node in enumerate(graph.nodes):
        phase = node.meta.phase
        if phase in _READERS:
            for name in node.reads():
                r = root.get(name, name)
                if r in written and written[r] < i:
                    last[r] = i
        if phase in _WRITERS:
            for name in node.outputs:
                if name and name not in root:
                    written[name] = i
    # Index j + 1 stands for node j (index 0 for the inputs); a value is held from its writer to
    # its last reader, both included.
    change = [0] * (len(graph.nodes) + 3)
    for name, end in last.items():
        size = graph.info(name).size
        change[written[name] + 1] += size
        change[end + 2] -= size
    peak, at, held = 0, 0, 0
    for i in range(len(graph.nodes) + 1):
        held += change[i]
        if held > peak:
            peak, at = held, i
    node = graph.nodes[at - 1].name if at >= 1 else "(inputs)"
    return Stash(peak, len(last), node)

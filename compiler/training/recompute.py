"""Trade compute for memory: keep only checkpoints of the forward pass and rebuild the rest during
the backward pass (``--recompute all``; Chen et al., "Training Deep Nets with Sublinear Memory
Cost", arXiv:1604.06174).

Contract: the forward nodes are cut into about ``sqrt(n)`` contiguous segments; each cut is placed,
within a window around its even spacing, where the fewest activation elements cross it. The values
that cross a cut (produced before it, read by forward nodes after it) are the checkpoints and stay
stashed. Of every segment but the last, the nodes that produce what the backward pass reads from
it, and that is not a checkpoint, run again (phase ``recompute``, outputs suffixed ``@recompute``)
just before the first backward node reading one of them, and the backward nodes read the
recomputed values. The forward pass itself is unchanged, so the loss and every gradient are the
same; the last segment's activations are still live when the backward pass starts, so they are
kept as they are.
"""

from __future__ import annotations

import math
from dataclasses import replace

from hwsim.core.training import FORWARD, RECOMPUTE

from ..graph import Graph, Node, NodeMeta

__all__ = ["run", "SUFFIX"]

SUFFIX = "@recompute"


def _cuts(forward: list[Node], graph: Graph) -> list[int]:
    """Cut positions (a cut at ``c`` falls between forward nodes ``c - 1`` and ``c``)."""
    n = len(forward)
    made: dict[str, int] = {o: i for i, node in enumerate(forward) for o in node.outputs if o}
    last: dict[str, int] = {}
    for i, node in enumerate(forward):
        for name in node.reads():
            if name in made:
                last[name] = i
    crossing = [0] * (n + 1)  # elements crossing each cut, by a difference array
    for name, end in last.items():
        start = made[name]
        if end > start:
            crossing[start + 1] += graph.info(name).size
            crossing[end + 1] -= graph.info(name).size
    for c in range(1, n + 1):
        crossing[c] += crossing[c - 1]
    k = max(2, round(math.sqrt(n)))
    half = max(1, n // (2 * k))
    cuts: list[int] = []
    for j in range(1, k):
        aim = round(j * n / k)
        low = max(cuts[-1] + 1 if cuts else 1, aim - half)
        high = min(n - 1, aim + half)
        if low > high:
            continue
        cuts.append(min(range(low, high + 1), key=lambda c: (crossing[c], abs(c - aim), c)))
    return cuts


def run(graph: Graph) -> Graph:
    nodes = list(graph.nodes)
    count = next((i for i, node in enumerate(nodes) if node.meta.phase != FORWARD), len(nodes))
    forward, rest = nodes[:count], nodes[count:]
    if len(forward) < 4:
        return graph
    cuts = _cuts(forward, graph)
    bounds = [0, *cuts, len(forward)]
    segment_of = {o: s for s in range(len(bounds) - 1) for node in forward[bounds[s]:bounds[s + 1]]
                  for o in node.outputs if o}
    position = {o: i for i, node in enumerate(forward) for o in node.outputs if o}
    checkpoints: set[str] = set()
    for c in cuts:
        for node in forward[c:]:
            checkpoints.update(name for name in node.reads() if name in position and position[name] < c)
    read_later = {name for node in rest for name in node.reads()}
    producer = {o: node for node in forward for o in node.outputs if o}

    renamed: dict[str, str] = {}
    blocks: dict[int, list[Node]] = {}  # segment -> its recomputation
    for s in range(len(bounds) - 2):  # the last segment is live when the backward pass starts
        wanted = [o for node in forward[bounds[s]:bounds[s + 1]] for o in node.outputs
                  if o in read_later and o not in checkpoints]
        needed: set[str] = set()
        stack = list(wanted)
        while stack:
            value = stack.pop()
            node = producer[value]
            if node.name in needed:
                continue
            needed.add(node.name)
            stack.extend(i for i in node.reads() if segment_of.get(i) == s and i not in checkpoints)
        block = []
        for node in forward[bounds[s]:bounds[s + 1]]:
            if node.name not in needed:
                continue
            for o in node.outputs:
                if o:
                    renamed[o] = o + SUFFIX
            block.append(node)
        blocks[s] = block

    def rename(node: Node) -> Node:
        def sub(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(renamed.get(n, n) for n in names)

        meta = node.meta
        if meta.epilogue:
            meta = replace(meta, epilogue=tuple(replace(e, inputs=sub(e.inputs)) for e in meta.epilogue))
        return replace(node, inputs=sub(node.inputs), meta=meta)

    tensors = dict(graph.tensors)
    copies: dict[int, list[Node]] = {}
    for s, block in blocks.items():
        copies[s] = []
        for node in block:
            outputs = tuple(renamed.get(o, o) for o in node.outputs)
            for old, new in zip(node.outputs, outputs):
                if old:
                    tensors[new] = replace(graph.info(old), name=new)
            copy = rename(replace(node, name=node.name + SUFFIX, outputs=outputs, meta=NodeMeta(phase=RECOMPUTE)))
            copies[s].append(copy)
    out: list[Node] = list(forward)
    pending = dict(copies)
    for node in rest:
        for s in sorted(pending, reverse=True):
            if any(segment_of.get(name) == s and name in renamed for name in node.reads()):
                out.extend(pending.pop(s))
        out.append(rename(node))
    return replace(graph, nodes=tuple(out), tensors=tensors)

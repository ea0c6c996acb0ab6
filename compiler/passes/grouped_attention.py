"""Attention reads its keys and values where they are: no transposed copy, no repeated heads.

Contract: a MatMul whose two operands are activations of equal rank (3 or more, the same batch
dims: attention's scores ``Q K^T`` and values ``P V``), whose second operand reaches it through a
``Transpose`` and/or Hugging Face's ``repeat_kv`` (``Unsqueeze -> Expand -> Reshape``, each
key/value head repeated ``group`` times for grouped-query attention), becomes an ``Einsum`` on the
tensor before them. The array loads its stationary B tiles from either layout, so the transposition
is free; and the ``group`` query heads that share a key/value head stack into one GEMM's rows
(``m = group x queries``) against that head's keys, read once. With repeated heads, the first
operand is viewed as ``[.., kv_heads, group, ..]`` and the result viewed back to the MatMul's
shape (free Reshapes). The Einsum keeps the MatMul's name, its output and its MACs; the copies the
exporter made (of the whole KV cache, in a decode step) lose their last reader, and
:mod:`compiler.passes.dead_code` removes them. Every other node is unchanged.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..graph import Graph, Node, TensorInfo

__all__ = ["run"]

_VIEWS = ("Reshape", "Expand", "Unsqueeze")


def _axes(node: Node, graph: Graph) -> tuple[int, ...] | None:
    """An Unsqueeze's axes (an attribute before opset 13, a constant input after)."""
    if len(node.inputs) > 1 and node.inputs[1]:
        value = graph.constants.get(node.inputs[1])
        return None if value is None else tuple(int(a) for a in np.asarray(value).reshape(-1))
    axes = node.attr("axes")
    return None if axes is None else tuple(int(a) for a in axes)


class _Rewrite:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.producers = graph.producers()
        self.tensors = dict(graph.tensors)
        self.constants = dict(graph.constants)

    def trace(self, b: str, letters: list[str]) -> tuple[str, list[str], tuple[int, int] | None] | None:
        """Follow the second operand back through a Transpose and a ``repeat_kv``: the tensor the
        product can read instead, its axis letters, and ``(axis of the repeated heads in b, group)``."""
        graph, cur, cur_letters, repeat, changed = self.graph, b, list(letters), None, False
        for _ in range(2):
            node = self.producers.get(cur)
            if node is None or node.domain:
                break
            if node.op_type == "Transpose" and not changed:
                perm = node.attr("perm")
                rank = len(cur_letters)
                perm = tuple(int(p) for p in perm) if perm is not None else tuple(reversed(range(rank)))
                src_letters = [""] * rank
                for i, p in enumerate(perm):
                    src_letters[p] = cur_letters[i]
                cur, cur_letters, changed = node.inputs[0], src_letters, True
                continue
            if node.op_type == "Reshape" and repeat is None:
                found = self._repeat(node)
                if found is None:
                    break
                src, axis, group = found
                repeat = (cur_letters[axis], group)
                cur, changed = src, True
                continue
            break
        if not changed:
            return None
        if repeat is not None:
            letter, group = repeat
            cur_letters = ["g" if c == letter else c for c in cur_letters]
            return cur, cur_letters, (letters.index(letter), group)
        return cur, cur_letters, None

    def _repeat(self, reshape: Node) -> tuple[str, int, int] | None:
        """``(source, merged axis, group)`` if ``reshape`` ends a ``repeat_kv`` of ``source``."""
        graph = self.graph
        expand = self.producers.get(reshape.inputs[0])
        if expand is None or expand.op_type != "Expand":
            return None
        unsq = self.producers.get(expand.inputs[0])
        if unsq is None or unsq.op_type != "Unsqueeze":
            return None
        axes = _axes(unsq, graph)
        src = unsq.inputs[0]
        s = graph.shape(src)
        if axes is None or len(axes) != 1:
            return None
        ax = axes[0] % (len(s) + 1)
        expanded, out = graph.shape(expand.outputs[0]), graph.shape(reshape.outputs[0])
        if ax < 1 or len(expanded) != len(s) + 1 or expanded[:ax] != s[:ax] or expanded[ax + 1:] != s[ax:]:
            return None
        group = expanded[ax]
        if out != s[:ax - 1] + (s[ax - 1] * group,) + s[ax:]:
            return None
        return src, ax - 1, group

    def view(self, name: str, source: str, shape: tuple[int, ...], where: str) -> tuple[Node, str]:
        """A Reshape of ``source`` to ``shape`` named ``name`` (its shape vector a new constant)."""
        target = f"{name}/shape"
        self.constants[target] = np.asarray(shape, dtype=np.int64)
        self.tensors[target] = TensorInfo(target, (len(shape),), "int64")
        self.tensors[name] = TensorInfo(name, shape, self.tensors[source].dtype)
        return Node(f"{where}/view", "Reshape", (source, target), (name,)), name

    def matmul(self, node: Node) -> list[Node] | None:
        graph = self.graph
        if node.op_type != "MatMul" or node.domain or len(node.inputs) != 2:
            return None
        a, b = node.inputs
        if graph.is_constant(a) or graph.is_constant(b):
            return None
        sa, sb, so = graph.shape(a), graph.shape(b), graph.shape(node.outputs[0])
        rank = len(sa)
        if rank < 3 or len(sb) != rank or sa[:-2] != sb[:-2] or rank > 8:
            return None
        batch = list("bhijlo")[: rank - 2]
        traced = self.trace(b, batch + ["k", "n"])
        if traced is None:
            return None
        src, src_letters, repeat = traced
        a_letters, out_letters = batch + ["m", "k"], batch + ["m", "n"]
        inputs, before, after, out = [a, src], [], [], node.outputs[0]
        if repeat is not None:
            axis, group = repeat
            heads = sa[axis]
            if heads % group:
                return None
            split = list(sa[:axis]) + [heads // group, group] + list(sa[axis + 1:])
            letter = batch[axis]
            a_letters = [x for c in a_letters for x in (("g", "r") if c == letter else (c,))]
            out_letters = [x for c in out_letters for x in (("g", "r") if c == letter else (c,))]
            view, inputs[0] = self.view(f"{out}/grouped_queries", a, tuple(split), f"{node.name}/queries")
            before.append(view)
            grouped = f"{out}/grouped"
            shape = tuple(so[:axis]) + (heads // group, group) + tuple(so[axis + 1:])
            self.tensors[grouped] = TensorInfo(grouped, shape, graph.info(out).dtype)
            merge, _ = self.view(out, grouped, so, f"{node.name}/heads")
            self.tensors[out] = graph.info(out)
            after.append(merge)
            out = grouped
        equation = f"{''.join(a_letters)},{''.join(src_letters)}->{''.join(out_letters)}"
        einsum = Node(node.name, "Einsum", tuple(inputs), (out,), {"equation": equation}, meta=node.meta)
        return before + [einsum] + after


def run(graph: Graph) -> Graph:
    rewrite = _Rewrite(graph)
    nodes: list[Node] = []
    changed = False
    for node in graph.nodes:
        replaced = rewrite.matmul(node)
        if replaced is None:
            nodes.append(node)
        else:
            nodes.extend(replaced)
            changed = True
    if not changed:
        return graph
    return replace(graph, nodes=tuple(nodes), tensors=rewrite.tensors, constants=rewrite.constants)

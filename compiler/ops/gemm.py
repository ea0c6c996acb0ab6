"""The GEMM view of the array operators: ``groups`` independent ``(m x k) @ (k x n)`` products.

- Conv (im2col): ``m = N * prod(out_spatial)``, ``k = C_in / g * prod(kernel)``, ``n = C_out / g``,
  ``groups = g`` (depthwise: ``g = C_in``, so ``k = prod(kernel)``, ``n = multiplier``).
- ConvTranspose (GEMM + col2im): ``m = N * prod(in_spatial)``, ``k = C_in / g``,
  ``n = C_out / g * prod(kernel)``, ``groups = g``; each GEMM output element is then added into
  the output image (col2im), one vector add each.
- Gemm: ``m = M``, ``k = K``, ``n = N`` after ``transA``/``transB``.
- MatMul: batch dims broadcast; when B has no batch (a weight), the batch folds into ``m``;
  otherwise it becomes ``groups`` (attention's QK^T and AV).
- Einsum with two operands: letters in both operands and the output are batch, in A and the output
  ``m``, in B and the output ``n``, in both operands only ``k``.

When only the first operand is constant, the product is computed transposed (``C^T = B^T A^T``) so
the constant is always the stationary B operand. MACs are exact; bias adds are not MACs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..graph import Graph, Node
from ..workload import GemmShape
from . import ShapeError
from .costs import unit_cost
from .shapes import broadcast

__all__ = ["GemmView", "gemm_view"]

#: Per-output costs of the implied epilogue steps, from the one cost table.
_ADD = unit_cost("Add")
_MUL = unit_cost("Mul")
_REQUANTIZE = unit_cost("QuantizeLinear")


@dataclass(frozen=True)
class GemmView:
    """A GEMM operator's shape, its operands (activation A, stationary B, optional bias), and the
    vector work it implies beyond any fused epilogue (bias add, scaling, col2im, requantization)."""

    shape: GemmShape
    a: str
    b: str
    bias: str | None
    vector_ops: int

    def b_is_weight(self, graph: Graph) -> bool:
        return graph.is_constant(self.b)


def gemm_view(node: Node, graph: Graph) -> GemmView:
    """The GEMM view of ``node``; :class:`ShapeError` when an Einsum is not a two-operand product."""
    return _VIEWS[node.op_type](node, graph)


def _opt(node: Node, index: int | None) -> str | None:
    if index is None or index >= len(node.inputs) or not node.inputs[index]:
        return None
    return node.inputs[index]


def _out_size(node: Node, graph: Graph) -> int:
    return graph.info(node.outputs[0]).size


def _conv(node: Node, graph: Graph) -> GemmView:
    x_at, w_at, b_at = {"Conv": (0, 1, 2), "QLinearConv": (0, 3, 8), "ConvInteger": (0, 1, None)}[node.op_type]
    w = graph.shape(node.inputs[w_at])
    out = graph.shape(node.outputs[0])
    group = int(node.attr("group", 1))
    shape = GemmShape(m=out[0] * math.prod(out[2:]), k=w[1] * math.prod(w[2:]), n=w[0] // group, groups=group)
    bias = _opt(node, b_at)
    size = _out_size(node, graph)
    ops = size * _ADD if bias else 0
    if node.op_type == "QLinearConv":
        ops += size * _REQUANTIZE
    return GemmView(shape, node.inputs[x_at], node.inputs[w_at], bias, ops)


def _conv_transpose(node: Node, graph: Graph) -> GemmView:
    x = graph.shape(node.inputs[0])
    w = graph.shape(node.inputs[1])
    group = int(node.attr("group", 1))
    shape = GemmShape(m=x[0] * math.prod(x[2:]), k=w[0] // group, n=w[1] * math.prod(w[2:]), groups=group)
    bias = _opt(node, 2)
    col2im = shape.groups * shape.m * shape.n * _ADD
    return GemmView(shape, node.inputs[0], node.inputs[1], bias,
                    col2im + (_out_size(node, graph) * _ADD if bias else 0))


def _gemm(node: Node, graph: Graph) -> GemmView:
    a, b = node.inputs[0], node.inputs[1]
    m, k = graph.shape(a)[::-1] if node.attr("transA", 0) else graph.shape(a)
    n = graph.shape(b)[0] if node.attr("transB", 0) else graph.shape(b)[1]
    if graph.is_constant(a) and not graph.is_constant(b):
        a, b, m, n = b, a, n, m
    c = _opt(node, 2)
    beta = float(node.attr("beta", 1.0))
    size = _out_size(node, graph)
    ops = size * _MUL if float(node.attr("alpha", 1.0)) != 1.0 else 0
    if c and beta != 0.0:
        ops += size * _ADD
        if beta != 1.0 and not graph.is_constant(c):
            ops += size * _MUL  # a constant C is pre-scaled
    return GemmView(GemmShape(m=m, k=k, n=n), a, b, c if beta != 0.0 else None, ops)


def _matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> GemmShape:
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    b_batch = math.prod(b2[:-2])
    batch = math.prod(broadcast(a2[:-2], b2[:-2]))
    m, k, n = a2[-2], a2[-1], b2[-1]
    if b_batch == 1:
        return GemmShape(m=batch * m, k=k, n=n)
    return GemmShape(m=m, k=k, n=n, groups=batch)


def _swap_last(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape[:-2] + (shape[-1], shape[-2]) if len(shape) >= 2 else shape


def _matmul(node: Node, graph: Graph) -> GemmView:
    a_at, b_at = (0, 3) if node.op_type == "QLinearMatMul" else (0, 1)
    a, b = node.inputs[a_at], node.inputs[b_at]
    sa, sb = graph.shape(a), graph.shape(b)
    if graph.is_constant(a) and not graph.is_constant(b) and len(sa) >= 2 and len(sb) >= 2:
        a, b, sa, sb = b, a, _swap_last(sb), _swap_last(sa)
    ops = _out_size(node, graph) * _REQUANTIZE if node.op_type == "QLinearMatMul" else 0
    return GemmView(_matmul_shape(sa, sb), a, b, None, ops)


def _einsum(node: Node, graph: Graph) -> GemmView:
    if len(node.inputs) != 2:
        raise ShapeError("only two-operand Einsum is a GEMM")
    eq = str(node.attr("equation", "")).replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    shapes = [graph.shape(i) for i in node.inputs]
    free = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in eq)
    ell_rank = max([len(s) - (len(t) - 3) for t, s in zip(terms, shapes) if "..." in t] or [0])
    ell = "".join(next(free) for _ in range(ell_rank))
    terms = [t.replace("...", ell[ell_rank - (len(s) - (len(t) - 3)):]) if "..." in t else t
             for t, s in zip(terms, shapes)]
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {c: lhs.count(c) for c in set("".join(terms))}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    dims: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        if len(term) != len(shape) or len(set(term)) != len(term):
            raise ShapeError(f"Einsum '{eq}' is not a plain product of its operands")
        for c, d in zip(term, shape):
            dims[c] = max(dims.get(c, 1), d)
    a, b = node.inputs
    ta, tb = terms
    sb = dict(zip(tb, shapes[1]))
    if graph.is_constant(a) and not graph.is_constant(b):
        a, b, ta, tb = b, a, tb, ta
        sb = dict(zip(tb, shapes[0]))
    if set(out) - set(ta) - set(tb) or (set(ta) ^ set(tb)) - set(out):
        raise ShapeError(f"Einsum '{eq}' sums an axis of one operand alone; not a GEMM")
    batch = [c for c in out if c in ta and c in tb]
    m = math.prod(dims[c] for c in ta if c in out and c not in tb)
    n = math.prod(dims[c] for c in tb if c in out and c not in ta)
    k = math.prod(dims[c] for c in ta if c in tb and c not in out)
    groups = math.prod(dims[c] for c in batch)
    if math.prod(sb[c] for c in batch) == 1:
        return GemmView(GemmShape(m=m * groups, k=k, n=n), a, b, None, 0)
    return GemmView(GemmShape(m=m, k=k, n=n, groups=groups), a, b, None, 0)


_VIEWS = {
    "Conv": _conv, "QLinearConv": _conv, "ConvInteger": _conv, "ConvTranspose": _conv_transpose,
    "Gemm": _gemm, "MatMul": _matmul, "MatMulInteger": _matmul, "QLinearMatMul": _matmul, "Einsum": _einsum,
}

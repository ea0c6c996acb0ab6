"""Everything hwsim knows about GEMM operators, in one place: which ONNX operators run on the array,
which of their inputs are the operands, which operand stays in the array, and their GEMM shape.

- Conv (im2col): ``m = N * prod(out_spatial)``, ``k = C_in / g * prod(kernel)``, ``n = C_out / g``,
  ``groups = g`` (depthwise: ``g = C_in``, so ``k = prod(kernel)``, ``n = multiplier``).
- ConvTranspose (GEMM + col2im): ``m = N * prod(in_spatial)``, ``k = C_in / g``,
  ``n = C_out / g * prod(kernel)``, ``groups = g``; each GEMM output element is then added into
  the output image (col2im), one vector add each.
- Gemm: ``m = M``, ``k = K``, ``n = N`` after ``transA``/``transB``.
- MatMul: batch dims broadcast; when B has no batch (a weight), the batch folds into ``m``;
  otherwise it becomes ``groups`` (attention's QK^T and AV).
- Einsum with two operands: letters in both operands and the output are batch, in A and the output
  ``m``, in B and the output ``n``, in both operands only ``k`` (:func:`einsum_roles`).
- ConvGradWeight (training, :data:`~compiler.ops.TRAINING_DOMAIN`): a convolution's weight gradient
  ``dW = im2col(X)^T · dY`` per group: ``m = C_in / g · prod(kernel)``, ``k = N · out_spatial``
  (the reduction runs over batch and output positions), ``n = C_out / g``, ``groups = g``; both
  operands are activations. A convolution's data gradient is a ConvTranspose of ``dY`` by the same
  weights, a ConvTranspose's a Conv (docs/training.md).

**The stationary operand** (:func:`stationary_swap`): B stays in the array. When only the first
operand is constant, the product is computed transposed (``C^T = B^T A^T``) so the constant is
always the stationary B operand. The lowering, the numeric executor and the RTL all follow
:attr:`GemmView.swapped`. MACs are exact; bias adds are not MACs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from hwsim.core.workload import ConvWindow, GemmShape

from ..graph import Graph, Node
from ..kernels import spatial_pads
from . import TRAINING_DOMAIN, ShapeError
from .shapes import broadcast

__all__ = ["conv_window", "GEMM_OPS", "TRAINING_GEMM_OPS", "GemmOp", "GemmView", "EinsumRoles", "gemm_view", "is_gemm",
           "operand_inputs", "stationary_swap", "einsum_terms", "einsum_roles", "a_footprint", "touched_positions",
           "product_output", "conv_pads", "conv_transpose_pads"]


@dataclass(frozen=True)
class GemmOp:
    """A GEMM operator: the input indices of its operands A and B and of its bias (``None``: none),
    whether its product may run transposed, and the mapping as docs/ops.md states it."""

    a: int
    b: int
    bias: int | None
    swappable: bool
    formula: str


_CONV = "m = N·out_spatial, k = C_in/g·prod(kernel), n = C_out/g, groups = g"
_MATMUL = "m = M (·batch when B is shared), k = K, n = N, groups = broadcast batch"

#: The operators that run on the systolic array.
GEMM_OPS: dict[str, GemmOp] = {
    "Conv": GemmOp(0, 1, 2, False, _CONV + "; bias: Add per output"),
    "ConvInteger": GemmOp(0, 1, None, False, _CONV),
    "QLinearConv": GemmOp(0, 3, 8, False, _CONV + "; bias: Add, requantize: QuantizeLinear per output"),
    "ConvTranspose": GemmOp(0, 1, 2, False, "m = N·in_spatial, k = C_in/g, n = C_out/g·prod(kernel), groups = g; "
                                            "col2im: Add per GEMM output, bias: Add per output"),
    "Gemm": GemmOp(0, 1, 2, True, "m = M, k = K, n = N (after transA/transB); alpha ≠ 1: Mul, C: Add per output"),
    "MatMul": GemmOp(0, 1, None, True, _MATMUL),
    "MatMulInteger": GemmOp(0, 1, None, True, _MATMUL),
    "QLinearMatMul": GemmOp(0, 3, None, True, _MATMUL + "; requantize: QuantizeLinear per output"),
    "Einsum": GemmOp(0, 1, None, True, "two operands: batch letters → groups, A-only → m, contracted → k, B-only → n"),
    "ConvGradWeight": GemmOp(0, 1, None, False, "dW = im2col(X)ᵀ·dY: m = C_in/g·prod(kernel), k = N·out_spatial, "
                                                "n = C_out/g, groups = g"),
}

#: The GEMM operators of a training program (domain :data:`~compiler.ops.TRAINING_DOMAIN`); the others
#: are ONNX operators (default domain).
TRAINING_GEMM_OPS = frozenset({"ConvGradWeight"})


def is_gemm(node: Node) -> bool:
    """True when ``node`` runs on the array: an ONNX GEMM operator, or a training one in its domain."""
    if node.op_type not in GEMM_OPS:
        return False
    return node.domain == TRAINING_DOMAIN if node.op_type in TRAINING_GEMM_OPS else not node.domain


def operand_inputs(node: Node) -> tuple[int, int]:
    """Indices of the node's inputs that are the product's first and second operands."""
    op = GEMM_OPS[node.op_type]
    return op.a, op.b


def stationary_swap(node: Node, graph: Graph) -> bool:
    """True when the product runs transposed (``C^T = B^T A^T``) to keep the constant operand stationary:
    only the first operand is constant, and the operator allows it (a MatMul needs both operands
    at least 2-D, so that transposing means swapping its last two axes)."""
    op = GEMM_OPS[node.op_type]
    a, b = node.inputs[op.a], node.inputs[op.b]
    if not op.swappable or not graph.is_constant(a) or graph.is_constant(b):
        return False
    if node.op_type == "Einsum":
        return len(node.inputs) == 2
    return node.op_type == "Gemm" or (len(graph.shape(a)) >= 2 and len(graph.shape(b)) >= 2)


@dataclass(frozen=True)
class GemmView:
    """A GEMM operator's shape, its operands (streamed A, stationary B, optional bias), whether it runs
    transposed, and the vector work it implies beyond any fused epilogue: ``implied`` lists
    ``(operator, elements)`` pairs (bias add, scaling, col2im, requantization), charged at the
    operator's per-element cost by the lowering."""

    shape: GemmShape
    a: str
    b: str
    bias: str | None
    swapped: bool
    implied: tuple[tuple[str, int], ...] = ()

    def b_is_weight(self, graph: Graph) -> bool:
        return graph.is_constant(self.b)


def gemm_view(node: Node, graph: Graph) -> GemmView:
    """The GEMM view of ``node``; :class:`ShapeError` when an Einsum is not a two-operand product."""
    return _VIEWS[node.op_type](node, graph)


def _opt(node: Node, index: int | None) -> str | None:
    if index is None or index >= len(node.inputs) or not node.inputs[index]:
        return None
    return node.inputs[index]


def product_output(node: Node) -> str:
    """The value the product itself computes: the node's output, or, once an epilogue is fused
    (which may pool it), the result before the epilogue."""
    return node.meta.gemm_output or node.outputs[0]


def _out_size(node: Node, graph: Graph) -> int:
    return graph.info(product_output(node)).size


def _conv(node: Node, graph: Graph) -> GemmView:
    op = GEMM_OPS[node.op_type]
    w = graph.shape(node.inputs[op.b])
    out = graph.shape(product_output(node))
    group = int(node.attr("group", 1))
    # K is im2col's in_channels/group x kh x kw, in taps of in_channels/group (per-tap arrays keep them apart).
    taps = math.prod(w[2:])
    # row: the output width, the pixels one output row holds (a per-row controller's command never crosses it).
    shape = GemmShape(m=out[0] * math.prod(out[2:]), k=w[1] * taps, n=w[0] // group, groups=group, taps=taps,
                      row=out[-1] if len(out) > 2 else 0)
    bias = _opt(node, op.bias)
    size = _out_size(node, graph)
    implied = [("Add", size)] if bias else []
    if node.op_type == "QLinearConv":
        implied.append(("QuantizeLinear", size))
    return GemmView(shape, node.inputs[op.a], node.inputs[op.b], bias, False, tuple(implied))


def a_footprint(node: Node, graph: Graph) -> int:
    """Elements of the streamed operand A that the product reads at least once.

    A convolution reads only the input pixels some window touches: along each spatial axis, the
    positions ``o * stride + j * dilation - pad_begin`` inside the input, for every output ``o`` and
    kernel tap ``j``. A 1x1 convolution of stride 2 reads a quarter of its input; a 3x3 one of
    stride 1 reads all of it. Every other GEMM operator reads all of A.

    >>> from compiler.graph import Graph, Node, TensorInfo
    >>> t = {"x": TensorInfo("x", (1, 64, 56, 56), "float32"), "w": TensorInfo("w", (128, 64, 1, 1), "float32"),
    ...      "y": TensorInfo("y", (1, 128, 28, 28), "float32")}
    >>> node = Node("down", "Conv", ("x", "w"), ("y",), {"strides": (2, 2)})
    >>> a_footprint(node, Graph("g", ("x",), ("y",), (node,), t, weights=frozenset({"w"})))
    50176
    """
    op = GEMM_OPS[node.op_type]
    x = graph.shape(node.inputs[op.a])
    if node.op_type not in ("Conv", "QLinearConv", "ConvInteger", "ConvGradWeight"):
        return graph.info(node.inputs[op.a]).size
    if node.op_type == "ConvGradWeight":  # the windows are dY's positions, the kernel is dW's
        kernel = graph.shape(node.outputs[0])[2:]
        out = graph.shape(node.inputs[1])[2:]
    else:
        kernel = graph.shape(node.inputs[op.b])[2:]
        out = graph.shape(product_output(node))[2:]
    begin, _, strides, dilations = conv_pads(node, x[2:], kernel)
    touched = 1
    for size, k, s, d, b, o in zip(x[2:], kernel, strides, dilations, begin, out):
        touched *= touched_positions(size, k, s, d, b, o)
    return x[0] * x[1] * touched


def conv_window(node: Node, graph: Graph) -> ConvWindow | None:
    """A 2-D forward convolution's geometry (:class:`~hwsim.core.workload.ConvWindow`), for a user
    mapping to cut; None for any other operator.

    >>> from compiler.graph import Graph, Node, TensorInfo
    >>> t = {"x": TensorInfo("x", (1, 64, 56, 56), "float32"), "w": TensorInfo("w", (128, 64, 3, 3), "float32"),
    ...      "y": TensorInfo("y", (1, 128, 28, 28), "float32")}
    >>> node = Node("c", "Conv", ("x", "w"), ("y",), {"strides": (2, 2), "pads": (1, 1, 1, 1)})
    >>> w = conv_window(node, Graph("g", ("x",), ("y",), (node,), t, weights=frozenset({"w"})))
    >>> (w.c, w.k, w.q, w.p, w.s, w.r, w.stride_h, w.pad_top)
    (64, 128, 28, 28, 3, 3, 2, 1)
    """
    if node.op_type not in ("Conv", "QLinearConv", "ConvInteger"):
        return None
    op = GEMM_OPS[node.op_type]
    x, w = graph.shape(node.inputs[op.a]), graph.shape(node.inputs[op.b])
    out = graph.shape(product_output(node))
    if len(x) != 4 or len(w) != 4 or len(out) != 4:
        return None
    begin, _, strides, dilations = conv_pads(node, x[2:], w[2:])
    group = int(node.attr("group", 1))
    return ConvWindow(n=x[0], c=w[1], k=w[0] // group, q=out[2], p=out[3], s=w[2], r=w[3], in_h=x[2], in_w=x[3],
                      stride_h=strides[0], stride_w=strides[1], dilation_h=dilations[0], dilation_w=dilations[1],
                      pad_top=begin[0], pad_left=begin[1])


def conv_pads(node: Node, in_size: Sequence[int], kernel: Sequence[int]
              ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A convolution's ``(begin pads, end pads, strides, dilations)`` over input spatial dims
    ``in_size`` and kernel ``kernel``, ``auto_pad`` resolved."""
    rank = len(kernel)
    strides = tuple(int(s) for s in node.attr("strides") or (1,) * rank)
    dilations = tuple(int(d) for d in node.attr("dilations") or (1,) * rank)
    begin, end = spatial_pads(node.attr("auto_pad", "NOTSET"), node.attr("pads"), in_size, kernel, strides, dilations)
    return begin, end, strides, dilations


def conv_transpose_pads(node: Node, in_size: Sequence[int], kernel: Sequence[int], out_size: Sequence[int]
                        ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A ConvTranspose's ``(begin, end, strides, dilations, output_padding)``: ``begin`` is what is
    cropped from the front of the full output ``(i - 1)·s + (k - 1)·d + 1 + output_padding`` (from
    ``pads``, or centred by ``auto_pad``/``output_shape``), ``end`` what is cropped from its back to
    leave ``out_size`` (negative when ``output_shape`` asks for more than the full output)."""
    rank = len(kernel)
    strides = tuple(int(s) for s in node.attr("strides") or (1,) * rank)
    dilations = tuple(int(d) for d in node.attr("dilations") or (1,) * rank)
    out_pad = tuple(int(p) for p in node.attr("output_padding") or (0,) * rank)
    full = [(i - 1) * s + (k - 1) * d + 1 + p for i, s, k, d, p in zip(in_size, strides, kernel, dilations, out_pad)]
    pads = node.attr("pads")
    auto_pad = node.attr("auto_pad", "NOTSET")
    if node.attr("output_shape") is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        totals = [f - o for f, o in zip(full, out_size)]
        begin = tuple(t // 2 if auto_pad == "SAME_UPPER" else t - t // 2 for t in totals)
    elif pads and auto_pad != "VALID":
        begin = tuple(int(p) for p in pads[:rank])
    else:
        begin = (0,) * rank
    end = tuple(f - b - o for f, b, o in zip(full, begin, out_size))
    return begin, end, strides, dilations, out_pad


def _conv_grad_weight(node: Node, graph: Graph) -> GemmView:
    x, dy = node.inputs[0], node.inputs[1]
    dw = graph.shape(node.outputs[0])
    dys = graph.shape(dy)
    group = int(node.attr("group", 1))
    taps = math.prod(dw[2:])
    shape = GemmShape(m=dw[1] * taps, k=dys[0] * math.prod(dys[2:]), n=dw[0] // group, groups=group)
    return GemmView(shape, x, dy, None, False)


def touched_positions(size: int, k: int, s: int, d: int, b: int, o: int) -> int:
    """Input positions ``0 <= p < size`` that some output ``o' < o`` reads through some tap ``j < k``
    along one axis, ``p = o' * s + j * d - b``, counted in ``O(k log k)`` whatever the sizes.

    Tap ``j`` reads the progression ``j * d + s * t - b`` for ``t`` in ``[0, o)``: taps whose offsets
    ``j * d`` agree modulo ``s`` read one progression over overlapping ranges of ``t``, so the count
    is the length of the union of those ranges, clipped to the input, summed over the residues.

    >>> touched_positions(56, 1, 2, 1, 0, 28), touched_positions(56, 3, 1, 1, 1, 56)
    (28, 56)
    """
    if size <= 0 or k <= 0 or o <= 0:
        return 0
    ranges: dict[int, list[tuple[int, int]]] = {}
    for j in range(k):
        ranges.setdefault(j * d % s, []).append((j * d // s, j * d // s + o - 1))
    count = 0
    for r, spans in ranges.items():
        lo, hi = -((r - b) // s), (b + size - 1 - r) // s  # t with 0 <= r + s * t - b < size
        end = lo - 1
        for first, last in sorted(spans):
            first, last = max(first, end + 1, lo), min(last, hi)
            if last >= first:
                count += last - first + 1
                end = last
    return count


def _conv_transpose(node: Node, graph: Graph) -> GemmView:
    x = graph.shape(node.inputs[0])
    w = graph.shape(node.inputs[1])
    group = int(node.attr("group", 1))
    shape = GemmShape(m=x[0] * math.prod(x[2:]), k=w[0] // group, n=w[1] * math.prod(w[2:]), groups=group)
    bias = _opt(node, 2)
    implied = [("Add", shape.groups * shape.m * shape.n)]  # col2im
    if bias:
        implied.append(("Add", _out_size(node, graph)))
    return GemmView(shape, node.inputs[0], node.inputs[1], bias, False, tuple(implied))


def _gemm(node: Node, graph: Graph) -> GemmView:
    a, b = node.inputs[0], node.inputs[1]
    m, k = graph.shape(a)[::-1] if node.attr("transA", 0) else graph.shape(a)
    n = graph.shape(b)[0] if node.attr("transB", 0) else graph.shape(b)[1]
    swapped = stationary_swap(node, graph)
    if swapped:
        a, b, m, n = b, a, n, m
    c = _opt(node, 2)
    beta = float(node.attr("beta", 1.0))
    size = _out_size(node, graph)
    implied = [("Mul", size)] if float(node.attr("alpha", 1.0)) != 1.0 else []
    if c and beta != 0.0:
        implied.append(("Add", size))
        if beta != 1.0 and not graph.is_constant(c):
            implied.append(("Mul", size))  # a constant C is pre-scaled
    return GemmView(GemmShape(m=m, k=k, n=n), a, b, c if beta != 0.0 else None, swapped, tuple(implied))


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
    a_at, b_at = operand_inputs(node)
    a, b = node.inputs[a_at], node.inputs[b_at]
    sa, sb = graph.shape(a), graph.shape(b)
    swapped = stationary_swap(node, graph)
    if swapped:
        a, b, sa, sb = b, a, _swap_last(sb), _swap_last(sa)
    implied = (("QuantizeLinear", _out_size(node, graph)),) if node.op_type == "QLinearMatMul" else ()
    return GemmView(_matmul_shape(sa, sb), a, b, None, swapped, implied)


def einsum_terms(equation: str, ranks: Sequence[int]) -> tuple[tuple[str, ...], str]:
    """An Einsum's operand letters and output letters with ``...`` spelled out as fresh letters.

    >>> einsum_terms("...ij,jk", (3, 2))
    (('Aij', 'jk'), 'Aik')
    """
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ShapeError(f"Einsum '{eq}' names {len(terms)} operands but has {len(ranks)}")
    fresh = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in eq]
    spans = [rank - (len(t) - 3) if "..." in t else 0 for t, rank in zip(terms, ranks)]
    if min(spans, default=0) < 0:
        raise ShapeError(f"Einsum '{eq}' has more letters than its operands have axes")
    ell = "".join(fresh[: max(spans, default=0)])
    terms = [t.replace("...", ell[len(ell) - span:]) if "..." in t else t for t, span in zip(terms, spans)]
    if arrow:
        out = rhs.replace("...", ell)
    else:
        letters = "".join(terms)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    return tuple(terms), out


@dataclass(frozen=True)
class EinsumRoles:
    """Which letters of a two-operand Einsum are batch (groups), m, k and n, in operand order."""

    a: str
    b: str
    out: str
    batch: tuple[str, ...]
    m: tuple[str, ...]
    k: tuple[str, ...]
    n: tuple[str, ...]


def einsum_roles(equation: str, ranks: Sequence[int], swapped: bool = False) -> EinsumRoles:
    """The GEMM roles of a two-operand Einsum's letters (A and B exchanged when ``swapped``);
    :class:`ShapeError` when the Einsum is not a plain product of its operands."""
    (ta, tb), out = einsum_terms(equation, ranks)
    for term, rank in zip((ta, tb), ranks):
        if len(term) != rank or len(set(term)) != len(term):
            raise ShapeError(f"Einsum '{equation}' is not a plain product of its operands")
    if swapped:
        ta, tb = tb, ta
    if set(out) - set(ta) - set(tb) or (set(ta) ^ set(tb)) - set(out):
        raise ShapeError(f"Einsum '{equation}' sums an axis of one operand alone; not a GEMM")
    return EinsumRoles(
        a=ta, b=tb, out=out,
        batch=tuple(c for c in out if c in ta and c in tb),
        m=tuple(c for c in ta if c in out and c not in tb),
        k=tuple(c for c in ta if c in tb and c not in out),
        n=tuple(c for c in tb if c in out and c not in ta),
    )


def _einsum(node: Node, graph: Graph) -> GemmView:
    if len(node.inputs) != 2:
        raise ShapeError("only two-operand Einsum is a GEMM")
    shapes = [graph.shape(i) for i in node.inputs]
    swapped = stationary_swap(node, graph)
    roles = einsum_roles(str(node.attr("equation", "")), [len(s) for s in shapes], swapped)
    a, b = reversed(node.inputs) if swapped else node.inputs
    dims: dict[str, int] = {}
    for term, shape in zip((roles.a, roles.b), reversed(shapes) if swapped else shapes):
        for c, d in zip(term, shape):
            dims[c] = max(dims.get(c, 1), d)
    sb = dict(zip(roles.b, shapes[0] if swapped else shapes[1]))
    m, k, n, groups = (math.prod(dims[c] for c in part) for part in (roles.m, roles.k, roles.n, roles.batch))
    if math.prod(sb[c] for c in roles.batch) == 1:
        return GemmView(GemmShape(m=m * groups, k=k, n=n), a, b, None, swapped)
    return GemmView(GemmShape(m=m, k=k, n=n, groups=groups), a, b, None, swapped)


_VIEWS: dict[str, Callable[[Node, Graph], GemmView]] = {
    "Conv": _conv, "QLinearConv": _conv, "ConvInteger": _conv, "ConvTranspose": _conv_transpose,
    "Gemm": _gemm, "MatMul": _matmul, "MatMulInteger": _matmul, "QLinearMatMul": _matmul, "Einsum": _einsum,
    "ConvGradWeight": _conv_grad_weight,
}
assert _VIEWS.keys() == GEMM_OPS.keys()

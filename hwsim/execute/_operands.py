"""The GEMM each array layer computes: its A and B operands and the map from the product back to ONNX.

Every builder returns a :class:`GemmProblem` with ``a`` of shape ``(groups, m, k)`` and ``b`` of
shape ``(groups, k, n)`` — the matrices the tile program slices — and ``layout``, which turns the
``(groups, m, n)`` product into the node's output tensor. Shapes are checked against the lowering's
:class:`~hwsim.core.workload.GemmShape`, so a lowering that treats a grouped convolution as dense, drops
a padding or folds a batch wrongly is caught here rather than producing a plausible estimate.

Convolution is im2col: ``m = batch * out_spatial``, ``k = in_ch / groups * kernel``, ``n = out_ch /
groups``. ConvTranspose multiplies every input pixel by the kernel (``m = batch * in_spatial``,
``k = in_ch / groups``, ``n = out_ch / groups * kernel``) and col2im adds the products into the
output. Gemm, MatMul and Einsum with a constant first operand run transposed (``C^T = B^T A^T``) so
the constant is the stationary B operand, as the lowering (:mod:`compiler.ops.gemm`) specifies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from compiler.kernels import OpEnv, attr_ints, padded, spatial_pads, taps
from compiler.ops.gemm import conv_transpose_pads, einsum_roles
from hwsim.core.errors import InternalError
from hwsim.core.workload import GemmShape

__all__ = ["GemmProblem", "LoweringMismatch", "conv", "conv_grad_weight", "conv_transpose", "gemm", "matmul", "einsum"]


class LoweringMismatch(InternalError):
    """The lowering's GEMM shape is not the product the node's ONNX semantics define (a compiler bug)."""


@dataclass(frozen=True)
class GemmProblem:
    a: np.ndarray  #: (groups, m, k)
    b: np.ndarray  #: (groups, k, n)
    layout: Callable[[np.ndarray], np.ndarray]  #: (groups, m, n) product -> output tensor
    taps: int = 1  #: a convolution's kernel taps (K is taps x input channels)
    row: int = 0   #: a convolution's output width (GemmShape.row)

    @property
    def shape(self) -> GemmShape:
        g, m, k = self.a.shape
        return GemmShape(m=m, k=k, n=self.b.shape[2], groups=g, taps=self.taps, row=self.row)


def _check(node_name: str, problem: GemmProblem, expected: GemmShape | None) -> GemmProblem:
    if expected is not None and problem.shape != expected:
        raise LoweringMismatch(
            f"{node_name}: lowering gave {expected} but the node computes {problem.shape}"
        )
    return problem


def _conv_geometry(env: OpEnv, x_shape: Sequence[int], kernel: Sequence[int]):
    rank = len(kernel)
    strides = attr_ints(env, "strides", (1,) * rank)
    dilations = attr_ints(env, "dilations", (1,) * rank)
    return strides, dilations


def _im2col(x: np.ndarray, kernel: Sequence[int], groups: int, env: OpEnv, out_size: tuple[int, ...], fill) -> np.ndarray:
    """``(groups, N * prod(out_size), C/groups * prod(kernel))``: every window of ``x`` as a row."""
    n_batch = x.shape[0]
    cin_g = x.shape[1] // groups
    strides, dilations = _conv_geometry(env, x.shape, kernel)
    begin, end = spatial_pads(env.attr("auto_pad", "NOTSET"), attr_ints(env, "pads"), x.shape[2:], kernel, strides, dilations)
    rank = len(kernel)
    # A is (groups, N, *out, C/groups, *kernel) in memory, so that (groups, m, k) is a plain reshape;
    # each kernel offset fills one strided slice of it from one strided view of the padded input.
    cols = np.empty((groups, n_batch) + out_size + (cin_g,) + tuple(kernel), dtype=x.dtype)
    by_offset = cols.transpose((1, 0, 2 + rank) + tuple(range(3 + rank, 3 + 2 * rank)) + tuple(range(2, 2 + rank)))
    xp = padded(x, kernel, strides, dilations, begin, end, out_size, fill=fill)
    for offset, tap in taps(xp, kernel, strides, dilations, out_size):
        by_offset[(slice(None), slice(None), slice(None)) + offset] = tap.reshape((n_batch, groups, cin_g) + out_size)
    return cols.reshape(groups, n_batch * math.prod(out_size), cin_g * math.prod(kernel))


def conv(env: OpEnv, x: np.ndarray, w: np.ndarray, expected: GemmShape | None, fill=0) -> GemmProblem:
    """Conv as im2col; ``fill`` is the padding value (a zero point for quantized inputs)."""
    n_batch = x.shape[0]
    out_ch, cin_g, *kernel = w.shape
    groups = int(env.attr("group", 1))
    out_size = tuple(env.out_shape(0)[2:])  # the importer's shape inference settled it
    rank = len(kernel)
    a = _im2col(x, kernel, groups, env, out_size, fill)
    n_g = out_ch // groups
    b = w.reshape(groups, n_g, -1).transpose(0, 2, 1)

    def layout(c: np.ndarray) -> np.ndarray:
        t = c.reshape((groups, n_batch) + out_size + (n_g,))
        t = t.transpose((1, 0, 2 + rank) + tuple(range(2, 2 + rank)))
        return t.reshape((n_batch, out_ch) + out_size)

    return _check(env.node.name, GemmProblem(a, b, layout, math.prod(kernel), out_size[-1]), expected)


def conv_grad_weight(env: OpEnv, x: np.ndarray, dy: np.ndarray, expected: GemmShape | None) -> GemmProblem:
    """A convolution's weight gradient ``dW = im2col(X)^T · dY`` per group (training programs):
    A is the im2col of ``x`` transposed, ``(groups, C_in/g · prod(kernel), N · out_spatial)``, B is
    ``dy`` as ``(groups, N · out_spatial, C_out/g)``; the product is ``dW``'s ``(C_out, C_in/g, *kernel)``."""
    out_ch, cin_g, *kernel = env.out_shape(0)
    groups = int(env.attr("group", 1))
    out_size = tuple(dy.shape[2:])
    cols = _im2col(x, kernel, groups, env, out_size, 0)
    a = cols.transpose(0, 2, 1)
    n_g = out_ch // groups
    b = dy.reshape(dy.shape[0], groups, n_g, -1).transpose(1, 0, 3, 2).reshape(groups, -1, n_g)

    def layout(c: np.ndarray) -> np.ndarray:
        return c.transpose(0, 2, 1).reshape((out_ch, cin_g) + tuple(kernel))

    return _check(env.node.name, GemmProblem(a, b, layout), expected)


def _conv_transpose_geometry(env: OpEnv, x: np.ndarray, w: np.ndarray):
    kernel = w.shape[2:]
    out_size = tuple(env.out_shape(0)[2:])
    begin, _, strides, dilations, _ = conv_transpose_pads(env.node, x.shape[2:], kernel, out_size)
    return kernel, strides, dilations, begin, out_size


def conv_transpose(env: OpEnv, x: np.ndarray, w: np.ndarray, expected: GemmShape | None) -> GemmProblem:
    """ConvTranspose as a GEMM of the input pixels against the kernel, then col2im."""
    n_batch, cin = x.shape[:2]
    cout_g = w.shape[1]
    groups = int(env.attr("group", 1))
    cin_g = cin // groups
    kernel, strides, dilations, begin, out_size = _conv_transpose_geometry(env, x, w)
    rank = len(kernel)
    in_size = x.shape[2:]
    ksize = math.prod(kernel)
    in_spatial = math.prod(in_size)
    a = x.reshape(n_batch, groups, cin_g, in_spatial).transpose(1, 0, 3, 2).reshape(groups, n_batch * in_spatial, cin_g)
    b = w.reshape(groups, cin_g, cout_g * ksize)
    cout = cout_g * groups

    def layout(c: np.ndarray) -> np.ndarray:
        # col2im: each kernel offset scatters a strided copy of the input grid into the output.
        cols = c.reshape((groups, n_batch) + tuple(in_size) + (cout_g,) + tuple(kernel))
        cols = cols.transpose((1, 0, 2 + rank) + tuple(range(2, 2 + rank)) + tuple(range(3 + rank, 3 + 2 * rank)))
        cols = cols.reshape((n_batch, cout) + tuple(in_size) + tuple(kernel))
        span = [max((i - 1) * s + (k - 1) * d + 1, b + o) for i, s, k, d, b, o in zip(in_size, strides, kernel, dilations, begin, out_size)]
        full = np.zeros((n_batch, cout) + tuple(span), dtype=c.dtype)
        for offset in np.ndindex(*kernel):
            target = (slice(None), slice(None)) + tuple(
                slice(o * d, o * d + (i - 1) * s + 1, s) for o, d, i, s in zip(offset, dilations, in_size, strides)
            )
            full[target] += cols[(Ellipsis,) + offset]
        crop = (slice(None), slice(None)) + tuple(slice(b, b + o) for b, o in zip(begin, out_size))
        return full[crop]

    return _check(env.node.name, GemmProblem(a, b, layout), expected)


def _transposed(problem_fn: Callable[[np.ndarray, np.ndarray], GemmProblem], a: np.ndarray, b: np.ndarray) -> GemmProblem:
    """``C = A·B`` computed as ``C^T = B^T·A^T``, so a constant first operand is the stationary B."""
    inner = problem_fn(np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2))
    return GemmProblem(inner.a, inner.b, lambda c: np.swapaxes(inner.layout(c), -1, -2))


def gemm(env: OpEnv, a: np.ndarray, b: np.ndarray, expected: GemmShape | None, swap: bool = False) -> GemmProblem:
    """Gemm's A·B (transA/transB applied); alpha, beta and C belong to the epilogue."""
    a2 = a.T if env.attr("transA", 0) else a
    b2 = b.T if env.attr("transB", 0) else b

    def straight(x: np.ndarray, y: np.ndarray) -> GemmProblem:
        return GemmProblem(x[None], y[None], lambda c: c[0])

    problem = _transposed(straight, a2, b2) if swap else straight(a2, b2)
    return _check(env.node.name, problem, expected)


def matmul(env: OpEnv, a: np.ndarray, b: np.ndarray, expected: GemmShape | None, swap: bool = False) -> GemmProblem:
    """MatMul with numpy semantics (1-D promotion, broadcast batch).

    A B without batch (a weight) lets A's batch fold into m, one long stream against fixed weights;
    otherwise each batch element is a group.
    """
    if swap and a.ndim >= 2 and b.ndim >= 2:
        return _check(env.node.name, _transposed(_matmul_problem, a, b), expected)
    return _check(env.node.name, _matmul_problem(a, b), expected)


def _matmul_problem(a: np.ndarray, b: np.ndarray) -> GemmProblem:
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = tuple(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]))
    m, k = a2.shape[-2:]
    n = b2.shape[-1]
    count = math.prod(batch)

    def layout(c: np.ndarray) -> np.ndarray:
        out = c.reshape(batch + (m, n))
        if a.ndim == 1:
            out = out[..., 0, :]
        if b.ndim == 1:
            out = out[..., 0]
        return out

    a3 = np.broadcast_to(a2, batch + (m, k))
    if math.prod(b2.shape[:-2]) == 1:
        return GemmProblem(a3.reshape(1, count * m, k), b2.reshape(1, k, n), layout)
    b3 = np.broadcast_to(b2, batch + (k, n))
    return GemmProblem(a3.reshape(count, m, k), b3.reshape(count, k, n), layout)


def einsum(env: OpEnv, a: np.ndarray, b: np.ndarray, expected: GemmShape | None, swap: bool = False) -> GemmProblem:
    """A two-operand Einsum as a GEMM, with the letters' roles of :func:`compiler.ops.gemm.einsum_roles`."""
    roles = einsum_roles(str(env.attr("equation")), (a.ndim, b.ndim), swap)
    if swap:
        a, b = b, a
    ta, tb, out = roles.a, roles.b, roles.out
    batch, ms, ks, ns = list(roles.batch), list(roles.m), list(roles.k), list(roles.n)
    size = {c: d for t, x in ((ta, a), (tb, b)) for c, d in zip(t, x.shape) if d != 1}
    dim = lambda c: size.get(c, 1)  # noqa: E731
    a_full = np.broadcast_to(np.transpose(a, [ta.index(c) for c in batch + ms + ks]), tuple(dim(c) for c in batch + ms + ks))
    b_full = np.transpose(b, [tb.index(c) for c in batch + ks + ns])
    g = math.prod(dim(c) for c in batch)
    m, k, n = (math.prod(dim(c) for c in part) for part in (ms, ks, ns))
    if math.prod(b_full.shape[: len(batch)]) == 1:
        a3, b3 = a_full.reshape(1, g * m, k), b_full.reshape(1, k, n)
    else:
        b_full = np.broadcast_to(b_full, tuple(dim(c) for c in batch + ks + ns))
        a3, b3 = a_full.reshape(g, m, k), b_full.reshape(g, k, n)
    order = batch + ms + ns

    def layout(c: np.ndarray) -> np.ndarray:
        t = c.reshape(tuple(dim(x) for x in order))
        return np.transpose(t, [order.index(x) for x in out])

    return _check(env.node.name, GemmProblem(a3, b3, layout), expected)

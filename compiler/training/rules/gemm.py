"""Backward rules of the GEMM operators: their data and weight gradients are GEMMs again.

For ``Y = X * W`` (docs/training.md gives each shape):

- **Conv**: ``dX`` is a ConvTranspose of ``dY`` by the same weights, strides, dilations, pads and
  groups (``output_padding`` recovers the input rows a stride skipped); ``dW`` is ConvGradWeight,
  ``im2col(X)^T · dY`` per group, whose reduction runs over batch and output positions; ``dB``
  sums ``dY`` over batch and positions.
- **ConvTranspose**, the adjoint of Conv: ``dX`` is a Conv of ``dY`` by the same weights, ``dW`` is
  ConvGradWeight with the roles of input and output exchanged.
- **Gemm**: ``dA = α·dY·op(B)^T`` and ``dB = α·op(A)^T·dY`` as Gemm nodes (transposed to match
  ``transA``/``transB``), ``dC = β·dY`` summed to C's shape.
- **MatMul**: ``dA = dY·B^T`` and ``dB = A^T·dY`` as two-operand Einsums, batch axes that an operand
  broadcasts over summed inside the product (they become part of its K).
"""

from __future__ import annotations

import math
from typing import Mapping

from ...ops.gemm import conv_pads, conv_transpose_pads
from ..grad import Backward, Rule, Unsupported

__all__ = ["RULES"]


def _conv_attrs(b: Backward, kernel, begin, end, strides, dilations) -> dict[str, object]:
    """The window attributes both convolution rules give their gradient nodes, pads resolved."""
    return dict(kernel_shape=tuple(kernel), strides=strides, dilations=dilations, pads=begin + end,
                group=int(b.node.attr("group", 1)))


def _weight_and_bias(b: Backward, grads: dict[int, str], operands: list[str], attrs: dict[str, object]) -> None:
    """``dW`` (ConvGradWeight of im2col(image)ᵀ·dY, ``operands`` = [image, dY-like]) and ``dB``
    (dY summed over batch and positions) into ``grads``."""
    dy = b.grad()
    if b.needs(1):
        grads[1] = b.op("ConvGradWeight", operands, b.x(1), "dW", serves=(1,), **attrs)
    if b.needs(2):
        grads[2] = b.sum_to(dy, 2, "dB", axes=(0,) + tuple(range(2, len(b.shape(dy)))))


def _conv(b: Backward) -> Mapping[int, str]:
    x, w = b.x(0), b.x(1)
    xs, ws = b.shape(x), b.shape(w)
    kernel = ws[2:]
    begin, end, strides, dilations = conv_pads(b.node, xs[2:], kernel)
    attrs = _conv_attrs(b, kernel, begin, end, strides, dilations)
    dy = b.grad()
    grads: dict[int, str] = {}
    if b.needs(0):
        # The rows a stride skipped at the end: the ConvTranspose's output_padding gives them back.
        out_pad = tuple((i + p + q - ((k - 1) * d + 1)) % s
                        for i, p, q, k, d, s in zip(xs[2:], begin, end, kernel, dilations, strides))
        grads[0] = b.onnx("ConvTranspose", [dy, w], x, "dX", serves=(0,), output_padding=out_pad, **attrs)
    _weight_and_bias(b, grads, [x, dy], attrs)
    return grads


def _conv_transpose(b: Backward) -> Mapping[int, str]:
    x, w = b.x(0), b.x(1)
    xs, ws, ys = b.shape(x), b.shape(w), b.shape(b.y())
    kernel = ws[2:]
    begin, end, strides, dilations, _ = conv_transpose_pads(b.node, xs[2:], kernel, ys[2:])
    if min(end) < 0:
        raise Unsupported("an output_shape beyond the full output (a crop past its end)")
    attrs = _conv_attrs(b, kernel, begin, end, strides, dilations)
    dy = b.grad()
    grads: dict[int, str] = {}
    if b.needs(0):
        grads[0] = b.onnx("Conv", [dy, w], x, "dX", serves=(0,), **attrs)
    # The adjoint: the output's windows play the input's part.
    _weight_and_bias(b, grads, [dy, x], attrs)
    return grads


def _gemm(b: Backward) -> Mapping[int, str]:
    a, w = b.x(0), b.x(1)
    ta, tb = int(b.node.attr("transA", 0)), int(b.node.attr("transB", 0))
    alpha, beta = float(b.node.attr("alpha", 1.0)), float(b.node.attr("beta", 1.0))
    dy = b.grad()
    grads: dict[int, str] = {}
    if b.needs(0):
        if ta:  # dA = (dY·op(B)^T)^T = op(B)·dY^T
            grads[0] = b.onnx("Gemm", [w, dy], a, "dA", serves=(0,), alpha=alpha, transA=tb, transB=1)
        else:
            grads[0] = b.onnx("Gemm", [dy, w], a, "dA", serves=(0,), alpha=alpha, transB=1 - tb)
    if b.needs(1):
        if tb:  # dB = (op(A)^T·dY)^T = dY^T·op(A)
            grads[1] = b.onnx("Gemm", [dy, a], w, "dB", serves=(1,), alpha=alpha, transA=1, transB=ta)
        else:
            grads[1] = b.onnx("Gemm", [a, dy], w, "dB", serves=(1,), alpha=alpha, transA=1 - ta)
    if b.needs(2) and len(b.node.inputs) > 2 and b.node.inputs[2]:
        grads[2] = b.sum_to(dy, 2, "dC", scale=beta)
    return grads


_BATCH = "ABCDEFGHIJ"


def _matmul(b: Backward) -> Mapping[int, str]:
    """Einsums over views that drop every axis of size 1 an operand broadcasts along, so that each
    letter has one size: a batch letter the other operand lacks is summed inside the product."""
    a, w = b.x(0), b.x(1)
    sa, sw = b.shape(a), b.shape(w)
    a2 = (1,) + sa if len(sa) == 1 else sa
    w2 = sw + (1,) if len(sw) == 1 else sw
    batch_a, batch_w = a2[:-2], w2[:-2]
    rank = max(len(batch_a), len(batch_w))
    if rank > len(_BATCH):
        raise Unsupported(f"more than {len(_BATCH)} batch axes")
    pa = (1,) * (rank - len(batch_a)) + batch_a
    pw = (1,) * (rank - len(batch_w)) + batch_w
    out = tuple(max(p, q) for p, q in zip(pa, pw))
    kept = [i for i in range(rank) if out[i] > 1]
    letters_a = "".join(_BATCH[i] for i in kept if pa[i] > 1)
    letters_w = "".join(_BATCH[i] for i in kept if pw[i] > 1)
    letters_y = "".join(_BATCH[i] for i in kept)
    m, k, n = a2[-2], a2[-1], w2[-1]
    view_a = tuple(pa[i] for i in kept if pa[i] > 1) + (m, k)
    view_w = tuple(pw[i] for i in kept if pw[i] > 1) + (k, n)
    view_y = tuple(out[i] for i in kept) + (m, n)
    dy = b.grad()
    dy_v = b.reshape(dy, view_y, "dY_view")
    grads: dict[int, str] = {}
    if b.needs(0):
        w_v = b.reshape(w, view_w, "B_view", serves=(0,))
        eq = f"{letters_y}mn,{letters_w}kn->{letters_a}mk"
        product = b.onnx("Einsum", [dy_v, w_v], view_a, "dA", serves=(0,), equation=eq)
        grads[0] = b.reshape(product, sa, "dA_shape", serves=(0,))
    if b.needs(1):
        a_v = b.reshape(a, view_a, "A_view", serves=(1,))
        eq = f"{letters_a}mk,{letters_y}mn->{letters_w}kn"
        product = b.onnx("Einsum", [a_v, dy_v], view_w, "dB", serves=(1,), equation=eq)
        grads[1] = b.reshape(product, sw, "dB_shape", serves=(1,))
    assert math.prod(view_a) == math.prod(sa) and math.prod(view_w) == math.prod(sw)
    return grads


RULES: dict[str, Rule] = {
    "Conv": Rule((0, 1, 2), _conv),
    "ConvTranspose": Rule((0, 1, 2), _conv_transpose),
    "Gemm": Rule((0, 1, 2), _gemm),
    "MatMul": Rule((0, 1), _matmul),
}

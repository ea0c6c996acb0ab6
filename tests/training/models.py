"""Small models for the training tests, one per family of backward rules (onnx.helper, seeded weights).

Each builder returns ``(model, inputs)``: the model and its input arrays. Sizes are tiny so that a
finite-difference check of every parameter takes a fraction of a second.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto

from tests.execute.models import Net, conv_zoo

Built = tuple[onnx.ModelProto, dict[str, np.ndarray]]


def _x(*shape: int, seed: int = 7, low: float | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    return np.abs(x) + low if low is not None else x


def conv() -> Built:
    """Conv with every attribute: pads and stride, asymmetric pads with dilation, groups with
    SAME_UPPER, depthwise (channel multiplier 2) with SAME_LOWER, VALID with dilation, a 1-D conv."""
    b = Net(3)
    y = b.op("Conv", "x", b.weight(4, 2, 3, 3), b.const(np.linspace(-0.5, 0.5, 4)), pads=[1, 1, 1, 1], strides=[2, 2])
    y = b.op("Tanh", y)
    y = b.op("Conv", y, b.weight(4, 4, 3, 2), pads=[2, 0, 1, 1], dilations=[2, 1])
    y = b.op("Conv", y, b.weight(6, 2, 3, 3), b.const(np.zeros(6)), group=2, strides=[1, 2], auto_pad="SAME_UPPER")
    y = b.op("Conv", y, b.weight(12, 1, 2, 2), group=6, strides=[2, 1], auto_pad="SAME_LOWER")
    y = b.op("Conv", y, b.weight(3, 12, 2, 2), auto_pad="VALID", dilations=[1, 2])
    flat = b.op("Reshape", y, b.const([2, 3, -1], np.int64))
    z = b.op("Conv", flat, b.weight(2, 3, 3), pads=[2, 1], strides=[2])
    return b.model([("x", TensorProto.FLOAT, (2, 2, 11, 9))], [z]), {"x": _x(2, 2, 11, 9)}


def conv_transpose() -> Built:
    """ConvTranspose: stride, asymmetric pads, output_padding, groups, bias; output_shape with dilation."""
    b = Net(4)
    t = b.op("ConvTranspose", "x", b.weight(4, 3, 3, 3), b.const(np.arange(6) * 0.1), strides=[2, 2],
             pads=[1, 0, 0, 1], output_padding=[1, 1], group=2)
    t = b.op("Sigmoid", t)
    t = b.op("ConvTranspose", t, b.weight(6, 2, 2, 3), strides=[2, 1], dilations=[1, 2], output_shape=[18, 12])
    return b.model([("x", TensorProto.FLOAT, (2, 4, 4, 5))], [t]), {"x": _x(2, 4, 4, 5)}


def gemm() -> Built:
    """Gemm with transA, transB, alpha and beta and a broadcast C; a plain Gemm with a row C."""
    b = Net(5)
    xt = b.op("Transpose", "x", perm=[1, 0])
    g = b.op("Gemm", xt, b.weight(5, 3), b.const(np.linspace(-1, 1, 5)), transA=1, transB=1, alpha=0.7, beta=1.5)
    g = b.op("Gemm", g, b.weight(5, 4), b.weight(1, 4, scale=0.3))
    return b.model([("x", TensorProto.FLOAT, (6, 3))], [g]), {"x": _x(6, 3)}


def matmul() -> Built:
    """Batched MatMul of two activations (4-D), a 3-D activation by a 2-D weight (its gradient
    sums over the batch), a broadcast batched weight, and a vector operand."""
    b = Net(6)
    q = b.op("MatMul", "x", b.weight(4, 4))                      # (2, 3, 5, 4) @ (4, 4)
    k = b.op("Transpose", b.op("MatMul", "x", b.weight(4, 4)), perm=[0, 1, 3, 2])
    s = b.op("MatMul", q, k)                                      # (2, 3, 5, 5), both activations
    v = b.op("MatMul", s, b.weight(3, 5, 2, scale=0.4))           # broadcast over the first axis
    w = b.op("MatMul", v, b.weight(2, scale=0.5))                 # a vector: (2, 3, 5)
    return b.model([("x", TensorProto.FLOAT, (2, 3, 5, 4))], [w]), {"x": _x(2, 3, 5, 4)}


def activations() -> Built:
    b = Net(7)
    h = b.op("MatMul", "x", b.weight(6, 8))
    parts = b.op("Split", h, b.const([1] * 8, np.int64), axis=1, outputs=8)
    acts = [b.op("Relu", parts[0]), b.op("Gelu", parts[1]), b.op("Tanh", parts[2]), b.op("Sigmoid", parts[3]),
            b.op("Clip", parts[4], b.const(-0.5), b.const(0.5)), b.op("HardSigmoid", parts[5], alpha=0.3),
            b.op("HardSwish", parts[6]), b.op("Erf", parts[7])]
    y = b.op("Concat", *acts, axis=1)
    pos = b.op("Add", b.op("Mul", y, y), b.const(0.5))
    y = b.op("Add", b.op("Sqrt", pos), b.op("Log", pos))
    y = b.op("Add", y, b.op("Pow", b.op("Exp", b.op("Neg", y)), b.const(2.0)))
    return b.model([("x", TensorProto.FLOAT, (5, 6))], [y], opset=20), {"x": _x(5, 6)}


def softmax() -> Built:
    """Softmax over a middle axis inside the model, and as the model's output (cross entropy reads
    its logits)."""
    b = Net(8)
    h = b.op("MatMul", "x", b.weight(4, 6))
    h = b.op("Mul", b.op("Softmax", h, axis=1), b.const(3.0))
    y = b.op("Softmax", b.op("MatMul", h, b.weight(6, 5)), axis=-1)
    return b.model([("x", TensorProto.FLOAT, (2, 3, 4))], [y]), {"x": _x(2, 3, 4)}


def layernorm() -> Built:
    b = Net(9)
    h = b.op("MatMul", "x", b.weight(6, 6))
    n = b.op("LayerNormalization", h, b.weight(6, scale=0.5), b.weight(6, scale=0.5), axis=-1, epsilon=1e-5)
    n = b.op("LayerNormalization", n, b.weight(3, 6, scale=0.5), b.weight(3, 6, scale=0.5), axis=-2, epsilon=1e-3)
    return b.model([("x", TensorProto.FLOAT, (2, 3, 6))], [n]), {"x": _x(2, 3, 6)}


def batchnorm() -> Built:
    """BatchNormalization after Conv and after Gemm; a training step normalizes with batch statistics."""
    b = Net(10)
    y = b.op("Conv", "x", b.weight(4, 3, 3, 3), pads=[1, 1, 1, 1])
    y = b.op("BatchNormalization", y, b.weight(4, scale=0.5), b.weight(4, scale=0.5), b.const(np.zeros(4)),
             b.const(np.ones(4)), epsilon=1e-3)
    f = b.op("Flatten", b.op("Tanh", y), axis=1)
    g = b.op("Gemm", f, b.weight(4 * 5 * 5, 3, scale=0.1))
    g3 = b.op("Unsqueeze", g, b.const([2], np.int64))
    g3 = b.op("BatchNormalization", g3, b.weight(3, scale=0.5), b.weight(3, scale=0.5), b.const(np.zeros(3)),
              b.const(np.ones(3)))
    return b.model([("x", TensorProto.FLOAT, (3, 3, 5, 5))], [g3]), {"x": _x(3, 3, 5, 5)}


def pooling() -> Built:
    b = Net(11)
    y = b.op("Conv", "x", b.weight(3, 2, 3, 3), pads=[1, 1, 1, 1])
    m = b.op("MaxPool", y, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    a = b.op("AveragePool", y, kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1], count_include_pad=0)
    c = b.op("AveragePool", y, kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], count_include_pad=1, ceil_mode=1)
    s = b.op("Add", b.op("Add", m, a), c)
    g = b.op("GlobalAveragePool", s)
    r = b.op("ReduceMean", s, b.const([1], np.int64), keepdims=1)
    t = b.op("ReduceSum", s, b.const([2, 3], np.int64), keepdims=1)
    out = b.op("Add", b.op("Mul", g, t), r)
    return b.model([("x", TensorProto.FLOAT, (2, 2, 7, 7))], [out], opset=18), {"x": _x(2, 2, 7, 7)}


def movement() -> Built:
    """Reshape, Transpose, Concat, Split (one output unused), Slice with steps, Gather of an
    embedding table and of activations, Expand, Squeeze and Unsqueeze, nearest Resize."""
    b = Net(12)
    emb = b.op("Gather", b.weight(7, 4, scale=1.0), "ids", axis=0)                   # (2, 3, 4)
    h = b.op("MatMul", "x", b.weight(5, 4))                                          # (2, 3, 4)
    c = b.op("Concat", emb, h, axis=1)                                               # (2, 6, 4)
    t = b.op("Transpose", c, perm=[2, 0, 1])                                         # (4, 2, 6)
    s0, s1, _unused = b.op("Split", t, b.const([1, 2, 3], np.int64), axis=2, outputs=3)
    sl = b.op("Slice", t, b.const([5, 0], np.int64), b.const([0, 4], np.int64), b.const([2, 0], np.int64),
              b.const([-2, 3], np.int64))                                            # (2, 2, 3)
    r = b.op("Reshape", s1, b.const([4, 4], np.int64))
    g = b.op("Gather", r, b.const([3, 0, 0], np.int64), axis=1)                      # (4, 3), a repeated index
    e = b.op("Expand", b.op("Unsqueeze", s0, b.const([0], np.int64)), b.const([3, 4, 2, 1], np.int64))
    sq = b.op("Squeeze", e, b.const([3], np.int64))                                  # (3, 4, 2)
    up = b.op("Resize", b.op("Unsqueeze", sl, b.const([0], np.int64)), "", b.const([1.0, 1.0, 2.0, 2.0]),
              mode="nearest")                                                        # (1, 2, 4, 6)
    flat = [b.op("Reshape", v, b.const([-1], np.int64)) for v in (up, g, sq)]
    z = b.op("Mul", b.op("Concat", *flat, axis=0), b.weight(48 + 12 + 24, scale=1.0))
    ids = np.array([[1, 4, 1], [6, 0, 2]], np.int64)
    return (b.model([("x", TensorProto.FLOAT, (2, 3, 5)), ("ids", TensorProto.INT64, (2, 3))], [z], opset=18),
            {"x": _x(2, 3, 5), "ids": ids})


def arithmetic() -> Built:
    """Add, Sub, Mul, Div with numpy broadcasting on both sides, Where, Sum, Cast."""
    b = Net(13)
    h = b.op("MatMul", "x", b.weight(4, 4))                                           # (3, 4)
    a = b.op("Add", h, b.weight(4, scale=0.5))
    s = b.op("Sub", b.weight(3, 1, scale=0.5), a)
    m = b.op("Mul", s, b.op("Sigmoid", h))
    d = b.op("Div", m, b.op("Add", b.op("Mul", h, h), b.const(1.0)))
    w = b.op("Where", b.op("Greater", h, b.const(0.0)), d, b.op("Mul", h, b.const(0.25)))
    c = b.op("Cast", b.op("Cast", w, to=TensorProto.DOUBLE), to=TensorProto.FLOAT)
    y = b.op("Sum", c, d, b.weight(1, 4, scale=0.5))
    return b.model([("x", TensorProto.FLOAT, (3, 4))], [y]), {"x": _x(3, 4)}


def conv_network() -> Built:
    """:func:`tests.execute.models.conv_zoo`: every Conv attribute, ConvTranspose forms, Gemm flags,
    broadcast MatMul, pooling and three outputs in one CNN."""
    return conv_zoo(), {"x": _x(2, 3, 33, 29)}


def residual_block() -> Built:
    """A ResNet basic block in training mode: Conv, BatchNorm, ReLU, Conv, BatchNorm, the residual
    Add and ReLU. Its training step has a group of every training fusion family
    (compiler.training.fuse): the forward BatchNorm with its ReLU (and the Add), the data gradient
    of the second Conv with the gradient Sum at the fork, the ReLU gradient and the BatchNorm sums."""
    b = Net(12)
    y = b.op("Conv", "x", b.weight(4, 4, 1, 1))
    y = b.op("BatchNormalization", y, b.weight(4, scale=0.5), b.weight(4, scale=0.5), b.const(np.zeros(4)),
             b.const(np.ones(4)), epsilon=1e-3)
    z = b.op("Relu", y)
    y2 = b.op("Conv", z, b.weight(4, 4, 3, 3), pads=[1, 1, 1, 1])
    y2 = b.op("BatchNormalization", y2, b.weight(4, scale=0.5), b.weight(4, scale=0.5), b.const(np.zeros(4)),
              b.const(np.ones(4)), epsilon=1e-3)
    out = b.op("Relu", b.op("Add", y2, z))
    return b.model([("x", TensorProto.FLOAT, (2, 4, 6, 5))], [out]), {"x": _x(2, 4, 6, 5)}


FAMILIES: dict[str, Callable[[], Built]] = {
    "conv": conv, "conv_transpose": conv_transpose, "gemm": gemm, "matmul": matmul, "activations": activations,
    "softmax": softmax, "layernorm": layernorm, "batchnorm": batchnorm, "pooling": pooling, "movement": movement,
    "arithmetic": arithmetic, "conv_network": conv_network, "residual_block": residual_block,
}

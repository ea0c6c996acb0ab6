"""Small ONNX models for the run tests, built with onnx.helper (deterministic weights)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Net:
    """A tiny graph builder: nodes, float32 initializers from one seeded generator."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, value, dtype=np.float32) -> str:
        name = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def weight(self, *shape: int, scale: float | None = None) -> str:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        std = scale if scale is not None else np.sqrt(2.0 / max(fan_in, 1))
        return self.const(self.rng.standard_normal(shape) * std)

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attrs) -> str | list[str]:
        outs = [self.name(op_type) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=self.name(op_type + "_node"), **attrs))
        return outs[0] if outputs == 1 else outs

    def model(self, inputs: list[tuple[str, int, tuple]], outputs: list[str], opset: int = 17) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            "test",
            [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
            [helper.ValueInfoProto(name=o) for o in outputs],
            initializer=self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        return model


def conv_zoo() -> onnx.ModelProto:
    """Every Conv attribute, ConvTranspose forms, Gemm flags and broadcast MatMul in one CNN."""
    b = Net(1)
    x = "x"
    # Symmetric pads, stride 2.
    y = b.op("Conv", x, b.weight(8, 3, 3, 3), b.const(np.linspace(-0.5, 0.5, 8)), pads=[1, 1, 1, 1], strides=[2, 2])
    y = b.op("Relu", y)
    # Asymmetric pads, dilation 2, rectangular kernel.
    y = b.op("Conv", y, b.weight(8, 8, 3, 2), pads=[2, 0, 1, 1], dilations=[2, 1])
    # Groups (4 groups of 2 channels), stride (1, 2), auto_pad SAME_UPPER.
    y = b.op("Conv", y, b.weight(12, 2, 3, 3), b.const(np.zeros(12)), group=4, strides=[1, 2], auto_pad="SAME_UPPER")
    y = b.op("Clip", y, b.const(0.0), b.const(6.0))
    # Depthwise with channel multiplier 2, SAME_LOWER with even kernel.
    y = b.op("Conv", y, b.weight(24, 1, 4, 4), group=12, strides=[2, 2], auto_pad="SAME_LOWER")
    y = b.op("HardSwish", y)
    # VALID with stride 3 and dilation (2, 3).
    z = b.op("Conv", y, b.weight(16, 24, 2, 2), auto_pad="VALID", strides=[1, 1], dilations=[2, 3])
    # ConvTranspose: stride 2, pads, output_padding, groups, bias.
    t = b.op("ConvTranspose", z, b.weight(16, 4, 3, 3), b.const(np.arange(8) * 0.1), strides=[2, 2],
             pads=[1, 0, 0, 1], output_padding=[1, 1], group=2)
    # ConvTranspose with output_shape and dilation.
    t = b.op("ConvTranspose", t, b.weight(8, 6, 2, 3), strides=[2, 1], dilations=[1, 2], output_shape=[24, 6])
    t = b.op("Sigmoid", t)
    p = b.op("AveragePool", t, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0)
    p = b.op("MaxPool", p, kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    f = b.op("Flatten", p, axis=1)
    # Gemm with transA via an explicit transpose pair, transB, alpha and beta.
    ft = b.op("Transpose", f, perm=[1, 0])
    g = b.op("Gemm", ft, b.weight(10, f_features(), scale=0.2), b.const(np.linspace(-1, 1, 10)),
             transA=1, transB=1, alpha=0.7, beta=1.5)
    # Batched, broadcast MatMul: (2, 1, 1, 10) @ (3, 10, 5).
    g3 = b.op("Reshape", g, b.const([2, 1, 1, 10], np.int64))
    mm = b.op("MatMul", g3, b.weight(3, 10, 5, scale=0.3))
    out = b.op("Softmax", mm, axis=-1)
    # 1-D conv with pads on a side branch.
    x1 = b.op("Reshape", z, b.const([2, 16, -1], np.int64))
    c1 = b.op("Conv", x1, b.weight(4, 16, 3), pads=[2, 1], strides=[2])
    return b.model([("x", TensorProto.FLOAT, (2, 3, 33, 29))], [out, c1, t])


def f_features() -> int:
    """Flattened features before the Gemm in :func:`conv_zoo` (6 channels of 6 x 2 after pooling)."""
    return 6 * 6 * 2


def qdq_source() -> onnx.ModelProto:
    """A residual CNN with a classifier head: what onnxruntime's quantize_static turns into QDQ."""
    b = Net(2)
    y = b.op("Relu", b.op("Conv", "x", b.weight(16, 3, 3, 3), b.weight(16, scale=0.1), pads=[1, 1, 1, 1], strides=[2, 2]))
    d = b.op("Clip", b.op("Conv", y, b.weight(16, 1, 3, 3), pads=[1, 1, 1, 1], group=16), b.const(0.0), b.const(6.0))
    p = b.op("Conv", d, b.weight(16, 16, 1, 1), b.weight(16, scale=0.1))
    r = b.op("Relu", b.op("Add", p, y))
    m = b.op("MaxPool", r, kernel_shape=[2, 2], strides=[2, 2])
    f = b.op("Flatten", b.op("GlobalAveragePool", m))
    h = b.op("Relu", b.op("Gemm", f, b.weight(32, 16), b.weight(32, scale=0.1), transB=1))
    logits = b.op("MatMul", h, b.weight(32, 10))
    return b.model([("x", TensorProto.FLOAT, (4, 3, 16, 16))], [logits])


def small_cnn(image: int = 12, seed: int = 5) -> onnx.ModelProto:
    """The accelerator's test CNN: convolutions with padding and stride, a folded BatchNormalization,
    a residual add, max and global average pooling and a fully connected classifier; 3 input
    channels (per-tap K tiles shorter than a fold) and 12 (not a whole number of 8-lane chunks)."""
    b = Net(seed)
    y = b.op("Conv", "x", b.weight(8, 3, 3, 3), b.weight(8, scale=0.1), pads=[1, 1, 1, 1])
    y = b.op("MaxPool", b.op("Relu", y), kernel_shape=[2, 2], strides=[2, 2])
    y = b.op("Relu", b.op("Conv", y, b.weight(12, 8, 3, 3), b.weight(12, scale=0.1), pads=[1, 1, 1, 1], strides=[2, 2]))
    z = b.op("Conv", y, b.weight(12, 12, 3, 3), pads=[1, 1, 1, 1])
    z = b.op("BatchNormalization", z, b.const(b.rng.uniform(0.5, 1.5, 12)), b.const(b.rng.normal(0, 0.1, 12)),
             b.const(b.rng.normal(0, 0.1, 12)), b.const(b.rng.uniform(0.5, 2.0, 12)))
    z = b.op("Relu", z)
    z = b.op("Conv", z, b.weight(12, 12, 1, 1), b.weight(12, scale=0.1))
    z = b.op("Relu", b.op("Add", z, y))
    f = b.op("Flatten", b.op("GlobalAveragePool", z))
    logits = b.op("Gemm", f, b.weight(10, 12), b.weight(10, scale=0.1), transB=1)
    return b.model([("x", TensorProto.FLOAT, (1, 3, image, image))], [logits])


def small_mlp(batch: int = 4, features: int = 20, seed: int = 6) -> onnx.ModelProto:
    """The accelerator's test MLP: Gemm + Relu, MatMul + constant bias Add + Relu, Gemm."""
    b = Net(seed)
    h = b.op("Relu", b.op("Gemm", "x", b.weight(16, features), b.weight(16, scale=0.1), transB=1))
    h = b.op("Relu", b.op("Add", b.op("MatMul", h, b.weight(16, 12)), b.weight(12, scale=0.1)))
    out = b.op("Gemm", h, b.weight(12, 10), b.weight(10, scale=0.1))
    return b.model([("x", TensorProto.FLOAT, (batch, features))], [out])

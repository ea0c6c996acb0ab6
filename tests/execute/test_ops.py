"""One operator at a time, through import, passes, lowering and the executor, against onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from .helpers import assert_fp32_equal, hwsim_outputs, ort_outputs

RNG = np.random.default_rng(3)
X = (RNG.standard_normal((2, 3, 7, 8)) * 2).astype(np.float32)
Y = RNG.standard_normal((3, 1, 8)).astype(np.float32)
X5 = RNG.standard_normal((1, 4, 6, 7, 5)).astype(np.float32)  # 3-d convolutions
POS = np.abs(X) + 0.1
INTS = RNG.integers(-9, 9, (4, 5)).astype(np.int64)
DIVISORS = np.array([3, -2, 4, -1, 2], np.int64)
C3 = [RNG.standard_normal(3).astype(np.float32) for _ in range(4)]
I64 = lambda *v: np.array(v, np.int64)  # noqa: E731
F32 = lambda *v: np.array(v, np.float32)  # noqa: E731


class C:
    """Marks an input that the model stores as an initializer."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = np.asarray(value)


def _case(op, inputs, opset=17, outputs=1, **attrs):
    return (op, inputs, opset, outputs, attrs)


UNARY = ["Relu", "Sigmoid", "Tanh", "Erf", "HardSwish", "Exp", "Abs", "Neg", "Floor", "Ceil", "Round", "Sign",
         "Softplus", "Softsign", "Sin", "Cos", "Identity"]
CASES = (
    [_case(op, [X]) for op in UNARY]
    + [_case(op, [POS]) for op in ("Log", "Sqrt", "Reciprocal")]
    + [_case(op, [X, Y]) for op in ("Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "PRelu", "Equal", "Less",
                                     "Greater", "LessOrEqual", "GreaterOrEqual")]
    + [
        _case("Gelu", [X], opset=20),
        _case("Gelu", [X], opset=20, approximate="tanh"),
        _case("HardSigmoid", [X], alpha=0.3, beta=0.4),
        _case("LeakyRelu", [X], alpha=0.1),
        _case("Elu", [X]),
        _case("Selu", [X]),
        _case("Celu", [X], alpha=2.0),
        _case("Mish", [X], opset=18),
        _case("ThresholdedRelu", [X], alpha=0.5),
        _case("Pow", [POS, Y]),
        _case("Div", [INTS, DIVISORS]),
        _case("Mod", [INTS, DIVISORS]),
        _case("Mod", [INTS.astype(np.float32), DIVISORS.astype(np.float32)], fmod=1),
        _case("Clip", [X, C(F32(-1)), C(F32(2))], opset=13),
        _case("Clip", [X, None, C(F32(2))], opset=13),
        _case("Where", [X > 0, X, Y]),
        _case("And", [X > 0, Y > 0]),
        _case("Not", [X > 0]),
        _case("Softmax", [X]),
        _case("Softmax", [X], axis=1),
        _case("Softmax", [X], opset=11, axis=1),
        _case("LogSoftmax", [X], axis=2),
        _case("Hardmax", [X]),
        _case("ReduceMean", [X], opset=13, axes=[1, 3], keepdims=0),
        _case("ReduceMean", [X, C(I64(-1))], opset=18),
        _case("ReduceSum", [X, C(I64(0, 2))], keepdims=0),
        _case("ReduceMax", [X], opset=13, axes=[2]),
        _case("ReduceMin", [X], opset=18),
        _case("ReduceProd", [X], opset=13, axes=[3]),
        _case("ReduceL2", [X], opset=13, axes=[1]),
        _case("ReduceSumSquare", [X], opset=13, axes=[1]),
        _case("ReduceLogSumExp", [X], opset=13, axes=[3]),
        _case("ArgMax", [X], axis=2),
        _case("ArgMin", [X], axis=-1, keepdims=0, select_last_index=1),
        _case("LayerNormalization", [X, C(RNG.standard_normal(8).astype(np.float32)), C(C3[0][:1].repeat(8))]),
        _case("LayerNormalization", [X, C(RNG.standard_normal((7, 8)).astype(np.float32))], axis=2, epsilon=1e-3),
        _case("BatchNormalization", [X, C(C3[0]), C(C3[1]), C(C3[2]), C(np.abs(C3[3]) + 0.5)], epsilon=1e-3),
        _case("InstanceNormalization", [X, C(C3[0]), C(C3[1])]),
        _case("LRN", [X], size=3, alpha=1e-3, beta=0.7, bias=1.5),
        _case("CumSum", [X, C(np.array(2, np.int64))], exclusive=1, reverse=1),
        _case("TopK", [X, C(I64(3))], outputs=2),
        _case("MaxPool", [X], kernel_shape=[3, 2], strides=[2, 3], pads=[1, 0, 2, 1]),
        _case("MaxPool", [X], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        _case("MaxPool", [X], kernel_shape=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1]),
        _case("AveragePool", [X], kernel_shape=[2, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
        _case("AveragePool", [X], kernel_shape=[3, 3], auto_pad="SAME_UPPER", strides=[2, 2], count_include_pad=1),
        _case("AveragePool", [X], kernel_shape=[3, 3], auto_pad="SAME_LOWER", strides=[2, 2]),
        _case("LpPool", [X], opset=18, kernel_shape=[2, 2], strides=[2, 2]),
        _case("GlobalAveragePool", [X]),
        _case("GlobalMaxPool", [X]),
        _case("Resize", [X, None, C(F32(1, 1, 2, 1.5))], opset=19, mode="nearest"),
        _case("Resize", [X, None, C(F32(1, 1, 0.6, 0.5))], opset=19, mode="nearest",
              coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        _case("Resize", [X, None, C(F32(1, 1, 1.7, 2))], opset=19, mode="linear"),
        _case("Resize", [X, None, C(F32(1, 1, 2, 2))], opset=19, mode="linear",
              coordinate_transformation_mode="align_corners"),
        _case("Resize", [X, None, C(F32(1, 1, 2, 0.5))], opset=19, mode="cubic", exclude_outside=1),
        _case("Resize", [X, None, None, C(I64(2, 3, 10, 5))], opset=19, mode="linear",
              coordinate_transformation_mode="pytorch_half_pixel"),
        _case("Resize", [X, C(F32(0, 0, 0.1, 0.2, 1, 1, 0.8, 0.9)), C(F32(1, 1, 2, 2))], opset=13, mode="linear",
              coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=-3.0),
        _case("Resize", [X, None, None, C(I64(10, 10))], opset=18, mode="linear", axes=[2, 3],
              keep_aspect_ratio_policy="not_larger"),
        _case("Upsample", [X, C(F32(1, 1, 2, 3))], opset=9, mode="nearest"),
        _case("Transpose", [X], perm=[0, 2, 3, 1]),
        _case("Concat", [X, X[:, :2]], axis=1),
        _case("Split", [X, C(I64(1, 2))], outputs=2, axis=1),
        _case("Split", [X], opset=18, outputs=3, axis=2, num_outputs=3),
        _case("Slice", [X, C(I64(1, -6)), C(I64(100, -1)), C(I64(2, 3)), C(I64(1, 2))]),
        _case("Slice", [X, C(I64(-1, 5)), C(I64(-100, 0)), C(I64(3, 2)), C(I64(-2, -1))]),
        _case("Pad", [X, C(I64(0, 0, 2, -1, 0, 0, -1, 3)), C(F32(1.5))]),
        _case("Pad", [X, C(I64(0, 0, 2, 1, 0, 0, 1, 3))], mode="reflect"),
        _case("Pad", [X, C(I64(0, 0, 2, 1, 0, 0, 1, 3))], mode="edge"),
        _case("Pad", [X, C(I64(1, 2)), None, C(I64(1))], opset=18),
        _case("Gather", [C(RNG.standard_normal((10, 4)).astype(np.float32)), np.array([[1, 9, -1], [0, 0, 3]], np.int64)]),
        _case("Gather", [X, C(np.array(2, np.int64))], axis=2),
        _case("GatherElements", [X, RNG.integers(-3, 3, (2, 3, 7, 4)).astype(np.int64)], axis=3),
        _case("Expand", [X[:, :1], C(I64(2, 4, 7, 8))]),
        _case("Tile", [X, C(I64(1, 2, 1, 3))]),
        _case("Reshape", [X, C(I64(0, -1, 4))]),
        _case("Flatten", [X], axis=2),
        _case("Squeeze", [X[:, :1], C(I64(1))]),
        _case("Unsqueeze", [X, C(I64(-1, 0))]),
        _case("Cast", [X * 10], to=TensorProto.INT32),
        _case("Cast", [X], to=TensorProto.BOOL),
        _case("Shape", [X], opset=15, start=1, end=-1),
        _case("DepthToSpace", [X[:, :, :4, :4].reshape(1, 8, 4, 3).copy()], blocksize=2, mode="CRD"),
        _case("SpaceToDepth", [X[:, :, :6]], blocksize=2),
        _case("Trilu", [X, C(np.array(1, np.int64))], upper=0),
        _case("Einsum", [X[0], X[1].transpose(0, 2, 1).copy()], equation="bij,bjk->bik"),
        _case("Einsum", [X[0, 0], C(RNG.standard_normal((8, 5)).astype(np.float32))], equation="ij,jk->ik"),
        _case("Einsum", [C(RNG.standard_normal((5, 7)).astype(np.float32)), X[0]], equation="ij,bjk->bik"),
        _case("MatMul", [C(RNG.standard_normal((5, 7)).astype(np.float32)), X[0]]),
        _case("MatMul", [X[0, 0, :, 0], X[0]]),
        _case("MatMul", [INTS * 1000, INTS.T * 1000]),
        _case("Gemm", [C(RNG.standard_normal((8, 5)).astype(np.float32)), X[0, 0]], transA=1, transB=1, alpha=0.5),
        _case("Conv", [X5, C(RNG.standard_normal((6, 2, 3, 2, 3)).astype(np.float32))], group=2,
              pads=[1, 0, 1, 1, 1, 0], strides=[2, 1, 2]),
        _case("ConvTranspose", [X5[:, :, 0, 0], C(RNG.standard_normal((4, 3, 4)).astype(np.float32))], strides=[3],
              pads=[1, 2], dilations=[2]),
        _case("ConvTranspose", [X5, C(RNG.standard_normal((4, 2, 2, 3, 2)).astype(np.float32))], strides=[2, 1, 2],
              group=2, output_padding=[1, 0, 1]),
        _case("ConvTranspose", [X5[:, :, 0], C(RNG.standard_normal((4, 3, 3, 3)).astype(np.float32))], strides=[2, 2],
              auto_pad="SAME_UPPER"),
        _case("ConvTranspose", [X5[:, :, 0], C(RNG.standard_normal((4, 3, 3, 3)).astype(np.float32))], strides=[2, 2],
              auto_pad="SAME_LOWER"),
        _case("BitwiseAnd", [INTS, DIVISORS], opset=18),
        _case("BitwiseNot", [INTS], opset=18),
        _case("EyeLike", [X[0, 0]], k=1, dtype=TensorProto.FLOAT),
        _case("LpNormalization", [X], axis=2, p=1),
        _case("ReverseSequence", [X[0], C(I64(2, 7, 0))], batch_axis=0, time_axis=1),
        _case("Scatter", [X, np.zeros((1, 1, 2, 2), np.int64) + [[1], [3]], np.ones((1, 1, 2, 2), np.float32)],
              opset=10, axis=2),
    ]
)


def test_every_operator_the_lowering_accepts_can_run():
    from compiler.kernels import KERNELS
    from compiler.ops.costs import TABLE
    from compiler.ops.gemm import GEMM_OPS

    assert set(TABLE) - set(KERNELS) - set(GEMM_OPS) == set()


def _model(op, inputs, opset, outputs, attrs):
    names, graph_inputs, inits, feeds = [], [], [], {}
    for i, x in enumerate(inputs):
        if x is None:
            names.append("")
            continue
        name = f"in{i}"
        names.append(name)
        if isinstance(x, C):
            inits.append(numpy_helper.from_array(x.value, name))
        else:
            x = np.asarray(x)
            graph_inputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape))
            feeds[name] = x
    outs = [f"out{j}" for j in range(outputs)]
    node = helper.make_node(op, names, outs, name="node", **attrs)
    graph = helper.make_graph([node], "op", graph_inputs, [helper.ValueInfoProto(name=o) for o in outs], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model, feeds


@pytest.mark.parametrize("op, inputs, opset, outputs, attrs", [pytest.param(*c, id=f"{c[0]}-{i}") for i, c in enumerate(CASES)])
def test_operator_equals_onnxruntime(op, inputs, opset, outputs, attrs):
    model, feeds = _model(op, inputs, opset, outputs, attrs)
    assert_fp32_equal(hwsim_outputs(model, feeds), ort_outputs(model, feeds))

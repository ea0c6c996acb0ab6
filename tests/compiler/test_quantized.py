"""Quantized ONNX: QDQ models from onnxruntime's quantize_static, and the integer/QLinear operators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from compiler import lower_model
from compiler.importer import load_model
from compiler.zoo import bert, resnet18
from hwsim.core.workload import GemmShape, Kind

from .helpers import model, ort_session


def _quantize(float_model: onnx.ModelProto, feeds: list[dict[str, np.ndarray]], tmp_path: Path) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(feeds)

        def get_next(self):
            return next(self.items, None)

    src, dst = tmp_path / "float.onnx", tmp_path / "qdq.onnx"
    onnx.save(float_model, src)
    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True)
    return dst


def test_qdq_resnet_estimates_like_the_float_model(tmp_path: Path):
    float_model = resnet18(weights=True, image=32, num_classes=10, width=8)
    rng = np.random.default_rng(0)
    path = _quantize(float_model, [{"input": rng.standard_normal((1, 3, 32, 32)).astype(np.float32)}], tmp_path)
    qdq = onnx.load(str(path))
    weight_dqs = [n for n in qdq.graph.node if n.op_type == "DequantizeLinear"
                  and n.input[0] in {t.name for t in qdq.graph.initializer}]
    assert len(weight_dqs) >= 21  # every Conv/Gemm weight and bias went through DequantizeLinear

    reference = lower_model(float_model)
    lowered = lower_model(path)
    assert lowered.macs == reference.macs
    gemms = [w for w in lowered.workloads if w.kind is Kind.GEMM]
    by_name = {w.name: (w.gemm, w.weight_elems) for w in reference.workloads if w.kind is Kind.GEMM}
    assert {w.name: (w.gemm, w.weight_elems) for w in gemms} == by_name  # quantize_static keeps node names
    assert all(w.b_is_weight and w.op.endswith("QuantizeLinear") for w in gemms)  # requantization epilogue
    # Only activation (de)quantization remains as vector work; weight DequantizeLinear folded away.
    dq = [w for w in lowered.workloads if w.op == "DequantizeLinear"]
    activation_dqs = sum(1 for n in qdq.graph.node if n.op_type == "DequantizeLinear") - len(weight_dqs)
    assert len(dq) == activation_dqs and all(w.vector_ops == 2 * w.output_elems for w in dq)


def test_qdq_transformer_keeps_attention_batched(tmp_path: Path):
    float_model = bert(weights=True, layers=1, hidden=32, heads=4, vocab=40, max_positions=16, batch=1, seq=8)
    rng = np.random.default_rng(0)
    feeds = [{"input_ids": rng.integers(0, 40, (1, 8)), "attention_mask": np.ones((1, 8), np.int64)}]
    lowered = lower_model(_quantize(float_model, feeds, tmp_path))
    assert lowered.macs == lower_model(float_model).macs
    attention = [w for w in lowered.workloads if w.gemm and w.gemm.groups == 4]
    assert len(attention) == 2 and not any(w.b_is_weight for w in attention)


def _ints(shape, seed, dtype=np.int8):
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max, shape).astype(dtype)


def _check_runs(m: onnx.ModelProto, feeds: dict[str, np.ndarray], output: str) -> None:
    (result,) = ort_session(m).run(None, feeds)
    graph = load_model(m)
    assert graph.shape(output) == result.shape and graph.info(output).dtype == str(result.dtype)


def test_qlinear_conv():
    node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"],
                            pads=[1, 1, 1, 1], strides=[2, 2], group=2)
    inits = {"xs": np.float32(0.05), "xz": np.uint8(128), "w": _ints((6, 2, 3, 3), 1), "ws": np.full(6, 0.02, np.float32),
             "wz": np.zeros(6, np.int8), "ys": np.float32(0.1), "yz": np.uint8(120), "b": _ints(6, 2, np.int32)}
    m = model([node], {"x": [1, 4, 8, 8]}, ["y"], inits=inits, input_types={"x": TensorProto.UINT8})
    _check_runs(m, {"x": _ints((1, 4, 8, 8), 3, np.uint8)}, "y")
    (w,) = lower_model(m).workloads
    assert w.gemm == GemmShape(m=16, k=18, n=3, groups=2, taps=9, row=4)
    assert w.weight_elems == 6 * 18 + 6 and w.vector_ops == 96 * (1 + 3)  # bias, requantize


def test_qlinear_matmul():
    node = helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])
    inits = {"as": np.float32(0.05), "az": np.int8(0), "b": _ints((16, 8), 1), "bs": np.float32(0.02),
             "bz": np.int8(0), "ys": np.float32(0.1), "yz": np.int8(3)}
    m = model([node], {"a": [2, 5, 16]}, ["y"], inits=inits, input_types={"a": TensorProto.INT8})
    _check_runs(m, {"a": _ints((2, 5, 16), 2)}, "y")
    (w,) = lower_model(m).workloads
    assert w.gemm == GemmShape(m=10, k=16, n=8) and w.vector_ops == 80 * 3 and w.b_is_weight


def test_conv_integer_and_matmul_integer():
    nodes = [helper.make_node("ConvInteger", ["x", "w", "xz"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("Cast", ["c"], ["cf"], to=TensorProto.FLOAT),
             helper.make_node("Flatten", ["cf"], ["f"]),
             helper.make_node("DynamicQuantizeLinear", ["f"], ["q", "qs", "qz"]),
             helper.make_node("MatMulInteger", ["q", "m", "qz"], ["y"])]
    inits = {"w": _ints((4, 3, 3, 3), 1, np.uint8), "xz": np.uint8(7), "m": _ints((36, 5), 2, np.uint8)}
    m = model(nodes, {"x": [2, 3, 5, 5]}, ["y"], inits=inits, input_types={"x": TensorProto.UINT8})
    _check_runs(m, {"x": _ints((2, 3, 5, 5), 3, np.uint8)}, "y")
    conv, cast, flatten, dq, mm = lower_model(m).workloads
    assert conv.gemm == GemmShape(m=18, k=27, n=4, taps=9, row=3) and conv.vector_ops == 0
    assert mm.gemm == GemmShape(m=2, k=36, n=5) and load_model(m).info("y").dtype == "int32"
    assert (cast.kind, flatten.kind, dq.kind) == (Kind.VECTOR, Kind.VIEW, Kind.VECTOR)


@pytest.mark.parametrize("axis", [0, 1])
def test_quantized_weight_through_dequantize_is_a_weight(axis):
    nodes = [helper.make_node("DequantizeLinear", ["wq", "s", "z"], ["w"], axis=axis),
             helper.make_node("Conv", ["x", "w"], ["y"])]
    shape = (4, 2, 3, 3)
    n = shape[axis]
    m = model(nodes, {"x": [1, 2, 6, 6]}, ["y"], inits={"wq": _ints(shape, 0), "s": np.full(n, 0.1, np.float32),
                                                      "z": np.zeros(n, np.int8)})
    (w,) = lower_model(m).workloads
    assert w.op == "Conv" and w.weight_elems == 72 and w.gemm == GemmShape(m=16, k=18, n=4, taps=9, row=4)

"""Lowering: exact GEMM shapes and MACs per operator, vector costs, element counts, unsupported ops."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

from compiler import lower_model
from compiler.ops.costs import markdown
from hwsim.core.errors import UserError
from hwsim.core.workload import GemmShape, Kind

from .helpers import model, ort_macs, ort_session, random_feeds, weight

ROOT = Path(__file__).resolve().parents[2]


def _one(node, dims, inits=None, **kwargs):
    lowered = lower_model(model([node], dims, [node.output[0]], inits=inits or {}), **kwargs)
    (workload,) = lowered.workloads
    return workload


# --------------------------------------------------------------------------------- GEMM shapes


def test_grouped_strided_dilated_conv():
    w = _one(helper.make_node("Conv", ["x", "w", "b"], ["y"], group=2, strides=[2, 1], pads=[1, 2, 1, 2],
                              dilations=[1, 2]), {"x": [2, 6, 15, 17]}, {"w": weight(8, 3, 3, 5), "b": weight(8)})
    # out 8 x 13 (floor((15 + 2 - 3) / 2) + 1, 17 + 4 - 9 + 1): m = 2*8*13, k = 3*3*5, n = 8/2;
    # K is the 3 x 5 = 15 kernel taps of 3 input channels each; row: the output width, 13
    assert w.gemm == GemmShape(m=208, k=45, n=4, groups=2, taps=15, row=13)
    assert w.macs == (2 * 8 * 8 * 13) * (3 * 3 * 5)
    assert (w.input_elems, w.weight_elems, w.output_elems) == (2 * 6 * 15 * 17, 8 * 45 + 8, 2 * 8 * 8 * 13)
    assert w.vector_ops == w.output_elems  # the bias add
    assert w.kind is Kind.GEMM and w.b_is_weight


def test_depthwise_conv():
    w = _one(helper.make_node("Conv", ["x", "w"], ["y"], group=32, pads=[1, 1, 1, 1]), {"x": [1, 32, 14, 14]},
             {"w": weight(32, 1, 3, 3)})
    assert w.gemm == GemmShape(m=196, k=9, n=1, groups=32, taps=9, row=14) and w.vector_ops == 0


def test_same_padded_conv():
    w = _one(helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_LOWER"),
             {"x": [1, 3, 11, 11]}, {"w": weight(5, 3, 4, 4)})
    assert w.gemm == GemmShape(m=36, k=48, n=5, taps=16, row=6)


def test_grouped_conv_transpose_with_col2im():
    w = _one(helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], group=2, strides=[2, 2], output_padding=[1, 1]),
             {"x": [1, 4, 5, 6]}, {"w": weight(4, 3, 3, 3), "b": weight(6)})
    # Each of the 4*5*6 input elements scatters into 3 (= C_out/g) * 3 * 3 outputs.
    assert w.gemm == GemmShape(m=30, k=2, n=27, groups=2) and w.macs == 120 * 27
    out = 6 * 12 * 14  # 2*(5-1)+3+1, 2*(6-1)+3+1
    assert w.output_elems == out and w.vector_ops == 2 * 30 * 27 + out


def test_gemm_transposes_alpha_and_bias():
    w = _one(helper.make_node("Gemm", ["a", "w", "c"], ["y"], transA=1, transB=1, alpha=0.5, beta=2.0),
             {"a": [5, 4]}, {"w": weight(3, 5), "c": weight(3)})
    assert w.gemm == GemmShape(m=4, k=5, n=3)
    assert w.vector_ops == 2 * 12  # alpha scaling, bias add (beta folds into the constant C)


def test_attention_matmuls_are_batched_with_activation_b():
    nodes = [helper.make_node("MatMul", ["q", "k"], ["s"]), helper.make_node("Softmax", ["s"], ["p"], axis=-1),
             helper.make_node("MatMul", ["p", "v"], ["o"])]
    lowered = lower_model(model(nodes, {"q": [2, 4, 7, 16], "k": [2, 4, 16, 9], "v": [2, 4, 9, 16]}, ["o"]))
    qk, softmax, av = lowered.workloads
    assert qk.gemm == GemmShape(m=7, k=16, n=9, groups=8) and not qk.b_is_weight
    assert qk.input_elems == 2 * 4 * 7 * 16 + 2 * 4 * 16 * 9 and qk.weight_elems == 0
    assert av.gemm == GemmShape(m=7, k=9, n=16, groups=8) and not av.b_is_weight
    assert softmax.vector_ops == 5 * 2 * 4 * 7 * 9


@pytest.mark.parametrize("a, b, expected", [
    ([2, 7, 16], (16, 32), GemmShape(m=14, k=16, n=32)),  # weight: batch folds into m
    ([16], (16, 4), GemmShape(m=1, k=16, n=4)),  # 1-D A
    ([3, 1, 7, 16], (5, 16, 4), GemmShape(m=7, k=16, n=4, groups=15)),  # broadcast batch, batched weight
])
def test_matmul_shapes(a, b, expected):
    w = _one(helper.make_node("MatMul", ["a", "b"], ["y"]), {"a": a}, {"b": weight(*b)})
    assert w.gemm == expected and w.b_is_weight and w.weight_elems == math.prod(b)


def test_matmul_broadcasting_an_activation_a():
    w = _one(helper.make_node("MatMul", ["a", "b"], ["y"]), {"a": [1, 7, 16], "b": [3, 16, 5]})
    assert w.gemm == GemmShape(m=7, k=16, n=5, groups=3) and not w.b_is_weight


def test_constant_a_is_made_the_stationary_operand():
    w = _one(helper.make_node("MatMul", ["w", "x"], ["y"]), {"x": [2, 16, 5]}, {"w": weight(8, 16)})
    assert w.gemm == GemmShape(m=10, k=16, n=8) and w.b_is_weight and w.macs == 2 * 8 * 16 * 5


@pytest.mark.parametrize("equation, a, b, expected", [
    ("bhqd,bhkd->bhqk", [2, 3, 5, 8], [2, 3, 7, 8], GemmShape(m=5, k=8, n=7, groups=6)),
    ("bij,jk->bik", [2, 5, 8], [8, 3], GemmShape(m=10, k=8, n=3)),
    ("...ij,...jk", [4, 5, 8], [4, 8, 3], GemmShape(m=5, k=8, n=3, groups=4)),
])
def test_einsum(equation, a, b, expected):
    assert _one(helper.make_node("Einsum", ["a", "b"], ["y"], equation=equation), {"a": a, "b": b}).gemm == expected


def test_einsum_that_is_not_a_product_is_unsupported():
    node = helper.make_node("Einsum", ["a", "b"], ["y"], equation="ij,jk->i")
    with pytest.raises(UserError, match="Einsum node .*: Einsum 'ij,jk->i' sums an axis"):
        _one(node, {"a": [2, 3], "b": [3, 4]})


def _random_gemm_model(rng: np.random.Generator, i: int):
    kind = i % 4
    if kind == 0:
        g = int(rng.choice([1, 2, 3]))
        cin, cout, k, s, d = g * int(rng.integers(1, 4)), g * int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
        size = int(rng.integers(d * (k - 1) + 1, 20))
        p = [int(v) for v in rng.integers(0, k, 4)]
        node = helper.make_node("Conv", ["x", "w"], ["y"], group=g, strides=[s, s], dilations=[d, d], pads=p)
        return node, {"x": [2, cin, size, size + 1]}, {"w": weight(cout, cin // g, k, k)}
    if kind == 1:
        g = int(rng.choice([1, 2]))
        cin, cout, k, s = g * int(rng.integers(1, 4)), g * int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], group=g, strides=[s, s],
                                output_padding=[int(rng.integers(0, s))] * 2)
        return node, {"x": [1, cin, int(rng.integers(1, 8)), int(rng.integers(1, 8))]}, {"w": weight(cin, cout // g, k, k)}
    if kind == 2:
        batch = [int(v) for v in rng.integers(1, 4, int(rng.integers(0, 3)))]
        m, k, n = (int(v) for v in rng.integers(1, 9, 3))
        return helper.make_node("MatMul", ["a", "b"], ["y"]), {"a": batch + [m, k], "b": batch + [k, n]}, {}
    ta, tb = (int(v) for v in rng.integers(0, 2, 2))
    m, k, n = (int(v) for v in rng.integers(1, 9, 3))
    node = helper.make_node("Gemm", ["a", "b"], ["y"], transA=ta, transB=tb)
    return node, {"a": [k, m] if ta else [m, k]}, {"b": weight(*([n, k] if tb else [k, n]))}


def test_random_gemm_operators_match_the_onnxruntime_count():
    rng = np.random.default_rng(7)
    for i in range(24):
        node, dims, inits = _random_gemm_model(rng, i)
        m = model([node], dims, ["y"], inits=inits)
        feeds = random_feeds(ort_session(m), dims)
        assert lower_model(m).macs == ort_macs(m, feeds), (node, dims)


# ------------------------------------------------------------------------- vector and movement


@pytest.mark.parametrize("node, dims, inits, kind, ops", [
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3]), {"x": [1, 1, 5, 5]}, {}, Kind.VECTOR, 8 * 9),
    (helper.make_node("GlobalAveragePool", ["x"], ["y"]), {"x": [1, 2, 4, 4]}, {}, Kind.VECTOR, 16 * 2),
    (helper.make_node("ReduceMean", ["x"], ["y"], axes=[1]), {"x": [3, 8]}, {}, Kind.VECTOR, 8 * 3),
    (helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"]), {"x": [2, 8]}, {"g": weight(8), "b": weight(8)},
     Kind.VECTOR, 7 * 16),
    (helper.make_node("HardSwish", ["x"], ["y"]), {"x": [4, 4]}, {}, Kind.VECTOR, 5 * 16),
    (helper.make_node("Gelu", ["x"], ["y"], approximate="tanh"), {"x": [4, 4]}, {}, Kind.VECTOR, 9 * 16),
    (helper.make_node("Max", ["x", "x2", "x3"], ["y"]), {"x": [4], "x2": [4], "x3": [1]}, {}, Kind.VECTOR, 2 * 4),
    (helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear"), {"x": [1, 1, 4, 4]},
     {"s": np.array([1, 1, 2, 2], np.float32)}, Kind.VECTOR, 9 * 64),
    (helper.make_node("Resize", ["x", "", "s"], ["y"]), {"x": [1, 1, 4, 4]}, {"s": np.array([1, 1, 2, 2], np.float32)},
     Kind.MOVE, 0),
    (helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0]), {"x": [3, 5]}, {}, Kind.MOVE, 0),
    (helper.make_node("Reshape", ["x", "s"], ["y"]), {"x": [3, 5]}, {"s": np.array([15], np.int64)}, Kind.VIEW, 0),
])
def test_vector_costs_and_classes(node, dims, inits, kind, ops):
    w = _one(node, dims, inits)
    assert (w.kind, w.vector_ops, w.gemm) == (kind, ops, None)


def test_element_counts_skip_parameters_and_unread_data():
    nodes = [helper.make_node("Gather", ["table", "ids"], ["e"], axis=0),
             helper.make_node("Slice", ["e", "starts", "ends", "axes"], ["s"]),
             helper.make_node("Reshape", ["s", "shape"], ["y"])]
    m = model(nodes, {"ids": [2, 3]}, ["y"], input_types={"ids": TensorProto.INT64},
              inits={"table": weight(100, 8), "starts": np.array([1], np.int64), "ends": np.array([3], np.int64),
                     "axes": np.array([1], np.int64), "shape": np.array([-1], np.int64)})
    gather, slice_, reshape = lower_model(m).workloads
    assert (gather.input_elems, gather.weight_elems, gather.output_elems) == (6, 48, 48)  # 6 rows of 8
    assert (slice_.input_elems, slice_.output_elems) == (32, 32)
    assert (reshape.input_elems, reshape.weight_elems, reshape.kind) == (32, 0, Kind.VIEW)


# ------------------------------------------------------------------------------- unsupported


def test_unsupported_standard_op_stops_or_is_skipped():
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("LSTM", ["a", "w", "r"], ["seq", "h"], name="rnn", hidden_size=4),
             helper.make_node("MatMul", ["h", "m"], ["y"])]
    m = model(nodes, {"x": [5, 1, 3]}, ["y"], inits={"w": weight(1, 16, 3), "r": weight(1, 16, 4), "m": weight(4, 2)})
    with pytest.raises(UserError, match=r"LSTM node 'rnn': unsupported operator.*--allow-unsupported"):
        lower_model(m)
    lowered = lower_model(m, allow_unsupported=True)
    assert [(s.op, s.name) for s in lowered.skipped] == [("LSTM", "rnn")] and "unsupported operator" in lowered.skipped[0].reason
    assert [w.op for w in lowered.workloads] == ["Relu", "MatMul"]


def test_ops_doc_is_generated_from_the_table():
    assert (ROOT / "docs" / "ops.md").read_text() == markdown()

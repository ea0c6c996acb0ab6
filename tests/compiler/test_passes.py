"""Clean-up passes: BatchNorm folding (numerically, against onnxruntime), fusion, identity and constant removal."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from compiler import lower_model
from compiler.graph import Graph
from compiler.importer import load_model
from compiler.passes import (
    dead_code,
    default_pipeline,
    fold_batchnorm,
    fold_constants,
    fuse_epilogue,
    remove_identity,
)

from .helpers import model, ort_session, weight


def _bn_inits(channels: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"scale": rng.uniform(0.5, 1.5, channels).astype(np.float32), "shift": weight(channels, seed=seed + 1),
            "mean": weight(channels, seed=seed + 2), "var": rng.uniform(0.5, 1.5, channels).astype(np.float32)}


BN = helper.make_node("BatchNormalization", ["h", "scale", "shift", "mean", "var"], ["y"], name="bn", epsilon=1e-3)

FOLD_CASES = [
    ("conv", helper.make_node("Conv", ["x", "w", "b"], ["h"], name="host", group=2, pads=[1, 1, 1, 1]),
     {"x": [2, 4, 6, 6]}, {"w": weight(6, 2, 3, 3), "b": weight(6)}, 6),
    ("conv-no-bias", helper.make_node("Conv", ["x", "w"], ["h"], name="host", strides=[2, 2]),
     {"x": [1, 3, 7, 7]}, {"w": weight(5, 3, 3, 3)}, 5),
    ("conv-transpose-groups", helper.make_node("ConvTranspose", ["x", "w", "b"], ["h"], name="host", group=2, strides=[2, 2]),
     {"x": [1, 4, 3, 3]}, {"w": weight(4, 3, 2, 2), "b": weight(6)}, 6),
    ("gemm-transB-beta", helper.make_node("Gemm", ["x", "w", "c"], ["h"], name="host", transB=1, alpha=0.7, beta=1.5),
     {"x": [3, 5]}, {"w": weight(4, 5), "c": weight(1, 4)}, 4),
    ("gemm-no-c", helper.make_node("Gemm", ["x", "w"], ["h"], name="host"), {"x": [3, 5]}, {"w": weight(5, 4)}, 4),
]


@pytest.mark.parametrize("case", FOLD_CASES, ids=[c[0] for c in FOLD_CASES])
def test_batchnorm_folds_into_its_producer_exactly(case):
    _, host, dims, inits, channels = case
    original = model([host, BN], dims, ["y"], inits={**inits, **_bn_inits(channels, 3)})
    feeds = {k: np.random.default_rng(9).standard_normal(v).astype(np.float32) for k, v in dims.items()}
    expected = ort_session(original).run(None, feeds)[0]

    graph = fold_batchnorm.run(load_model(original, load_weights=True))
    (folded,) = graph.nodes
    assert folded.name == "host" and folded.outputs == ("y",) and folded.meta.folded == ("bn",)
    attrs = dict(folded.attrs)
    rebuilt = model([helper.make_node(folded.op_type, list(folded.inputs), ["y"], **attrs)], dims, ["y"],
                    inits={n: graph.constants[n] for n in folded.inputs[1:]})
    np.testing.assert_allclose(ort_session(rebuilt).run(None, feeds)[0], expected, rtol=1e-5, atol=1e-5)

    # Without weight bytes the same graph results, shape for shape:
    bare = fold_batchnorm.run(load_model(original))
    assert [(n.op_type, n.inputs, n.outputs) for n in bare.nodes] == [(n.op_type, n.inputs, n.outputs) for n in graph.nodes]
    assert all(bare.info(n) == graph.info(n) for n in folded.inputs)
    assert lower_model(original).macs == lower_model(model([host], dims, ["h"], inits=inits)).macs


def test_batchnorm_is_kept_when_its_input_is_shared_or_not_a_gemm():
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"]), BN, helper.make_node("Add", ["h", "y"], ["z"]),
             helper.make_node("BatchNormalization", ["z", "scale", "shift", "mean", "var"], ["z2"])]
    graph = default_pipeline(load_model(model(nodes, {"x": [1, 2, 4, 4]}, ["z2"], inits={"w": weight(3, 2, 1, 1), **_bn_inits(3, 0)})))
    assert [n.op_type for n in graph.nodes] == ["Conv", "BatchNormalization", "Add", "BatchNormalization"]
    ops = [w.op for w in lower_model(model(nodes, {"x": [1, 2, 4, 4]}, ["z2"],
                                            inits={"w": weight(3, 2, 1, 1), **_bn_inits(3, 0)})).workloads]
    assert ops.count("BatchNormalization") == 2


def test_activation_chain_fuses_into_the_gemm_epilogue():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["mm"], name="fc"),
             helper.make_node("Add", ["bias", "mm"], ["biased"], name="bias_add"),
             helper.make_node("Clip", ["biased", "lo", "hi"], ["clipped"], name="relu6"),
             helper.make_node("HardSwish", ["clipped"], ["y"], name="act")]
    m = model(nodes, {"x": [2, 3, 8]}, ["y"], inits={"w": weight(8, 4), "bias": weight(4), "lo": np.float32(0),
                                                  "hi": np.float32(6)})
    graph = default_pipeline(load_model(m))
    (fused,) = graph.nodes
    assert fused.outputs == ("y",) and fused.meta.gemm_output == "mm"
    assert [n.name for n in fused.meta.epilogue] == ["bias_add", "relu6", "act"]
    (w,) = lower_model(m).workloads
    assert w.op == "MatMul+Add+Clip+HardSwish" and w.nodes == ("fc", "bias_add", "relu6", "act")
    assert w.vector_ops == 24 * (1 + 2 + 5) and w.weight_elems == 32 + 4 and w.input_elems == 48


@pytest.mark.parametrize("follower, extra_inits", [
    (helper.make_node("Sub", ["x2", "h"], ["y"]), {}),  # other - x: the result is not the minuend
    (helper.make_node("Div", ["h", "x2"], ["y"]), {}),  # dividing by an activation is no store-path step
    (helper.make_node("Sub", ["c", "h"], ["y"]), {"c": np.float32(1)}),  # const - x
    (helper.make_node("Add", ["h", "c"], ["y"]), {"c": weight(2, 3, 4)}),  # broadcasting grows the output
    (helper.make_node("Softmax", ["h"], ["y"]), {}),  # not element-wise
])
def test_non_epilogues_are_not_fused(follower, extra_inits):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), follower]
    m = model(nodes, {"x": [3, 4], "x2": [3, 4]}, ["y"], inits={"w": weight(4, 4), **extra_inits})
    assert len(default_pipeline(load_model(m)).nodes) == 2


def test_a_residual_add_and_its_activation_are_fused_when_the_shortcut_is_ready():
    # A ResNet block's end: the shortcut (the block's input) was computed before the last conv.
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"], name="conv"), helper.make_node("Add", ["h", "x"], ["s"], name="add"),
             helper.make_node("Relu", ["s"], ["y"], name="relu")]
    m = model(nodes, {"x": [1, 2, 4, 4]}, ["y"], inits={"w": weight(2, 2, 1, 1)})
    (fused,) = default_pipeline(load_model(m)).nodes
    assert fused.meta.families == ("residual", "activation")
    (w,) = lower_model(m).workloads
    assert w.op == "Conv+Add+Relu" and [r.role for r in w.inputs] == ["a", "extra"]  # x twice: A and the residual
    # a shortcut computed after the GEMM cannot be fused into it: the later producer fuses the add instead
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"], name="main"), helper.make_node("Conv", ["x", "w2"], ["d"], name="down"),
             helper.make_node("Add", ["h", "d"], ["y"], name="add")]
    m = model(nodes, {"x": [1, 2, 4, 4]}, ["y"], inits={"w": weight(2, 2, 1, 1), "w2": weight(2, 2, 1, 1, seed=1)})
    assert [w.op for w in lower_model(m).workloads] == ["Conv", "Conv+Add"]


def test_pooling_is_fused_and_the_product_keeps_its_own_shape():
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]
    m = model(nodes, {"x": [1, 3, 8, 8]}, ["y"], inits={"w": weight(4, 3, 3, 3)})
    (w,) = lower_model(m).workloads
    # the GEMM is the convolution's (64 pixels x 27 x 4); the layer writes the pooled 4 x 4 x 4
    assert w.op == "Conv+Relu+MaxPool" and (w.gemm.m, w.gemm.k, w.gemm.n) == (64, 27, 4) and w.output_elems == 64
    assert [s.family for s in w.epilogue] == ["activation", "pool"]


def test_shared_gemm_output_is_not_fused():
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"]), helper.make_node("Sigmoid", ["h"], ["s"]),
             helper.make_node("Mul", ["h", "s"], ["y"])]  # SiLU reads the conv output twice
    m = model(nodes, {"x": [1, 2, 4, 4]}, ["y"], inits={"w": weight(2, 2, 1, 1)})
    assert [w.op for w in lower_model(m).workloads] == ["Conv", "Sigmoid", "Mul"]


def test_identity_dropout_and_noop_cast_are_removed():
    nodes = [helper.make_node("Identity", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["b"], name="relu"),
             helper.make_node("Dropout", ["b"], ["c"]), helper.make_node("Cast", ["c"], ["d"], to=TensorProto.FLOAT),
             helper.make_node("Identity", ["d"], ["y"])]
    graph = remove_identity.run(load_model(model(nodes, {"x": [4]}, ["y"])))
    (relu,) = graph.nodes
    assert relu.inputs == ("x",) and relu.outputs == ("y",)


def test_passthrough_of_a_graph_input_to_an_output_is_kept():
    nodes = [helper.make_node("Identity", ["x"], ["y"]), helper.make_node("Dropout", ["x"], ["z", "mask"]),
             helper.make_node("Not", ["mask"], ["m"])]
    graph = remove_identity.run(load_model(model(nodes, {"x": [4]}, ["y", "z", "m"])))
    assert [n.op_type for n in graph.nodes] == ["Identity", "Dropout", "Not"]


def test_weight_transforms_fold_into_weights_with_or_without_bytes():
    nodes = [helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wf"], axis=0),
             helper.make_node("Transpose", ["wf"], ["wt"], perm=[1, 0]),
             helper.make_node("MatMul", ["x", "wt"], ["y"])]
    wq = np.random.default_rng(0).integers(-128, 127, (64, 80)).astype(np.int8)
    m = model(nodes, {"x": [2, 80]}, ["y"], inits={"wq": wq, "ws": np.full(64, 0.01, np.float32),
                                                 "wz": np.zeros(64, np.int8)})
    for load_weights in (False, True):
        graph = fold_constants.run(load_model(m, load_weights=load_weights))
        assert [n.op_type for n in graph.nodes] == ["MatMul"] and graph.is_constant("wt")
        assert ("wt" in graph.constants) == load_weights  # 5120 elements: beyond the small-tensor limit
    graph = fold_constants.run(load_model(m, load_weights=True))
    np.testing.assert_array_equal(graph.constants["wt"], (wq.astype(np.float32) * 0.01).T)
    (w,) = lower_model(m).workloads
    assert w.b_is_weight and w.weight_elems == 64 * 80


def test_dead_nodes_and_their_constants_are_dropped():
    nodes = [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("MatMul", ["x", "w"], ["unused"])]
    graph = dead_code.run(load_model(model(nodes, {"x": [2, 2]}, ["y"], inits={"w": weight(2, 2)})))
    assert [n.op_type for n in graph.nodes] == ["Relu"] and "w" not in graph.weights and "w" not in graph.constants


def test_passes_do_not_modify_their_input():
    graph = load_model(model([helper.make_node("Conv", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
                             {"x": [1, 1, 3, 3]}, ["y"], inits={"w": weight(1, 1, 1, 1)}))
    before = [(n.op_type, dict(n.attrs)) for n in graph.nodes]
    fused = fuse_epilogue.run(graph)
    assert isinstance(fused, Graph) and len(fused.nodes) == 1
    assert [(n.op_type, dict(n.attrs)) for n in graph.nodes] == before

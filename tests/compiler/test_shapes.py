"""Our static shape rules against the shapes onnxruntime actually produces, one operator at a time."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from compiler.importer import load_model

from .helpers import model, ort_session, weight

I64 = lambda *v: np.array(v, np.int64)  # noqa: E731
F32 = lambda *v: np.array(v, np.float32)  # noqa: E731

# (id, node, float input dims, initializers, opset)
CASES = [
    ("conv-same-pads", helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1]), {"x": [1, 3, 9, 9]}, {"w": weight(4, 3, 3, 3)}, 17),
    ("conv-stride-dilation", helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], dilations=[2, 2]),
     {"x": [2, 3, 17, 16]}, {"w": weight(4, 3, 3, 3)}, 17),
    ("conv-asym", helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 3], pads=[0, 1, 2, 1]),
     {"x": [1, 2, 11, 13]}, {"w": weight(3, 2, 3, 5)}, 17),
    ("conv-same-upper", helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER"),
     {"x": [1, 2, 9, 10]}, {"w": weight(3, 2, 4, 3)}, 17),
    ("conv-same-lower", helper.make_node("Conv", ["x", "w"], ["y"], strides=[3, 1], auto_pad="SAME_LOWER"),
     {"x": [1, 2, 10, 7]}, {"w": weight(3, 2, 2, 2)}, 17),
    ("conv-valid", helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad="VALID"),
     {"x": [1, 2, 10, 9]}, {"w": weight(3, 2, 3, 3)}, 17),
    ("conv-groups", helper.make_node("Conv", ["x", "w"], ["y"], group=2, pads=[1, 1, 1, 1]),
     {"x": [1, 4, 8, 8]}, {"w": weight(6, 2, 3, 3)}, 17),
    ("conv-depthwise-multiplier", helper.make_node("Conv", ["x", "w"], ["y"], group=4, strides=[2, 2]),
     {"x": [1, 4, 9, 9]}, {"w": weight(8, 1, 3, 3)}, 17),
    ("conv1d", helper.make_node("Conv", ["x", "w"], ["y"], strides=[2], pads=[2, 1]), {"x": [2, 3, 20]}, {"w": weight(5, 3, 4)}, 17),
    ("conv3d", helper.make_node("Conv", ["x", "w"], ["y"], pads=[1] * 6), {"x": [1, 2, 5, 6, 7]}, {"w": weight(3, 2, 3, 3, 3)}, 17),
    ("convT-2x2", helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2]), {"x": [1, 4, 5, 6]}, {"w": weight(4, 3, 2, 2)}, 17),
    ("convT-outpad", helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 0]),
     {"x": [1, 4, 5, 6]}, {"w": weight(4, 3, 3, 3)}, 17),
    ("convT-outshape", helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], output_shape=[12, 13]),
     {"x": [1, 4, 6, 6]}, {"w": weight(4, 3, 3, 3)}, 17),
    ("convT-groups-dilation", helper.make_node("ConvTranspose", ["x", "w"], ["y"], group=2, dilations=[2, 2], strides=[3, 3]),
     {"x": [1, 4, 5, 5]}, {"w": weight(4, 3, 3, 3)}, 17),
    ("convT-same", helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER"),
     {"x": [1, 2, 5, 7]}, {"w": weight(2, 3, 3, 3)}, 17),
    ("maxpool-ceil", helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
     {"x": [1, 2, 8, 9]}, {}, 17),
    ("maxpool-ceil-pads", helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
     {"x": [1, 2, 7, 6]}, {}, 17),
    ("maxpool-dilation", helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], dilations=[2, 2]), {"x": [1, 2, 9, 9]}, {}, 17),
    ("avgpool-same", helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
     {"x": [1, 2, 7, 8]}, {}, 17),
    ("global-pool", helper.make_node("GlobalAveragePool", ["x"], ["y"]), {"x": [2, 3, 5, 4]}, {}, 17),
    ("resize-scales", helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear"), {"x": [1, 2, 5, 7]},
     {"s": F32(1, 1, 2.5, 0.5)}, 17),
    ("resize-sizes", helper.make_node("Resize", ["x", "", "", "z"], ["y"]), {"x": [1, 2, 5, 7]}, {"z": I64(1, 2, 9, 3)}, 17),
    ("upsample", helper.make_node("Upsample", ["x", "s"], ["y"]), {"x": [1, 2, 3, 4]}, {"s": F32(1, 1, 2, 3)}, 9),
    ("slice-neg-step", helper.make_node("Slice", ["x", "a", "b", "c", "d"], ["y"]), {"x": [6, 10, 4]},
     {"a": I64(-1, 8), "b": I64(-100, 1), "c": I64(0, -2), "d": I64(-2, -3)}, 17),
    ("slice-big-end", helper.make_node("Slice", ["x", "a", "b"], ["y"]), {"x": [6, 10]}, {"a": I64(2, -3), "b": I64(2**62, 2**62)}, 17),
    ("split-equal", helper.make_node("Split", ["x"], ["y", "y2", "y3"], axis=1), {"x": [2, 9]}, {}, 17),
    ("split-explicit", helper.make_node("Split", ["x", "s"], ["y", "y2"], axis=-1), {"x": [2, 9]}, {"s": I64(2, 7)}, 17),
    ("split-num-outputs", helper.make_node("Split", ["x"], ["y", "y2", "y3"], axis=1, num_outputs=3), {"x": [2, 10]}, {}, 18),
    ("pad-crop", helper.make_node("Pad", ["x", "p"], ["y"]), {"x": [2, 5, 6]}, {"p": I64(0, 1, -1, 1, 2, -2)}, 17),
    ("reshape-zero-minus-one", helper.make_node("Reshape", ["x", "s"], ["y"]), {"x": [2, 3, 4, 5]}, {"s": I64(0, -1, 10)}, 17),
    ("flatten-neg", helper.make_node("Flatten", ["x"], ["y"], axis=-2), {"x": [2, 3, 4, 5]}, {}, 17),
    ("squeeze", helper.make_node("Squeeze", ["x", "a"], ["y"]), {"x": [1, 3, 1, 5]}, {"a": I64(-2)}, 17),
    ("squeeze-attr", helper.make_node("Squeeze", ["x"], ["y"], axes=[0]), {"x": [1, 3, 1, 5]}, {}, 11),
    ("unsqueeze", helper.make_node("Unsqueeze", ["x", "a"], ["y"]), {"x": [3, 5]}, {"a": I64(-1, 0)}, 17),
    ("gather-2d-index", helper.make_node("Gather", ["x", "i"], ["y"], axis=1), {"x": [3, 7, 2]}, {"i": I64(1, 2, 0, -1, 3, 4).reshape(2, 3)}, 17),
    ("reduce-input-axes", helper.make_node("ReduceMean", ["x", "a"], ["y"], keepdims=0), {"x": [2, 3, 4]}, {"a": I64(0, -1)}, 18),
    ("reduce-all", helper.make_node("ReduceSum", ["x"], ["y"]), {"x": [2, 3, 4]}, {}, 13),
    ("topk", helper.make_node("TopK", ["x", "k"], ["y", "i"], axis=1), {"x": [2, 9, 3]}, {"k": I64(4)}, 17),
    ("depth-to-space", helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2), {"x": [1, 8, 3, 4]}, {}, 17),
    ("tile", helper.make_node("Tile", ["x", "r"], ["y"]), {"x": [2, 3]}, {"r": I64(3, 2)}, 17),
    ("expand", helper.make_node("Expand", ["x", "s"], ["y"]), {"x": [3, 1]}, {"s": I64(2, 1, 4)}, 17),
    ("matmul-vec", helper.make_node("MatMul", ["x", "w"], ["y"]), {"x": [5]}, {"w": weight(2, 5, 3)}, 17),
    ("matmul-broadcast", helper.make_node("MatMul", ["x", "w"], ["y"]), {"x": [2, 1, 4, 5]}, {"w": weight(3, 5, 6)}, 17),
    ("gemm-trans", helper.make_node("Gemm", ["x", "w", "c"], ["y"], transA=1, transB=1), {"x": [5, 4]},
     {"w": weight(3, 5), "c": weight(1, 3)}, 17),
    ("where", helper.make_node("Where", ["c", "x", "z"], ["y"]), {"x": [3, 1]}, {"c": np.array([True, False]), "z": F32(0)}, 17),
    ("layernorm-stats", helper.make_node("LayerNormalization", ["x", "g"], ["y", "m"], axis=1), {"x": [2, 3, 4]},
     {"g": weight(3, 4)}, 17),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_shape_matches_onnxruntime(case):
    _, node, dims, inits, opset = case
    m = model([node], dims, [o for o in node.output if o], inits=inits, opset=opset)
    sess = ort_session(m)
    rng = np.random.default_rng(0)
    results = sess.run(None, {k: rng.standard_normal(v).astype(np.float32) for k, v in dims.items()})
    graph = load_model(m)
    for name, value in zip([o for o in node.output if o], results):
        assert graph.shape(name) == value.shape, name
        assert graph.info(name).dtype == str(value.dtype), name

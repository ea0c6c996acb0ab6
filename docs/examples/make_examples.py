"""Make the example files the docs use, from our own code (no downloads), byte for byte the same each run.

    .venv/bin/python docs/examples/make_examples.py

* ``tiny_cnn.onnx`` (with weights) and ``input.npy``, ``calib/sample_*.npy``: a small CNN to run;
* ``resnet50.onnx``, ``mobilenet_v2.onnx``, ``bert.onnx``: ``compiler.zoo`` models without weight
  bytes (estimates need shapes only; ``bert`` has symbolic batch and sequence dims);
* ``topology.csv`` and ``scale.cfg``: SCALE-Sim inputs in SCALE-Sim's formats.

tests/docs/test_examples.py checks that the committed files are what this script makes.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from compiler import zoo  # noqa: E402

TOPOLOGY = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv1,32,32,3,3,3,16,1,
Conv2,30,30,3,3,16,32,2,
FC,1,1,1,1,512,10,1,
"""

SCALE_CFG = """[general]
run_name = docs_example_16x16_ws

[architecture_presets]
ArrayHeight:    16
ArrayWidth:     16
IfmapSramSzkB:   64
FilterSramSzkB:  64
OfmapSramSzkB:   32
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : ws

[run_presets]
InterfaceBandwidth: CALC
"""


def tiny_cnn() -> onnx.ModelProto:
    """Conv+Relu, a strided Conv+Relu, global pooling and a classifier: 1x3x32x32 -> 1x10."""
    rng = np.random.default_rng(0)

    def w(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.2).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], name="classifier", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        [w("w1", 16, 3, 3, 3), w("b1", 16), w("w2", 32, 16, 3, 3), w("b2", 32), w("w3", 10, 32), w("b3", 10)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="hwsim-docs")
    model.ir_version = 8
    return model


def files() -> dict[str, bytes]:
    """Every example file, by its path under docs/examples."""
    out = {"tiny_cnn.onnx": tiny_cnn().SerializeToString(), "topology.csv": TOPOLOGY.encode(),
           "scale.cfg": SCALE_CFG.encode()}
    for name in ("resnet50", "mobilenet_v2", "bert"):
        out[f"{name}.onnx"] = zoo.MODELS[name](weights=False).SerializeToString()
    rng = np.random.default_rng(1)
    for name in ("input.npy", "calib/sample_0.npy", "calib/sample_1.npy"):
        buffer = io.BytesIO()
        np.save(buffer, rng.standard_normal((1, 3, 32, 32)).astype(np.float32))
        out[name] = buffer.getvalue()
    return out


if __name__ == "__main__":
    for name, data in files().items():
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

"""Small ONNX builders and independent references for the compiler tests."""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT


def model(nodes: Sequence[onnx.NodeProto], inputs: Mapping[str, Sequence[int | str | None]],
          outputs: Iterable[str], *, inits: Mapping[str, np.ndarray] | None = None, opset: int = 17,
          input_types: Mapping[str, int] | None = None, value_info: Sequence[onnx.ValueInfoProto] = ()) -> onnx.ModelProto:
    """A model over ``nodes`` with float inputs (unless ``input_types`` says otherwise) and untyped outputs."""
    graph = helper.make_graph(
        list(nodes), "test",
        [helper.make_tensor_value_info(n, (input_types or {}).get(n, FLOAT), list(d) if d is not None else None)
         for n, d in inputs.items()],
        [helper.make_empty_tensor_value_info(n) for n in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()],
        value_info=list(value_info),
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def weight(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def onnx_shape(m: onnx.ModelProto, name: str) -> tuple[int, ...]:
    """ONNX's own shape inference (an independent reference for our shape rules)."""
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=True)
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        if vi.name == name:
            return tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)
    raise KeyError(name)


def ort_session(m: onnx.ModelProto):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    return ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])


_GEMM_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def ort_macs(m: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> int:
    """MACs of every Conv/ConvTranspose/MatMul/Gemm, from the tensor shapes onnxruntime actually
    produces when it runs the model, with output-centric formulas (not the lowering's m*k*n*g):

    - Conv: each output element takes ``C_in/g * prod(kernel)`` MACs = ``W.shape[1:]``.
    - ConvTranspose: each *input* element scatters into ``C_out/g * prod(kernel)`` = ``W.shape[1:]``.
    - MatMul/Gemm: each output element takes K MACs (the contracted dim of A).
    """
    m = onnx.ModelProto.FromString(m.SerializeToString())
    inits = {t.name: tuple(t.dims) for t in m.graph.initializer}
    consts = {n.output[0]: tuple(n.attribute[0].t.dims) for n in m.graph.node if n.op_type == "Constant"}
    inits.update(consts)
    probes = []
    for node in m.graph.node:
        if node.op_type in _GEMM_OPS:
            probes += [node.input[0], node.input[1], node.output[0]]
    existing = {o.name for o in m.graph.output}
    for name in dict.fromkeys(probes):
        if name not in existing and name not in inits:
            m.graph.output.append(helper.make_empty_tensor_value_info(name))
    sess = ort_session(m)
    names = [o.name for o in sess.get_outputs()]
    shapes = dict(zip(names, (np.shape(v) for v in sess.run(None, dict(feeds)))))
    shapes.update(inits)
    total = 0
    for node in m.graph.node:
        if node.op_type not in _GEMM_OPS:
            continue
        a, w, y = (shapes[n] for n in (node.input[0], node.input[1], node.output[0]))
        if node.op_type == "Conv":
            total += math.prod(y) * math.prod(w[1:])
        elif node.op_type == "ConvTranspose":
            total += math.prod(a) * math.prod(w[1:])
        else:
            transposed = any(at.name == "transA" and at.i for at in node.attribute)
            total += math.prod(y) * (a[0] if transposed else a[-1])
    return total


def checked_run(m: onnx.ModelProto, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Check ``m`` fully, run it in onnxruntime on :func:`random_feeds` and require finite outputs;
    returns the feeds (for :func:`ort_macs`)."""
    onnx.checker.check_model(m, full_check=True)
    sess = ort_session(m)
    feeds = random_feeds(sess, shapes)
    assert all(np.isfinite(o).all() for o in sess.run(None, feeds))
    return feeds


def random_feeds(sess, shapes: Mapping[str, tuple[int, ...]], seed: int = 0, high: int = 10) -> dict[str, np.ndarray]:
    """Inputs for ``sess``: normal floats, ints in [0, high), masks of ones."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for inp in sess.get_inputs():
        shape = shapes[inp.name]
        if "int" in inp.type:
            feeds[inp.name] = np.ones(shape, np.int64) if "mask" in inp.name else rng.integers(0, high, shape)
        else:
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds

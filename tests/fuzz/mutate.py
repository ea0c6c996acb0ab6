"""Structural mutations of real ONNX models, deterministic from a seed.

Seeds are the project's zoo (``compiler.zoo.MODELS``, weights or not) and small models built here
with ``onnx.helper``, each a few nodes around one feature the importer handles specially: Conv+Relu,
MatMul, a small CNN (Pool/Add/Gemm), Loop, If, Einsum, ConstantOfShape, BatchNormalization, QDQ and
QLinearMatMul, attention, and a mix of shape operators (Pad/Slice/Resize/Split/Concat/Reshape).

A mutation is a named function ``(Mutator) -> description`` in :data:`MUTATIONS`, grouped in
families (node, attr, io, init, opset, subgraph, bytes). :func:`mutate_model` applies 1-3 of them
chosen by ``random.Random(seed)``; the same seed always gives the same bytes.

>>> case = model_case(7)
>>> case.kind, case.argv[0]
('model', 'estimate')
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass
from typing import Callable

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import AttributeProto, TensorProto, helper, numpy_helper

try:  # inside the project's test suite (tests/fuzz/) or this folder used as a package
    from .harness import Case
except ImportError:  # run as a script from this folder
    from harness import Case

__all__ = ["SEEDS", "RUN_SEEDS", "MUTATIONS", "FAMILIES", "Seed", "Mutator", "mutate_model", "model_case",
           "run_case_for", "seed_inputs", "npy_bytes"]

F = TensorProto.FLOAT
I64 = TensorProto.INT64


# ------------------------------------------------------------------------------------- seed models

def _t(name: str, array) -> TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def _rand(rng: np.random.Generator, *shape: int, scale: float = 0.2) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _model(nodes, inputs, outputs, inits, name, opset=17, value_info=()) -> onnx.ModelProto:
    g = helper.make_graph(nodes, name, inputs, outputs, inits, value_info=list(value_info))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="hwsim-fuzz")
    m.ir_version = 8
    return m


def _vi(name, elem, dims):
    return helper.make_tensor_value_info(name, elem, dims)


def conv_relu(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(1)
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                              strides=[1, 1]),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    return _model(nodes, [_vi("x", F, [1, 3, 8, 8])], [_vi("y", F, [1, 4, 8, 8])],
                  [_t("W", _rand(r, 4, 3, 3, 3)), _t("B", _rand(r, 4))], "conv_relu")


def matmul(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(2)
    nodes = [helper.make_node("MatMul", ["a", "W"], ["y"], name="matmul")]
    return _model(nodes, [_vi("a", F, [1, 4, 8])], [_vi("y", F, [1, 4, 6])], [_t("W", _rand(r, 8, 6))], "matmul")


def small_cnn(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(3)
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "W2", "B2"], ["c2"], name="conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["p1", "c2"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "Wf", "Bf"], ["y"], name="fc", alpha=1.0, beta=1.0, transB=1),
    ]
    inits = [_t("W1", _rand(r, 8, 3, 3, 3)), _t("B1", _rand(r, 8)), _t("W2", _rand(r, 8, 8, 3, 3)),
             _t("B2", _rand(r, 8)), _t("Wf", _rand(r, 10, 8)), _t("Bf", _rand(r, 10))]
    return _model(nodes, [_vi("x", F, [1, 3, 16, 16])], [_vi("y", F, [1, 10])], inits, "small_cnn")


def loop(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(4)
    body = helper.make_graph(
        [helper.make_node("MatMul", ["v_in", "W"], ["v_out"], name="body_matmul"),
         helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body_cond"),
         helper.make_node("Identity", ["v_out"], ["scan"], name="body_scan")],
        "body",
        [_vi("iter", I64, []), _vi("cond_in", TensorProto.BOOL, []), _vi("v_in", F, [1, 4])],
        [_vi("cond_out", TensorProto.BOOL, []), _vi("v_out", F, [1, 4]), _vi("scan", F, [1, 4])])
    nodes = [helper.make_node("Constant", [], ["trip"], name="trip", value=_t("t", np.array(3, np.int64))),
             helper.make_node("Constant", [], ["cond"], name="cond", value=_t("c", np.array(True))),
             helper.make_node("Loop", ["trip", "cond", "x"], ["y", "s"], name="loop", body=body)]
    return _model(nodes, [_vi("x", F, [1, 4])], [_vi("y", F, [1, 4]), _vi("s", F, [3, 1, 4])],
                  [_t("W", _rand(r, 4, 4))], "loop")


def if_model(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(5)
    then = helper.make_graph([helper.make_node("MatMul", ["x", "W1"], ["yt"], name="then_mm")], "then", [],
                             [_vi("yt", F, [1, 6])])
    other = helper.make_graph([helper.make_node("MatMul", ["x", "W2"], ["ye"], name="else_mm")], "else", [],
                              [_vi("ye", F, [1, 6])])
    nodes = [helper.make_node("Constant", [], ["c"], name="cond", value=_t("c", np.array(True))),
             helper.make_node("If", ["c"], ["y"], name="if", then_branch=then, else_branch=other)]
    return _model(nodes, [_vi("x", F, [1, 4])], [_vi("y", F, [1, 6])],
                  [_t("W1", _rand(r, 4, 6)), _t("W2", _rand(r, 4, 6))], "if_model")


def einsum(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(6)
    nodes = [helper.make_node("Einsum", ["a", "b"], ["y"], name="einsum", equation="bij,bjk->bik")]
    return _model(nodes, [_vi("a", F, [2, 3, 4])], [_vi("y", F, [2, 3, 5])], [_t("b", _rand(r, 2, 4, 5))], "einsum")


def constant_of_shape(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(7)
    nodes = [helper.make_node("Constant", [], ["shape"], name="shape", value=_t("s", np.array([1, 4], np.int64))),
             helper.make_node("ConstantOfShape", ["shape"], ["c"], name="cos",
                              value=_t("v", np.array([0.5], np.float32))),
             helper.make_node("Add", ["x", "c"], ["s"], name="add"),
             helper.make_node("MatMul", ["s", "W"], ["y"], name="matmul")]
    return _model(nodes, [_vi("x", F, [1, 4])], [_vi("y", F, [1, 3])], [_t("W", _rand(r, 4, 3))], "constant_of_shape")


def batchnorm(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(8)
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["b"], name="bn",
                              epsilon=1e-5),
             helper.make_node("Relu", ["b"], ["y"], name="relu")]
    inits = [_t("W", _rand(r, 4, 3, 3, 3)), _t("scale", np.ones(4, np.float32)), _t("bias", _rand(r, 4)),
             _t("mean", _rand(r, 4)), _t("var", np.abs(_rand(r, 4)) + 0.5)]
    return _model(nodes, [_vi("x", F, [1, 3, 8, 8])], [_vi("y", F, [1, 4, 8, 8])], inits, "batchnorm")


def qdq(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(9)
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="q_x"),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"], name="dq_x"),
             helper.make_node("DequantizeLinear", ["Wq", "ws", "wz"], ["wd"], name="dq_w"),
             helper.make_node("Conv", ["xd", "wd", "B"], ["y"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    inits = [_t("xs", np.float32(0.02)), _t("xz", np.int8(0)), _t("ws", np.float32(0.01)), _t("wz", np.int8(0)),
             _t("Wq", r.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)), _t("B", _rand(r, 4))]
    return _model(nodes, [_vi("x", F, [1, 3, 8, 8])], [_vi("y", F, [1, 4, 8, 8])], inits, "qdq")


def qlinear_matmul(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(10)
    nodes = [helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"], name="qmm")]
    inits = [_t("as", np.float32(0.05)), _t("az", np.uint8(128)), _t("b", r.integers(0, 256, (8, 6)).astype(np.uint8)),
             _t("bs", np.float32(0.01)), _t("bz", np.uint8(128)), _t("ys", np.float32(0.1)), _t("yz", np.uint8(128))]
    return _model(nodes, [_vi("a", TensorProto.UINT8, [1, 4, 8])], [_vi("y", TensorProto.UINT8, [1, 4, 6])], inits,
                  "qlinear_matmul")


def attention(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(11)
    nodes = [helper.make_node("MatMul", ["x", "Wq"], ["q"], name="q"),
             helper.make_node("MatMul", ["x", "Wk"], ["k"], name="k"),
             helper.make_node("MatMul", ["x", "Wv"], ["v"], name="v"),
             helper.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 2, 1]),
             helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
             helper.make_node("Div", ["s", "scale"], ["s2"], name="div"),
             helper.make_node("Softmax", ["s2"], ["p"], name="softmax", axis=-1),
             helper.make_node("MatMul", ["p", "v"], ["o"], name="context"),
             helper.make_node("Add", ["o", "x"], ["o2"], name="residual"),
             helper.make_node("LayerNormalization", ["o2", "gamma", "beta"], ["y"], name="ln", axis=-1, epsilon=1e-5)]
    inits = [_t("Wq", _rand(r, 16, 16)), _t("Wk", _rand(r, 16, 16)), _t("Wv", _rand(r, 16, 16)),
             _t("scale", np.float32(4.0)), _t("gamma", np.ones(16, np.float32)), _t("beta", np.zeros(16, np.float32))]
    return _model(nodes, [_vi("x", F, [1, 8, 16])], [_vi("y", F, [1, 8, 16])], inits, "attention")


def shape_ops(weights: bool = True) -> onnx.ModelProto:
    r = np.random.default_rng(12)
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"], name="pad", mode="constant"),
             helper.make_node("Slice", ["p", "starts", "ends", "axes"], ["sl"], name="slice"),
             helper.make_node("Resize", ["sl", "", "scales"], ["rs"], name="resize", mode="nearest"),
             helper.make_node("Split", ["rs", "split"], ["s0", "s1"], name="split", axis=1),
             helper.make_node("Concat", ["s1", "s0"], ["cc"], name="concat", axis=1),
             helper.make_node("Conv", ["cc", "W"], ["c"], name="conv", kernel_shape=[1, 1]),
             helper.make_node("Reshape", ["c", "shape"], ["rr"], name="reshape"),
             helper.make_node("MatMul", ["rr", "Wm"], ["y"], name="matmul")]
    inits = [_t("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)), _t("starts", np.array([0], np.int64)),
             _t("ends", np.array([8], np.int64)), _t("axes", np.array([2], np.int64)),
             _t("scales", np.array([1, 1, 2, 2], np.float32)), _t("split", np.array([1, 2], np.int64)),
             _t("W", _rand(r, 2, 3, 1, 1)), _t("shape", np.array([1, -1], np.int64)), _t("Wm", _rand(r, 640, 4))]
    return _model(nodes, [_vi("x", F, [1, 3, 8, 8])], [_vi("y", F, [1, 4])], inits, "shape_ops", opset=13)


@dataclass(frozen=True)
class Seed:
    name: str
    build: Callable[[], onnx.ModelProto]
    pins: dict[str, str]     # --input-shape values by input name
    weight: float = 1.0      # relative chance of being picked
    runnable: bool = False   # has weights: usable for `hwsim run`


def _zoo(name: str, **kw):
    def build():
        from compiler import zoo
        return zoo.MODELS[name](**kw) if name in zoo.MODELS else getattr(zoo, name)(**kw)
    return build


_SMALL = [("conv_relu", conv_relu, {}), ("matmul", matmul, {}), ("small_cnn", small_cnn, {}), ("loop", loop, {}),
          ("if_model", if_model, {}), ("einsum", einsum, {}), ("constant_of_shape", constant_of_shape, {}),
          ("batchnorm", batchnorm, {}), ("qdq", qdq, {}), ("qlinear_matmul", qlinear_matmul, {}),
          ("attention", attention, {}), ("shape_ops", shape_ops, {})]

#: Seeds for ``estimate``: the small models (tiny, one feature each) and the zoo without weights.
SEEDS: dict[str, Seed] = {n: Seed(n, f, p, 1.0, True) for n, f, p in _SMALL}
SEEDS.update({
    "resnet18": Seed("resnet18", _zoo("resnet18", weights=False), {}, 0.8),
    "resnet50": Seed("resnet50", _zoo("resnet50", weights=False), {}, 0.6),
    "mobilenet_v2": Seed("mobilenet_v2", _zoo("mobilenet_v2", weights=False), {}, 0.6),
    "bert": Seed("bert", _zoo("bert", weights=False), {"input_ids": "1x128", "attention_mask": "1x128"}, 0.5),
    "gpt": Seed("gpt", _zoo("gpt", weights=False), {"input_ids": "1x64"}, 0.5),
    "ocr_det": Seed("ocr_det", _zoo("ocr_det", weights=False), {"x": "1x3x224x224"}, 0.6),
    "ocr_rec": Seed("ocr_rec", _zoo("ocr_rec", weights=False), {"x": "1x3x48x320"}, 0.6),
    "ocr_cls": Seed("ocr_cls", _zoo("ocr_cls", weights=False), {"x": "1x3x48x192"}, 0.6),
})
#: Seeds for ``run`` (weights present): the small models plus small zoo models with weights.
RUN_SEEDS: dict[str, Seed] = {n: s for n, s in SEEDS.items() if s.runnable}
RUN_SEEDS.update({
    "ocr_cls_w": Seed("ocr_cls_w", _zoo("ocr_cls", weights=True), {"x": "1x3x48x192"}, 1.0, True),
    "bert_tiny_w": Seed("bert_tiny_w", _zoo("bert", layers=1, hidden=32, heads=2, vocab=64, max_positions=32,
                                             weights=True), {"input_ids": "1x8", "attention_mask": "1x8"}, 1.0, True),
})

_BUILT: dict[str, bytes] = {}


def build_seed(seed: Seed) -> onnx.ModelProto:
    """A fresh copy of the seed model (built once, then re-parsed: deterministic and fast)."""
    if seed.name not in _BUILT:
        _BUILT[seed.name] = seed.build().SerializeToString()
    m = onnx.ModelProto()
    m.ParseFromString(_BUILT[seed.name])
    return m


# -------------------------------------------------------------------------------- hostile values

NAN, INF = float("nan"), float("inf")
INTS = [0, -1, 1, 2, 3, -2, 7, 13, 2**31 - 1, 2**31, -2**31, 2**63 - 1, -2**63, 10**6, 4097, 65536, 2**40]
FLOATS = [NAN, INF, -INF, 0.0, -0.0, 1e308, 5e-324, -1.0, 1e-45, 3.4e38, 1e39, 0.5, 2.0, -1e30]
STRINGS = [b"", b"x" * 300, b"\x1b[31mred\x1b[0m", "\u00e9\u20ac\U0001F600".encode(), b"\xff\xfe", b"NOTSET",
           b"SAME_UPPER", b"SAME_LOWER", b"VALID", b"constant", b"reflect", b"a\x00b", b"\n", b"bij,bjk->bik",
           b"->", b"ii->i", b"abc,abd->cd", b"...ij,...jk->...ik", b"nearest", b"linear", b"cubic", b"DCR", b"CRD",
           b"x" * 5000]
NAMES = ["", "x", "a" * 300, "\x1b[2J\x1b[31mboom", "n\u00e4me\u2603", "with space", "new\nline", "../../etc",
         "tab\tname", "\u202eevil", "%s%n%x", "{}", "a" * 5000]
DIMS = [0, -1, -7, 1, 2, 3, 2**31, 2**40, 10**12, 2**62, 2**63 - 1, "N", "batch", "", None]


def _pick(rng: random.Random, seq):
    return seq[rng.randrange(len(seq))]


def _hostile_tensor(rng: random.Random) -> TensorProto:
    choice = rng.randrange(8)
    if choice == 0:
        return _t("t", np.zeros((0,), np.float32))
    if choice == 1:
        return _t("t", np.array([NAN, INF], np.float32))
    if choice == 2:
        return _t("t", np.array([-1, 2**40], np.int64))
    if choice == 3:
        t = TensorProto(name="t", data_type=F, dims=[2**31])
        return t
    if choice == 4:
        return helper.make_tensor("t", TensorProto.STRING, [2], [b"a", b"\xff"])
    if choice == 5:
        t = TensorProto(name="t", data_type=F, dims=[4])
        t.raw_data = b"\x00" * 7
        return t
    if choice == 6:
        t = TensorProto(name="t", data_type=F, dims=[4], data_location=TensorProto.EXTERNAL)
        e = t.external_data.add()
        e.key, e.value = "location", "a" * 300
        return t
    return _t("t", np.array(rng.choice([0.5, 1.0, 7.0]), np.float64))


def _tiny_graph(rng: random.Random) -> onnx.GraphProto:
    if rng.random() < 0.4:
        return helper.make_graph([], "empty", [], [])
    return helper.make_graph([helper.make_node("Identity", ["gi"], ["go"])], "tiny", [_vi("gi", F, [1])],
                             [_vi("go", F, [1])])


def hostile_attribute(rng: random.Random, name: str, kind: int | None = None) -> AttributeProto:
    """An attribute ``name`` of a random (or the given) type holding a hostile value."""
    kinds = [AttributeProto.INT, AttributeProto.FLOAT, AttributeProto.STRING, AttributeProto.INTS,
             AttributeProto.FLOATS, AttributeProto.STRINGS, AttributeProto.TENSOR, AttributeProto.GRAPH,
             AttributeProto.GRAPHS, AttributeProto.TENSORS]
    kind = kind if kind is not None else _pick(rng, kinds)
    a = AttributeProto(name=name, type=kind)
    if kind == AttributeProto.INT:
        a.i = _pick(rng, INTS)
    elif kind == AttributeProto.FLOAT:
        a.f = _pick(rng, FLOATS)
    elif kind == AttributeProto.STRING:
        a.s = _pick(rng, STRINGS)
    elif kind == AttributeProto.INTS:
        n = _pick(rng, [0, 1, 2, 3, 4, 8, 10000])
        a.ints.extend(_pick(rng, INTS) if n == 10000 else _pick(rng, INTS) for _ in range(n))
    elif kind == AttributeProto.FLOATS:
        a.floats.extend(_pick(rng, FLOATS) for _ in range(_pick(rng, [0, 1, 2, 4])))
    elif kind == AttributeProto.STRINGS:
        a.strings.extend(_pick(rng, STRINGS) for _ in range(_pick(rng, [0, 1, 3])))
    elif kind == AttributeProto.TENSOR:
        a.t.CopyFrom(_hostile_tensor(rng))
    elif kind == AttributeProto.TENSORS:
        a.tensors.extend([_hostile_tensor(rng), _hostile_tensor(rng)])
    elif kind == AttributeProto.GRAPH:
        a.g.CopyFrom(_tiny_graph(rng))
    else:
        a.graphs.extend([_tiny_graph(rng), _tiny_graph(rng)])
    return a


def _same_kind_hostile(rng: random.Random, attr: AttributeProto) -> AttributeProto:
    """Keep the type, make the value hostile (negative, zero, huge, NaN, one element more or less)."""
    a = copy.deepcopy(attr)
    k = a.type
    if k == AttributeProto.INT:
        a.i = _pick(rng, [-a.i, 0, -1, a.i * 1000, 2**62, a.i + 1])
    elif k == AttributeProto.FLOAT:
        a.f = _pick(rng, FLOATS)
    elif k == AttributeProto.INTS:
        vals = list(a.ints)
        op = rng.randrange(5)
        if op == 0 and vals:
            vals[rng.randrange(len(vals))] = _pick(rng, INTS)
        elif op == 1:
            vals = [-v for v in vals] or [-1]
        elif op == 2:
            vals = vals[:-1]
        elif op == 3:
            vals = vals + [_pick(rng, [0, 1, 2, -1])]
        else:
            vals = [0] * len(vals) or [0]
        del a.ints[:]
        a.ints.extend(vals)
    elif k == AttributeProto.FLOATS:
        vals = list(a.floats) or [1.0]
        vals[rng.randrange(len(vals))] = _pick(rng, FLOATS)
        del a.floats[:]
        a.floats.extend(vals)
    elif k == AttributeProto.STRING:
        a.s = _pick(rng, STRINGS)
    elif k == AttributeProto.TENSOR:
        a.t.CopyFrom(_hostile_tensor(rng))
    elif k == AttributeProto.GRAPH:
        a.g.CopyFrom(_tiny_graph(rng))
    else:
        return hostile_attribute(rng, a.name)
    return a


_SCHEMAS: list | None = None


def _schemas() -> list:
    global _SCHEMAS
    if _SCHEMAS is None:
        latest = {}
        for s in onnx.defs.get_all_schemas_with_history():
            if s.domain in ("", "ai.onnx") and not s.deprecated:
                latest[s.name] = s
        _SCHEMAS = sorted(latest.values(), key=lambda s: s.name)
    return _SCHEMAS


def _schema(op: str):
    try:
        return onnx.defs.get_schema(op, 30, "")
    except onnx.defs.SchemaError:
        return None


# ----------------------------------------------------------------------------------------- mutator

class Skip(Exception):
    """The mutation does not apply to this model."""


class Mutator:
    def __init__(self, model: onnx.ModelProto, rng: random.Random) -> None:
        self.m = model
        self.g = model.graph
        self.rng = rng
        self.data: bytes | None = None   # set by byte-level mutations

    # helpers
    def node(self) -> tuple[int, onnx.NodeProto]:
        if not self.g.node:
            raise Skip("no nodes")
        i = self.rng.randrange(len(self.g.node))
        return i, self.g.node[i]

    def values(self) -> list[str]:
        names = [v.name for v in self.g.input] + [t.name for t in self.g.initializer]
        names += [o for n in self.g.node for o in n.output if o]
        return names

    def pick(self, seq):
        if not len(seq):
            raise Skip("empty")
        return seq[self.rng.randrange(len(seq))]

    def fresh(self, base: str = "fuzz") -> str:
        return f"{base}_{self.rng.randrange(10**6)}"

    def subgraph_nodes(self) -> list[tuple[onnx.NodeProto, AttributeProto]]:
        return [(n, a) for n in self.g.node for a in n.attribute if a.type in (AttributeProto.GRAPH,)]


MUTATIONS: dict[str, Callable[[Mutator], str]] = {}
FAMILIES: dict[str, list[str]] = {}


def mutation(family: str):
    def register(fn):
        name = fn.__name__.lstrip("_")
        MUTATIONS[name] = fn
        FAMILIES.setdefault(family, []).append(name)
        return fn
    return register


# ---- nodes
@mutation("node")
def drop_node(mu: Mutator) -> str:
    i, n = mu.node()
    del mu.g.node[i]
    return f"drop node {n.name or n.op_type}#{i}"


@mutation("node")
def duplicate_node(mu: Mutator) -> str:
    i, n = mu.node()
    mu.g.node.insert(i + 1, copy.deepcopy(n))
    return f"duplicate node {n.name or n.op_type} (same outputs)"


@mutation("node")
def clone_node_renamed(mu: Mutator) -> str:
    i, n = mu.node()
    c = copy.deepcopy(n)
    c.name = mu.fresh(n.name or "clone")
    del c.output[:]
    c.output.extend(mu.fresh(o or "out") for o in n.output)
    mu.g.node.append(c)
    return f"clone node {n.name or n.op_type} with fresh outputs (dead code)"


def _node_slot(mu: Mutator, field: str) -> tuple[onnx.NodeProto, int]:
    """A random node and a random index into its ``input`` or ``output`` list (Skip when it is empty)."""
    _, n = mu.node()
    if not getattr(n, field):
        raise Skip(f"no {field}s")
    return n, mu.rng.randrange(len(getattr(n, field)))


@mutation("node")
def rename_node_output(mu: Mutator) -> str:
    n, j = _node_slot(mu, "output")
    new = mu.pick(["", mu.fresh("renamed"), *mu.values()[:50]])
    old = n.output[j]
    n.output[j] = new
    return f"node {n.name or n.op_type} output {j} {old!r} -> {new[:40]!r}"


@mutation("node")
def rename_node_input(mu: Mutator) -> str:
    n, j = _node_slot(mu, "input")
    new = mu.pick(["missing_value", "", mu.pick(mu.values()), mu.pick(mu.values()), n.output[0] if n.output else "x"])
    n.input[j] = new
    return f"node {n.name or n.op_type} input {j} -> {new[:40]!r}"


@mutation("node")
def drop_node_input(mu: Mutator) -> str:
    n, j = _node_slot(mu, "input")
    del n.input[j]
    return f"node {n.name or n.op_type} drop input {j}"


@mutation("node")
def add_node_input(mu: Mutator) -> str:
    i, n = mu.node()
    extra = [mu.pick(mu.values()) for _ in range(mu.pick([1, 1, 2, 8]))]
    n.input.extend(extra)
    return f"node {n.name or n.op_type} +{len(extra)} inputs"


@mutation("node")
def empty_node_input(mu: Mutator) -> str:
    n, j = _node_slot(mu, "input")
    n.input[j] = ""
    return f"node {n.name or n.op_type} input {j} -> '' (omitted optional)"


@mutation("node")
def swap_node_inputs(mu: Mutator) -> str:
    i, n = mu.node()
    if len(n.input) < 2:
        raise Skip("fewer than two inputs")
    a, b = mu.rng.sample(range(len(n.input)), 2)
    n.input[a], n.input[b] = n.input[b], n.input[a]
    return f"node {n.name or n.op_type} swap inputs {a},{b}"


@mutation("node")
def shuffle_nodes(mu: Mutator) -> str:
    nodes = list(mu.g.node)
    mu.rng.shuffle(nodes)
    del mu.g.node[:]
    mu.g.node.extend(nodes)
    return "shuffle node order"


@mutation("node")
def make_cycle(mu: Mutator) -> str:
    i, n = mu.node()
    later = [o for m in mu.g.node[i:] for o in m.output if o]
    if not n.input or not later:
        raise Skip("no cycle possible")
    n.input[0] = mu.pick(later)
    return f"node {n.name or n.op_type} input 0 -> a later output (cycle)"


@mutation("node")
def change_op_type(mu: Mutator) -> str:
    i, n = mu.node()
    old = n.op_type
    r = mu.rng.random()
    if r < 0.75:
        n.op_type = mu.pick(_schemas()).name
    elif r < 0.85:
        n.op_type = mu.pick(["Conv", "MatMul", "Gemm", "Einsum", "NonMaxSuppression", "Loop", "If", "Scan",
                             "ConstantOfShape", "BatchNormalization", "QLinearConv", "ConvTranspose", "Resize",
                             "Upsample", "Constant", "TopK", "NonZero", "Unique", "SequenceConstruct", "STFT"])
    else:
        n.op_type = mu.pick(["", "conv", "Conv ", "\x1b[31mConv", "NoSuchOp", "C" * 300, "Conv\u200b"])
    return f"node {n.name or old} op {old} -> {n.op_type[:40]!r}"


@mutation("node")
def change_domain(mu: Mutator) -> str:
    i, n = mu.node()
    n.domain = mu.pick(["com.microsoft", "ai.onnx.ml", "bogus.domain", "ai.onnx", "", "\x1b[0m", "com.microsoft.nchwc"])
    return f"node {n.name or n.op_type} domain -> {n.domain!r}"


@mutation("node")
def hostile_node_name(mu: Mutator) -> str:
    i, n = mu.node()
    n.name = mu.pick(NAMES)
    return f"node #{i} name -> {n.name[:30]!r}"


# ---- attributes
@mutation("attr")
def remove_attr(mu: Mutator) -> str:
    cands = [(n, j) for n in mu.g.node for j in range(len(n.attribute))]
    n, j = mu.pick(cands)
    name = n.attribute[j].name
    del n.attribute[j]
    return f"node {n.name or n.op_type} remove attribute {name}"


@mutation("attr")
def add_attr(mu: Mutator) -> str:
    i, n = mu.node()
    schema = _schema(n.op_type)
    known = [a for a in (schema.attributes if schema else {}) if a not in {x.name for x in n.attribute}]
    name = mu.pick(known) if known and mu.rng.random() < 0.7 else mu.pick(["fuzz_attr", "", "alpha", "axis", "x" * 300])
    n.attribute.append(hostile_attribute(mu.rng, name))
    return f"node {n.name or n.op_type} add attribute {name[:30]!r} ({AttributeProto.AttributeType.Name(n.attribute[-1].type)})"


@mutation("attr")
def retype_attr(mu: Mutator) -> str:
    cands = [(n, j) for n in mu.g.node for j in range(len(n.attribute))]
    n, j = mu.pick(cands)
    old = n.attribute[j]
    new = hostile_attribute(mu.rng, old.name)
    n.attribute[j].CopyFrom(new)
    return (f"node {n.name or n.op_type} attribute {old.name} retyped to "
            f"{AttributeProto.AttributeType.Name(new.type)}")


@mutation("attr")
def tweak_attr(mu: Mutator) -> str:
    cands = [(n, j) for n in mu.g.node for j in range(len(n.attribute))]
    n, j = mu.pick(cands)
    new = _same_kind_hostile(mu.rng, n.attribute[j])
    n.attribute[j].CopyFrom(new)
    return f"node {n.name or n.op_type} attribute {new.name} hostile value of the same type"


@mutation("attr")
def scalar_as_list(mu: Mutator) -> str:
    cands = [(n, j) for n in mu.g.node for j, a in enumerate(n.attribute)
             if a.type in (AttributeProto.INT, AttributeProto.FLOAT, AttributeProto.STRING)]
    n, j = mu.pick(cands)
    a = n.attribute[j]
    kind = {AttributeProto.INT: AttributeProto.INTS, AttributeProto.FLOAT: AttributeProto.FLOATS,
            AttributeProto.STRING: AttributeProto.STRINGS}[a.type]
    new = AttributeProto(name=a.name, type=kind)
    if kind == AttributeProto.INTS:
        new.ints.extend([a.i, a.i])
    elif kind == AttributeProto.FLOATS:
        new.floats.extend([a.f, a.f])
    else:
        new.strings.extend([a.s])
    a.CopyFrom(new)
    return f"node {n.name or n.op_type} attribute {a.name} scalar given as a list"


# ---- graph inputs / outputs / value infos
def _dim_set(d, value) -> None:
    d.Clear()
    if isinstance(value, str):
        d.dim_param = value
    elif value is not None:
        d.dim_value = value


def _drop_one(mu: Mutator, items, what: str) -> str:
    """Delete a random element of the repeated field ``items``."""
    if not items:
        raise Skip(f"no {what}s")
    j = mu.rng.randrange(len(items))
    name = items[j].name
    del items[j]
    return f"drop {what} {name}"


@mutation("io")
def drop_graph_input(mu: Mutator) -> str:
    return _drop_one(mu, mu.g.input, "graph input")


@mutation("io")
def drop_graph_output(mu: Mutator) -> str:
    return _drop_one(mu, mu.g.output, "graph output")


@mutation("io")
def rename_graph_output(mu: Mutator) -> str:
    vi = mu.pick(mu.g.output)
    old = vi.name
    vi.name = mu.pick([mu.fresh("nothing"), "", mu.pick([v.name for v in mu.g.input] or ["x"]),
                       mu.pick([t.name for t in mu.g.initializer] or ["x"])])
    return f"graph output {old} renamed {vi.name[:30]!r}"


@mutation("io")
def rename_graph_input(mu: Mutator) -> str:
    vi = mu.pick(mu.g.input)
    old = vi.name
    vi.name = mu.pick([mu.fresh("in"), "", mu.pick(NAMES), mu.pick([t.name for t in mu.g.initializer] or ["W"])])
    return f"graph input {old} renamed {vi.name[:30]!r}"


@mutation("io")
def duplicate_graph_io(mu: Mutator) -> str:
    which = mu.g.input if mu.rng.random() < 0.5 and mu.g.input else mu.g.output
    vi = mu.pick(which)
    which.append(copy.deepcopy(vi))
    return f"duplicate graph {'input' if which is mu.g.input else 'output'} {vi.name}"


@mutation("io")
def add_graph_input(mu: Mutator) -> str:
    dims = [mu.pick(DIMS) for _ in range(mu.pick([0, 1, 2, 4]))]
    vi = helper.make_tensor_value_info(mu.fresh("extra"), F, None)
    for d in dims:
        _dim_set(vi.type.tensor_type.shape.dim.add(), d)
    mu.g.input.append(vi)
    return f"add unused graph input with dims {dims}"


@mutation("io")
def set_dim(mu: Mutator) -> str:
    pool = list(mu.g.input) + (list(mu.g.output) if mu.rng.random() < 0.3 else [])
    vi = mu.pick(pool)
    dims = vi.type.tensor_type.shape.dim
    if not len(dims):
        raise Skip("scalar")
    j = mu.rng.randrange(len(dims))
    value = mu.pick(DIMS)
    _dim_set(dims[j], value)
    return f"{vi.name} dim {j} -> {value!r}"


@mutation("io")
def change_rank(mu: Mutator) -> str:
    vi = mu.pick(mu.g.input)
    dims = vi.type.tensor_type.shape.dim
    if mu.rng.random() < 0.5 and len(dims):
        del dims[mu.rng.randrange(len(dims))]
        return f"{vi.name} loses a dim"
    _dim_set(dims.add(), mu.pick([1, 2, 3, "N"]))
    return f"{vi.name} gains a dim"


@mutation("io")
def drop_shape(mu: Mutator) -> str:
    vi = mu.pick(list(mu.g.input) + list(mu.g.output))
    vi.type.tensor_type.ClearField("shape")
    return f"{vi.name} shape removed (unknown rank)"


@mutation("io")
def change_elem_type(mu: Mutator) -> str:
    vi = mu.pick(list(mu.g.input) + list(mu.g.output) + list(mu.g.value_info))
    new = mu.pick(list(TensorProto.DataType.values()) + [99, 1000])
    vi.type.tensor_type.elem_type = new
    return f"{vi.name} elem_type -> {new}"


@mutation("io")
def non_tensor_input(mu: Mutator) -> str:
    vi = mu.pick(mu.g.input)
    r = mu.rng.randrange(3)
    if r == 0:
        vi.type.CopyFrom(helper.make_sequence_type_proto(helper.make_tensor_type_proto(F, [1])))
    elif r == 1:
        vi.type.CopyFrom(helper.make_optional_type_proto(helper.make_tensor_type_proto(F, [1])))
    else:
        vi.type.Clear()
    return f"{vi.name} made {'sequence optional none'.split()[r]} type"


@mutation("io")
def declare_value_info(mu: Mutator) -> str:
    outs = [o for n in mu.g.node for o in n.output if o]
    name = mu.pick(outs)
    dims = [mu.pick(DIMS) for _ in range(mu.pick([0, 1, 2, 4]))]
    vi = helper.make_tensor_value_info(name, mu.pick([F, I64, TensorProto.INT8, TensorProto.STRING, 0]), None)
    for d in dims:
        _dim_set(vi.type.tensor_type.shape.dim.add(), d)
    mu.g.value_info.append(vi)
    return f"value_info for {name} with dims {dims}"


@mutation("io")
def hostile_graph_name(mu: Mutator) -> str:
    mu.g.name = mu.pick(NAMES)
    if mu.rng.random() < 0.3:
        mu.m.producer_name = mu.pick(NAMES)
        mu.g.doc_string = mu.pick(NAMES)
    return f"graph name -> {mu.g.name[:30]!r}"


# ---- initializers
def _init(mu: Mutator) -> TensorProto:
    return mu.pick(mu.g.initializer)


@mutation("init")
def init_dims(mu: Mutator) -> str:
    t = _init(mu)
    dims = list(t.dims)
    r = mu.rng.randrange(4)
    if r == 0 and dims:
        dims[mu.rng.randrange(len(dims))] = mu.pick([0, -1, 2**31, 2**40, 10**12, 3])
    elif r == 1:
        dims = dims[:-1]
    elif r == 2:
        dims = dims + [mu.pick([1, 2, 0])]
    else:
        dims = [mu.pick([2**62, 2**63 - 1, -(2**63)])] + dims[1:]
    del t.dims[:]
    t.dims.extend(dims)
    return f"initializer {t.name} dims -> {dims}"


@mutation("init")
def init_dtype(mu: Mutator) -> str:
    t = _init(mu)
    new = mu.pick(list(TensorProto.DataType.values()) + [99, -1 & 0x7FFFFFFF])
    t.data_type = new
    return f"initializer {t.name} data_type -> {new}"


@mutation("init")
def init_raw_length(mu: Mutator) -> str:
    t = _init(mu)
    size = math.prod(t.dims) if t.dims else 1
    item = 4 if t.data_type in (F, TensorProto.INT32) else 8 if t.data_type in (I64, TensorProto.DOUBLE) else 1
    t.data_location = TensorProto.DEFAULT
    del t.external_data[:]
    for f in ("float_data", "int32_data", "int64_data", "double_data", "string_data", "uint64_data"):
        t.ClearField(f)
    n = mu.pick([0, 1, max(0, size * item - 1), size * item + 3, size * item * 2 + 1])
    t.raw_data = bytes(mu.rng.randrange(256) for _ in range(min(n, 1 << 16))) + b"\x00" * max(0, n - (1 << 16))
    return f"initializer {t.name} raw_data of {n} bytes for {size} elements"


@mutation("init")
def init_typed_data(mu: Mutator) -> str:
    t = _init(mu)
    t.ClearField("raw_data")
    t.data_location = TensorProto.DEFAULT
    del t.external_data[:]
    n = mu.pick([0, 1, 3, 100])
    if t.data_type == I64:
        t.int64_data.extend([mu.pick(INTS) for _ in range(n)])
    else:
        t.float_data.extend([mu.pick(FLOATS) for _ in range(n)])
    return f"initializer {t.name} typed data with {n} values"


@mutation("init")
def init_nonfinite(mu: Mutator) -> str:
    t = _init(mu)
    if t.data_type != F or t.data_location == TensorProto.EXTERNAL:
        raise Skip("not an inline float tensor")
    a = numpy_helper.to_array(t).copy()
    flat = a.reshape(-1)
    if not flat.size:
        raise Skip("empty")
    value = mu.pick([NAN, INF, -INF, 3.4e38])
    if mu.rng.random() < 0.5:
        flat[mu.rng.randrange(flat.size)] = value
    else:
        flat[:] = value
    t.CopyFrom(numpy_helper.from_array(a, t.name))
    return f"initializer {t.name} gets {value}"


@mutation("init")
def init_external(mu: Mutator) -> str:
    t = _init(mu)
    t.ClearField("raw_data")
    for f in ("float_data", "int32_data", "int64_data", "double_data"):
        t.ClearField(f)
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    location = mu.pick(["a" * 256, "a" * 5000, "/etc/hostname", "/nonexistent/w.bin", "../../../../etc/hostname",
                        "sub/../../w.bin", "", ".", "w\x1b[31m.bin", "w\u00e9\U0001F600.bin", "C:\\w.bin", "~/w.bin",
                        "weights.bin", "%s%n.bin", "a/" * 200 + "w.bin"])
    entries = [("location", location)]
    if mu.rng.random() < 0.6:
        entries.append(("offset", mu.pick(["0", "-1", "abc", "99999999999999999999", "", "1e3", "4096"])))
    if mu.rng.random() < 0.6:
        entries.append(("length", mu.pick(["0", "-1", "1", "99999999999999999999", "x", "16"])))
    if mu.rng.random() < 0.2:
        entries.append(("checksum", "deadbeef"))
    if mu.rng.random() < 0.1:
        entries = [e for e in entries if e[0] != "location"]
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return f"initializer {t.name} external data {[(k, v[:20] + ('...' if len(v) > 20 else '')) for k, v in entries]}"


@mutation("init")
def init_duplicate(mu: Mutator) -> str:
    t = _init(mu)
    c = copy.deepcopy(t)
    if mu.rng.random() < 0.5 and mu.g.input:
        c.name = mu.g.input[0].name
        mu.g.initializer.append(c)
        return f"initializer shadowing graph input {c.name}"
    mu.g.initializer.append(c)
    return f"initializer {t.name} duplicated"


@mutation("init")
def init_drop(mu: Mutator) -> str:
    return _drop_one(mu, mu.g.initializer, "initializer")


# ---- opset / model header
@mutation("opset")
def strip_opset(mu: Mutator) -> str:
    del mu.m.opset_import[:]
    return "no opset_import"


@mutation("opset")
def opset_version(mu: Mutator) -> str:
    v = mu.pick([0, 1, 6, 7, 9, 10, 11, 12, 99, 10**6, -1, 2**62])
    for o in mu.m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = v
    if mu.rng.random() < 0.2:
        mu.m.opset_import.add(domain="", version=mu.pick([1, 13, 99]))
    return f"opset version -> {v}"


@mutation("opset")
def ir_version(mu: Mutator) -> str:
    mu.m.ir_version = mu.pick([0, -1, 1, 3, 99, 2**62])
    return f"ir_version -> {mu.m.ir_version}"


@mutation("opset")
def extra_domain(mu: Mutator) -> str:
    mu.m.opset_import.add(domain=mu.pick(["com.microsoft", "\xff".encode("latin-1").decode("latin-1"), "x" * 300,
                                          "ai.onnx.ml"]), version=mu.pick([1, 0, -5]))
    return "extra opset domain"


# ---- subgraphs (Loop, If, nesting)
def _control(mu: Mutator) -> onnx.NodeProto:
    cands = [n for n in mu.g.node if n.op_type in ("If", "Loop")]
    if not cands:
        raise Skip("no control flow")
    return mu.pick(cands)


@mutation("subgraph")
def drop_subgraph_attr(mu: Mutator) -> str:
    n = _control(mu)
    j = mu.rng.randrange(len(n.attribute))
    name = n.attribute[j].name
    del n.attribute[j]
    return f"{n.op_type} loses attribute {name}"


@mutation("subgraph")
def empty_subgraph(mu: Mutator) -> str:
    n = _control(mu)
    a = mu.pick([a for a in n.attribute if a.type == AttributeProto.GRAPH])
    g = a.g
    r = mu.rng.randrange(4)
    if r == 0:
        del g.input[:]
    elif r == 1:
        del g.output[:]
    elif r == 2:
        del g.node[:]
    else:
        del g.input[:]
        del g.output[:]
        del g.node[:]
    return f"{n.op_type} {a.name}: {['no inputs', 'no outputs', 'no nodes', 'empty'][r]}"


@mutation("subgraph")
def control_inputs(mu: Mutator) -> str:
    n = _control(mu)
    r = mu.rng.randrange(4)
    if r == 0:
        del n.input[:]
    elif r == 1 and n.input:
        n.input[0] = ""
    elif r == 2:
        n.input.append(mu.pick(mu.values()))
    else:
        del n.output[:]
    return f"{n.op_type}: {['no inputs', 'first input omitted', 'extra input', 'no outputs'][r]}"


@mutation("subgraph")
def loop_trip_count(mu: Mutator) -> str:
    n = next((x for x in mu.g.node if x.op_type == "Constant" and x.output and x.output[0] in ("trip", "cond", "c")), None)
    if n is None:
        raise Skip("no control constant")
    value = mu.pick([np.array(10**9, np.int64), np.array(-5, np.int64), np.array(0, np.int64),
                     np.array(1025, np.int64), np.array([1, 2], np.int64), np.array(1.5, np.float32),
                     np.array(False), np.array([], np.int64), np.array(NAN, np.float32)])
    n.attribute[0].t.CopyFrom(_t("v", value))
    return f"constant {n.output[0]} -> {value.tolist()!r}"


@mutation("subgraph")
def nest_if(mu: Mutator) -> str:
    """Wrap the graph's nodes in ``depth`` nested Ifs with constant conditions."""
    depth = mu.pick([2, 5, 20, 45])  # protobuf refuses to build nesting much deeper than ~50
    nodes = list(mu.g.node)
    outs = [vi for vi in mu.g.output]
    for d in range(depth):
        branch = helper.make_graph(nodes, f"branch{d}", [], [copy.deepcopy(o) for o in outs])
        cond = f"nest_cond_{d}"
        other = helper.make_graph([], f"else{d}", [], [copy.deepcopy(o) for o in outs])  # never taken
        nodes = [helper.make_node("Constant", [], [cond], value=_t("c", np.array(True))),
                 helper.make_node("If", [cond], [o.name for o in outs], name=f"nest_if_{d}",
                                  then_branch=branch, else_branch=other)]
    del mu.g.node[:]
    mu.g.node.extend(nodes)
    return f"graph wrapped in {depth} nested Ifs"


@mutation("subgraph")
def graph_attr_on_plain_node(mu: Mutator) -> str:
    i, n = mu.node()
    n.attribute.append(hostile_attribute(mu.rng, mu.pick(["body", "then_branch", "g"]), AttributeProto.GRAPH))
    return f"node {n.name or n.op_type} gets a graph attribute"


@mutation("subgraph")
def subgraph_outer_ref(mu: Mutator) -> str:
    n = _control(mu)
    g = mu.pick([a.g for a in n.attribute if a.type == AttributeProto.GRAPH])
    if not g.node:
        raise Skip("empty")
    inner = mu.pick(g.node)
    if not inner.input:
        raise Skip("no inputs")
    inner.input[0] = mu.pick(["no_such_outer_value", n.output[0] if n.output else "", g.output[0].name if g.output else ""])
    return f"{n.op_type} subgraph node {inner.name} input 0 -> {inner.input[0]!r}"


# ---- bytes (applied to the serialized model, last)
@mutation("bytes")
def truncate(mu: Mutator) -> str:
    data = mu.data
    cut = mu.pick([0, 1, 2, 10, len(data) // 2, len(data) - 1, mu.rng.randrange(max(1, len(data)))])
    mu.data = data[:cut]
    return f"truncated to {cut} of {len(data)} bytes"


@mutation("bytes")
def flip_bytes(mu: Mutator) -> str:
    data = bytearray(mu.data)
    k = mu.pick([1, 2, 4, 16])
    for _ in range(k):
        if data:
            data[mu.rng.randrange(len(data))] ^= 1 << mu.rng.randrange(8)
    mu.data = bytes(data)
    return f"{k} bit flips"


@mutation("bytes")
def splice_bytes(mu: Mutator) -> str:
    data = mu.data
    at = mu.rng.randrange(max(1, len(data)))
    r = mu.rng.randrange(4)
    if r == 0:
        mu.data = data[:at] + bytes(mu.rng.randrange(256) for _ in range(mu.pick([1, 8, 64]))) + data[at:]
    elif r == 1:
        mu.data = data + b"\xff" * mu.pick([1, 100])
    elif r == 2:
        mu.data = data[:at] + b"\x00" * min(64, len(data) - at) + data[at + 64:]
    else:
        mu.data = data[:at] + data[at: at + 200] + data[at:]
    return f"splice {['insert random', 'append 0xff', 'zero a run', 'duplicate a chunk'][r]} at {at}"


@mutation("bytes")
def not_onnx(mu: Mutator) -> str:
    mu.data = mu.pick([b"", b"not an onnx model\n", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04" + b"\x00" * 40,
                       b"\x08\x08" * 10, b"\x0a\xff\xff\xff\xff\x0f" + b"x" * 10, b"{}", b"\x93NUMPY"])
    return f"replaced by {mu.data[:12]!r}"


# --------------------------------------------------------------------------------------- driver

_FAMILY_WEIGHTS = {"node": 30, "attr": 26, "io": 16, "init": 12, "opset": 4, "subgraph": 6, "bytes": 6}


def _choose(rng: random.Random, has_control: bool) -> str:
    weights = dict(_FAMILY_WEIGHTS)
    if has_control:
        weights["subgraph"] = 30
    fams = sorted(weights)
    fam = rng.choices(fams, [weights[f] for f in fams])[0]
    return rng.choice(FAMILIES[fam])


def mutate_model(model: onnx.ModelProto, seed: int | str, count: int | None = None,
                 names: list[str] | None = None) -> tuple[bytes, list[str], onnx.ModelProto | None]:
    """Apply ``count`` (default 1-3) mutations; returns (bytes, descriptions, the proto or None if bytes-level).

    ``names`` forces the mutations (by name, in order) instead of choosing them.
    """
    rng = random.Random(f"mutate:{seed}")
    mu = Mutator(model, rng)
    has_control = any(n.op_type in ("If", "Loop") for n in model.graph.node)
    if names is None:
        count = count or rng.choices([1, 2, 3], [60, 30, 10])[0]
        names = [_choose(rng, has_control) for _ in range(count)]
    descs: list[str] = []
    byte_level = [n for n in names if n in FAMILIES["bytes"]]
    for name in [n for n in names if n not in byte_level]:
        for attempt in range(8):
            try:
                descs.append(f"{name}: {MUTATIONS[name](mu)}")
                break
            except (Skip, ValueError, TypeError, IndexError, OverflowError, DecodeError):
                name = _choose(rng, has_control) if attempt < 6 else "hostile_graph_name"
    try:
        data = model.SerializeToString()
    except Exception as e:  # a mutation produced an unserializable proto: fall back to a byte mutation
        descs.append(f"(unserializable: {type(e).__name__})")
        data = b""
    mu.data = data
    for name in byte_level:
        descs.append(f"{name}: {MUTATIONS[name](mu)}")
    return mu.data, descs, (None if byte_level else model)


# ------------------------------------------------------------------------------------ cases

def _pins(seed: Seed, model: onnx.ModelProto | None) -> list[str]:
    names = {vi.name for vi in model.graph.input} if model is not None else set(seed.pins)
    args = []
    for name, dims in seed.pins.items():
        if name in names:
            args += ["--input-shape", f"{name}={dims}"]
    return args


def _pick_seed(rng: random.Random, seeds: dict[str, Seed]) -> Seed:
    names = sorted(seeds)
    return seeds[rng.choices(names, [seeds[n].weight for n in names])[0]]


def model_case(seed: int, seeds: dict[str, Seed] | None = None, names: list[str] | None = None,
               seed_name: str | None = None) -> Case:
    """A mutated model for ``hwsim estimate`` (with --json, sometimes --csv and --allow-unsupported)."""
    rng = random.Random(f"model:{seed}")
    seeds = seeds or SEEDS
    s = seeds[seed_name] if seed_name else _pick_seed(rng, seeds)
    data, descs, proto = mutate_model(build_seed(s), seed, names=names)
    argv = ["estimate", "model.onnx", *_pins(s, proto), "--json", "report.json"]
    if rng.random() < 0.3:
        argv += ["--csv", "layers.csv"]
    if rng.random() < 0.25:
        argv.append("--allow-unsupported")
    if rng.random() < 0.15:
        argv += ["--dataflow", rng.choice(["os", "is"])]
    return Case("model", seed, f"{s.name}: " + "; ".join(descs), argv, {"model.onnx": data},
                meta={"seed_model": s.name, "family": descs[0].split(":")[0] if descs else ""})


def npy_bytes(a: np.ndarray) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def seed_inputs(s: Seed, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Valid inputs for the unmutated seed (pins resolve dynamic dims)."""
    m = build_seed(s)
    inits = {t.name for t in m.graph.initializer}
    out = {}
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        pin = s.pins.get(vi.name)
        dims = [int(x) for x in pin.split("x")] if pin else [d.dim_value for d in tt.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        if dtype.kind == "f":
            a = rng.standard_normal(dims).astype(dtype)
        elif vi.name == "attention_mask":
            a = np.ones(dims, dtype)
        elif dtype.kind in "iu":
            hi = 64 if "input_ids" in vi.name else (256 if dtype.kind == "u" else 100)
            a = rng.integers(0, hi, dims).astype(dtype)
        else:
            a = np.zeros(dims, dtype)
        out[vi.name] = a
    return out


def run_case_for(seed: int, names: list[str] | None = None, seed_name: str | None = None) -> Case:
    """A mutated model with weights for ``hwsim run`` (its unmutated seed's inputs, fp32 or int8)."""
    rng = random.Random(f"run:{seed}")
    s = RUN_SEEDS[seed_name] if seed_name else _pick_seed(rng, RUN_SEEDS)
    data, descs, proto = mutate_model(build_seed(s), f"run:{seed}", names=names)
    files = {"model.onnx": data}
    argv = ["run", "model.onnx"]
    for name, a in seed_inputs(s, np.random.default_rng(seed)).items():
        fname = f"in_{len(files)}.npy"
        files[fname] = npy_bytes(a)
        argv += ["--input", f"{name}={fname}"]
    argv += ["--output", "out.npz"]
    if rng.random() < 0.4:
        argv += ["--precision", "int8", "--report", "report.json"]
    return Case("run", seed, f"{s.name}: " + "; ".join(descs), argv, files,
                meta={"seed_model": s.name, "family": descs[0].split(":")[0] if descs else ""})

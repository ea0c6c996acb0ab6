"""ONNX import: bad files, input pinning, weights absent, shape folding, control flow, unknown ops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from compiler import lower_model
from compiler.importer import load_model, parse_input_shape, parse_input_shapes
from compiler.lowering import lower
from compiler.passes import default_pipeline
from compiler.zoo import bert, mobilenet_v2, ocr_det, ocr_rec, resnet18
from hwsim.core.errors import UserError

from .helpers import model, ort_session, weight


def _error(fn, *args, **kwargs) -> str:
    with pytest.raises(UserError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message
    return message


# ------------------------------------------------------------------------------------ bad files


def test_missing_file(tmp_path: Path):
    assert "no such file" in _error(load_model, tmp_path / "nope.onnx")


def test_directory(tmp_path: Path):
    assert "directory" in _error(load_model, tmp_path)


def test_garbage_bytes(tmp_path: Path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert str(path) in _error(load_model, path)


@pytest.mark.parametrize("content", [b"", b"hello world\n", helper.make_tensor("t", 1, [1], [0.0]).SerializeToString()])
def test_not_an_onnx_model(tmp_path: Path, content: bytes):
    path = tmp_path / "other.onnx"
    path.write_bytes(content)
    assert "ONNX" in _error(load_model, path)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path: Path, fraction: float):
    full = tmp_path / "full.onnx"
    onnx.save(resnet18(), full)
    data = full.read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: int(len(data) * fraction)])
    assert str(cut) in _error(load_model, cut)


@pytest.mark.parametrize("builder, pins", [(resnet18, {}), (lambda: bert(layers=1, hidden=32, heads=2, vocab=20),
                                                          {"input_ids": (1, 8)})])
def test_corrupted_bytes_give_a_user_error_or_a_model(builder, pins):
    """Random byte flips that still parse as protobuf must never escape as another exception."""
    data = builder().SerializeToString()
    rng = np.random.default_rng(3)
    outcomes = set()
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(int(rng.integers(1, 6))):
            damaged[int(rng.integers(0, len(damaged)))] = int(rng.integers(0, 256))
        try:
            m = onnx.ModelProto.FromString(bytes(damaged))
        except Exception:  # noqa: BLE001 - the file check above covers unparsable bytes
            continue
        try:
            lower_model(m, input_shapes=pins, allow_unsupported=True)
            outcomes.add("ok")
        except UserError as exc:
            assert "\n" not in str(exc)
            outcomes.add("error")
    assert outcomes == {"ok", "error"}


def test_incomplete_graph_names_the_missing_value():
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r"), helper.make_node("Add", ["y", "ghost"], ["z"], name="a")],
              {"x": [1, 4]}, ["z"])
    message = _error(load_model, m)
    assert "'ghost'" in message and "Add node 'a'" in message


# --------------------------------------------------------------------------------- input pinning


@pytest.mark.parametrize("text, expected", [
    ("input=1x3x224x224", ("input", (1, 3, 224, 224))),
    ("input_ids=1X128", ("input_ids", (1, 128))),
    ("a=b=7", ("a=b", (7,))),
    ("scalar=", ("scalar", ())),
])
def test_parse_input_shape(text, expected):
    assert parse_input_shape(text) == expected


@pytest.mark.parametrize("text", ["input", "=1x3", "x=1x", "x=1xax3", "x=0x3", "x=-1x3", "x=1,3", "x= 1x3"])
def test_parse_input_shape_rejects_malformed_values(text):
    assert "--input-shape" in _error(parse_input_shape, text)


def test_parse_input_shapes_rejects_repeats():
    assert parse_input_shapes(["a=1", "b=2x2"]) == {"a": (1,), "b": (2, 2)}
    assert "twice" in _error(parse_input_shapes, ["a=1", "a=2"])


def test_unpinned_dynamic_input_names_it_and_suggests_the_flag():
    message = _error(load_model, ocr_det())
    assert "input 'x'" in message and "--input-shape x=" in message


@pytest.mark.parametrize("dim", [-1, 0, "?", "N", None])
def test_every_placeholder_form_is_dynamic(dim):
    m = model([helper.make_node("Relu", ["x"], ["y"])], {"x": [dim, 8]}, ["y"])
    assert "input 'x'" in _error(load_model, m)
    assert load_model(m, input_shapes={"x": (3, 8)}).shape("y") == (3, 8)


def test_unknown_input_name_lists_the_inputs():
    message = _error(load_model, resnet18(), input_shapes={"image": (1, 3, 224, 224)})
    assert "'image'" in message and "input" in message.split(":")[-1]


def test_wrong_rank():
    assert "rank" in _error(load_model, resnet18(), input_shapes={"input": (1, 3, 224)})


def test_pinned_dims_must_be_positive():
    assert "positive" in _error(load_model, resnet18(), input_shapes={"input": (1, 3, 0, 224)})


def test_symbols_pinned_on_one_input_pin_the_others():
    g = load_model(bert(layers=1, hidden=32, heads=2, vocab=20), input_shapes={"input_ids": (2, 9)})
    assert g.shape("attention_mask") == (2, 9)
    assert g.shape("last_hidden_state") == (2, 9, 32)


def test_pinning_overrides_a_static_batch():
    assert lower_model(resnet18(), input_shapes={"input": (4, 3, 224, 224)}).macs == 4 * lower_model(resnet18()).macs


# ---------------------------------------------------------------------------- weights absent


@pytest.mark.parametrize("builder, pins", [
    (lambda w: mobilenet_v2(weights=w, image=64, num_classes=10), {}),
    (lambda w: ocr_rec(weights=w, width=64, num_classes=30), {"x": (1, 3, 48, 64)}),  # Constant-node weights
    (lambda w: bert(weights=w, layers=1, hidden=64, heads=2, vocab=300), {"input_ids": (1, 7)}),
])
def test_external_weights_with_the_data_file_deleted_estimate_like_the_full_model(tmp_path, builder, pins):
    full = builder(True)
    path = tmp_path / "model.onnx"
    copy = onnx.ModelProto()
    copy.CopyFrom(full)  # onnx.save converts the tensors it externalizes in place
    onnx.save(copy, path, save_as_external_data=True, all_tensors_to_one_file=True, location="model.data",
              convert_attribute=True)
    data = tmp_path / "model.data"
    assert data.stat().st_size > 100_000
    with_data = load_model(path, input_shapes=pins, load_weights=True)
    data.unlink()
    # The same workloads; the file's model is named after the file (the in-memory one after its graph).
    assert lower_model(path, input_shapes=pins).workloads == lower_model(full, input_shapes=pins).workloads
    assert lower_model(path, input_shapes=pins).name == "model"
    bare = load_model(path, input_shapes=pins)
    assert bare.tensors == load_model(full, input_shapes=pins).tensors
    assert "model.data" in _error(load_model, path, input_shapes=pins, load_weights=True)
    # With the file present, load_weights reads every weight:
    inline = load_model(full, input_shapes=pins, load_weights=True)
    assert all(np.array_equal(with_data.constants[k], inline.constants[k]) for k in inline.constants)
    assert set(with_data.weights) == set(inline.weights) and set(inline.weights) <= set(inline.constants)


# ------------------------------------------------------------------------- shape arithmetic


def test_pytorch_expand_and_view_chains_fold_to_static_shapes():
    """x.expand(B, -1, -1) and x.view(x.size(0), x.size(1) // 2, -1) as torch.onnx writes them."""
    i64 = lambda v, name: helper.make_tensor(name, TensorProto.INT64, [len(v)], v)  # noqa: E731
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["b"], axis=0),
        helper.make_node("Unsqueeze", ["b", "axes0"], ["b1"]),
        helper.make_node("Concat", ["b1", "m1", "m1"], ["target"], axis=0),
        helper.make_node("ConstantOfShape", ["three"], ["ones"], value=helper.make_tensor("v", TensorProto.INT64, [1], [1])),
        helper.make_node("Mul", ["ones", "m1"], ["neg"]),
        helper.make_node("Equal", ["target", "neg"], ["is_neg"]),
        helper.make_node("Where", ["is_neg", "ones", "target"], ["shape"]),
        helper.make_node("Expand", ["tok", "shape"], ["toks"]),
        helper.make_node("Gather", ["s", "one"], ["c"], axis=0),
        helper.make_node("Div", ["c", "two"], ["half"]),
        helper.make_node("Cast", ["half"], ["half_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["half_f"], ["half_i"], to=TensorProto.INT64),
        helper.make_node("Unsqueeze", ["half_i", "axes0"], ["h1"]),
        helper.make_node("Concat", ["b1", "h1", "m1"], ["view"], axis=0),
        helper.make_node("Reshape", ["x", "view"], ["y"]),
        helper.make_node("Range", ["zero", "c", "one"], ["r"]),
        helper.make_node("Shape", ["r"], ["rs"]),
        helper.make_node("Reshape", ["y", "rs"], ["flat"]),  # fails unless Range folded: 6 != 2*3*4
    ]
    m = model(nodes[:-1], {"x": ["B", 6, 4]}, ["toks", "y", "r"], inits={
        "zero": np.int64(0), "one": np.int64(1), "two": np.int64(2), "axes0": np.array([0], np.int64),
        "m1": np.array([-1], np.int64), "three": np.array([3], np.int64), "tok": weight(1, 1, 5)})
    g = default_pipeline(load_model(m, input_shapes={"x": (3, 6, 4)}))
    assert g.shape("toks") == (3, 1, 5) and g.shape("y") == (3, 3, 8) and g.shape("r") == (6,)
    assert [n.op_type for n in g.nodes] == ["Reshape"]  # Expand of a constant and Range fold too
    assert np.array_equal(g.constants["r"], np.arange(6))
    assert g.is_constant("toks")


def test_unsorted_nodes_are_sorted():
    nodes = [helper.make_node("Relu", ["a"], ["b"], name="second"), helper.make_node("Neg", ["x"], ["a"], name="first")]
    g = load_model(model(nodes, {"x": [2, 2]}, ["b"]))
    assert [n.name for n in g.nodes] == ["first", "second"]


def test_unnamed_and_duplicate_node_names_become_unique():
    nodes = [helper.make_node("Neg", ["x"], ["a"]), helper.make_node("Neg", ["a"], ["b"], name="n"),
             helper.make_node("Neg", ["b"], ["c"], name="n")]
    g = load_model(model(nodes, {"x": [2]}, ["c"]))
    assert len({n.name for n in g.nodes}) == 3


def test_operators_without_our_rule_use_onnx_inference():
    nodes = [helper.make_node("Einsum", ["q", "k"], ["s"], equation="bhqd,bhkd->bhqk"),
             helper.make_node("Det", ["sq"], ["d"])]
    g = load_model(model(nodes, {"q": [2, 3, 5, 8], "k": [2, 3, 7, 8], "sq": [4, 3, 3]}, ["s", "d"]))
    assert g.shape("s") == (2, 3, 5, 7) and g.shape("d") == (4,)


# ----------------------------------------------------------------------------- control flow


def _if_model(cond_is_input: bool) -> onnx.ModelProto:
    then = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])
    other = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("ReduceProd", ["s"], ["n"], keepdims=0),
             helper.make_node("Greater", ["n", "limit"], ["big"]),
             helper.make_node("If", ["flag" if cond_is_input else "big"], ["y"], name="branch",
                              then_branch=then, else_branch=other)]
    inputs = {"x": [2, 4], **({"flag": []} if cond_is_input else {})}
    return model(nodes, inputs, ["y"], inits={"w": weight(4, 6), "limit": np.int64(100)},
                 input_types={"flag": TensorProto.BOOL})


def test_if_with_a_foldable_condition_is_inlined():
    lowered = lower_model(_if_model(False))
    assert [w.op for w in lowered.workloads] == ["MatMul"]  # 8 elements <= 100: the else branch
    assert lowered.workloads[0].gemm.n == 6


def test_if_with_a_runtime_condition_is_an_error():
    message = _error(load_model, _if_model(True))
    assert "If node 'branch'" in message and "condition" in message


def _loop_model(trips_is_input: bool) -> onnx.ModelProto:
    """for i in range(3): v = v @ w * i; scan out relu(v)."""
    vi = helper.make_tensor_value_info
    body = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
         helper.make_node("MatMul", ["v", "w"], ["vw"]),
         helper.make_node("Mul", ["vw", "fi"], ["v_out"]),
         helper.make_node("Relu", ["v_out"], ["r"]),
         helper.make_node("Identity", ["c"], ["c_out"])],
        "body", [vi("i", TensorProto.INT64, []), vi("c", TensorProto.BOOL, []), vi("v", TensorProto.FLOAT, None)],
        [vi("c_out", TensorProto.BOOL, []), vi("v_out", TensorProto.FLOAT, None), vi("r", TensorProto.FLOAT, None)])
    loop = helper.make_node("Loop", ["trips", "", "x"], ["y", "scan"], name="steps", body=body)
    inputs = {"x": [2, 4], **({"trips": []} if trips_is_input else {})}
    inits = {"w": weight(4, 4), **({} if trips_is_input else {"trips": np.int64(3)})}
    return model([loop], inputs, ["y", "scan"], inits=inits, input_types={"trips": TensorProto.INT64})


def test_loop_with_a_constant_trip_count_is_unrolled():
    m = _loop_model(False)
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    y, scan = ort_session(m).run(None, {"x": x})
    graph = load_model(m)
    assert graph.shape("y") == y.shape == (2, 4) and graph.shape("scan") == scan.shape == (3, 2, 4)
    lowered = lower_model(m)
    assert [w.op for w in lowered.workloads].count("MatMul+Mul") == 3 and lowered.macs == 3 * 2 * 4 * 4


def test_loop_with_a_runtime_trip_count_is_an_error_naming_the_node():
    message = _error(load_model, _loop_model(True))
    assert "Loop node 'steps'" in message and "trip count" in message


# ------------------------------------------------------------------------------ unknown ops


def _custom_op_model(declare: bool) -> onnx.ModelProto:
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("FancyNorm", ["a"], ["b"], name="fancy", domain="com.example"),
             helper.make_node("MatMul", ["b", "w"], ["y"])]
    info = [helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 8])] if declare else []
    m = model(nodes, {"x": [2, 8]}, ["y"], inits={"w": weight(8, 3)}, value_info=info)
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    return m


def test_unknown_op_without_declared_shape_is_an_error():
    message = _error(load_model, _custom_op_model(False))
    assert "FancyNorm node 'fancy'" in message


def test_unknown_op_with_declared_shape_stops_lowering_unless_allowed():
    graph = default_pipeline(load_model(_custom_op_model(True)))
    message = _error(lower, graph)
    assert "FancyNorm" in message and "'fancy'" in message and "--allow-unsupported" in message
    lowered = lower(graph, allow_unsupported=True)
    assert [str(s) for s in lowered.skipped] == ["FancyNorm fancy"]
    assert lowered.skipped[0].reason == "unsupported operator (see docs/ops.md) in domain 'com.example'"
    assert [w.op for w in lowered.workloads] == ["Relu", "MatMul"] and lowered.macs == 2 * 8 * 3

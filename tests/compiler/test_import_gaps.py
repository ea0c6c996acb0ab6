"""Import gaps found from outside (ONNX backend data, NumPy 2): each with the behaviour it now has."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import hwsim
from compiler import lower_model, parse_input_values
from hwsim.cli import main
from hwsim.core.errors import UserError

from .helpers import model, weight


def _save(m: onnx.ModelProto, path: Path) -> Path:
    onnx.save(m, path)
    return path


def test_opset6_prelu_takes_one_slope_per_channel(tmp_path: Path) -> None:
    # Opset 6 PRelu: a slope of shape (C,) applies along axis 1, not numpy's last axis.
    slope = np.array([0.1, 0.2, 0.3], np.float32)
    m = model([helper.make_node("PRelu", ["x", "s"], ["y"])], {"x": [1, 3, 2, 2]}, ["y"], inits={"s": slope}, opset=6)
    m.ir_version = 3
    x = -np.ones((1, 3, 2, 2), np.float32)
    y = next(iter(hwsim.run(_save(m, tmp_path / "p.onnx"), {"x": x}).outputs.values()))
    assert y[0, :, 0, 0].tolist() == pytest.approx([-0.1, -0.2, -0.3])
    # Opset 7 broadcasts numpy-style: the same slope against a last axis of 3.
    m7 = model([helper.make_node("PRelu", ["x", "s"], ["y"])], {"x": [1, 2, 3]}, ["y"], inits={"s": slope}, opset=7)
    y7 = next(iter(hwsim.run(m7, {"x": -np.ones((1, 2, 3), np.float32)}).outputs.values()))
    assert y7[0, 1].tolist() == pytest.approx([-0.1, -0.2, -0.3])


def _sequence_model(dependent: bool) -> onnx.ModelProto:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"),
             helper.make_node("SequenceConstruct", ["x", "x"], ["s"], name="pack"),
             helper.make_node("SequenceLength", ["s"], ["n"], name="count")]
    outputs = ["y", "n"]
    if dependent:
        nodes.append(helper.make_node("Cast", ["n"], ["nf"], name="cast", to=TensorProto.FLOAT))
        outputs = ["y", "nf"]
    return model(nodes, {"x": [4, 8]}, outputs, inits={"w": weight(8, 5)})


def test_sequence_ops_are_named_unsupported_and_skippable() -> None:
    with pytest.raises(UserError, match=r"SequenceConstruct node 'pack': unsupported \(a sequence.*--allow-unsupported"):
        lower_model(_sequence_model(False))
    lowered = lower_model(_sequence_model(False), allow_unsupported=True)
    assert [(s.op, s.name) for s in lowered.skipped] == [("SequenceConstruct", "pack"), ("SequenceLength", "count")]
    assert [w.op for w in lowered.workloads] == ["MatMul"] and lowered.macs == 4 * 8 * 5


def test_a_tensor_that_depends_on_a_skipped_sequence_is_an_error() -> None:
    with pytest.raises(UserError, match=r"Cast node 'cast': reads 'n', an output of the unsupported SequenceLength"):
        lower_model(_sequence_model(True), allow_unsupported=True)


def _expand_model() -> onnx.ModelProto:
    return model([helper.make_node("Expand", ["x", "shape"], ["y"], name="grow")], {"x": [3, 1], "shape": [2]},
                 ["y"], input_types={"shape": TensorProto.INT64})


def test_expand_with_a_runtime_shape_names_the_input_and_how_to_pin_it(tmp_path: Path, capsys) -> None:
    path = _save(_expand_model(), tmp_path / "expand.onnx")
    assert main(["estimate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Expand node 'grow'" in err and "--input-value shape=1,3" in err
    assert main(["estimate", str(path), "--input-value", "shape=3,4", "--json", "-"]) == 0
    assert '"dram_write_bytes": 12' in capsys.readouterr().out  # a 3x4 output at gemmini-like's 1 byte each


def test_input_values_parse_and_reject_bad_text() -> None:
    assert parse_input_values(["s=1,3,224,224"])["s"].tolist() == [1, 3, 224, 224]
    with pytest.raises(UserError, match="numbers separated by ','"):
        parse_input_values(["s=1,x"])
    with pytest.raises(UserError, match="names input 's' twice"):
        parse_input_values(["s=1", "s=2"])


def _string_model() -> onnx.ModelProto:
    return model([helper.make_node("Identity", ["x"], ["y"])], {"x": [2]}, ["y"], input_types={"x": TensorProto.STRING})


def test_string_inputs_from_a_text_npy_and_a_numpy2_hint(tmp_path: Path, capsys) -> None:
    path = _save(_string_model(), tmp_path / "s.onnx")
    np.save(tmp_path / "text.npy", np.array(["ab", "c"]))
    assert main(["run", str(path), "--input", f"x={tmp_path / 'text.npy'}"]) == 0
    assert capsys.readouterr().out == "y: object 2\n"
    np.save(tmp_path / "obj.npy", np.array(["ab", "c"], dtype=object), allow_pickle=True)
    assert main(["run", str(path), "--input", f"x={tmp_path / 'obj.npy'}"]) == 2
    err = capsys.readouterr().err
    assert "np.object" not in err and "numpy.array(values, dtype=str)" in err
    np.save(tmp_path / "num.npy", np.ones(2, np.float32))
    assert main(["run", str(path), "--input", f"x={tmp_path / 'num.npy'}"]) == 2
    assert "expected strings, got float32" in capsys.readouterr().err


def test_an_empty_input_says_so_without_inventing_a_flag(tmp_path: Path, capsys) -> None:
    path = _save(model([helper.make_node("Relu", ["x"], ["y"])], {"x": ["n", 3]}, ["y"]), tmp_path / "r.onnx")
    np.save(tmp_path / "e.npy", np.zeros((0, 3), np.float32))
    assert main(["run", str(path), "--input", f"x={tmp_path / 'e.npy'}"]) == 2
    err = capsys.readouterr().err
    assert "the array is empty (shape 0x3)" in err and "--input-shape" not in err


def test_a_file_is_named_after_the_file_not_its_graph(tmp_path: Path) -> None:
    m = _expand_model()
    m.graph.name = "main_graph"  # what every PyTorch export is called
    assert lower_model(_save(m, tmp_path / "my_net.onnx"), input_values={"shape": np.array([3, 2])}).name == "my_net"
    assert lower_model(m, input_values={"shape": np.array([3, 2])}).name == "main_graph"

"""A Concat written in place (compiler/lowering.py ``in_place_concats``, docs/model.md#workloads): its
producers store their slices of one tensor, the Concat moves nothing, and residency places the tensor
once, for its whole size."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from compiler import lower_model, schedule_model
from compiler.codegen import codegen
from hwsim.core.config import AcceleratorConfig, preset
from hwsim.core.errors import UserError
from hwsim.core.isa import EPILOGUE_FAMILIES
from hwsim.core.workload import Kind
from hwsim.execute import compile_for_run
from hwsim.simulate import simulate

#: int8, 256 KiB of activation buffer, 8 B a cycle from DRAM.
CFG = AcceleratorConfig(name="concat-test", rows=16, cols=16, dataflow="ws", input_bits=8, weight_bits=8, acc_bits=32,
                        ifmap_kib=256, filter_kib=64, ofmap_kib=64, dram_gbps=8.0, clock_mhz=1000.0, residency=False)


def _inception(branches: list[int], c: int = 8, side: int = 10, out: int = 8, extra_reader: bool = False,
               from_input: bool = False) -> onnx.ModelProto:
    """``x`` (``c`` channels, ``side`` x ``side``) -> one 1x1 Conv per branch (``branches`` output
    channels each) -> Concat on channels -> a 1x1 Conv to ``out`` channels. ``extra_reader``: the
    first branch is also a graph output through a Relu; ``from_input``: ``x`` itself is a slice."""
    nodes, weights, parts = [], [], []
    for i, k in enumerate(branches):
        weights.append(numpy_helper.from_array(np.zeros((k, c, 1, 1), np.float32), f"w{i}"))
        nodes.append(helper.make_node("Conv", ["x", f"w{i}"], [f"b{i}"], name=f"branch{i}"))
        parts.append(f"b{i}")
    if from_input:
        parts.append("x")
    total = sum(branches) + (c if from_input else 0)
    nodes.append(helper.make_node("Concat", parts, ["cat"], name="cat", axis=1))
    weights.append(numpy_helper.from_array(np.zeros((out, total, 1, 1), np.float32), "wo"))
    nodes.append(helper.make_node("Conv", ["cat", "wo"], ["y"], name="head"))
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, out, side, side])]
    if extra_reader:
        nodes.append(helper.make_node("Relu", ["b0"], ["side"], name="side"))
        outputs.append(helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, branches[0], side, side]))
    g = helper.make_graph(nodes, "inception", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, side, side])],
                          outputs, weights)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_hand_counted_in_place_concat() -> None:
    # 8 -> 16 + 16 channels over 10 x 10, concatenated, then 32 -> 8. Each branch reads x (800 B) and
    # its 128 B of weights and writes its 1,600 B slice of "cat"; the head reads all 3,200 B of it.
    # No Concat layer: nothing is read or written twice.
    program = schedule_model(lower_model(_inception([16, 16])), CFG)
    layers = [s for s in program.layers if s.workload.kind is not Kind.VIEW]
    assert [s.workload.name for s in layers] == ["branch0", "branch1", "head"]
    a, b, head = layers
    assert [(p.name, p.bytes) for p in a.writes] == [("cat", 1600)] == [(p.name, p.bytes) for p in b.writes]
    assert [(p.name, p.bytes) for p in head.reads] == [("cat", 3200)]
    moved = sum(s.traffic.dram_read + s.traffic.dram_write for s in layers)
    assert moved == 2 * (800 + 128 + 1600) + 3200 + 256 + 800


@pytest.mark.parametrize("kind", ["extra_reader", "from_input"])
def test_a_concat_whose_slice_is_read_elsewhere_or_is_an_input_moves_its_data(kind: str) -> None:
    # The first branch is also read by a Relu (or x itself is a slice): the Concat reads its inputs and
    # writes its result, 2 x 3,200 B (2 x 4,000 B with x's 800 B as a slice).
    model = _inception([16, 16], **{kind: True})
    program = schedule_model(lower_model(model), CFG)
    cat = next(s for s in program.layers if s.workload.name == "cat")
    size = 3200 if kind == "extra_reader" else 4000
    assert cat.workload.kind is Kind.MOVE
    assert cat.traffic.dram_read + cat.traffic.dram_write == 2 * size


def test_a_resident_concat_stays_on_chip_whole() -> None:
    # With residency the first branch places "cat" on chip for its 3,200 B; the second writes its
    # slice there; the head reads it on chip. Only x, the weights and y touch DRAM.
    program = schedule_model(lower_model(_inception([16, 16])), CFG.replace(residency=True))
    a, b, head = [s for s in program.layers if s.workload.kind is not Kind.VIEW]
    assert [(p.on_chip, p.dram) for p in a.writes + b.writes] == [(True, False), (True, False)]
    assert [(p.on_chip, p.dram) for p in head.reads] == [(True, False)]
    assert a.resident_bytes >= 3200 and b.resident_bytes >= 3200
    moved = sum(s.traffic.dram_read + s.traffic.dram_write for s in (a, b, head))
    assert moved == 2 * (800 + 128) + 256 + 800


def test_the_accelerator_code_still_refuses_a_concat() -> None:
    # The RTL's programs do not write slices: a Concat in place is the model's view, not its code's.
    cfg = preset("fpga-edge").replace(residency=False, conv_reduction="per_tap", store_path=EPILOGUE_FAMILIES)
    compiled = compile_for_run(_inception([16, 16]), cfg)
    with pytest.raises(UserError, match="Concat would need a vector unit") as e:
        codegen(compiled.graph, compiled.program)
    assert "\n" not in str(e.value)


@settings(max_examples=40, deadline=None)
@given(branches=st.lists(st.integers(1, 96), min_size=2, max_size=4), side=st.integers(2, 24),
       ifmap_kib=st.sampled_from([1.0, 4.0, 16.0, 256.0]), shared=st.booleans(), residency=st.booleans())
def test_in_place_concats_hold_the_buffer_and_the_bytes(branches: list[int], side: int, ifmap_kib: float,
                                                        shared: bool, residency: bool) -> None:
    cfg = CFG.replace(ifmap_kib=ifmap_kib, filter_kib=8.0, shared_buffer=shared, residency=residency)
    model = _inception(branches, side=side)
    program = schedule_model(lower_model(model), cfg)
    layers = [s for s in program.layers if s.workload.kind is not Kind.VIEW]
    whole = sum(branches) * side * side
    for s in layers:
        assert s.resident_bytes <= cfg.activation_buffer_bytes
        assert s.traffic.dram_read + s.traffic.dram_write >= s.compulsory_bytes
    # Every branch writes its own slice once; the slices make the tensor the head reads whole.
    assert sum(p.bytes for s in layers[:-1] for p in s.writes) == whole
    assert [p.bytes for p in layers[-1].reads] == [whole]
    # The head reads the tensor from wherever the branches left it: on chip only if every slice is.
    (read,) = layers[-1].reads
    slices = [p for s in layers[:-1] for p in s.writes]
    if read.on_chip:
        assert all(p.on_chip for p in slices)
    if not all(p.on_chip for p in slices):
        assert read.dram and all(p.dram for p in slices)
    assert simulate(program).totals.macs == sum(k * 8 + 8 * k for k in branches) * side * side


def _interleaved(big: int = 64) -> onnx.ModelProto:
    """``x`` (8 channels, 10 x 10) -> branch0 (16 channels); ``x`` -> big (``big`` channels) ->
    branch1 (16 channels); Concat -> head (8 channels): a layer between the two slices of "cat"."""
    def w(name: str, o: int, i: int) -> onnx.TensorProto:
        return numpy_helper.from_array(np.zeros((o, i, 1, 1), np.float32), name)
    nodes = [helper.make_node("Conv", ["x", "w0"], ["b0"], name="branch0"),
             helper.make_node("Conv", ["x", "wb"], ["y"], name="big"),
             helper.make_node("Conv", ["y", "w1"], ["b1"], name="branch1"),
             helper.make_node("Concat", ["b0", "b1"], ["cat"], name="cat", axis=1),
             helper.make_node("Conv", ["cat", "wo"], ["z"], name="head")]
    g = helper.make_graph(nodes, "interleaved", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 10, 10])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 8, 10, 10])],
                          [w("w0", 16, 8), w("wb", big, 8), w("w1", 16, big), w("wo", 8, 32)])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_a_concat_evicted_half_written_spills_only_its_written_half() -> None:
    # 8 KiB of buffer: "cat" holds 3,200 B from branch0 on, of which branch0 wrote 1,600. big's 6,400 B
    # "y" is read first (by branch1), so "cat" leaves for it: the spill writes the 1,600 B written,
    # branch1 writes its 1,600 B to DRAM, and the head reads 3,200 B back. "cat" is written once.
    program = schedule_model(lower_model(_interleaved()), CFG.replace(residency=True, ifmap_kib=8.0))
    layers = {s.workload.name: s for s in program.layers if s.workload.kind is not Kind.VIEW}
    assert [(p.name, p.bytes) for p in layers["big"].spills] == [("cat", 1600)]
    assert [(p.on_chip, p.dram) for p in layers["branch1"].writes] == [(False, True)]
    assert [(p.bytes, p.on_chip) for p in layers["head"].reads] == [(3200, False)]
    written = sum(p.bytes for s in layers.values() for p in s.spills + s.writes if p.name == "cat" and p.dram)
    assert written == 3200


def test_nothing_is_evicted_for_a_tensor_that_cannot_fit_anyway() -> None:
    # 6 KiB of buffer: "y" (6,400 B) cannot be on chip even alone, so "cat" is not evicted for it: y
    # goes to DRAM, the second slice joins the first on chip, and the head reads "cat" there.
    program = schedule_model(lower_model(_interleaved()), CFG.replace(residency=True, ifmap_kib=6.0))
    layers = {s.workload.name: s for s in program.layers if s.workload.kind is not Kind.VIEW}
    assert all(not s.spills for s in layers.values())
    assert [(p.name, p.on_chip, p.dram) for p in layers["big"].writes] == [("y", False, True)]
    assert [(p.on_chip, p.dram) for p in layers["branch1"].writes] == [(True, False)]
    assert [(p.bytes, p.on_chip) for p in layers["head"].reads] == [(3200, True)]

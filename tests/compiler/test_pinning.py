"""Pinned mappings (compiler/pinning.py, docs/model.md#pinned-mappings): a user's DRAM-level loops,
one call per iteration, each loading its operands; hwsim's search inside each call."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from compiler import as_mapping, lower_model, schedule_model
from compiler.mapping import Operands, map_gemm
from compiler.pinning import LoopNest, map_pinned
from hwsim.cli import main
from hwsim.core.config import AcceleratorConfig
from hwsim.report import SCHEMA
from hwsim.simulate import simulate

#: int8 operands, a shared 256 KiB scratchpad: every call below fits on chip whole.
CFG = AcceleratorConfig(name="pin-test", rows=16, cols=16, dataflow="ws", input_bits=8, weight_bits=8, acc_bits=32,
                        shared_buffer=True, ifmap_kib=128, filter_kib=128, ofmap_kib=64, dram_gbps=8.0,
                        clock_mhz=1000.0, residency=False)


def _conv(c: int, k: int, h: int, w: int, kernel: int = 3, stride: int = 1, pad: int = 0,
          name: str = "conv") -> onnx.ModelProto:
    """One Conv without bias: ``c`` -> ``k`` channels over an ``h`` x ``w`` input."""
    out_h, out_w = (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1
    weight = numpy_helper.from_array(np.zeros((k, c, kernel, kernel), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name=name, kernel_shape=[kernel, kernel],
                            strides=[stride, stride], pads=[pad] * 4)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, w])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, k, out_h, out_w])], [weight])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _matmul(m: int, k: int, n: int) -> onnx.ModelProto:
    weight = numpy_helper.from_array(np.zeros((k, n), np.float32), "b")
    node = helper.make_node("MatMul", ["a", "b"], ["c"], name="fc")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [m, n])], [weight])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _layer(model: onnx.ModelProto, loops: str | None, cfg: AcceleratorConfig = CFG):
    lowered = lower_model(model)
    mapping = None if loops is None else as_mapping({lowered.workloads[0].name: loops})
    program = schedule_model(lowered, cfg, mapping=mapping)
    return program.layers[0], simulate(program).layers[0]


def test_hand_counted_calls_and_bytes() -> None:
    # 8 -> 32 channels, 3x3 over 10x10 (8x8 outputs). Q2 K4 S3: 2 x 4 x 3 = 24 calls. A call covers
    # 4 output rows x 8 columns, one kernel row, 8 of the 32 output channels: it reads 4 input rows
    # x 10 columns x 8 channels = 320 B and 1 x 3 taps x 8 x 8 channels = 192 B of weights.
    layer, result = _layer(_conv(8, 32, 10, 10), "Q2 K4 S3")
    assert layer.calls == 24 and result.calls == 24 and layer.loops == "Q2 K4 S3"
    assert layer.traffic.dram_read_ifmap == 24 * 320
    assert layer.traffic.dram_read_filter == 24 * 192
    assert layer.traffic.dram_write_ofmap == 8 * 8 * 32  # each result once, after its last call
    # The compulsory traffic is the layer's: 800 B of input, 2,304 of weights, 2,048 of outputs.
    assert layer.compulsory_bytes == 800 + 2304 + 2048
    assert sum(r.count * r.tile.macs for r in layer.runs) == 8 * 8 * 32 * 8 * 9


def _order(model: onnx.ModelProto, loops: str):
    lowered = lower_model(model)
    mapping = as_mapping({"reuse": "order", "layers": {lowered.workloads[0].name: {"loops": loops}}})
    return schedule_model(lowered, CFG, mapping=mapping).layers[0]


def test_reuse_by_loop_order() -> None:
    # The conv above (8 -> 32, 3x3, 8x8 outputs). Each call of "Q2 K4" reads 6 input rows x 10 x 8 =
    # 480 B and 3 x 3 x 8 x 8 = 576 B of weights. Without reuse all 8 calls load both. With reuse by
    # order the input stays across the inner K loop (2 windows), the weights come for every call.
    model = _conv(8, 32, 10, 10)
    none, _ = _layer(model, "Q2 K4")
    assert (none.traffic.dram_read_ifmap, none.traffic.dram_read_filter) == (8 * 480, 8 * 576)
    inner_k = _order(model, "Q2 K4")
    assert (inner_k.traffic.dram_read_ifmap, inner_k.traffic.dram_read_filter) == (2 * 480, 8 * 576)
    inner_q = _order(model, "K4 Q2")  # the weights stay across the inner Q loop instead
    assert (inner_q.traffic.dram_read_ifmap, inner_q.traffic.dram_read_filter) == (8 * 480, 4 * 576)
    assert inner_q.reuse == "order" and none.reuse == "none"
    # "S3 Q2": a reduction loop outside an output loop. Each of the 2 output tiles (4 x 8 pixels x 32
    # channels = 1,024 results) is visited 3 times: twice its partial sums (4 B each) go out and come
    # back. Input: 6 windows of 4 rows x 10 x 8 = 320 B; weights stay across Q: 3 x 768 B.
    split = _order(model, "S3 Q2")
    partial = 2 * 2 * 1024 * 4
    assert split.traffic.dram_read_ifmap == 6 * 320 + partial
    assert split.traffic.dram_read_filter == 3 * 3 * 8 * 32
    assert split.traffic.dram_write_ofmap == 8 * 8 * 32 + partial
    kept, _ = _layer(model, "S3 Q2")  # without reuse the partial sums wait in the accumulator
    assert kept.traffic.dram_write_ofmap == 8 * 8 * 32 and kept.traffic.dram_read_filter == 6 * 3 * 8 * 32


def test_padding_is_not_read() -> None:
    # pads 1: 10x10 outputs. Q2: outputs rows 0-4 read input rows -1..5 (0..5: 6 rows), rows 5-9 read 4..10
    # (4..9: 6 rows); every column (-1..10, clipped: 10). 2 calls x 6 x 10 x 4 channels.
    layer, _ = _layer(_conv(4, 16, 10, 10, pad=1), "Q2")
    assert layer.calls == 2
    assert layer.traffic.dram_read_ifmap == 2 * 6 * 10 * 4
    assert layer.traffic.dram_read_filter == 2 * 16 * 4 * 9


def test_strided_1x1_calls_read_the_pixels_they_use() -> None:
    # 1x1 stride 2 over 16x16: 8x8 outputs; P2 Q2: each call reads 4 x 4 pixels of 32 channels.
    layer, _ = _layer(_conv(32, 16, 16, 16, kernel=1, stride=2), "P2 Q2")
    assert layer.traffic.dram_read_ifmap == 4 * 4 * 4 * 32


def test_gemm_dimensions() -> None:
    # A GEMM is a 1x1 convolution: P = m, C = k, K = n. 64x96 @ 96x48, P2 C3 K2: 12 calls of
    # A 32x32 (1,024 B) and B 32x24 (768 B); the 64x48 result leaves once.
    layer, _ = _layer(_matmul(64, 96, 48), "P2 C3 K2")
    assert layer.calls == 12
    assert layer.traffic.dram_read_ifmap == 12 * 32 * 32
    assert layer.traffic.dram_read_filter == 12 * 32 * 24
    assert layer.traffic.dram_write_ofmap == 64 * 48


@pytest.mark.parametrize("model", [_conv(8, 32, 10, 10), _conv(16, 64, 18, 18, stride=2, pad=1), _matmul(200, 96, 80)])
def test_one_call_is_the_search(model: onnx.ModelProto) -> None:
    # Pinning nothing (one call: the whole layer) leaves the mapping to the search: the same cycles,
    # tiles and traffic as no mapping at all.
    searched, a = _layer(model, None)
    pinned, b = _layer(model, "")
    assert (a.compute_cycles, a.stall_cycles) == (b.compute_cycles, b.stall_cycles)
    assert searched.traffic == pinned.traffic and searched.runs == pinned.runs
    w = lower_model(model).workloads[0]
    ops = Operands(free_bytes=CFG.activation_buffer_bytes)
    assert map_pinned(w, CFG, ops, LoopNest(())).cycles == map_gemm(w, CFG, ops).cycles


_DIVS = {n: [d for d in range(1, n + 1) if n % d == 0] for n in range(1, 33)}


@st.composite
def _refinement(draw):
    c, k = draw(st.sampled_from([4, 8, 12, 16])), draw(st.sampled_from([8, 16, 24, 32]))
    kernel, stride = draw(st.sampled_from([1, 3])), draw(st.sampled_from([1, 2]))
    out = draw(st.sampled_from([4, 6, 8]))
    size = (out - 1) * stride + kernel
    dims = {"C": c, "K": k, "Q": out, "P": out, "S": kernel, "R": kernel}
    base, fine = [], []
    for d in draw(st.permutations(list(dims))):
        f = draw(st.sampled_from(_DIVS[dims[d]]))
        g = f * draw(st.sampled_from(_DIVS[dims[d] // f]))
        base.append(f"{d}{f}")
        fine.append(f"{d}{g}")
    reuse = draw(st.sampled_from(["none", "order"]))
    return _conv(c, k, size, size, kernel=kernel, stride=stride), " ".join(base), " ".join(fine), reuse


@settings(max_examples=50, deadline=None)
@given(_refinement())
def test_more_calls_never_move_fewer_bytes(case) -> None:
    # Refining a nest (each factor a multiple of the coarser one's, the order kept) cuts every call into
    # more calls: while each call fits on chip (CFG's scratchpad holds these), the bytes never fall,
    # with or without reuse between calls.
    model, base, fine, reuse = case
    name = lower_model(model).workloads[0].name
    coarse, finer = (schedule_model(lower_model(model), CFG, mapping=as_mapping(
        {"reuse": reuse, "layers": {name: {"loops": loops}}})).layers[0] for loops in (base, fine))
    assert finer.calls >= coarse.calls
    assert finer.traffic.dram_read >= coarse.traffic.dram_read
    assert finer.traffic.dram_write >= coarse.traffic.dram_write
    assert coarse.traffic.dram_read + coarse.traffic.dram_write >= coarse.compulsory_bytes


def _tiled(model: onnx.ModelProto, tiles: str, window: str = "touched", cfg: AcceleratorConfig = CFG):
    lowered = lower_model(model)
    mapping = as_mapping({"window": window, "layers": {lowered.workloads[0].name: {"tiles": tiles}}})
    program = schedule_model(lowered, cfg, mapping=mapping)
    return program.layers[0], simulate(program).layers[0]


def test_ragged_tiles_hand_counted() -> None:
    # 8 -> 32 channels, 3x3 over 10x10 (8x8 outputs), tiles K24 Q3: K in 24 + 8, Q in 3 + 3 + 2, so
    # 6 calls. A Q tile of 3 output rows reads 5 input rows, the last (2 rows) 4; each reads all 10
    # columns of 8 channels, once per K tile. Weights: 3 x 3 x 8 x 24 = 1,728 B and x 8 = 576 B, once
    # per Q tile.
    layer, result = _tiled(_conv(8, 32, 10, 10), "K24 Q3")
    assert layer.calls == 6 and result.calls == 6 and layer.loops == "tiles K24 Q3"
    assert layer.traffic.dram_read_ifmap == 2 * (5 + 5 + 4) * 10 * 8
    assert layer.traffic.dram_read_filter == 3 * (1728 + 576)
    assert layer.traffic.dram_write_ofmap == 8 * 8 * 32
    assert sum(r.count * r.tile.macs for r in layer.runs) == 8 * 8 * 32 * 8 * 9


def test_a_span_window_loads_the_rows_a_stride_skips() -> None:
    # 1x1 stride 2 over 16x16 (8x8 outputs), 32 channels, tiles Q4: 2 calls of 4 x 8 outputs. Touched,
    # a call reads those 4 x 8 pixels; as a span, every row and column from the first to the last it
    # reads: 7 rows x 15 columns.
    touched, _ = _tiled(_conv(32, 16, 16, 16, kernel=1, stride=2), "Q4")
    span, _ = _tiled(_conv(32, 16, 16, 16, kernel=1, stride=2), "Q4", window="span")
    assert touched.traffic.dram_read_ifmap == 2 * 4 * 8 * 32
    assert span.traffic.dram_read_ifmap == 2 * 7 * 15 * 32


def test_overlapping_steps_compute_the_overlap_again() -> None:
    # Q4:2 over 8 output rows: calls at rows 0, 2 and 4, 4 rows each, so 12 rows computed for 8. Each
    # call reads 6 input rows of 10 x 8; the results leave once.
    model = _conv(8, 32, 10, 10)
    stepped, slow = _tiled(model, "Q4:2")
    plain, fast = _tiled(model, "Q4")
    assert stepped.calls == 3 and plain.calls == 2 and stepped.loops == "tiles Q4:2"
    assert sum(r.count * r.tile.macs for r in stepped.runs) == 12 * 8 * 32 * 8 * 9
    assert stepped.traffic.dram_read_ifmap == 3 * 6 * 10 * 8
    assert stepped.traffic.dram_write_ofmap == plain.traffic.dram_write_ofmap == 8 * 8 * 32
    assert slow.compute_cycles > fast.compute_cycles


def test_short_rows_cost_a_dma_request_each() -> None:
    # 3 -> 16 channels, 3x3 over 10x10, one call, no double buffering, 64 B a cycle from DRAM and
    # requests of at most 64 B. Every input pixel is a 3-byte row: 100 requests; every (channel, tap)
    # row of weights 16 B: 27; every output pixel's 16 channels: 64. 191 requests move 1,756 B, which
    # the bandwidth alone would move in 28 cycles.
    cfg = CFG.replace(dram_gbps=64.0, double_buffer=False)
    model = _conv(3, 16, 10, 10)
    limited, slow = _tiled(model, "K16", cfg=cfg.replace(dma_request_bytes=64))
    free, fast = _tiled(model, "K16", cfg=cfg)
    assert limited.dma_requests == 100 + 27 + 64 and free.dma_requests == 0
    assert limited.traffic.dram_read + limited.traffic.dram_write == 300 + 432 + 1024
    assert (slow.stall_cycles, fast.stall_cycles) == (191, 28)
    # The search, which holds this layer in one tile of each operand, counts the same requests.
    searched, result = _layer(model, None, cfg.replace(dma_request_bytes=64))
    assert searched.dma_requests == 191 and result.stall_cycles == 191


@settings(max_examples=40, deadline=None)
@given(_refinement())
def test_tiles_that_divide_are_the_loops_they_name(case) -> None:
    # A tile size that divides its dimension is the loop of factor D / t: the same calls, the same
    # bytes and the same cycles, whether the file gives factors or tiles.
    model, _, loops, reuse = case
    lowered = lower_model(model)
    w = lowered.workloads[0]
    dims = {"C": w.window.c, "K": w.window.k, "Q": w.window.q, "P": w.window.p, "S": w.window.s, "R": w.window.r}
    tiles = " ".join(f"{word[0]}{dims[word[0]] // int(word[1:])}" for word in loops.split())
    by_loops, by_tiles = (simulate(schedule_model(lowered, CFG, mapping=as_mapping(
        {"reuse": reuse, "layers": {w.name: {key: text}}}))) for key, text in (("loops", loops), ("tiles", tiles)))
    a, b = by_loops.layers[0], by_tiles.layers[0]
    assert a == replace(b, loops=a.loops) and a.loops == loops and b.loops == "tiles " + tiles


@settings(max_examples=40, deadline=None)
@given(_refinement(), st.sampled_from([1, 2, 3]))
def test_a_span_loads_at_least_what_the_taps_touch(case, extra: int) -> None:
    # Ragged tiles (one more than each divisor, where the dimension allows): the span of a call's
    # window holds every position its taps touch, and equals it for a stride-1 call.
    model, _, loops, _ = case
    lowered = lower_model(model)
    w = lowered.workloads[0]
    size = {"C": w.window.c, "K": w.window.k, "Q": w.window.q, "P": w.window.p, "S": w.window.s, "R": w.window.r}
    tiles = " ".join(f"{d}{min(size[d], size[d] // int(n) + extra)}" for d, n in ((word[0], word[1:]) for word in loops.split()))
    touched, span = (schedule_model(lowered, CFG, mapping=as_mapping(
        {"window": window, "layers": {w.name: {"tiles": tiles}}})).layers[0] for window in ("touched", "span"))
    assert span.traffic.dram_read_ifmap >= touched.traffic.dram_read_ifmap
    if w.window.stride_h == 1:
        assert span.traffic.dram_read_ifmap == touched.traffic.dram_read_ifmap
    assert sum(r.count * r.tile.macs for r in span.runs) == w.gemm.m * w.gemm.k * w.gemm.n


def _estimate(tmp_path: Path, mapping_text: str, suffix: str = ".toml", *extra: str) -> tuple[int, Path]:
    model = tmp_path / "conv.onnx"
    onnx.save(_conv(8, 32, 10, 10, name="conv1"), model)
    mapping = tmp_path / f"map{suffix}"
    mapping.write_text(mapping_text, encoding="utf-8")
    out = tmp_path / "r.json"
    code = main(["estimate", str(model), "--preset", "gemmini-like", "--mapping", str(mapping), "--json", str(out),
                 *extra])
    return code, out


def test_cli_pins_and_reports_calls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _estimate(tmp_path, '[layers."conv1"]\nloops = "Q2 K4 S3"\n')
    assert code == 0
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    layer = report["layers"][0]
    assert layer["mapping"]["pinned"] == {"loops": "Q2 K4 S3", "calls": 24, "reuse": "none"}
    first = out.read_bytes()
    assert main(["estimate", str(tmp_path / "conv.onnx"), "--preset", "gemmini-like", "--mapping",
                 str(tmp_path / "map.toml"), "--json", str(out)]) == 0
    assert out.read_bytes() == first  # same input, byte-identical report
    table = capsys.readouterr().out
    assert "calls" in table and "24" in table
    code, _ = _estimate(tmp_path, '{"layers": {"conv1": {"loops": "Q2 K4 S3"}}}', ".json")
    assert code == 0


def test_csv_lists_each_layers_loops_and_calls(tmp_path: Path) -> None:
    csv_path = tmp_path / "r.csv"
    code, _ = _estimate(tmp_path, 'reuse = "order"\n[layers."conv1"]\nloops = "Q2 K4 S3"\n', ".toml",
                        "--csv", str(csv_path))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert [(r["name"], r["loops"], r["calls"]) for r in rows] == [("conv1", "Q2 K4 S3", "24"), ("TOTAL", "", "24")]
    # Without a mapping file the CSV keeps its columns as before: no loops, no calls.
    assert main(["estimate", str(tmp_path / "conv.onnx"), "--preset", "gemmini-like", "--csv", str(csv_path)]) == 0
    assert "calls" not in csv_path.read_text(encoding="utf-8").splitlines()[0].split(",")


@pytest.mark.parametrize("text, words", [
    ('[layers."conv2"]\nloops = "Q2"\n', "not a layer of the model"),
    ('[layers."conv1"]\nloops = "Q3"\n', "Q3 does not divide the layer's Q = 8"),
    ('[layers."conv1"]\nloops = "Q2 X4"\n', "is not a dimension letter and a factor"),
    ('[layers."conv1"]\nloops = "Q2 Q2"\n', "appears twice"),
    ('[layers."conv1"]\nloops = "Q0"\n', "at least 1"),
    ('[layers."conv1"]\norder = "Q2"\n', "give loops (factors) or tiles"),
    ('[layers."conv1"]\nloops = 4\n', "loops must be a string"),
    ('[layers."conv1"\nloops = "Q2"\n', "invalid TOML"),
    ('loops = "Q2"\n', "a table [layers]"),
    ('reuse = "some"\n[layers."conv1"]\nloops = "Q2"\n', 'choose "none"'),
    ('[layers."conv1"]\ntiles = "Q9"\n', "tile Q9 is larger than the layer's Q = 8"),
    ('[layers."conv1"]\ntiles = "K4:2"\n', "a step is given only on Q or P"),
    ('[layers."conv1"]\ntiles = "Q4:5"\n', "a step is given only on Q or P, from 1 to the tile size"),
    ('[layers."conv1"]\ntiles = "Q4 Q2"\n', "appears twice"),
    ('[layers."conv1"]\ntiles = "Q4"\nloops = "Q2"\n', "give loops (factors) or tiles"),
    ('window = "all"\n[layers."conv1"]\ntiles = "Q4"\n', 'choose "touched"'),
    ('[layers."conv1"]\nview = "gemm"\ntiles = "P8"\n', 'view = "gemm" needs a 1x1 convolution of stride 1'),
    ('[layers."conv1"]\nview = "im2col"\ntiles = "Q4"\n', 'choose "layer"'),
    ('[layers."conv1"]\nview = "gemm"\n', "beside loops or tiles"),
    ('[layers."conv1"]\nstore_path = ["pool", "magic"]\n', "give a list of distinct families"),
    ('[layers."conv1"]\nstore_path = "pool"\n', "give a list of distinct families"),
    ('[layers."conv1"]\nstore_path = ["residual"]\n', "is not in the config's store_path"),
])
def test_bad_mapping_files_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                                words: str) -> None:
    code, out = _estimate(tmp_path, text)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and words in err, err
    assert "map.toml" in err
    assert not out.exists()  # no partial output


def test_a_1x1_convolution_as_a_gemm_is_the_matmul_of_its_pixels() -> None:
    # 32 -> 16 channels, 1x1 over 10x10: 100 pixels. As a GEMM, tiles P48 run 48 + 48 + 4 rows of
    # pixels, crossing the ends of image rows, exactly as the MatMul (100 x 32) @ (32 x 16) runs them.
    # Commands of at most 16 rows: in its own view a call's commands stop at each 10-pixel row.
    cfg = CFG.replace(command_rows=16)
    lowered = lower_model(_conv(32, 16, 10, 10, kernel=1))
    name = lowered.workloads[0].name
    program = schedule_model(lowered, cfg, mapping=as_mapping(
        {"layers": {name: {"view": "gemm", "tiles": "P48 K16 C32"}}}))
    conv, conv_result = program.layers[0], simulate(program).layers[0]
    matmul, matmul_result = _tiled(_matmul(100, 32, 16), "P48 K16 C32", cfg=cfg)
    assert conv.calls == matmul.calls == 3 and conv.loops == "gemm tiles P48 K16 C32"
    assert conv.traffic.dram_read_ifmap == matmul.traffic.dram_read_ifmap == 100 * 32
    assert conv.traffic.dram_read_filter == matmul.traffic.dram_read_filter == 3 * 32 * 16
    assert (conv_result.compute_cycles, conv_result.stall_cycles) == (matmul_result.compute_cycles,
                                                                      matmul_result.stall_cycles)
    # One call over a 20 x 4 map, commands of at most 16 rows and at least 8 cycles: as a GEMM its 80
    # rows are five commands of 16; in its own view twenty of an output row's 4 pixels, 8 cycles each.
    cfg = cfg.replace(command_min_cycles=8)
    lowered = lower_model(_conv(32, 16, 20, 4, kernel=1))
    name = lowered.workloads[0].name
    runs = [simulate(schedule_model(lowered, cfg, mapping=as_mapping({"layers": {name: entry}}))).layers[0]
            for entry in ({"view": "gemm", "tiles": "P80"}, {"tiles": "Q20"})]
    assert runs[0].dram_read_bytes == runs[1].dram_read_bytes == 80 * 32 + 32 * 16
    assert runs[1].compute_cycles > runs[0].compute_cycles


def _conv_pool() -> onnx.ModelProto:
    """conv1: 8 -> 32 channels, 3x3 over 10x10 (8x8 outputs), then Relu and a 2x2/2 MaxPool (4x4)."""
    weight = numpy_helper.from_array(np.zeros((32, 8, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv1", kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 10, 10])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 4, 4])], [weight])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("entry", [{"store_path": ["activation"]}, {"store_path": ["activation"], "tiles": "K16"}])
def test_a_layers_own_store_path_leaves_its_pool_to_a_separate_pass(entry: dict) -> None:
    # Without pool in its store path the layer writes its 8 x 8 x 32 Relu results (2,048 B) and reads
    # them back for the pool: 4,096 B more DRAM traffic, and the pool's vector work as a pass of its own.
    lowered = lower_model(_conv_pool())
    w = lowered.workloads[0]
    assert w.op == "Conv+Relu+MaxPool"
    pool_ops = next(step.vector_ops for step in w.epilogue if step.family == "pool")
    tiles = {"tiles": entry["tiles"]} if "tiles" in entry else {}
    fused = schedule_model(lowered, CFG, mapping=as_mapping({"layers": {w.name: tiles}}) if tiles else None).layers[0]
    apart = schedule_model(lowered, CFG, mapping=as_mapping({"layers": {w.name: entry}})).layers[0]
    assert fused.unfused_ops == 0 and apart.unfused_ops == pool_ops
    moved = [s.traffic.dram_read + s.traffic.dram_write for s in (fused, apart)]
    assert moved[1] - moved[0] == 2 * 8 * 8 * 32
    assert sum(r.count * r.tile.macs for r in apart.runs) == sum(r.count * r.tile.macs for r in fused.runs)


def test_reports_give_the_dma_requests(tmp_path: Path) -> None:
    # The 3 -> 16 channel conv of the DMA test above, searched, on a config file that limits a request:
    # the JSON report carries the count (valid against the schema), and without the limit it has none.
    model = tmp_path / "conv.onnx"
    onnx.save(_conv(3, 16, 10, 10, name="conv1"), model)
    config = tmp_path / "c.toml"
    config.write_text('preset = "gemmini-like"\n[memory]\ndma_request_bytes = 64\n', encoding="utf-8")
    out = tmp_path / "r.json"
    assert main(["estimate", str(model), "--config", str(config), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["layers"][0]["mapping"]["dma_requests"] == 100 + 27 + 64
    assert main(["estimate", str(model), "--preset", "gemmini-like", "--json", str(out)]) == 0
    assert "dma_requests" not in json.loads(out.read_text())["layers"][0]["mapping"]


def test_bad_json_and_unpinnable_layers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _estimate(tmp_path, '{"layers": ', ".json")
    assert code == 2 and "not valid JSON" in capsys.readouterr().err and not out.exists()
    model = tmp_path / "relu.onnx"
    node = helper.make_node("Relu", ["x"], ["y"], name="act")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), model)
    mapping = tmp_path / "m.toml"
    mapping.write_text('[layers."act"]\nloops = "K2"\n', encoding="utf-8")
    assert main(["estimate", str(model), "--mapping", str(mapping)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot be pinned" in err and "\n" not in err


def test_mapping_is_for_hwsim_timing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _estimate(tmp_path, '[layers."conv1"]\nloops = "Q2"\n', ".toml", "--timing", "scalesim")
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err and "--timing scalesim" in err
    assert not out.exists()


def test_a_resident_input_is_not_loaded_by_any_call() -> None:
    # Two convolutions; with residency the first one's output stays in the scratchpad, so however the
    # second is cut, its calls read no input from DRAM and only their weight blocks: K2 Q2, 4 calls of
    # 3 x 3 x 8 x 4 weights.
    w1, w2 = (numpy_helper.from_array(np.zeros(shape, np.float32), name)
              for name, shape in (("w1", (8, 4, 3, 3)), ("w2", (8, 8, 3, 3))))
    nodes = [helper.make_node("Conv", ["x", "w1"], ["h"], name="c1", kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("Conv", ["h", "w2"], ["y"], name="c2", kernel_shape=[3, 3], pads=[1] * 4)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 12, 12])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 12, 12])], [w1, w2])
    lowered = lower_model(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]))
    cfg = CFG.replace(residency=True)
    layer = schedule_model(lowered, cfg, mapping=as_mapping({"c2": "K2 Q2"})).layers[1]
    assert [p.on_chip for p in layer.reads] == [True] and layer.calls == 4
    assert layer.traffic.dram_read_ifmap == 0
    assert layer.traffic.dram_read_filter == 4 * 3 * 3 * 8 * 4

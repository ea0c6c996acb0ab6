"""Command granularity (docs/model.md#command-granularity): a controller that streams each fold as
compute commands of at most ``command_rows`` rows, never across a convolution's output row, each
at least ``command_min_cycles`` long, the last of a fold carrying the next fold's weights."""

from __future__ import annotations

import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from compiler import compile_model
from hwsim.core.config import AcceleratorConfig, preset
from hwsim.core.errors import UserError
from hwsim.core.program import Tile
from hwsim.core.timing import command_split_cycles, run_cycles, tile_cycles
from hwsim.simulate import simulate

GEMMINI = AcceleratorConfig(rows=16, cols=16, command_rows=16, command_min_cycles=4)


def _commands(m: int, row: int, width: int) -> list[int]:
    """The rows of each compute command Gemmini's convolution loop issues for one weight block of a
    tile of m output pixels that starts an output row: output row by output row, width at a time."""
    out, pixel = [], 0
    while pixel < m:
        in_row = row - pixel % row if row else m - pixel   # pixels left in this output row
        step = min(width, in_row, m - pixel)
        out.append(step)
        pixel += step
    return out


def test_a_7x7_output_costs_58_cycles_a_fold_for_its_49_rows():
    # 7 commands of 7 rows: six at 7 cycles, the last stretched to the 16 rows of the next weight block.
    assert command_split_cycles(GEMMINI, Tile(m=49, k=16, n=16), row=7) == 58 - 49
    # three folds of 16 input channels: each pays the same
    assert command_split_cycles(GEMMINI, Tile(m=49, k=48, n=16), row=7) == 3 * (58 - 49)


def test_small_outputs_pay_the_command_floor_and_the_weight_load():
    # 2x2: two commands of 2 rows, floored at 4, the last at 16: 20 cycles where a stream takes max(4, 16).
    assert command_split_cycles(GEMMINI, Tile(m=4, k=16, n=16), row=2) == 20 - 16
    # 4x4: four commands of 4: 4 + 4 + 4 + 16 = 28 against 16.
    assert command_split_cycles(GEMMINI, Tile(m=16, k=16, n=16), row=4) == 28 - 16
    # 56-wide rows: 16, 16, 16, 8 per row; only the fold's very last command (8 rows) stretches to 16.
    assert command_split_cycles(GEMMINI, Tile(m=56 * 56, k=16, n=16), row=56) == 8


def test_a_matmul_whose_rows_are_whole_commands_pays_nothing():
    assert command_split_cycles(GEMMINI, Tile(m=128, k=768, n=16)) == 0
    assert command_split_cycles(GEMMINI, Tile(m=1, k=2048, n=16)) == 0   # a batch-1 FC: max(1, 16) either way
    # 49 matmul rows: 16 + 16 + 16 + 1, the last stretched to 16: 64 against 49.
    assert command_split_cycles(GEMMINI, Tile(m=49, k=16, n=16)) == 64 - 49


def test_only_the_weight_stationary_dataflow_has_folds_to_split():
    for dataflow in ("os", "is"):
        assert command_split_cycles(GEMMINI.replace(dataflow=dataflow), Tile(m=49, k=48, n=16), row=7) == 0


def test_off_by_default_and_for_every_preset():
    for name in ("gemmini-like", "tpu-v1-like", "fpga-edge"):
        cfg = preset(name)
        tile = Tile(m=49, k=64, n=cfg.cols)
        assert cfg.command_rows == 0
        assert command_split_cycles(cfg, tile, row=7) == 0
        assert run_cycles(cfg, tile, row=7) == tile_cycles(cfg, tile)


@settings(max_examples=300, deadline=None)
@given(m=st.integers(1, 400), row=st.integers(0, 60), folds=st.integers(1, 5),
       width=st.sampled_from([4, 8, 16]), floor=st.integers(1, 6), rows=st.sampled_from([4, 8, 16]))
def test_the_closed_form_matches_the_command_sequence(m, row, folds, width, floor, rows):
    cfg = AcceleratorConfig(rows=rows, cols=16, command_rows=width, command_min_cycles=floor)
    cmds = _commands(m, row, width)
    fold = sum(max(i, floor) for i in cmds[:-1]) + max(cmds[-1], rows)
    expected = folds * max(0, fold - max(m, rows))
    assert command_split_cycles(cfg, Tile(m=m, k=folds * rows, n=16), row) == expected


def _conv(out_hw: int, channels: int, filters: int) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, out_hw + 2, out_hw + 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, filters, out_hw, out_hw])
    w = helper.make_tensor("w", TensorProto.FLOAT, [filters, channels, 3, 3], [0.0] * (filters * channels * 9))
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])
    graph = helper.make_graph([node], "conv", [x], [y], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_small_map_convolution_gets_slower_and_a_large_one_barely():
    base = preset("gemmini-like").replace(conv_reduction="per_tap")
    split = base.replace(command_rows=16, command_min_cycles=4)
    small = [simulate(compile_model(_conv(7, 64, 64), c)).totals.compute_cycles for c in (base, split)]
    large = [simulate(compile_model(_conv(56, 64, 64), c)).totals.compute_cycles for c in (base, split)]
    # 7x7: 9 taps x 4 channel blocks x 4 filter blocks = 144 folds of 49 rows; each costs at least 9 more
    assert small[1] - small[0] >= 144 * 9
    assert large[1] >= large[0]
    assert (large[1] - large[0]) / large[0] < 0.01


def test_the_lowering_records_a_convolutions_output_width():
    program = compile_model(_conv(7, 16, 16), preset("gemmini-like"))
    (gemm,) = [s.workload.gemm for s in program.layers if s.workload.gemm is not None]
    assert gemm.row == 7


@pytest.mark.parametrize("key, value", [("command_rows", -1), ("command_rows", 1 << 17), ("command_min_cycles", 0)])
def test_out_of_range_values_are_rejected(key, value):
    with pytest.raises(UserError, match=key):
        AcceleratorConfig(**{key: value})


def test_a_report_written_before_the_keys_existed_reads_as_no_split():
    data = preset("gemmini-like").to_dict()
    del data["command_rows"], data["command_min_cycles"]
    cfg = AcceleratorConfig.from_dict(data, where="old.json")
    assert (cfg.command_rows, cfg.command_min_cycles) == (0, 1)
    assert AcceleratorConfig.from_dict(GEMMINI.to_dict()) == GEMMINI

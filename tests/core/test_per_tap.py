"""Per-tap (direct) convolution: a fold of the array's rows never mixes two kernel taps, so a
convolution with few input channels per tap takes more folds than its im2col K; the padding shows
up as extra tiles whose cycles are the RTL-proven tile model's. Counts below are by hand."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from compiler import lower_model, schedule_model
from compiler.zoo import resnet50
from hwsim.core.config import AcceleratorConfig, load_config
from hwsim.core.errors import UserError
from hwsim.core.timing import tile_cycles
from hwsim.core.workload import GemmShape
from hwsim.simulate import simulate

IM2COL = AcceleratorConfig(rows=16, cols=16, ifmap_kib=128.0, filter_kib=128.0, ofmap_kib=64.0)
PER_TAP = IM2COL.replace(conv_reduction="per_tap")


def _conv(cin: int, cout: int, kernel: int, size: int, stride: int = 1) -> onnx.ModelProto:
    w = helper.make_tensor("w", TensorProto.FLOAT, [cout, cin, kernel, kernel], [0.0] * cout * cin * kernel * kernel)
    out = (size + 2 * (kernel // 2) - kernel) // stride + 1
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[kernel, kernel], strides=[stride, stride],
                            pads=[kernel // 2] * 4)
    graph = helper.make_graph([node], "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, cout, out, out])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _layer(model: onnx.ModelProto, cfg: AcceleratorConfig):
    (layer,) = schedule_model(lower_model(model), cfg).layers
    return layer


def test_a_convolution_carries_its_taps():
    (w,) = lower_model(_conv(3, 64, 7, 224, 2)).workloads
    assert w.gemm == GemmShape(m=112 * 112, k=3 * 49, n=64, taps=49, row=112)   # row: the output width


def test_a_7x7_conv_of_3_channels_takes_49_folds_on_16_rows():
    g = GemmShape(m=12544, k=147, n=64, taps=49)
    # one fold per tap: 3 channels fill 3 of the 16 rows, 49 taps; im2col packs 147 rows into 10 folds
    assert PER_TAP.reduction_folds(g) == 49
    assert IM2COL.reduction_folds(g) == 10
    # a tap of 24 channels is a fold of 16 and one of 8: 9 taps x 2 = 18, against ceil(216 / 16) = 14
    g24 = GemmShape(m=784, k=216, n=64, taps=9)
    assert (PER_TAP.reduction_folds(g24), IM2COL.reduction_folds(g24)) == (18, 14)
    # 64 channels are 4 whole folds a tap either way
    g64 = GemmShape(m=3136, k=576, n=64, taps=9)
    assert PER_TAP.reduction_folds(g64) == IM2COL.reduction_folds(g64) == 36


def test_resnet50_conv1_per_tap_tiles_and_cycles():
    layer = _layer(_conv(3, 64, 7, 224, 2), PER_TAP)
    # 12,544 output pixels in streams of the accumulator's 512 rows (64 KiB halved, 16 x 4-byte
    # columns): 24 of 512 and one of 256; 64 output channels in 4 column blocks; one tile per tap
    assert PER_TAP.acc_depth == 512
    assert layer.tiles == 25 * 4 * 49
    placements = list(layer.placements())
    assert {p.tile.k for p in placements} == {3}
    assert sorted({p.k0 for p in placements}) == list(range(0, 147, 3))
    # only the last tap emits, only the first starts from zero
    assert {(p.k0, p.tile.accumulate, p.tile.emit) for p in placements if p.k0 in (0, 3, 144)} == {
        (0, False, False), (3, True, False), (144, True, True)}
    report = simulate(schedule_model(lower_model(_conv(3, 64, 7, 224, 2)), PER_TAP)).layers[0]
    assert report.compute_cycles == sum(tile_cycles(PER_TAP, p.tile) for p in placements)
    # By the RTL's pipeline (docs/rtl.md#timing): a tap's tile loads its 3 weight rows, streams its
    # rows of pixels, drains through 16 + 16 skew stages, raises done a cycle later; the last tap's
    # tiles also emit (3 cycles). Per column block and tap: 24 x (3 + 512 + 33) + (3 + 256 + 33).
    assert report.compute_cycles == 4 * (49 * (24 * 548 + 292) + 25 * 3) == 2_635_324
    im2col = simulate(schedule_model(lower_model(_conv(3, 64, 7, 224, 2)), IM2COL)).layers[0]
    # im2col: K = 147 is one tile of 10 folds; a 64 KiB half of the activation buffer holds 445 rows
    # of 147 bytes, so the streams are 256 rows: 49 x 4 tiles of 16 weight rows loaded, then
    # 9 folds streaming 256 rows each (the first fold's and the last one's), drain, done, emit
    assert im2col.tiles == 49 * 4
    assert im2col.compute_cycles == 196 * (16 + 9 * 256 + 256 + 33 + 3) == 511_952


def test_channels_in_whole_folds_map_exactly_as_im2col():
    """ResNet-50's convolutions other than conv1 have 64 to 512 channels per tap: whole folds of
    16, so the per-tap program is the im2col one, layer for layer."""
    a = schedule_model(lower_model(resnet50()), IM2COL).layers
    b = schedule_model(lower_model(resnet50()), PER_TAP).layers
    assert [x.workload.name for x in a] == [x.workload.name for x in b]
    differ = [x.workload.name for x, y in zip(a, b) if (x.runs, x.traffic) != (y.runs, y.traffic)]
    assert differ == ["/conv1/Conv"]


def test_accumulator_traffic_counts_every_fold():
    """Every fold reads and writes its partial sums in the accumulator: 49 folds per output on a
    per-tap array, 10 by im2col (12,544 x 64 outputs of 4 bytes)."""
    outputs = 12544 * 64
    assert _layer(_conv(3, 64, 7, 224, 2), PER_TAP).traffic.ofmap_writes == outputs * 49 * 4
    assert _layer(_conv(3, 64, 7, 224, 2), IM2COL).traffic.ofmap_writes == outputs * 10 * 4


def test_output_stationary_streams_k_and_ignores_taps():
    os_im2col, os_tap = IM2COL.replace(dataflow="os"), PER_TAP.replace(dataflow="os")
    assert os_tap.reduction_folds(GemmShape(m=12544, k=147, n=64, taps=49)) == 10
    assert _layer(_conv(3, 64, 7, 56), os_tap).runs == _layer(_conv(3, 64, 7, 56), os_im2col).runs


def test_a_weight_fifo_pads_each_tap_to_whole_folds():
    """A weight FIFO streams whole rows x cols tiles: a 3x3 conv of 3 channels on an 8x8 array is
    9 taps of one 8-row fold each, 9 x 8 x 8 bytes, where im2col's K of 27 pads to 4 folds."""
    fifo = AcceleratorConfig(rows=8, cols=8, ifmap_kib=64.0, filter_kib=4.0, ofmap_kib=16.0, weight_fifo=True)
    per_tap = fifo.replace(conv_reduction="per_tap")
    for cfg, per_m_tile in ((per_tap, 9 * 8 * 8), (fifo, 4 * 8 * 8)):
        layer = _layer(_conv(3, 8, 3, 16), cfg)
        m_tiles = -(-256 // layer.tile_m)  # the FIFO streams B once per m tile
        assert layer.traffic.dram_read_filter == m_tiles * per_m_tile


def test_toml_key_and_its_check(tmp_path):
    good = tmp_path / "tap.toml"
    good.write_text('[array]\nconv_reduction = "per_tap"\n')
    assert load_config(good).conv_reduction == "per_tap"
    bad = tmp_path / "bad.toml"
    bad.write_text('[array]\nconv_reduction = "winograd"\n')
    with pytest.raises(UserError, match="conv_reduction must be one of im2col, per_tap"):
        load_config(bad)

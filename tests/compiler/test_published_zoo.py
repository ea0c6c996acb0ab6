"""The networks of compiler/zoo/published.py: sizes against closed forms written here from the papers'
tables (Jouppi et al. 2017 Table 1; Szegedy et al. 2015 Table 1) and the measured runs' own layer lists
(the MoCA artifact's imagenet/*_params_1.h, DOSA's dataset/workloads/bert), valid ONNX, deterministic."""

from __future__ import annotations

import math
from collections import Counter

import onnx
import pytest

from compiler import lower_model
from compiler.zoo import resnet50
from compiler.zoo.published import (PUBLISHED, alexnet, dosa, googlenet, googlenet_tv, squeezenet11, tpu_cnn0,
                                    tpu_lstm0, tpu_lstm1, tpu_mlp0, tpu_mlp1)
from hwsim.core.workload import Kind

from .helpers import checked_run, ort_macs


def _weights(model: onnx.ModelProto) -> int:
    """Weight-matrix and kernel elements (Table 1's "Weights"; biases are not counted)."""
    return sum(math.prod(t.dims) for t in model.graph.initializer if len(t.dims) >= 2)


def _kinds(model: onnx.ModelProto) -> Counter:
    """Layers by kind. Table 1 counts an element-wise layer with a second tensor operand (the
    cell's products and sums, the residual adds) as a vector layer even where the lowering fuses it
    into the GEMM before it, so those fused steps count as VECTOR here; biases and activations
    stay part of their FC layer, as in the paper."""
    workloads = lower_model(model).workloads
    kinds = Counter(w.kind for w in workloads)
    kinds[Kind.VECTOR] += sum(step.family == "residual" for w in workloads for step in w.epilogue)
    return kinds


# name -> (model, MACs, weights, GEMM layers, vector layers), every figure by hand from the sizes
# the module docstring derives from Table 1.
CASES = {
    "mlp0": (tpu_mlp0(), 5 * 2000 * 2000 * 200, 5 * 2000 * 2000, 5, 0),
    "mlp0_b250": (tpu_mlp0(batch=250), 5 * 2000 * 2000 * 250, 5 * 2000 * 2000, 5, 0),
    "mlp1": (tpu_mlp1(), 168 * (1600 * 1000 + 2 * 1000 * 1000 + 1000 * 1600), 2 * 1600 * 1000 + 2 * 1000 * 1000, 4, 0),
    # 6 cells x 4 gates of [x; h] (2048) x 1024; 5 element-wise layers per cell + 4 residual adds.
    "lstm0": (tpu_lstm0(), 6 * 4 * 64 * 2048 * 1024, 6 * 4 * 2048 * 1024, 24, 6 * 5 + 4),
    # 12 cells x 8 GEMMs of 600 x 600 at batch 96; 5 element-wise layers per cell.
    "lstm1": (tpu_lstm1(), 12 * 8 * 96 * 600 * 600, 12 * 8 * 600 * 600, 96, 12 * 5),
    # 13 conv 3x3 + 3 conv 1x1, 256 -> 256, every output a 19 x 19 board, batch 8.
    "cnn0": (tpu_cnn0(), 8 * 19 * 19 * 256 * 256 * (13 * 9 + 3), 256 * 256 * (13 * 9 + 3), 16, 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_macs_weights_and_layer_counts_match_the_closed_forms(name):
    model, macs, weights, gemms, vectors = CASES[name]
    kinds = _kinds(model)
    assert lower_model(model).macs == macs
    assert _weights(model) == weights
    assert kinds[Kind.GEMM] == gemms and kinds[Kind.VECTOR] == vectors


def test_tpu_sizes_are_table_1s_within_rounding():
    # Table 1 "Weights": 20M, 5M, 52M, 34M, 8M; "TPU Ops / Weight Byte" (one op per MAC): 200, 168, 64, 96, 2888.
    table1 = {"mlp0": (20e6, 200), "mlp1": (5e6, 168), "lstm0": (52e6, 64), "lstm1": (34e6, 96), "cnn0": (8e6, 2888)}
    for name, (weights, ops_per_byte) in table1.items():
        model, macs, w, _, _ = CASES[name]
        assert abs(w / weights - 1) < 0.05, name
        assert macs / w == ops_per_byte, name   # int8: one byte per weight, each fetched once per batch


def test_table_1_fc_and_vector_counts_where_the_sizes_allow_them():
    # Table 1: MLP0 5 FC, MLP1 4 FC, LSTM0 24 FC + 34 vector, CNN0 16 conv. LSTM1 (37 FC + 19 vector)
    # cannot be matched together with its 600x600 matrices and 34M weights (see the module docstring).
    assert [CASES[n][3:] for n in ("mlp0", "mlp1", "lstm0", "cnn0")] == [(5, 0), (4, 0), (24, 34), (16, 0)]
    assert _kinds(tpu_lstm0())[Kind.MOVE] == 6       # one Concat([x, h]) per cell, not a Table 1 layer


# GoogLeNet, Szegedy et al. 2015 Table 1: (output size, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj).
_INCEPTION = [(28, 64, 96, 128, 16, 32, 32), (28, 128, 128, 192, 32, 96, 64),
              (14, 192, 96, 208, 16, 48, 64), (14, 160, 112, 224, 24, 64, 64), (14, 128, 128, 256, 24, 64, 64),
              (14, 112, 144, 288, 32, 64, 64), (14, 256, 160, 320, 32, 128, 128),
              (7, 256, 160, 320, 32, 128, 128), (7, 384, 192, 384, 48, 128, 128)]


def _googlenet_macs_and_weights() -> tuple[int, int]:
    layers = [(112, 3, 64, 7), (56, 64, 64, 1), (56, 64, 192, 3)]  # (out size, c_in, c_out, kernel)
    cin = 192
    for size, c1, r3, c3, r5, c5, proj in _INCEPTION:
        layers += [(size, cin, c1, 1), (size, cin, r3, 1), (size, r3, c3, 3), (size, cin, r5, 1), (size, r5, c5, 5),
                   (size, cin, proj, 1)]
        cin = c1 + c3 + c5 + proj
    macs = sum(s * s * ci * co * k * k for s, ci, co, k in layers) + cin * 1000
    return macs, sum(ci * co * k * k for _, ci, co, k in layers) + cin * 1000


def test_googlenet_matches_the_papers_table():
    macs, weights = _googlenet_macs_and_weights()
    model = googlenet()
    assert lower_model(model).macs == macs
    assert _weights(model) == weights
    assert round(macs / 1e9, 1) == 1.6 and round(weights / 1e6, 1) == 7.0  # the paper: "1.5 billion", ~7M (Table 1)


# The MoCA artifact's layer lists (ucb-bar/gemmini-rocc-tests, branch MOCA, imagenet/<net>_params_1.h), as
# (out size, c_in, c_out, kernel) per convolution, (c_in, c_out) per FC: every figure from the headers' fields.
_MOCA_ALEXNET = [(55, 3, 64, 11), (27, 64, 192, 5), (13, 192, 384, 3), (13, 384, 256, 3), (13, 256, 256, 3)]
_MOCA_ALEXNET_FC = [(9216, 4096), (4096, 4096), (4096, 1024)]
_MOCA_SQUEEZENET = [(111, 3, 64, 3)] + [
    layer for size, cin, s, e in ((55, 64, 16, 64), (55, 128, 16, 64), (27, 128, 32, 128), (27, 256, 32, 128),
                                  (13, 256, 48, 192), (13, 384, 48, 192), (13, 384, 64, 256), (13, 512, 64, 256))
    for layer in ((size, cin, s, 1), (size, s, e, 1), (size, s, e, 3))] + [(13, 512, 1000, 1)]


def _conv_macs(layers: list[tuple[int, int, int, int]]) -> int:
    return sum(size * size * cin * cout * k * k for size, cin, cout, k in layers)


def test_moca_networks_have_the_headers_macs():
    # The headers' totals (sum of I x J x K over conv_*/fc_* params): 714,286,784; 349,151,936; 1,498,376,192;
    # and ResNet-50's 4,089,233,408 with its 1024-wide fc_54.
    alex = _conv_macs(_MOCA_ALEXNET) + sum(i * o for i, o in _MOCA_ALEXNET_FC)
    assert alex == 714_286_784 and lower_model(alexnet(num_classes=1024)).macs == alex
    squeeze = _conv_macs(_MOCA_SQUEEZENET)
    assert squeeze == 349_151_936 and lower_model(squeezenet11()).macs == squeeze
    # torchvision's GoogLeNet: the paper's modules with 3x3 kernels in the "5x5" branch, at the same map sizes.
    layers = [(112, 3, 64, 7), (56, 64, 64, 1), (56, 64, 192, 3)]
    cin = 192
    for size, c1, r3, c3, r5, c5, proj in _INCEPTION:
        layers += [(size, cin, c1, 1), (size, cin, r3, 1), (size, r3, c3, 3), (size, cin, r5, 1), (size, r5, c5, 3),
                   (size, cin, proj, 1)]
        cin = c1 + c3 + c5 + proj
    assert _conv_macs(layers) + cin * 1000 == 1_498_376_192 == lower_model(googlenet_tv()).macs
    assert lower_model(resnet50(num_classes=1024)).macs == 4_089_233_408


def test_dosa_workloads_are_their_layer_counts():
    # layer_count.yaml: 1_1_128_1_768_768 x 2 (mm_0 and mm_3), 128x64x128, 128x128x64, 768x3072, 3072x768.
    gemms = sorted((w.gemm.m, w.gemm.k, w.gemm.n) for w in lower_model(dosa("bert")).workloads if w.gemm)
    assert gemms == sorted([(128, 768, 768)] * 2 + [(128, 64, 128), (128, 128, 64),
                                                       (128, 768, 3072), (128, 3072, 768)])
    # DOSA's ResNet-50 is the whole network's 53 convolutions and its FC, with the zoo's MACs.
    res = lower_model(dosa("resnet50"))
    assert sum(w.gemm is not None for w in res.workloads) == 54 and res.macs == lower_model(resnet50()).macs
    # U-Net (Ronneberger et al. 2015, Fig. 1): 23 convolutions; the first reads the 572x572 one-channel tile.
    unet = [w for w in lower_model(dosa("unet")).workloads if w.gemm]
    assert len(unet) == 23 and unet[0].input_elems == 572 * 572
    assert sum(w.gemm is not None for w in lower_model(dosa("retinanet")).workloads) == 27


# Small sizes that run in onnxruntime in well under a second each.
SMALL = {
    "tpu_mlp0": (dict(width=48, layers=5, batch=3), {"input": (3, 48)}),
    "tpu_mlp1": (dict(widths=(40, 24, 24, 24, 40), batch=2), {"input": (2, 40)}),
    "tpu_lstm0": (dict(cells=3, hidden=16, batch=2), {"x": (2, 16)}),
    "tpu_lstm1": (dict(cells=2, hidden=12, batch=3), {"x": (3, 12)}),
    "tpu_cnn0": (dict(channels=8, board=7, batch=2), {"board": (2, 8, 7, 7)}),
    "googlenet": (dict(image=64, num_classes=10, batch=2), {"input": (2, 3, 64, 64)}),
    "googlenet_tv": (dict(image=64, num_classes=10, batch=2), {"input": (2, 3, 64, 64)}),
    "alexnet": (dict(image=96, num_classes=10, batch=2), {"input": (2, 3, 96, 96)}),
    "squeezenet11": (dict(image=64, num_classes=10, batch=2), {"input": (2, 3, 64, 64)}),
    "dosa": (dict(layers=((1, 8, 1, 24, 16, 1, 2), (3, 4, 4, 3, 5, 2, 1))),
             {"l0_0.a": (8, 24), "l0_1.a": (8, 24), "l1_0.x": (1, 3, 9, 9)}),
}


def _state_shapes(model: onnx.ModelProto, given: dict) -> dict:
    """The static shapes of the inputs not in ``given`` (the LSTMs' h and c states)."""
    return {i.name: tuple(d.dim_value for d in i.type.tensor_type.shape.dim)
            for i in model.graph.input if i.name not in given}


def test_every_published_builder_has_a_small_case():
    assert set(SMALL) == set(PUBLISHED)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_models_run_and_their_macs_match_onnxruntime(name):
    kwargs, shapes = SMALL[name]
    model = PUBLISHED[name](weights=True, **kwargs)
    feeds = checked_run(model, shapes | _state_shapes(model, shapes))
    full = lower_model(model)
    assert full.macs == ort_macs(model, feeds) and not full.skipped
    assert lower_model(PUBLISHED[name](**kwargs)) == full


@pytest.mark.parametrize("name", sorted(SMALL))
def test_published_builders_are_deterministic_and_weightless_by_default(name):
    kwargs, _ = SMALL[name]
    assert PUBLISHED[name](weights=True, **kwargs).SerializeToString() == \
        PUBLISHED[name](weights=True, **kwargs).SerializeToString()
    bare = PUBLISHED[name]()
    assert bare.SerializeToString() == PUBLISHED[name]().SerializeToString()
    matrices = [t for t in bare.graph.initializer if len(t.dims) > 1]
    assert matrices and all(t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data for t in matrices)

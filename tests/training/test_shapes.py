"""The GEMMs of a training step have the shapes derived by hand, and each phase the MACs.

For ``Y = X * W`` the data gradient is ``dX = dY·Wᵀ`` and the weight gradient ``dW = Xᵀ·dY``; each
expected shape below is written out from the layer's sizes in the test, not computed by the code.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from compiler.pipeline import lower_training, training_program
from compiler.training import TrainingOptions
from hwsim.core.workload import GemmShape

from tests.execute.models import Net


def _gemms(model, **options) -> dict[str, tuple[str, GemmShape]]:
    lowered = lower_training(model, TrainingOptions(loss="mse", **options))
    return {w.name: (w.phase, w.gemm) for w in lowered.workloads if w.gemm is not None}


def _macs_by_phase(model) -> dict[str, int]:
    lowered = lower_training(model, TrainingOptions(loss="mse"))
    out: dict[str, int] = {}
    for w in lowered.workloads:
        if w.gemm is not None:
            out[w.phase] = out.get(w.phase, 0) + w.gemm.macs
    return out


def _cnn():
    """N=3, C=4, 6x7 input; conv1: K=6, 3x3, pad 1; conv2: K=8, groups 2, 3x2 kernel, stride 2,
    dilation (1, 2), pads top 1, left 0, bottom 1, right 1; a Gemm (10 x 72) with transB."""
    b = Net(0)
    y = b.op("Conv", "x", b.weight(6, 4, 3, 3), pads=[1, 1, 1, 1])
    y = b.op("Conv", y, b.weight(8, 3, 3, 2), b.const(np.zeros(8)), group=2, strides=[2, 2], dilations=[1, 2],
             pads=[1, 0, 1, 1])
    g = b.op("Gemm", b.op("Flatten", y, axis=1), b.weight(10, 8 * 3 * 3, scale=0.1), transB=1)
    return b.model([("x", TensorProto.FLOAT, (3, 4, 6, 7))], [g])


def test_conv_and_gemm_gradient_gemm_shapes() -> None:
    got = _gemms(_cnn())
    # conv1: 6x7 output, m = 3·6·7 = 126, k = 4·3·3 = 36, n = 6, K of each tap 4 channels, rows of 7.
    assert got["Conv_node_3"] == ("forward", GemmShape(m=126, k=36, n=6, taps=9, row=7))
    # conv2: out rows (6 + 1 + 1 − 3) // 2 + 1 = 3, cols (7 + 0 + 1 − (2 − 1)·2 − 1) // 2 + 1 = 3;
    # per group m = 3·3·3 = 27, k = 3·3·2 = 18, n = 8 / 2 = 4.
    assert got["Conv_node_7"] == ("forward", GemmShape(m=27, k=18, n=4, groups=2, taps=6, row=3))
    # dX = dY·Wᵀ per group (then col2im): m = 27 output positions, k = 4 output channels, n = 3·3·2.
    assert got["Conv_node_7/grad/dX"] == ("backward-data", GemmShape(m=27, k=4, n=18, groups=2))
    # dW = im2col(X)ᵀ·dY per group: m = 18, the reduction over batch × positions k = 27, n = 4.
    assert got["Conv_node_7/grad/dW"] == ("backward-weight", GemmShape(m=18, k=27, n=4, groups=2))
    assert got["Conv_node_3/grad/dW"] == ("backward-weight", GemmShape(m=36, k=126, n=6))
    # The first layer computes no data gradient: the model's input needs none.
    assert "Conv_node_3/grad/dX" not in got
    # Gemm X (3 x 72) · Wᵀ (72 x 10): dX = dY (3 x 10) · W (10 x 72); dW = dYᵀ (10 x 3) · X (3 x 72).
    assert got["Gemm_node_12"] == ("forward", GemmShape(m=3, k=72, n=10))
    assert got["Gemm_node_12/grad/dA"] == ("backward-data", GemmShape(m=3, k=10, n=72))
    assert got["Gemm_node_12/grad/dB"] == ("backward-weight", GemmShape(m=10, k=3, n=72))


def test_macs_per_phase_equal_closed_forms() -> None:
    """Each GEMM layer's dX and dW cost its forward MACs: N·P·(C/g)·R·K for a conv of P output
    positions and R kernel taps, M·K·N for a Gemm; the first conv has no dX."""
    conv1 = 3 * (6 * 7) * 4 * 9 * 6
    conv2 = 3 * (3 * 3) * (6 // 2) * (3 * 2) * 8
    fc = 3 * 72 * 10
    assert _macs_by_phase(_cnn()) == {"forward": conv1 + conv2 + fc, "backward-data": conv2 + fc,
                                      "backward-weight": conv1 + conv2 + fc}


def _conv_transpose():
    """ConvTranspose of a (2, 6, 4, 5) input by a (6, 2, 3, 3) weight, 3 groups, stride 2."""
    b = Net(1)
    h = b.op("Conv", "x", b.weight(6, 1, 1, 1))  # so that the ConvTranspose needs a data gradient
    t = b.op("ConvTranspose", h, b.weight(6, 2, 3, 3), strides=[2, 2], group=3)
    return b.model([("x", TensorProto.FLOAT, (2, 1, 4, 5))], [t])


def test_conv_transpose_gradient_gemm_shapes() -> None:
    got = _gemms(_conv_transpose())
    # Forward: m = 2·4·5 = 40 input positions, k = 6 / 3 = 2 channels per group, n = 2·3·3 = 18.
    name = next(n for n, (phase, _) in got.items() if phase == "forward" and n.startswith("ConvTranspose"))
    assert got[name] == ("forward", GemmShape(m=40, k=2, n=18, groups=3))
    # dX is a Conv of dY (2, 6, 9, 11) by the same weight: m = 40 positions (4 x 5), k = 2·3·3 = 18, n = 2.
    assert got[f"{name}/grad/dX"] == ("backward-data", GemmShape(m=40, k=18, n=2, groups=3, taps=9, row=5))
    # dW: m = 2·3·3 = 18 (the output's channels per group × taps), k = 40, n = 2.
    assert got[f"{name}/grad/dW"] == ("backward-weight", GemmShape(m=18, k=40, n=2, groups=3))


def _attention():
    """x (2, 5, 4) · W (4, 6) = h; s = h · hᵀ per batch (both operands activations)."""
    b = Net(2)
    h = b.op("MatMul", "x", b.weight(4, 6))
    s = b.op("MatMul", h, b.op("Transpose", h, perm=[0, 2, 1]))
    return b.model([("x", TensorProto.FLOAT, (2, 5, 4))], [s])


def test_batched_matmul_gradient_gemm_shapes() -> None:
    got = _gemms(_attention())
    first, second = sorted(n for n, (phase, _) in got.items() if phase == "forward")
    assert got[first] == ("forward", GemmShape(m=10, k=4, n=6))
    assert got[second] == ("forward", GemmShape(m=5, k=6, n=5, groups=2))
    # s = h·hᵀ: dA = dS (5 x 5)·(hᵀ)ᵀ, per batch m = 5, k = 5, n = 6; dB = hᵀ (6 x 5)·dS: m = 6, k = 5, n = 5.
    assert got[f"{second}/grad/dA"] == ("backward-data", GemmShape(m=5, k=5, n=6, groups=2))
    assert got[f"{second}/grad/dB"] == ("backward-data", GemmShape(m=6, k=5, n=5, groups=2))
    # dW = xᵀ·dh summed over the batch: its K is batch × rows = 2·5, m = 4, n = 6; no dX for the input.
    assert got[f"{first}/grad/dB"] == ("backward-weight", GemmShape(m=4, k=10, n=6))
    assert f"{first}/grad/dA" not in got


def test_resnet50_with_batchnorm_trains_its_statistics() -> None:
    """zoo.resnet50(batchnorm=True) keeps its 53 BatchNormalizations (one per conv): in a training step
    each is a forward layer, a data-gradient layer and a scale/shift-gradient layer, and the GEMM MACs
    are those of the folded model (BatchNorm adds no GEMM work)."""
    from compiler import zoo

    options = TrainingOptions(loss="xent")
    folded = lower_training(zoo.resnet50(batch=2), options)
    kept = lower_training(zoo.resnet50(batch=2, batchnorm=True), options)
    unfused = training_program(zoo.resnet50(batch=2, batchnorm=True), options).lowered(fused=False)
    ops = [(w.phase, w.op) for w in unfused.workloads]
    assert ops.count(("forward", "BatchNormalization")) == 53
    assert ops.count(("backward-data", "BatchNormalizationGrad")) == 53
    assert ops.count(("backward-weight", "BatchNormalizationParamGrad")) == 53
    # Fused, each is still in one layer of the step (compiler.training.fuse): the op joins the members'.
    members = [op for w in kept.workloads for op in w.op.split("+")]
    for op in ("BatchNormalization", "BatchNormalizationGrad", "BatchNormalizationParamGrad"):
        assert members.count(op) == 53
    gemm = lambda lowered: sum(w.gemm.macs for w in lowered.workloads if w.gemm is not None)  # noqa: E731
    assert gemm(kept) == gemm(folded) == gemm(unfused)

"""Networks at the sizes of published accelerator measurements, for ``benchmarks/silicon.py``.

Built with ``onnx.helper`` like the rest of the zoo (``weights=False``: external-data references, no
data file; ``True``: deterministic random weights that run in onnxruntime). They live in their own
registry, :data:`PUBLISHED`, not in ``MODELS``: the zoo's tests run every ``MODELS`` entry in
onnxruntime at a small size, and these are defined by their published sizes.

Sources and how each size was derived. "Table n" is Jouppi et al., "In-Datacenter Performance
Analysis of a Tensor Processing Unit", ISCA 2017 (arXiv:1704.04760). The paper publishes no
per-layer sizes, only Table 1's layer counts, weight totals, ops per weight byte and batch sizes,
Table 3's unused-MAC share, and one matrix ("Consider the 600x600 matrix used in LSTM1", Sec. 7).
The widths below are chosen to match those totals; they are reconstructions, not published shapes.

* :func:`tpu_mlp0`, Table 1 row MLP0: 5 FC, ReLU, 20M weights, batch 200 (Table 4 also measures
  batch 250). Five 2000x2000 FC layers: 5 x 2000^2 = 20.0M weights, 5 x 2000^2 x 200 MACs. Padded
  to 256x256 tiles that leaves 4.6 % of the array unused, against Table 3's 0.3 / 12.8 = 2.3 %.
* :func:`tpu_mlp1`, row MLP1: 4 FC, ReLU, 5M weights, batch 168. Widths 1600-1000-1000-1000-1600:
  2 x 1.6M + 2 x 1.0M = 5.2M weights; 9.9 % of padded tiles unused against Table 3's 1.2 / 10.6 =
  11.3 % (a uniform width of 1118 would leave 24 %).
* :func:`tpu_lstm0`, row LSTM0: 24 FC + 34 vector layers, sigmoid and tanh, 52M weights, batch 64;
  Table 1's caption: "one LSTM is a subset of GNM Translate" (Wu et al. 2016). Six LSTM cells of
  hidden size 1024 fed with 1024-wide inputs, one time step (Table 1's ops per weight byte equal the
  batch, so every step streams every weight once). Each cell does four gate FC layers on
  ``[x; h]``: K = 2048, N = 1024, with the bias and the gate's sigmoid or tanh fused into the FC
  (the TPU's Activate unit applies them as results leave the accumulators): 6 x 4 = 24 FC,
  24 x 2048 x 1024 = 50.3M weights (-3 %). Per cell, five vector layers: ``f*c``, ``i*g``, their sum
  ``c'``, ``tanh(c')``, ``o*tanh(c')``; GNMT's residual connections from the third layer on add four
  more: 6 x 5 + 4 = 34 vector layers. Each cell's ``[x; h]`` is one Concat (data movement, not a
  Table 1 layer: on the TPU it is two addresses in the Unified Buffer).
* :func:`tpu_lstm1`, row LSTM1: 37 FC + 19 vector, 34M weights, batch 96, and the 600x600 matrices
  of Sec. 7 ("it takes 9 steps to tile 600x600"). Twelve cells of hidden = input = 600, each with
  eight separate 600x600 GEMMs (``W_x`` and ``W_h`` of four gates): 12 x 8 x 600^2 = 34.56M weights;
  the ``W_h`` product accumulates onto the ``W_x`` one (a ``Gemm`` whose C input is that product,
  as the TPU accumulates both in its accumulators). 600x600 in 256x256 tiles leaves 39 % of the
  array unused, Table 3's 4.2 / 10.5 = 40 %. **The layer counts do not match Table 1** (96 FC and
  60 vector layers against 37 and 19): 37 FC layers of 600x600 would hold only 13.3M weights, and
  37 layers of 34M weights would be ~600x1530 and leave only 22 % unused. The weight bytes and the
  tile count, which set a weight-bound run's time, are what this network keeps.
* :func:`tpu_cnn0`, row CNN0: 16 conv, ReLU, 8M weights, batch 8, 2888 ops per weight byte; the
  caption names DeepMind AlphaGo. 2888 = 8 x 361 = batch x 19 x 19, so every layer computes a 19x19
  Go board at stride 1. Thirteen 3x3 and three 1x1 convolutions, 256 -> 256 channels, same padding:
  13 x 9 x 256^2 + 3 x 256^2 = 7.86M weights. The input is 256 planes (AlphaGo's 48 feature planes
  zero-padded to a full 256-row weight tile, as Table 3's 0.0 % unused MACs for CNN0 implies).
* :func:`googlenet`, for Talpes et al., "Compute Solution for Tesla's Full Self-Driving Computer",
  IEEE Micro 40(2), 2020 ("utilization exceeding 80% for the inception workloads with a batch size
  of 1"): GoogLeNet (Inception v1) at 224x224 from Szegedy et al., "Going Deeper with
  Convolutions", CVPR 2015, Table 1 (5x5 branches as the paper has them; no LRN, no auxiliary
  heads), 1.5G multiply-adds as the paper states. Which Inception Tesla ran is not published.

* :func:`googlenet_tv`, :func:`alexnet`, :func:`squeezenet11`: the networks of the MoCA artifact's
  Gemmini measurements (ucb-bar/gemmini-rocc-tests, branch ``MOCA``, ``imagenet/*_params_1.h``), which
  are torchvision's: GoogLeNet with 3x3 kernels in the "5x5" branch and ceil-mode pools (1.50 GMACs),
  AlexNet (0.71 GMACs), SqueezeNet 1.1 (0.35 GMACs). The headers give every layer's sizes; the
  builders reproduce them (``tests/compiler/test_published_zoo.py`` checks the MACs against the
  headers' layer list).
* :func:`dosa`, the workloads of DOSA (Hong et al., MICRO 2023; ucb-bar/dosa ``dataset/workloads``) at
  the sizes its FireSim runs measured (:data:`DOSA_LAYERS`). "bert" is six GEMMs at 128 tokens, as
  ``layer_count.yaml`` counts them: two 768x768 projections, 128x64x128 and 128x128x64 attention
  products, and the 768x3072 and 3072x768 feed-forward layers. "resnet50" is ResNet-50's 54 layers
  (the zoo's ResNet-50 MACs), "retinanet" 27 layers of RetinaNet's FPN and heads, "unet" U-Net's 23
  convolutions at 572x572. Each layer reads its operands from memory and writes its result there, as
  DOSA's runs do (``gemmini-data-collection/templates/{matmul,conv}_tilings.c``).

ResNet-50 (TPUv1's CNN range, Gemmini) is the zoo's :func:`compiler.zoo.resnet50`.

>>> sorted(PUBLISHED)  # doctest: +NORMALIZE_WHITESPACE
['alexnet', 'dosa', 'googlenet', 'googlenet_tv', 'squeezenet11',
 'tpu_cnn0', 'tpu_lstm0', 'tpu_lstm1', 'tpu_mlp0', 'tpu_mlp1']
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import onnx
from onnx import TensorProto

from ._builder import Builder

__all__ = ["PUBLISHED", "tpu_mlp0", "tpu_mlp1", "tpu_lstm0", "tpu_lstm1", "tpu_cnn0", "googlenet", "googlenet_tv",
           "alexnet", "squeezenet11", "dosa", "DOSA_LAYERS"]

F32 = TensorProto.FLOAT


def _fc(b: Builder, x: str, cin: int, cout: int, scope: str, act: str | None) -> str:
    """``MatMul -> Add(bias) [-> activation]`` as TensorFlow exports a dense layer."""
    w = b.param(f"{scope}.weight", (cin, cout), std=math.sqrt(2.0 / cin))
    y = b.node("Add", [b.node("MatMul", [x, w], scope), b.param(f"{scope}.bias", (cout,), std=0.01)], scope)
    return b.node(act, [y], scope) if act else y


def _mlp(name: str, widths: Sequence[int], batch: int, weights: bool, seed: int) -> onnx.ModelProto:
    b = Builder(name, weights=weights, seed=seed)
    x = b.input("input", F32, [batch, widths[0]])
    last = len(widths) - 2
    for i, (cin, cout) in enumerate(zip(widths, widths[1:])):
        x = _fc(b, x, cin, cout, f"/fc{i}", None if i == last else "Relu")
    b.output(x, "output", F32, [batch, widths[-1]])
    return b.model()


def tpu_mlp0(*, weights: bool = False, batch: int = 200, width: int = 2000, layers: int = 5,
             seed: int = 0) -> onnx.ModelProto:
    """TPUv1's MLP0: ``layers`` FC layers of ``width`` x ``width`` (Table 1: 5 FC, 20M weights, batch 200)."""
    return _mlp("tpu_mlp0", [width] * (layers + 1), batch, weights, seed)


def tpu_mlp1(*, weights: bool = False, batch: int = 168, widths: Sequence[int] = (1600, 1000, 1000, 1000, 1600),
             seed: int = 0) -> onnx.ModelProto:
    """TPUv1's MLP1: FC layers between ``widths`` (Table 1: 4 FC, 5M weights, batch 168)."""
    return _mlp("tpu_mlp1", list(widths), batch, weights, seed)


def _cell_tail(b: Builder, gates: dict[str, str], c_prev: str, scope: str) -> tuple[str, str]:
    """The five vector layers of an LSTM cell: ``c' = f*c + i*g``, ``h' = o*tanh(c')``."""
    c = b.node("Add", [b.node("Mul", [gates["f"], c_prev], scope), b.node("Mul", [gates["i"], gates["g"]], scope)],
               scope)
    h = b.node("Mul", [gates["o"], b.node("Tanh", [c], scope)], scope)
    return h, c


_GATE_ACT = {"i": "Sigmoid", "f": "Sigmoid", "g": "Tanh", "o": "Sigmoid"}


def _lstm(name: str, *, batch: int, cells: int, hidden: int, weights: bool, seed: int, split: bool,
          residual_from: int | None) -> onnx.ModelProto:
    """One time step through a stack of ``cells`` LSTM cells (input width = ``hidden``).

    ``split=False``: each gate is one FC on ``Concat([x, h])`` (K = 2 x hidden). ``split=True``: each
    gate is ``x W_x + b`` then ``h W_h`` accumulated onto it (``Gemm`` with that sum as C).
    ``residual_from``: cells from this index on (0-based) add their input to their output (GNMT).
    """
    b = Builder(name, weights=weights, seed=seed)
    x = b.input("x", F32, [batch, hidden])
    std = math.sqrt(1.0 / hidden)
    for layer in range(cells):
        scope = f"/cell{layer}"
        h_prev = b.input(f"h{layer}", F32, [batch, hidden])
        c_prev = b.input(f"c{layer}", F32, [batch, hidden])
        gates: dict[str, str] = {}
        if not split:
            xh = b.node("Concat", [x, h_prev], scope, axis=1)
            for gate, act in _GATE_ACT.items():
                gates[gate] = _fc(b, xh, 2 * hidden, hidden, f"{scope}/{gate}", act)
        else:
            for gate, act in _GATE_ACT.items():
                gs = f"{scope}/{gate}"
                wx = b.param(f"{gs}.w_x", (hidden, hidden), std=std)
                partial = b.node("Add", [b.node("MatMul", [x, wx], gs), b.param(f"{gs}.bias", (hidden,), std=0.01)], gs)
                wh = b.param(f"{gs}.w_h", (hidden, hidden), std=std)
                gates[gate] = b.node(act, [b.node("Gemm", [h_prev, wh, partial], gs)], gs)
        h, c = _cell_tail(b, gates, c_prev, scope)
        b.output(c, f"c{layer}_next", F32, [batch, hidden])
        if residual_from is not None and layer >= residual_from:
            h = b.node("Add", [h, x], f"{scope}/residual")
        b.output(h, f"h{layer}_next", F32, [batch, hidden])
        x = h
    return b.model()


def tpu_lstm0(*, weights: bool = False, batch: int = 64, cells: int = 6, hidden: int = 1024,
              seed: int = 0) -> onnx.ModelProto:
    """TPUv1's LSTM0: one step of a GNMT-like stack (Table 1: 24 FC + 34 vector, 52M weights, batch 64)."""
    return _lstm("tpu_lstm0", batch=batch, cells=cells, hidden=hidden, weights=weights, seed=seed, split=False,
                 residual_from=2)


def tpu_lstm1(*, weights: bool = False, batch: int = 96, cells: int = 12, hidden: int = 600,
              seed: int = 0) -> onnx.ModelProto:
    """TPUv1's LSTM1: one step of 600-wide cells of 600x600 GEMMs (Table 1: 34M weights, batch 96)."""
    return _lstm("tpu_lstm1", batch=batch, cells=cells, hidden=hidden, weights=weights, seed=seed, split=True,
                 residual_from=None)


def _conv(b: Builder, x: str, cin: int, cout: int, k: int, scope: str, *, stride: int = 1,
          relu: bool = True, pad: int | None = None) -> str:
    w = b.param(f"{scope}.weight", (cout, cin, k, k), std=math.sqrt(2.0 / (cin * k * k)) * (1.0 if relu else 0.3))
    y = b.node("Conv", [x, w, b.param(f"{scope}.bias", (cout,), std=0.01)], scope, kernel_shape=[k, k],
               strides=[stride, stride], pads=[k // 2 if pad is None else pad] * 4)
    return b.node("Relu", [y], scope) if relu else y


def tpu_cnn0(*, weights: bool = False, batch: int = 8, channels: int = 256, board: int = 19, convs3: int = 13,
             convs1: int = 3, seed: int = 0) -> onnx.ModelProto:
    """TPUv1's CNN0: an AlphaGo-like tower on a 19x19 board (Table 1: 16 conv, 8M weights, batch 8)."""
    b = Builder("tpu_cnn0", weights=weights, seed=seed)
    x = b.input("board", F32, [batch, channels, board, board])
    n = convs3 + convs1
    for i in range(n):
        x = _conv(b, x, channels, channels, 3 if i < convs3 else 1, f"/conv{i}", relu=i < n - 1)
    b.output(x, "output", F32, [batch, channels, board, board])
    return b.model()


#: GoogLeNet's inception modules (Szegedy et al. 2015, Table 1): name, 1x1, 3x3 reduce, 3x3,
#: 5x5 reduce, 5x5, pool projection; ``None`` marks the max-pools between stages.
GOOGLENET_MODULES: tuple[tuple[str, int, int, int, int, int, int] | None, ...] = (
    ("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64), None,
    ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64), ("4e", 256, 160, 320, 32, 128, 128), None,
    ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128),
)


def _maxpool(b: Builder, x: str, scope: str, stride: int = 2) -> str:
    return b.node("MaxPool", [x], scope, kernel_shape=[3, 3], strides=[stride, stride], pads=[1, 1, 1, 1])


def googlenet(*, weights: bool = False, batch: int = 1, image: int = 224, num_classes: int = 1000,
              seed: int = 0) -> onnx.ModelProto:
    """GoogLeNet / Inception v1 (Szegedy et al. 2015, Table 1; 1.5G multiply-adds at 224x224)."""
    b = Builder("googlenet", weights=weights, seed=seed)
    x = b.input("input", F32, [batch, 3, image, image])
    x = _maxpool(b, _conv(b, x, 3, 64, 7, "/conv1", stride=2), "/pool1")
    x = _conv(b, _conv(b, x, 64, 64, 1, "/conv2_reduce"), 64, 192, 3, "/conv2")
    x = _maxpool(b, x, "/pool2")
    cin = 192
    for i, module in enumerate(GOOGLENET_MODULES):
        if module is None:
            x = _maxpool(b, x, f"/pool{i}")
            continue
        name, c1, r3, c3, r5, c5, proj = module
        s = f"/inception_{name}"
        branches = [
            _conv(b, x, cin, c1, 1, f"{s}/1x1"),
            _conv(b, _conv(b, x, cin, r3, 1, f"{s}/3x3_reduce"), r3, c3, 3, f"{s}/3x3"),
            _conv(b, _conv(b, x, cin, r5, 1, f"{s}/5x5_reduce"), r5, c5, 5, f"{s}/5x5"),
            _conv(b, _maxpool(b, x, f"{s}/pool", stride=1), cin, proj, 1, f"{s}/pool_proj"),
        ]
        x = b.node("Concat", branches, s, axis=1)
        cin = c1 + c3 + c5 + proj
    flat = b.node("Flatten", [b.node("GlobalAveragePool", [x], "/avgpool")], "/flatten", axis=1)
    w = b.param("fc.weight", (num_classes, cin), std=math.sqrt(1.0 / cin))
    logits = b.node("Gemm", [flat, w, b.param("fc.bias", (num_classes,), std=0.01)], "/fc", transB=1)
    b.output(logits, "output", F32, [batch, num_classes])
    return b.model()


def _pool(b: Builder, x: str, scope: str, k: int = 3, stride: int = 2) -> str:
    """torchvision's ``MaxPool2d(k, stride, ceil_mode=True)``: no padding, the last window may hang over."""
    return b.node("MaxPool", [x], scope, kernel_shape=[k, k], strides=[stride, stride], pads=[0, 0, 0, 0], ceil_mode=1)


def _classifier(b: Builder, x: str, cin: int, num_classes: int, batch: int) -> onnx.ModelProto:
    flat = b.node("Flatten", [b.node("GlobalAveragePool", [x], "/avgpool")], "/flatten", axis=1)
    w = b.param("fc.weight", (num_classes, cin), std=math.sqrt(1.0 / cin))
    logits = b.node("Gemm", [flat, w, b.param("fc.bias", (num_classes,), std=0.01)], "/fc", transB=1)
    b.output(logits, "output", F32, [batch, num_classes])
    return b.model()


def googlenet_tv(*, weights: bool = False, batch: int = 1, image: int = 224, num_classes: int = 1000,
                 seed: int = 0) -> onnx.ModelProto:
    """torchvision's GoogLeNet: 3x3 kernels in the "5x5" branch, ceil-mode pools (1.50 GMACs at 224x224)."""
    b = Builder("googlenet_tv", weights=weights, seed=seed)
    x = b.input("input", F32, [batch, 3, image, image])
    x = _pool(b, _conv(b, x, 3, 64, 7, "/conv1", stride=2), "/maxpool1")
    x = _pool(b, _conv(b, _conv(b, x, 64, 64, 1, "/conv2"), 64, 192, 3, "/conv3"), "/maxpool2")
    cin = 192
    for i, module in enumerate(GOOGLENET_MODULES):
        if module is None:
            x = _pool(b, x, f"/maxpool{3 + i // 6}", k=3 if i < 6 else 2)
            continue
        name, c1, r3, c3, r5, c5, proj = module
        s = f"/inception{name}"
        pooled = b.node("MaxPool", [x], f"{s}/branch4", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                        ceil_mode=1)
        branches = [
            _conv(b, x, cin, c1, 1, f"{s}/branch1"),
            _conv(b, _conv(b, x, cin, r3, 1, f"{s}/branch2.0"), r3, c3, 3, f"{s}/branch2.1"),
            _conv(b, _conv(b, x, cin, r5, 1, f"{s}/branch3.0"), r5, c5, 3, f"{s}/branch3.1"),
            _conv(b, pooled, cin, proj, 1, f"{s}/branch4.1"),
        ]
        x = b.node("Concat", branches, s, axis=1)
        cin = c1 + c3 + c5 + proj
    return _classifier(b, x, cin, num_classes, batch)


def alexnet(*, weights: bool = False, batch: int = 1, image: int = 224, num_classes: int = 1000,
            seed: int = 0) -> onnx.ModelProto:
    """torchvision's AlexNet (0.71 GMACs at 224x224): five convolutions, three FC layers of 9216-4096-4096."""
    b = Builder("alexnet", weights=weights, seed=seed)
    x = b.input("input", F32, [batch, 3, image, image])
    x = b.node("MaxPool", [_conv(b, x, 3, 64, 11, "/features.0", stride=4, pad=2)], "/features.2",
               kernel_shape=[3, 3], strides=[2, 2])
    x = b.node("MaxPool", [_conv(b, x, 64, 192, 5, "/features.3")], "/features.5", kernel_shape=[3, 3], strides=[2, 2])
    x = _conv(b, _conv(b, _conv(b, x, 192, 384, 3, "/features.6"), 384, 256, 3, "/features.8"), 256, 256, 3,
              "/features.10")
    x = b.node("Flatten", [b.node("MaxPool", [x], "/features.12", kernel_shape=[3, 3], strides=[2, 2])], "/flatten",
               axis=1)
    side = (image + 2 * 2 - 11) // 4 + 1    # conv 11x11 stride 4 pad 2, then three 3x3 stride-2 pools
    for _ in range(3):
        side = (side - 3) // 2 + 1          # 224: 55 -> 27 -> 13 -> 6 (torchvision's 6x6 average pool is then the identity)
    for i, (cin, cout) in enumerate(((256 * side * side, 4096), (4096, 4096))):
        x = _fc(b, x, cin, cout, f"/classifier.{3 * i + 1}", "Relu")
    x = _fc(b, x, 4096, num_classes, "/classifier.6", None)
    b.output(x, "output", F32, [batch, num_classes])
    return b.model()


def squeezenet11(*, weights: bool = False, batch: int = 1, image: int = 224, num_classes: int = 1000,
                 seed: int = 0) -> onnx.ModelProto:
    """torchvision's SqueezeNet 1.1 (0.35 GMACs at 224x224): eight fire modules, a 1x1 conv classifier."""
    b = Builder("squeezenet11", weights=weights, seed=seed)
    x = b.input("input", F32, [batch, 3, image, image])
    x = _pool(b, _conv(b, x, 3, 64, 3, "/features.0", stride=2, pad=0), "/features.2")
    fires = ((64, 16, 64), (128, 16, 64), None, (128, 32, 128), (256, 32, 128), None,
             (256, 48, 192), (384, 48, 192), (384, 64, 256), (512, 64, 256))
    for i, fire in enumerate(fires):
        s = f"/features.{i + 3}"
        if fire is None:
            x = _pool(b, x, s)
            continue
        cin, squeeze, expand = fire
        sq = _conv(b, x, cin, squeeze, 1, f"{s}/squeeze")
        x = b.node("Concat", [_conv(b, sq, squeeze, expand, 1, f"{s}/expand1x1"),
                              _conv(b, sq, squeeze, expand, 3, f"{s}/expand3x3")], s, axis=1)
    x = b.node("GlobalAveragePool", [_conv(b, x, 512, num_classes, 1, "/classifier.1")], "/classifier.3")
    flat = b.node("Flatten", [x], "/flatten", axis=1)
    b.output(flat, "output", F32, [batch, num_classes])
    return b.model()


#: DOSA's workloads (ucb-bar/dosa ``dataset/workloads/<name>``) as its FireSim runs measured them
#: (gemmini-rocc-tests ``gemmini-data-collection/artifact/both/<name>.csv``, ``prob.*``): per distinct layer
#: (kernel, output rows P, output columns Q, input channels C, output channels K, stride, count), batch 1,
#: the count from ``layer_count.yaml``. A 1x1 layer with Q = 1 and stride 1 is a GEMM of M = P rows.
#: BERT's ``mm_3`` is ``mm_0``'s shape (the same problem file), so ``layer_count.yaml`` counts it twice.
DOSA_LAYERS: dict[str, tuple[tuple[int, int, int, int, int, int, int], ...]] = {
    "bert": ((1, 128, 1, 768, 768, 1, 2), (1, 128, 1, 64, 128, 1, 1), (1, 128, 1, 128, 64, 1, 1),
             (1, 128, 1, 768, 3072, 1, 1), (1, 128, 1, 3072, 768, 1, 1)),
    "resnet50": (
        (7, 112, 112, 3, 64, 2, 1), (1, 56, 56, 64, 64, 1, 1), (3, 56, 56, 64, 64, 1, 3), (1, 56, 56, 64, 256, 1, 4),
        (1, 56, 56, 256, 64, 1, 2), (1, 56, 56, 256, 128, 1, 1), (3, 28, 28, 128, 128, 2, 1),
        (1, 28, 28, 128, 512, 1, 4), (1, 28, 28, 256, 512, 2, 1), (1, 28, 28, 512, 128, 1, 3),
        (3, 28, 28, 128, 128, 1, 3), (1, 28, 28, 512, 256, 1, 1), (3, 14, 14, 256, 256, 2, 1),
        (1, 14, 14, 256, 1024, 1, 6), (1, 14, 14, 512, 1024, 2, 1), (1, 14, 14, 1024, 256, 1, 5),
        (3, 14, 14, 256, 256, 1, 5), (1, 14, 14, 1024, 512, 1, 1), (3, 7, 7, 512, 512, 2, 1),
        (1, 7, 7, 512, 2048, 1, 3), (1, 7, 7, 1024, 2048, 2, 1), (1, 7, 7, 2048, 512, 1, 2), (3, 7, 7, 512, 512, 1, 2),
        (1, 1, 1, 2048, 1000, 1, 1)),
    "retinanet": (
        (1, 28, 28, 512, 256, 1, 1), (3, 28, 28, 256, 256, 1, 2), (3, 28, 28, 256, 720, 1, 1),
        (3, 28, 28, 256, 36, 1, 1), (1, 14, 14, 1024, 256, 1, 1), (3, 14, 14, 256, 256, 1, 2),
        (3, 14, 14, 256, 720, 1, 1), (3, 14, 14, 256, 36, 1, 1), (1, 7, 7, 2048, 256, 1, 1), (3, 7, 7, 256, 256, 1, 2),
        (3, 7, 7, 256, 720, 1, 1), (3, 7, 7, 256, 36, 1, 1), (3, 4, 4, 2048, 256, 2, 1), (1, 4, 4, 256, 256, 1, 1),
        (3, 4, 4, 256, 256, 1, 2), (3, 4, 4, 256, 720, 1, 1), (3, 4, 4, 256, 36, 1, 1), (3, 2, 2, 256, 256, 2, 1),
        (1, 2, 2, 256, 256, 1, 1), (3, 2, 2, 256, 256, 1, 2), (3, 2, 2, 256, 720, 1, 1), (3, 2, 2, 256, 36, 1, 1)),
    "unet": (
        (3, 570, 570, 1, 64, 1, 1), (3, 568, 568, 64, 64, 1, 1), (3, 282, 282, 64, 128, 1, 1),
        (3, 280, 280, 128, 128, 1, 1), (3, 138, 138, 128, 256, 1, 1), (3, 136, 136, 256, 256, 1, 1),
        (3, 66, 66, 256, 512, 1, 1), (3, 64, 64, 512, 512, 1, 1), (3, 30, 30, 512, 1024, 1, 1),
        (3, 28, 28, 1024, 1024, 1, 1), (2, 56, 56, 1024, 512, 1, 1), (3, 54, 54, 1024, 512, 1, 1),
        (3, 52, 52, 512, 512, 1, 1), (2, 104, 104, 512, 256, 1, 1), (3, 102, 102, 512, 256, 1, 1),
        (3, 100, 100, 256, 256, 1, 1), (2, 200, 200, 256, 128, 1, 1), (3, 198, 198, 256, 128, 1, 1),
        (3, 196, 196, 128, 128, 1, 1), (2, 392, 392, 128, 64, 1, 1), (3, 390, 390, 128, 64, 1, 1),
        (3, 388, 388, 64, 64, 1, 1), (1, 388, 388, 64, 2, 1, 1)),
}


def dosa(workload: str = "bert", *, weights: bool = False, seed: int = 0,
         layers: Sequence[tuple[int, int, int, int, int, int, int]] | None = None) -> onnx.ModelProto:
    """A DOSA workload (:data:`DOSA_LAYERS`, or ``layers`` in its format): every layer from its own input in
    memory to its own output, as DOSA's FireSim runs time each layer alone. A convolution reads the
    ``(P - 1) * stride + kernel`` square input its outputs need (no padding)."""
    b = Builder(f"dosa_{workload}", weights=weights, seed=seed)
    for i, (kernel, p, q, c, k, stride, count) in enumerate(DOSA_LAYERS[workload] if layers is None else layers):
        for j in range(count):
            s = f"/l{i}_{j}"
            if kernel == 1 and q == 1 and stride == 1:
                x = b.input(f"{s[1:]}.a", F32, [p, c])
                y = b.node("MatMul", [x, b.param(f"{s}.b", (c, k), std=math.sqrt(1.0 / c))], s)
                b.output(y, f"{s[1:]}.c", F32, [p, k])
                continue
            h, w = (p - 1) * stride + kernel, (q - 1) * stride + kernel
            x = b.input(f"{s[1:]}.x", F32, [1, c, h, w])
            wt = b.param(f"{s}.weight", (k, c, kernel, kernel), std=math.sqrt(2.0 / (c * kernel * kernel)))
            y = b.node("Conv", [x, wt], s, kernel_shape=[kernel, kernel], strides=[stride, stride])
            b.output(y, f"{s[1:]}.y", F32, [1, k, p, q])
    return b.model()


#: Builders by name (apart from the zoo's ``MODELS``, see the module docstring).
PUBLISHED: dict[str, Callable[..., onnx.ModelProto]] = {
    "tpu_mlp0": tpu_mlp0,
    "tpu_mlp1": tpu_mlp1,
    "tpu_lstm0": tpu_lstm0,
    "tpu_lstm1": tpu_lstm1,
    "tpu_cnn0": tpu_cnn0,
    "googlenet": googlenet,
    "googlenet_tv": googlenet_tv,
    "alexnet": alexnet,
    "squeezenet11": squeezenet11,
    "dosa": dosa,
}

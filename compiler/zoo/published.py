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

ResNet-50 (TPUv1's CNN range, Gemmini) is the zoo's :func:`compiler.zoo.resnet50`.

>>> sorted(PUBLISHED)
['googlenet', 'tpu_cnn0', 'tpu_lstm0', 'tpu_lstm1', 'tpu_mlp0', 'tpu_mlp1']
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import onnx
from onnx import TensorProto

from ._builder import Builder

__all__ = ["PUBLISHED", "tpu_mlp0", "tpu_mlp1", "tpu_lstm0", "tpu_lstm1", "tpu_cnn0", "googlenet"]

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
          relu: bool = True) -> str:
    w = b.param(f"{scope}.weight", (cout, cin, k, k), std=math.sqrt(2.0 / (cin * k * k)) * (1.0 if relu else 0.3))
    y = b.node("Conv", [x, w, b.param(f"{scope}.bias", (cout,), std=0.01)], scope, kernel_shape=[k, k],
               strides=[stride, stride], pads=[k // 2] * 4)
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


#: Builders by name (apart from the zoo's ``MODELS``, see the module docstring).
PUBLISHED: dict[str, Callable[..., onnx.ModelProto]] = {
    "tpu_mlp0": tpu_mlp0,
    "tpu_mlp1": tpu_mlp1,
    "tpu_lstm0": tpu_lstm0,
    "tpu_lstm1": tpu_lstm1,
    "tpu_cnn0": tpu_cnn0,
    "googlenet": googlenet,
}

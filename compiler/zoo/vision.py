"""Image classifiers as ``torch.onnx.export`` writes them for torchvision models in eval mode.

BatchNorm is already folded into each Conv (a Conv with bias; the ResNets' ``batchnorm=True`` keeps
each BatchNormalization, as a model exported for training has it), ReLU6 is ``Clip`` with its bounds as
Constant-node inputs, the head is ``GlobalAveragePool -> Flatten -> Gemm(transB=1)``.
:func:`resnet50` flattens with the older ``x.view(x.size(0), -1)`` export
(``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``).
"""

from __future__ import annotations

import functools

import numpy as np
import onnx
from onnx import TensorProto

from ._builder import Builder, Dim

__all__ = ["resnet18", "resnet50", "mobilenet_v2"]


def _conv(b: Builder, x: str, cin: int, cout: int, k: int, stride: int, scope: str, *, groups: int = 1,
          relu: str | None = "Relu", batchnorm: bool = False) -> str:
    """Conv (bias = folded BatchNorm) plus an optional activation (``Relu`` or ``Relu6``); with
    ``batchnorm`` a bias-free Conv and its BatchNormalization, as a model exported for training has.

    Convs without activation end a residual branch; their weights are scaled down so that random
    weights keep activations O(1) through the residual sums (a trained net's BatchNorm does this).
    """
    w = b.param(f"{scope}.weight", (cout, cin // groups, k, k),
                std=(2.0 / (cin // groups * k * k)) ** 0.5 * (1.0 if relu else 0.3))
    conv_inputs = [x, w] if batchnorm else [x, w, b.param(f"{scope}.bias", (cout,), std=0.01)]
    y = b.node("Conv", conv_inputs, scope, kernel_shape=[k, k], strides=[stride, stride],
               pads=[k // 2] * 4, group=groups, dilations=[1, 1])
    if batchnorm:
        bn = scope.replace("conv", "bn").replace("downsample.0", "downsample.1")
        stats = [b.param(f"{bn}.{name}", (cout,), std=std, mean=mean)
                 for name, std, mean in (("weight", 0.0, 1.0), ("bias", 0.01, 0.0), ("running_mean", 0.0, 0.0),
                                         ("running_var", 0.0, 1.0))]
        y = b.node("BatchNormalization", [y, *stats], bn, epsilon=1e-5, momentum=0.9)
    if relu == "Relu":
        y = b.node("Relu", [y], scope)
    elif relu == "Relu6":
        lo = _constant_node(b, 0.0, scope)
        hi = _constant_node(b, 6.0, scope)
        y = b.node("Clip", [y, lo, hi], scope)
    return y


def _constant_node(b: Builder, value: float, scope: str) -> str:
    out = b.unique(f"{scope}/Constant_output")
    b.nodes.append(onnx.helper.make_node("Constant", [], [out], name=b.unique(f"{scope}/Constant"),
                                         value=onnx.numpy_helper.from_array(np.float32(value))))
    return out


def _input(b: Builder, batch: Dim, image: int) -> str:
    return b.input("input", TensorProto.FLOAT, [batch, 3, image, image])


def _head(b: Builder, x: str, channels: int, num_classes: int, batch: Dim, reshape: bool) -> None:
    pooled = b.node("GlobalAveragePool", [x], "/avgpool")
    if reshape:
        flat = b.reshape_dynamic(pooled, [0], [-1], "/flatten")
    else:
        flat = b.node("Flatten", [pooled], "/flatten", axis=1)
    w = b.param("fc.weight", (num_classes, channels), std=(1.0 / channels) ** 0.5)
    bias = b.param("fc.bias", (num_classes,), std=0.01)
    logits = b.node("Gemm", [flat, w, bias], "/fc", alpha=1.0, beta=1.0, transB=1)
    b.output(logits, "output", TensorProto.FLOAT, [batch, num_classes])


def _resnet(name: str, blocks: list[int], bottleneck: bool, *, weights: bool, batch: Dim, image: int,
            num_classes: int, width: int, seed: int, reshape_head: bool, batchnorm: bool = False) -> onnx.ModelProto:
    b = Builder(name, weights=weights, seed=seed, opset=17)
    conv = functools.partial(_conv, batchnorm=batchnorm)
    x = conv(b, _input(b, batch, image), 3, width, 7, 2, "/conv1")
    x = b.node("MaxPool", [x], "/maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=0)
    cin = width
    expansion = 4 if bottleneck else 1
    for stage, count in enumerate(blocks, start=1):
        planes = width * 2 ** (stage - 1)
        for i in range(count):
            scope = f"/layer{stage}/layer{stage}.{i}"
            stride = 2 if stage > 1 and i == 0 else 1
            cout = planes * expansion
            if bottleneck:
                y = conv(b, x, cin, planes, 1, 1, f"{scope}/conv1")
                y = conv(b, y, planes, planes, 3, stride, f"{scope}/conv2")
                y = conv(b, y, planes, cout, 1, 1, f"{scope}/conv3", relu=None)
            else:
                y = conv(b, x, cin, planes, 3, stride, f"{scope}/conv1")
                y = conv(b, y, planes, cout, 3, 1, f"{scope}/conv2", relu=None)
            if stride != 1 or cin != cout:
                x = conv(b, x, cin, cout, 1, stride, f"{scope}/downsample/downsample.0", relu=None)
            x = b.node("Relu", [b.node("Add", [y, x], scope)], scope)
            cin = cout
    _head(b, x, cin, num_classes, batch, reshape_head)
    return b.model()


def resnet18(*, weights: bool = False, batch: Dim = 1, image: int = 224, num_classes: int = 1000,
             width: int = 64, seed: int = 0, batchnorm: bool = False) -> onnx.ModelProto:
    """torchvision ResNet-18 (1.81 GMACs at 224x224); ``width`` is the stem's channels (64);
    ``batchnorm`` keeps each BatchNormalization (a training export) instead of folding it into a bias."""
    return _resnet("resnet18", [2, 2, 2, 2], False, weights=weights, batch=batch, image=image,
                   num_classes=num_classes, width=width, seed=seed, reshape_head=False, batchnorm=batchnorm)


def resnet50(*, weights: bool = False, batch: Dim = 1, image: int = 224, num_classes: int = 1000,
             width: int = 64, seed: int = 0, batchnorm: bool = False) -> onnx.ModelProto:
    """torchvision ResNet-50 v1.5, stride on the 3x3 conv (4.09 GMACs at 224x224); ``batchnorm`` as
    for :func:`resnet18`."""
    return _resnet("resnet50", [3, 4, 6, 3], True, weights=weights, batch=batch, image=image,
                   num_classes=num_classes, width=width, seed=seed, reshape_head=True, batchnorm=batchnorm)


def _make_divisible(v: float, divisor: int = 8) -> int:
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


#: (expansion t, output channels c, repeats n, first stride s), from the MobileNetV2 paper, Table 2.
MOBILENET_V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                         (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(*, weights: bool = False, batch: Dim = 1, image: int = 224, num_classes: int = 1000,
                 width_mult: float = 1.0, seed: int = 0) -> onnx.ModelProto:
    """torchvision MobileNetV2 (0.30 GMACs at 224x224): ReLU6 as Clip, depthwise 3x3 convs."""
    b = Builder("mobilenet_v2", weights=weights, seed=seed, opset=13)
    cin = _make_divisible(32 * width_mult)
    last = _make_divisible(1280 * max(1.0, width_mult))
    x = _conv(b, _input(b, batch, image), 3, cin, 3, 2, "/features/features.0", relu="Relu6")
    index = 1
    for t, c, n, s in MOBILENET_V2_SETTINGS:
        cout = _make_divisible(c * width_mult)
        for i in range(n):
            scope = f"/features/features.{index}/conv"
            stride = s if i == 0 else 1
            hidden = cin * t
            y = x
            if t != 1:
                y = _conv(b, y, cin, hidden, 1, 1, f"{scope}/conv.0", relu="Relu6")
            y = _conv(b, y, hidden, hidden, 3, stride, f"{scope}/conv.{1 if t != 1 else 0}", groups=hidden,
                      relu="Relu6")
            y = _conv(b, y, hidden, cout, 1, 1, f"{scope}/conv.{2 if t != 1 else 1}", relu=None)
            x = b.node("Add", [x, y], f"/features/features.{index}") if stride == 1 and cin == cout else y
            cin = cout
            index += 1
    x = _conv(b, x, cin, last, 1, 1, f"/features/features.{index}", relu="Relu6")
    _head(b, x, last, num_classes, batch, reshape=False)
    return b.model()

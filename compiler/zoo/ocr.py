"""OCR networks shaped like Paddle2ONNX exports of PP-OCR models (opset 14).

Paddle keeps BatchNormalization as separate nodes, uses HardSwish and HardSigmoid (``alpha=0.2``,
``beta=0.5``) in MobileNetV3 squeeze-excite blocks, and declares dynamic dims as ``-1``.

- :func:`ocr_det`: DB text detection: MobileNetV3-style backbone, FPN neck with nearest ``Resize``
  (one by ``scales``, one by ``sizes`` computed from ``Shape``), a BatchNorm after a ``Concat`` (not
  foldable), and a head of two ``ConvTranspose`` (each followed by BatchNorm) and a Sigmoid.
  Input ``x`` is ``[-1, 3, -1, -1]``.
- :func:`ocr_rec`: CRNN-style recognition with Constant-node weights, asymmetric strides,
  ``Squeeze`` + ``Transpose`` to a sequence, and a CTC head (MatMul + Add + Softmax);
  input ``[-1, 3, 48, 320]``.
- :func:`ocr_cls`: text direction classifier with Constant-node weights, input ``[-1, 3, 48, 192]``.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto

from ._builder import Builder

__all__ = ["ocr_det", "ocr_rec", "ocr_cls"]

_ACTS = {"relu": ("Relu", {}), "hardswish": ("HardSwish", {}), "hardsigmoid": ("HardSigmoid", {"alpha": 0.2, "beta": 0.5})}


def _pair(v: int | tuple[int, int]) -> list[int]:
    return list(v) if isinstance(v, tuple) else [v, v]


def _act(b: Builder, x: str, act: str | None, scope: str) -> str:
    if act is None:
        return x
    op, attrs = _ACTS[act]
    return b.node(op, [x], scope, **attrs)


def _bn(b: Builder, x: str, channels: int, scope: str) -> str:
    scale = b.param(f"{scope}_bn_scale", (channels,), low=0.5, high=1.5)
    offset = b.param(f"{scope}_bn_offset", (channels,), std=0.05)
    mean = b.param(f"{scope}_bn_mean", (channels,), std=0.05)
    var = b.param(f"{scope}_bn_variance", (channels,), low=0.5, high=1.5)
    return b.node("BatchNormalization", [x, scale, offset, mean, var], scope, epsilon=1e-5, momentum=0.9)


def _conv_bn(b: Builder, x: str, cin: int, cout: int, k: int, stride: int | tuple[int, int], scope: str, *,
             groups: int = 1, act: str | None = None) -> str:
    w = b.he(f"{scope}_weights", (cout, cin // groups, k, k))
    y = b.node("Conv", [x, w], scope, kernel_shape=[k, k], strides=_pair(stride), pads=[k // 2] * 4,
               group=groups, dilations=[1, 1])
    return _act(b, _bn(b, y, cout, scope), act, scope)


def _se(b: Builder, x: str, channels: int, scope: str) -> str:
    mid = max(channels // 4, 8)
    pooled = b.node("GlobalAveragePool", [x], scope)
    y = b.node("Conv", [pooled, b.he(f"{scope}_1_weights", (mid, channels, 1, 1)),
                        b.param(f"{scope}_1_offset", (mid,), std=0.05)], scope, kernel_shape=[1, 1])
    y = b.node("Relu", [y], scope)
    y = b.node("Conv", [y, b.he(f"{scope}_2_weights", (channels, mid, 1, 1)),
                        b.param(f"{scope}_2_offset", (channels,), std=0.05)], scope, kernel_shape=[1, 1])
    return b.node("Mul", [x, _act(b, y, "hardsigmoid", scope)], scope)


def _bottleneck(b: Builder, x: str, cin: int, k: int, exp: int, cout: int, se: bool, act: str, stride: int,
                scope: str) -> str:
    y = _conv_bn(b, x, cin, exp, 1, 1, f"{scope}_expand", act=act) if exp != cin else x
    y = _conv_bn(b, y, exp, exp, k, stride, f"{scope}_depthwise", groups=exp, act=act)
    if se:
        y = _se(b, y, exp, f"{scope}_se")
    y = _conv_bn(b, y, exp, cout, 1, 1, f"{scope}_linear")
    return b.node("Add", [x, y], scope) if stride == 1 and cin == cout else y


#: MobileNetV3-style blocks (kernel, expansion, out channels, squeeze-excite, activation, stride).
DET_BLOCKS = ((3, 16, 16, True, "relu", 2), (3, 72, 24, False, "relu", 2), (3, 88, 24, False, "relu", 1),
              (5, 96, 40, True, "hardswish", 2), (5, 240, 40, True, "hardswish", 1),
              (5, 120, 48, True, "hardswish", 1), (5, 288, 96, True, "hardswish", 2))


def _resize_scale(b: Builder, x: str, factor: int, scope: str) -> str:
    roi = b.const(np.zeros(0, np.float32), "roi")
    scales = b.const(np.array([1, 1, factor, factor], np.float32), "scales")
    return b.node("Resize", [x, roi, scales], scope, mode="nearest", coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor")


def _resize_like(b: Builder, x: str, like: str, scope: str) -> str:
    """``F.interpolate(x, size=like.shape[2:])``: sizes from two Shape slices and a Concat."""
    head = b.node("Slice", [b.node("Shape", [x], scope), b.const([0], "start", "int64"), b.const([2], "end", "int64")],
                  scope)
    tail = b.node("Slice", [b.node("Shape", [like], scope), b.const([2], "start", "int64"),
                            b.const([4], "end", "int64")], scope)
    sizes = b.node("Cast", [b.node("Concat", [head, tail], scope, axis=0)], scope, to=TensorProto.INT64)
    return b.node("Resize", [x, "", "", sizes], scope, mode="nearest", coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor")


def ocr_det(*, weights: bool = False, batch: int | str = -1, height: int | str = -1, width: int | str = -1,
            neck: int = 96, seed: int = 0) -> onnx.ModelProto:
    """DB text detector. Output ``sigmoid_0.tmp_0`` is the probability map at input resolution."""
    b = Builder("ocr_det", weights=weights, seed=seed, opset=14)
    x = b.input("x", TensorProto.FLOAT, [batch, 3, height, width])
    y = _conv_bn(b, x, 3, 16, 3, 2, "conv1", act="hardswish")
    cin, taps = 16, []
    for i, (k, exp, cout, se, act, stride) in enumerate(DET_BLOCKS):
        if stride == 2 and i:
            taps.append((y, cin))
        y = _bottleneck(b, y, cin, k, exp, cout, se, act, stride, f"conv{i + 2}")
        cin = cout
    taps.append((y, cin))
    y = _conv_bn(b, y, cin, 288, 1, 1, "conv_last", act="hardswish")
    taps[-1] = (y, 288)

    ins = [b.node("Conv", [t, b.he(f"neck_in{i}_weights", (neck, c, 1, 1))], "neck", kernel_shape=[1, 1])
           for i, (t, c) in enumerate(taps)]
    in2, in3, in4, in5 = ins
    out4 = b.node("Add", [in4, _resize_scale(b, in5, 2, "neck")], "neck")
    out3 = b.node("Add", [in3, _resize_like(b, out4, in3, "neck")], "neck")
    out2 = b.node("Add", [in2, _resize_scale(b, out3, 2, "neck")], "neck")
    ps = [b.node("Conv", [t, b.he(f"neck_p{i}_weights", (neck // 4, neck, 3, 3))], "neck", kernel_shape=[3, 3],
                 pads=[1, 1, 1, 1]) for i, t in enumerate((in5, out4, out3, out2))]
    ps = [_resize_scale(b, p, f, "neck") for p, f in zip(ps[:3], (8, 4, 2))] + [ps[3]]
    fuse = _bn(b, b.node("Concat", ps, "neck", axis=1), neck, "neck_fuse")

    h = _conv_bn(b, fuse, neck, neck // 4, 3, 1, "head_conv1", act="relu")
    w2 = b.he("head_conv2_weights", (neck // 4, neck // 4, 2, 2))
    h = b.node("ConvTranspose", [h, w2, b.param("head_conv2_offset", (neck // 4,), std=0.05)], "head",
               kernel_shape=[2, 2], strides=[2, 2])
    h = _act(b, _bn(b, h, neck // 4, "head_conv2"), "relu", "head")
    w3 = b.he("head_conv3_weights", (neck // 4, 1, 2, 2))
    h = b.node("ConvTranspose", [h, w3, b.param("head_conv3_offset", (1,), std=0.05)], "head",
               kernel_shape=[2, 2], strides=[2, 2])
    b.output(b.node("Sigmoid", [h], "head"), "sigmoid_0.tmp_0", TensorProto.FLOAT, [batch, 1, height, width])
    return b.model()


def _dw_pw(b: Builder, x: str, cin: int, cout: int, k: int, stride: int | tuple[int, int], act: str,
           scope: str, se: bool = False) -> str:
    y = _conv_bn(b, x, cin, cin, k, stride, f"{scope}_dw", groups=cin, act=act)
    if se:
        y = _se(b, y, cin, f"{scope}_se")
    return _conv_bn(b, y, cin, cout, 1, 1, f"{scope}_pw", act=act)


def ocr_rec(*, weights: bool = False, batch: int | str = -1, width: int = 320, num_classes: int = 6625,
            seed: int = 0) -> onnx.ModelProto:
    """CRNN-style recogniser (height 48). Output ``softmax_0.tmp_0`` is ``[batch, width / 4, num_classes]``."""
    b = Builder("ocr_rec", weights=weights, seed=seed, opset=14, constant_nodes=True)
    x = b.input("x", TensorProto.FLOAT, [batch, 3, 48, width])
    y = _conv_bn(b, x, 3, 16, 3, 2, "conv1", act="hardswish")
    y = _dw_pw(b, y, 16, 32, 3, 1, "hardswish", "conv2")
    y = _dw_pw(b, y, 32, 64, 3, (2, 1), "hardswish", "conv3")
    y = _dw_pw(b, y, 64, 128, 3, (2, 1), "hardswish", "conv4")
    y = _dw_pw(b, y, 128, 256, 5, (2, 1), "hardswish", "conv5", se=True)
    y = b.node("AveragePool", [y], "pool", kernel_shape=[3, 2], strides=[3, 2])
    seq = b.node("Squeeze", [y, b.const([2], "axes", "int64")], "neck")
    seq = b.node("Transpose", [seq], "neck", perm=[0, 2, 1])
    seq = b.node("Identity", [seq], "neck")
    fc = b.node("Add", [b.node("MatMul", [seq, b.he("neck_fc_weights", (256, 96), 256)], "neck"),
                        b.param("neck_fc_offset", (96,), std=0.05)], "neck")
    logits = b.node("Add", [b.node("MatMul", [fc, b.he("head_fc_weights", (96, num_classes), 96)], "head"),
                            b.param("head_fc_offset", (num_classes,), std=0.05)], "head")
    probs = b.node("Softmax", [logits], "head", axis=2)
    b.output(probs, "softmax_0.tmp_0", TensorProto.FLOAT, [batch, width // 4, num_classes])
    return b.model()


def ocr_cls(*, weights: bool = False, batch: int | str = -1, seed: int = 0) -> onnx.ModelProto:
    """Text direction classifier (0 or 180 degrees). Output ``softmax_0.tmp_0`` is ``[batch, 2]``."""
    b = Builder("ocr_cls", weights=weights, seed=seed, opset=14, constant_nodes=True)
    x = b.node("Cast", [b.input("x", TensorProto.FLOAT, [batch, 3, 48, 192])], "input", to=TensorProto.FLOAT)
    y = _conv_bn(b, x, 3, 8, 3, 2, "conv1", act="relu")
    y = b.node("MaxPool", [y], "pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    y = _dw_pw(b, y, 8, 16, 3, 1, "relu", "conv2")
    y = _dw_pw(b, y, 16, 32, 3, 2, "relu", "conv3")
    y = _dw_pw(b, y, 32, 64, 3, 2, "hardswish", "conv4", se=True)
    y = _conv_bn(b, y, 64, 128, 1, 1, "conv5", act="hardswish")
    y = b.node("GlobalAveragePool", [y], "pool")
    y = b.node("Reshape", [y, b.const([0, -1], "shape", "int64")], "head")
    logits = b.node("Add", [b.node("MatMul", [y, b.he("fc_weights", (128, 2), 128)], "head"),
                            b.param("fc_offset", (2,), std=0.05)], "head")
    b.output(b.node("Softmax", [logits], "head", axis=1), "softmax_0.tmp_0", TensorProto.FLOAT, [batch, 2])
    return b.model()

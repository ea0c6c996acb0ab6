"""Kernels of the operators a training program adds (:mod:`compiler.training`, docs/training.md):
the gradients of activations, normalizations, pooling and data movement, the losses, and the
optimizer updates. They run in the dtype of their inputs (float32 or float64), reductions and
normalization statistics in float64.

Each gradient kernel takes the upstream gradient ``dy`` first, then what the forward pass stashed
for it (its input ``x`` or its output ``y``, as the operator's rule in
:mod:`compiler.training.rules` chose), then the forward node's parameters. The forward operator's
ONNX attributes travel with the gradient node.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..graph import Node, TensorInfo
from ._env import Kernel, OpEnv, attr_ints
from ._erf import erf
from ._movement import _slice
from ._pool import _counts
from ._reduce import _coerced
from ._resize import _resize
from ._window import padded, spatial_pads, taps

__all__ = ["KERNELS", "sum_to"]

_SQRT_2_PI = math.sqrt(2.0 / math.pi)


def _opt(xs: Sequence[np.ndarray | None], i: int) -> np.ndarray | None:
    return xs[i] if len(xs) > i else None


def sum_to(x: np.ndarray, shape: Sequence[int], axes: Sequence[int] | None = None) -> np.ndarray:
    """``x`` summed down to ``shape``: over ``axes`` when given, else over numpy's broadcast axes
    (leading axes ``x`` has beyond ``shape``, and those where ``shape`` is 1)."""
    shape = tuple(shape)
    if axes is None:
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape) if d == 1 and x.shape[lead + i] != 1)
    out = x.sum(axis=tuple(axes)) if axes else x
    return out.reshape(shape)


# ------------------------------------------------------------------------------------ activations

def _relu_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, y = xs[0], xs[1]
    return np.where(y > 0, dy, 0).astype(dy.dtype)


def _clip_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, x = xs[0], xs[1]
    lo, hi = _opt(xs, 2), _opt(xs, 3)
    low = lo if lo is not None else env.attr("min", -np.inf)
    high = hi if hi is not None else env.attr("max", np.inf)
    return np.where((x >= low) & (x <= high), dy, 0).astype(dy.dtype)


def _sigmoid_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, y = xs[0], xs[1]
    return dy * y * (1 - y)


def _tanh_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, y = xs[0], xs[1]
    return dy * (1 - y * y)


def _erf_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, x = xs[0], xs[1]
    wide = x.astype(np.float64)
    return (dy * (2.0 / math.sqrt(math.pi)) * np.exp(-wide * wide)).astype(dy.dtype)


def _gelu_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, x = xs[0], xs[1]
    v = x.astype(np.float64)
    if env.attr("approximate", "none") == "tanh":
        t = np.tanh(_SQRT_2_PI * (v + 0.044715 * v ** 3))
        d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * _SQRT_2_PI * (1 + 3 * 0.044715 * v * v)
    else:
        d = 0.5 * (1 + erf(v / math.sqrt(2.0))) + v * np.exp(-0.5 * v * v) / math.sqrt(2 * math.pi)
    return (dy * d).astype(dy.dtype)


def _hard_sigmoid_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, x = xs[0], xs[1]
    alpha, beta = float(env.attr("alpha", 0.2)), float(env.attr("beta", 0.5))
    z = alpha * x.astype(np.float64) + beta
    return np.where((z > 0) & (z < 1), dy * alpha, 0).astype(dy.dtype)


def _hard_swish_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, x = xs[0], xs[1]
    v = x.astype(np.float64)
    d = np.where(v < -3, 0.0, np.where(v > 3, 1.0, v / 3 + 0.5))
    return (dy * d).astype(dy.dtype)


def _sqrt_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, y = xs[0], xs[1]
    return (dy * 0.5 / y).astype(dy.dtype)


def _pow_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, x, e = xs[0], xs[1], xs[2]
    wide, exponent = x.astype(np.float64), np.asarray(e, np.float64)
    return (dy * exponent * np.power(wide, exponent - 1)).astype(dy.dtype)


# ---------------------------------------------------------------------------------- normalization

def _softmax_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    dy, y = xs[0], xs[1]
    dyv, axis = _coerced(env, dy)
    yv, _ = _coerced(env, y)
    wide = dyv.astype(np.float64) * yv
    dx = wide - yv * wide.sum(axis=axis, keepdims=True)
    return dx.reshape(dy.shape).astype(dy.dtype)


def _norm_axes(env: OpEnv, x: np.ndarray) -> tuple[int, ...]:
    """The axes a normalization reduces: LayerNormalization's ``axis`` onwards, or BatchNormalization's
    batch and spatial axes."""
    if env.node.op_type.startswith("LayerNormalization"):
        return tuple(range(int(env.attr("axis", -1)) % x.ndim, x.ndim))
    return (0,) + tuple(range(2, x.ndim))


def _normalized(env: OpEnv, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """(x̂, 1/σ, axes) in float64, with the forward pass's statistics (biased variance)."""
    axes = _norm_axes(env, x)
    wide = x.astype(np.float64)
    centred = wide - wide.mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + float(env.attr("epsilon", 1e-5)))
    return centred * rstd, rstd, axes


def _scale_like(env: OpEnv, scale: np.ndarray, x: np.ndarray) -> np.ndarray:
    if env.node.op_type.startswith("BatchNormalization"):
        return scale.astype(np.float64).reshape((1, -1) + (1,) * (x.ndim - 2))
    return scale.astype(np.float64)


def _norm_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    """dx of LayerNormalization or training-mode BatchNormalization: ``rstd·(g − mean(g) − x̂·mean(g·x̂))``
    with ``g = dy·γ``, the means over the normalized axes."""
    dy, x, scale = xs[0], xs[1], xs[2]
    xhat, rstd, axes = _normalized(env, x)
    g = dy.astype(np.float64) * _scale_like(env, scale, x)
    dx = rstd * (g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True))
    return dx.astype(dy.dtype)


def _norm_param_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> tuple[np.ndarray, ...]:
    """(dγ, dβ): ``dy·x̂`` and ``dy`` summed over every axis the scale does not have."""
    dy, x = xs[0], xs[1]
    xhat, _, axes = _normalized(env, x)
    wide = dy.astype(np.float64)
    if env.node.op_type.startswith("LayerNormalization"):
        others = tuple(range(axes[0]))
    else:
        others = axes
    results = []
    for index, value in enumerate((wide * xhat, wide)):
        if index < len(env.node.outputs) and env.node.outputs[index]:
            summed = value.sum(axis=others)
            results.append(sum_to(summed, env.out_shape(index)).astype(dy.dtype))
        else:
            results.append(np.zeros((), dy.dtype))
    return tuple(results[: len(env.node.outputs)])


# ---------------------------------------------------------------------------------------- pooling

def _pool_geometry(env: OpEnv, x_shape: Sequence[int], out_size: Sequence[int]) -> dict:
    rank = len(x_shape) - 2
    kernel = attr_ints(env, "kernel_shape")
    strides = attr_ints(env, "strides", (1,) * rank)
    dilations = attr_ints(env, "dilations", (1,) * rank)
    begin, end = spatial_pads(env.attr("auto_pad", "NOTSET"), attr_ints(env, "pads"), x_shape[2:], kernel, strides,
                              dilations)
    return dict(kernel=kernel, strides=strides, dilations=dilations, pads_begin=begin, pads_end=end,
                out_size=tuple(out_size))


def _crop(grad: np.ndarray, geo: dict, x_shape: Sequence[int]) -> np.ndarray:
    index = (slice(None), slice(None)) + tuple(slice(b, b + n) for b, n in zip(geo["pads_begin"], x_shape[2:]))
    return np.ascontiguousarray(grad[index])


def _max_pool_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    """Each window's gradient goes to its maximum (the first one where several are equal)."""
    dy, x = xs[0], xs[1]
    geo = _pool_geometry(env, x.shape, dy.shape[2:])
    xp = padded(x, fill=-np.inf, **geo)
    best, arg = None, None
    for index, (_, tap) in enumerate(taps(xp, geo["kernel"], geo["strides"], geo["dilations"], geo["out_size"])):
        if best is None:
            best, arg = tap.copy(), np.zeros(tap.shape, np.int64)
            continue
        better = tap > best
        best = np.where(better, tap, best)
        arg = np.where(better, index, arg)
    grad = np.zeros(xp.shape, dy.dtype)
    for index, (_, view) in enumerate(taps(grad, geo["kernel"], geo["strides"], geo["dilations"], geo["out_size"])):
        view += np.where(arg == index, dy, 0).astype(dy.dtype)
    return _crop(grad, geo, x.shape)


def _avg_pool_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    """Each window's gradient, divided by the cells it averaged, spread back over them."""
    dy = xs[0]
    x_shape = env.out_shape(0)
    geo = _pool_geometry(env, x_shape, dy.shape[2:])
    share = dy / _counts(x_shape[2:], geo, bool(env.attr("count_include_pad", 0)))
    grad = np.zeros_like(padded(np.zeros(x_shape, dy.dtype), **geo))
    for _, view in taps(grad, geo["kernel"], geo["strides"], geo["dilations"], geo["out_size"]):
        view += share.astype(dy.dtype)
    return _crop(grad, geo, x_shape)


# -------------------------------------------------------------------------- reductions, movement

def _reduce_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    """A reduction's gradient: ``dy`` broadcast back over the reduced ``axes``, times ``scale``."""
    dy = xs[0]
    shape = env.out_shape(0)
    axes = tuple(a % len(shape) for a in (attr_ints(env, "axes") or range(len(shape))))
    kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
    out = np.broadcast_to(dy.reshape(kept), shape)
    scale = float(env.attr("scale", 1.0))
    return (out * np.asarray(scale, dy.dtype)).astype(dy.dtype) if scale != 1.0 else out.copy()


def _sum_to(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    """``dy`` summed down to the output's shape (over ``axes``, or numpy's broadcast axes), times ``scale``."""
    dy = xs[0]
    axes = attr_ints(env, "axes")
    out = sum_to(dy, env.out_shape(0), axes)
    scale = float(env.attr("scale", 1.0))
    return (out * np.asarray(scale, dy.dtype)).astype(dy.dtype) if scale != 1.0 else out


def _gather_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    """Gather's data gradient: every ``dy`` row added into the row it was gathered from."""
    dy, indices = xs[0], xs[1]
    shape = env.out_shape(0)
    axis = int(env.attr("axis", 0)) % len(shape)
    idx = np.where(indices < 0, indices + shape[axis], indices).astype(np.int64)
    out = np.zeros(shape, dy.dtype)
    moved = np.moveaxis(dy, list(range(axis, axis + idx.ndim)), list(range(idx.ndim)))
    np.add.at(np.moveaxis(out, axis, 0), idx, moved)
    return out


def _source_index(env: OpEnv, forward: str, shape: Sequence[int], xs: Sequence[np.ndarray | None],
                  out: Sequence[int]) -> np.ndarray:
    """Which input element each output element of a Slice or nearest Resize reads (flat indices):
    the forward kernel applied to the input's indices."""
    node = env.node
    env_f = OpEnv(Node(node.name, forward, node.inputs, ("",), node.attrs), env.opset,
                  (TensorInfo("", tuple(out), "float64"),))
    positions = np.arange(math.prod(shape), dtype=np.float64).reshape(tuple(shape))
    kernel = _slice if forward == "Slice" else _resize
    return np.asarray(kernel(env_f, [positions, *xs[1:]])).astype(np.int64)


def _scatter_grad(forward: str) -> Kernel:
    def kernel(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
        dy = xs[0]
        shape = env.out_shape(0)
        source = _source_index(env, forward, shape, xs, dy.shape)
        flat = np.bincount(source.ravel(), weights=dy.astype(np.float64).ravel(), minlength=math.prod(shape))
        return flat.reshape(shape).astype(dy.dtype)

    return kernel


# ---------------------------------------------------------------------------------------- losses

def _log_softmax(z: np.ndarray) -> np.ndarray:
    wide = z.astype(np.float64)
    shifted = wide - wide.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _picked(logp: np.ndarray, labels: np.ndarray) -> np.ndarray:
    classes = logp.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"labels must be class indices from 0 to {classes - 1}")
    return np.take_along_axis(logp, labels.astype(np.int64)[..., None], axis=-1)


def _xent(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    """Softmax cross entropy over the last axis, the mean over every other position."""
    z, labels = xs[0], xs[1]
    return np.asarray(-_picked(_log_softmax(z), labels).mean(), z.dtype)


def _xent_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    z, labels = xs[0], xs[1]
    p = np.exp(_log_softmax(z))
    np.put_along_axis(p, labels.astype(np.int64)[..., None], _picked(p, labels) - 1.0, axis=-1)
    return (p / (z.size // z.shape[-1])).astype(z.dtype)


def _mse(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    y, t = xs[0], xs[1]
    d = y.astype(np.float64) - t
    return np.asarray((d * d).mean(), y.dtype)


def _mse_grad(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    y, t = xs[0], xs[1]
    return ((y.astype(np.float64) - t) * (2.0 / y.size)).astype(y.dtype)


# ------------------------------------------------------------------------------------ optimizers

def _f(env: OpEnv, key: str, default: float) -> float:
    return float(env.attr(key, default))


def _sgd(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    """``w − lr·(g + λw)``."""
    w, g = xs[0], xs[1]
    return (w - _f(env, "lr", 0.01) * (g + _f(env, "weight_decay", 0.0) * w)).astype(w.dtype)


def _momentum(env: OpEnv, xs: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's SGD with momentum: ``v' = μv + (g + λw)``, ``w' = w − lr·v'``."""
    w, g, v = xs[0], xs[1], xs[2]
    velocity = _f(env, "momentum", 0.9) * v + (g + _f(env, "weight_decay", 0.0) * w)
    return (w - _f(env, "lr", 0.01) * velocity).astype(w.dtype), velocity.astype(v.dtype)


def _adam(env: OpEnv, xs: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam (Kingma and Ba, 2015, Algorithm 1) at step ``step``; ``decoupled`` is AdamW (Loshchilov and
    Hutter, 2019): the weight decay ``λ`` applies to the weight, not the gradient."""
    w, g, m, v = xs[0], xs[1], xs[2], xs[3]
    lr, b1, b2, eps = _f(env, "lr", 1e-3), _f(env, "beta1", 0.9), _f(env, "beta2", 0.999), _f(env, "epsilon", 1e-8)
    decay, decoupled, t = _f(env, "weight_decay", 0.0), bool(env.attr("decoupled", 0)), int(env.attr("step", 1))
    grad = g if decoupled else g + decay * w
    m2 = b1 * m + (1 - b1) * grad
    v2 = b2 * v + (1 - b2) * grad * grad
    update = (m2 / (1 - b1 ** t)) / (np.sqrt(v2 / (1 - b2 ** t)) + eps)
    if decoupled:
        update = update + decay * w
    return (w - lr * update).astype(w.dtype), m2.astype(m.dtype), v2.astype(v.dtype)


KERNELS: dict[str, Kernel] = {
    "ReluGrad": _relu_grad,
    "ClipGrad": _clip_grad,
    "SigmoidGrad": _sigmoid_grad,
    "TanhGrad": _tanh_grad,
    "ErfGrad": _erf_grad,
    "GeluGrad": _gelu_grad,
    "HardSigmoidGrad": _hard_sigmoid_grad,
    "HardSwishGrad": _hard_swish_grad,
    "SqrtGrad": _sqrt_grad,
    "PowGrad": _pow_grad,
    "SoftmaxGrad": _softmax_grad,
    "LayerNormalizationGrad": _norm_grad,
    "BatchNormalizationGrad": _norm_grad,
    "LayerNormalizationParamGrad": _norm_param_grad,
    "BatchNormalizationParamGrad": _norm_param_grad,
    "MaxPoolGrad": _max_pool_grad,
    "AveragePoolGrad": _avg_pool_grad,
    "ReduceGrad": _reduce_grad,
    "SumTo": _sum_to,
    "GatherGrad": _gather_grad,
    "SliceGrad": _scatter_grad("Slice"),
    "ResizeGrad": _scatter_grad("Resize"),
    "SoftmaxCrossEntropy": _xent,
    "SoftmaxCrossEntropyGrad": _xent_grad,
    "MeanSquaredError": _mse,
    "MeanSquaredErrorGrad": _mse_grad,
    "SGD": _sgd,
    "Momentum": _momentum,
    "Adam": _adam,
}

"""Element-wise kernels with ONNX semantics: activations, arithmetic with broadcasting, comparisons.

numpy's broadcasting is ONNX's multidirectional broadcasting; the executor casts every result to
the type the graph declares, so numpy's promotion rules never leak into the model's values.
"""

from __future__ import annotations

import math
from functools import reduce
from typing import Callable, Sequence

import numpy as np

from ._env import Kernel, OpEnv
from ._erf import erf

__all__ = ["KERNELS", "sigmoid", "gelu"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow for large negative x."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
        return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
    return (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(x.dtype, copy=False)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(x, np.zeros((), x.dtype))


def _unary(fn: Callable[[np.ndarray], np.ndarray]) -> Kernel:
    def kernel(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
        with np.errstate(all="ignore"):
            return fn(xs[0])

    return kernel


def _unary_env(fn: Callable[[OpEnv, np.ndarray], np.ndarray]) -> Kernel:
    def kernel(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
        with np.errstate(all="ignore"):
            return fn(env, xs[0])

    return kernel


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Kernel:
    def kernel(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
        with np.errstate(all="ignore"):
            return fn(xs[0], xs[1])

    return kernel


def _variadic(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Kernel:
    def kernel(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
        return reduce(fn, [x for x in xs if x is not None])

    return kernel


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        # ONNX integer division truncates toward zero (C semantics), unlike numpy's floor division.
        q = np.floor_divide(a, b)
        return np.where((np.mod(a, b) != 0) & ((a < 0) != (b < 0)), q + 1, q)
    return a / b


def _mod(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    a, b = xs[0], xs[1]
    with np.errstate(all="ignore"):
        return np.fmod(a, b) if env.attr("fmod", 0) else np.mod(a, b)


def _pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        return np.power(a, b.astype(a.dtype, copy=False))
    return np.power(a, b)


def _mean(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    present = [x for x in xs if x is not None]
    return reduce(np.add, present) / len(present)


def _clip(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x = xs[0]
    if env.opset < 11:
        lo, hi = env.attr("min", -np.inf), env.attr("max", np.inf)
    else:
        lo = xs[1] if len(xs) > 1 and xs[1] is not None else None
        hi = xs[2] if len(xs) > 2 and xs[2] is not None else None
    if lo is not None:
        x = np.maximum(x, np.asarray(lo, x.dtype))
    if hi is not None:
        x = np.minimum(x, np.asarray(hi, x.dtype))
    return x


def _where(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    return np.where(xs[0].astype(bool, copy=False), xs[1], xs[2])


def _prelu(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    x, slope = xs[0], xs[1]
    if env.opset < 7 and slope.ndim == 1 and x.ndim >= 2 and slope.shape[0] == x.shape[1]:
        # Opset 6 gives one slope per channel (axis 1), not numpy broadcasting over the last axis.
        slope = slope.reshape((-1,) + (1,) * (x.ndim - 2))
    return np.where(x < 0, x * slope, x)


def _bitshift(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    a, b = xs[0], xs[1]
    return np.left_shift(a, b) if env.attr("direction") == "LEFT" else np.right_shift(a, b)


def _dropout(env: OpEnv, xs: Sequence[np.ndarray | None]) -> tuple[np.ndarray, ...]:
    # Inference: identity, and an all-true mask when the graph asks for it.
    x = xs[0]
    return (x, np.ones(x.shape, dtype=bool))[: len(env.node.outputs)]


def _f(env: OpEnv, key: str, default: float) -> float:
    return float(env.attr(key, default))


def _hardsigmoid(env: OpEnv, x: np.ndarray) -> np.ndarray:
    return np.clip(_f(env, "alpha", 0.2) * x + _f(env, "beta", 0.5), 0, 1).astype(x.dtype, copy=False)


def _leaky(env: OpEnv, x: np.ndarray) -> np.ndarray:
    return np.where(x < 0, x * np.asarray(_f(env, "alpha", 0.01), x.dtype), x)


def _elu(env: OpEnv, x: np.ndarray) -> np.ndarray:
    return np.where(x < 0, _f(env, "alpha", 1.0) * np.expm1(x), x).astype(x.dtype, copy=False)


def _celu(env: OpEnv, x: np.ndarray) -> np.ndarray:
    alpha = _f(env, "alpha", 1.0)
    return (np.maximum(x, 0) + np.minimum(0, alpha * np.expm1(x / alpha))).astype(x.dtype, copy=False)


def _selu(env: OpEnv, x: np.ndarray) -> np.ndarray:
    alpha = _f(env, "alpha", 1.67326319217681884765625)
    gamma = _f(env, "gamma", 1.05070102214813232421875)
    return (gamma * np.where(x > 0, x, alpha * np.expm1(x))).astype(x.dtype, copy=False)


def _thresholded(env: OpEnv, x: np.ndarray) -> np.ndarray:
    return np.where(x > _f(env, "alpha", 1.0), x, np.zeros((), x.dtype))


def _shrink(env: OpEnv, x: np.ndarray) -> np.ndarray:
    lambd, bias = _f(env, "lambd", 0.5), _f(env, "bias", 0.0)
    return np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, 0)).astype(x.dtype, copy=False)


def _hardswish(x: np.ndarray) -> np.ndarray:
    return (x * np.clip(x / 6 + 0.5, 0, 1)).astype(x.dtype, copy=False)


def _isinf(env: OpEnv, x: np.ndarray) -> np.ndarray:
    pos, neg = env.attr("detect_positive", 1), env.attr("detect_negative", 1)
    return np.isinf(x) & (((x > 0) & bool(pos)) | ((x < 0) & bool(neg)))


KERNELS: dict[str, Kernel] = {
    "Relu": _unary(lambda x: np.maximum(x, np.zeros((), x.dtype))),
    "Sigmoid": _unary(sigmoid),
    "Tanh": _unary(np.tanh),
    "Erf": _unary(erf),
    "Gelu": _unary_env(lambda env, x: gelu(x, env.attr("approximate", "none"))),
    "HardSigmoid": _unary_env(_hardsigmoid),
    "HardSwish": _unary(_hardswish),
    "LeakyRelu": _unary_env(_leaky),
    "Elu": _unary_env(_elu),
    "Celu": _unary_env(_celu),
    "Selu": _unary_env(_selu),
    "ThresholdedRelu": _unary_env(_thresholded),
    "Shrink": _unary_env(_shrink),
    "Softplus": _unary(_softplus),
    "Softsign": _unary(lambda x: x / (1 + np.abs(x))),
    "Mish": _unary(lambda x: x * np.tanh(_softplus(x))),
    "Exp": _unary(np.exp),
    "Log": _unary(np.log),
    "Sqrt": _unary(np.sqrt),
    "Reciprocal": _unary(lambda x: 1 / x),
    "Neg": _unary(np.negative),
    "Abs": _unary(np.abs),
    "Floor": _unary(np.floor),
    "Ceil": _unary(np.ceil),
    "Round": _unary(np.round),  # round half to even, as ONNX specifies
    "Sign": _unary(np.sign),
    "Sin": _unary(np.sin),
    "Cos": _unary(np.cos),
    "Tan": _unary(np.tan),
    "Asin": _unary(np.arcsin),
    "Acos": _unary(np.arccos),
    "Atan": _unary(np.arctan),
    "Sinh": _unary(np.sinh),
    "Cosh": _unary(np.cosh),
    "Asinh": _unary(np.arcsinh),
    "Acosh": _unary(np.arccosh),
    "Atanh": _unary(np.arctanh),
    "Not": _unary(np.logical_not),
    "IsNaN": _unary(np.isnan),
    "IsInf": _unary_env(_isinf),
    "Identity": _unary(lambda x: x),
    "Dropout": _dropout,
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _binary(_div),
    "Pow": _binary(_pow),
    "Mod": _mod,
    "PRelu": _prelu,
    "BitShift": _bitshift,
    "BitwiseAnd": _binary(np.bitwise_and),
    "BitwiseOr": _binary(np.bitwise_or),
    "BitwiseXor": _binary(np.bitwise_xor),
    "BitwiseNot": _unary(np.invert),
    "And": _binary(np.logical_and),
    "Or": _binary(np.logical_or),
    "Xor": _binary(np.logical_xor),
    "Equal": _binary(np.equal),
    "Less": _binary(np.less),
    "Greater": _binary(np.greater),
    "LessOrEqual": _binary(np.less_equal),
    "GreaterOrEqual": _binary(np.greater_equal),
    "Max": _variadic(np.maximum),
    "Min": _variadic(np.minimum),
    "Sum": _variadic(np.add),
    "Mean": _mean,
    "Clip": _clip,
    "Where": _where,
}

"""The accelerator's integer arithmetic in ``hwsim run --precision int8``: GEMM layers whose fused
chain is the integer store path (:func:`compiler.ops.epilogue.integer_chain`), and pooling on codes.

For such a layer the accumulators go through :func:`hwsim.core.requant.requantize` with parameters
derived from the calibrated scales (:func:`hwsim.core.requant.epilogue`), and a fused or standalone
MaxPool / AveragePool / GlobalAveragePool / GlobalMaxPool works on the int8 codes
(:func:`hwsim.core.requant.average_codes`), exactly as the RTL's epilogue and pooling unit do. The
parameters of every such layer are kept (:class:`GemmQuant`, :class:`PoolQuant`): the DRAM image
builder lays them out for the RTL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compiler.graph import Graph, Node
from compiler.kernels import KERNELS, OpEnv, padded, taps
from compiler.ops.window import Window
from hwsim.core.requant import Average, Epilogue, average, average_codes

__all__ = ["GemmQuant", "PoolQuant", "LayerQuant", "pool_codes", "channels_last", "channels_back"]


@dataclass(frozen=True)
class GemmQuant:
    """A GEMM layer on the integer store path: its weight codes ``(k, n)`` in the product's K order,
    the epilogue, and the scales of its streamed input ``a`` (``s_a``), its residual and its
    output (the value the epilogue writes: the pool's input when a pool is fused)."""

    node: str
    a: str
    weights: np.ndarray
    epilogue: Epilogue
    s_a: float
    output: str
    s_y: float
    residual: str | None = None
    s_r: float | None = None


@dataclass(frozen=True)
class PoolQuant:
    """A pooling step on codes: ``mode`` ``"max"`` (output at the input's scale) or ``"average"``
    (``average``'s multiplier and shift), over ``window``, from value ``input`` to ``output``."""

    node: str
    mode: str
    window: Window
    input: str
    output: str
    s_in: float
    s_out: float
    average: Average | None = None


LayerQuant = GemmQuant | PoolQuant


def channels_last(x: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(x, axis, -1)


def channels_back(x: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(x, -1, axis)


def _window_sums(codes: np.ndarray, w: Window) -> np.ndarray:
    """Each window's sum of codes (int64), padding as zeros."""
    x = codes.astype(np.int64)
    xp = padded(x, w.kernel, w.strides, w.dilations, w.begin, w.end, w.out_size, fill=0)
    total = None
    for _, tap in taps(xp, w.kernel, w.strides, w.dilations, w.out_size):
        total = tap.copy() if total is None else total + tap
    assert total is not None
    return total


def pool_codes(node: Node, graph: Graph, w: Window, codes: np.ndarray, s_in: float, s_out: float,
               bits: int) -> tuple[np.ndarray, PoolQuant]:
    """The pooled codes of ``codes`` (NC + spatial) and the step's parameters. MaxPool keeps the
    input's scale (``s_out`` is ignored); an average maps ``s_in`` to ``s_out``."""
    if node.op_type in ("MaxPool", "GlobalMaxPool"):
        if node.op_type == "GlobalMaxPool":
            out = codes.max(axis=tuple(range(2, codes.ndim)), keepdims=True)
        else:
            env = OpEnv(node, graph.opset, (graph.tensors.get(node.outputs[0]),))
            out = KERNELS["MaxPool"](env, [codes])
        return out, PoolQuant(node.name, "max", w, node.inputs[0], node.outputs[0], s_in, s_in)
    params = average(s_in=s_in, s_out=s_out, count=w.cells, bits=bits)
    if node.op_type == "GlobalAveragePool":
        sums = codes.astype(np.int64).sum(axis=tuple(range(2, codes.ndim)), keepdims=True)
    else:
        sums = _window_sums(codes, w)
    out = average_codes(sums, params)
    return out, PoolQuant(node.name, "average", w, node.inputs[0], node.outputs[0], s_in, s_out, params)

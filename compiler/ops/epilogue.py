"""A GEMM's fused epilogue read as the accelerator's integer store path (docs/run.md#quantization).

The integer store path (:mod:`hwsim.core.requant`) computes, per output channel ``c``::

    clamp(round((gain[c] * (acc * s_a * s_w[c]) + offset[c]) [ReLU] [+ residual]) / s_y), lo, hi)

and a pooling unit may follow it. :func:`integer_chain` says whether a GEMM node's fused chain has
that form, step by step in its order:

1. ``scale`` steps, any number: Add/Sub/Mul/Div by a constant that is a scalar or one value per
   output channel, an inference BatchNormalization (they fold into ``gain`` and ``offset``,
   together with the node's own bias or Gemm's ``alpha``/``beta * C``);
2. activations, Relu or Clip; before a residual add only ReLU-like ones (Clip with min 0 and no
   max), which become ``relu_pre``;
3. at most one residual ``Add`` of another activation tensor;
4. Relu or Clip after it (code bounds ``lo``/``hi``);
5. a MaxPool or AveragePool last.

Any other chain (a Sigmoid, a Mul after an activation, a pool followed by more steps) is not the
store path's: :func:`integer_chain` returns the reason as text, and ``hwsim run`` keeps its float
epilogue for that layer while the accelerator's code generator refuses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..graph import Graph, Node
from .gemm import gemm_view, product_output
from .window import GLOBAL_POOLS, POOL_OPS, Window, window

__all__ = ["IntegerChain", "integer_chain", "integer_pool", "channel_axis", "affine", "clip_bounds", "INTEGER_HOSTS"]

#: GEMM operators whose fused chain may run on the integer store path (with a constant weight B).
INTEGER_HOSTS = frozenset({"Conv", "Gemm", "MatMul"})
_SCALES = frozenset({"Add", "Sub", "Mul", "Div", "BatchNormalization"})
_ACTIVATIONS = frozenset({"Relu", "Clip"})


@dataclass(frozen=True)
class IntegerChain:
    """The steps of one GEMM node's chain, sorted into the store path's slots.

    ``output`` is the value the integer epilogue produces: the pool's input when the chain ends in
    a pool, else the node's output. ``residual`` names the residual operand (``None``: none);
    ``pre`` holds the activations before it (ReLU-like, so ``relu_pre``), ``clamps`` those after
    it (all of them when there is no residual).
    """

    scales: tuple[Node, ...]
    pre: tuple[Node, ...]
    residual: str | None
    clamps: tuple[Node, ...]
    pool: Node | None
    output: str
    channel_axis: int

    @property
    def relu_pre(self) -> bool:
        return bool(self.pre)


def channel_axis(node: Node, graph: Graph) -> int:
    """The output axis that holds the GEMM's ``n`` (output channels): 1 for Conv, the last otherwise."""
    rank = len(graph.shape(product_output(node)))
    return 1 if node.op_type == "Conv" else rank - 1


def _per_channel(shape: tuple[int, ...], out: tuple[int, ...], axis: int) -> bool:
    """A constant of ``shape`` broadcast against ``out`` varies at most along ``axis``."""
    if len(shape) > len(out):
        return False
    offset = len(out) - len(shape)
    return all(d == 1 or (offset + i == axis and d == out[axis]) for i, d in enumerate(shape))


def _constant(graph: Graph, name: str) -> np.ndarray | None:
    return graph.constants.get(name) if name else None


def _clip_values(node: Node, graph: Graph) -> tuple[float | None, float | None]:
    """(min, max) of a Relu or Clip node in real units (``None``: unbounded)."""
    if node.op_type == "Relu":
        return 0.0, None
    if graph.opset < 11:
        lo, hi = node.attr("min"), node.attr("max")
    else:
        ins = list(node.inputs) + ["", ""]
        lo_v, hi_v = _constant(graph, ins[1]), _constant(graph, ins[2])
        lo = None if lo_v is None else float(lo_v)
        hi = None if hi_v is None else float(hi_v)
    lo = None if lo is None or lo == -math.inf else float(lo)
    hi = None if hi is None or hi == math.inf else float(hi)
    return lo, hi


def integer_chain(node: Node, graph: Graph) -> IntegerChain | str:
    """The integer store path of ``node``'s fused chain, or why it has none (a sentence)."""
    if node.op_type not in INTEGER_HOSTS or node.domain:
        return f"{node.op_type} does not run on the integer store path"
    view = gemm_view(node, graph)
    if view.swapped or not view.b_is_weight(graph):
        return "its second operand is not a constant weight"
    if view.shape.groups != 1:
        return f"it has {view.shape.groups} groups (a grouped or batched product)"
    out = graph.shape(product_output(node))
    axis = channel_axis(node, graph)
    if node.op_type == "Gemm" and view.bias is not None and not _per_channel(graph.shape(view.bias), out, axis):
        return "its C operand is not one value per output channel"
    scales: list[Node] = []
    pre: list[Node] = []
    clamps: list[Node] = []
    residual: str | None = None
    pool: Node | None = None
    value = product_output(node)
    for step in node.meta.epilogue:
        op = step.op_type
        others = [i for i in step.inputs if i and i != value]
        if pool is not None:
            return f"{op} '{step.name}' follows the pooling"
        if op in POOL_OPS:
            w = integer_pool(step, graph)
            if isinstance(w, str):
                return f"{op} '{step.name}': {w}"
            pool = step
        elif op in _ACTIVATIONS:
            clamps.append(step)  # before a residual add they become relu_pre (checked there)
        elif op == "Add" and others and not graph.is_constant(others[0]):
            if residual is not None:
                return f"a second residual Add '{step.name}'"
            for act in clamps:
                lo, hi = _clip_values(act, graph)
                if lo != 0.0 or hi is not None:
                    return f"{act.op_type} '{act.name}' before the residual add is not a ReLU"
            pre, clamps = clamps, []
            residual = others[0]
        elif op in _SCALES:
            if clamps or pre or residual is not None:
                return f"{op} '{step.name}' scales the result after an activation or the residual add"
            if op == "BatchNormalization":
                if axis != 1:
                    return f"BatchNormalization '{step.name}' normalizes an axis that is not the output channels"
            elif not others or not graph.is_constant(others[0]) or not _per_channel(graph.shape(others[0]), out, axis):
                return f"{op} '{step.name}' is not by one constant per output channel"
            elif op in ("Sub", "Div") and step.inputs[1] != others[0]:
                return f"{op} '{step.name}' has the result as its second operand"
            scales.append(step)
        else:
            return f"{op} '{step.name}' is not one of the store path's steps (bias, BatchNormalization, Relu, Clip, residual Add, pooling)"
        value = step.outputs[0]
    output = pool.inputs[0] if pool is not None else node.outputs[0]
    return IntegerChain(tuple(scales), tuple(pre), residual, tuple(clamps), pool, output, axis)


def integer_pool(node: Node, graph: Graph) -> Window | str:
    """The window of a pooling node that runs on int8 codes (max, or an average over a constant
    number of cells), or why it cannot (a sentence)."""
    if node.op_type not in POOL_OPS | GLOBAL_POOLS or node.domain:
        return f"{node.op_type} is not a max or average pooling"
    if len([o for o in node.outputs if o]) != 1:
        return "its Indices output is used"
    w = window(node, graph)
    if node.op_type == "AveragePool" and not w.counts_constant(bool(node.attr("count_include_pad", 0))):
        return "its windows average different numbers of cells (padding that is not counted)"
    return w


def _channels(v: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(v, dtype=np.float64).reshape(-1), (n,)) if np.size(v) in (1, n) else \
        np.asarray(v, dtype=np.float64).reshape(n)


def affine(node: Node, chain: IntegerChain, graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """``(gain, offset)`` per output channel (float64, shape ``(n,)``): the chain's value before its
    activations is ``gain * product + offset``. Needs the constants' values (a graph with weights)."""
    view = gemm_view(node, graph)
    n = view.shape.n
    gain = np.ones(n)
    offset = np.zeros(n)
    if view.bias is not None:
        bias = graph.constants[view.bias]
        beta = float(node.attr("beta", 1.0)) if node.op_type == "Gemm" else 1.0
        offset = offset + beta * _channels(bias, n)
    if node.op_type == "Gemm":
        alpha = float(node.attr("alpha", 1.0))
        gain = gain * alpha
    value = product_output(node)
    for step in chain.scales:
        if step.op_type == "BatchNormalization":
            scale, b, mean, var = (graph.constants[i].astype(np.float64) for i in step.inputs[1:5])
            g = scale / np.sqrt(var + float(step.attr("epsilon", 1e-5)))
            gain, offset = gain * g, offset * g + (b - mean * g)
        else:
            other = next(i for i in step.inputs if i and i != value)
            c = _channels(graph.constants[other], n)
            if step.op_type == "Add":
                offset = offset + c
            elif step.op_type == "Sub":
                offset = offset - c
            elif step.op_type == "Mul":
                gain, offset = gain * c, offset * c
            else:
                gain, offset = gain / c, offset / c
        value = step.outputs[0]
    return gain, offset


def clip_bounds(chain: IntegerChain, graph: Graph) -> tuple[float | None, float | None]:
    """The tightest (min, max) in real units of the chain's clamps after the residual (``None``: open)."""
    lo: float | None = None
    hi: float | None = None
    for act in chain.clamps:
        a, b = _clip_values(act, graph)
        if a is not None:
            lo = a if lo is None else max(lo, a)
        if b is not None:
            hi = b if hi is None else min(hi, b)
    return lo, hi

"""Fold an inference BatchNormalization into the Conv, ConvTranspose or Gemm that feeds it.

Contract: ``BatchNormalization(P(x, W, b))`` becomes ``P(x, W', b')`` with
``s = scale / sqrt(var + epsilon)``, ``W' = W * s`` along the output-channel axis and
``b' = (b - mean) * s + B``, when P's output feeds only the BatchNorm, P's weight (and bias) and the
BatchNorm's four parameters are constants, and the BatchNorm's optional outputs are unused. A Gemm
keeps ``alpha``; its ``C`` becomes ``s * (beta * C - mean) + B`` and ``beta`` becomes 1.

The folded parameters get new names (``<bn>/folded_weight``, ``<bn>/folded_bias``). With their
inputs' values present they are computed; otherwise they are shape-only parameters. The folded node
keeps its name and lists the BatchNorm in ``meta.folded``, so lowering can report which ONNX
nodes a workload covers.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..graph import Graph, Node, TensorInfo
from ..ops.shapes import broadcast

__all__ = ["run"]

_HOSTS = ("Conv", "ConvTranspose", "Gemm")


def _foldable(bn: Node, graph: Graph, producers: dict[str, Node], users: dict[str, list[Node]]) -> Node | None:
    if bn.op_type != "BatchNormalization" or bn.domain or bn.attr("training_mode", 0) or len(bn.inputs) < 5:
        return None
    host = producers.get(bn.inputs[0])
    if host is None or host.op_type not in _HOSTS or host.domain or host.meta.epilogue:
        return None
    if len(users.get(bn.inputs[0], [])) != 1 or bn.inputs[0] in graph.outputs:
        return None
    if any(o in users or o in graph.outputs for o in bn.outputs[1:] if o):
        return None
    params = list(bn.inputs[1:5]) + [i for i in host.inputs[1:3] if i]
    if not all(graph.is_constant(p) for p in params):
        return None
    if host.op_type == "Gemm" and len(graph.shape(bn.inputs[0])) != 2:
        return None
    return host


def _fresh(graph: Graph, taken: dict[str, TensorInfo], base: str) -> str:
    name, n = base, 1
    while name in graph.tensors or name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _folded_values(host: Node, bn: Node, graph: Graph, channels: int, bias_shape: tuple[int, ...],
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """``(W', b')`` when every input value is known, else ``None`` (shape-only folding)."""
    names = [host.inputs[1]] + list(bn.inputs[1:5]) + ([host.inputs[2]] if len(host.inputs) > 2 and host.inputs[2] else [])
    if not all(n in graph.constants for n in names):
        return None
    w = graph.constants[host.inputs[1]].astype(np.float64)
    gamma, beta, mean, var = (graph.constants[n].astype(np.float64).reshape(-1) for n in bn.inputs[1:5])
    s = gamma / np.sqrt(var + float(bn.attr("epsilon", 1e-5)))
    has_bias = len(host.inputs) > 2 and bool(host.inputs[2])
    b = graph.constants[host.inputs[2]].astype(np.float64) if has_bias else np.zeros(())
    if host.op_type == "Conv":
        w = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
        b = (b - mean) * s + beta
    elif host.op_type == "ConvTranspose":
        group = int(host.attr("group", 1))
        grouped = w.reshape((group, w.shape[0] // group, w.shape[1]) + w.shape[2:])
        grouped = grouped * s.reshape((group, 1, w.shape[1]) + (1,) * (w.ndim - 2))
        w = grouped.reshape(w.shape)
        b = (b - mean) * s + beta
    else:  # Gemm: B is (K, N), or (N, K) with transB
        w = w * (s.reshape(-1, 1) if host.attr("transB", 0) else s.reshape(1, -1))
        b = s * (float(host.attr("beta", 1.0)) * b - mean) + beta
    dtype = graph.info(host.inputs[1]).dtype
    return w.astype(dtype), np.broadcast_to(b, bias_shape).astype(dtype)


def run(graph: Graph) -> Graph:
    producers, users = graph.producers(), graph.consumers()
    replaced: dict[str, Node] = {}  # host name -> folded host
    dropped: set[str] = set()
    new_infos: dict[str, TensorInfo] = {}
    new_values: dict[str, np.ndarray] = {}
    for bn in graph.nodes:
        host = _foldable(bn, graph, producers, users)
        if host is None:
            continue
        out = bn.inputs[0]
        channels = graph.shape(out)[1]
        w_info = graph.info(host.inputs[1])
        if host.op_type == "Gemm":
            c = host.inputs[2] if len(host.inputs) > 2 and host.inputs[2] else None
            bias_shape = broadcast(graph.shape(c), (channels,)) if c else (channels,)
        else:
            bias_shape = (channels,)
        w_name = _fresh(graph, new_infos, f"{bn.name}/folded_weight")
        new_infos[w_name] = TensorInfo(w_name, w_info.shape, w_info.dtype)
        b_name = _fresh(graph, new_infos, f"{bn.name}/folded_bias")
        new_infos[b_name] = TensorInfo(b_name, bias_shape, w_info.dtype)
        with np.errstate(all="ignore"):  # whatever the weights hold, folding must not warn or fail
            values = _folded_values(host, bn, graph, channels, bias_shape)
        if values is not None:
            new_values[w_name], new_values[b_name] = values
        attrs = {**host.attrs, "beta": 1.0} if host.op_type == "Gemm" else host.attrs
        replaced[host.name] = replace(host, inputs=(host.inputs[0], w_name, b_name), outputs=(bn.outputs[0],),
                                      attrs=attrs, meta=replace(host.meta, folded=host.meta.folded + (bn.name,)))
        dropped.add(bn.name)
    if not dropped:
        return graph
    nodes = tuple(replaced.get(n.name, n) for n in graph.nodes if n.name not in dropped)
    return replace(graph, nodes=nodes, tensors={**graph.tensors, **new_infos},
                   constants={**graph.constants, **new_values}, weights=graph.weights | set(new_infos))

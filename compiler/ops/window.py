"""The sliding-window geometry of a convolution or a pooling node, from its attributes and shapes.

One place reads ``kernel_shape``/the weight's shape, ``strides``, ``dilations``, ``pads`` and
``auto_pad`` for the consumers that need the geometry without running the kernel: the integer
pooling of ``hwsim run`` (constant window counts) and the accelerator's code generator (input
windows of an output tile, CONFIG's geometry).

>>> from compiler.graph import Graph, Node, TensorInfo
>>> t = {"x": TensorInfo("x", (1, 8, 9, 9), "float32"), "y": TensorInfo("y", (1, 8, 5, 5), "float32")}
>>> pool = Node("p", "AveragePool", ("x",), ("y",), {"kernel_shape": (3, 3), "strides": (2, 2), "pads": (1, 1, 1, 1)})
>>> w = window(pool, Graph("g", ("x",), ("y",), (pool,), t))
>>> w.kernel, w.begin, w.out_size, w.counts_constant(include_pad=False), w.counts_constant(include_pad=True)
((3, 3), (1, 1), (5, 5), False, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..graph import Graph, Node
from ..kernels import spatial_pads
from .gemm import product_output

__all__ = ["Window", "window", "POOL_OPS", "GLOBAL_POOLS"]

#: Pooling operators over windows, and the global ones (one window of the whole image).
POOL_OPS = frozenset({"MaxPool", "AveragePool"})
GLOBAL_POOLS = frozenset({"GlobalAveragePool", "GlobalMaxPool"})


@dataclass(frozen=True)
class Window:
    """Windows of ``kernel`` cells (spaced ``dilations``) every ``strides`` over an input of
    ``in_size`` padded by ``begin``/``end`` (ceil-mode windows may reach past ``end``), giving
    ``out_size`` outputs per spatial axis."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    begin: tuple[int, ...]
    end: tuple[int, ...]
    in_size: tuple[int, ...]
    out_size: tuple[int, ...]

    @property
    def cells(self) -> int:
        """Cells of one whole window."""
        return math.prod(self.kernel)

    def first_row(self, out: int, axis: int = 0) -> int:
        """The input position (padded coordinates shifted back: may be negative) of output ``out``'s
        first tap along ``axis``."""
        return out * self.strides[axis] - self.begin[axis]

    def span(self, axis: int = 0) -> int:
        """Input positions one window covers along ``axis``: ``(k - 1) * d + 1``."""
        return (self.kernel[axis] - 1) * self.dilations[axis] + 1

    def counts_constant(self, include_pad: bool) -> bool:
        """Whether every window averages over the same number of cells: no window reaches past the
        input (or, with ``include_pad``, past the declared pads)."""
        for axis, (size, o) in enumerate(zip(self.in_size, self.out_size)):
            lo, hi = (-self.begin[axis], size + self.end[axis]) if include_pad else (0, size)
            for edge in (0, o - 1):
                start = self.first_row(edge, axis)
                if start < lo or start + self.span(axis) > hi:
                    return False
        return True


def window(node: Node, graph: Graph) -> Window:
    """The geometry of a Conv (its product's windows), a MaxPool/AveragePool, or a global pool."""
    x = graph.shape(node.inputs[0])
    in_size = tuple(x[2:])
    if node.op_type in GLOBAL_POOLS:
        ones = (1,) * len(in_size)
        zeros = (0,) * len(in_size)
        return Window(in_size, ones, ones, zeros, zeros, in_size, ones)
    if node.op_type in POOL_OPS:
        kernel = tuple(node.attr("kernel_shape"))
        out = graph.shape(node.outputs[0])
    else:
        kernel = tuple(graph.shape(node.inputs[1])[2:])
        out = graph.shape(product_output(node))
    rank = len(kernel)
    strides = tuple(node.attr("strides") or (1,) * rank)
    dilations = tuple(node.attr("dilations") or (1,) * rank)
    begin, end = spatial_pads(node.attr("auto_pad", "NOTSET"), node.attr("pads"), in_size, kernel, strides, dilations)
    return Window(kernel, strides, dilations, tuple(begin), tuple(end), in_size, tuple(out[2:]))

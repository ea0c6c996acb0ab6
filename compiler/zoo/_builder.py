"""A small graph builder over ``onnx.helper`` shared by the zoo models.

Parameters are either deterministic random data (``weights=True``, from ``numpy.random.default_rng``)
or *external-data references with no data file* (``weights=False``): the model is complete as far as
shapes go, tiny to build and to parse, and any attempt to read its weights fails loudly.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..ops.dtypes import numpy_to_onnx

__all__ = ["Builder", "Dim"]

Dim = int | str | None  #: a static dim, a symbolic dim_param, or -1 for Paddle's "any"


class Builder:
    """Accumulates nodes and parameters; names are deterministic (``/scope/Op_n``)."""

    def __init__(self, name: str, *, weights: bool, seed: int = 0, opset: int = 17,
                 constant_nodes: bool = False) -> None:
        self.name = name
        self.weights = weights
        self.rng = np.random.default_rng(seed)
        self.opset = opset
        self.constant_nodes = constant_nodes
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._counts: dict[str, int] = {}
        self._offset = 0

    # ------------------------------------------------------------------------------------ names

    def unique(self, base: str) -> str:
        n = self._counts.get(base, 0)
        self._counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    # ------------------------------------------------------------------------------- parameters

    def param(self, name: str, shape: Sequence[int], *, std: float = 0.02, mean: float = 0.0,
              low: float | None = None, high: float | None = None, values: np.ndarray | None = None,
              dtype: str = "float32") -> str:
        """A model parameter: random data (or ``values``) with weights, else an external reference."""
        name = self.unique(name)
        shape = tuple(int(d) for d in shape)
        if self.weights:
            if values is not None:
                data = np.asarray(values, dtype=dtype).reshape(shape)
            elif low is not None:
                data = self.rng.uniform(low, high, size=shape).astype(dtype)
            else:
                data = (self.rng.standard_normal(shape) * std + mean).astype(dtype)
            tensor = numpy_helper.from_array(data, name)
        else:
            tensor = TensorProto(name=name, data_type=numpy_to_onnx(dtype), dims=shape)
            tensor.data_location = TensorProto.EXTERNAL
            length = math.prod(shape) * np.dtype(dtype).itemsize
            for key, value in (("location", f"{self.name}.weights"), ("offset", str(self._offset)),
                               ("length", str(length))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            self._offset += length
        return self._emit(name, tensor)

    def he(self, name: str, shape: Sequence[int], fan_in: int | None = None) -> str:
        """A weight with He-normal scale (keeps activations O(1) through deep stacks)."""
        fan_in = fan_in or math.prod(shape[1:])
        return self.param(name, shape, std=math.sqrt(2.0 / fan_in))

    def const(self, values: object, name: str = "const", dtype: str | None = None) -> str:
        """A small constant the exporter stores inline (shapes, scalars), weights or not."""
        data = np.asarray(values, dtype=dtype)
        if data.dtype == np.float64:
            data = data.astype(np.float32)
        name = self.unique(name)
        return self._emit(name, numpy_helper.from_array(data, name))

    def _emit(self, name: str, tensor: TensorProto) -> str:
        if self.constant_nodes:
            self.nodes.append(helper.make_node("Constant", [], [name], name=self.unique(f"{name}/Constant"),
                                               value=tensor))
        else:
            self.initializers.append(tensor)
        return name

    # ------------------------------------------------------------------------------------ nodes

    def node(self, op: str, inputs: Sequence[str], scope: str = "", outputs: int = 1, **attrs: object) -> str:
        """Add one node; returns its output name (the first when ``outputs > 1``, see :meth:`multi`)."""
        return self.multi(op, inputs, scope, outputs, **attrs)[0]

    def multi(self, op: str, inputs: Sequence[str], scope: str = "", outputs: int = 1, **attrs: object) -> list[str]:
        name = self.unique(f"{scope}/{op}")
        outs = [f"{name}_output_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=name, **attrs))
        return outs

    # ------------------------------------------------------------------------------- graph I/O

    def input(self, name: str, elem: int, dims: Sequence[Dim]) -> str:
        self.inputs.append(self._value_info(name, elem, dims))
        return name

    def output(self, value: str, name: str, elem: int, dims: Sequence[Dim]) -> str:
        """Expose ``value`` as graph output ``name`` (through an Identity, as exporters do).

        Negative dims become symbolic (Paddle2ONNX names them ``p2o.DynamicDimension.N``).
        """
        self.nodes.append(helper.make_node("Identity", [value], [name], name=self.unique("/output/Identity")))
        dims = [f"p2o.DynamicDimension.{i}" if isinstance(d, int) and d < 0 else d for i, d in enumerate(dims)]
        self.outputs.append(self._value_info(name, elem, dims))
        return name

    @staticmethod
    def _value_info(name: str, elem: int, dims: Sequence[Dim]) -> onnx.ValueInfoProto:
        vi = helper.make_tensor_value_info(name, elem, None)
        shape = vi.type.tensor_type.shape
        for d in dims:
            dim = shape.dim.add()
            if isinstance(d, str):
                dim.dim_param = d
            elif d is not None:
                dim.dim_value = int(d)
        return vi

    def model(self) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                  producer_name="hwsim.zoo", producer_version="1")
        model.ir_version = 8
        return model

    # ------------------------------------------------------------------------ common sub-graphs

    def shape_dim(self, x: str, index: int, scope: str) -> str:
        """``Shape(x) -> Gather(index) -> Unsqueeze(0)``: one dim as a 1-element int64 tensor."""
        shape = self.node("Shape", [x], scope)
        dim = self.node("Gather", [shape, self.const(np.int64(index), "idx")], scope, axis=0)
        return self.node("Unsqueeze", [dim, self.const([0], "axes", "int64")], scope)

    def reshape_dynamic(self, x: str, keep: Sequence[int], tail: Sequence[int], scope: str) -> str:
        """Reshape ``x`` to ``[x.shape[i] for i in keep] + tail`` the way PyTorch exports ``view``."""
        parts = [self.shape_dim(x, i, scope) for i in keep]
        parts += [self.const([d], "dim", "int64") for d in tail]
        target = self.node("Concat", parts, scope, axis=0)
        return self.node("Reshape", [x, target], scope)

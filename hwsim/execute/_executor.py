"""Walk the compiled graph in order and compute every value, array layers tile by tile.

A GEMM node (the anchor of a lowered GEMM workload) runs the tiles its layer has in the
:class:`~hwsim.core.program.Program`; its fused epilogue (``meta.epilogue``: bias-like arithmetic,
activations, QuantizeLinear) runs after the last K tile, node by node, with the same kernels as
unfused nodes. Everything else runs through the one kernel table, :data:`compiler.kernels.KERNELS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from compiler.graph import Graph, Node, TensorInfo
from compiler.kernels import KERNELS, OpEnv
from compiler.ops import ShapeError
from compiler.ops import TRAINING_DOMAIN
from compiler.ops.costs import ALIASES
from compiler.ops.epilogue import IntegerChain, affine, clip_bounds, integer_chain, integer_pool
from compiler.ops.gemm import GEMM_OPS, gemm_view, is_gemm, product_output
from hwsim.core.errors import InternalError, UserError
from hwsim.core.program import LayerSchedule, Program
from hwsim.core.requant import epilogue as integer_epilogue
from hwsim.core.requant import requantize
from hwsim.core.workload import Kind

from ._gemm import ArrayRunner, QuantizedOperand, TileHook, qdq_weight_ok
from ._integer import GemmQuant, LayerQuant, channels_back, channels_last, pool_codes
from ._quant import quantize, symmetric_scale

__all__ = ["Compiled", "Executor", "Observer", "dequantized_weights"]

#: Sees every float value the run computes (name, value); calibration records ranges with it.
Observer = Callable[[str, np.ndarray], None]

#: Operators whose output keeps its input's scale in int8: views share the bytes, a max picks codes.
_SAME_SCALE = ALIASES | {"MaxPool", "GlobalMaxPool"}


@dataclass(frozen=True)
class Compiled:
    """A model ready to run on one accelerator: the compiled graph (with weights), its tile program
    (whose config the run uses), and the quantization of its weights.

    ``dequantized`` maps each value that a DequantizeLinear of a constant integer tensor produced
    (folded into a float weight by the compiler) to its codes, scale and zero point, so QDQ layers
    can run on the integer array with the model's own parameters.
    """

    graph: Graph
    program: Program
    dequantized: Mapping[str, QuantizedOperand] = field(default_factory=dict)


def _env(graph: Graph, node: Node) -> OpEnv:
    infos: tuple[TensorInfo | None, ...] = tuple(graph.tensors.get(o) if o else None for o in node.outputs)
    return OpEnv(node, graph.opset, infos)


class Executor:
    """One compiled model in one precision; :meth:`run` maps inputs to outputs.

    ``act_ranges`` (int8 post-training quantization) gives each activation's calibrated max |x|;
    ``None`` runs unquantized layers in fp32. A range becomes a scale at the width of the port it
    enters: ``input_bits`` for A and for layer outputs, ``weight_bits`` for an activation B. Views,
    MaxPool and a GEMM ending in a fused MaxPool keep their input's scale (:meth:`scale_of`).

    In int8, GEMM layers on the integer store path and pooling layers compute on codes
    (:mod:`._integer`); their parameters collect in :attr:`quant` by node name. With
    ``keep_codes`` every quantized value's int8 codes collect in :attr:`codes` (ONNX layout).
    """

    def __init__(
        self,
        compiled: Compiled,
        *,
        act_ranges: Mapping[str, float] | None = None,
        literal: bool = False,
        tile_hook: TileHook | None = None,
        keep_codes: bool = False,
    ) -> None:
        self.compiled = compiled
        self.graph = compiled.graph
        self.cfg = compiled.program.config
        self.act_ranges = act_ranges
        self.keep_codes = keep_codes
        self.codes: dict[str, np.ndarray] = {}
        self.quant: dict[str, LayerQuant] = {}
        self._scales: dict[str, np.ndarray | None] = {}
        self._chains: dict[str, IntegerChain | str] = {}
        self.array = ArrayRunner(self.cfg, literal=literal, tile_hook=tile_hook)
        self.anchors: dict[str, LayerSchedule] = {}
        for layer in compiled.program.layers:
            w = layer.workload
            if w.kind is Kind.GEMM:
                self.anchors[w.nodes[0] if w.nodes else w.name] = layer
        self.producers = self.graph.producers()

    # ------------------------------------------------------------------------------------ driver

    def run(self, inputs: Mapping[str, np.ndarray], observe: Observer | None = None) -> dict[str, np.ndarray]:
        graph = self.graph
        values: dict[str, np.ndarray] = dict(graph.constants)
        values.update(inputs)
        if observe is not None:
            for name in graph.inputs:
                observe(name, values[name])
        if self.keep_codes and self.act_ranges is not None:
            for name in graph.inputs:
                scale = self.scale_of(name)
                if scale is not None and values[name].dtype.kind == "f":
                    self.codes[name] = quantize(values[name], scale, self.cfg.input_bits)
        remaining = self._uses()
        keep = set(graph.outputs)
        for node in graph.nodes:
            outputs = [o for o in node.outputs if o]
            if outputs and all(o in graph.constants for o in outputs):
                continue
            results = self._node(node, values, observe)
            for name, value in zip(node.outputs, results):
                if not name:
                    continue
                value = self._conform(node, name, value)
                values[name] = value
                if observe is not None and value.dtype.kind == "f":
                    observe(name, value)
            for name in self._reads(node):
                remaining[name] -= 1
                if remaining[name] == 0 and name not in keep and name not in graph.constants:
                    values.pop(name, None)
        # An output the compiler folded to a constant (a constant subgraph) is in graph.constants.
        return {name: values[name] if name in values else graph.constants[name] for name in graph.outputs}

    def _reads(self, node: Node) -> list[str]:
        names = node.reads()
        # A QDQ layer reads the codes behind its DequantizeLinear inputs.
        if node.op_type in GEMM_OPS:
            for i in node.inputs[:2]:
                dq = self.producers.get(i)
                if dq is not None and dq.op_type == "DequantizeLinear":
                    names.extend(x for x in dq.inputs if x)
        return names

    def _uses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.graph.nodes:
            for name in self._reads(node):
                counts[name] = counts.get(name, 0) + 1
        return counts

    def _conform(self, node: Node, name: str, value: np.ndarray) -> np.ndarray:
        """Cast to the declared dtype; a shape that differs from the compiled graph's is a bug."""
        value = np.asarray(value)
        info = self.graph.tensors.get(name)
        if info is None:
            return value
        if value.dtype != np.dtype(info.dtype):
            value = value.astype(info.dtype)
        if tuple(value.shape) != tuple(info.shape):
            raise InternalError(
                f"node '{node.name}' ({node.op_type}) computed '{name}' with shape {value.shape},"
                f" but the compiled graph says {info.shape}"
            )
        return value

    # ------------------------------------------------------------------------------------- nodes

    def _kernel(self, node: Node, xs: list[np.ndarray | None]) -> tuple[np.ndarray, ...]:
        if node.domain and node.domain not in ("ai.onnx", TRAINING_DOMAIN):
            raise UserError(f"node '{node.name}': operator {node.domain}.{node.op_type} is not supported by hwsim run")
        kernel = KERNELS.get(node.op_type)
        if kernel is None:
            raise UserError(f"node '{node.name}': operator {node.op_type} is not supported by hwsim run")
        try:
            with np.errstate(all="ignore"):
                out = kernel(_env(self.graph, node), xs)
        except NotImplementedError as e:
            raise UserError(f"node '{node.name}' ({node.op_type}): {e} is not supported by hwsim run") from None
        except (ValueError, TypeError, IndexError, KeyError, ShapeError) as e:
            reason = str(e).splitlines()[0] if str(e) else e.__class__.__name__
            raise UserError(f"node '{node.name}' ({node.op_type}): cannot execute it on these inputs ({reason})") from None
        return out if isinstance(out, tuple) else (out,)

    def _node(self, node: Node, values: Mapping[str, np.ndarray], observe: Observer | None = None) -> tuple[np.ndarray, ...]:
        xs = [values[i] if i else None for i in node.inputs]
        on_array = is_gemm(node)
        if on_array and node.name not in self.anchors and node.op_type in KERNELS:
            on_array = False  # an Einsum the lowering could not view as a GEMM
        if self.act_ranges is not None:
            integer = self._integer_layer(node, xs, values, on_array)
            if integer is not None:
                return (integer,)
        if not on_array:
            results = self._kernel(node, xs)
            if not node.meta.epilogue:
                return results
            result = results[0]
        else:
            result = self._array_layer(node, xs, values)
        epilogue = node.meta.epilogue
        if not epilogue:
            return (self._requantize(node.outputs[0], result),)
        # The chain reads the GEMM's own (pre-epilogue) output under its original name.
        local = {product_output(node): result}
        if observe is not None and result.dtype.kind == "f":
            observe(product_output(node), result)  # calibrates the values inside a chain (a pool's input)
        for inner in epilogue:
            inner_xs = [local[i] if i in local else (values[i] if i else None) for i in inner.inputs]
            out = self._kernel(inner, inner_xs)[0]
            if inner.outputs[0] in self.graph.tensors:
                out = self._conform(inner, inner.outputs[0], out)
            if observe is not None and out.dtype.kind == "f":
                observe(inner.outputs[0], out)
            local = {inner.outputs[0]: out}
        (last,) = local.values()
        return (self._requantize(node.outputs[0], last),)

    def _array_layer(self, node: Node, xs: list[np.ndarray | None], values: Mapping[str, np.ndarray]) -> np.ndarray:
        # The product's own output, which a fused epilogue (pooling, say) may reshape.
        env = OpEnv(node, self.graph.opset, (self.graph.tensors[product_output(node)],))
        layer = self.anchors.get(node.name)
        shape = layer.workload.gemm if layer is not None else None

        def placements():
            if layer is None:
                raise UserError(f"node '{node.name}' ({node.op_type}) was not lowered to the array; hwsim run cannot place it")
            return layer.placements()

        swap = gemm_view(node, self.graph).swapped
        if node.op_type in ("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger"):
            return self.array.run_qlinear(env, xs, shape, placements, swap)
        quantized = None if swap else self._qdq_operands(node, values)
        if quantized is not None:
            return self.array.run_qdq(env, xs, shape, placements, *quantized)
        if self.act_ranges is None or xs[0].dtype.kind != "f":
            return self.array.run_float(env, xs, shape, placements, swap)
        # The streamed operand (A) is the node's second input when the product runs transposed.
        a_at, b_at = (1, 0) if swap else (0, 1)
        a_scale = self._scale(node.inputs[a_at], xs[a_at], self.cfg.input_bits)
        b_is_weight = self.graph.is_constant(node.inputs[b_at])
        b_scale = None if b_is_weight else self._scale(node.inputs[b_at], xs[b_at], self.cfg.weight_bits)
        return self.array.run_ptq(env, xs, shape, placements, swap, a_scale, b_scale)

    def _qdq_operands(self, node: Node, values: Mapping[str, np.ndarray]) -> tuple[QuantizedOperand, QuantizedOperand] | None:
        """A QDQ layer's (activation, weight) codes, or ``None`` if it is not one we can run in integers."""
        if node.op_type not in ("Conv", "ConvTranspose", "MatMul", "Gemm") or len(node.inputs) < 2:
            return None
        weight = self.compiled.dequantized.get(node.inputs[1])
        dq = self.producers.get(node.inputs[0])
        if weight is None or dq is None or dq.op_type != "DequantizeLinear":
            return None
        codes = values.get(dq.inputs[0])
        scale = values.get(dq.inputs[1])
        if codes is None or scale is None or scale.size != 1 or codes.dtype not in (np.int8, np.uint8):
            return None
        zp = values.get(dq.inputs[2]) if len(dq.inputs) > 2 and dq.inputs[2] else np.zeros((), codes.dtype)
        if zp is None or zp.size != 1 or not qdq_weight_ok(node, weight):
            return None
        return QuantizedOperand(codes, scale, zp), weight

    def _scale(self, name: str, value: np.ndarray, bits: int) -> np.ndarray:
        """An activation's calibrated scale; a constant operand's own range when it has none."""
        assert self.act_ranges is not None
        if bits == self.cfg.input_bits:
            scale = self.scale_of(name)
            if scale is not None:
                return scale
        max_abs = self.act_ranges.get(name)
        if max_abs is None:
            max_abs = float(np.abs(value).max()) if value.size else 0.0
        return symmetric_scale(max_abs, bits)

    def scale_of(self, name: str) -> np.ndarray | None:
        """The int8 scale (float32) that value ``name`` is quantized at, ``None`` if uncalibrated.

        A view's output, a MaxPool's and a GEMM's whose chain ends in a MaxPool keep their input's
        scale (so codes pass through unchanged); every other value has its own calibrated range.
        """
        if name in self._scales:
            return self._scales[name]
        assert self.act_ranges is not None
        scale = None
        producer = self.producers.get(name)
        inherited = None
        if producer is not None and not producer.domain:
            if producer.op_type in _SAME_SCALE and producer.inputs and producer.inputs[0] and name == producer.outputs[0]:
                inherited = producer.inputs[0]
            elif producer.meta.epilogue and producer.meta.epilogue[-1].op_type == "MaxPool" and name == producer.outputs[0]:
                inherited = producer.meta.epilogue[-1].inputs[0]
        if inherited is not None:
            scale = self.scale_of(inherited)
        if scale is None and name in self.act_ranges:
            scale = symmetric_scale(self.act_ranges[name], self.cfg.input_bits)
        self._scales[name] = scale
        return scale

    def _requantize(self, name: str, value: np.ndarray) -> np.ndarray:
        """Post-training int8: a layer's output leaves the array side as int8 codes at its scale."""
        if self.act_ranges is None or value.dtype.kind != "f":
            return value
        scale = self.scale_of(name)
        if scale is None:
            return value
        codes = quantize(value, scale, self.cfg.input_bits)
        return self._dequantized(name, codes, scale, value.dtype)

    def _dequantized(self, name: str, codes: np.ndarray, scale: np.ndarray, dtype=np.float32) -> np.ndarray:
        """The float value of ``codes`` at ``scale``, as the executor carries int8 values between layers."""
        if self.keep_codes:
            self.codes[name] = codes
        return (codes.astype(np.float32) * scale).astype(dtype)

    # ---------------------------------------------------------------------- the integer datapath

    def chain(self, node: Node) -> IntegerChain | str:
        """The node's fused chain on the integer store path, or why not (cached)."""
        if node.name not in self._chains:
            self._chains[node.name] = integer_chain(node, self.graph)
        return self._chains[node.name]

    def _integer_layer(self, node: Node, xs: list[np.ndarray | None], values: Mapping[str, np.ndarray],
                       on_array: bool) -> np.ndarray | None:
        """The node's output computed on codes as the accelerator does, or ``None`` if it is not an
        integer layer (the float path then runs)."""
        if not xs or xs[0] is None or xs[0].dtype.kind != "f":
            return None
        if on_array:
            chain = self.chain(node)
            if isinstance(chain, str) or self._qdq_operands(node, values) is not None:
                return None
            return self._integer_gemm(node, xs, values, chain)
        if node.meta.epilogue:
            return None
        w = integer_pool(node, self.graph)
        if isinstance(w, str):
            return None
        s_in = self.scale_of(node.inputs[0])
        s_out = self.scale_of(node.outputs[0])
        if s_in is None or s_out is None:
            return None
        codes = quantize(xs[0], s_in, self.cfg.input_bits)
        out, quant = pool_codes(node, self.graph, w, codes, float(s_in), float(s_out), self.cfg.input_bits)
        self.quant[node.name] = quant
        return self._dequantized(node.outputs[0], out, np.float32(quant.s_out), xs[0].dtype)

    def _integer_gemm(self, node: Node, xs: list[np.ndarray | None], values: Mapping[str, np.ndarray],
                      chain: IntegerChain) -> np.ndarray | None:
        graph, bits = self.graph, self.cfg.input_bits
        s_y = self.scale_of(chain.output)
        s_r = None if chain.residual is None else self.scale_of(chain.residual)
        if s_y is None or (chain.residual is not None and s_r is None):
            return None
        gain, offset = affine(node, chain, graph)
        lo_real, hi_real = clip_bounds(chain, graph)
        lo = None if lo_real is None else int(np.rint(lo_real / np.float64(s_y)))
        hi = None if hi_real is None else int(np.rint(hi_real / np.float64(s_y)))
        layer = self.anchors.get(node.name)
        if layer is None:
            return None
        env = OpEnv(node, graph.opset, (graph.tensors[product_output(node)],))
        s_a = self._scale(node.inputs[0], xs[0], bits)
        if self.keep_codes:
            self.codes[node.inputs[0]] = quantize(xs[0], s_a, bits)
        problem, sb, acc = self.array.ptq_accumulators(env, xs, layer.workload.gemm, layer.placements, False, s_a, None)
        try:
            ep = integer_epilogue(s_a=float(s_a), s_w=sb.reshape(-1), s_y=float(s_y), gain=gain, offset=offset,
                                  s_r=None if s_r is None else float(s_r), relu_pre=chain.relu_pre, lo=lo, hi=hi, bits=bits)
        except ValueError:
            return None  # a zero gain: the float epilogue handles it
        axis = chain.channel_axis
        residual = None
        if chain.residual is not None:
            residual = channels_last(quantize(values[chain.residual], s_r, bits), axis)
        codes = channels_back(requantize(channels_last(problem.layout(acc), axis), ep, residual), axis)
        self.quant[node.name] = GemmQuant(node.name, node.inputs[0], problem.b[0], ep, float(s_a), chain.output,
                                          float(s_y), chain.residual, None if s_r is None else float(s_r))
        if chain.pool is None:
            return self._dequantized(node.outputs[0], codes, s_y, xs[0].dtype)
        if self.keep_codes:
            self.codes[chain.output] = codes
        w = integer_pool(chain.pool, graph)
        s_out = self.scale_of(node.outputs[0])
        if isinstance(w, str) or s_out is None:
            raise InternalError(f"node '{node.name}': its fused pool passed integer_chain but has no integer form")
        out, quant = pool_codes(chain.pool, graph, w, codes, float(s_y), float(s_out), bits)
        self.quant[chain.pool.name] = quant
        return self._dequantized(node.outputs[0], out, np.float32(quant.s_out), xs[0].dtype)


def dequantized_weights(graph: Graph) -> dict[str, QuantizedOperand]:
    """Every DequantizeLinear of a constant int8/uint8 tensor in a freshly imported graph."""
    out = {}
    for node in graph.nodes:
        if node.op_type != "DequantizeLinear" or node.domain:
            continue
        names = [i for i in node.inputs if i]
        if not all(n in graph.constants for n in names):
            continue
        codes = graph.constants[node.inputs[0]]
        if codes.dtype not in (np.int8, np.uint8):
            continue
        scale = graph.constants[node.inputs[1]]
        zp = graph.constants[node.inputs[2]] if len(node.inputs) > 2 and node.inputs[2] else np.zeros(scale.shape, codes.dtype)
        out[node.outputs[0]] = QuantizedOperand(codes, scale, zp, int(node.attr("axis", 1)))
    return out

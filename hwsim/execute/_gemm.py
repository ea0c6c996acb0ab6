"""Array layers: build a node's GEMM, run its tile program in fp32 or on the int8 array, finish it.

Three numeric paths, chosen per node:

- **float**: fp32 operands, fp32 accumulators, tile by tile as scheduled.
- **model-quantized**: QLinearConv / QLinearMatMul / ConvInteger / MatMulInteger, and Conv / MatMul /
  Gemm / ConvTranspose whose operands come from DequantizeLinear (QDQ models): the model's own codes,
  scales and zero points on the int8 array.
- **post-training quantized** (``--precision int8``): the fp32 operands quantized with calibrated
  per-tensor activation scales and per-channel weight scales, run on the int8 array.

Both integer paths accumulate with :func:`hwsim.core.golden.int_gemm` at the config's ``acc_bits``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from compiler.graph import Node
from compiler.kernels import OpEnv, requantize, signed, zero_point_correction
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.program import Placement
from hwsim.core.workload import GemmShape

from . import _operands as operands
from ._operands import GemmProblem
from ._quant import channel_scales, int_step, qmax, quantize
from ._tiles import float64_step, float_step, run_tiles

__all__ = ["ArrayRunner", "TileHook", "QuantizedOperand", "qdq_weight_ok"]

#: Called for every tile when given: (layer name, placement, A block, B block, accumulators before
#: (``None`` for a fresh tile), accumulators after). Forces tile-by-tile execution.
TileHook = Callable[[str, Placement, np.ndarray, np.ndarray, "np.ndarray | None", np.ndarray], None]


@dataclass(frozen=True)
class QuantizedOperand:
    """An operand's integer codes with its scale and zero point (per tensor or along ``axis``)."""

    codes: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int = 1


def _build(env: OpEnv, a: np.ndarray, b: np.ndarray, shape: GemmShape | None, *, swap: bool = False, fill=0) -> GemmProblem:
    op = env.node.op_type
    if op in ("Conv", "QLinearConv", "ConvInteger"):
        return operands.conv(env, a, b, shape, fill)
    if op == "ConvGradWeight":
        return operands.conv_grad_weight(env, a, b, shape)
    if op == "ConvTranspose":
        return operands.conv_transpose(env, a, b, shape)
    if op == "Gemm":
        return operands.gemm(env, a, b, shape, swap)
    if op == "Einsum":
        return operands.einsum(env, a, b, shape, swap)
    return operands.matmul(env, a, b, shape, swap)


def _channel_bias(out: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    if bias is None:
        return out
    return out + bias.reshape((1, -1) + (1,) * (out.ndim - 2)).astype(out.dtype)


def _float_epilogue(env: OpEnv, xs: Sequence[np.ndarray | None], out: np.ndarray) -> np.ndarray:
    """Bias (Conv, ConvTranspose) or alpha/beta·C (Gemm), applied once the last K tile is done."""
    op = env.node.op_type
    if op in ("Conv", "ConvTranspose"):
        return _channel_bias(out, xs[2] if len(xs) > 2 else None)
    if op == "Gemm":
        alpha, beta = float(env.attr("alpha", 1.0)), float(env.attr("beta", 1.0))
        if alpha != 1.0:
            out = out * out.dtype.type(alpha)
        c = xs[2] if len(xs) > 2 else None
        if c is not None and beta != 0.0:
            out = out + (c * out.dtype.type(beta) if beta != 1.0 else c).astype(out.dtype)
    return out


def _exact_int_step(acc: np.ndarray | None, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    product = np.matmul(a.astype(np.int64), b.astype(np.int64))
    return product if acc is None else acc + product


def _per_output_channel(v: np.ndarray, problem: GemmProblem) -> np.ndarray:
    """A scalar or per-output-channel vector as ``(groups, 1, n)`` against the problem's columns."""
    v = np.asarray(v)
    if v.size == 1:
        return v.reshape(())
    groups, _, n = problem.b.shape
    if v.size == groups * n:
        return v.reshape(groups, 1, n)
    if v.size == n:
        return v.reshape(1, 1, n)
    raise ValueError("per-channel parameter does not match the output channels")


class ArrayRunner:
    """Runs GEMM nodes for one model on one config (no state beyond its settings)."""

    def __init__(self, cfg: AcceleratorConfig, *, literal: bool = False, tile_hook: TileHook | None = None) -> None:
        self.cfg = cfg
        self.literal = literal or tile_hook is not None
        self.tile_hook = tile_hook
        self.array_step = int_step(cfg.acc_bits)

    # ------------------------------------------------------------------------------ tile programs

    def _tiles(self, name: str, problem: GemmProblem, placements: Callable[[], Iterable[Placement]], step) -> np.ndarray:
        hook = self.tile_hook
        on_tile = None if hook is None else (lambda p, a, b, before, after: hook(name, p, a, b, before, after))
        return run_tiles(problem.a, problem.b, placements(), step, name=name, literal=self.literal, on_tile=on_tile)

    def _check_width(self, node: Node, codes: np.ndarray, bits: int, operand: str) -> None:
        limit = qmax(bits) + 1
        if codes.size and (int(codes.min()) < -limit or int(codes.max()) > limit - 1):
            raise UserError(
                f"node '{node.name}' ({node.op_type}): its {operand} codes need 8-bit operands but the config's"
                f" {'input' if operand == 'A' else 'weight'}_bits is {bits}; use a config with 8-bit operands"
            )

    # --------------------------------------------------------------------------------- float path

    def run_float(self, env: OpEnv, xs: Sequence[np.ndarray | None], shape: GemmShape | None, placements, swap: bool) -> np.ndarray:
        """The node's own arithmetic: fp32 accumulators (fp64 when both operands are float64, as in a
        training step checked against finite differences), or exact integers for an integer MatMul."""
        a, b = xs[0], xs[1]
        if a.dtype.kind in "iu" and b.dtype.kind in "iu":
            problem = _build(env, a, b, shape, swap=swap)
            return problem.layout(self._tiles(env.node.name, problem, placements, _exact_int_step)).astype(a.dtype)
        wide = a.dtype == np.float64 and b.dtype == np.float64
        kind = np.float64 if wide else np.float32
        problem = _build(env, a.astype(kind, copy=False), b.astype(kind, copy=False), shape, swap=swap)
        acc = self._tiles(env.node.name, problem, placements, float64_step if wide else float_step)
        return _float_epilogue(env, xs, problem.layout(acc)).astype(a.dtype, copy=False)

    # ---------------------------------------------------------------------------- PTQ int8 path

    def run_ptq(
        self,
        env: OpEnv,
        xs: Sequence[np.ndarray | None],
        shape: GemmShape | None,
        placements,
        swap: bool,
        a_scale: np.ndarray,
        b_scale: np.ndarray | None,
    ) -> np.ndarray:
        """Symmetric int8: ``a_scale`` per tensor; ``b_scale`` per tensor, or ``None`` for per-channel weights.

        The scales belong to the product's operands: with ``swap`` the node's second input is A.
        The float epilogue follows (layers on the integer store path use :meth:`ptq_accumulators`).
        """
        problem, sb, acc = self.ptq_accumulators(env, xs, shape, placements, swap, a_scale, b_scale)
        deq = (acc.astype(np.float64) * (np.float64(a_scale) * sb.astype(np.float64))).astype(np.float32)
        return _float_epilogue(env, xs, problem.layout(deq)).astype(xs[0].dtype, copy=False)

    def ptq_accumulators(
        self,
        env: OpEnv,
        xs: Sequence[np.ndarray | None],
        shape: GemmShape | None,
        placements,
        swap: bool,
        a_scale: np.ndarray,
        b_scale: np.ndarray | None,
    ) -> tuple[GemmProblem, np.ndarray, np.ndarray]:
        """``(problem on codes, weight scales (groups, 1, n), accumulators (groups, m, n))`` of a
        post-training quantized product: ``problem.b`` holds the weight codes."""
        # Quantize the streamed operand before im2col expands it (the padding's zeros stay code 0).
        a_at = 1 if swap else 0
        operands_in = [x.astype(np.float32, copy=False) for x in xs[:2]]
        operands_in[a_at] = quantize(operands_in[a_at], a_scale, self.cfg.input_bits)
        problem = _build(env, operands_in[0], operands_in[1], shape, swap=swap)
        sb = channel_scales(problem.b, self.cfg.weight_bits) if b_scale is None else np.asarray(b_scale, np.float32)
        coded = GemmProblem(problem.a, quantize(problem.b, sb, self.cfg.weight_bits), problem.layout, problem.taps)
        acc = self._tiles(env.node.name, coded, placements, self.array_step)
        return coded, sb, acc

    # ----------------------------------------------------------------------- model-quantized path

    def _int_product(
        self, env: OpEnv, shape, placements, a: QuantizedOperand, b: QuantizedOperand, swap: bool = False
    ) -> tuple[GemmProblem, np.ndarray]:
        """(problem on signed codes, zero-point-corrected accumulators ``(groups, m, n)``).

        ``a`` and ``b`` are the node's operands; with ``swap`` the product's A is ``b`` transposed.
        """
        sa, sb = signed(a.codes, a.zero_point), signed(b.codes, b.zero_point)
        first, second = (sb, sa) if swap else (sa, sb)
        self._check_width(env.node, first.codes, self.cfg.input_bits, "A")
        self._check_width(env.node, second.codes, self.cfg.weight_bits, "B")
        if first.zero_point.size != 1:
            raise UserError(f"node '{env.node.name}' ({env.node.op_type}): per-row zero points of the streamed"
                            " operand are not supported by hwsim run")
        za = first.zero_point.reshape(())
        fill = za.astype(first.codes.dtype)
        problem = _build(env, sa.codes, sb.codes, shape, swap=swap, fill=fill)
        acc = self._tiles(env.node.name, problem, placements, self.array_step)
        zb = _per_output_channel(second.zero_point, problem)
        return problem, zero_point_correction(acc, problem.a, problem.b, za, zb)

    def run_qdq(self, env: OpEnv, xs: Sequence[np.ndarray | None], shape, placements, a: QuantizedOperand, b: QuantizedOperand) -> np.ndarray:
        """Conv/MatMul/Gemm between DequantizeLinear outputs: integer product, float epilogue."""
        problem, acc = self._int_product(env, shape, placements, a, b)
        scale = np.float64(a.scale.reshape(())) * _per_output_channel(b.scale, problem).astype(np.float64)
        deq = (acc.astype(np.float64) * scale).astype(np.float32)
        return _float_epilogue(env, xs, problem.layout(deq))

    def run_qlinear(self, env: OpEnv, xs: Sequence[np.ndarray | None], shape, placements, swap: bool) -> np.ndarray:
        """QLinearConv / QLinearMatMul / ConvInteger / MatMulInteger with ONNX semantics."""
        op = env.node.op_type

        def opt(i):
            return xs[i] if len(xs) > i and xs[i] is not None else None

        if op in ("QLinearConv", "QLinearMatMul"):
            a = QuantizedOperand(xs[0], xs[1], xs[2] if opt(2) is not None else np.zeros((), xs[0].dtype))
            b = QuantizedOperand(xs[3], xs[4], xs[5] if opt(5) is not None else np.zeros((), xs[3].dtype))
            problem, acc = self._int_product(env, shape, placements, a, b, swap)
            out = problem.layout(acc)
            if op == "QLinearConv" and opt(8) is not None:
                out = _channel_bias(out, xs[8].astype(np.int64))
            multiplier = np.asarray(a.scale, np.float64).reshape(()) * np.asarray(b.scale, np.float64) / np.asarray(xs[6], np.float64)
            if multiplier.size > 1:  # per output channel: channel axis 1 for Conv, last axis for MatMul
                multiplier = multiplier.reshape((1, -1) + (1,) * (out.ndim - 2)) if op == "QLinearConv" else multiplier
            y_zp = opt(7) if opt(7) is not None else np.zeros((), np.uint8)
            return requantize(out, multiplier.astype(np.float32), y_zp, y_zp.dtype)
        zero_a = opt(2) if opt(2) is not None else np.zeros((), xs[0].dtype)
        zero_b = opt(3) if opt(3) is not None else np.zeros((), xs[1].dtype)
        a = QuantizedOperand(xs[0], np.ones(()), zero_a)
        b = QuantizedOperand(xs[1], np.ones(()), zero_b)
        problem, acc = self._int_product(env, shape, placements, a, b, swap)
        return problem.layout(acc).astype(np.int32)


def qdq_weight_ok(node: Node, w: QuantizedOperand) -> bool:
    """Per-tensor weights always work; per-channel ones only along the output-channel axis."""
    if w.scale.size == 1:
        return True
    rank = w.codes.ndim
    axis = w.axis % rank
    op = node.op_type
    if op == "Conv":
        return axis == 0
    if op == "MatMul":
        return rank == 2 and axis == 1
    if op == "Gemm":
        return axis == (0 if node.attr("transB", 0) else 1)
    return False


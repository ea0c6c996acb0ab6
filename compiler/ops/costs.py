"""How every supported operator is classified for the hardware, and its vector-unit cost.

The cost of a vector operator is its *element operations per output element*: one add, multiply,
compare, select or conversion is 1, and so is one transcendental (exp, log, tanh, erf, sqrt,
reciprocal) on the vector unit's function unit. Row-wise scalars (a softmax's one reciprocal per
row, a layer norm's one rsqrt per row) are amortized and not counted. Reductions and pooling are
charged per output element too, with ``r`` = input elements reduced into each output element.
The training operators (:data:`TRAINING`, domain :data:`~compiler.ops.TRAINING_DOMAIN`) whose
output is smaller than what they read (weight gradients, the optimizer's update of a parameter
from its gradient, a pooling gradient) are charged per element of the input they stream
(``basis``).

:data:`TABLE` is the single place these numbers live; ``docs/ops.md`` is generated from it
(``python -m compiler.ops > docs/ops.md``) and a test keeps the two equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from hwsim.core.workload import Kind

from ..graph import Graph, Node
from . import TRAINING_DOMAIN
from .gemm import GEMM_OPS, TRAINING_GEMM_OPS

__all__ = ["OpClass", "TABLE", "TRAINING", "ALIASES", "PARTIAL_READ", "classify", "ops_per_output", "unit_cost",
           "cost_basis", "markdown", "BATCH_NORM_STATISTICS"]

Cost = Callable[[Node, Graph], int]


@dataclass(frozen=True)
class OpClass:
    """``kind``; ``cost`` per output element (int or function of node and graph); ``formula`` as
    documented; ``data``: indices of the inputs that are read as data (``None``: all), the others
    being parameters such as shapes, axes or quantization scales; ``basis``: the input whose
    elements ``cost`` counts instead of the first output's (``None``: the first output)."""

    kind: Kind
    cost: int | Cost = 0
    formula: str = "0"
    data: tuple[int, ...] | None = None
    family: str = ""
    basis: int | None = None


def _window(node: Node, graph: Graph) -> int:
    return math.prod(node.attr("kernel_shape") or (1,))


def _reduced(node: Node, graph: Graph) -> int:
    """r: input elements per output element."""
    out = graph.info(node.outputs[0]).size
    return graph.info(node.inputs[0]).size // max(out, 1)


def _resized_axes(node: Node, graph: Graph) -> int:
    x, y = graph.shape(node.inputs[0]), graph.shape(node.outputs[0])
    return sum(1 for a, b in zip(x, y) if a != b)


def _resize_cost(node: Node, graph: Graph) -> int:
    d = _resized_axes(node, graph)
    mode = node.attr("mode", "nearest")
    if mode == "nearest":
        return 0
    if mode == "cubic":
        return 2 * 4**d - 1
    return 3 * (2**d - 1)


def _resize_kind(node: Node) -> Kind:
    return Kind.MOVE if node.attr("mode", "nearest") == "nearest" else Kind.VECTOR


def _variadic(extra: int) -> Cost:
    return lambda node, graph: sum(1 for i in node.inputs if i) - 1 + extra


def _layer_norm(node: Node, graph: Graph) -> int:
    return 7 if len(node.inputs) > 2 and node.inputs[2] else 6


def _gelu(node: Node, graph: Graph) -> int:
    return 9 if node.attr("approximate", "none") == "tanh" else 5


def _lrn(node: Node, graph: Graph) -> int:
    return int(node.attr("size")) + 3


#: Of a training-mode BatchNormalization's operations per element, its statistics' (the sum for
#: the mean, the square, the sum of squares); the other 4 normalize (−mean, ·rstd, ·γ, +β).
BATCH_NORM_STATISTICS = 3


def _batch_norm(node: Node, graph: Graph) -> int:
    return BATCH_NORM_STATISTICS + 4 if node.attr("training_mode", 0) else 2


G, V, M, W = Kind.GEMM, Kind.VECTOR, Kind.MOVE, Kind.VIEW

TABLE: dict[str, OpClass] = {}


def _add(family: str, ops: str, kind: Kind, cost: int | Cost = 0, formula: str = "0",
         data: tuple[int, ...] | None = None) -> None:
    for op in ops.split():
        TABLE[op] = OpClass(kind, cost, formula, data, family)


for _op, _gemm_op in GEMM_OPS.items():
    if _op not in TRAINING_GEMM_OPS:
        TABLE[_op] = OpClass(G, 0, _gemm_op.formula, None, "GEMM")

_add("Activation", "Relu", V, 1, "1 (max)")
_add("Activation", "LeakyRelu PRelu ThresholdedRelu", V, 2, "2 (multiply or compare, select)")
_add("Activation", "Clip", V, 2, "2 (max, min)", (0,))
_add("Activation", "Sigmoid", V, 3, "3 (exp(−x), +1, reciprocal)")
_add("Activation", "HardSigmoid", V, 4, "4 (·α, +β, max 0, min 1)")
_add("Activation", "HardSwish", V, 5, "5 (HardSigmoid, ·x)")
_add("Activation", "Elu Softplus Softsign", V, 3, "3 (exp or abs, add, select/log/divide)")
_add("Activation", "Selu Celu Shrink", V, 4, "4")
_add("Activation", "Mish", V, 5, "5 (softplus 3, tanh, ·x)")
_add("Activation", "Gelu", V, _gelu, "5 (erf form), 9 (tanh form)")
_add("Unary", "Tanh Erf Exp Log Sqrt Reciprocal Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh "
     "Neg Abs Floor Ceil Round Sign Not IsNaN IsInf BitwiseNot Cast CastLike", V, 1, "1", (0,))
_add("Binary", "Add Sub Mul Div Pow Mod Equal Less LessOrEqual Greater GreaterOrEqual And Or Xor BitShift "
     "BitwiseAnd BitwiseOr BitwiseXor", V, 1, "1")
_add("Binary", "Where", V, 1, "1 (select)")
_add("Binary", "Max Min Sum", V, _variadic(0), "inputs − 1")
_add("Binary", "Mean", V, _variadic(1), "inputs (adds, one scale)")
_add("Quantization", "QuantizeLinear", V, 3, "3 (÷scale, round and +zero point, saturate)", (0,))
_add("Quantization", "DequantizeLinear", V, 2, "2 (−zero point, ·scale)", (0,))
_add("Quantization", "DynamicQuantizeLinear", V, 5, "5 (min/max 2, quantize 3)", (0,))
_add("Normalization", "Softmax LogSoftmax", V, 5, "5 (max, −max, exp, sum, ÷sum or −log sum)")
_add("Normalization", "Hardmax", V, 2, "2 (max, compare)")
_add("Normalization", "LayerNormalization", V, _layer_norm, "7 (mean, −mean, square, sum, ·rstd, ·γ, +β); 6 without β")
_add("Normalization", "InstanceNormalization GroupNormalization", V, 7, "7 (as LayerNormalization)")
_add("Normalization", "MeanVarianceNormalization", V, 5, "5 (mean, −mean, square, sum, ·rstd)")
_add("Normalization", "LpNormalization", V, 3, "3 (square or abs, sum, ÷norm)")
_add("Normalization", "BatchNormalization", V, _batch_norm, "2 (per-channel ·a + b; a, b precomputed) when not "
     "folded; 7 (as LayerNormalization, over N and spatial) in training mode: statistics 3 (sum, square, sum of "
     "squares), normalize 4")
_add("Normalization", "LRN", V, _lrn, "size + 3 (square-sum over size channels, scale, pow, divide)")
_add("Normalization", "CumSum", V, 1, "1", (0,))
_add("Normalization", "Trilu", V, 1, "1 (select)", (0,))
_add("Pooling", "MaxPool", V, lambda n, g: _window(n, g) - 1, "r − 1, r = prod(kernel_shape)")
_add("Pooling", "AveragePool", V, _window, "r (r − 1 adds, one scale), r = prod(kernel_shape)")
_add("Pooling", "LpPool", V, lambda n, g: 2 * _window(n, g), "2r, r = prod(kernel_shape)")
_add("Pooling", "GlobalAveragePool", V, _reduced, "r, r = prod(spatial)")
_add("Pooling", "GlobalMaxPool", V, lambda n, g: _reduced(n, g) - 1, "r − 1, r = prod(spatial)")
_add("Pooling", "GlobalLpPool", V, lambda n, g: 2 * _reduced(n, g), "2r, r = prod(spatial)")
_add("Reduction", "ReduceSum ReduceMax ReduceMin ReduceProd ArgMax ArgMin", V, lambda n, g: _reduced(n, g) - 1,
     "r − 1, r = reduced elements per output", (0,))
_add("Reduction", "ReduceMean ReduceLogSum", V, _reduced, "r", (0,))
_add("Reduction", "ReduceSumSquare ReduceL1", V, lambda n, g: 2 * _reduced(n, g) - 1, "2r − 1", (0,))
_add("Reduction", "ReduceL2 ReduceLogSumExp", V, lambda n, g: 2 * _reduced(n, g), "2r", (0,))
_add("Resize", "Resize Upsample", V, _resize_cost,
     "nearest: 0 (data movement); linear: 3·(2^d − 1); cubic: 2·4^d − 1; d = resized axes", (0,))
_add("Data movement", "Transpose Concat DepthToSpace SpaceToDepth ReverseSequence ScatterND ScatterElements "
     "Scatter", M)
_add("Data movement", "Split Pad Tile Expand OneHot", M, 0, "0", (0,))
_add("Data movement", "Slice", M, 0, "0 (reads only the slice)", (0,))
_add("Data movement", "Gather GatherElements GatherND", M, 0, "0 (reads only the gathered elements)")
_add("View", "Reshape Flatten Squeeze Unsqueeze Identity Dropout", W, 0, "0", (0,))
_add("View", "Shape Size ConstantOfShape Range EyeLike NonZero", W, 0, "0 (folded at compile time)", ())

#: The operators a training program adds (:mod:`compiler.training`, docs/training.md), in domain
#: :data:`~compiler.ops.TRAINING_DOMAIN`: gradients, losses and optimizer updates.
TRAINING: dict[str, OpClass] = {}


def _train(family: str, ops: str, kind: Kind, cost: int | Cost, formula: str, data: tuple[int, ...] | None = None,
           basis: int | None = None) -> None:
    for op in ops.split():
        TRAINING[op] = OpClass(kind, cost, formula, data, family, basis)


def _pool_window(node: Node, graph: Graph) -> int:
    return math.prod(node.attr("kernel_shape") or (1,))


def _gelu_grad(node: Node, graph: Graph) -> int:
    return 13 if node.attr("approximate", "none") == "tanh" else 9


def _decay(base: int) -> Cost:
    return lambda node, graph: base + (2 if float(node.attr("weight_decay", 0.0)) else 0)


for _op in TRAINING_GEMM_OPS:
    TRAINING[_op] = OpClass(G, 0, GEMM_OPS[_op].formula, None, "Gradient")
_train("Gradient", "ReluGrad", V, 2, "2 (compare y > 0, select)")
_train("Gradient", "ClipGrad", V, 3, "3 (two compares, select)", (0, 1))
_train("Gradient", "SigmoidGrad TanhGrad", V, 3, "3 (sigmoid: dy·y·(1 − y); tanh: dy·(1 − y²))")
_train("Gradient", "ErfGrad", V, 4, "4 (x², exp(−x²), ·2/√π, ·dy)")
_train("Gradient", "GeluGrad", V, _gelu_grad, "9 (erf form: Φ(x) 3, φ(x) 3, x·φ, +, ·dy), 13 (tanh form)")
_train("Gradient", "HardSigmoidGrad", V, 4, "4 (αx + β, range test, select, ·α)")
_train("Gradient", "HardSwishGrad", V, 5, "5 (x/3 + 1/2, two compares, select, ·dy)")
_train("Gradient", "SqrtGrad", V, 2, "2 (dy / y, ·1/2)")
_train("Gradient", "PowGrad", V, 3, "3 (x^(e − 1), ·e, ·dy)", (0, 1))
_train("Gradient", "SoftmaxGrad", V, 4, "4 (dy·y, row sum, dy − sum, ·y)")
_train("Gradient", "LayerNormalizationGrad BatchNormalizationGrad", V, 13,
       "13 (recompute x̂ 5, dx̂ = dy·γ, two row means 3, dx = rstd·(dx̂ − m₁ − x̂·m₂) 4)")
_train("Gradient", "LayerNormalizationParamGrad BatchNormalizationParamGrad", V, 8,
       "8 per dy element (recompute x̂ 5, dγ += dy·x̂ 2, dβ += dy)", basis=0)
_train("Gradient", "MaxPoolGrad", V, _pool_window, "r per dy element (r − 1 compares to find the max, 1 add)",
       basis=0)
_train("Gradient", "AveragePoolGrad", V, lambda n, g: _pool_window(n, g) + 1,
       "r + 1 per dy element (÷count, r adds)", basis=0)
_train("Gradient", "ReduceGrad", V, 1, "1 (broadcast dy, ·scale)")
_train("Gradient", "SumTo", V, 1, "1 per dy element (adds into the reduced shape, or ·scale)", basis=0)
_train("Gradient", "GatherGrad ResizeGrad", V, 1, "1 per dy element (add into the gathered source)", (0, 1), basis=0)
_train("Gradient", "SliceGrad", M, 0, "0 (writes the slice into zeros)", (0,))
_train("Loss", "SoftmaxCrossEntropy", V, 6, "6 per logit (softmax 5, pick and sum 1)", basis=0)
_train("Loss", "SoftmaxCrossEntropyGrad", V, 7, "7 (softmax 5, − one-hot, ·1/positions)")
_train("Loss", "MeanSquaredError", V, 3, "3 per element (−, square, sum)", basis=0)
_train("Loss", "MeanSquaredErrorGrad", V, 2, "2 (−, ·2/elements)")
_train("Optimizer", "SGD", V, _decay(2), "2 per parameter (·lr, −); +2 with weight decay", basis=1)
_train("Optimizer", "Momentum", V, _decay(4), "4 per parameter (v = μv + g, w − lr·v); +2 with weight decay",
       basis=1)
_train("Optimizer", "Adam", V, _decay(14), "14 per parameter (two moments 7, bias corrections 2, √ + ε 2, ÷, "
       "w − lr·u 2); +2 with weight decay", basis=1)

#: Views whose output shares its input's bytes (a reshaped tensor is the same tensor on chip).
ALIASES = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"})

#: Inputs the gather-like movers read only partly: they read as many data elements as they write.
PARTIAL_READ = frozenset({"Slice", "Gather", "GatherElements", "GatherND"})


def classify(node: Node) -> OpClass | None:
    """The operator's class, or ``None`` when it is not supported (any other domain too)."""
    if node.domain == TRAINING_DOMAIN:
        return TRAINING.get(node.op_type)
    if node.domain not in ("", "ai.onnx"):
        return None
    entry = TABLE.get(node.op_type)
    if entry is not None and node.op_type in ("Resize", "Upsample") and _resize_kind(node) is Kind.MOVE:
        return OpClass(Kind.MOVE, 0, entry.formula, entry.data, entry.family)
    return entry


def ops_per_output(node: Node, graph: Graph) -> int:
    """Vector element operations per output element of ``node`` (0 for unsupported operators)."""
    entry = classify(node)
    if entry is None:
        return 0
    return entry.cost(node, graph) if callable(entry.cost) else entry.cost


def cost_basis(node: Node, graph: Graph) -> int:
    """Elements the operator's per-element cost counts: its first output's, or its ``basis`` input's."""
    entry = classify(node)
    if entry is None or entry.basis is None:
        return graph.info(node.outputs[0]).size
    return graph.info(node.inputs[entry.basis]).size


def unit_cost(op_type: str) -> int:
    """The fixed per-output cost of an operator whose cost does not depend on its attributes."""
    cost = TABLE[op_type].cost
    if callable(cost):
        raise ValueError(f"{op_type}'s cost depends on the node")
    return cost


def markdown() -> str:
    """``docs/ops.md``: the table above as Markdown."""
    lines = [
        "# Supported operators",
        "",
        "Generated from `compiler/ops/costs.py` by `python -m compiler.ops > docs/ops.md`; do not edit.",
        "",
        "Every ONNX operator the lowering accepts, its class, and its vector-unit cost in element",
        "operations **per output element** (add, multiply, compare, select, conversion and one",
        "transcendental each count 1; per-row scalars are amortized). `r` is the number of input",
        "elements reduced into one output element. GEMM operators run on the systolic array; their",
        "mapping to (m, k, n, groups) is given instead, plus the vector work they imply; a fused",
        "epilogue (bias, activation, requantization) is charged at the costs below. Any operator",
        "not listed, and any operator outside the default ONNX domain, is unsupported.",
        "",
        "| Operator | Family | Class | Cost: vector ops per output element (GEMM: array mapping) |",
        "|---|---|---|---|",
    ]
    families = list(dict.fromkeys(entry.family for entry in TABLE.values()))
    for family in families:
        for op in sorted(op for op, entry in TABLE.items() if entry.family == family):
            entry = TABLE[op]
            kind = "move (nearest) / vector" if op in ("Resize", "Upsample") else entry.kind.value
            lines.append(f"| {op} | {family} | {kind} | {entry.formula} |")
    lines += [
        "",
        "## Training operators",
        "",
        f"What a training program adds (docs/training.md), in domain `{TRAINING_DOMAIN}`. An operator",
        "charged \"per dy element\" or \"per parameter\" counts the elements of the gradient it streams",
        "rather than of its (smaller) output.",
        "",
        "| Operator | Family | Class | Cost: vector ops per output element (GEMM: array mapping) |",
        "|---|---|---|---|",
    ]
    for family in dict.fromkeys(entry.family for entry in TRAINING.values()):
        for op in sorted(op for op, entry in TRAINING.items() if entry.family == family):
            entry = TRAINING[op]
            lines.append(f"| {op} | {family} | {entry.kind.value} | {entry.formula} |")
    return "\n".join(lines) + "\n"

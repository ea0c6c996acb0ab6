"""What each layer asks of the hardware, before tiling: GEMMs for the array, element work for the
vector unit, data movement, and free views.

Workloads count elements, not bytes: widths belong to the :class:`~hwsim.core.config.AcceleratorConfig`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .training import PHASES, TrainingStep

__all__ = ["Kind", "GemmShape", "ConvWindow", "TensorRef", "EpilogueStep", "STORE_PATH_FAMILIES", "Workload", "LoweredModel", "Skipped"]

#: What a GEMM's store path can do to results as they leave the accumulator, by family:
#: ``activation`` (Relu, Clip, Sigmoid, ...), ``scale`` (a per-channel or scalar multiply/add:
#: bias, BatchNormalization), ``requantize`` (QuantizeLinear), ``residual`` (an element-wise add or
#: multiply with another activation tensor, read as the results stream out), ``pool`` (max or
#: average pooling of the results); and in a training step (:mod:`compiler.training.fuse`)
#: ``gradient`` (an activation's gradient, reading the tensor the forward pass stashed for it) and
#: ``statistics`` (per-channel sums of the results, and of their products with a stashed tensor: a
#: normalization's backward reductions).
STORE_PATH_FAMILIES = ("activation", "scale", "requantize", "residual", "pool", "gradient", "statistics")


class Kind(str, enum.Enum):
    GEMM = "gemm"  #: matrix work for the systolic array (plus a fused epilogue on the vector unit)
    VECTOR = "vector"  #: element-wise, reduction, normalization or pooling work for the vector unit
    MOVE = "move"  #: data movement with no arithmetic (Transpose, Concat, Slice, Pad, Gather, ...)
    VIEW = "view"  #: free: a new view of the same bytes (Reshape, Flatten, Squeeze, shape arithmetic)


@dataclass(frozen=True)
class GemmShape:
    """``groups`` independent products ``(m x k) @ (k x n)``.

    A convolution is ``m = batch * out_h * out_w``, ``k = in_ch / groups * kh * kw``,
    ``n = out_ch / groups``, ``groups = groups`` (im2col), and ``taps = kh * kw``: its K is ``taps``
    runs of ``k / taps`` input channels, tap by tap, which a ``per_tap`` array reduces one tap at a
    time (:meth:`~hwsim.core.config.AcceleratorConfig.reduction_segment`). Any other GEMM has one
    tap. A batched MatMul puts its batch in ``groups``. ``row`` is a convolution's output width: the
    pixels of one output row, which a controller that issues a command per output row
    (``command_rows``, docs/model.md#command-granularity) never lets one command cross; 0 for any
    other GEMM, whose rows run on without a break.

    >>> GemmShape(m=49, k=4608, n=512).macs
    115605504
    >>> GemmShape(m=12544, k=147, n=64, taps=49).k // 49   # conv1 of ResNet-50: 3 channels per tap
    3
    """

    m: int
    k: int
    n: int
    groups: int = 1
    taps: int = 1
    row: int = 0

    def __post_init__(self) -> None:
        for key in ("m", "k", "n", "groups", "taps"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"GemmShape.{key} must be a positive int, got {value!r}")
        if not isinstance(self.row, int) or self.row < 0:
            raise ValueError(f"GemmShape.row must be an int >= 0, got {self.row!r}")
        if self.k % self.taps:
            raise ValueError(f"GemmShape.k ({self.k}) must be a whole number of taps ({self.taps})")

    @property
    def macs(self) -> int:
        return self.groups * self.m * self.k * self.n


@dataclass(frozen=True)
class ConvWindow:
    """A 2-D convolution's geometry, in the letters of Timeloop's convolution (and DOSA's): ``n``
    images, ``c`` input and ``k`` output channels per group, ``q`` x ``p`` outputs (rows x columns),
    ``s`` x ``r`` kernel taps (rows x columns), over an ``in_h`` x ``in_w`` input with strides,
    dilations and the padding before the first row and column. A user mapping that pins a layer's
    DRAM loops (:mod:`compiler.pinning`) cuts these dimensions; the GEMM view is
    ``m = n * q * p``, ``k = c * s * r``, ``n = k``."""

    n: int
    c: int
    k: int
    q: int
    p: int
    s: int
    r: int
    in_h: int
    in_w: int
    stride_h: int = 1
    stride_w: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    pad_top: int = 0
    pad_left: int = 0


@dataclass(frozen=True)
class TensorRef:
    """An activation tensor a layer reads or writes: its name in the graph (views resolved to the
    tensor whose bytes they share), the elements this layer moves (``elems``) and the tensor's whole
    size (``size``, what keeping it on chip costs). ``role`` says what a GEMM reads it as: ``a``
    (the streamed operand), ``b`` (an activation as the second operand: attention's K and V),
    ``extra`` (an operand of the fused epilogue, a residual); other layers' inputs are ``data``.
    ``bits``: the tensor's own element width when it is stored in another format than the config's
    activations (a KV cache kept at ``--kv-bits``), packed (4 bits are half a byte); ``None``: the
    config's ``input_bits`` (:meth:`~hwsim.core.config.AcceleratorConfig.tensor_bytes`)."""

    name: str
    elems: int
    size: int
    role: str = "data"
    bits: int | None = None


@dataclass(frozen=True)
class EpilogueStep:
    """One element-wise operator fused after a GEMM: its op type, its store-path family (one of
    :data:`STORE_PATH_FAMILIES`) and its vector-unit element operations."""

    op: str
    family: str
    vector_ops: int


@dataclass(frozen=True)
class Workload:
    """One layer as the hardware sees it.

    ``input_elems`` counts the unique activation elements read (for a convolution, the input pixels
    some window touches, not its im2col expansion); ``weight_elems`` the constant operands (weights
    and bias); ``output_elems`` the elements produced. ``vector_ops`` counts element operations on
    the vector unit, including a GEMM's fused epilogue (``epilogue`` itemizes the fused operators).
    ``b_is_weight`` is false when a GEMM's second operand is itself an activation (attention's QK^T
    and AV). ``inputs`` and ``outputs`` name the activation tensors, so that the program builder
    can keep them on chip between layers; a workload without them (a SCALE-Sim topology row, a
    hand-made GEMM) reads and writes DRAM. When ``inputs`` or ``outputs`` are given, their
    ``elems`` add up to ``input_elems`` and ``output_elems``.
    """

    name: str
    op: str
    kind: Kind
    gemm: GemmShape | None = None
    input_elems: int = 0
    weight_elems: int = 0
    output_elems: int = 0
    vector_ops: int = 0
    b_is_weight: bool = True
    #: ONNX node names this workload covers, the anchor first and fused followers after it.
    nodes: tuple[str, ...] = ()
    inputs: tuple[TensorRef, ...] = ()
    outputs: tuple[TensorRef, ...] = ()
    epilogue: tuple[EpilogueStep, ...] = ()
    #: The training phase the layer belongs to (:data:`hwsim.core.training.PHASES`); ``""`` in an
    #: inference program.
    phase: str = ""
    #: A 2-D convolution's geometry (its GEMM view loses the strides and the kernel's shape); None
    #: for any other workload.
    window: ConvWindow | None = None

    def __post_init__(self) -> None:
        if self.phase and self.phase not in PHASES:
            raise ValueError(f"workload {self.name!r}: phase {self.phase!r} is not one of {', '.join(PHASES)}")
        if (self.kind is Kind.GEMM) != (self.gemm is not None):
            raise ValueError(f"workload {self.name!r}: a gemm shape goes with kind GEMM and only with it")
        for refs, total, what in ((self.inputs, self.input_elems, "input"), (self.outputs, self.output_elems, "output")):
            if refs and sum(r.elems for r in refs) != total:
                raise ValueError(f"workload {self.name!r}: its {what} tensors hold {sum(r.elems for r in refs)} "
                                 f"elements but {what}_elems is {total}")
        for step in self.epilogue:
            if step.family not in STORE_PATH_FAMILIES:
                raise ValueError(f"workload {self.name!r}: epilogue family {step.family!r} is not one of "
                                 f"{', '.join(STORE_PATH_FAMILIES)}")

    def operand(self, role: str) -> tuple[TensorRef, ...]:
        """The input tensors read in ``role`` (``a``, ``b``, ``extra``, ``data``)."""
        return tuple(r for r in self.inputs if r.role == role)

    @property
    def macs(self) -> int:
        return self.gemm.macs if self.gemm is not None else 0


@dataclass(frozen=True)
class Skipped:
    """A node that ``--allow-unsupported`` left out of the estimate, and why."""

    name: str
    op: str
    reason: str

    def __str__(self) -> str:
        return f"{self.op} {self.name}"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op, "reason": self.reason}


@dataclass(frozen=True)
class LoweredModel:
    """A whole model as workloads in execution order, plus what ``--allow-unsupported`` skipped.

    ``skipped`` holds one :class:`Skipped` per node that was not estimated;
    ``outputs`` names the model's output tensors (they end in DRAM); ``training`` describes a
    training step's memory (:mod:`compiler.training`), ``None`` for inference.
    """

    name: str
    workloads: tuple[Workload, ...]
    skipped: tuple[Skipped, ...] = ()
    outputs: tuple[str, ...] = ()
    training: TrainingStep | None = None

    @property
    def macs(self) -> int:
        return sum(w.macs for w in self.workloads)

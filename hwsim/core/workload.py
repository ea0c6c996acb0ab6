"""What each layer asks of the hardware, before tiling: GEMMs for the array, element work for the
vector unit, data movement, and free views.

Workloads count elements, not bytes: widths belong to the :class:`~hwsim.core.config.AcceleratorConfig`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Kind", "GemmShape", "Workload", "LoweredModel", "Skipped"]


class Kind(str, enum.Enum):
    GEMM = "gemm"  #: matrix work for the systolic array (plus a fused epilogue on the vector unit)
    VECTOR = "vector"  #: element-wise, reduction, normalization or pooling work for the vector unit
    MOVE = "move"  #: data movement with no arithmetic (Transpose, Concat, Slice, Pad, Gather, ...)
    VIEW = "view"  #: free: a new view of the same bytes (Reshape, Flatten, Squeeze, shape arithmetic)


@dataclass(frozen=True)
class GemmShape:
    """``groups`` independent products ``(m x k) @ (k x n)``.

    A convolution is ``m = batch * out_h * out_w``, ``k = in_ch / groups * kh * kw``,
    ``n = out_ch / groups``, ``groups = groups`` (im2col); a batched MatMul puts its batch in ``groups``.

    >>> GemmShape(m=49, k=4608, n=512).macs
    115605504
    """

    m: int
    k: int
    n: int
    groups: int = 1

    def __post_init__(self) -> None:
        for key in ("m", "k", "n", "groups"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"GemmShape.{key} must be a positive int, got {value!r}")

    @property
    def macs(self) -> int:
        return self.groups * self.m * self.k * self.n


@dataclass(frozen=True)
class Workload:
    """One layer as the hardware sees it.

    ``input_elems`` counts the unique activation elements read (the input feature map, not its
    im2col expansion); ``weight_elems`` the constant operands (weights and bias); ``output_elems``
    the elements produced. ``vector_ops`` counts element operations on the vector unit, including a
    GEMM's fused epilogue (bias, activation). ``b_is_weight`` is false when a GEMM's second operand
    is itself an activation (attention's QK^T and AV).
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

    def __post_init__(self) -> None:
        if (self.kind is Kind.GEMM) != (self.gemm is not None):
            raise ValueError(f"workload {self.name!r}: a gemm shape goes with kind GEMM and only with it")

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

    ``skipped`` holds one :class:`Skipped` per node that was not estimated.
    """

    name: str
    workloads: tuple[Workload, ...]
    skipped: tuple[Skipped, ...] = ()

    @property
    def macs(self) -> int:
        return sum(w.macs for w in self.workloads)

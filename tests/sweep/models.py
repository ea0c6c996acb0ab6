"""Small hand-built lowered models, so that the sweep tests need neither ONNX import nor the zoo."""

from __future__ import annotations

from hwsim.core.workload import GemmShape, Kind, LoweredModel, Workload


def gemm(name: str, m: int, k: int, n: int, groups: int = 1) -> Workload:
    g = GemmShape(m=m, k=k, n=n, groups=groups)
    return Workload(name, "Conv", Kind.GEMM, gemm=g, input_elems=groups * m * k, weight_elems=groups * k * n,
                    output_elems=groups * m * n, vector_ops=groups * m * n)


def tiny_cnn(name: str = "tiny-cnn") -> LoweredModel:
    """A few convolution-shaped GEMMs and an element-wise layer: small, but every tiling regime shows."""
    return LoweredModel(name, (
        gemm("conv1", 3136, 147, 64),
        gemm("conv2", 784, 576, 128),
        Workload("add", "Add", Kind.VECTOR, input_elems=2 * 784 * 128, output_elems=784 * 128,
                 vector_ops=784 * 128),
        gemm("dw", 196, 9, 1, groups=256),
        gemm("fc", 1, 1024, 1000),
    ))


def tiny_mlp(name: str = "tiny-mlp") -> LoweredModel:
    return LoweredModel(name, (gemm("fc1", 64, 512, 256), gemm("fc2", 64, 256, 10)))

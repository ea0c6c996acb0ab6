"""Training fusion (compiler.training.fuse): which layers join which, the bytes a fused layer moves
(counted by hand from the tensors' sizes), and what fusion must never change: MACs, vector work,
the stash, the nodes covered, and DRAM traffic that only shrinks but stays above what must move."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto

from compiler.pipeline import training_program
from compiler.schedule import schedule_model
from compiler.training import TrainingOptions, fuse
from hwsim.core.config import preset
from hwsim.core.workload import STORE_PATH_FAMILIES, EpilogueStep
from hwsim.simulate import simulate
from tests.execute.models import Net
from tests.training import models

#: No residency: every tensor goes to DRAM and back, so a layer's bytes are its tensors' sizes.
GEMMINI = replace(preset("gemmini-like"), residency=False)   # int8: one byte per element
EVERY_FAMILY = replace(GEMMINI, store_path=STORE_PATH_FAMILIES)
S = 2 * 4 * 6 * 5  # every activation of the residual block: batch 2, 4 channels, 6 x 5


def _block():
    return training_program(models.residual_block()[0], TrainingOptions(loss="mse", optimizer="sgd"))


def _layers(program, cfg, fused=True):
    report = simulate(schedule_model(program.lowered(fused=fused, store_path=cfg.store_path), cfg))
    return {layer.op: layer for layer in report.layers}, report


def test_groups_of_a_residual_block() -> None:
    """Forward: each BatchNorm anchors its ReLU (the second also the residual Add, whose other operand
    was computed earlier); the convolutions take nothing (a training BatchNorm needs its input's
    statistics first). Backward: the loss gradient takes the ReLU gradient and the BatchNorm sums; the
    second conv's data gradient takes the Sum at the fork (the other gradient came first), the first
    ReLU's gradient and its BatchNorm's sums; BatchNorm's data gradients stand alone."""
    program = _block()
    ops = {n.name: n.op_type for n in program.graph.nodes}
    got = [(ops[g.anchor], tuple(ops[f] for f in g.followers), g.families) for g in fuse.groups(program.graph)
           if g.followers]
    assert got == [
        ("BatchNormalization", ("Relu",), ("activation",)),
        ("BatchNormalization", ("Add", "Relu"), ("residual", "activation")),
        ("MeanSquaredErrorGrad", ("ReluGrad", "BatchNormalizationParamGrad"), ("gradient", "statistics")),
        ("ConvTranspose", ("Sum", "ReluGrad", "BatchNormalizationParamGrad"), ("residual", "gradient", "statistics")),
    ]


def test_a_bias_gradient_is_summed_in_the_pass_that_writes_dy() -> None:
    """Two convolutions with biases and ReLUs, then global average pooling: the second conv's data
    gradient takes the first ReLU's gradient, and the first conv's bias gradient (dY summed over
    batch and positions) joins them; the second conv's bias gradient joins the pooling's gradient
    pass with the last ReLU's gradient."""
    program = training_program(_random_cnn(3, 2, "Relu", False, False, 2, bias=True),
                               TrainingOptions(loss="mse"))
    ops = {n.name: n.op_type for n in program.graph.nodes}
    got = [(ops[g.anchor], tuple(ops[f] for f in g.followers), g.families) for g in fuse.groups(program.graph)
           if g.followers and "SumTo" in [ops[f] for f in g.followers]]
    assert got == [("ReduceGrad", ("ReluGrad", "SumTo"), ("gradient", "statistics")),
                   ("ConvTranspose", ("ReluGrad", "SumTo"), ("gradient", "statistics"))]


def test_a_fused_layer_moves_only_what_crosses_it() -> None:
    """Bytes by hand (int8, nothing resident). BatchNorm+ReLU reads the conv's output and BN's four
    4-channel parameters and writes the ReLU's output: the BN output between them never moves
    (unfused: written once and read once more). The second conv's data-gradient group reads dY (S),
    the 4x4x3x3 weights, and as the results stream out the other gradient at the fork, the stashed
    ReLU output and the stashed conv output (S each); it writes the ReLU gradient (S) and BN's
    dScale and dBias (4 each). A store path without the training families (gemmini-like) leaves the
    data gradient alone: it writes its result (S), and the Sum anchors a vector pass that reads it
    back (S) with the same three tensors, and writes the same."""
    program = _block()
    fused, _ = _layers(program, EVERY_FAMILY)
    unfused, _ = _layers(program, EVERY_FAMILY, fused=False)
    bn_relu = fused["BatchNormalization+Relu"]
    assert (bn_relu.dram_read_bytes, bn_relu.dram_write_bytes) == (S + 16, S)
    assert (unfused["BatchNormalization"].dram_write_bytes, unfused["Relu"].dram_read_bytes) == (S, S)
    dx = fused["ConvTranspose+Sum+ReluGrad+BatchNormalizationParamGrad"]
    assert (dx.dram_read_bytes, dx.dram_write_bytes) == (S + 4 * 4 * 9 + 3 * S, S + 8)
    separate, _ = _layers(program, GEMMINI)
    assert not {"residual", "gradient", "statistics"} & set(GEMMINI.store_path)
    alone, rest = separate["ConvTranspose"], separate["Sum+ReluGrad+BatchNormalizationParamGrad"]
    assert (alone.dram_read_bytes, alone.dram_write_bytes) == (S + 4 * 4 * 9, S)
    assert (rest.dram_read_bytes, rest.dram_write_bytes) == (4 * S, S + 8)


def test_batchnorm_statistics_ride_on_the_convolution_store_path() -> None:
    """A training BatchNorm costs 7 operations per element, 3 of them its statistics
    (docs/ops.md). With ``statistics`` on the store path the first conv computes them on its
    S results as they are stored, and BatchNorm+ReLU keeps 4 + 1 per element; without, the BatchNorm
    pass does all 7. The bytes are the same: the conv reads x (S) and its 4x4 weights and writes y
    (S) either way, and BatchNorm's pass reads y once."""
    program = _block()
    cfg = replace(EVERY_FAMILY, store_path=tuple(f for f in STORE_PATH_FAMILIES if f != "statistics"))
    for store_path, conv_steps, bn_ops in ((EVERY_FAMILY.store_path, (EpilogueStep("BatchNormalization", "statistics",
                                                                                     3 * S),), (4 + 1) * S),
                                           (cfg.store_path, (), (7 + 1) * S)):
        workloads = program.lowered(store_path=store_path).workloads
        conv = next(w for w in workloads if w.op == "Conv")
        assert conv.epilogue == conv_steps
        assert next(w for w in workloads if w.op == "BatchNormalization+Relu").vector_ops == bn_ops
    for layers in (_layers(program, EVERY_FAMILY)[1], _layers(program, cfg)[1]):
        conv = next(layer for layer in layers.layers if layer.op == "Conv")
        assert (conv.dram_read_bytes, conv.dram_write_bytes) == (S + 16, S)


def _random_cnn(channels: int, batch: int, act: str, batchnorm: bool, residual: bool, depth: int, bias: bool = False):
    b = Net(channels + depth)
    x = "x"
    for _ in range(depth):
        y = b.op("Conv", x, b.weight(channels, channels, 3, 3), *([b.weight(channels)] if bias else []),
                 pads=[1, 1, 1, 1])
        if batchnorm:
            y = b.op("BatchNormalization", y, b.weight(channels, scale=0.5), b.weight(channels, scale=0.5),
                     b.const(np.zeros(channels)), b.const(np.ones(channels)))
        if residual and x != "x":
            y = b.op("Add", y, x)
        x = b.op(act, y)
    pooled = b.op("Flatten", b.op("GlobalAveragePool", x), axis=1)
    out = b.op("Gemm", pooled, b.weight(3, channels), transB=1)
    return b.model([("x", TensorProto.FLOAT, (batch, channels, 5, 4))], [out])


CONFIGS = (preset("gemmini-like"), EVERY_FAMILY, preset("tpu-v1-like"), preset("fpga-edge"))


@settings(max_examples=15, deadline=None)
@given(channels=st.integers(2, 6), batch=st.integers(1, 3), act=st.sampled_from(["Relu", "Sigmoid", "Tanh"]),
       batchnorm=st.booleans(), residual=st.booleans(), depth=st.integers(1, 3), bias=st.booleans(),
       optimizer=st.sampled_from(["sgd", "adam"]), recompute=st.sampled_from(["none", "all"]),
       cfg=st.sampled_from(CONFIGS))
def test_fusion_keeps_the_work_and_only_removes_traffic(channels, batch, act, batchnorm, residual, depth, bias,
                                                        optimizer, recompute, cfg) -> None:
    program = training_program(_random_cnn(channels, batch, act, batchnorm, residual, depth, bias),
                               TrainingOptions(optimizer=optimizer, recompute=recompute))
    fused, unfused = program.lowered(store_path=cfg.store_path), program.lowered(fused=False)
    # The same nodes, each in exactly one layer; the same MACs per phase and the same vector work.
    covered = [n for w in fused.workloads for n in w.nodes]
    assert sorted(covered) == sorted(n for w in unfused.workloads for n in w.nodes)
    for phase in ("forward", "backward-data", "backward-weight", "optimizer", "recompute"):
        gemms = lambda lowered: sorted((w.gemm.m, w.gemm.k, w.gemm.n, w.gemm.groups)  # noqa: E731
                                       for w in lowered.workloads if w.gemm is not None and w.phase == phase)
        assert gemms(fused) == gemms(unfused)
    assert sum(w.vector_ops for w in fused.workloads) == sum(w.vector_ops for w in unfused.workloads)
    # The stash is the graph's: every stashed value is still written by a layer, none stays inside one.
    assert fused.training == unfused.training
    written = {r.name for w in fused.workloads for r in w.outputs}
    stashed = {r.name for w in unfused.workloads if w.phase == "forward" for r in w.outputs} & {
        r.name for w in unfused.workloads if w.phase.startswith("backward") for r in w.inputs}
    assert stashed <= written
    # DRAM traffic with every tensor in DRAM: fusion only removes the values read inside a layer.
    flat = replace(cfg, residency=False)
    a, b = simulate(schedule_model(fused, flat)), simulate(schedule_model(unfused, flat))
    assert a.totals.dram_read_bytes <= b.totals.dram_read_bytes
    assert a.totals.dram_write_bytes <= b.totals.dram_write_bytes
    assert a.totals.macs == b.totals.macs
    # With residency too: no less than the step's compulsory traffic, and never less than reading
    # every model input and parameter once.
    inputs = sum(program.graph.info(i).size for i in program.model_inputs) * cfg.input_bytes
    parameters = cfg.tensor_bytes(sum(program.graph.info(p).size for p in program.parameters), cfg.weight_bits)
    for report in (a, simulate(schedule_model(fused, cfg))):
        assert report.totals.dram_read_bytes + report.totals.dram_write_bytes >= report.totals.compulsory_dram_bytes
        assert report.totals.dram_read_bytes >= inputs + parameters


def test_the_executed_step_runs_the_fused_program() -> None:
    """``hwsim run --training-step`` schedules the estimate's fused program: a fused data-gradient
    layer is an array layer of it, and the executed gradients match finite differences
    (tests/training/test_gradients.py runs the residual block)."""
    from hwsim.execute import compile_training_step

    step = compile_training_step(models.residual_block()[0], EVERY_FAMILY, TrainingOptions(loss="mse"))
    ops = [layer.workload.op for layer in step.compiled.program.layers]
    assert "ConvTranspose+Sum+ReluGrad+BatchNormalizationParamGrad" in ops

"""int8 on the integer store path: GEMM layers and pooling computed on codes as the RTL does."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto

from compiler.ops.epilogue import integer_chain
from hwsim.core.config import preset
from hwsim.execute import Executor, compile_for_run, run
from hwsim.execute._integer import GemmQuant, PoolQuant

from .models import Net, small_cnn, small_mlp

CFG = preset("fpga-edge")
RNG = np.random.default_rng(21)


def _floor_half_up(t, shift):
    """floor(t / 2^shift + 1/2) with Python integers (object arrays): no 64-bit reasoning borrowed."""
    return (t + (1 << (shift - 1))) // (1 << shift)


def _epilogue_by_hand(acc: np.ndarray, q: GemmQuant, r: np.ndarray | None) -> np.ndarray:
    ep = q.epilogue
    acc = acc.astype(object)
    out = np.empty(acc.shape, dtype=np.int64)
    for c in range(ep.channels):
        v = np.clip(acc[..., c] + int(ep.bias[c]), -(1 << 31), (1 << 31) - 1)
        t = v * int(ep.mult[c])
        if ep.relu_pre:
            t = np.maximum(t, 0)
        if ep.residual:
            t = t + r[..., c].astype(object) * int(ep.rmult[c])
        out[..., c] = np.clip(_floor_half_up(t, int(ep.shift[c])), ep.lo, ep.hi)
    return out


def _conv_by_hand(x: np.ndarray, w: np.ndarray, strides, pads) -> np.ndarray:
    """Direct convolution in int64, one output pixel at a time (tiny images)."""
    n, c, h, wd = x.shape
    oc, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.int64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh, ow = (h + pads[0] + pads[2] - kh) // strides[0] + 1, (wd + pads[1] + pads[3] - kw) // strides[1] + 1
    out = np.zeros((n, oc, oh, ow), np.int64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * strides[0]:i * strides[0] + kh, j * strides[1]:j * strides[1] + kw]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w.astype(np.int64))
    return out


@pytest.mark.parametrize("model, shape", [(small_cnn(), (1, 3, 12, 12)), (small_mlp(), (4, 20))])
def test_integer_layers_equal_the_integer_definition(model, shape):
    compiled = compile_for_run(model, CFG)
    result = run(compiled, {"x": RNG.standard_normal(shape).astype(np.float32)}, precision="int8", keep_codes=True)
    nodes = {n.name: n for n in compiled.graph.nodes}
    gemms = [q for q in result.quant.values() if isinstance(q, GemmQuant)]
    assert len(gemms) == len([n for n in compiled.graph.nodes if n.op_type in ("Conv", "Gemm", "MatMul")])
    for q in gemms:
        node = nodes[q.node]
        a = result.codes[q.a]
        assert a.dtype == np.int8 and np.abs(a).max() <= 127
        k, n = q.weights.shape
        if node.op_type == "Conv":
            kh, kw = compiled.graph.shape(node.inputs[1])[2:]
            w = q.weights.reshape(k // (kh * kw), kh, kw, n).transpose(3, 0, 1, 2)
            acc = _conv_by_hand(a, w, node.attr("strides") or (1, 1), node.attr("pads") or (0, 0, 0, 0))
            acc = np.moveaxis(acc, 1, -1)
        else:
            acc = a.astype(np.int64) @ q.weights.astype(np.int64)
        r = None if q.residual is None else np.moveaxis(result.codes[q.residual], 1, -1) if acc.ndim == 4 else result.codes[q.residual]
        want = _epilogue_by_hand(acc, q, r)
        got = result.codes[q.output]
        got = np.moveaxis(got, 1, -1) if got.ndim == 4 else got
        np.testing.assert_array_equal(got, want, err_msg=q.node)
    for q in result.quant.values():
        if isinstance(q, PoolQuant):
            x, y = result.codes[q.input].astype(np.int64), result.codes[q.output]
            if q.mode == "max":
                assert q.s_out == q.s_in
                n_, c_, h_, w_ = x.shape
                want = x.reshape(n_, c_, h_ // 2, 2, w_ // 2, 2).max(axis=(3, 5))
            else:
                total = x.sum(axis=(2, 3), keepdims=True).astype(object)
                want = np.clip(_floor_half_up(total * q.average.mult, q.average.shift), -127, 127).astype(np.int64)
            np.testing.assert_array_equal(y, want, err_msg=q.node)


def _layer_codes(compiled, feeds, integer: bool, monkeypatch) -> dict[str, np.ndarray]:
    if not integer:
        monkeypatch.setattr(Executor, "_integer_layer", lambda self, *args: None)
    out = run(compiled, feeds, precision="int8", keep_codes=True).codes
    monkeypatch.undo()
    return out


@pytest.mark.parametrize("model, shape", [(small_cnn(), (1, 3, 12, 12)), (small_mlp(), (4, 20))])
def test_integer_store_path_agrees_with_the_float_epilogue(model, shape, monkeypatch):
    """The integer parameters (folded BatchNorm, bias in accumulator units, 31-bit multipliers,
    residual rmult) against the float kernels of the same chain: codes one step apart at most."""
    compiled = compile_for_run(model, CFG)
    feeds = {"x": RNG.standard_normal(shape).astype(np.float32)}
    ints = _layer_codes(compiled, feeds, True, monkeypatch)
    floats = _layer_codes(compiled, feeds, False, monkeypatch)
    outputs = [n.outputs[0] for n in compiled.graph.nodes if n.op_type in ("Conv", "Gemm", "MatMul")]
    for name in outputs:
        diff = np.abs(ints[name].astype(int) - floats[name].astype(int))
        assert diff.max() <= 1 and diff.mean() < 0.05, name


def test_chains_outside_the_store_path_keep_the_float_epilogue():
    b = Net(3)
    y = b.op("Sigmoid", b.op("Conv", "x", b.weight(4, 2, 1, 1)))                      # not a store-path step
    z = b.op("Clip", b.op("Conv", y, b.weight(4, 4, 1, 1)), b.const(0.0), b.const(6.0))
    z = b.op("Add", z, y)                                                            # ReLU6 before a residual
    u = b.op("Mul", b.op("Relu", b.op("Conv", z, b.weight(4, 4, 1, 1))), b.const(np.float32(2.0)))  # scale after
    v = b.op("Relu", b.op("Add", b.op("Conv", u, b.weight(4, 4, 1, 1)), u))           # fine
    model = b.model([("x", TensorProto.FLOAT, (1, 2, 3, 3))], [v])
    compiled = compile_for_run(model, CFG)
    reasons = [integer_chain(n, compiled.graph) for n in compiled.graph.nodes if n.op_type == "Conv"]
    assert "Sigmoid" in reasons[0] and "not a ReLU" in reasons[1] and "after an activation" in reasons[2]
    assert not isinstance(reasons[3], str) and reasons[3].residual == u and not reasons[3].relu_pre
    result = run(compiled, {"x": RNG.standard_normal((1, 2, 3, 3)).astype(np.float32)}, precision="int8")
    assert list(result.quant) == [compiled.graph.nodes[-1].name]
    assert result.errors[0].snr_db > 30


def test_max_pool_keeps_its_input_scale_and_average_pool_counts_cells():
    b = Net(4)
    y = b.op("Conv", "x", b.weight(4, 2, 1, 1))
    m = b.op("MaxPool", y, kernel_shape=[2, 2], strides=[2, 2])
    a = b.op("AveragePool", m, kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)
    c = b.op("AveragePool", m, kernel_shape=[3, 3], pads=[1, 1, 1, 1])  # uncounted pads: float
    model = b.model([("x", TensorProto.FLOAT, (1, 2, 6, 6))], [m, a, c])  # m an output: the pools stay apart
    compiled = compile_for_run(model, CFG)
    result = run(compiled, {"x": RNG.standard_normal((1, 2, 6, 6)).astype(np.float32)}, precision="int8", keep_codes=True)
    pools = [q for q in result.quant.values() if isinstance(q, PoolQuant)]
    assert [(p.mode, p.window.cells) for p in pools] == [("max", 4), ("average", 9)]
    fused_max, average = pools
    assert fused_max.s_in == fused_max.s_out
    x = np.pad(result.codes[average.input].astype(np.int64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    sums = sum(x[:, :, i:i + 3, j:j + 3] for i in range(3) for j in range(3)).astype(object)
    want = np.clip(_floor_half_up(sums * average.average.mult, average.average.shift), -127, 127)
    np.testing.assert_array_equal(result.codes[average.output], want.astype(np.int64))

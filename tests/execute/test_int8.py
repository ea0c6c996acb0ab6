"""int8: quantized ONNX models with their own parameters, and post-training quantization of fp32 ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_dynamic, quantize_static

from hwsim.core.golden import int_gemm
from hwsim.execute import compare_outputs, compile_for_run, run

from .helpers import CFG, hwsim_outputs, ort_outputs
from .models import conv_zoo, qdq_source

RNG = np.random.default_rng(11)
QDQ_X = [RNG.standard_normal((4, 3, 16, 16)).astype(np.float32) for _ in range(3)]
ZOO_X = [RNG.standard_normal((2, 3, 33, 29)).astype(np.float32) for _ in range(3)]


class _Reader(CalibrationDataReader):
    def __init__(self, samples):
        self.samples = iter([{"x": x} for x in samples])

    def get_next(self):
        return next(self.samples, None)


def _quantized(tmp_path: Path, model: onnx.ModelProto, samples, **options) -> onnx.ModelProto:
    src, dst = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    onnx.save(model, src)
    if options.pop("dynamic", False):
        quantize_dynamic(src, dst, **options)
    else:
        quantize_static(src, dst, _Reader(samples), **options)
    return onnx.load(dst)


def _unoptimized(model: onnx.ModelProto, feeds) -> dict[str, np.ndarray]:
    """onnxruntime executing the graph as written (its optimizer rewrites QDQ groups; see docs/run.md)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, dict(feeds))))


def _output_steps(model: onnx.ModelProto) -> dict[str, float]:
    """Each output's quantization step: the scale of the DequantizeLinear that produces it."""
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    return {o.name: float(inits[producer[o.name].input[1]]) for o in model.graph.output}


def _within_one_step(ours, ref, steps):
    for name, want in ref.items():
        # One code apart, measured on float32 dequantized values (hence the rounding allowance).
        assert np.max(np.abs(ours[name] - want)) <= steps[name] * 1.0001, name


@pytest.mark.parametrize("source, samples, per_channel", [(qdq_source, QDQ_X, True), (conv_zoo, ZOO_X, False)])
def test_qdq_model_equals_onnxruntime_within_one_step(tmp_path, source, samples, per_channel):
    model = _quantized(tmp_path, source(), samples, quant_format=QuantFormat.QDQ, per_channel=per_channel)
    assert {"QuantizeLinear", "DequantizeLinear", "Conv", "MatMul"} <= {n.op_type for n in model.graph.node}
    feeds = {"x": samples[0]}
    ours = hwsim_outputs(model, feeds)
    steps = _output_steps(model)
    _within_one_step(ours, _unoptimized(model, feeds), steps)
    if source is conv_zoo:  # onnxruntime's fused kernels agree here too (they may drift on deeper nets)
        _within_one_step(ours, ort_outputs(model, feeds), steps)


def test_qdq_layers_run_on_the_integer_array(tmp_path):
    """Every Conv/Gemm/MatMul of the QDQ model goes through the golden int8 GEMM, tile by tile."""
    model = _quantized(tmp_path, qdq_source(), QDQ_X, quant_format=QuantFormat.QDQ, per_channel=True)
    seen = []
    run(compile_for_run(model, CFG), {"x": QDQ_X[0]},
        tile_hook=lambda name, p, a, b, before, after: seen.append((name, a.dtype, b.dtype)))
    assert {name for name, *_ in seen} == {n.name for n in model.graph.node if n.op_type in ("Conv", "Gemm", "MatMul")}
    assert {(a, b) for _, a, b in seen} == {(np.dtype(np.int8), np.dtype(np.int8))}


def test_qlinear_operators_equal_onnxruntime(tmp_path):
    model = _quantized(tmp_path, conv_zoo(), ZOO_X, quant_format=QuantFormat.QOperator,
                       op_types_to_quantize=["Conv", "MatMul"])
    ops = {n.op_type for n in model.graph.node}
    assert {"QLinearConv", "QLinearMatMul"} <= ops
    feeds = {"x": ZOO_X[0]}
    ours, ref = hwsim_outputs(model, feeds), ort_outputs(model, feeds)
    for name in ref:
        np.testing.assert_allclose(ours[name], ref[name], rtol=1e-5, atol=1e-6 * np.abs(ref[name]).max())


def test_integer_operators_equal_onnxruntime(tmp_path):
    model = _quantized(tmp_path, conv_zoo(), ZOO_X, dynamic=True, op_types_to_quantize=["Conv", "MatMul"])
    assert {"ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"} <= {n.op_type for n in model.graph.node}
    feeds = {"x": ZOO_X[0]}
    ours, ref = hwsim_outputs(model, feeds), ort_outputs(model, feeds)
    for name in ref:
        np.testing.assert_allclose(ours[name], ref[name], rtol=1e-5, atol=1e-6 * np.abs(ref[name]).max())


def test_post_training_int8_reports_its_error_against_fp32():
    compiled = compile_for_run(conv_zoo(), CFG)
    feeds = {"x": ZOO_X[0]}
    result = run(compiled, feeds, precision="int8")
    fp32 = run(compiled, feeds).outputs
    assert result.reference is not None and result.reference.keys() == fp32.keys()
    for name in fp32:
        np.testing.assert_array_equal(result.reference[name], fp32[name])
    assert result.errors == compare_outputs(fp32, result.outputs)
    for e in result.errors:
        diff = np.abs(fp32[e.name].astype(np.float64) - result.outputs[e.name])
        assert e.max_abs_error == float(diff.max()) > 0
        assert 25 < e.snr_db < 80
        assert e.top1_agreement is None  # no output is classifier-shaped


def test_classifier_top1_agreement():
    result = run(compile_for_run(qdq_source(), CFG), {"x": QDQ_X[0]}, precision="int8")
    (error,) = result.errors
    (name,) = result.outputs
    assert result.outputs[name].shape == (4, 10)
    agree = np.mean(result.outputs[name].argmax(1) == result.reference[name].argmax(1))
    assert error.top1_agreement == agree >= 0.75


def test_calibration_samples_set_the_scales():
    compiled = compile_for_run(conv_zoo(), CFG)
    feeds = {"x": ZOO_X[0]}
    on_input = run(compiled, feeds, precision="int8").outputs
    wide = run(compiled, feeds, precision="int8", calibration=[("big", {"x": ZOO_X[1] * 4})]).outputs
    again = run(compiled, feeds, precision="int8", calibration=[("big", {"x": ZOO_X[1] * 4})]).outputs
    assert any(not np.array_equal(on_input[k], wide[k]) for k in on_input)
    for k in wide:
        np.testing.assert_array_equal(wide[k], again[k])


def test_grouped_tiles_are_bit_identical_to_literal_tiles():
    cfg = CFG.replace(rows=4, cols=4, ifmap_kib=0.25, filter_kib=0.25, ofmap_kib=0.25)
    compiled = compile_for_run(conv_zoo(), cfg)
    feeds = {"x": ZOO_X[0]}
    grouped = run(compiled, feeds, precision="int8").outputs
    literal = run(compiled, feeds, precision="int8", literal=True).outputs
    for k in grouped:
        np.testing.assert_array_equal(grouped[k], literal[k])


def test_accumulators_have_the_configured_width():
    """With 16-bit accumulators the array's sums wrap exactly as hwsim.core.golden.int_gemm says."""
    narrow = CFG.replace(acc_bits=16)
    tiles = []
    run(compile_for_run(conv_zoo(), narrow), {"x": ZOO_X[0]}, precision="int8",
        tile_hook=lambda name, p, a, b, before, after: tiles.append((a, b, before, after)))
    wrapped = 0
    for a, b, before, after in tiles:
        np.testing.assert_array_equal(after, int_gemm(a, b, acc_bits=16, acc=before))
        exact = a.astype(np.int64) @ b.astype(np.int64) + (0 if before is None else before)
        wrapped += int(np.sum(exact != after))
        assert after.min() >= -(1 << 15) and after.max() < (1 << 15)
    assert wrapped > 0


def test_operand_widths_come_from_the_config():
    feeds = {"x": ZOO_X[0]}
    narrow = CFG.replace(input_bits=4, weight_bits=4, acc_bits=16)
    codes = []
    four = run(compile_for_run(conv_zoo(), narrow), feeds, precision="int8",
               tile_hook=lambda name, p, a, b, before, after: codes.append((a.min(), a.max(), b.min(), b.max())))
    assert min(c[0] for c in codes) == min(c[2] for c in codes) == -7
    assert max(c[1] for c in codes) == max(c[3] for c in codes) == 7
    eight = run(compile_for_run(conv_zoo(), CFG), feeds, precision="int8")
    for e4, e8 in zip(four.errors, eight.errors):
        assert e4.snr_db < e8.snr_db - 12  # about 6 dB per bit


def test_a_quantized_model_needs_operands_as_wide_as_its_codes(tmp_path):
    from hwsim.core.errors import UserError

    model = _quantized(tmp_path, qdq_source(), QDQ_X, quant_format=QuantFormat.QDQ)
    with pytest.raises(UserError, match="input_bits is 4"):
        run(compile_for_run(model, CFG.replace(input_bits=4, acc_bits=16)), {"x": QDQ_X[0]})

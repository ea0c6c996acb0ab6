"""The regression corpus: one small, named case per failure known from issue 17 or found by the campaign.

Every case must satisfy the CLI contract once the bug is fixed (most: exit 2 with one short
``error:`` line, no traceback, no file left behind). They all run in-process. ``KNOWN`` is a list of
``(id, constructor)``; ``test_fuzz.py`` parametrizes over it and ``campaign.py --known`` runs it.
"""

from __future__ import annotations

import io

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

try:
    from .harness import Case
    from . import configs, mutate, npy
except ImportError:
    from harness import Case
    import configs
    import mutate
    import npy

__all__ = ["KNOWN", "known_case"]

USER_ERROR = (2,)


def _attr(node: onnx.NodeProto, name: str, attr: AttributeProto | None) -> None:
    kept = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(kept)
    if attr is not None:
        node.attribute.append(attr)


def _node(model: onnx.ModelProto, op: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.op_type == op)


def _with_attr(desc: str, model: onnx.ModelProto, op: str, name: str, attr: AttributeProto | None) -> Case:
    """``estimate`` of ``model`` with attribute ``name`` of its ``op`` node replaced by ``attr``."""
    _attr(_node(model, op), name, attr)
    return _estimate(desc, model)


def _estimate(name: str, model: onnx.ModelProto, *extra: str, expect=USER_ERROR) -> Case:
    return Case("known", 0, name, ["estimate", "model.onnx", *extra, "--json", "report.json"],
                {"model.onnx": model.SerializeToString()}, meta={"known": name, "expect": expect})


def _cli(name: str, argv: list[str], files: dict[str, bytes] | None = None, expect=USER_ERROR, **kw) -> Case:
    base = configs.fixture_files()
    return Case("known", 0, name, argv, {**base, **(files or {})}, meta={"known": name, "expect": expect}, **kw)


def _config(name: str, toml: str, argv: list[str] | None = None, expect=USER_ERROR) -> Case:
    argv = argv or ["estimate", "m.onnx", "--config", "c.toml", "--json", "r.json"]
    return _cli(name, argv, {"c.toml": toml.encode()}, expect=expect)


# ---------------------------------------------------------------------------------- importer

def nms_unknown_attribute() -> Case:
    nodes = [helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["sel"], name="nms", fuzz_attr=1)]
    m = helper.make_model(helper.make_graph(nodes, "nms", [helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 6, 4]),
                                                           helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, 6])],
                                            [helper.make_tensor_value_info("sel", TensorProto.INT64, None)]),
                          opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return _estimate("NonMaxSuppression with an unknown attribute (onnx ValidationError)", m)


def einsum_without_equation() -> Case:
    m = mutate.einsum()
    _attr(_node(m, "Einsum"), "equation", None)
    return _estimate("Einsum without its equation", m)


def loop_body_without_inputs() -> Case:
    m = mutate.loop()
    del _node(m, "Loop").attribute[0].g.input[:]
    return _estimate("Loop body with no inputs", m)


def loop_body_without_outputs() -> Case:
    m = mutate.loop()
    del _node(m, "Loop").attribute[0].g.output[:]
    return _estimate("Loop body with no outputs", m)


def if_without_condition() -> Case:
    m = mutate.if_model()
    del _node(m, "If").input[:]
    return _estimate("If without its condition input", m)


def gemm_alpha_list() -> Case:
    return _with_attr("Gemm alpha given as a list",
                      mutate.small_cnn(), "Gemm", "alpha", helper.make_attribute("alpha", [1.0, 1.0]))


def constant_of_shape_float_value() -> Case:
    return _with_attr("ConstantOfShape with a float (not tensor) value",
                      mutate.constant_of_shape(), "ConstantOfShape", "value", helper.make_attribute("value", 0.5))


def conv_negative_stride() -> Case:
    return _with_attr("Conv with a negative stride",
                      mutate.conv_relu(), "Conv", "strides", helper.make_attribute("strides", [-1, -1]))


def batchnorm_scale_wrong_length() -> Case:
    m = mutate.batchnorm()
    scale = next(t for t in m.graph.initializer if t.name == "scale")
    scale.CopyFrom(numpy_helper.from_array(np.ones(3, np.float32), "scale"))
    return _estimate("BatchNormalization with a scale of the wrong length", m)


def external_data_long_name() -> Case:
    m = mutate.conv_relu()
    w = next(t for t in m.graph.initializer if t.name == "B")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    e = w.external_data.add()
    e.key, e.value = "location", "a" * 5000
    return _cli("external-data file name over 255 characters", ["run", "model.onnx", "--input", "x=x.npy"],
                {"model.onnx": m.SerializeToString()})


def attribute_tensor_not_utf8() -> Case:
    m = mutate.conv_relu()
    a = AttributeProto(name="dilations", type=AttributeProto.TENSOR)
    a.t.CopyFrom(helper.make_tensor("t", TensorProto.STRING, [2], [b"a", b"\xff"]))
    _attr(_node(m, "Conv"), "dilations", a)
    return _estimate("string-tensor attribute holding bytes that are not UTF-8 (UnicodeDecodeError)", m)


def einsum_equation_int() -> Case:
    return _with_attr("Einsum equation given as an INT (onnx ValidationError)",
                      mutate.einsum(), "Einsum", "equation", helper.make_attribute("equation", 3))


def conv_dilations_nan() -> Case:
    return _with_attr("Conv dilations given as floats with NaN",
                      mutate.conv_relu(), "Conv", "dilations", helper.make_attribute("dilations", [float("nan"), 1.0]))


def batchnorm_epsilon_list() -> Case:
    m = mutate.batchnorm()
    _attr(_node(m, "BatchNormalization"), "epsilon", helper.make_attribute("epsilon", [1e-5, 1e-5]))
    return _estimate("BatchNormalization epsilon given as a list", m)


def escape_in_model_name() -> Case:
    m = mutate.conv_relu()
    m.graph.name = "\x1b[2J\x1b[31mboom"
    m.graph.node[0].name = "\x1b]0;title\x07conv"
    return _estimate("terminal escapes in the model and node names echoed raw", m, expect=(0, 2))


def required_input_left_empty() -> Case:
    m = mutate.attention()
    div = _node(m, "Div")
    div.input[0] = ""
    return _estimate("a required input given as '' (AttributeError in a kernel)", m)


def long_operator_name() -> Case:
    m = mutate.batchnorm()
    _node(m, "Relu").op_type = "C" * 300
    return _estimate("a 300-character operator name echoed whole (a 300-character error line)", m)


def escape_in_output_folder() -> Case:
    return _cli("plot --out with a terminal escape, echoed raw in its 'wrote' line", ["plot", "report.json", "--out",
                "\x1b[31mplots"], expect=(0,))


def unknown_domain_long_names() -> Case:
    m = mutate.batchnorm()
    node = _node(m, "BatchNormalization")
    node.domain = "com.microsoft"
    node.name = "/features/features.12/conv/conv.0/BatchNormalization"
    del node.output[:]
    node.output.append("/features/features.12/conv/conv.0/BatchNormalization_output_0")
    _node(m, "Relu").input[0] = node.output[0]
    return _estimate("unknown-domain node with long names: its output named too (a line over 200 characters)", m)


def runtime_expand_shape_hint() -> Case:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 1])
    shape = helper.make_tensor_value_info("target_shape", TensorProto.INT64, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node("Expand", ["x", shape.name], ["y"], name="/model/decoder/layers.0/Expand")
    m = helper.make_model(helper.make_graph([node], "g", [x, shape], [y]), opset_imports=[helper.make_opsetid("", 17)])
    return _estimate("Expand with a run-time shape: the --input-value hint made a line of over 300 characters", m)


# ---------------------------------------------------------------------------------- run / npy

def npy_huge_header() -> Case:
    data = npy.raw_npy(npy._hdr(shape="(1000000000000,)"), b"\x00" * 768)
    return _cli(".npy header declaring 4 TB", ["run", "m.onnx", "--input", "x=bad.npy"], {"bad.npy": data})


def npy_header_expression() -> Case:
    data = npy.raw_npy(npy._hdr(shape="(True, 3, 8, 8)"), b"\x00" * 768)
    return _cli(".npy header whose shape holds a bool (TypeError)", ["run", "m.onnx", "--input", "x=bad.npy"],
                {"bad.npy": data})


def npy_header_unterminated() -> Case:
    data = npy.raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 8, 8", b"\x00" * 768)
    return _cli(".npy header cut inside the dict (tokenize TokenError)", ["run", "m.onnx", "--input", "x=bad.npy"],
                {"bad.npy": data})


def npy_object_dtype_hint() -> Case:
    return _cli(".npy of dtype object: the hint to save strings as text made a line over 200 characters",
                ["run", "m.onnx", "--input", "x=strings_saved_as_objects.npy"], {"strings_saved_as_objects.npy": _object_npy()})


def _object_npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array(["ab", "c"], dtype=object), allow_pickle=True)
    return buf.getvalue()


def calibrate_npz_holding_npy() -> Case:
    return _cli("--calibrate folder with an .npz that is really an .npy",
                ["run", "m.onnx", "--input", "x=x.npy", "--precision", "int8", "--calibrate", "cal"],
                {"cal/a.npz": configs.fixture_files()["x.npy"]})


def nan_input_int8() -> Case:
    x = np.full((1, 3, 8, 8), np.nan, np.float32)
    c = _cli("NaN inputs to run --precision int8 accepted", ["run", "m.onnx", "--input", "x=nan.npy", "--precision", "int8"],
             {"nan.npy": mutate.npy_bytes(x)}, expect=USER_ERROR)
    c.nonfinite_input = True
    return c


def nan_input_report_json() -> Case:
    x = np.full((1, 3, 8, 8), np.inf, np.float32)
    c = _cli("Inf inputs: run --report writes Infinity into JSON",
             ["run", "m.onnx", "--input", "x=inf.npy", "--precision", "int8", "--report", "r.json"],
             {"inf.npy": mutate.npy_bytes(x)}, expect=(0, 2))
    return c


def run_output_then_report_missing_dir() -> Case:
    return _cli("run --output ok.npz --report missing-dir/r.json leaves ok.npz",
                ["run", "m.onnx", "--input", "x=x.npy", "--precision", "int8", "--output", "ok.npz",
                 "--report", "missing-dir/r.json"])


# ---------------------------------------------------------------------------------- configs

def clock_1e308() -> Case:
    return _config("clock_mhz = 1e308 (ZeroDivisionError)", "[array]\nclock_mhz = 1e308\n")


def ifmap_1e308() -> Case:
    return _config("ifmap_kib = 1e308", "[memory]\nifmap_kib = 1e308\n")


def dram_denormal() -> Case:
    return _config("dram_gbps = 5e-324", "[memory]\ndram_gbps = 5e-324\n")


def energy_infinity_json() -> Case:
    return _config("mac_pj = 1e308 writes Infinity into the JSON report", "[energy]\nmac_pj = 1e308\n", expect=(0, 2))


def sweep_empty_min() -> Case:
    return _config("sweep crashes on an empty min()", "[energy]\nvector_op_pj = 1.7976931348623157e308\n",
                   ["sweep", "m.onnx", "--config", "c.toml", "--out", "sw", "--rows", "4,8"])


def toml_deep_nesting() -> Case:
    return _config("TOML nested 5000 deep (RecursionError)", "x = " + "{a=" * 5000 + "1" + "}" * 5000 + "\n")


def dram_latency_1e308() -> Case:
    return _config("dram_latency_ns = 1e308 (a new memory field)", "[memory]\ndram_latency_ns = 1e308\n")


def burst_bytes_huge() -> Case:
    return _config("dram_burst_bytes = 2**63 - 1 (a new memory field)", "[memory]\ndram_burst_bytes = 9223372036854775807\n")


def command_cycles_negative() -> Case:
    return _config("command_cycles = -1 (the [control] table)", "[control]\ncommand_cycles = -1\n")


def leakage_1e308() -> Case:
    return _config("logic_leakage_mw_per_mm2 = 1e308: static power overflows", "[energy]\nlogic_leakage_mw_per_mm2 = 1e308\n")


def config_report_json_deep() -> Case:
    return _cli("--config with a .json nested 100,000 deep (RecursionError)",
                ["estimate", "m.onnx", "--config", "deep.json"], {"deep.json": b"[" * 100000})


def preset_5000() -> Case:
    return _cli("5,000-character preset name (ENAMETOOLONG)", ["estimate", "m.onnx", "--preset", "x" * 5000])


def preset_empty() -> Case:
    return _cli("--preset '' silently means gemmini-like", ["estimate", "m.onnx", "--preset", ""])


def preset_path() -> Case:
    return _cli("--preset ../presets/x taken as a path", ["estimate", "m.onnx", "--preset", "../presets/fpga-edge"])


# ---------------------------------------------------------------------------------- CLI

def no_command() -> Case:
    return _cli("hwsim with no command: exit 2 without an error: line", [])


def json_empty() -> Case:
    return _cli("--json '' ignored", ["estimate", "m.onnx", "--json", ""])


def out_empty() -> Case:
    return _cli("rtl --out '' writes into the working directory", ["rtl", "--preset", "fpga-edge", "--rows", "4",
                                                                   "--cols", "4", "--out", ""])


def verify_negative_seed() -> Case:
    return _cli("verify --seed -1", ["verify", "--rows", "2", "--cols", "2", "--seed", "-1"], expect=(2,))


def verify_huge_mk() -> Case:
    return _cli("verify with huge --m/--k", ["verify", "--rows", "2", "--cols", "2", "--m", "100000000", "--k", "100000000"])


def json_ok_then_csv_missing_dir() -> Case:
    return _cli("estimate --json ok.json --csv missing-dir/x.csv leaves ok.json",
                ["estimate", "m.onnx", "--json", "ok.json", "--csv", "missing-dir/x.csv"])


def long_output_name() -> Case:
    return _cli("--json with a 300-character file name (ENAMETOOLONG)", ["estimate", "m.onnx", "--json", "a" * 300 + ".json"])


def plot_stdin_not_utf8() -> Case:
    # Locale-dependent: under C/C.UTF-8 Python decodes stdin with surrogateescape (exit 2); with strict
    # decoding (en_US.UTF-8, or PYTHONIOENCODING=utf-8:strict) it is exit 3. The in-process harness is strict.
    return _cli("plot - with bytes that are not UTF-8 on stdin (strict stdin decoding)", ["plot", "-", "--out", "plots"],
                stdin=b"\xff" * 10)


def bundled_model_info_line() -> Case:
    return _cli("estimate with no model prints an info line before the error (two stderr lines)",
                ["estimate", "--input-shape", "nope=1x3"])


def plot_stdin_deep_nesting() -> Case:
    return _cli("plot - with JSON nested 100,000 deep on stdin (RecursionError)", ["plot", "-", "--out", "plots"],
                stdin=b"[" * 100000)


def symlink_output_replaced() -> Case:
    c = _cli("--json onto a symlink replaces the link with a regular file", ["estimate", "m.onnx", "--json", "link.json"],
             expect=(0, 2))
    c.symlinks = {"link.json": "target.json"}
    return c


def conv_pad_2_31() -> Case:
    # A 3x3 Conv padded by 2**31 - 1 on one side: its input footprint was enumerated position by
    # position (2**31 outputs x 3 taps), so estimate ran past the campaign's timeout.
    m = mutate.conv_relu()
    _attr(_node(m, "Conv"), "pads", helper.make_attribute("pads", [1, 2**31 - 1, 1, 1]))
    c = _estimate("Conv with a pad of 2**31 - 1 (footprint enumerated)", m, expect=(0,))
    c.timeout = 20.0
    return c


def plot_name_260() -> Case:
    return _cli("a 260-character --plot name made a 215-character error", ["estimate", "m.onnx", "--plot",
                "a" * 255 + ".json"])


KNOWN = [(f.__name__, f) for f in (
    nms_unknown_attribute, einsum_without_equation, einsum_equation_int, loop_body_without_inputs,
    loop_body_without_outputs, if_without_condition, gemm_alpha_list, constant_of_shape_float_value,
    conv_negative_stride, batchnorm_scale_wrong_length, batchnorm_epsilon_list, conv_dilations_nan,
    attribute_tensor_not_utf8, external_data_long_name, escape_in_model_name,
    npy_huge_header, npy_header_expression, npy_header_unterminated, calibrate_npz_holding_npy, nan_input_int8,
    nan_input_report_json, run_output_then_report_missing_dir,
    clock_1e308, ifmap_1e308, dram_denormal, energy_infinity_json, sweep_empty_min, toml_deep_nesting,
    preset_5000, preset_empty, preset_path,
    no_command, json_empty, out_empty, verify_negative_seed, verify_huge_mk, json_ok_then_csv_missing_dir,
    long_output_name, plot_stdin_not_utf8, bundled_model_info_line, symlink_output_replaced,
    required_input_left_empty, long_operator_name, escape_in_output_folder,
    # found merging issue 17 with main's memory hierarchy and Python API
    unknown_domain_long_names, runtime_expand_shape_hint, npy_object_dtype_hint, dram_latency_1e308,
    burst_bytes_huge, command_cycles_negative, leakage_1e308, config_report_json_deep, plot_stdin_deep_nesting,
    # found by the campaign run on the merged tree
    conv_pad_2_31, plot_name_260,
)]


def known_case(name: str) -> Case:
    return dict(KNOWN)[name]()

"""The ONNX backend test data shipped inside the installed ``onnx`` wheel, every case through ``hwsim run``.

``onnx/backend/test/data/{node,pytorch-converted,pytorch-operator,light}``: each case is a model
with inputs and expected outputs (``light`` models ship no inputs; they get seeded random ones and
onnxruntime's outputs, and are compared on their logits as well: :func:`_with_logits`). Every case must run and equal its expected outputs within the tolerance of
docs/run.md, and equal onnxruntime wherever onnxruntime runs it; a case hwsim cannot run must stop
with one clean error naming the operator or the input, and only where onnxruntime cannot run it
either. Nothing is skipped: a folder the wheel does not ship is reported as an empty parameter set.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import hwsim
from compiler.importer import declared_inputs
from hwsim.core.errors import UserError

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
FOLDERS = ("node", "pytorch-converted", "pytorch-operator")
CASES = sorted(str(p.relative_to(DATA)) for folder in FOLDERS for p in (DATA / folder).glob("*/model.onnx"))
LIGHT = sorted(str(p.relative_to(DATA)) for p in (DATA / "light").glob("*.onnx"))


def _tensor(path: Path) -> np.ndarray:
    proto = onnx.TensorProto()
    proto.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(proto)


def _close(got: np.ndarray, want: np.ndarray) -> bool:
    """|got - want| <= 1e-4 |want| + 1e-5 max |want| elementwise (docs/run.md); NaN equals NaN."""
    if got.shape != want.shape:
        return False
    if want.dtype.kind not in "fc":
        return bool(np.array_equal(got, want))
    scale = float(np.nanmax(np.abs(want))) if want.size and np.isfinite(want).any() else 0.0
    return bool(np.allclose(got, want, rtol=1e-4, atol=1e-5 * max(scale, 1e-30), equal_nan=True))


def _onnxruntime(model: Path, inputs: dict[str, np.ndarray]) -> list[np.ndarray] | None:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # opset < 7 models warn before they fail
    try:
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        return session.run(None, inputs)
    except Exception:  # onnxruntime refuses many old-opset models: that is what we record
        return None


def _check(model: Path, inputs: dict[str, np.ndarray], expected: list[np.ndarray] | None) -> None:
    reference = _onnxruntime(model, inputs)
    try:
        outputs = list(hwsim.run(model, inputs).outputs.values())
    except UserError as e:
        proto = onnx.load(model, load_external_data=False)
        names = {n.op_type for n in proto.graph.node} | {i.name for i in proto.graph.input}
        assert reference is None, f"onnxruntime runs {model.parent.name}, hwsim stops: {e}"
        assert "\n" not in str(e) and any(name in str(e) for name in names), str(e)
        return
    if expected is not None:
        assert len(outputs) == len(expected)
        for got, want in zip(outputs, expected):
            assert _close(got, want), f"{model}: output differs from the shipped expected output"
    if reference is not None:
        for got, want in zip(outputs, reference):
            assert _close(got, want), f"{model}: output differs from onnxruntime's"


@pytest.mark.parametrize("case", CASES)
def test_backend_case_runs_as_expected(case: str) -> None:
    model = DATA / case
    proto = onnx.load(model, load_external_data=False)
    initialized = {t.name for t in proto.graph.initializer}
    names = [i.name for i in proto.graph.input if i.name not in initialized]
    data = sorted(model.parent.glob("test_data_set_*"))[0]
    inputs = {name: _tensor(data / f"input_{i}.pb") for i, name in enumerate(names)}
    expected = [_tensor(p) for p in sorted(data.glob("output_*.pb"), key=lambda p: int(p.stem.split("_")[1]))]
    _check(model, inputs, expected)


def _with_logits(model: Path, out: Path) -> tuple[Path, list[tuple[int, int]], bool]:
    """``model`` with the input of each Softmax that makes a graph output appended as a graph
    output, (output index, the Softmax's axis) for each of them in the order appended, and
    whether the model's Softmax coerces its input to 2-D (opset < 13).

    The light models' weights are constants (``ConstantOfShape`` of 0.02), so every class of a
    classifier gets the same logit, about 7e9 after the convolutions. A softmax of equal logits is
    uniform, of logits one fp32 step apart (512 there) one-hot: which one depends on whether the
    GEMM rounds identical columns identically (onnxruntime's kernels do; numpy 2.4's OpenBLAS sgemm
    does not). So the logits are compared as well, and a softmax only where its logits differ.
    """
    proto = onnx.load(model)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13)
    made = {o: n for n in proto.graph.node for o in n.output}
    softmaxes = []
    for i, o in enumerate(list(proto.graph.output)):
        node = made.get(o.name)
        if node is not None and node.op_type == "Softmax":
            axis = next((a.i for a in node.attribute if a.name == "axis"), -1 if opset >= 13 else 1)
            proto.graph.output.append(onnx.helper.make_empty_tensor_value_info(node.input[0]))
            softmaxes.append((i, axis))
    onnx.save(proto, out)
    return out, softmaxes, opset < 13


def _all_equal_along(x: np.ndarray, axis: int, coerced: bool) -> bool:
    """Whether ``x`` is constant over the classes of a softmax on ``axis`` (opset < 13 softmaxes
    coerce the dimensions from ``axis`` on into one)."""
    axis %= x.ndim
    rows = x.reshape(int(np.prod(x.shape[:axis])), -1) if coerced else np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    return bool((rows == rows[:, :1]).all())


@pytest.mark.parametrize("case", LIGHT)
def test_light_model_runs_like_onnxruntime(case: str, tmp_path: Path) -> None:
    model = DATA / case
    rng = np.random.default_rng(0)
    inputs = {d.name: rng.standard_normal(d.dims).astype(d.dtype) for d in declared_inputs(model)}
    extended, softmaxes, coerced = _with_logits(model, tmp_path / "model.onnx")
    reference = _onnxruntime(extended, inputs)
    assert reference is not None, f"onnxruntime does not run {case}"
    outputs = list(hwsim.run(extended, inputs).outputs.values())
    assert len(outputs) == len(reference)
    first = len(outputs) - len(softmaxes)
    degenerate = set()
    for (i, axis), got, want in zip(softmaxes, outputs[first:], reference[first:]):
        assert _close(got, want), f"{case}: the logits of output {i} differ from onnxruntime's"
        if _all_equal_along(want, axis, coerced):
            degenerate.add(i)
    for i in range(first):
        if i not in degenerate:
            assert _close(outputs[i], reference[i]), f"{case}: output {i} differs from onnxruntime's"
    assert hwsim.estimate(model).totals.macs > 0


def test_the_wheel_ships_backend_data() -> None:
    # The walk above must not pass vacuously: the installed onnx carries these folders.
    assert len(CASES) >= 100 and len(LIGHT) >= 5, (len(CASES), len(LIGHT), os.listdir(DATA))

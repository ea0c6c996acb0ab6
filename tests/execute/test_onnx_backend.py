"""The ONNX backend test data shipped inside the installed ``onnx`` wheel, every case through ``hwsim run``.

``onnx/backend/test/data/{node,pytorch-converted,pytorch-operator,light}``: each case is a model
with inputs and expected outputs (``light`` models ship no inputs; they get seeded random ones and
onnxruntime's outputs). Every case must run and equal its expected outputs within the tolerance of
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


@pytest.mark.parametrize("case", LIGHT)
def test_light_model_runs_like_onnxruntime(case: str) -> None:
    model = DATA / case
    rng = np.random.default_rng(0)
    inputs = {d.name: rng.standard_normal(d.dims).astype(d.dtype) for d in declared_inputs(model)}
    _check(model, inputs, None)
    assert hwsim.estimate(model).totals.macs > 0


def test_the_wheel_ships_backend_data() -> None:
    # The walk above must not pass vacuously: the installed onnx carries these folders.
    assert len(CASES) >= 100 and len(LIGHT) >= 5, (len(CASES), len(LIGHT), os.listdir(DATA))

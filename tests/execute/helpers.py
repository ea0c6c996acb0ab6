"""Shared pieces of the run tests: onnxruntime references and the documented fp32 tolerance."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import onnx
import onnxruntime as ort

from hwsim.core.config import preset
from hwsim.execute import compile_for_run, run

#: docs/run.md: fp32 outputs equal onnxruntime's within |ours - ort| <= RTOL*|ort| + ATOL*max|ort|.
RTOL = 1e-4
ATOL = 1e-5

CFG = preset("gemmini-like")


def ort_outputs(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, dict(feeds))))


def hwsim_outputs(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray], cfg=CFG, **kwargs) -> dict[str, np.ndarray]:
    compiled = compile_for_run(model, cfg, input_shapes={k: np.shape(v) for k, v in feeds.items()})
    return run(compiled, feeds, **kwargs).outputs


def assert_fp32_equal(ours: Mapping[str, np.ndarray], ref: Mapping[str, np.ndarray]) -> None:
    assert list(ours) == list(ref)
    for name, want in ref.items():
        got = ours[name]
        assert got.shape == want.shape and got.dtype == want.dtype, name
        if want.dtype.kind == "f":
            scale = float(np.max(np.abs(want))) if want.size else 0.0
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL * scale, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)

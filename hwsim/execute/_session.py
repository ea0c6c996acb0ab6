"""The run pipeline: compile a model with its weights, calibrate, execute, compare with fp32."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import onnx

from hwsim.config import AcceleratorConfig
from hwsim.errors import UserError

from ._executor import Compiled, Executor, activation_scales, dequantized_weights
from ._gemm import TileHook
from ._inputs import check_inputs
from ._report import OutputError, compare_outputs

__all__ = ["PRECISIONS", "RunResult", "compile_for_run", "calibrate", "run", "input_pins"]

PRECISIONS = ("fp32", "int8")


@dataclass(frozen=True)
class RunResult:
    """Outputs of one run; int8 runs also carry the fp32 reference and the error report."""

    outputs: dict[str, np.ndarray]
    precision: str
    reference: dict[str, np.ndarray] | None = None
    errors: tuple[OutputError, ...] = ()


def compile_for_run(source: str | Path | onnx.ModelProto, *, input_shapes: Mapping[str, tuple[int, ...]] | None = None) -> Compiled:
    """Import with weights, apply the default passes and lower, as ``hwsim estimate`` does."""
    from compiler.importer import load_model
    from compiler.lowering import lower
    from compiler.passes import default_pipeline

    imported = load_model(source, input_shapes=input_shapes, load_weights=True)
    dequantized = dequantized_weights(imported)
    graph = default_pipeline(imported)
    return Compiled(graph=graph, lowered=lower(graph, allow_unsupported=True), dequantized=dequantized)


def input_pins(source: str | Path, given: Mapping[str, np.ndarray], explicit: Mapping[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """``explicit`` pins plus the given arrays' shapes for inputs the model declares with dynamic dims."""
    pins = dict(explicit)
    try:
        model = onnx.load(str(source), load_external_data=False)
    except Exception:  # the importer reports unreadable models with its own message
        return pins
    for vi in model.graph.input:
        if vi.name in pins or vi.name not in given or not vi.type.HasField("tensor_type"):
            continue
        dims = vi.type.tensor_type.shape.dim
        dynamic = not vi.type.tensor_type.HasField("shape") or any(
            not (d.HasField("dim_value") and d.dim_value > 0) for d in dims
        )
        if dynamic and (not vi.type.tensor_type.HasField("shape") or len(dims) == given[vi.name].ndim):
            pins[vi.name] = tuple(int(d) for d in given[vi.name].shape)
    return pins


class _Ranges:
    """Largest finite |x| seen for every float value (the calibration statistic)."""

    def __init__(self) -> None:
        self.max_abs: dict[str, float] = {}

    def __call__(self, name: str, value: np.ndarray) -> None:
        if not value.size:
            return
        m = float(np.max(np.abs(value)))
        if not math.isfinite(m):
            finite = value[np.isfinite(value)]
            m = float(np.max(np.abs(finite))) if finite.size else 0.0
        self.max_abs[name] = max(self.max_abs.get(name, 0.0), m)


def calibrate(compiled: Compiled, samples: Iterable[tuple[str, Mapping[str, np.ndarray]]], cfg: AcceleratorConfig) -> dict[str, np.ndarray]:
    """Per-tensor activation scales from fp32 runs over labelled samples (symmetric, ``input_bits``)."""
    ranges = _Ranges()
    fp32 = Executor(compiled, cfg)
    for label, sample in samples:
        fp32.run(check_inputs(compiled.graph, sample, where=f"--calibrate {label}:"), observe=ranges)
    return activation_scales(ranges.max_abs, cfg.input_bits)


def run(
    compiled: Compiled,
    inputs: Mapping[str, np.ndarray],
    cfg: AcceleratorConfig,
    *,
    precision: str = "fp32",
    calibration: Sequence[tuple[str, Mapping[str, np.ndarray]]] | None = None,
    literal: bool = False,
    tile_hook: TileHook | None = None,
) -> RunResult:
    """Execute ``compiled`` on ``inputs``.

    ``int8`` quantizes every fp32 array layer (scales calibrated on ``calibration`` samples, or on
    ``inputs`` when none are given), runs it on the integer array, and reports the error against
    an fp32 run of the same inputs. Layers the model already quantizes run with its own parameters
    in both precisions.
    """
    if precision not in PRECISIONS:
        raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    feeds = check_inputs(compiled.graph, inputs)
    if precision == "fp32":
        outputs = Executor(compiled, cfg, literal=literal, tile_hook=tile_hook).run(feeds)
        return RunResult(outputs=outputs, precision=precision)
    ranges = _Ranges()
    reference = Executor(compiled, cfg).run(feeds, observe=None if calibration else ranges)
    scales = calibrate(compiled, calibration, cfg) if calibration else activation_scales(ranges.max_abs, cfg.input_bits)
    outputs = Executor(compiled, cfg, act_scales=scales, literal=literal, tile_hook=tile_hook).run(feeds)
    return RunResult(outputs=outputs, precision=precision, reference=reference, errors=compare_outputs(reference, outputs))

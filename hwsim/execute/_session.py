"""The run pipeline: compile a model with its weights, calibrate, execute, compare with fp32."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import onnx

from compiler.importer import declared_inputs, dims_text, load_model
from compiler.lowering import lower
from compiler.passes import default_pipeline
from compiler.schedule import schedule_model
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError, shown
from hwsim.core.limits import check_memory, format_bytes

from ._accuracy import OutputError, compare_outputs
from ._executor import Compiled, Executor, dequantized_weights
from ._gemm import TileHook
from ._integer import LayerQuant
from ._inputs import check_inputs

__all__ = ["PRECISIONS", "RunResult", "compile_for_run", "calibrate", "run", "input_pins", "shape_like"]

#: Integer inputs up to this many elements are pinned by value when compiling a run: they are
#: shape-like (an Expand's target, a Reshape's shape), and their value decides the graph's shapes.
SHAPE_LIKE = 16

PRECISIONS = ("fp32", "int8")


@dataclass(frozen=True)
class RunResult:
    """Outputs of one run; int8 runs also carry the fp32 reference and the error report, the
    integer parameters of every layer that ran on codes (``quant``, by node name: see
    :mod:`hwsim.execute._integer`) and, when asked for (``keep_codes``), the int8 codes of every
    quantized value (``codes``, by value name, in ONNX layout)."""

    outputs: dict[str, np.ndarray]
    precision: str
    reference: dict[str, np.ndarray] | None = None
    errors: tuple[OutputError, ...] = ()
    quant: Mapping[str, LayerQuant] = field(default_factory=dict)
    codes: Mapping[str, np.ndarray] = field(default_factory=dict)


def shape_like(given: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The given inputs that are small integer arrays (:data:`SHAPE_LIKE`), to pin by value."""
    return {name: v for name, v in given.items() if v.dtype.kind in "iu" and 0 < v.size <= SHAPE_LIKE}


def compile_for_run(source: str | Path | onnx.ModelProto, cfg: AcceleratorConfig, *,
                    input_shapes: Mapping[str, tuple[int, ...]] | None = None,
                    input_values: Mapping[str, np.ndarray] | None = None) -> Compiled:
    """Import with weights, apply the default passes, lower and schedule for ``cfg``, as ``hwsim
    estimate`` does; the weights' quantization is read before the passes fold it away.
    ``input_values`` pins shape-like inputs to the values the run will give them."""
    imported = load_model(source, input_shapes=input_shapes, input_values=input_values, load_weights=True)
    dequantized = dequantized_weights(imported)
    graph = default_pipeline(imported)
    program = schedule_model(lower(graph, allow_unsupported=True), cfg)
    return Compiled(graph=graph, program=program, dequantized=dequantized)


def _dims_text(dims: tuple[int | str | None, ...] | None) -> str:
    """``2x3x224x224``, or ``[batch, sequence]`` when some dims are symbolic."""
    if dims is None:
        return "of unknown shape"
    if all(isinstance(d, int) for d in dims):
        return "x".join(map(str, dims)) or "scalar"
    return dims_text(dims)


def input_pins(source: str | Path, given: Mapping[str, np.ndarray], explicit: Mapping[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """``explicit`` pins plus the given arrays' shapes for inputs the model declares with dynamic dims.

    An input the model needs but ``given`` lacks is a UserError here, before compilation would ask
    for its dims.
    """
    declared = {d.name: d for d in declared_inputs(source)}
    unknown = [name for name in given if name not in declared]
    if unknown:
        raise UserError(f"--input: the model has no input '{shown(unknown[0], 40)}'; its inputs are: "
                        f"{shown(', '.join(declared) or '(none)', 80)}")
    missing = [name for name in declared if name not in given]
    if missing:
        listed = ", ".join(f"{n} ({declared[n].dtype} {_dims_text(declared[n].dims)})" for n in missing)
        raise UserError(f"missing input{'s' if len(missing) > 1 else ''} {shown(listed, 100)}; give each as"
                        " --input NAME=FILE.npy")
    for name, value in given.items():
        if value.size == 0:
            dims = "x".join(str(d) for d in value.shape)
            raise UserError(f"--input {shown(name, 40)}: the array is empty (shape {dims}); hwsim runs inputs with"
                            " at least one element along every axis: give a non-empty array")
    pins = dict(explicit)
    for name, decl in declared.items():
        if name in pins:
            continue
        if decl.dims is None or (decl.dynamic and len(decl.dims) == given[name].ndim):
            pins[name] = tuple(int(d) for d in given[name].shape)
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


def calibrate(compiled: Compiled, samples: Iterable[tuple[str, Mapping[str, np.ndarray]]]) -> dict[str, float]:
    """Every activation's max |x| over fp32 runs of labelled samples (the ranges int8 scales come from)."""
    ranges = _Ranges()
    fp32 = Executor(compiled)
    for label, sample in samples:
        fp32.run(check_inputs(compiled.graph, sample, where=f"--calibrate {label}:"), observe=ranges)
    return ranges.max_abs


def _check_memory(compiled: Compiled, precision: str) -> None:
    """Refuse a run whose values (the executor keeps every one; int8 runs fp32 as well) cannot fit in memory."""
    total = 0
    largest = ("", 0)
    for info in compiled.graph.tensors.values():
        try:
            nbytes = info.size * np.dtype(info.dtype).itemsize
        except TypeError:
            continue
        total += nbytes
        if nbytes > largest[1]:
            largest = (info.name, nbytes)
    total *= 2 if precision == "int8" else 1
    check_memory(total, f"running this model ({precision}; its largest value {shown(largest[0], 40)} alone is "
                 f"{format_bytes(largest[1])})", "pin smaller dims with --input-shape or run a smaller model")


def run(
    compiled: Compiled,
    inputs: Mapping[str, np.ndarray],
    *,
    precision: str = "fp32",
    calibration: Sequence[tuple[str, Mapping[str, np.ndarray]]] | None = None,
    literal: bool = False,
    tile_hook: TileHook | None = None,
    keep_codes: bool = False,
) -> RunResult:
    """Execute ``compiled`` on ``inputs`` on the accelerator it was compiled for.

    ``int8`` quantizes every fp32 array layer (scales calibrated on ``calibration`` samples, or on
    ``inputs`` when none are given), runs it on the integer array, and reports the error against
    an fp32 run of the same inputs. Layers the model already quantizes run with its own parameters
    in both precisions.
    """
    if precision not in PRECISIONS:
        raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    feeds = check_inputs(compiled.graph, inputs)
    _check_memory(compiled, precision)
    if precision == "int8":
        samples = [("--input", feeds)] + [(f"--calibrate {shown(label, 60)}:", arrays) for label, arrays in calibration or ()]
        for where, arrays in samples:
            for name, value in arrays.items():
                value = np.asarray(value)
                if value.dtype.kind in "fc" and not np.isfinite(value).all():
                    raise UserError(f"{where} {shown(name, 40)}: holds NaN or infinite values; int8 quantization needs"
                                    " finite values (run --precision fp32, or clean the array)")
    # A model may overflow or divide by zero on its inputs; the outputs show it (inf, NaN), warnings would
    # only break the command line's one-line contract.
    with np.errstate(all="ignore"):
        if precision == "fp32":
            outputs = Executor(compiled, literal=literal, tile_hook=tile_hook).run(feeds)
            return RunResult(outputs=outputs, precision=precision)
        ranges = _Ranges()
        reference = Executor(compiled).run(feeds, observe=None if calibration else ranges)
        act_ranges = calibrate(compiled, calibration) if calibration else ranges.max_abs
        executor = Executor(compiled, act_ranges=act_ranges, literal=literal, tile_hook=tile_hook,
                            keep_codes=keep_codes)
        outputs = executor.run(feeds)
        errors = compare_outputs(reference, outputs)
    return RunResult(outputs=outputs, precision=precision, reference=reference, errors=errors,
                     quant=dict(executor.quant), codes=dict(executor.codes))

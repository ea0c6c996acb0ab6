"""Execute a compiled model numerically, tile by tile as the tiler scheduled it (``hwsim run``).

fp32 runs equal onnxruntime; int8 runs quantize the array layers (symmetric post-training
quantization, or a quantized model's own parameters) and accumulate exactly as the RTL does, through
:func:`hwsim.core.golden.int_gemm`. See docs/run.md. Typical use::

    compiled = compile_for_run("model.onnx", preset("gemmini-like"))
    result = run(compiled, {"input": x}, precision="int8")
    result.outputs, result.errors
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwsim.core.lazy import exports

if TYPE_CHECKING:
    from ._accuracy import OutputError, compare_outputs, format_errors
    from ._executor import Compiled, Executor
    from ._gemm import TileHook
    from ._image import DramImage, accelerator_image, default_inputs, expected_outputs, layer_outputs
    from ._inputs import calibration_samples, check_inputs, load_array, npz_bytes, parse_input_args
    from ._operands import LoweringMismatch
    from ._session import PRECISIONS, RunResult, calibrate, compile_for_run, input_pins, run, shape_like
    from ._tiles import TileProgramError
    from ._training import TRAINING_PRECISIONS, CompiledStep, compile_training_step, training_step

__all__ = [
    "PRECISIONS", "Compiled", "DramImage", "Executor", "accelerator_image", "default_inputs", "expected_outputs",
    "layer_outputs", "LoweringMismatch", "OutputError", "RunResult", "TileHook",
    "TileProgramError", "calibrate", "calibration_samples", "check_inputs", "compare_outputs", "compile_for_run",
    "format_errors", "input_pins", "load_array", "npz_bytes", "parse_input_args", "run",
    "shape_like", "TRAINING_PRECISIONS", "CompiledStep", "compile_training_step", "training_step",
]

# numpy, ONNX and the kernels load on first use, not when the command line starts.
__getattr__, __dir__ = exports(__name__, {
    "OutputError": "_accuracy",
    "compare_outputs": "_accuracy",
    "format_errors": "_accuracy",
    "Compiled": "_executor",
    "Executor": "_executor",
    "TileHook": "_gemm",
    "DramImage": "_image",
    "accelerator_image": "_image",
    "default_inputs": "_image",
    "expected_outputs": "_image",
    "layer_outputs": "_image",
    "calibration_samples": "_inputs",
    "check_inputs": "_inputs",
    "load_array": "_inputs",
    "npz_bytes": "_inputs",
    "parse_input_args": "_inputs",
    "LoweringMismatch": "_operands",
    "PRECISIONS": "_session",
    "RunResult": "_session",
    "calibrate": "_session",
    "compile_for_run": "_session",
    "input_pins": "_session",
    "run": "_session",
    "shape_like": "_session",
    "TileProgramError": "_tiles",
    "TRAINING_PRECISIONS": "_training",
    "CompiledStep": "_training",
    "compile_training_step": "_training",
    "training_step": "_training",
})

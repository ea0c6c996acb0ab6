"""``hwsim run``: execute a model numerically, tile by tile as the accelerator would (docs/run.md)."""

from __future__ import annotations

import argparse
import sys

import numpy as np

import compiler
from hwsim import api, execute
from hwsim.core.errors import UserError, shown
from hwsim.core.files import OutputSet, json_text

from ._options import add_config_options, add_quiet, add_training_options, config_from_args, training_options
from ._progress import activity


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "run",
        help="execute a model tile by tile in fp32 or int8 and save its outputs",
        description="Execute MODEL.onnx with numpy exactly as the tiler schedules it on the array: fp32 "
        "(equal to onnxruntime) or int8 (the RTL's integer arithmetic, with an error report against fp32).",
    )
    p.add_argument("model", metavar="MODEL.onnx", help="the ONNX model (its weights are needed)")
    p.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                   help="an input array (repeat for each model input)")
    p.add_argument("--output", metavar="OUT.npz|-", help="save every model output, keyed by output name")
    p.add_argument("--precision", choices=("fp32", "int8", "fp64"), default="fp32",
                   help="fp32 (default), int8 post-training quantization on the integer array, or fp64 "
                   "(--training-step only: every float computed in float64, for finite-difference checks)")
    p.add_argument("--calibrate", metavar="DIR",
                   help="int8: calibrate activation ranges on these .npy/.npz samples instead of the inputs")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=1x3x224x224",
                   help="pin an input's dynamic dims (default: the given array's shape)")
    p.add_argument("--report", metavar="PATH|-", help="int8: write the error report as JSON")
    p.add_argument("--training-step", action="store_true",
                   help="run one training step instead: --output gets the loss, every gradient (grad:P), the "
                   "updated weights (updated:P) and optimizer states (docs/training.md)")
    p.add_argument("--target", action="append", default=[], metavar="OUTPUT=FILE.npy",
                   help="--training-step: the loss's target for a model output (class indices for --loss xent)")
    p.add_argument("--state", action="append", default=[], metavar="NAME=FILE.npy",
                   help="--training-step: an optimizer state (state:m:P, state:v:P, state:velocity:P); zeros if left out")
    add_training_options(p, recompute=False)
    add_config_options(p)
    add_quiet(p)
    return p


def _summary(outputs: dict[str, np.ndarray]) -> str:
    lines = []
    for name, v in outputs.items():
        dims = "x".join(str(d) for d in v.shape) or "scalar"
        stats = ""
        if v.size and v.dtype.kind in "fiub":
            w = v.astype(np.float64)
            stats = f"  min {w.min():.6g}  max {w.max():.6g}  mean {w.mean():.6g}"
        lines.append(f"{shown(name, 80)}: {v.dtype} {dims}{stats}")
    return "\n".join(lines) + "\n"


def _training_summary(result: dict[str, np.ndarray]) -> str:
    grads = [k for k in result if k.startswith("grad:")]
    updated = [k for k in result if k.startswith("updated:") and not k.startswith("updated:state:")]
    states = [k for k in result if k.startswith("updated:state:")]
    norm = float(np.sqrt(sum(float(np.sum(np.square(result[k], dtype=np.float64))) for k in grads)))
    elems = sum(result[k].size for k in grads)
    return (f"loss: {float(result['loss']):.6g}\n"
            f"{len(grads)} parameters ({elems:,} elements), gradient norm {norm:.6g}\n"
            f"{len(updated)} updated weights, {len(states)} updated optimizer states\n")


def _run_training_step(args: argparse.Namespace) -> int:
    if args.precision == "int8":
        raise UserError("--training-step runs in fp32 or fp64, not int8")
    for flag in ("calibrate", "report"):
        if getattr(args, flag):
            raise UserError(f"--{flag} does not apply to --training-step")
    with OutputSet() as outputs:
        outputs.check(args.output, "--output")
        cfg = config_from_args(args)
        options = training_options(args, True, "--training-step")
        given = execute.parse_input_args(args.input)
        from compiler.importer import named_arguments

        targets = dict(named_arguments(args.target, "--target", "OUTPUT=FILE.npy",
                                                         "e.g. --target logits=labels.npy"))
        states = dict(named_arguments(args.state, "--state", "NAME=FILE.npy",
                                                        "e.g. --state state:m:fc.weight=m.npy"))
        with activity(f"running a training step of {shown(args.model, 80)} in {args.precision}", quiet=args.quiet):
            result = api.training_step(args.model, given, targets, cfg, options=options, precision=args.precision,
                                       states=states, input_shapes=compiler.parse_input_shapes(args.input_shape))
        if args.output is not None:
            outputs.stage(args.output, execute.npz_bytes(result), "--output")
        _finish(outputs, _training_summary(result), args.output == "-")
    return 0


def _finish(outputs: OutputSet, text: str, stdout_taken: bool) -> None:
    """Commit the outputs with the summary: on stdout, or on stderr when a file went to stdout."""
    if stdout_taken:
        outputs.commit()
        sys.stderr.write(text)
    else:
        outputs.stage("-", text)
        outputs.commit()


def run(args: argparse.Namespace) -> int:
    if args.training_step:
        return _run_training_step(args)
    for flag in ("target", "state"):
        if getattr(args, flag):
            raise UserError(f"--{flag} applies to --training-step only")
    training_options(args, False, "--training-step")
    if args.precision == "fp64":
        raise UserError("--precision fp64 applies to --training-step only; a forward run is fp32 or int8")
    if args.calibrate and args.precision != "int8":
        raise UserError("--calibrate applies to --precision int8 only")
    if args.report and args.precision != "int8":
        raise UserError("--report applies to --precision int8 only (fp32 runs have no error to report)")
    if args.output == "-" and args.report == "-":
        raise UserError("--output - and --report - cannot both use standard output")
    with OutputSet() as outputs:
        outputs.check(args.output, "--output")
        outputs.check(args.report, "--report")
        cfg = config_from_args(args)
        if args.precision == "int8" and cfg.number_format != "int":
            raise UserError(f"--precision int8 runs on an integer array, but {shown(cfg.name)} has number_format "
                            f"{cfg.number_format!r}")
        given = execute.parse_input_args(args.input)
        model = shown(args.model, 80)
        what = (f"running {model} in int8" + (f", calibrated on {shown(args.calibrate, 80)}" if args.calibrate else "")
                if args.precision == "int8" else f"running {model} in fp32")
        with activity(what, quiet=args.quiet):
            result = api.run(args.model, given, cfg, precision=args.precision, calibration=args.calibrate,
                             input_shapes=compiler.parse_input_shapes(args.input_shape))
        # Outputs are complete before anything is written, so a failed run leaves no file behind.
        if args.output is not None:
            outputs.stage(args.output, execute.npz_bytes(result.outputs), "--output")
        if args.report is not None:
            report = {"precision": args.precision, "config": cfg.name, "outputs": [e.to_dict() for e in result.errors]}
            outputs.stage(args.report, json_text(report, what="the error report", nonfinite="null"), "--report")
        with np.errstate(all="ignore"):
            text = _summary(result.outputs)
        if result.errors:
            text += f"\nint8 against fp32 ({shown(cfg.name)}, acc_bits {cfg.acc_bits}):\n"
            text += execute.format_errors(result.errors)
        _finish(outputs, text, args.output == "-" or args.report == "-")
    return 0

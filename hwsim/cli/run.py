"""``hwsim run``: execute a model numerically, tile by tile as the accelerator would (docs/run.md)."""

from __future__ import annotations

import argparse
import sys

import numpy as np

import compiler
from hwsim import api, execute
from hwsim.core.errors import UserError, shown
from hwsim.core.files import OutputSet, json_text

from ._options import add_config_options, add_quiet, config_from_args
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
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32",
                   help="fp32 (default) or int8 post-training quantization on the integer array")
    p.add_argument("--calibrate", metavar="DIR",
                   help="int8: calibrate activation ranges on these .npy/.npz samples instead of the inputs")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=1x3x224x224",
                   help="pin an input's dynamic dims (default: the given array's shape)")
    p.add_argument("--report", metavar="PATH|-", help="int8: write the error report as JSON")
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


def run(args: argparse.Namespace) -> int:
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
        if args.output == "-" or args.report == "-":
            outputs.commit()
            sys.stderr.write(text)
        else:
            outputs.stage("-", text)
            outputs.commit()
    return 0

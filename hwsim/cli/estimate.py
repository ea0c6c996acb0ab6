"""``hwsim estimate``: latency, utilization, traffic, stalls and energy of a model, per layer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import compiler
from hwsim import plots, scalesim
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.files import OutputSet
from hwsim.core.workload import LoweredModel
from hwsim.simulate import simulate

from ._options import TIMINGS, add_config_options, config_from_args, positive_int

DEFAULT_MODEL = "resnet18"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "estimate",
        help="estimate a model's cycles, latency, utilization, traffic and energy",
        description="Estimate an ONNX model (or a SCALE-Sim topology .csv) on a systolic-array accelerator. "
        "With no model, estimates the bundled ResNet-18.",
    )
    p.add_argument("model", nargs="?", metavar="MODEL", help="an .onnx model or a SCALE-Sim topology .csv")
    add_config_options(p)
    p.add_argument("--scalesim-config", metavar="FILE.cfg", help="take the accelerator from a SCALE-Sim .cfg file")
    p.add_argument("--timing", choices=TIMINGS, default="hwsim",
                   help="hwsim: the RTL-proven tile timing (default); scalesim: SCALE-Sim 3.0's compute cycles")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=1x3x224x224",
                   help="pin a model input's shape (repeatable); needed for symbolic or -1 dims")
    p.add_argument("--allow-unsupported", action="store_true",
                   help="estimate the supported layers and list the skipped ones instead of stopping")
    p.add_argument("--json", metavar="PATH|-", help="write the report as JSON ('-' for standard output)")
    p.add_argument("--csv", metavar="PATH", help="write the per-layer report as CSV")
    p.add_argument("--plot", metavar="PATH.png", help="write cycles, energy and roofline plots to one PNG")
    p.add_argument("--top", type=positive_int, metavar="N", help="list only the first N layers in the table")
    return p


def _load(args: argparse.Namespace) -> tuple[LoweredModel, AcceleratorConfig, scalesim.ScaleSimOptions | None]:
    """(lowered model, config, SCALE-Sim options or None) from the arguments."""
    model = args.model
    if model is not None and model.lower().endswith(".csv"):
        if args.scalesim_config is None and args.preset is None and args.config is None:
            raise UserError(f"{model}: a SCALE-Sim topology needs an accelerator: add --scalesim-config FILE.cfg or --preset NAME")
        if args.input_shape:
            raise UserError(f"{model}: --input-shape applies to ONNX models; a topology file gives every shape itself")
        lowered = LoweredModel(name=Path(model).stem, workloads=scalesim.load_topology(model))
    else:
        shapes = compiler.parse_input_shapes(args.input_shape)
        if model is None:
            source = compiler.zoo.MODELS[DEFAULT_MODEL](weights=False)
        else:
            source = Path(model)
        lowered = compiler.lower_model(source, input_shapes=shapes or None, allow_unsupported=args.allow_unsupported)
    if args.scalesim_config is not None:
        if args.preset is not None or args.config is not None:
            raise UserError("--scalesim-config replaces --preset/--config: give only one of them")
        cfg, options = scalesim.load_scalesim_config(args.scalesim_config)
        changes = {k: getattr(args, k) for k in ("rows", "cols", "dataflow") if getattr(args, k) is not None}
        cfg = cfg.replace(**changes) if changes else cfg
    else:
        cfg, options = config_from_args(args), None
    return lowered, cfg, options


def run(args: argparse.Namespace) -> int:
    if args.plot == "-" or args.csv == "-" and args.json == "-":
        raise UserError("only one output can go to standard output ('-')")
    with OutputSet() as outputs:
        # Every output path is checked before the work, and nothing is written unless all can be.
        for flag in ("json", "csv", "plot"):
            outputs.check(getattr(args, flag), f"--{flag}")
        lowered, cfg, options = _load(args)
        timing = scalesim.ScaleSimTiming(options) if args.timing == "scalesim" else None
        report = simulate(compiler.schedule_model(lowered, cfg), scalesim=timing)
        if args.json is not None:
            outputs.stage(args.json, report.to_json(), "--json")
        if args.csv is not None:
            outputs.stage(args.csv, report.to_csv(), "--csv")
        if args.plot is not None:
            outputs.stage(args.plot, plots.summary_png(report.to_dict()), "--plot")
        if "-" not in (args.json, args.csv):
            outputs.stage("-", report.to_table(limit=args.top))
        outputs.commit()
    if args.model is None:  # said once it worked, so that an error stays the only line
        print(f"hwsim: no model given, estimated the bundled {DEFAULT_MODEL} "
              "(built in memory, batch 1, 3x224x224)", file=sys.stderr)
    return 0

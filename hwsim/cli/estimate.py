"""``hwsim estimate``: latency, utilization, traffic, stalls and energy of a model, per layer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import compiler
from hwsim import api, plots
from hwsim.core.errors import UserError
from hwsim.core.files import OutputSet

from ._options import (ESTIMATE_TIMINGS, add_config_options, add_training_options, config_source, positive_int,
                       training_options)

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
    p.add_argument("--timing", choices=ESTIMATE_TIMINGS, default="hwsim",
                   help="hwsim: the RTL-proven tile timing (default); scalesim: SCALE-Sim 3.0's cycles and DRAM traffic; "
                   "replay: the accelerator's command program timed by its exact event model (a config the "
                   "accelerator RTL implements, docs/accelerator.md)")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=1x3x224x224",
                   help="pin a model input's shape (repeatable); needed for symbolic or -1 dims")
    p.add_argument("--input-value", action="append", default=[], metavar="NAME=1,3,224,224",
                   help="pin a small integer input's value (repeatable), e.g. the target shape of an Expand or Reshape")
    p.add_argument("--allow-unsupported", action="store_true",
                   help="estimate the supported layers and list the skipped ones instead of stopping")
    p.add_argument("--mapping", metavar="FILE.toml",
                   help="pin the DRAM-level loops of the layers it names (TOML, or JSON by its .json name): each "
                   "iteration is one call that loads its operands; the rest is searched (docs/model.md#pinned-mappings)")
    p.add_argument("--json", metavar="PATH|-", help="write the report as JSON ('-' for standard output)")
    p.add_argument("--csv", metavar="PATH", help="write the per-layer report as CSV")
    p.add_argument("--plot", metavar="PATH.png",
                   help="write cycles, energy and roofline plots to one image (.png, .svg or .pdf, by its extension)")
    p.add_argument("--clock-from", metavar="DIR/timing.json",
                   help="run at the Fmax that 'hwsim rtl --fpga DEVICE --pnr' reached (its design's config unless "
                   "--preset/--config give the same array); the report says which clock it used")
    p.add_argument("--top", type=positive_int, metavar="N", help="list only the first N layers in the table")
    p.add_argument("--batch", type=positive_int, metavar="N",
                   help="the first dim of every input not pinned by --input-shape (the batch)")
    p.add_argument("--training", action="store_true",
                   help="estimate one training step: forward, loss, backward (data and weight gradients), optimizer "
                   "update, each layer with its phase, and the step's memory (docs/training.md)")
    add_training_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    if args.plot == "-" or args.csv == "-" and args.json == "-":
        raise UserError("only one output can go to standard output ('-')")
    fmt = plots.image_format(args.plot) if args.plot is not None else None
    if args.scalesim_config is not None and (args.preset is not None or args.config is not None):
        raise UserError("--scalesim-config replaces --preset/--config: give only one of them")
    model = args.model
    with OutputSet() as outputs:
        # Every output path is checked before the work, and nothing is written unless all can be.
        for flag in ("json", "csv", "plot"):
            outputs.check(getattr(args, flag), f"--{flag}")
        report = api.estimate(
            DEFAULT_MODEL if model is None else model,
            _config(args), timing=args.timing, clock_from=args.clock_from,
            input_shapes=compiler.parse_input_shapes(args.input_shape) or None,
            input_values=compiler.parse_input_values(args.input_value) or None,
            allow_unsupported=args.allow_unsupported, training=training_options(args, args.training, "--training"),
            batch=args.batch, mapping=args.mapping, rows=args.rows, cols=args.cols, dataflow=args.dataflow)
        if args.json is not None:
            outputs.stage(args.json, report.to_json(), "--json")
        if args.csv is not None:
            outputs.stage(args.csv, report.to_csv(), "--csv")
        if args.plot is not None:
            outputs.stage(args.plot, plots.summary_image(report.to_dict(), fmt=fmt or "png"), "--plot")
        if "-" not in (args.json, args.csv):
            outputs.stage("-", report.to_table(limit=args.top))
        outputs.commit()
    if model is None:  # said once it worked, so that an error stays the only line
        print(f"hwsim: no model given, estimated the bundled {DEFAULT_MODEL} "
              "(built in memory, batch 1, 3x224x224)", file=sys.stderr)
    return 0


def _config(args: argparse.Namespace):
    """The accelerator: the SCALE-Sim .cfg, the --preset/--config, or with --clock-from alone the
    design its timing.json was measured on (None)."""
    if args.scalesim_config is not None:
        return Path(args.scalesim_config)
    if args.clock_from is not None and args.preset is None and args.config is None:
        return None
    return config_source(args)

"""Options shared by the subcommands that take an accelerator config."""

from __future__ import annotations

import argparse
from pathlib import Path

from hwsim.api import ESTIMATE_TIMINGS, TIMINGS, resolve_config
from hwsim.core.config import DATAFLOWS, AcceleratorConfig, preset
from hwsim.core.errors import UserError, shown

__all__ = ["ESTIMATE_TIMINGS", "TIMINGS", "accelerator_config", "add_config_options", "add_model_options", "add_quiet",
           "config_from_args", "count", "positive_int"]


def positive_int(text: str) -> int:
    return _int_from(text, 1, "a positive integer")


def count(text: str) -> int:
    """A whole number, zero included (``--generate 0``)."""
    return _int_from(text, 0, "a whole number")


def _int_from(text: str, least: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def add_config_options(parser: argparse.ArgumentParser, dataflow: bool = True) -> None:
    group = parser.add_argument_group("accelerator")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME", help="a shipped preset (see 'hwsim presets'); default gemmini-like")
    source.add_argument("--config", metavar="FILE.toml",
                        help="an accelerator config file (docs/config.md), or a --json report to reuse its config")
    group.add_argument("--rows", type=positive_int, metavar="R", help="override the array's PE rows")
    group.add_argument("--cols", type=positive_int, metavar="C", help="override the array's PE columns")
    if dataflow:
        group.add_argument("--dataflow", choices=DATAFLOWS, help="override the dataflow")
    else:
        parser.set_defaults(dataflow=None)


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress line (drawn only when standard error is a terminal anyway)")


def config_source(args: argparse.Namespace) -> Path | AcceleratorConfig | None:
    """The --config file (never read as a preset name) or the --preset the flags give; ``None``, the
    API's default (gemmini-like), when they give neither."""
    if args.config is not None:
        if args.config.lower().endswith(".cfg"):
            raise UserError(f"--config {shown(args.config)}: a SCALE-Sim .cfg; give it as --scalesim-config "
                            f"{shown(args.config)}")
        return Path(args.config)
    return None if args.preset is None else preset(args.preset)


def config_from_args(args: argparse.Namespace) -> AcceleratorConfig:
    """The config the flags describe: preset or file, then --rows/--cols/--dataflow on top."""
    changes = {key: getattr(args, key, None) for key in ("rows", "cols", "dataflow")}
    return resolve_config(config_source(args), **changes)[0]


#: The config of the accelerator forms of ``hwsim rtl`` and ``hwsim verify`` (a MODEL given) when the
#: flags name none: the preset of the configuration the accelerator RTL implements.
ACCELERATOR_PRESET = "fpga-edge"


def accelerator_config(args: argparse.Namespace) -> AcceleratorConfig:
    """The config the flags describe, :data:`ACCELERATOR_PRESET` unless --preset or --config."""
    if args.preset is None and args.config is None:
        args.preset = ACCELERATOR_PRESET
    return config_from_args(args)


def add_model_options(parser: argparse.ArgumentParser, what: str) -> None:
    """The optional MODEL.onnx of the accelerator forms of rtl and verify, and its inputs."""
    parser.add_argument("model", nargs="?", metavar="MODEL.onnx", help=what)
    parser.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                        help="MODEL: an input array (inputs not given are seeded standard-normal values)")
    parser.add_argument("--input-shape", action="append", default=[], metavar="NAME=1x3x32x32",
                        help="MODEL: pin an input's dynamic dims")

"""Options shared by the subcommands that take an accelerator config."""

from __future__ import annotations

import argparse
from pathlib import Path

from hwsim.api import ESTIMATE_TIMINGS, TIMINGS, resolve_config
from hwsim.core.config import DATAFLOWS, AcceleratorConfig, preset
from hwsim.core.errors import UserError, shown

__all__ = ["ESTIMATE_TIMINGS", "TIMINGS", "accelerator_config", "add_config_options", "add_model_options", "add_quiet",
           "add_training_options", "config_from_args", "count", "positive_int", "training_options"]

#: Training flags and their defaults (None: the flag was not given).
_TRAINING_FLAGS = ("optimizer", "loss", "recompute", "lr")


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


def add_training_options(parser: argparse.ArgumentParser, *, recompute: bool = True) -> None:
    """--optimizer, --loss, --lr (and --recompute): how a training step trains (docs/training.md)."""
    from hwsim.core.training import LOSSES, OPTIMIZERS, RECOMPUTE_MODES

    group = parser.add_argument_group("training")
    group.add_argument("--optimizer", choices=OPTIMIZERS, help="the weight update: sgd (default), momentum (0.9), "
                       "adam or adamw (β 0.9, 0.999)")
    group.add_argument("--loss", choices=LOSSES, help="xent: softmax cross entropy on each output's last axis "
                       "(default); mse: mean squared error")
    group.add_argument("--lr", type=float, metavar="RATE", help="learning rate (default 0.01 for sgd/momentum, 1e-3 for adam)")
    if recompute:
        group.add_argument("--recompute", choices=RECOMPUTE_MODES, help="none (default): stash every activation the "
                           "backward pass reads; all: keep ~sqrt(n) checkpoints and recompute the rest")
    else:
        parser.set_defaults(recompute=None)


def training_options(args: argparse.Namespace, enabled: bool, flag: str):
    """The TrainingOptions the flags give when ``enabled`` (``flag`` turns training on); a training
    flag without it is an error."""
    from compiler.training import TrainingOptions

    given = {key: getattr(args, key) for key in _TRAINING_FLAGS if getattr(args, key, None) is not None}
    if not enabled:
        if given:
            raise UserError(f"--{next(iter(given))} applies to {flag} only")
        return None
    return TrainingOptions(**given)


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
ACCELERATOR_PRESET = "edge-accel"


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

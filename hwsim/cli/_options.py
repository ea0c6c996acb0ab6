"""Options shared by the subcommands that take an accelerator config."""

from __future__ import annotations

import argparse

from hwsim.core.config import DATAFLOWS, AcceleratorConfig, load_config, preset
from hwsim.core.errors import UserError

__all__ = ["TIMINGS", "add_config_options", "config_from_args", "positive_int"]

#: Timing models: hwsim's own (RTL-proven tiles) and SCALE-Sim 3.0 compatibility.
TIMINGS = ("hwsim", "scalesim")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_config_options(parser: argparse.ArgumentParser, dataflow: bool = True) -> None:
    group = parser.add_argument_group("accelerator")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME", help="a shipped preset (see 'hwsim presets'); default gemmini-like")
    source.add_argument("--config", metavar="FILE.toml", help="an accelerator config file (docs/config.md)")
    group.add_argument("--rows", type=positive_int, metavar="R", help="override the array's PE rows")
    group.add_argument("--cols", type=positive_int, metavar="C", help="override the array's PE columns")
    if dataflow:
        group.add_argument("--dataflow", choices=DATAFLOWS, help="override the dataflow")
    else:
        parser.set_defaults(dataflow=None)


def config_from_args(args: argparse.Namespace) -> AcceleratorConfig:
    """The config the flags describe: preset or file, then --rows/--cols/--dataflow on top."""
    if args.config is not None:
        cfg = load_config(args.config)
    else:
        cfg = preset(args.preset if args.preset is not None else "gemmini-like")
    changes = {key: getattr(args, key) for key in ("rows", "cols", "dataflow")}
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return cfg
    try:
        return cfg.replace(**changes)
    except UserError as e:
        raise UserError(f"{e} (after applying --{' --'.join(changes)})") from None

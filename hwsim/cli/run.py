"""``hwsim run``: under construction in this change."""

from __future__ import annotations

import argparse

from ..errors import UserError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return subparsers.add_parser("run", help="(under construction)")


def run(args: argparse.Namespace) -> int:
    raise UserError("hwsim run is not built yet")

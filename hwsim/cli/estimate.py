"""``hwsim estimate``: under construction in this change."""

from __future__ import annotations

import argparse

from ..errors import UserError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return subparsers.add_parser("estimate", help="(under construction)")


def run(args: argparse.Namespace) -> int:
    raise UserError("hwsim estimate is not built yet")

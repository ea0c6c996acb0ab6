"""``hwsim sweep``: under construction in this change."""

from __future__ import annotations

import argparse

from ..errors import UserError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return subparsers.add_parser("sweep", help="(under construction)")


def run(args: argparse.Namespace) -> int:
    raise UserError("hwsim sweep is not built yet")

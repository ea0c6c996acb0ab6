"""The ``hwsim`` command line: one module per subcommand, each with ``add_parser`` and ``run``.

Exit status: 0 on success, 1 when a check the user asked for fails (``verify``), 2 on a user error,
reported as one ``error:`` line on stderr, never a traceback; 3 on an internal error (a bug: set
``HWSIM_DEBUG=1`` to see its traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from hwsim.core import __version__
from hwsim.core.errors import InternalError, UserError

from . import _clock, estimate, llm, plot, presets, rtl, run, sweep, verify

__all__ = ["main"]

#: Subcommands in the order ``hwsim --help`` lists them.
COMMANDS = (estimate, llm, presets, plot, rtl, verify, run, sweep)


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one ``error:`` line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hwsim", description="Estimate what a DNN costs on a systolic-array accelerator, "
                     "generate the array as Verilog, and prove the two agree.")
    parser.add_argument("--version", action="version", version=f"hwsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _clock.restart()
    try:
        args = build_parser().parse_args(argv)
        if not hasattr(args, "_run"):
            build_parser().print_help()
            return 2
        return int(args._run(args) or 0)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except InternalError as e:
        print(f"error: internal error: {e}; please report it", file=sys.stderr)
        return 3
    except Exception as e:  # a bug, not the user's fault: say so in one line
        if os.environ.get("HWSIM_DEBUG"):
            raise
        print(f"error: internal error ({type(e).__name__}: {e}); please report it, "
              "with HWSIM_DEBUG=1 to show the traceback", file=sys.stderr)
        return 3

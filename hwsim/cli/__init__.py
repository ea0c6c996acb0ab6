"""The ``hwsim`` command line: one module per subcommand, each with ``add_parser`` and ``run``.

Exit status: 0 on success, 1 when a check the user asked for fails (``verify``), 2 on a user error,
reported as one ``error:`` line on stderr, never a traceback (an operating-system error a user can
fix, such as a full disk or a denied permission, and a refused allocation count as user errors);
3 on an internal error (a bug: set ``HWSIM_DEBUG=1`` to see its traceback); 130 on Ctrl-C and 128 +
the signal on SIGTERM or SIGHUP, which unwind like an error so that no temporary file is left.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any, Sequence

from hwsim.core import __version__
from hwsim.core.errors import InternalError, UserError, one_line, shown
from hwsim.core.files import os_error, silence_stdout

from . import _clock, estimate, llm, plot, presets, rtl, run, sweep, verify

__all__ = ["main"]

#: Subcommands in the order ``hwsim --help`` lists them.
COMMANDS = (estimate, llm, presets, plot, rtl, verify, run, sweep)


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one ``error:`` line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {shown(message, 140)} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hwsim", description="Estimate what a DNN costs on a systolic-array accelerator, "
                     "generate the array as Verilog, and prove the two agree.")
    parser.add_argument("--version", action="version", version=f"hwsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is so that ``finally`` blocks clean up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def _handle_termination() -> dict[int, Any]:
    saved: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                saved[sig] = signal.signal(sig, _terminate)
            except (OSError, ValueError):
                pass
    return saved


def _say(message: str) -> None:
    try:
        print(f"error: {one_line(message)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    _clock.restart()
    saved = _handle_termination()
    try:
        return _main(argv)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not hasattr(args, "_run"):
            raise UserError(f"no command given; choose one of {', '.join(m.__name__.rsplit('.', 1)[1] for m in COMMANDS)}"
                            " (see hwsim --help)")
        code = int(args._run(args) or 0)
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            silence_stdout()
            raise os_error(e, "-", "write") from None
        return code
    except SystemExit:
        # argparse printed --help, --version or a usage error: that text must reach stdout too.
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            silence_stdout()
            return 0
        except OSError as e:
            silence_stdout()
            err = os_error(e, "-", "write")
            _say(str(err))
            return 2 if isinstance(err, UserError) else 3
        raise
    except UserError as e:
        _say(str(e))
        return 2
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except Terminated as e:
        _say(f"terminated by {signal.Signals(e.signum).name}")
        return 128 + e.signum
    except BrokenPipeError:
        silence_stdout()
        return 0
    except InternalError as e:
        _say(f"internal error: {e}; please report it")
        return 3
    except MemoryError:
        _say("out of memory; the model or its inputs are too large for this machine (try smaller --input-shape dims)")
        return 2
    except OSError as e:
        user = os_error(e, e.filename if e.filename is not None else "a file", "read or write")
        if isinstance(user, UserError):
            _say(str(user))
            return 2
        return _internal(e)
    except Exception as e:  # a bug, not the user's fault: say so in one line
        return _internal(e)


def _internal(e: Exception) -> int:
    if os.environ.get("HWSIM_DEBUG"):
        raise e
    _say(f"internal error ({type(e).__name__}: {e}); please report it, with HWSIM_DEBUG=1 to show the traceback")
    return 3

"""The two exception types the command line turns into exit codes: 2 for the user's input, 3 for a bug,
and :func:`shown`, the one way a message quotes a name the user (or the user's file) chose."""

from __future__ import annotations

import re

__all__ = ["UserError", "InternalError", "shown", "one_line", "MAX_MESSAGE"]

#: Longest message of an error line, a last resort: messages keep names short with :func:`shown` and
#: stay within about 200 characters; only long paths of the user's own push one towards this.
MAX_MESSAGE = 300
#: Characters a terminal would act on: C0 controls but for space, DEL, C1 controls, bidi overrides.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(text: str) -> str:
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _elide(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


def shown(name: object, limit: int = 120) -> str:
    """``name`` as a message shows it: control characters escaped, and cut in the middle past ``limit``.

    Use it for every name from a user's input (a node, a tensor, a key, a path) that goes into a message,
    so that a hostile or corrupt file can neither drive the terminal nor make a screen-long line.

    >>> shown("conv\\x1b[2J")
    'conv\\\\x1b[2J'
    >>> shown("a" * 100, limit=10)
    'aaaaaa…aaa'
    """
    return _elide(_escape(str(name)), limit)


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` on one line: white space runs folded to one space, control characters escaped,
    the middle cut past ``limit`` characters (the start says where, the end how to fix it)."""
    return _elide(_escape(" ".join(message.split())), limit)


class UserError(Exception):
    """A problem with the user's input: a file, a flag, a model, a config value.

    The message is one line that says what is wrong, where, and how to fix it. The command line
    prints it as ``error: <message>`` on stderr and exits with status 2, never with a traceback.
    Names in it go through :func:`shown`; the message itself through :func:`one_line`.

    >>> str(UserError("config.toml: array.rows must be a positive integer, got 0"))
    'config.toml: array.rows must be a positive integer, got 0'
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class InternalError(Exception):
    """hwsim contradicted itself (a bug, not the user's fault): the command line exits with status 3.

    Raise it where a check between two parts of hwsim fails (the executor computing a shape the
    compiler did not predict, a tile program that does not cover its GEMM), so the message says
    which invariant broke.
    """

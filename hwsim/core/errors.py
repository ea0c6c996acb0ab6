"""The two exception types the command line turns into exit codes: 2 for the user's input, 3 for a bug."""

from __future__ import annotations

__all__ = ["UserError", "InternalError"]


class UserError(Exception):
    """A problem with the user's input: a file, a flag, a model, a config value.

    The message is one line that says what is wrong, where, and how to fix it. The command line
    prints it as ``error: <message>`` on stderr and exits with status 2, never with a traceback.

    >>> str(UserError("config.toml: array.rows must be a positive integer, got 0"))
    'config.toml: array.rows must be a positive integer, got 0'
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class InternalError(Exception):
    """hwsim contradicted itself (a bug, not the user's fault): the command line exits with status 3.

    Raise it where a check between two parts of hwsim fails (the executor computing a shape the
    compiler did not predict, a tile program that does not cover its GEMM), so the message says
    which invariant broke.
    """

"""The one exception type the command line turns into ``error: ...`` and exit code 2."""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """A problem with the user's input: a file, a flag, a model, a config value.

    The message is one line that says what is wrong, where, and how to fix it. The command line
    prints it as ``error: <message>`` on stderr and exits with status 2, never with a traceback.

    >>> str(UserError("config.toml: array.rows must be a positive integer, got 0"))
    'config.toml: array.rows must be a positive integer, got 0'
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

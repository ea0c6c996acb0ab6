"""When the running command started, so that summaries can report the whole command's wall time."""

from __future__ import annotations

import time

__all__ = ["started", "restart", "elapsed"]

# The command line's import is part of the command: the first command counts from here.
_start = time.monotonic()
_used = False


def restart() -> None:
    """Mark the start of a command (``hwsim.cli.main`` calls this first): the first one in a process
    keeps the import time as its start, later ones (several ``main`` calls in one process) start now."""
    global _start, _used
    if _used:
        _start = time.monotonic()
    _used = True


def started() -> float:
    return _start


def elapsed() -> float:
    """Seconds since the command started."""
    return time.monotonic() - _start

"""A one-line progress bar on standard error, drawn only when that is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]

_WIDTH = 30


class ProgressBar:
    """Call with ``(done, total)``; redraws at most ten times a second, and always at the end."""

    def __init__(self, what: str = "designs", stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = not quiet and bool(getattr(self.stream, "isatty", lambda: False)())
        self.what = what
        self._start = time.monotonic()
        self._last = 0.0
        self._drawn = False
        #: Designs already done at the first call (resumed), which took no time now.
        self._first: int | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._first is None:
            self._first = done
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        elapsed = now - self._start
        filled = _WIDTH * done // total if total else _WIDTH
        fresh = done - self._first
        eta = f", {elapsed / fresh * (total - done):.0f} s left" if fresh > 0 and done < total else ""
        self.stream.write(f"\r[{'#' * filled}{'.' * (_WIDTH - filled)}] {done}/{total} {self.what} "
                          f"{elapsed:.1f} s{eta}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

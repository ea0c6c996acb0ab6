"""A progress line for commands that run longer than a couple of seconds, on a terminal only.

``with activity("synthesizing hwsim_fpga_edge_8x8_ws with Yosys", quiet=args.quiet): ...`` redraws
``synthesizing ... 12 s`` on standard error once a second from a background thread, and erases it
when the block ends; off a terminal (a log, a pipe, CI) or with ``--quiet`` it draws nothing, so
outputs and logs stay byte-identical.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator, TextIO

__all__ = ["activity", "draws"]


def draws(stream: TextIO | None = None, quiet: bool = False) -> bool:
    """Whether a progress line goes to ``stream`` (standard error): a terminal, and not ``quiet``."""
    stream = stream if stream is not None else sys.stderr
    return not quiet and bool(getattr(stream, "isatty", lambda: False)())


@contextmanager
def activity(what: str, *, quiet: bool = False, stream: TextIO | None = None, every: float = 1.0) -> Iterator[None]:
    """Show ``what`` and the seconds it has taken until the block ends."""
    out = stream if stream is not None else sys.stderr
    if not draws(out, quiet):
        yield
        return
    start = time.monotonic()
    done = threading.Event()

    def tick() -> None:
        while True:
            out.write(f"\r{what} ... {time.monotonic() - start:.0f} s\x1b[K")
            out.flush()
            if done.wait(every):
                break

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        out.write("\r\x1b[K")
        out.flush()

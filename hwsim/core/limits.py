"""Bounds on the work a command may start: memory it may ask for, checked before it asks.

A shape declared in a model or an ``.npy`` header, a GEMM size on the command line, an array
size in a config can all ask for more memory than the machine has. Such a request is refused
with a :class:`~hwsim.core.errors.UserError` naming what asked, how much, and how much there
is, before anything is allocated, instead of a MemoryError (or the kernel's OOM killer) later.
"""

from __future__ import annotations

import os
import resource

from .errors import UserError

__all__ = ["available_memory", "check_memory", "format_bytes"]


def available_memory() -> int:
    """Bytes this process may still allocate: the smaller of the kernel's ``MemAvailable`` and the
    room left under ``RLIMIT_AS`` (a cap set with ``ulimit -v``); 2**63 when neither is known."""
    best = 1 << 63
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    best = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm", encoding="ascii") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            best = min(best, max(0, soft - used))
    except (OSError, ValueError, IndexError):
        pass
    return best


def format_bytes(n: float) -> str:
    """``1.5 GiB``: a byte count as the messages show it."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_memory(nbytes: int, what: str, hint: str) -> None:
    """Refuse ``what`` (e.g. ``"--input x: a 1x3x99999x99999 float32 array"``) if its ``nbytes`` do not fit
    in the memory available now; ``hint`` says how to ask for less."""
    free = available_memory()
    if nbytes > free:
        raise UserError(f"{what} needs {format_bytes(nbytes)} of memory, more than the "
                        f"{format_bytes(free)} available; {hint}")

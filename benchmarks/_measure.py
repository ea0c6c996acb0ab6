"""Wall time and peak memory of a whole command, measured per child process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

__all__ = ["Measurement", "measure", "hwsim_command"]


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    peak_mib: float
    returncode: int


def measure(argv: list[str], repeat: int = 3) -> Measurement:
    """Best wall time and the peak resident memory over ``repeat`` runs of ``argv``."""
    best, peak, rc = float("inf"), 0.0, 0
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        rc = rc or proc.returncode
        best = min(best, wall)
        peak = max(peak, usage.ru_maxrss / 1024)  # ru_maxrss is KiB on Linux
    return Measurement(best, peak, rc)


def hwsim_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hwsim", *args]

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run_hwsim(*args: str, cwd: Path | None = None) -> Result:
    p = subprocess.run([sys.executable, "-m", "hwsim", *args], capture_output=True, text=True, cwd=cwd)
    return Result(p.returncode, p.stdout, p.stderr)


@pytest.fixture
def hwsim():
    return run_hwsim

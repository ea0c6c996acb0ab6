"""Checks every emitted Verilog file must pass, shared by the array's and the accelerator's tests."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path


def assert_no_source_attributes_or_dates(verilog: str) -> None:
    """``emit_src=False`` kept: no ``(* src *)`` attributes (absolute paths) and no dates."""
    assert "(* src" not in verilog
    assert not re.search(r"20\d\d-\d\d-\d\d", verilog)


def assert_same_in_a_fresh_process(verilog: str, expression: str, imports: str) -> None:
    """``expression`` (a Verilog string, after ``imports``) evaluated in a new interpreter gives the
    same bytes: generation depends on no hash seed, set order or process state."""
    code = (f"import hashlib, sys; {imports}; "
            f"sys.stdout.write(hashlib.sha256(({expression}).encode()).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert other == hashlib.sha256(verilog.encode()).hexdigest()


def assert_icarus_compiles(verilog: str, tmp_path: Path) -> None:
    """``iverilog -g2005`` compiles the design without an error."""
    src = tmp_path / "design.v"
    src.write_text(verilog)
    done = subprocess.run(["iverilog", "-g2005", "-o", str(tmp_path / "a.out"), str(src)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower()

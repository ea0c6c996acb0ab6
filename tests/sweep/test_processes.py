"""Process hygiene of a sweep: its workers die with it, however it dies, and a second sweep into the
same folder is refused while one runs (docs/cli.md#output-files)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fuzz import harness

#: A sweep of 4096 designs on ResNet-18: long enough (over ten seconds on two workers) to be caught running.
LONG_SWEEP = ["sweep", "--rows", "4-128/4", "--cols", "4-128/4", "--buffer-kib", "64,128,256,512", "--jobs", "2",
              "--fresh"]


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found.update(int(p) for p in f.read().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has died
    except FileNotFoundError:
        return False


def _start_sweep(tmp_path: Path, out: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hwsim", *LONG_SWEEP, "--out", out], cwd=tmp_path,
                            env=harness.child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for_records(tmp_path: Path, out: str, proc: subprocess.Popen[str]) -> None:
    records = tmp_path / out / "records.jsonl"
    deadline = time.monotonic() + 120
    while not (records.exists() and records.stat().st_size) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    assert records.exists() and records.stat().st_size, "the sweep wrote no record in time"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to find the workers")
def test_killing_the_parent_of_a_sweep_leaves_no_worker(tmp_path: Path) -> None:
    proc = _start_sweep(tmp_path, "out")
    try:
        _wait_for_records(tmp_path, "out", proc)
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [w for w in workers if _alive(w)], "sweep workers outlived their parent by 5 s"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # this test's own process group only
        except ProcessLookupError:
            pass
        proc.wait(10)


def test_a_second_sweep_into_a_running_sweeps_folder_is_refused(tmp_path: Path) -> None:
    first = _start_sweep(tmp_path, "out")
    try:
        _wait_for_records(tmp_path, "out", first)
        second = subprocess.run([sys.executable, "-m", "hwsim", "sweep", "--rows", "8", "--out", "out"],
                                cwd=tmp_path, env=harness.child_env(), capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        lines = second.stderr.splitlines()
        assert len(lines) == 1 and "another hwsim sweep is running" in lines[0]
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["records.jsonl"]
    finally:
        try:
            os.killpg(first.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        first.wait(30)
    # SIGTERM unwinds like an error: exit 143, the finished records kept for a resume, no temporary left.
    assert first.returncode == 128 + signal.SIGTERM
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["records.jsonl"]


def test_rtl_of_the_largest_preset_answers_at_once(tmp_path: Path) -> None:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "hwsim", "rtl", "--preset", "tpu-v1-like", "--out", "rtl"],
                          cwd=tmp_path, env=harness.child_env(), capture_output=True, text=True, timeout=60)
    assert time.monotonic() - start < 5
    assert done.returncode == 2 and "--allow-large" in done.stderr and len(done.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []

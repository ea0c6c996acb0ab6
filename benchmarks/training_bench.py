"""Time of the whole `hwsim estimate --training` command on ResNet-50 (batch 32, Adam).

Target (issue 14): `hwsim estimate resnet50.onnx --training --batch 32 --optimizer adam --json -` on
`tpu-v1-like` and `gemmini-like` under 2 s. The model is built by compiler.zoo without weight bytes
and saved to a temporary folder, so the figure includes process start, ONNX import, the training
builder (autodiff, optimizer), lowering, the mapping search, residency and simulation. Wall time is
the best of ``--repeat`` runs; CPU time (user + system) of the same run is printed beside it, since
on a shared machine the wall clock also counts waiting for a core.

    .venv/bin/python benchmarks/training_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import hwsim_command  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from compiler import zoo  # noqa: E402

PRESETS = ("tpu-v1-like", "gemmini-like")
TARGET_S = 2.0


def _run(argv: list[str]) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak MiB, exit status) of one run of ``argv``."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return (time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
            os.waitstatus_to_exitcode(status))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resnet50.onnx"
        onnx.save(zoo.resnet50(), path)
        print(f"{'preset':14} {'wall s':>7} {'CPU s':>6} {'peak MiB':>9}  target {TARGET_S:g} s")
        for name in PRESETS:
            command = hwsim_command("estimate", str(path), "--training", "--batch", "32", "--optimizer", "adam",
                                    "--preset", name, "--json", "-")
            runs = [_run(command) for _ in range(max(1, args.repeat))]
            wall, cpu, peak, status = min(runs)
            if any(r[3] for r in runs):
                print(f"{name:14} failed (exit {status})")
                continue
            print(f"{name:14} {wall:7.2f} {cpu:6.2f} {max(r[2] for r in runs):9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

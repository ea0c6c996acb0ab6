"""Wall time of `hwsim sweep` over ResNet-50: 4 x 4 array shapes x 3 dataflows x 3 buffer sizes = 144 designs.

Target (issue 6): under 60 s with --jobs 2 on the project's 2-core machine. ResNet-50 is built by
compiler.zoo without weight bytes and saved to a temporary folder, so the figure includes process
start, ONNX import and lowering (once), the process pool, 144 estimates, the CSV/JSON and both plots.
The second figure is the same command again, which resumes every design from DIR/records.jsonl.

    .venv/bin/python benchmarks/sweep_bench.py [--repeat 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import hwsim_command, measure  # noqa: E402

from compiler import zoo  # noqa: E402

SPACE = ["--rows", "8,16,32,64", "--cols", "8,16,32,64", "--dataflow", "ws,os,is", "--buffer-kib", "64,256,1024"]
TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "resnet50.onnx"
        onnx.save(zoo.MODELS["resnet50"](weights=False), model)
        sweep = hwsim_command("sweep", str(model), *SPACE, "--jobs", str(args.jobs), "--out", str(Path(tmp) / "out"))
        print(f"{'run':<44}{'wall s':>8}{'peak MiB':>10}{'target s':>10}")
        for label, argv, target in (
            (f"144 designs, ResNet-50, --jobs {args.jobs}", [*sweep, "--fresh"], f"{TARGET_S:.0f}"),
            ("the same again (all 144 resumed)", sweep, "-"),
        ):
            m = measure(argv, repeat=args.repeat)
            status = "" if m.returncode == 0 else f"  (exit {m.returncode})"
            print(f"{label:<44}{m.wall_s:>8.2f}{m.peak_mib:>10.1f}{target:>10}{status}")


if __name__ == "__main__":
    main()

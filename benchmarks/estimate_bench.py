"""Wall time and peak memory of the whole `hwsim estimate` command on ResNet-50 and BERT-base.

Targets (issue 2): ResNet-50 under 1 s and 300 MB; a BERT-base-sized encoder under 2 s.
The models are built by compiler.zoo without weight bytes and saved to a temporary folder, so the
measurement includes process start, ONNX import, shape folding, lowering, tiling and simulation.

    .venv/bin/python benchmarks/estimate_bench.py [--repeat 3]
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

CASES = [
    ("resnet50", {}, ["--input-shape", "input=1x3x224x224"], 1.0),
    ("bert", {"layers": 12, "hidden": 768, "heads": 12}, ["--input-shape", "input_ids=1x128"], 2.0),
    ("bert", {"layers": 12, "hidden": 768, "heads": 12}, ["--input-shape", "input_ids=1x384"], 2.0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'model':<28}{'wall s':>8}{'peak MiB':>10}{'target s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, kwargs, extra, target in CASES:
            path = Path(tmp) / f"{name}.onnx"
            onnx.save(zoo.MODELS[name](weights=False, **kwargs), path)
            m = measure(hwsim_command("estimate", str(path), *extra), repeat=args.repeat)
            label = name + ("" if not extra else " " + extra[-1].split("=")[1])
            status = "" if m.returncode == 0 else f"  (exit {m.returncode})"
            print(f"{label:<28}{m.wall_s:>8.3f}{m.peak_mib:>10.1f}{target:>10.1f}{status}")


if __name__ == "__main__":
    main()

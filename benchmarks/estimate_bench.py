"""Wall time and peak memory of the whole `hwsim estimate` command on ResNet-50 and BERT-base, and
how much of it the program builder (mapping search and residency plan) takes.

Targets (issues 2 and 11): ResNet-50 and BERT-base (sequence 128) under 1 s and 300 MB on every
preset, the mapping search included. The models are built by compiler.zoo without weight bytes and
saved to a temporary folder, so the measurement includes process start, ONNX import, shape
folding, lowering, the mapping search, residency and simulation.

    .venv/bin/python benchmarks/estimate_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import hwsim_command, measure  # noqa: E402

from compiler import lower_model, zoo  # noqa: E402
from compiler.importer import parse_input_shapes  # noqa: E402
from compiler.schedule import schedule_model  # noqa: E402
from hwsim.core.config import preset, preset_names  # noqa: E402

CASES = [
    ("resnet50", {}, ["--input-shape", "input=1x3x224x224"], 1.0),
    ("bert", {"layers": 12, "hidden": 768, "heads": 12}, ["--input-shape", "input_ids=1x128"], 1.0),
    ("bert", {"layers": 12, "hidden": 768, "heads": 12}, ["--input-shape", "input_ids=1x384"], 2.0),
]


def _search_seconds(path: Path, shape: str, name: str, repeat: int) -> tuple[float, int, int]:
    """Best in-process time of schedule_model (mapping search + residency), the layers, and the
    distinct GEMM shapes the search ranks (its cost grows with those, not with cycles)."""
    lowered = lower_model(path, input_shapes=parse_input_shapes([shape]))
    cfg = preset(name)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        schedule_model(lowered, cfg)
        best = min(best, time.perf_counter() - start)
    shapes = {w.gemm for w in lowered.workloads if w.gemm is not None}
    return best, len(lowered.workloads), len(shapes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'model':<22}{'preset':<14}{'wall s':>8}{'peak MiB':>10}{'target s':>10}{'search s':>10}"
          f"{'layers':>8}{'shapes':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, kwargs, extra, target in CASES:
            path = Path(tmp) / f"{name}.onnx"
            onnx.save(zoo.MODELS[name](weights=False, **kwargs), path)
            label = name + " " + extra[-1].split("=")[1]
            for cfg in preset_names():
                m = measure(hwsim_command("estimate", str(path), *extra, "--preset", cfg), repeat=args.repeat)
                search, layers, shapes = _search_seconds(path, extra[-1], cfg, args.repeat)
                status = "" if m.returncode == 0 else f"  (exit {m.returncode})"
                print(f"{label:<22}{cfg:<14}{m.wall_s:>8.3f}{m.peak_mib:>10.1f}{target:>10.1f}{search:>10.3f}"
                      f"{layers:>8}{shapes:>8}{status}")


if __name__ == "__main__":
    main()

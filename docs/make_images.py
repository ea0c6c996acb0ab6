"""Regenerate every picture in docs/img/ from real runs, exactly as a user would make them.

* ``cycles.png``, ``energy.png``, ``roofline.png``: ``hwsim estimate docs/examples/resnet50.onnx
  --preset gemmini-like --json report.json``, then ``hwsim plot report.json --out DIR``;
* ``sweep-pareto.png``, ``sweep-heatmap.png``: the first sweep of docs/sweep.md
  (``hwsim sweep docs/examples/resnet50.onnx --rows 8,16,32,64 --cols 8,16,32,64 --dataflow ws,os,is
  --buffer-kib 64,256,1024``), its ``pareto.png`` and ``heatmap.png``.

The output is deterministic: the same code gives byte-identical PNGs, and tests/docs/test_images.py
checks that the committed images are what this script makes now.

    .venv/bin/python docs/make_images.py
"""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hwsim.cli import main  # noqa: E402

MODEL = ROOT / "docs" / "examples" / "resnet50.onnx"
PRESET = "gemmini-like"
OUT = ROOT / "docs" / "img"
SWEEP = ("--rows", "8,16,32,64", "--cols", "8,16,32,64", "--dataflow", "ws,os,is", "--buffer-kib", "64,256,1024")
#: Every image, by the name it has in docs/img.
IMAGES = ("cycles.png", "energy.png", "roofline.png", "sweep-pareto.png", "sweep-heatmap.png")


def _hwsim(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        status = main(list(argv))
    if status != 0:
        raise SystemExit(f"hwsim {' '.join(argv)} exited with status {status}")


def render(out: Path) -> None:
    """Write every image of :data:`IMAGES` into ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        report, sweep = Path(tmp) / "report.json", Path(tmp) / "sweep"
        _hwsim("estimate", str(MODEL), "--preset", PRESET, "--json", str(report))
        _hwsim("plot", str(report), "--out", str(out))
        _hwsim("sweep", str(MODEL), *SWEEP, "--preset", PRESET, "--out", str(sweep), "--quiet")
        shutil.copyfile(sweep / "pareto.png", out / "sweep-pareto.png")
        shutil.copyfile(sweep / "heatmap.png", out / "sweep-heatmap.png")


if __name__ == "__main__":
    render(OUT)

"""Regenerate the example plots in docs/img/ from a real estimate, exactly as a user would make them.

Builds ResNet-50 with ``compiler.zoo`` (no weight bytes), saves it as ONNX in a temporary folder,
runs ``hwsim estimate resnet50.onnx --preset gemmini-like --json report.json`` and then
``hwsim plot report.json --out docs/img``. The output is deterministic: running it again on the
same code gives byte-identical PNGs (so ``git status`` shows whether a change altered a picture).

    .venv/bin/python docs/make_images.py
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

import onnx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compiler import zoo  # noqa: E402
from hwsim.cli import main  # noqa: E402

MODEL = "resnet50"
PRESET = "gemmini-like"
OUT = ROOT / "docs" / "img"


def _hwsim(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # the estimate's table is not wanted here
        status = main(list(argv))
    if status != 0:
        raise SystemExit(f"hwsim {' '.join(argv)} exited with status {status}")


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model, report = Path(tmp) / f"{MODEL}.onnx", Path(tmp) / "report.json"
        onnx.save(zoo.MODELS[MODEL](weights=False), model)
        _hwsim("estimate", str(model), "--preset", PRESET, "--json", str(report))
        _hwsim("plot", str(report), "--out", str(OUT))


if __name__ == "__main__":
    run()

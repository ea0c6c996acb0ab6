"""The energy docs' worked example is computed by hand in docs/worked_example.py and asserted there
against the tool's JSON; this test keeps docs/model.md identical to that computation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


def _module():
    return load_script("docs/worked_example.py")


def test_model_docs_hold_the_worked_example_exactly() -> None:
    assert _module().section() in (ROOT / "docs" / "model.md").read_text(encoding="utf-8")


def test_worked_example_json_digits_match_the_docs() -> None:
    import json

    out = subprocess.run([sys.executable, "-m", "hwsim", "estimate", str(ROOT / "docs/examples/matmul_64x96x48.onnx"),
                          "--preset", "fpga-edge", "--json", "-"], capture_output=True, text=True, check=True).stdout
    layer = json.loads(out)["layers"][0]
    docs = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    assert f"**{layer['compute_cycles']:,}** (`compute_cycles`)" in docs
    assert f"**{layer['stall_cycles']}** (`stall_cycles`)" in docs
    for key, joules in layer["energy_breakdown_j"].items():
        assert f"| `{key}` |" in docs and f"| {joules:.6g} |" in docs
    assert f"**{layer['energy_j']:.6g}** (`energy_j`)" in docs


def test_example_model_is_reproducible() -> None:
    assert _module().build_model().SerializeToString() == (ROOT / "docs/examples/matmul_64x96x48.onnx").read_bytes()

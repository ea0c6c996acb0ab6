"""docs/validation.md's LLM serving table is what benchmarks/llm_silicon.py prints today, and each
ratio held to the target stays in 0.7-1.4 (the issue's); the others are reported, with their reasons, in
docs/validation.md#llm-serving."""

from __future__ import annotations

import re
from pathlib import Path

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


def _script():
    return load_script("benchmarks/llm_silicon.py")


def test_llm_validation_table_and_ratios() -> None:
    module = _script()
    table = module.rows()
    held = [r for r in table if r.figure.target]
    assert held and all(0.7 <= r.ratio <= 1.4 for r in held), [(r.figure.chip, r.ratio) for r in held]
    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    found = re.search(re.escape(module.BEGIN) + r"\n(.*?)" + re.escape(module.END), text, re.S)
    assert found, "docs/validation.md lost its LLM table markers"
    assert found.group(1) == module.markdown(table), \
        "stale table: run `.venv/bin/python benchmarks/llm_silicon.py --update-docs` and commit docs/validation.md"

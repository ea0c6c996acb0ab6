"""docs/validation.md shows exactly what benchmarks/silicon.py prints today.

When this fails after a model change, regenerate the table and commit it with the change:

    .venv/bin/python benchmarks/silicon.py --update-docs
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _silicon():
    spec = importlib.util.spec_from_file_location("silicon", ROOT / "benchmarks" / "silicon.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("silicon", module)
    spec.loader.exec_module(module)
    return module


def _docs_table(module) -> str:
    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    found = re.search(re.escape(module.BEGIN) + r"\n(.*?)" + re.escape(module.END), text, re.S)
    assert found, "docs/validation.md lost its table markers"
    return found.group(1)


def test_validation_table_is_the_scripts_output():
    module = _silicon()
    table = module.rows()
    assert all(row.hwsim is not None for row in table), [row.error for row in table if row.error]
    assert _docs_table(module) == module.markdown(table), \
        "stale table: run `.venv/bin/python benchmarks/silicon.py --update-docs` and commit docs/validation.md"


def test_every_figure_names_a_source_and_every_chip_one_config():
    module = _silicon()
    assert {f.chip for f in module.FIGURES} == set(module.CHIPS)
    assert all(f.source and f.published > 0 for f in module.FIGURES)
    assert all(path.is_file() for path in module.CHIPS.values())


def test_update_docs_rewrites_only_the_table(tmp_path):
    module = _silicon()
    doc = tmp_path / "validation.md"
    doc.write_text(f"before\n{module.BEGIN}\nold\n{module.END}\nafter\n", encoding="utf-8")
    module.update_docs("| new |\n", doc)
    assert doc.read_text(encoding="utf-8") == f"before\n{module.BEGIN}\n| new |\n{module.END}\nafter\n"

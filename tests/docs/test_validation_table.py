"""docs/validation.md shows exactly what benchmarks/silicon.py prints today.

When this fails after a model change, regenerate the table and commit it with the change:

    .venv/bin/python benchmarks/silicon.py --update-docs
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


def _silicon():
    return load_script("benchmarks/silicon.py")


def _docs_table(module, begin: str | None = None, end: str | None = None) -> str:
    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    begin, end = begin or module.BEGIN, end or module.END
    found = re.search(re.escape(begin) + r"\n(.*?)" + re.escape(end), text, re.S)
    assert found, "docs/validation.md lost its table markers"
    return found.group(1)


def test_validation_tables_are_the_scripts_output():
    module = _silicon()
    table = module.rows()
    assert all(row.hwsim is not None for row in table), [row.error for row in table if row.error]
    stale = "stale table: run `.venv/bin/python benchmarks/silicon.py --update-docs` and commit docs/validation.md"
    assert _docs_table(module) == module.markdown(table), stale
    assert _docs_table(module, module.REFERENCE_BEGIN, module.REFERENCE_END) == module.reference_markdown(table), stale


def test_every_compared_ratio_is_in_range():
    """Issue 11's target: 0.8-1.25 for every figure in the comparison."""
    module = _silicon()
    for row in module.rows():
        if row.figure.compared:
            assert 0.8 <= row.figure.ratio(row.hwsim) <= 1.25, (row.figure.chip, row.figure.workload)


def test_every_figure_names_a_source_and_every_chip_one_config():
    module = _silicon()
    assert {f.chip for f in module.FIGURES} == set(module.CHIPS)
    assert all(f.source and f.published > 0 for f in module.FIGURES)
    assert all(path.is_file() for path in module.CHIPS.values())


def test_update_docs_rewrites_only_the_tables(tmp_path):
    module = _silicon()
    doc = tmp_path / "validation.md"
    doc.write_text(f"before\n{module.BEGIN}\nold\n{module.END}\nmiddle\n"
                   f"{module.REFERENCE_BEGIN}\nold\n{module.REFERENCE_END}\nafter\n", encoding="utf-8")
    module.update_docs("| new |\n", doc, reference_md="| ref |\n")
    assert doc.read_text(encoding="utf-8") == (f"before\n{module.BEGIN}\n| new |\n{module.END}\nmiddle\n"
                                               f"{module.REFERENCE_BEGIN}\n| ref |\n{module.REFERENCE_END}\nafter\n")

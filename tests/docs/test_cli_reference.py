from __future__ import annotations

from pathlib import Path

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


def test_cli_docs_match_the_parsers() -> None:
    module = load_script("docs/cli_reference.py")
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == module.reference(), (
        "docs/cli.md is stale: run .venv/bin/python docs/cli_reference.py > docs/cli.md")

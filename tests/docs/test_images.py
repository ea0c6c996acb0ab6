"""The committed pictures in docs/img are exactly what docs/make_images.py makes from the current code."""

from __future__ import annotations

from pathlib import Path

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


def test_committed_images_match_make_images(tmp_path: Path) -> None:
    module = load_script("docs/make_images.py")
    module.render(tmp_path)
    stale = [name for name in module.IMAGES if (tmp_path / name).read_bytes() != (ROOT / "docs" / "img" / name).read_bytes()]
    assert stale == [], f"docs/img is stale ({', '.join(stale)}): run .venv/bin/python docs/make_images.py"

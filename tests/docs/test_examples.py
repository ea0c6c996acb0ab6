"""Every shell and Python example of README.md and docs/*.md runs as written, from a fresh folder.

Blocks fenced as ``sh``, ``python`` (a script) and ``pycon`` (doctests) run in order, one folder per
page, shared by the page's blocks (a later block may read what an earlier one wrote). The folder
links ``docs``, ``tests`` and ``.venv`` to the repository's, and ``bin/hwsim`` is the project's
command, so paths read exactly as in the docs while outputs land in the folder. A block preceded by
``<!-- docs-test: slow -->`` runs under ``-m slow`` only; ``<!-- docs-test: skip (why) -->`` never
(the reason is required). Checks are structural (exit status 0, the doctests' own outputs), so
figures that change with the model do not break them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"(?:<!-- docs-test: (?P<mark>slow|skip \([^)]+\)) -->\n)?```(?P<lang>sh|python|pycon)\n(?P<body>.*?)```",
                    re.S)
VENV = Path(sys.executable).parent.parent


@dataclass(frozen=True)
class Block:
    page: Path
    lang: str
    body: str
    mark: str  # "", "slow" or "skip (...)"


def blocks(page: Path) -> list[Block]:
    return [Block(page, m["lang"], m["body"], m["mark"] or "") for m in _FENCE.finditer(page.read_text(encoding="utf-8"))]


def _folder(tmp: Path) -> Path:
    for name in ("docs", "tests"):
        (tmp / name).symlink_to(ROOT / name)
    (tmp / ".venv").symlink_to(VENV)
    (tmp / "bin").mkdir()
    hwsim = tmp / "bin" / "hwsim"
    hwsim.write_text(f'#!/bin/sh\nexec "{VENV / "bin" / "hwsim"}" "$@"\n')
    hwsim.chmod(0o755)
    return tmp


def _run(block: Block, cwd: Path, index: int) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg", "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    if block.lang == "sh":
        argv = ["bash", "-euo", "pipefail", "-c", block.body]
    elif block.lang == "python":
        script = cwd / f"example_{index}.py"
        script.write_text(block.body)
        argv = [sys.executable, str(script)]
    else:
        text = cwd / f"example_{index}.txt"
        text.write_text(block.body)
        argv = [sys.executable, "-c", "import doctest, sys; r = doctest.testfile(sys.argv[1], module_relative=False,"
                " optionflags=doctest.ELLIPSIS); sys.exit(1 if r.failed or not r.attempted else 0)", str(text)]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    where = f"{block.page.relative_to(ROOT)} block {index + 1} ({block.lang})"
    assert done.returncode == 0, f"{where} failed with status {done.returncode}:\n{block.body}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, f"{where}:\n{done.stderr[-3000:]}"


def _page_test(page: Path, tmp_path: Path, slow: bool) -> None:
    cwd = _folder(tmp_path)
    chosen = [b for b in blocks(page) if not b.mark.startswith("skip") and (slow or b.mark != "slow")]
    # The page's doctests share their names, as in one session: they run together, after the rest.
    doctests = [b for b in chosen if b.lang == "pycon"]
    chosen = [b for b in chosen if b.lang != "pycon"]
    if doctests:
        chosen.append(Block(page, "pycon", "\n".join(b.body for b in doctests), ""))
    for i, block in enumerate(chosen):
        _run(block, cwd, i)


RUNNABLE = [p for p in PAGES if any(not b.mark for b in blocks(p))]
SLOW = [p for p in PAGES if any(b.mark == "slow" for b in blocks(p))]


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    _page_test(page, tmp_path, slow=False)


@pytest.mark.slow
@pytest.mark.parametrize("page", SLOW, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_slow_examples_run(page: Path, tmp_path: Path) -> None:
    _page_test(page, tmp_path, slow=True)  # the fast blocks too: the slow ones may use their outputs


def test_every_skip_says_why_and_examples_use_shipped_files() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert "<!-- docs-test: skip -->" not in text, page
        for block in blocks(page):
            if block.lang == "sh" and not block.mark.startswith("skip"):
                # The command is bin/hwsim (or .venv/bin/...): a bare 'hwsim' is not on PATH in a fresh clone.
                for line in block.body.splitlines():
                    assert not re.match(r"\s*hwsim\b", line), f"{page.name}: {line}"


def test_example_files_are_what_make_examples_makes() -> None:
    module = load_script("docs/examples/make_examples.py")
    for name, data in module.files().items():
        assert (ROOT / "docs" / "examples" / name).read_bytes() == data, name

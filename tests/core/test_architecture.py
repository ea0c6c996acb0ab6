"""The architecture of docs/architecture.md holds: imports point down the layers, no file imports
itself through others, and each derived quantity and GEMM rule is defined in one place."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("compiler", "hwsim", "rtl")
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def test_the_layers_contract_is_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def test_an_import_up_from_the_vocabulary_breaks_the_contract(tmp_path: Path):
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    config = tmp_path / "hwsim" / "core" / "config.py"
    config.write_text(config.read_text() + "\nfrom hwsim import simulate  # an upward import\n")
    result = _lint(tmp_path)
    assert result.returncode == 1
    assert "hwsim.core.config -> hwsim.simulate" in result.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_through_others():
    # grimp records every import statement, those inside functions included.
    assert _cycles(grimp.build_graph(*PACKAGES, cache_dir=None)) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def _sources() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for name in PACKAGES for p in sorted((ROOT / name).rglob("*.py"))}


@pytest.mark.parametrize(("what", "definition", "owner"), [
    ("the fold count", r"def folds\(", "hwsim/core/config.py"),
    ("the part of a buffer one tile may use", r"def \w+_part_bytes\(", "hwsim/core/config.py"),
    ("the longest tile K", r"def k_max\(", "hwsim/core/config.py"),
    ("the output latency", r"def out_latency\(", "hwsim/core/config.py"),
    ("the GEMM operators", r"^GEMM_OPS\b", "compiler/ops/gemm.py"),
    ("which operand is stationary", r"def stationary_swap\(", "compiler/ops/gemm.py"),
    ("the Einsum parser", r"def einsum_terms\(", "compiler/ops/gemm.py"),
    ("the kernel table", r"^KERNELS: dict\[str, Kernel\] = _merge", "compiler/kernels/__init__.py"),
])
def test_each_rule_is_defined_once(what: str, definition: str, owner: str):
    where = [path for path, text in _sources().items() if re.search(definition, text, re.M)]
    assert where == [owner], f"{what} is defined in {where}"


@pytest.mark.parametrize(("what", "pattern"), [
    ("a fold count computed by hand", r"-\(-\s*\w*\.?k\w* // \w*\.?rows\)"),
    ("a buffer half computed by hand", r"2 if \w+\.double_buffer else 1"),
    ("the tiler probed for its longest K", r"1 << 40"),
    ("an ONNX attribute used as pass metadata", r"attr\(\"(epilogue|gemm_output|folded)\""),
    ("duck typing on an optional attribute", r"getattr\(\w+, \"\w+\", None\)"),
])
def test_no_rule_is_recomputed_where_it_is_used(what: str, pattern: str):
    hits = [f"{path}:{text.count(chr(10), 0, m.start()) + 1}" for path, text in _sources().items()
            if path != "hwsim/core/config.py" for m in re.finditer(pattern, text)]
    assert hits == [], f"{what}: {hits}"

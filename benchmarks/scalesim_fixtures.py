"""Run the real SCALE-Sim and record its per-layer cycles as JSON test fixtures.

This script needs a ``scalesim`` install and is not run in CI. Install it in a throwaway
environment, never in the project's::

    python3 -m venv /tmp/scalesim-venv
    /tmp/scalesim-venv/bin/pip install scalesim "numpy<2"

(SCALE-Sim 3.0.0 calls ``int()`` on one-element arrays, which NumPy 2.x rejects with
``TypeError: only 0-dimensional arrays can be converted to Python scalars``.)

Regenerate every fixture under ``tests/scalesim/fixtures/`` (two worker processes; ResNet-50 takes
SCALE-Sim about half an hour per dataflow; finished layers are cached, so an interrupted run
resumes)::

    /tmp/scalesim-venv/bin/python benchmarks/scalesim_fixtures.py [--jobs 2] [--only resnet50]

A run already recorded by ``scalesim_compare.py --save-scalesim`` (the whole topology in one
SCALE-Sim process) can stand in for its per-layer runs::

    /tmp/scalesim-venv/bin/python benchmarks/scalesim_fixtures.py --only resnet50 \\
        --saved ws/CALC=/tmp/r50/ws_calc.json --saved os/CALC=/tmp/r50/os_calc.json \\
        --saved is/CALC=/tmp/r50/is_calc.json --saved ws/USER=/tmp/r50/ws_user_partial.json ...

Run one topology and print its report as JSON on stdout (``benchmarks/scalesim_compare.py`` calls
this through ``--scalesim-python``)::

    /tmp/scalesim-venv/bin/python benchmarks/scalesim_fixtures.py run \\
        --config tests/scalesim/data/scale.cfg --topology tests/scalesim/data/Resnet50.csv \\
        [--dataflow ws|os|is] [--bandwidth-mode USER|CALC] [--gemm] [--budget SECONDS]

A saved run JSON may carry ``"partial": "why it stopped"`` with only its first layers (``run
--budget SECONDS`` stops like that; SCALE-Sim's ResNet-50 in USER mode needs hours for each of the
last stage's 3x3 layers); the fixture keeps it under ``partial_runs``.

Each fixture records, per layer, SCALE-Sim's COMPUTE_REPORT columns "Total Cycles (incl.
prefetch)", "Total Cycles" and "Stall Cycles", and their difference ``compute_cycles``. SCALE-Sim
writes no traces here (``save_disk_space=True``).
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "scalesim" / "data"
FIXTURES = ROOT / "tests" / "scalesim" / "fixtures"

# name -> (topology file, config file, GEMM form?, dataflows, bandwidth modes)
CASES: dict[str, tuple[str, str, bool, tuple[str, ...], tuple[str, ...]]] = {
    # scale.cfg as shipped is CALC mode; USER mode takes SCALE-Sim hours per late ResNet-50 layer.
    "resnet50": ("Resnet50.csv", "scale.cfg", False, ("ws", "os", "is"), ("CALC",)),
    "alexnet": ("alexnet.csv", "scale.cfg", False, ("ws", "os", "is"), ("USER",)),
    "yolo_tiny": ("yolo_tiny.csv", "scale.cfg", False, ("ws", "os", "is"), ("USER",)),
    "test_conv": ("test.csv", "scale.cfg", False, ("ws", "os", "is"), ("USER", "CALC")),
    "test_mnk": ("test_mnk_input.csv", "scale.cfg", True, ("ws", "os", "is"), ("USER", "CALC")),
    "transformer_partial": ("transformer_partial.csv", "scale.cfg", True, ("ws", "os", "is"), ("USER",)),
    "test_conv_google": ("test.csv", "google.cfg", False, ("ws", "os", "is"), ("USER",)),
    "test_mnk_google": ("test_mnk_input.csv", "google.cfg", True, ("ws", "os", "is"), ("USER",)),
}
# name -> (seed, count): small random layers and configs (random_cases)
RANDOM_CASES: dict[str, tuple[int, int]] = {"random_small": (2024, 80)}


def _write_config(src: Path, dst: Path, dataflow: str | None, bandwidth_mode: str | None) -> None:
    parser = configparser.ConfigParser()
    parser.optionxform = str  # keep SCALE-Sim's key spelling
    parser.read(src)
    if dataflow:
        parser["architecture_presets"]["Dataflow"] = dataflow
    if bandwidth_mode:
        parser["run_presets"]["InterfaceBandwidth"] = bandwidth_mode
    with open(dst, "w", encoding="utf-8") as f:
        parser.write(f)


def _split_topology(path: Path, out_dir: Path) -> list[Path]:
    """One single-layer topology file per data row (SCALE-Sim simulates layers independently)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], [ln for ln in lines[1:] if ln.strip()]
    files = []
    for i, row in enumerate(rows):
        p = out_dir / f"layer{i:04d}.csv"
        p.write_text(f"{header}\n{row}\n", encoding="utf-8")
        files.append(p)
    return files


def run_scalesim(
    config: Path,
    topology: Path,
    *,
    dataflow: str | None = None,
    bandwidth_mode: str | None = None,
    gemm: bool = False,
    budget_s: float | None = None,
) -> dict[str, Any]:
    """Run SCALE-Sim on ``topology`` and return its compute report per layer and the wall time.

    With ``budget_s``, no layer starts once that many seconds have passed; the report then holds
    the layers done and a ``partial`` note.

    The layers run one after another exactly as SCALE-Sim's ``simulator.run`` runs them
    (``single_layer_sim.set_params`` then ``run``), but each layer is released once its report is
    read: SCALE-Sim itself keeps every layer's demand and trace matrices until the end, which
    for ResNet-50 grows past 15 GB even with traces off. No report files are written.
    """
    from scalesim.scale_sim import scalesim  # only this script imports SCALE-Sim
    from scalesim.single_layer_sim import single_layer_sim

    with tempfile.TemporaryDirectory(prefix="scalesim-run-") as tmp:
        work = Path(tmp)
        cfg = work / "run.cfg"
        _write_config(config, cfg, dataflow, bandwidth_mode)
        # SCALE-Sim opens a layout file even when no custom layout is enabled; a header is enough.
        layout = work / "layout.csv"
        layout.write_text("Layer name,\n", encoding="utf-8")
        layers = []
        start = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):
            sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg), topology=str(topology),
                           layout=str(layout), input_type_gemm=gemm)
            for layer_id in range(sim.topo.get_num_layers()):
                if budget_s is not None and time.perf_counter() - start > budget_s:
                    break
                layer = single_layer_sim()
                layer.set_params(layer_id=layer_id, config_obj=sim.config, topology_obj=sim.topo,
                                 layout_obj=sim.layout, verbose=False)
                layer.run()
                incl, total, stall = (int(x) for x in layer.get_compute_report_items()[:3])
                layers.append({
                    "name": sim.topo.get_layer_name(layer_id),
                    "total_cycles_incl_prefetch": incl,
                    "total_cycles": total,
                    "stall_cycles": stall,
                    "compute_cycles": total - stall,
                })
                del layer
        wall = time.perf_counter() - start
        total = sim.topo.get_num_layers()
    if len(layers) < total:
        return {"layers": layers, "wall_s": wall,
                "partial": f"stopped after {len(layers)} of {total} layers, {wall:.0f} s (budget {budget_s:.0f} s)"}
    return {"layers": layers, "wall_s": wall}


def _run_layer(job: tuple[str, str, str | None, str | None, bool, str]) -> dict[str, Any]:
    """One layer's SCALE-Sim report, reused from the cache when an identical job already ran
    (so that an interrupted regeneration resumes where it stopped)."""
    config, topology, dataflow, mode, gemm, cache = job
    key = hashlib.sha256(json.dumps([Path(config).read_text(), Path(topology).read_text(), dataflow, mode, gemm,
                                     _scalesim_version()]).encode()).hexdigest()[:32]
    cached = Path(cache) / f"{key}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    report = run_scalesim(Path(config), Path(topology), dataflow=dataflow, bandwidth_mode=mode, gemm=gemm)
    (layer,) = report["layers"]
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(layer), encoding="utf-8")
    return layer


def make_fixture(name: str, jobs: int, cache: Path, saved: dict[str, Path] | None = None) -> None:
    """Record ``name``'s fixture; a run in ``saved`` (``"ws/USER"`` -> a ``run`` command's JSON, e.g.
    the one ``scalesim_compare.py --save-scalesim`` wrote) is taken from that file, not re-run."""
    topo_name, cfg_name, gemm, dataflows, modes = CASES[name]
    saved = saved or {}
    out: dict[str, Any] = {
        "scalesim_version": _scalesim_version(),
        "topology": topo_name,
        "config": cfg_name,
        "gemm_form": gemm,
        "runs": {},
    }
    with tempfile.TemporaryDirectory(prefix="scalesim-fix-") as tmp:
        layer_files = _split_topology(DATA / topo_name, Path(tmp))
        work = [(df, mode) for mode in modes for df in dataflows if f"{df}/{mode}" not in saved]
        all_jobs = [(str(DATA / cfg_name), str(p), df, mode, gemm, str(cache)) for df, mode in work for p in layer_files]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_run_layer, all_jobs))
    n = len(layer_files)
    runs = {f"{df}/{mode}": results[i * n:(i + 1) * n] for i, (df, mode) in enumerate(work)}
    for run, path in saved.items():
        report = json.loads(path.read_text(encoding="utf-8"))
        if "partial" in report:  # a run stopped early: its first layers, kept apart
            out.setdefault("partial_runs", {})[run] = {"note": report["partial"], "layers": report["layers"]}
            continue
        if len(report["layers"]) != n:
            raise SystemExit(f"error: {path} has {len(report['layers'])} layers, {topo_name} has {n}")
        runs[run] = report["layers"]
    order = [f"{df}/{mode}" for mode in modes for df in dataflows]
    out["runs"] = {run: runs[run] for run in order + sorted(set(runs) - set(order))}
    _write_fixture(name, out)


def random_cases(seed: int, count: int) -> list[tuple[str, str, bool]]:
    """``count`` small layers on small arrays with small buffers and low bandwidths, in USER mode
    (config text, topology text, GEMM form?): quick to simulate, and they exercise every buffer
    window and write-drain path of SCALE-Sim's memory model."""
    rng = random.Random(seed)
    base = (DATA / "scale.cfg").read_text(encoding="utf-8")
    cases = []
    for _ in range(count):
        cfg = base
        for key, value in (("ArrayHeight", rng.choice([4, 8, 16])), ("ArrayWidth", rng.choice([4, 8, 16])),
                           ("IfmapSramSzkB", rng.choice([1, 2, 4])), ("FilterSramSzkB", rng.choice([1, 2, 4])),
                           ("OfmapSramSzkB", rng.choice([1, 2, 4])), ("Bandwidth", rng.choice([2, 4, 8])),
                           ("IfmapSRAMBankBandwidth", rng.choice([2, 4, 10])), ("IfmapSRAMBankNum", 1),
                           ("FilterSRAMBankBandwidth", rng.choice([2, 4, 10])), ("FilterSRAMBankNum", 1),
                           ("Dataflow", rng.choice(["ws", "os", "is"])), ("InterfaceBandwidth", "USER")):
            cfg = re.sub(rf"^{key}\s*:.*$", f"{key}: {value}", cfg, flags=re.MULTILINE)
        if rng.random() < 0.5:
            f = rng.choice([1, 1, 3])
            h, stride = rng.randint(f, 12), rng.choice([1, 2])
            topo = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                    f"L, {h}, {h}, {f}, {f}, {rng.randint(1, 20)}, {rng.randint(1, 40)}, {stride},\n")
            cases.append((cfg, topo, False))
        else:
            m, n, k = rng.randint(1, 200), rng.randint(1, 100), rng.randint(1, 200)
            cases.append((cfg, f"Layer, M, N, K,\nL, {m}, {n}, {k},\n", True))
    return cases


def make_random_fixture(name: str, seed: int, count: int, jobs: int, cache: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="scalesim-fix-") as tmp:
        jobs_list = []
        cases = random_cases(seed, count)
        for i, (cfg, topo, gemm) in enumerate(cases):
            (Path(tmp) / f"c{i}.cfg").write_text(cfg, encoding="utf-8")
            (Path(tmp) / f"t{i}.csv").write_text(topo, encoding="utf-8")
            jobs_list.append((str(Path(tmp) / f"c{i}.cfg"), str(Path(tmp) / f"t{i}.csv"), None, None, gemm, str(cache)))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_run_layer, jobs_list))
    out = {"scalesim_version": _scalesim_version(), "seed": seed,
           "cases": [{"config": c, "topology": t, "gemm_form": g, "layer": r} for (c, t, g), r in zip(cases, results)]}
    _write_fixture(name, out)


def _write_fixture(name: str, data: dict[str, Any]) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    path = FIXTURES / f"{name}.json"
    tmp_path = path.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp_path, path)
    print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


def _scalesim_version() -> str:
    from importlib.metadata import version

    return version("scalesim")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run one topology and print the report as JSON")
    run.add_argument("--config", type=Path, required=True)
    run.add_argument("--topology", type=Path, required=True)
    run.add_argument("--dataflow", choices=("ws", "os", "is"))
    run.add_argument("--bandwidth-mode", choices=("USER", "CALC"))
    run.add_argument("--gemm", action="store_true", help="the topology is in the M,N,K form")
    run.add_argument("--budget", type=float, metavar="SECONDS",
                     help="start no layer after this long; report the layers done as a partial run")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--only", action="append", choices=sorted([*CASES, *RANDOM_CASES]), help="regenerate only these")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "scalesim-fixture-cache",
                        help="finished layers are kept here so an interrupted run resumes (default %(default)s)")
    parser.add_argument("--saved", action="append", default=[], metavar="DATAFLOW/MODE=FILE",
                        help="take this run of the --only fixture from a saved `run` JSON instead of running it; "
                             "a JSON with a 'partial' note (a run stopped early) is kept under 'partial_runs'")
    args = parser.parse_args(argv)
    if args.command == "run":
        report = run_scalesim(args.config, args.topology, dataflow=args.dataflow,
                              bandwidth_mode=args.bandwidth_mode, gemm=args.gemm, budget_s=args.budget)
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
        return 0
    for name in args.only or [*RANDOM_CASES, *sorted(CASES, key=lambda n: n == "resnet50")]:
        if name in RANDOM_CASES:
            make_random_fixture(name, *RANDOM_CASES[name], args.jobs, args.cache)
        else:
            saved = dict(item.split("=", 1) for item in args.saved)
            make_fixture(name, args.jobs, args.cache, {run: Path(f) for run, f in saved.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())

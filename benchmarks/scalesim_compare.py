"""SCALE-Sim against hwsim's SCALE-Sim compatibility mode: cycles per layer and wall time.

Runs SCALE-Sim 3.0 and hwsim (``hwsim.scalesim``: ``compute_cycles`` + ``stall_cycles``) on the
same topology and config, and prints per layer both compute cycles, both total cycles (compute +
stalls), the difference of the totals in percent, then both wall times and their ratio.

SCALE-Sim lives in a throwaway environment (see benchmarks/scalesim_fixtures.py); point at it::

    .venv/bin/python benchmarks/scalesim_compare.py tests/scalesim/data/Resnet50.csv \\
        --config tests/scalesim/data/scale.cfg --dataflow ws --bandwidth-mode USER \\
        --scalesim-python /tmp/scalesim-venv/bin/python --save-scalesim /tmp/r50_ws.json

ResNet-50 takes SCALE-Sim tens of minutes; ``--scalesim-json FILE`` reuses a saved run (its
recorded wall time is reported). Without ``--scalesim-python`` the current interpreter must be
able to import ``scalesim``. ``--fixtures`` prints instead one markdown row per SCALE-Sim run
recorded under tests/scalesim/fixtures (docs/scalesim.md's accuracy table), without SCALE-Sim.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from scalesim_fixtures import DATA, FIXTURES, _write_config  # type: ignore[import-not-found]  # no SCALE-Sim needed

from compiler.schedule import schedule_model
from hwsim import scalesim
from hwsim.core.workload import LoweredModel
from hwsim.scalesim import ScaleSimTiming
from hwsim.simulate import simulate

FIXTURES_SCRIPT = ROOT / "benchmarks" / "scalesim_fixtures.py"


def run_hwsim(topology: Path, config: Path, dataflow: str | None, mode: str | None) -> tuple[list[dict[str, Any]], float]:
    """hwsim's compatibility mode as ``hwsim estimate --timing scalesim`` runs it (read the files,
    simulate every layer), timed in this process from reading the files to the finished report."""
    start = time.perf_counter()
    cfg, options = scalesim.load_scalesim_config(config)
    if dataflow:
        cfg = cfg.replace(dataflow=dataflow)
    if mode:
        options = dataclasses.replace(options, bandwidth_mode=mode)
    lowered = LoweredModel(name=topology.stem, workloads=scalesim.load_topology(topology))
    report = simulate(schedule_model(lowered, cfg), scalesim=ScaleSimTiming(options))
    wall = time.perf_counter() - start
    rows = [{"name": r.name, "compute_cycles": r.compute_cycles, "stall_cycles": r.stall_cycles,
             "total_cycles": r.compute_cycles + r.stall_cycles} for r in report.layers]
    return rows, wall


def time_cli(topology: Path, config: Path, dataflow: str | None, mode: str | None, repeat: int) -> float:
    """Best wall time of the whole ``hwsim estimate TOPOLOGY --scalesim-config CFG --timing
    scalesim --json`` command (interpreter start-up and imports included) over ``repeat`` runs."""
    with tempfile.TemporaryDirectory(prefix="hwsim-compare-") as tmp:
        cfg = Path(tmp) / config.name
        _write_config(config, cfg, dataflow, mode)
        cmd = [sys.executable, "-m", "hwsim", "estimate", str(topology), "--scalesim-config", str(cfg),
               "--timing", "scalesim", "--json", str(Path(tmp) / "report.json")]
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            best = min(best, time.perf_counter() - start)
    return best


def run_scalesim(topology: Path, config: Path, dataflow: str | None, mode: str | None, gemm: bool,
                 python: str | None) -> dict[str, Any]:
    """SCALE-Sim's per-layer report and wall time (in this process or in ``python``)."""
    if python is None:
        from scalesim_fixtures import run_scalesim as run  # type: ignore[import-not-found]

        return run(config, topology, dataflow=dataflow, bandwidth_mode=mode, gemm=gemm)
    cmd = [python, str(FIXTURES_SCRIPT), "run", "--config", str(config), "--topology", str(topology)]
    cmd += ["--dataflow", dataflow] if dataflow else []
    cmd += ["--bandwidth-mode", mode] if mode else []
    cmd += ["--gemm"] if gemm else []
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def summarize(theirs: list[dict[str, Any]], ours: list[dict[str, Any]]) -> dict[str, Any]:
    """How hwsim's per-layer cycles compare with SCALE-Sim's: equal compute cycles, and the
    difference of the totals (compute + stalls) in percent of SCALE-Sim's, per layer and in all."""
    if [r["name"] for r in theirs] != [r["name"] for r in ours]:
        raise SystemExit("error: SCALE-Sim and hwsim disagree on the layers of the topology")
    diffs = [100.0 * (h["total_cycles"] - s["total_cycles"]) / s["total_cycles"] for s, h in zip(theirs, ours)]
    sum_s = sum(r["total_cycles"] for r in theirs)
    sum_h = sum(r["total_cycles"] for r in ours)
    return {
        "layers": len(theirs),
        "compute_equal": sum(s["compute_cycles"] == h["compute_cycles"] for s, h in zip(theirs, ours)),
        "within_10": sum(abs(d) <= 10.0 for d in diffs),
        "max_abs": max(abs(d) for d in diffs),
        "mean_abs": sum(abs(d) for d in diffs) / len(diffs),
        "network": 100.0 * (sum_h - sum_s) / sum_s,
        "diffs": diffs,
        "totals": (sum_s, sum_h),
    }


def fixtures_table() -> str:
    """A markdown row per recorded SCALE-Sim run under tests/scalesim/fixtures (no SCALE-Sim needed)."""
    rows = ["| topology | config | run | layers | compute cycles equal | total within 10 % | max / mean abs diff | network total |",
            "|---|---|---|---|---|---|---|---|"]
    for path in sorted(FIXTURES.glob("*.json")):
        fixture = json.loads(path.read_text(encoding="utf-8"))
        runs = [(run, layers, "") for run, layers in fixture.get("runs", {}).items()]
        runs += [(run, p["layers"], " (as far as SCALE-Sim got)") for run, p in fixture.get("partial_runs", {}).items()]
        for run, layers, label in runs:
            dataflow, mode = run.split("/")
            ours, _ = run_hwsim(DATA / fixture["topology"], DATA / fixture["config"], dataflow, mode)
            r = summarize(layers, ours[:len(layers)])
            rows.append(f"| {fixture['topology']} | {fixture['config']} | {run}{label} | {r['layers']} | "
                        f"{r['compute_equal']}/{r['layers']} | {r['within_10']}/{r['layers']} | "
                        f"{r['max_abs']:.2f} % / {r['mean_abs']:.2f} % | {round(r['network'], 2) or 0.0:+.2f} % |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topology", type=Path, nargs="?", help="SCALE-Sim topology .csv (convolution or M,N,K form)")
    parser.add_argument("--config", type=Path, help="SCALE-Sim .cfg")
    parser.add_argument("--dataflow", choices=("ws", "os", "is"), help="override the config's Dataflow")
    parser.add_argument("--bandwidth-mode", choices=("USER", "CALC"), help="override InterfaceBandwidth")
    parser.add_argument("--scalesim-python", help="a Python that can import scalesim (e.g. /tmp/scalesim-venv/bin/python)")
    parser.add_argument("--scalesim-json", type=Path, help="reuse a saved SCALE-Sim run instead of running it")
    parser.add_argument("--save-scalesim", type=Path, help="save SCALE-Sim's run as JSON for --scalesim-json")
    parser.add_argument("--repeat", type=int, default=3, help="time the hwsim command this many times (default 3)")
    parser.add_argument("--fixtures", action="store_true",
                        help="instead: one markdown row per run recorded in tests/scalesim/fixtures")
    args = parser.parse_args(argv)
    if args.fixtures:
        print(fixtures_table())
        return 0
    if args.topology is None or args.config is None:
        parser.error("give a topology and --config (or --fixtures)")

    gemm = scalesim.topology_form(args.topology) == "gemm"
    runs = [run_hwsim(args.topology, args.config, args.dataflow, args.bandwidth_mode) for _ in range(args.repeat)]
    ours, our_wall = runs[0][0], min(wall for _, wall in runs)
    if args.scalesim_json:
        theirs = json.loads(args.scalesim_json.read_text(encoding="utf-8"))
    else:
        theirs = run_scalesim(args.topology, args.config, args.dataflow, args.bandwidth_mode, gemm,
                              args.scalesim_python)
        if args.save_scalesim:
            args.save_scalesim.write_text(json.dumps(theirs) + "\n", encoding="utf-8")
    layers = theirs["layers"]
    r = summarize(layers, ours)

    print(f"{'layer':<22} {'compute SCALE-Sim':>17} {'hwsim':>10} {'total SCALE-Sim':>15} {'hwsim':>11} {'diff %':>8}")
    for s, h, diff in zip(layers, ours, r["diffs"]):
        mark = "" if s["compute_cycles"] == h["compute_cycles"] else "  compute differs"
        print(f"{s['name']:<22} {s['compute_cycles']:>17} {h['compute_cycles']:>10} "
              f"{s['total_cycles']:>15} {h['total_cycles']:>11} {diff:>+8.2f}{mark}")
    print()
    print(f"compute cycles equal: {r['compute_equal']}/{r['layers']} layers")
    print(f"total cycles within 10%: {r['within_10']}/{r['layers']} layers; max |diff| {r['max_abs']:.2f}%, "
          f"mean |diff| {r['mean_abs']:.2f}%; network total {r['totals'][0]} vs {r['totals'][1]} ({r['network']:+.2f}%)")
    cli_wall = time_cli(args.topology, args.config, args.dataflow, args.bandwidth_mode, args.repeat)
    print(f"wall time: SCALE-Sim {theirs['wall_s']:.1f} s; hwsim {our_wall:.3f} s in process, "
          f"{cli_wall:.3f} s as the whole command (best of {args.repeat}); "
          f"ratio {theirs['wall_s'] / our_wall:.0f}x in process, {theirs['wall_s'] / cli_wall:.0f}x whole command")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
able to import ``scalesim``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hwsim import scalesim

FIXTURES_SCRIPT = ROOT / "benchmarks" / "scalesim_fixtures.py"


def run_hwsim(topology: Path, config: Path, dataflow: str | None, mode: str | None) -> tuple[list[dict[str, Any]], float]:
    """hwsim's compatibility mode, timed from reading the files to the last layer's cycles."""
    start = time.perf_counter()
    cfg, options = scalesim.load_config(config)
    if dataflow:
        cfg = cfg.replace(dataflow=dataflow)
    if mode:
        options = dataclasses.replace(options, bandwidth_mode=mode)
    rows = []
    for layer in scalesim.load_topology(topology):
        compute = scalesim.compute_cycles(cfg, layer)
        stall = scalesim.stall_cycles(cfg, layer, options)
        rows.append({"name": layer.name, "compute_cycles": compute, "stall_cycles": stall,
                     "total_cycles": compute + stall})
    return rows, time.perf_counter() - start


def run_scalesim(topology: Path, config: Path, dataflow: str | None, mode: str | None, gemm: bool,
                 python: str | None) -> dict[str, Any]:
    """SCALE-Sim's per-layer report and wall time (in this process or in ``python``)."""
    if python is None:
        sys.path.insert(0, str(FIXTURES_SCRIPT.parent))
        from scalesim_fixtures import run_scalesim as run  # type: ignore[import-not-found]

        return run(config, topology, dataflow=dataflow, bandwidth_mode=mode, gemm=gemm)
    cmd = [python, str(FIXTURES_SCRIPT), "run", "--config", str(config), "--topology", str(topology)]
    cmd += ["--dataflow", dataflow] if dataflow else []
    cmd += ["--bandwidth-mode", mode] if mode else []
    cmd += ["--gemm"] if gemm else []
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topology", type=Path, help="SCALE-Sim topology .csv (convolution or M,N,K form)")
    parser.add_argument("--config", type=Path, required=True, help="SCALE-Sim .cfg")
    parser.add_argument("--dataflow", choices=("ws", "os", "is"), help="override the config's Dataflow")
    parser.add_argument("--bandwidth-mode", choices=("USER", "CALC"), help="override InterfaceBandwidth")
    parser.add_argument("--scalesim-python", help="a Python that can import scalesim (e.g. /tmp/scalesim-venv/bin/python)")
    parser.add_argument("--scalesim-json", type=Path, help="reuse a saved SCALE-Sim run instead of running it")
    parser.add_argument("--save-scalesim", type=Path, help="save SCALE-Sim's run as JSON for --scalesim-json")
    args = parser.parse_args(argv)

    gemm = scalesim.topology_form(args.topology) == "gemm"
    ours, our_wall = run_hwsim(args.topology, args.config, args.dataflow, args.bandwidth_mode)
    if args.scalesim_json:
        theirs = json.loads(args.scalesim_json.read_text(encoding="utf-8"))
    else:
        theirs = run_scalesim(args.topology, args.config, args.dataflow, args.bandwidth_mode, gemm,
                              args.scalesim_python)
        if args.save_scalesim:
            args.save_scalesim.write_text(json.dumps(theirs) + "\n", encoding="utf-8")
    layers = theirs["layers"]
    if [r["name"] for r in layers] != [r["name"] for r in ours]:
        raise SystemExit("error: SCALE-Sim and hwsim disagree on the layers of the topology")

    print(f"{'layer':<22} {'compute SCALE-Sim':>17} {'hwsim':>10} {'total SCALE-Sim':>15} {'hwsim':>11} {'diff %':>8}")
    diffs, equal = [], 0
    for s, h in zip(layers, ours):
        diff = 100.0 * (h["total_cycles"] - s["total_cycles"]) / s["total_cycles"]
        diffs.append(diff)
        equal += s["compute_cycles"] == h["compute_cycles"]
        mark = "" if s["compute_cycles"] == h["compute_cycles"] else "  compute differs"
        print(f"{s['name']:<22} {s['compute_cycles']:>17} {h['compute_cycles']:>10} "
              f"{s['total_cycles']:>15} {h['total_cycles']:>11} {diff:>+8.2f}{mark}")
    sum_s = sum(r["total_cycles"] for r in layers)
    sum_h = sum(r["total_cycles"] for r in ours)
    within = sum(abs(d) <= 10.0 for d in diffs)
    print()
    print(f"compute cycles equal: {equal}/{len(layers)} layers")
    print(f"total cycles within 10%: {within}/{len(layers)} layers; max |diff| {max(abs(d) for d in diffs):.2f}%, "
          f"mean |diff| {sum(abs(d) for d in diffs) / len(diffs):.2f}%; "
          f"network total {sum_s} vs {sum_h} ({100.0 * (sum_h - sum_s) / sum_s:+.2f}%)")
    print(f"wall time: SCALE-Sim {theirs['wall_s']:.1f} s, hwsim {our_wall:.3f} s, "
          f"ratio {theirs['wall_s'] / our_wall:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

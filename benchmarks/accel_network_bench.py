"""Whole networks on the accelerator's RTL: the analytic estimate, the replay model and the RTL's
cycles side by side (the tables of docs/accelerator.md#analytic-estimate-vs-replay-vs-rtl), and what
a run costs: simulated cycles per second, and how the run's time splits between Icarus and the
Python bench (cocotb + TimedAxiRam).

    .venv/bin/python benchmarks/accel_network_bench.py [--rows 8] [--memory preset|dram-bound]

The networks are the accelerator tests' (tests/rtl/test_network.py); the config is
docs/examples/accel.toml at ``--rows``, and ``dram-bound`` sets 0.2 GB/s and 200 ns.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwsim import api  # noqa: E402
from tests.compiler.test_codegen import tiny_net  # noqa: E402
from tests.execute.models import small_cnn, small_mlp  # noqa: E402
from tests.rtl.test_network import resnet_like  # noqa: E402

NETWORKS = {"tiny": tiny_net, "mlp": small_mlp, "cnn": small_cnn, "resnet": resnet_like}
MEMORIES = {"preset": {}, "dram-bound": {"dram_gbps": 0.2, "dram_latency_ns": 200.0}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--memory", choices=list(MEMORIES), default="preset")
    args = parser.parse_args()
    cfg, _ = api.resolve_config(ROOT / "docs" / "examples" / "accel.toml", rows=args.rows, cols=args.rows)
    cfg = cfg.replace(**MEMORIES[args.memory])
    print(f"{cfg.name} {cfg.rows}x{cfg.cols}, {args.memory} memory")
    print("| network | analytic | replay | RTL | replay / analytic | compute | cmd | wait load | rest "
          "| analytic DRAM read B | RTL DMA read B | passed | sim cycles/s | Icarus s | bench s |")
    for name, build in NETWORKS.items():
        model = build()
        analytic = api.estimate(model, cfg)
        replayed = api.estimate(model, cfg, timing="replay")
        with tempfile.TemporaryDirectory():
            t = time.perf_counter()
            v = api.verify(cfg, model=model)
            wall = time.perf_counter() - t
        compute = sum(layer.compute_cycles for layer in analytic.layers)
        rtl = v.rtl_counters["LAST_LAYER_CYCLE"]
        busy, wait = v.rtl_counters["EXEC_BUSY"], v.rtl_counters["EXEC_WAIT_LOAD"]
        # The bench's own CPU time is the Python side; the rest of the simulation process is Icarus.
        bench = v.bench_cpu_seconds
        print(f"| {name} | {analytic.totals.cycles:,} | {replayed.totals.cycles:,} | {rtl:,} | "
              f"{replayed.totals.cycles / analytic.totals.cycles:.2f} | {compute:,} | {busy - compute:,} | {wait:,} | "
              f"{rtl - busy - wait:,} | {analytic.totals.dram_read_bytes:,} | {v.rtl_counters['DMA_READ_BYTES']:,} | "
              f"{v.passed} | {v.sim_cycles / v.sim_seconds:,.0f} | {v.sim_seconds - bench:.1f} | {bench:.1f} |"
              f"  (whole verify {wall:.0f} s)")


if __name__ == "__main__":
    main()

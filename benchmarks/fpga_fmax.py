"""Fmax, utilization and place-and-route time of the generated arrays on ECP5 and iCE40 (YoWASP
Yosys + nextpnr, the flow of ``hwsim rtl --fpga DEVICE --pnr``), pipelined or single-cycle.

Each design is the ``fpga-edge`` preset resized (its 16 KiB output buffer sets the accumulator
depth), placed and routed at the preset's clock (180 MHz) as the target with seed 1. ``--single-cycle`` builds the
datapath without pipeline registers (``[fpga] mult_stages = 0, adder_segments = 1,
acc_stages = 1``) for comparison; ``--before COMMIT`` places and routes the RTL of an earlier commit
(docs/fpga.md's "before" is 274a9a1, the single-cycle datapath and the original controller) in
today's harness and flow: its tree is taken with ``git archive`` and its generator run in a
subprocess. docs/fpga.md has the figures this printed.

    .venv/bin/python benchmarks/fpga_fmax.py                       # 2x4 UP5K, 4x4 25F, 8x8 45F (~10 min)
    .venv/bin/python benchmarks/fpga_fmax.py --single-cycle
    .venv/bin/python benchmarks/fpga_fmax.py --design 2x2:ice40-up5k --design 16x16:ecp5-85f
    .venv/bin/python benchmarks/fpga_fmax.py --before 274a9a1 --design 2x2:ecp5-25f
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rtl._pnr as pnr  # noqa: E402
from hwsim.core.config import preset  # noqa: E402
from rtl import place_and_route  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# The earlier generator, run from its own tree: the preset resized, its Verilog on stdout.
_GENERATE = """
import sys
sys.path.insert(0, sys.argv[1])
from hwsim.core.config import preset
from rtl._emit import generate_verilog
sys.stdout.write(generate_verilog(preset("fpga-edge").replace(rows=int(sys.argv[2]), cols=int(sys.argv[3]))))
"""


def _old_verilog(commit: str, rows: int, cols: int) -> str:
    """The Verilog that ``commit``'s generator writes for fpga-edge resized to rows x cols."""
    tree = subprocess.run(["git", "archive", commit, "rtl", "hwsim", "compiler"], cwd=ROOT, capture_output=True,
                          check=True).stdout
    with tempfile.TemporaryDirectory(prefix="hwsim-before-") as tmp:
        tarfile.open(fileobj=io.BytesIO(tree)).extractall(tmp)
        return subprocess.run([sys.executable, "-c", _GENERATE, tmp, str(rows), str(cols)], capture_output=True,
                              text=True, check=True).stdout


def _use_core(verilog: str) -> None:
    """Place and route ``verilog`` as the core (same module name and ports) instead of today's RTL.
    Its multipliers are ``*``: on iCE40, synth_ice40 -dsp maps them to SB_MAC16 (ECP5's flow maps
    them to MULT18X18D anyway)."""
    script = pnr.yosys_script
    pnr.generate_verilog = lambda cfg, target="generic": verilog
    pnr.yosys_script = lambda cfg, dev, **kw: script(cfg, dev, **kw).replace("synth_ice40 -top", "synth_ice40 -dsp -top")

DESIGNS = ["2x4:ice40-up5k", "4x4:ecp5-25f", "8x8:ecp5-45f"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--design", action="append", metavar="RxC:DEVICE", help=f"repeatable; default {' '.join(DESIGNS)}")
    ap.add_argument("--single-cycle", action="store_true", help="no pipeline registers (the datapath before issue 13)")
    ap.add_argument("--before", metavar="COMMIT", help="the RTL of this commit (e.g. 274a9a1) in today's flow")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print("| array | device | pipeline (mult/adder/acc) | Fmax MHz | LUT | FF | DSP | BRAM | critical path | levels | "
          "synth s | P&R s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for spec in args.design or DESIGNS:
        shape, device = spec.split(":")
        rows, cols = (int(x) for x in shape.split("x"))
        cfg = preset("fpga-edge").replace(rows=rows, cols=cols, fpga=device)
        if args.single_cycle or args.before:
            cfg = cfg.replace(mult_stages=0, adder_segments=1, acc_stages=1)
        if args.before:
            _use_core(_old_verilog(args.before, rows, cols))
        timing, _, seconds = place_and_route(cfg, device, seed=args.seed)
        p = cfg.pipeline
        depth = f"{args.before} (before)" if args.before else f"{p.mult_stages}/{p.adder_segments}/{p.acc_stages}"
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

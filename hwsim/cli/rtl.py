"""``hwsim rtl``: write the Verilog of the configured array, its manifest and file list; optionally
synthesize it with Yosys for generic and FPGA resource figures. ``hwsim rtl MODEL.onnx``: the whole
accelerator's Verilog with the network's program and DRAM image (docs/accelerator.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import compiler
import rtl
from hwsim import api, execute
from hwsim.core.errors import UserError, shown
from hwsim.core.fpga import DEVICES, FAMILIES

from ._options import accelerator_config, add_config_options, add_model_options, add_quiet, config_from_args
from ._progress import activity


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "rtl",
        help="generate the weight-stationary array as Verilog (and synthesize it)",
        description="Write DIR/<module>.v (the configured weight-stationary array and its tile controller), "
        "DIR/files.f and DIR/manifest.json (config, ports, protocol, file hashes). See docs/rtl.md. With "
        "MODEL.onnx: DIR/<module>_accel.v (the whole accelerator: DMA over AXI4, scratchpads, epilogue, command "
        "engines, AXI4-Lite registers), DIR/program.bin, DIR/dram.bin, DIR/memory.json, DIR/files.f and "
        "DIR/manifest.json. See docs/accelerator.md.",
    )
    add_model_options(p, "also compile this network for the whole accelerator (default config edge-accel)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="MODEL: seed of the default inputs (default 0)")
    add_config_options(p, dataflow=False)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--synth", action="store_true",
                   help="also run Yosys: generic cells, flip-flops, multipliers, and FPGA estimates (DIR/synth.json)")
    p.add_argument("--family", action="append", choices=FAMILIES, metavar="|".join(FAMILIES),
                   help="FPGA family for --synth (repeatable; default xilinx); implies --synth")
    p.add_argument("--fpga", choices=list(DEVICES), metavar="|".join(DEVICES),
                   help="build for this FPGA (default: the config's [fpga] device): its family's pipeline depths (docs/rtl.md#pipeline), the Verilog with "
                   "its DSP/BRAM primitives, a 4-pin place-and-route harness and its .lpf/.pcf and .xdc constraints")
    p.add_argument("--pnr", action="store_true",
                   help="with --fpga: synthesize, place and route (YoWASP Yosys + nextpnr) at the config's clock "
                   "and write DIR/timing.json (Fmax, utilization, critical path); docs/fpga.md")
    p.add_argument("--pnr-seed", type=int, default=1, metavar="N", help="nextpnr's placement seed for --pnr (default 1)")
    p.add_argument("--allow-large", action="store_true",
                   help=f"go ahead with an array estimated to take over {rtl.CONFIRM_SECONDS / 60:.0f} minutes "
                   "(the refusal says how long and how much memory)")
    add_quiet(p)
    return p


def _timing_lines(t) -> str:
    if not t["fits"]:
        return f"place and route ({t['part']}): does not fit: {t['reason']}\n"
    fmax = ", ".join(f"{clock} {mhz:.1f} MHz" for clock, mhz in t["fmax_mhz"].items())
    verdict = "meets" if t["passed"] else "misses"
    util = "  ".join(f"{k} {v['used']}/{v['available']}" for k, v in t["utilization"].items()
                     if k in ("LUT", "FF", "DSP", "BRAM"))
    cp = t["critical_path"]
    lines = [f"place and route ({t['part']}): Fmax {fmax} ({verdict} the {t['target_mhz']:g} MHz target)",
             f"  {util}"]
    if cp:
        lines.append(f"  critical path {cp['from']} -> {cp['to']}: {cp['logic_levels']} logic levels, "
                     f"{cp['delay_ns']} ns ({cp['routing_ns']} ns routing)")
    return "\n".join(lines) + "\n"


def _synth_table(result) -> str:
    g = result.generic
    lines = [f"synthesis ({result.yosys}):",
             f"  generic  cells {g.cells}  flip-flops {g.flip_flops}  multipliers {g.multipliers}  "
             f"memories {g.memories} ({g.memory_bits} bits)  latches {g.latches}"]
    for f in result.fpga:
        lutram = f"  LUTRAM {f.lutram}" if f.family == "xilinx" else ""
        lines.append(f"  {f.family:<7}  LUT {f.luts}{lutram}  FF {f.flip_flops}  DSP {f.dsps}  "
                     f"BRAM {f.brams} ({f.bram_kbits} Kibit)  carry {f.carries}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    if args.model is not None:
        return _accelerator(args)
    cfg = config_from_args(args)
    synth = bool(args.synth or args.family)
    device = args.fpga or cfg.fpga
    if args.pnr and device is None:
        raise UserError(f"--pnr: needs --fpga DEVICE to place and route for (one of {', '.join(DEVICES)}), "
                        "or a config with [fpga] device")
    what = (f"generating and synthesizing {cfg.module_name} with Yosys ({', '.join(args.family or ['xilinx'])})"
            if synth else f"generating {cfg.module_name}")
    if args.pnr:
        what += f", placing and routing it on the {DEVICES[device].part} (nextpnr)"
    # Everything is computed before the folder is touched, and written all or none.
    with activity(what, quiet=args.quiet):
        design = api.rtl(cfg, synth=synth, families=args.family, fpga=args.fpga, pnr=args.pnr, pnr_seed=args.pnr_seed,
                         out=args.out, allow_large=args.allow_large)
    cfg = design.config
    out = Path(args.out)
    verilog = f"{cfg.module_name}.v"
    print(f"wrote {shown(out / verilog)} ({len(design.files[verilog])} bytes), "
          f"{', '.join(shown(out / n) for n in design.files if not n.endswith('.v') and n != 'manifest.json')}, "
          f"{shown(out / 'manifest.json')}")
    print(f"top module {cfg.module_name}: {cfg.rows}x{cfg.cols} PEs, int{cfg.input_bits} x int{cfg.weight_bits} -> "
          f"int{cfg.acc_bits}, accumulator {cfg.acc_depth} rows, tiles up to m={cfg.acc_depth} k={cfg.k_max} n={cfg.cols}")
    if design.timing is not None:
        print(_timing_lines(design.timing), end="")
    result = design.synthesis
    if result is not None:
        print(_synth_table(result), end="")
        if result.generic.latches:
            print(f"error: synthesis found {result.generic.latches} latches", file=sys.stderr)
            return 1
    return 0


def _accelerator(args: argparse.Namespace) -> int:
    cfg = accelerator_config(args)
    given = execute.parse_input_args(args.input)
    with activity(f"compiling {shown(args.model, 80)} for the {cfg.rows}x{cfg.cols} accelerator", quiet=args.quiet):
        design = api.rtl(cfg, model=args.model, inputs=given, seed=args.seed, out=args.out,
                         synth=args.synth, families=args.family,
                         input_shapes=compiler.parse_input_shapes(args.input_shape))
    out = Path(args.out)
    print(f"wrote {shown(out / (design.module + '.v'))} ({len(design.files[design.module + '.v'])} bytes), "
          + ", ".join(f"{shown(out / n)} ({len(design.files[n])} bytes)" for n in design.files
                      if n in ("program.bin", "dram.bin", "memory.json")) + f", {shown(out / 'manifest.json')}")
    boot = json.loads(design.files["manifest.json"])["boot"]
    print(f"top module {design.module}: load dram.bin at address 0, write BOOT_ADDR = {boot['BOOT_ADDR']:#x}, "
          f"BOOT_COUNT = {boot['BOOT_COUNT']}, then CTRL = 1 (docs/accelerator.md#driving-it-from-a-host)")
    return 0

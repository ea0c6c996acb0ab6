"""``hwsim rtl``: write the Verilog of the configured array, its manifest and file list; optionally
synthesize it with Yosys for generic and FPGA resource figures."""

from __future__ import annotations

import argparse
import sys

import rtl
from hwsim.core.errors import UserError, shown
from hwsim.core.files import OutputSet, json_text
from hwsim.core.fpga import FAMILIES

from ._options import add_config_options, config_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "rtl",
        help="generate the weight-stationary array as Verilog (and synthesize it)",
        description="Write DIR/<module>.v (the configured weight-stationary array and its tile controller), "
        "DIR/files.f and DIR/manifest.json (config, ports, protocol, file hashes). See docs/rtl.md.",
    )
    add_config_options(p, dataflow=False)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--synth", action="store_true",
                   help="also run Yosys: generic cells, flip-flops, multipliers, and FPGA estimates (DIR/synth.json)")
    p.add_argument("--family", action="append", choices=FAMILIES, metavar="|".join(FAMILIES),
                   help="FPGA family for --synth (repeatable; default xilinx); implies --synth")
    p.add_argument("--allow-large", action="store_true",
                   help=f"go ahead with an array estimated to take over {rtl.CONFIRM_SECONDS / 60:.0f} minutes "
                   "(the refusal says how long and how much memory)")
    return p


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
    with OutputSet() as outputs:
        outputs.check_dir(args.out)
        cfg = config_from_args(args)
        if cfg.dataflow != "ws":
            raise UserError(f"hwsim rtl generates weight-stationary arrays only; the config has dataflow "
                            f"{cfg.dataflow!r} (use a ws preset or dataflow = \"ws\")")
        synth = bool(args.synth or args.family)
        families = args.family or ["xilinx"]
        # The work is bounded before it starts: a very large array is refused or confirmed.
        rtl.check_rtl_cost(cfg, synth=synth, families=len(set(families)), confirmed=args.allow_large)
        p = rtl.params(cfg)
        # Everything is computed before the folder is touched, so a failure leaves it as it was.
        files: dict[str, bytes] = {f"{p.cfg.module_name}.v": rtl.generate_verilog(cfg).encode()}
        files["files.f"] = f"{p.cfg.module_name}.v\n".encode()
        result = None
        if synth:
            result = rtl.synthesize(cfg, families)
            files["synth.json"] = json_text(result.to_dict(), what="the synthesis figures").encode()
        manifest = json_text(rtl.manifest(cfg, files), what="the manifest")
        out = outputs.make_dir(args.out)
        # The manifest goes last and names every file with its hash: a folder whose manifest does not
        # match its files is incomplete.
        for name, blob in files.items():
            outputs.stage(out / name, blob, "--out")
        outputs.stage(out / "manifest.json", manifest, "--out")
        outputs.commit()

    print(f"wrote {shown(out / (p.cfg.module_name + '.v'))} ({len(files[p.cfg.module_name + '.v'])} bytes), "
          f"{', '.join(shown(out / n) for n in files if not n.endswith('.v'))}, {shown(out / 'manifest.json')}")
    print(f"top module {p.cfg.module_name}: {p.cfg.rows}x{p.cfg.cols} PEs, int{p.cfg.input_bits} x int{p.cfg.weight_bits} -> "
          f"int{p.cfg.acc_bits}, accumulator {p.cfg.acc_depth} rows, tiles up to m={p.cfg.acc_depth} k={p.cfg.k_max} n={p.cfg.cols}")
    if result is not None:
        print(_synth_table(result), end="")
        if result.generic.latches:
            print(f"error: synthesis found {result.generic.latches} latches", file=sys.stderr)
            return 1
    return 0

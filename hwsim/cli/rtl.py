"""``hwsim rtl``: write the Verilog of the configured array, its manifest and file list; optionally
synthesize it with Yosys for generic and FPGA resource figures."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import rtl
from hwsim.core.errors import UserError
from hwsim.core.files import write_output
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
    cfg = config_from_args(args)
    if cfg.dataflow != "ws":
        raise UserError(f"hwsim rtl generates weight-stationary arrays only; the config has dataflow "
                        f"{cfg.dataflow!r} (use a ws preset or dataflow = \"ws\")")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    p = rtl.params(cfg)
    # Everything is computed before the folder is touched, so a failure leaves it as it was.
    files: dict[str, bytes] = {f"{p.cfg.module_name}.v": rtl.generate_verilog(cfg).encode()}
    files["files.f"] = f"{p.cfg.module_name}.v\n".encode()
    result = None
    if args.synth or args.family:
        result = rtl.synthesize(cfg, args.family or ["xilinx"])
        files["synth.json"] = (json.dumps(result.to_dict(), indent=2) + "\n").encode()
    manifest = json.dumps(rtl.manifest(cfg, files), indent=2) + "\n"

    out.mkdir(parents=True, exist_ok=True)
    # The manifest goes last and names every file with its hash: a folder without one (or with
    # one that does not match) is incomplete.
    (out / "manifest.json").unlink(missing_ok=True)
    for name, blob in files.items():
        write_output(out / name, blob)
    write_output(out / "manifest.json", manifest)

    print(f"wrote {out / (p.cfg.module_name + '.v')} ({len(files[p.cfg.module_name + '.v'])} bytes), "
          f"{', '.join(str(out / n) for n in files if not n.endswith('.v'))}, {out / 'manifest.json'}")
    print(f"top module {p.cfg.module_name}: {p.cfg.rows}x{p.cfg.cols} PEs, int{p.cfg.input_bits} x int{p.cfg.weight_bits} -> "
          f"int{p.cfg.acc_bits}, accumulator {p.cfg.acc_depth} rows, tiles up to m={p.cfg.acc_depth} k={p.cfg.k_max} n={p.cfg.cols}")
    if result is not None:
        print(_synth_table(result), end="")
        if result.generic.latches:
            print(f"error: synthesis found {result.generic.latches} latches", file=sys.stderr)
            return 1
    return 0

"""``hwsim verify``: co-simulate the generated Verilog (cocotb + Icarus) on a random int8 GEMM cut
into the compiler's tiles; compare every output with the golden model and every tile's cycles with
the timing model."""

from __future__ import annotations

import argparse
import sys

import rtl
from hwsim import api
from hwsim.core.files import OutputSet, json_text

from ._options import add_config_options, add_quiet, config_from_args, positive_int
from ._progress import activity


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "verify",
        help="co-simulate the generated RTL against hwsim: bit-exact outputs, exact cycles",
        description="Run a random GEMM (M x K @ K x N, operands over the full signed range) through the "
        "compiler's tile program on the generated Verilog under Icarus, and compare every output with "
        "hwsim.core.golden.int_gemm and each tile's cycles with hwsim.core.timing. Exit 0 if all match, 1 if not.",
    )
    add_config_options(p, dataflow=False)
    p.add_argument("--m", type=positive_int, metavar="M", help="rows of A (default 2*rows + 3)")
    p.add_argument("--k", type=positive_int, metavar="K", help="reduction length (default 2*rows + 5: partial folds)")
    p.add_argument("--n", type=positive_int, metavar="N", help="columns of B (default cols + 3: two column tiles)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed for the operands (default 0)")
    p.add_argument("--json", metavar="PATH|-", help="write {passed, mismatches, rtl_cycles, model_cycles, config}")
    p.add_argument("--allow-large", action="store_true",
                   help=f"go ahead with a GEMM estimated to take over {rtl.CONFIRM_SECONDS / 60:.0f} minutes")
    add_quiet(p)
    return p


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 1 << 64:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 2**64 - 1, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    m, k, n = api.verify_shape(cfg, args.m, args.k, args.n)
    outputs = OutputSet()
    # Fail on a bad output path, or a GEMM too large to simulate, before the simulation, not after it.
    outputs.check(args.json, "--json")
    with activity(f"co-simulating a {m}x{k}x{n} GEMM on {cfg.module_name} in Icarus", quiet=args.quiet):
        result = api.verify(cfg, m=m, k=k, n=n, seed=args.seed, allow_large=args.allow_large)

    text = sys.stderr if args.json == "-" else sys.stdout
    print(f"verify {cfg.module_name}: GEMM {m}x{k}x{n} (seed {args.seed}), {len(result.tiles)} tiles", file=text)
    print(f"rtl_cycles    {result.rtl_cycles}", file=text)
    print(f"model_cycles  {result.model_cycles}", file=text)
    print(f"mismatches    {result.mismatches}", file=text)
    for t in result.tiles:
        if t.rtl_cycles != t.model_cycles or t.mismatches:
            pl = t.placement
            print(f"  tile m0={pl.m0} k0={pl.k0} n0={pl.n0} {pl.tile}: rtl {t.rtl_cycles} cycles, "
                  f"model {t.model_cycles}, {t.mismatches} mismatches", file=text)
    if result.words_left:
        print(f"  {result.words_left} stream words were never consumed", file=text)
    if result.timed_out:
        print("  the simulation stopped before every tile finished", file=text)
    print("passed" if result.passed else "FAILED", file=text)
    with outputs:
        if args.json is not None:
            outputs.stage(args.json, json_text(result.to_dict(), what="the verification result"), "--json")
        outputs.commit()
    return 0 if result.passed else 1

"""``hwsim verify``: co-simulate the generated Verilog (cocotb + Icarus) on a random int8 GEMM cut
into the compiler's tiles; compare every output with the golden model and every tile's cycles with
the timing model. ``hwsim verify MODEL.onnx``: run the whole network on the accelerator's RTL and
compare every layer's int8 outputs with ``hwsim run --precision int8`` and its cycles (and every
performance counter) with the replay model."""

from __future__ import annotations

import argparse
import sys

import compiler
import rtl
from hwsim import api, execute
from hwsim.core.errors import UserError, shown
from hwsim.core.files import OutputSet, json_text

from ._options import (accelerator_config, add_config_options, add_model_options, add_quiet, config_from_args,
                       positive_int)
from ._progress import activity


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "verify",
        help="co-simulate the generated RTL against hwsim: bit-exact outputs, exact cycles",
        description="Run a random GEMM (M x K @ K x N, operands over the full signed range) through the "
        "compiler's tile program on the generated Verilog under Icarus, and compare every output with "
        "hwsim.core.golden.int_gemm and each tile's cycles with hwsim.core.timing. With MODEL.onnx: run the "
        "whole int8 network on the accelerator's RTL (DMA over AXI4 to a timed AXI RAM) and compare every "
        "layer's output bytes with 'hwsim run --precision int8' and its cycles with the replay model "
        "(docs/accelerator.md). Exit 0 if all match, 1 if not.",
    )
    add_model_options(p, "verify this network on the whole accelerator (default config edge-accel) instead of a GEMM")
    add_config_options(p, dataflow=False)
    p.add_argument("--m", type=positive_int, metavar="M", help="rows of A (default 2*rows + 3)")
    p.add_argument("--k", type=positive_int, metavar="K", help="reduction length (default 2*rows + 5: partial folds)")
    p.add_argument("--n", type=positive_int, metavar="N", help="columns of B (default cols + 3: two column tiles)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed for the operands (default 0)")
    p.add_argument("--json", metavar="PATH|-", help="write {passed, mismatches, rtl_cycles, model_cycles, config} "
                   "(MODEL: {passed, rtl_cycles, model_cycles, layers: [{name, rtl_cycles, model_cycles, mismatches}], "
                   "counters, config})")
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
    if args.model is not None:
        return _network(args)
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
    return _finish(args, outputs, result, text)


def _network(args: argparse.Namespace) -> int:
    if (args.m, args.k, args.n) != (None, None, None):
        raise UserError("--m, --k and --n size the GEMM form of verify; a model's layers have their own shapes")
    outputs = OutputSet()
    outputs.check(args.json, "--json")
    cfg = accelerator_config(args)
    given = execute.parse_input_args(args.input)
    model = shown(args.model, 80)
    with activity(f"running {model} on the {cfg.rows}x{cfg.cols} accelerator in Icarus", quiet=args.quiet):
        result = api.verify(cfg, model=args.model, inputs=given, seed=args.seed, allow_large=args.allow_large,
                            input_shapes=compiler.parse_input_shapes(args.input_shape))
    text = sys.stderr if args.json == "-" else sys.stdout
    print(f"verify {model} on {cfg.name} ({cfg.rows}x{cfg.cols} accelerator): {len(result.layers)} layers", file=text)
    width = max([len("layer")] + [len(layer.name) for layer in result.layers])
    print(f"{'layer':<{width}}  {'rtl_cycles':>10}  {'model_cycles':>12}  {'mismatches':>10}", file=text)
    for layer in result.layers:
        flag = "" if layer.rtl_cycles == layer.model_cycles and not layer.mismatches else "  <-"
        print(f"{layer.name:<{width}}  {layer.rtl_cycles:>10}  {layer.model_cycles:>12}  {layer.mismatches:>10}{flag}",
              file=text)
    print(f"{'total':<{width}}  {result.rtl_cycles:>10}  {result.model_cycles:>12}  {result.mismatches:>10}", file=text)
    for key, want in result.model_counters.items():
        got = result.rtl_counters.get(key)
        if got != want:
            print(f"  counter {key}: rtl {got}, model {want}", file=text)
    if result.error:
        print("  the accelerator stopped with an error (STATUS.ERROR)", file=text)
    if result.timed_out:
        print("  the simulation stopped before the accelerator was done", file=text)
    return _finish(args, outputs, result, text)


def _finish(args: argparse.Namespace, outputs: OutputSet, result, text) -> int:
    """The verdict line, the --json file, and the exit status (0 all exact, 1 not)."""
    print("passed" if result.passed else "FAILED", file=text)
    with outputs:
        if args.json is not None:
            outputs.stage(args.json, json_text(result.to_dict(), what="the verification result"), "--json")
        outputs.commit()
    return 0 if result.passed else 1

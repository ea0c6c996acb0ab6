"""``hwsim llm``: serving a language model: prefill, decode with a KV cache, time per token, memory."""

from __future__ import annotations

import argparse

from compiler.llm.spec import NAMED
from hwsim import api, plots
from hwsim.core.errors import UserError
from hwsim.core.files import OutputSet

from ._options import add_config_options, config_source, count, positive_int


def _gib(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of GiB, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of GiB, got {text!r}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "llm", help="serve a language model: time to first token, time per token, tokens/s, memory",
        description="Simulate serving a language model on the accelerator: the prefill of the prompt, then one "
        "decode step per generated token with the KV cache growing, each step's GEMMs through the same tiler and "
        "RTL-proven tile timing as 'hwsim estimate'. MODEL is a Hugging Face config.json (or its folder), an ONNX "
        f"decoder export (with or without past_key_values), or one of: {', '.join(NAMED)}. docs/llm.md.")
    p.add_argument("model", metavar="MODEL", help="config.json, a folder holding one, an .onnx export, or a name")
    run = p.add_argument_group("serving")
    run.add_argument("--prompt", type=positive_int, default=128, metavar="P", help="prompt tokens (default 128)")
    run.add_argument("--generate", type=count, default=128, metavar="G",
                     help="tokens generated per sequence, one decode step each (default 128; 0: prefill only)")
    run.add_argument("--batch", type=positive_int, default=1, metavar="B", help="sequences served together (default 1)")
    run.add_argument("--kv-bits", type=int, choices=api.KV_BITS, default=16, help="bits per KV-cache element (default 16)")
    run.add_argument("--weight-bits", type=positive_int, metavar="BITS",
                     help="override the config's weight_bits (the weights' width in memory and in the array)")
    run.add_argument("--dram-gib", type=_gib, metavar="GIB",
                     help="override the DRAM capacity that weights and KV cache must fit (the config's dram_gib)")
    add_config_options(p)
    p.add_argument("--json", metavar="PATH|-", help="write the report as JSON ('-' for standard output)")
    p.add_argument("--plot", metavar="PATH.png",
                   help="write time per token against the position and the decode phases (.png, .svg or .pdf)")
    return p


def run(args: argparse.Namespace) -> int:
    if args.plot == "-":
        raise UserError("--plot -: give the image a file name (standard output takes only --json -)")
    fmt = plots.image_format(args.plot) if args.plot is not None else None
    with OutputSet() as outputs:
        # Every output path is checked before the work, and nothing is written unless all can be.
        for flag in ("json", "plot"):
            outputs.check(getattr(args, flag), f"--{flag}")
        report = api.serve_llm(args.model, config_source(args), prompt=args.prompt, generate=args.generate,
                               batch=args.batch, kv_bits=args.kv_bits, rows=args.rows, cols=args.cols,
                               dataflow=args.dataflow, weight_bits=args.weight_bits, dram_gib=args.dram_gib)
        if args.json is not None:
            outputs.stage(args.json, report.to_json(), "--json")
        if args.plot is not None:
            outputs.stage(args.plot, report.plot(fmt=fmt), "--plot")
        if args.json != "-":
            outputs.stage("-", report.to_table())
        outputs.commit()
    return 0

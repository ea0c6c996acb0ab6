"""``hwsim sweep``: estimate every design of a space on one or more models; rank, mark the Pareto set, plot.

See docs/sweep.md. Writes DIR/results.csv, DIR/results.json, DIR/pareto.png and DIR/heatmap.png
(each atomically, from the records), keeping every finished estimate in DIR/records.jsonl so that
an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import compiler
from hwsim import scalesim, sweep
from hwsim.core.errors import shown
from hwsim.core.files import OutputSet
from hwsim.core.workload import LoweredModel
from hwsim.sweep import (
    EXECUTORS,
    OBJECTIVES,
    DesignSpace,
    ProgressBar,
    SweepJob,
    SweepModel,
    build_results,
    make_pool,
    parse_dataflows,
    parse_int_axis,
    run_sweep,
)
from hwsim.sweep.records import RECORDS_FILE, SweepLock

from . import _clock
from ._options import TIMINGS, add_quiet, config_from_args, positive_int

DEFAULT_MODEL = "resnet18"
OUTPUTS = ("results.csv", "results.json", "pareto.png", "heatmap.png")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sweep",
        help="design-space exploration: estimate many array designs, rank them, mark the Pareto set",
        description="Estimate every combination of array rows, columns, dataflow and buffer size on each model; "
        "write results (CSV, JSON), a Pareto plot and a heat map to --out DIR. Values are comma lists "
        "of integers and ranges: 16, 8-64/8 (start-stop/step) or 8:64:x2 (start:stop:xfactor). "
        "With no model, sweeps the bundled ResNet-18. Re-running the same command resumes.",
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="ONNX models (or SCALE-Sim topology .csv files)")
    space = p.add_argument_group("design space (an axis left out keeps the base config's value)")
    space.add_argument("--rows", metavar="LIST", help="PE rows, e.g. 8,16,32,64 or 8:64:x2")
    space.add_argument("--cols", metavar="LIST", help="PE columns, e.g. 8-64/8")
    space.add_argument("--dataflow", metavar="LIST", help="dataflows: ws,os,is or all")
    space.add_argument("--buffer-kib", metavar="LIST",
                       help="total on-chip SRAM per design in KiB, split between the ifmap, filter and ofmap "
                       "buffers in the base config's proportions, e.g. 64,256,1024")
    base = p.add_argument_group("base accelerator (everything the space does not sweep)")
    source = base.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME", help="a shipped preset (see 'hwsim presets'); default gemmini-like")
    source.add_argument("--config", metavar="FILE.toml", help="an accelerator config file (docs/config.md)")
    run = p.add_argument_group("running")
    run.add_argument("--out", required=True, metavar="DIR", help="output directory (created; a re-run resumes from it)")
    run.add_argument("--objective", choices=tuple(OBJECTIVES), default="edp",
                     help="what to rank designs by (default edp); the heat map shows it too")
    run.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                     help="worker processes (default 1: run in this process)")
    run.add_argument("--executor", choices=EXECUTORS, default="local",
                     help="local: processes on this machine; dask: a dask.distributed cluster")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="with --executor dask: the scheduler, e.g. tcp://10.0.0.5:8786 (default: a local "
                     "cluster of --jobs workers)")
    run.add_argument("--fresh", action="store_true", help="ignore and delete the records of earlier runs in DIR")
    model = p.add_argument_group("models")
    model.add_argument("--input-shape", action="append", default=[], metavar="NAME=1x3x224x224",
                       help="pin a model input's shape (repeatable; applies to every model)")
    model.add_argument("--allow-unsupported", action="store_true",
                       help="estimate the supported layers and skip unsupported ones instead of stopping")
    model.add_argument("--timing", choices=TIMINGS, default="hwsim", help="tile timing model (default hwsim)")
    add_quiet(p)
    return p


def _load_models(args: argparse.Namespace) -> tuple[SweepModel, ...]:
    """Import and lower each model once, named by its file stem (or the zoo name)."""
    shapes = compiler.parse_input_shapes(args.input_shape) or None
    if not args.models:
        lowered = compiler.lower_model(compiler.zoo.MODELS[DEFAULT_MODEL](weights=False), input_shapes=shapes,
                                       allow_unsupported=args.allow_unsupported)
        return (SweepModel.of(DEFAULT_MODEL, lowered),)
    models = []
    for text in args.models:
        path = Path(text)
        if path.suffix.lower() == ".csv":
            lowered = LoweredModel(path.stem, scalesim.load_topology(path))
        else:
            lowered = compiler.lower_model(path, input_shapes=shapes, allow_unsupported=args.allow_unsupported)
        models.append(SweepModel.of(path.stem, lowered))
    return tuple(models)


def _space(args: argparse.Namespace, job_base) -> DesignSpace:
    return DesignSpace.around(
        job_base,
        rows=parse_int_axis(args.rows, "--rows") if args.rows is not None else None,
        cols=parse_int_axis(args.cols, "--cols") if args.cols is not None else None,
        dataflows=parse_dataflows(args.dataflow) if args.dataflow is not None else None,
        buffer_kib=parse_int_axis(args.buffer_kib, "--buffer-kib") if args.buffer_kib is not None else None,
    )


def run(args: argparse.Namespace) -> int:
    with OutputSet() as outputs:
        outputs.check_dir(args.out)
        # Everything cheap is checked before the models are imported.
        base = config_from_args(argparse.Namespace(preset=args.preset, config=args.config, rows=None, cols=None,
                                                   dataflow=None))
        space = _space(args, base)
        objective = OBJECTIVES[args.objective]
        pool = make_pool(args.executor, args.jobs, args.scheduler)
        progress = ProgressBar(quiet=args.quiet)
        seen: list[int] = []  # [done, total] once the sweep has started

        def on_progress(done: int, total: int) -> None:
            seen[:] = [done, total]
            progress(done, total)

        try:
            # Held from before the models load until the outputs are written: a second sweep into the
            # folder is refused at once. A folder made here goes again if the sweep fails before a record.
            out = outputs.make_dir(args.out)
            with SweepLock(out) as lock:
                job = SweepJob(base=base, models=_load_models(args), timing=args.timing)
                outcome = run_sweep(space, job, out, pool=pool, fresh=args.fresh, on_progress=on_progress, lock=lock)
                progress.close()
                results = build_results(outcome, space, objective)
                # Render everything first so that a failure leaves no half-written set of outputs.
                payloads = [results.to_csv(), results.to_json(), sweep.pareto_png(results), sweep.heatmap_png(results)]
                for name, data in zip(OUTPUTS, payloads):
                    outputs.stage(out / name, data, "--out")
                if outcome.infeasible:
                    design, reason = outcome.infeasible[0]
                    n = len(outcome.infeasible)
                    print(f"hwsim: skipped {n} design{'s' if n > 1 else ''} that {'are' if n > 1 else 'is'} not a "
                          f"valid accelerator, e.g. {design.label}: {reason}", file=sys.stderr)
                # The whole command's wall time, model import, pool start-up and the pictures included.
                outputs.stage("-", results.to_text(elapsed=_clock.elapsed(), out=shown(out)))
                outputs.commit()
        except KeyboardInterrupt:
            progress.close()
            if not seen:
                raise
            print(f"error: interrupted after {seen[0]} of {seen[1]} designs; the finished ones are kept in "
                  f"{shown(Path(args.out) / RECORDS_FILE)}: run the same command again to resume", file=sys.stderr)
            return 130
        finally:
            progress.close()
            pool.close()
    if not args.models:  # said once it worked, so that an error stays the only line
        print(f"hwsim: no model given, swept the bundled {DEFAULT_MODEL} (batch 1, 3x224x224)", file=sys.stderr)
    return 0

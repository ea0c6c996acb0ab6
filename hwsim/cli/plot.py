"""``hwsim plot``: draw a ``--json`` report as PNGs (per-layer cycles, per-layer energy, roofline).

``hwsim plot report.json --out DIR`` writes ``cycles.png``, ``energy.png`` and ``roofline.png`` into
DIR (created if missing). ``hwsim estimate ... --plot out.png`` draws the same three panels into one
image through :func:`write_summary_plot`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hwsim import plots
from hwsim.core.errors import UserError, shown
from hwsim.core.files import TEXT_LIMIT, OutputSet, parse_json, read_text, write_output

from ._options import positive_int

__all__ = ["PLOT_FILES", "add_parser", "run", "read_report_file", "write_summary_plot"]

#: The files ``hwsim plot`` writes into ``--out``, in order.
PLOT_FILES = ("cycles.png", "energy.png", "roofline.png")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "plot",
        help="draw a --json report as PNGs: per-layer cycles, per-layer energy, roofline",
        description="Draw a report written by 'hwsim estimate --json' as three PNGs in DIR: "
        f"{', '.join(PLOT_FILES)}.",
    )
    p.add_argument("report", metavar="REPORT.json", help="a report from 'hwsim estimate --json' ('-' for standard input)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the PNGs (created if missing)")
    p.add_argument("--top", type=positive_int, default=plots.DEFAULT_TOP, metavar="N",
                   help=f"layers the bar charts name; the rest are summed as 'other' (default {plots.DEFAULT_TOP})")
    return p


def run(args: argparse.Namespace) -> int:
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UserError(f"--out {shown(args.out)}: is a file, not a folder; give a folder for the PNGs")
    with OutputSet() as outputs:
        outputs.check_dir(args.out)
        report = read_report_file(args.report)
        where = "standard input" if args.report == "-" else shown(args.report)
        # Render all three before creating or writing anything, so that a bad report leaves nothing behind.
        images = (plots.cycles_png(report, top=args.top, where=where),
                  plots.energy_png(report, top=args.top, where=where), plots.roofline_png(report, where=where))
        out = outputs.make_dir(args.out)
        for name, png in zip(PLOT_FILES, images):
            outputs.stage(out / name, png, "--out")
        outputs.commit()
    print(f"wrote {', '.join(shown(out / name) for name in PLOT_FILES)}", file=sys.stderr)
    return 0


def read_report_file(path: str) -> Any:
    """The parsed JSON of ``path`` (``-``: standard input), with a one-line UserError for every way it can fail."""
    if path == "-":
        try:
            text = sys.stdin.read(TEXT_LIMIT + 1)
        except UnicodeDecodeError:
            raise UserError("standard input: not UTF-8 text; give a report written by 'hwsim estimate --json'") from None
        if len(text) > TEXT_LIMIT:
            raise UserError(f"standard input: more than {TEXT_LIMIT} characters; give a report written by "
                            "'hwsim estimate --json'")
    else:
        text = read_text(path, "report file", missing_hint=f"write one with 'hwsim estimate MODEL --json {path}'")
    return parse_json(text, "standard input" if path == "-" else shown(path),
                      "give a report written by 'hwsim estimate --json'")


def write_summary_plot(report: Any, path: str | Path, *, where: str = "report") -> None:
    """Write one PNG with the cycles, energy and roofline panels of the ``--json`` dict ``report`` to ``path``.

    The image is rendered in memory and written atomically (``"-"``: standard output).
    """
    write_output(path, plots.summary_png(report, where=where), "--plot")

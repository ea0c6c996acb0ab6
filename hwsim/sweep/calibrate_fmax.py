"""Regenerate hwsim/data/fpga_fmax.json: place and route every calibrated array size with nextpnr.

    .venv/bin/python -m hwsim.sweep.calibrate_fmax [--jobs N] [--out PATH]     # about 11 minutes on 2 cores
    .venv/bin/python -m hwsim.sweep.calibrate_fmax --device ice40-up5k          # that device's points only

Each point of :data:`hwsim.sweep.fmax.POINTS` is the ``fpga-edge`` preset resized on that device,
placed and routed by the same function ``hwsim rtl --pnr`` uses (seed 1), so the table's Fmax for a
point is exactly what that command reports. ``--device`` re-measures that device's points only and
keeps the table's other rows as they are (after a change that touches one family's RTL). A module of its own (as :mod:`hwsim.sweep.calibrate` is
for the area table) so that ``python -m`` does not run a module the package has already imported.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from hwsim.core.config import preset
from hwsim.core.files import json_text, write_output

from .fmax import POINTS, TABLE

__all__ = ["measure", "main"]


def measure(point: tuple[str, int, int]) -> dict[str, Any]:
    """Place and route one point as the table records it."""
    import rtl  # the generator and the YoWASP tools: only when regenerating

    device, rows, cols = point
    cfg = preset("fpga-edge").replace(rows=rows, cols=cols, fpga=device)
    timing, _, _ = rtl.place_and_route(cfg, device, seed=1)
    p = cfg.pipeline
    row: dict[str, Any] = {"device": device, "rows": rows, "cols": cols,
                           "pipeline": [p.mult_stages, p.adder_segments, p.acc_stages], "fits": bool(timing["fits"])}
    if timing["fits"]:
        row["fmax_mhz"] = round(float(timing["fmax_mhz"]["clk"]), 1)
        row["lut_mapping"] = timing.get("lut_mapping")
    row["tools"] = timing.get("tools")
    return row


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hwsim.sweep.calibrate_fmax", description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(str(resources.files("hwsim").joinpath(*TABLE))))
    devices = sorted({d for d, _, _ in POINTS})
    ap.add_argument("--device", action="append", choices=devices, help="re-measure only this device's points "
                    "(repeatable); the other rows are kept from the table at --out")
    args = ap.parse_args(argv)
    points = [pt for pt in POINTS if args.device is None or pt[0] in args.device]
    kept: dict[tuple[str, int, int], dict[str, Any]] = {}
    if args.device:
        try:
            old = json.loads(args.out.read_text(encoding="utf-8"))["points"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"error: --device keeps the other rows of {args.out}, which cannot be read ({exc}); "
                  "regenerate the whole table without --device", file=sys.stderr)
            return 2
        kept = {(r["device"], r["rows"], r["cols"]): r for r in old}
    missing = [pt for pt in POINTS if pt not in points and pt not in kept]
    if missing:
        print(f"error: {args.out} has no row for {missing[0][0]} {missing[0][1]}x{missing[0][2]}; regenerate the "
              "whole table without --device", file=sys.stderr)
        return 2
    if args.jobs <= 1:
        fresh = {pt: measure(pt) for pt in points}
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            fresh = dict(zip(points, pool.map(measure, points)))
    rows = [fresh.get(pt) or kept[pt] for pt in POINTS]
    table = {"flow": "hwsim rtl --preset fpga-edge --rows R --cols C --fpga DEVICE --pnr (seed 1)", "points": rows}
    write_output(args.out, json_text(table, what="the Fmax table"), "--out")
    for r in rows:
        print(f"{r['device']:12} {r['rows']}x{r['cols']}: " + (f"{r['fmax_mhz']} MHz" if r["fits"] else "does not fit"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

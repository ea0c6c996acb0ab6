"""``hwsim presets``: list the shipped accelerator configs."""

from __future__ import annotations

import argparse

from hwsim.core.config import preset, preset_description, preset_names


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return subparsers.add_parser("presets", help="list the shipped accelerator presets",
                                 description="List the shipped accelerator presets.")


def run(args: argparse.Namespace) -> int:
    rows = [("name", "array", "dataflow", "clock", "ifmap/filter/ofmap KiB", "DRAM", "description")]
    for name in preset_names():
        c = preset(name)
        rows.append((name, f"{c.rows}x{c.cols}", c.dataflow, f"{c.clock_mhz:g} MHz",
                     f"{c.ifmap_kib:g}/{c.filter_kib:g}/{c.ofmap_kib:g}", f"{c.dram_gbps:g} GB/s",
                     preset_description(name)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1])
    return 0

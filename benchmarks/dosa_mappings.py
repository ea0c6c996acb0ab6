"""Extract DOSA's per-layer mappings into hwsim mapping files (benchmarks/silicon/dosa-<workload>-mapping.toml).

DOSA's Fig. 12 measurements (Hong et al., MICRO 2023) ran each layer with DOSA's own mapping:
ucb-bar/gemmini-rocc-tests @ 959b23f, ``gemmini-data-collection/artifact/both/<workload>.csv``, column
``mapping.mapping``, e.g. ``L3[WIO] Q7 S3 R3 K64 - L2[WI] N1 K16X - L1[O] S3 C32 ... - L0[W] ...``.
``gemmini-data-collection/layers/extract_data_csv.py`` (same commit) turns the levels below L3 into
one ``tiled_conv`` / ``tiled_matmul`` call's tile and the L3 (DRAM) words into the loop order
(``PERM_STR``: the words reversed, innermost first); ``gemmini.h``'s ``tiled_conv`` then makes one
``sp_tiled_conv`` per iteration of those loops. So the L3 level, outermost first as written, is
what an hwsim mapping file pins; the levels below are left to hwsim's search inside each call.

Each CSV row is one distinct layer, in the order of ``compiler.zoo.published.DOSA_LAYERS``; the
script checks every row's ``prob.*`` sizes against that table and writes one entry per layer of
``dosa(workload)`` (a layer repeated ``count`` times gets the same loops each time)::

    .venv/bin/python benchmarks/dosa_mappings.py DIR   # DIR: artifact/both/ of gemmini-rocc-tests @ 959b23f

The files are committed; nothing is downloaded when benchmarks/silicon.py runs.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compiler import lower_model  # noqa: E402
from compiler.zoo.published import DOSA_LAYERS, dosa  # noqa: E402

OUT = ROOT / "benchmarks" / "silicon"
WORKLOADS = ("bert", "resnet50", "retinanet", "unet")
SOURCE = "ucb-bar/gemmini-rocc-tests @ 959b23f gemmini-data-collection/artifact/both"


def dram_loops(mapping: str) -> str:
    """The L3 (DRAM) level of a DOSA mapping string, outermost first, without factors of 1."""
    level = next(part for part in mapping.split(" - ") if part.strip().startswith("L3["))
    words = level.split("]", 1)[1].split()
    for word in words:
        if not re.fullmatch(r"[NKCPQRS]\d+", word):
            raise SystemExit(f"unexpected DRAM-level word {word!r} in {mapping!r}")
    return " ".join(w for w in words if int(w[1:]) > 1)


def _row_matches(row: dict[str, str], layer: tuple[int, ...]) -> bool:
    kernel, p, q, c, k, stride, _ = layer
    want = {"R": kernel, "S": kernel, "P": p, "Q": q, "C": c, "K": k, "Hstride": stride}
    return all(int(row[f"prob.{key}"]) == value for key, value in want.items())


def mapping_file(workload: str, rows: list[dict[str, str]]) -> str:
    layers = DOSA_LAYERS[workload]
    if len(rows) != len(layers):
        raise SystemExit(f"{workload}: {len(rows)} CSV rows for {len(layers)} layers in DOSA_LAYERS")
    for i, (row, layer) in enumerate(zip(rows, layers)):
        if not _row_matches(row, layer):
            raise SystemExit(f"{workload}: CSV row {i} is not DOSA_LAYERS[{workload!r}][{i}] = {layer}")
    lines = [f"# DOSA's mapping of each {workload} layer, its DRAM-level (L3) loops outermost first: {SOURCE}/"
             f"{workload}.csv, column mapping.mapping (row i is layer /l<i>_*). Written by benchmarks/dosa_mappings.py;",
             "# an hwsim mapping file (docs/model.md#pinned-mappings). A layer DOSA runs in one call has no entry.", ""]
    for w in lower_model(dosa(workload)).workloads:
        index = int(re.match(r"/l(\d+)_", w.name).group(1))  # type: ignore[union-attr]
        loops = dram_loops(rows[index]["mapping.mapping"])
        if loops:
            lines += [f'[layers."{w.name}"]', f'loops = "{loops}"', ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv_dir", type=Path, help="the artifact's both/ directory, holding <workload>.csv")
    args = parser.parse_args(argv)
    for workload in WORKLOADS:
        with open(args.csv_dir / f"{workload}.csv", newline="", encoding="utf-8") as f:
            text = mapping_file(workload, list(csv.DictReader(f)))
        path = OUT / f"dosa-{workload}-mapping.toml"
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

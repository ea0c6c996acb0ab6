"""Print docs/cli.md: every command's --help, the exit codes and the JSON contract.

    .venv/bin/python docs/cli_reference.py > docs/cli.md

tests/docs/test_cli_reference.py keeps docs/cli.md equal to this output.
"""

from __future__ import annotations

import contextlib
import io
import os

HEADER = """# Command-line reference

`hwsim COMMAND --help` prints the same text. Every command exits 0 on success, 2 on a user error
(one line on stderr starting `error:`, never a traceback, no partial output file), 1 when a check
the user asked for fails (`verify`), and 3 on an internal error (a bug; `HWSIM_DEBUG=1` shows its
traceback). `python -m hwsim` is the same program.
"""

JSON = """## The JSON report (`hwsim estimate --json PATH|-`)
One object; the same input gives byte-identical output.

```
{"model": str,
 "config": {...the effective AcceleratorConfig, every field (docs/config.md)...},
 "totals": {"macs", "cycles", "latency_s", "energy_j", "utilization",
            "dram_read_bytes", "dram_write_bytes"},
 "layers": [{"name", "op", "macs", "cycles", "compute_cycles", "stall_cycles", "utilization",
             "energy_j", "energy_breakdown_j": {"mac", "array_reg", "ifmap_sram", "filter_sram",
                                                "ofmap_sram", "dram", "vector", "static"},
             "dram_read_bytes", "dram_write_bytes",
             "gemm": {"m", "k", "n", "groups"} | null}]}
```

* `macs` counts multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul only (bias adds
  excluded), exactly. `cycles = compute_cycles + stall_cycles`; `latency_s = cycles / clock`.
* `layers` lists every workload but free views (Reshape, Flatten, ...), in execution order; a fused
  layer's `op` joins its ops with `+` (e.g. `Conv+Relu`). Units: bytes, cycles, joules, seconds.
* `--csv` has the same per-layer fields (energy components as `energy_<part>_j` columns) and a
  final `TOTAL` row. docs/model.md gives every formula.
"""


def help_text(argv: list[str]) -> str:
    from hwsim.cli import build_parser

    parser = build_parser()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            parser.parse_args([*argv, "--help"])
        except SystemExit:
            pass
    return out.getvalue().rstrip() + "\n"


def reference() -> str:
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal; fix it so the page is stable
    from hwsim.cli import COMMANDS

    parts = [HEADER, "## hwsim\n", "```\n" + help_text([]) + "```\n"]
    for name in (module.__name__.rsplit(".", 1)[-1] for module in COMMANDS):
        parts += [f"## hwsim {name}\n", "```\n" + help_text([name]) + "```\n"]
        if name == "estimate":
            parts.append(JSON)
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference(), end="")

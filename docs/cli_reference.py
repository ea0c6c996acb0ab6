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
traceback). `python -m hwsim` is the same program. An operating-system error a user can fix (no
space left, permission denied, a read-only file system, a name too long, a missing folder) and a
refused allocation are user errors too, naming the path; the line is at most about 200 characters,
with names from the user's files shortened and control characters escaped. Ctrl-C exits 130,
SIGTERM 143 and SIGHUP 129, after the same clean-up as an error.

## Output files
A command writes all its outputs or none (`estimate --json --csv --plot`, `run --output --report`,
`rtl --out`, `plot --out`, `sweep --out`, `verify --json`): each path is checked before the work,
each file is written to a temporary beside it (`.NAME.PID.RANDOM.hwsim-tmp`) and all are renamed into
place together at the end, so a failure, Ctrl-C or SIGTERM leaves the old files as they were and
no temporary. A symbolic link is followed (the file it points to is replaced; the link stays); a
character device (`/dev/null`, a terminal) or a named pipe is written in place, never replaced (a
pipe with no reader is an error, not a hang); a block device, a socket or a folder is refused.
Only SIGKILL can leave a temporary behind; the next output written into that folder removes the
temporaries of processes that no longer exist. A folder a command creates for its outputs is
removed again if it fails. The work is bounded before it starts: `rtl` and `verify` estimate their
time and memory and refuse a run over 5 minutes without `--allow-large` (or over the memory
available at all); `run` refuses inputs and models whose values do not fit in memory; config values
are range-checked (docs/config.md). `sweep` workers end with their parent, and a second sweep into a
folder where one runs is refused. All JSON is strict (no `NaN` or `Infinity`).
"""

JSON_NOTES = """## The JSON report (`hwsim estimate --json PATH|-`)
One object; the same input gives byte-identical output. Its schema is below (`hwsim.report.SCHEMA`,
JSON Schema draft 2020-12); the tests validate every report they make against it.

* `macs` counts multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul only (bias adds
  excluded), exactly. `cycles = compute_cycles + stall_cycles`; `latency_s = cycles / clock`.
* `layers` lists every workload but free views (Reshape, Flatten, ...), in execution order; a fused
  layer's `op` joins its ops with `+` (e.g. `Conv+Relu`). Units: bytes, cycles, joules, seconds.
* `config` is the effective accelerator config with every field (docs/config.md).
* A layer whose loops a `--mapping` file pinned has `mapping.pinned` (`loops` as given, `calls`, `reuse`);
  its `tile`, `block` and buffer split are then one call's, and the table gets a `calls` column. With
  `[memory] dma_request_bytes` set, a GEMM layer's `mapping.dma_requests` counts its DMA requests.
* `--csv` has the same per-layer fields (energy components as `energy_<part>_j` columns) and a
  final `TOTAL` row; with a `--mapping` file, `loops` and `calls` columns (an unpinned layer's are
  empty and 1, the `TOTAL` row's calls their sum). docs/model.md gives every formula; docs/architecture.md which file owns each.
"""

MAPPING_NOTES = """## Mapping files (`hwsim estimate --mapping FILE`)
A mapping file pins the DRAM-level loops of the layers it names, as Timeloop's and ZigZag's mapping
inputs do; every layer it does not name is mapped by hwsim's search (docs/model.md#pinned-mappings).
TOML, or JSON of the same shape when the file name ends in `.json`:

```toml
reuse = "none"                 # optional: "none" (the default) or "order"
window = "touched"             # optional: "touched" (the default) or "span"
[layers."/l9_0/Conv"]          # a layer name as the report lists it
loops = "Q7 S3 R3 K64"         # outermost first: dimension letter and factor
[layers."/features.0/Conv"]
tiles = "K32 Q15 P16 S2 R3"    # or tile sizes, outermost first; the last tile is what remains
store_path = ["activation"]    # optional: what its store path applies; the rest is a separate pass
[layers."/fire2/squeeze/Conv"]
view = "gemm"                  # optional: a 1x1 stride-1 convolution cut as the GEMM over its pixels
tiles = "P512 K16 C64"
```

The letters are Timeloop's: `N` batch, `K` output and `C` input channels, `Q` output rows, `P`
output columns, `S` kernel rows, `R` kernel columns; a GEMM `(m x k) @ (k x n)` is `P = m`, `C = k`,
`K = n` (and `N` its batch). A dimension left out is not cut. Each iteration of the loops is one
call; inside a call hwsim's search picks the tiles. With `reuse = "none"` every call loads its input
window and weight block from DRAM (as Gemmini's `tiled_conv` does) and partial sums wait in the
accumulator; with `reuse = "order"` (Timeloop's convention) an operand stays on chip while only
loops that do not index it advance, and a result left before its reduction ends goes to DRAM as
partial sums and comes back. A layer gives `loops` (factors) or `tiles` (tile sizes, as Gemmini's own
tilers do: `K32` runs `ceil(K / 32)` calls, the last one what remains); a tile on `Q` or `P` may take a
step below its size, `Q6:4`, so that neighbouring calls overlap and compute the overlap again (a call
that pools its results). With `window = "span"` a call loads every input row and column from the
first its taps read to the last (Gemmini's `LoopConvLdInput`), not only those they touch; with
`[memory] dma_request_bytes` set, a layer's bytes move no faster than one DMA request of at most
that many bytes, within one row of a tile, a cycle (docs/model.md#dma-requests). `view = "gemm"`
cuts a 1x1 convolution of stride 1 without padding as its GEMM, `P` its images x rows x columns of
pixels, whose tiles and commands cross the ends of image rows (Gemmini's `tiled_matmul` path).
`store_path`, a list of the config's `[vector] store_path` families, narrows what the layer's
store path applies; its later epilogue steps (a pool stored apart, as by a `tiled_pool` call) run
as a separate pass with a DRAM round trip (docs/model.md#fusion). A layer may give `store_path`
alone, and is then searched. Every factor must
divide its dimension, every tile fit it, every name must be a layer of the model that is a
GEMM or an ungrouped 2-D convolution, and the file is checked whole before any work: otherwise one
`error:` line naming the file, the layer and the fix, exit 2, no output written.
`docs/examples/matmul_mapping.toml` pins the example MatMul (64×96 @ 96×48, `P2 K3`: 6 calls, each
loading a 32 × 96 block of A and a 96 × 16 block of B, 6 × 4,608 = 27,648 B read where 10,752 would
do); `benchmarks/silicon/dosa-*-mapping.toml` hold DOSA's mappings of its measured runs, and
`benchmarks/silicon/moca-*-mapping.toml` the tiles MoCA's library picks (`benchmarks/moca_mappings.py`).

```sh
bin/hwsim estimate docs/examples/matmul_64x96x48.onnx --preset fpga-edge --mapping docs/examples/matmul_mapping.toml
```
"""


def json_section() -> str:
    import json

    from hwsim.report import SCHEMA

    return JSON_NOTES + "\n```json\n" + json.dumps(SCHEMA, indent=2) + "\n```\n"


LLM_NOTES = """## The JSON report (`hwsim llm --json PATH|-`)
One object; the same input gives byte-identical output. Its schema is below (`hwsim.llm.LLM_SCHEMA`,
JSON Schema draft 2020-12, beside the estimate report's); the tests validate every report they make
against it. docs/llm.md gives every formula.

* `ttft_s` is the prefill; `tpot_s` the decode steps' mean, `tpot_last_s` the last (longest context);
  `tokens_per_s = batch x generate / (ttft_s + every decode step)`; `decode_tokens_per_s = batch / tpot_s`.
* `prefill`, `decode` and each entry of `layers` hold totals and `phases` (projections, attention
  scores and values, MLP, head, KV writes, vector and movement work), each with the same cost fields;
  `positions` lists every decode step; `layers` every transformer layer, then what runs outside them.
* `weight_bytes = parameters x weight_bits / 8`; `kv_cache_bytes` the cache at the last context;
  `fits`/`memory.max_batch` compare them with the config's `dram_gib` (null when it states none).
"""


def llm_section() -> str:
    import json

    from hwsim.llm import LLM_SCHEMA

    return LLM_NOTES + "\n```json\n" + json.dumps(LLM_SCHEMA, indent=2) + "\n```\n"


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
            parts.append(json_section())
            parts.append(MAPPING_NOTES)
        if name == "llm":
            parts.append(llm_section())
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference(), end="")

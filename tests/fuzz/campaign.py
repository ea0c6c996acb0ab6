#!/usr/bin/env python3
"""Fuzzing campaign against the hwsim command line: generate cases, run them, summarize.

    .venv/bin/python -m tests.fuzz.campaign --models 2000 --configs 500 --cmdlines 200 --npy 100 \\
        --known --seed 0 --jobs 2 --out /tmp/hwsim-fuzz/results.jsonl

(about 10 minutes on 2 cores; ``--mode inprocess`` runs the same plan in about a minute, without
the FIFO and /dev cases). The suite's ``tests/fuzz/test_fuzz.py`` runs a few seconds of the same.

Kinds of case (each deterministic from ``--seed`` and its index):

* ``model``   mutated ONNX models (mutate.py) through ``hwsim estimate``;
* ``run``     mutated models with weights through ``hwsim run`` (``--run-models``, default models/8);
* ``config``  hostile TOML configs (configs.py) through estimate/rtl/sweep/run/verify;
* ``cmdline`` hostile command lines for every subcommand (configs.py), /dev cases in a private namespace;
* ``npy``     hostile .npy inputs (npy.py) through ``hwsim run``;
* ``known``   the regression corpus of known failures (known.py), with ``--known``.

Writes one JSON record per case to ``--out``, a summary (per-verdict counts and the deduplicated
failure signatures, each with its smallest reproducer saved under ``--repro``) to stdout and to
``--summary``. Run it with the interpreter that has hwsim installed (``--python``, default this one).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import hashlib
import json
import os
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):
    sys.path.insert(0, str(HERE))
    import configs
    import harness
    import known
    import mutate
    import npy
else:
    from . import configs, harness, known, mutate, npy

#: Where results go unless told: outside the source tree.
DEFAULT_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "hwsim-fuzz"

KINDS = ("model", "run", "config", "cmdline", "npy", "known")

CATEGORIES = ("importer", "shapes/lowering", "config validation", "output writer", "run/npy", "CLI parsing",
              "simulator/report", "other")


def category(rec: dict[str, Any]) -> str:
    """A likely cause for a failure, from its verdict, the internal frame and the kind of case."""
    v, frame, kind = rec["verdict"], rec.get("debug_frame", ""), rec["kind"]
    text = (rec.get("stderr_first", "") + " " + rec.get("debug_exc", "")).lower()
    argv0 = rec["argv"][0] if rec["argv"] else ""
    if v == "unexpected-exit":
        k = (rec.get("known") or (rec.get("meta") or {}).get("known") or "").lower()
        return ("config validation" if "preset" in k else "shapes/lowering" if "conv" in k else
                "run/npy" if "nan" in k else "CLI parsing")
    if v == "control-chars" and rec["rc"] == 0:
        return "simulator/report"
    if argv0 == "verify":
        return "CLI parsing"
    if v in ("leftover-files", "replaced-special", "leftover-dir") or v == "bad-exit" and rec.get("stdout_full") or frame.startswith("hwsim/_io") or \
            "file name too long" in text and kind in ("cmdline",) and "preset" not in text:
        return "output writer"
    if v == "bad-json":
        return "output writer" if kind in ("cmdline",) and "not utf-8" in text else (
            "config validation" if kind == "config" else "run/npy" if kind in ("npy", "run") else "simulator/report")
    if kind == "config" or frame.startswith("hwsim/config") or "preset" in text:
        return "config validation"
    if frame.startswith("compiler/importer") or "validationerror" in text or frame.startswith("onnx"):
        return "importer"
    if frame.startswith(("compiler/ops", "compiler/passes", "compiler/lowering", "compiler/tiling", "compiler/")):
        return "shapes/lowering"
    if frame.startswith("hwsim/execute") or kind in ("npy", "run"):
        return "run/npy"
    if frame.startswith("hwsim/cli") or kind == "cmdline" or argv0.startswith("-") or not rec["argv"]:
        return "CLI parsing"
    if kind == "model":
        return "importer"
    if frame.startswith(("hwsim/simulate", "hwsim/timing", "hwsim/energy", "hwsim/report", "hwsim/sweep")):
        return "simulator/report"
    return "other"


def _esc(s: str) -> str:
    """Printable in markdown: control characters escaped, no backticks."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in s).replace("`", "'")


def _clip(s: str, n: int = 200) -> str:
    return s if len(s) <= n else s[: n - 15] + f"...[{len(s)} chars]"


def make_case(kind: str, seed: int, mode: str) -> harness.Case:
    inproc = mode == "inprocess"
    if kind == "model":
        return mutate.model_case(seed)
    if kind == "run":
        return mutate.run_case_for(seed)
    if kind == "config":
        return configs.config_case(seed, inprocess=inproc)
    if kind == "cmdline":
        return configs.cmdline_case(seed, inprocess=inproc)
    if kind == "npy":
        return npy.npy_case(seed)
    if kind == "known":
        return known.KNOWN[seed][1]()
    raise ValueError(kind)


def record(case: harness.Case, o: harness.Outcome) -> dict[str, Any]:
    f = harness.facts(case, o)
    lines = [ln for ln in o.stderr.splitlines() if ln.strip()]
    rec = {
        "kind": case.kind, "seed": case.seed, "desc": _clip(case.desc, 400),
        "argv": [_clip(a) for a in case.argv], "rc": o.rc, "verdict": o.verdict, "flags": o.flags,
        "elapsed": round(o.elapsed, 3), "stderr_lines": len(lines), "stderr_first": _clip(f["stderr_first"], 400),
        "stderr_first_len": len(f["stderr_first"]), "stderr_tail": _clip(f["stderr_tail"], 300),
        "new_files": o.new_files[:8], "bad_json": o.bad_json[:4], "replaced": o.replaced,
        "debug_frame": f["debug_frame"], "debug_exc": _clip(f["debug_exc"], 300), "control_in": f["control_in"],
        "meta": f["meta"], "stdout_full": case.stdout_full, "size": case.size(),
    }
    # The signature from the full facts (argv unclipped), then the category.
    rec["signature"] = harness.signature_of(f) if o.verdict in harness.FAILURES else ""
    rec["category"] = category(rec) if rec["signature"] else ""
    return rec


def resign(rec: dict[str, Any]) -> None:
    """Recompute a stored record's signature and category (after changing the normalization)."""
    rec["signature"] = harness.signature_of(rec) if rec["verdict"] in harness.FAILURES else ""
    rec["category"] = category(rec) if rec["signature"] else ""


class Repros:
    """The smallest reproducer per failure signature, saved as repro/<slug>/{files/,cmd.sh,case.json}."""

    def __init__(self, root: Path, python: str) -> None:
        self.root = root
        self.python = python
        self.best: dict[str, tuple[int, str, int, str]] = {}   # signature -> (size, kind, seed, folder)

    @staticmethod
    def slug(signature: str) -> str:
        head = re.sub(r"[^a-z0-9]+", "-", " ".join(signature.split(" | ")[:2]).lower()).strip("-")[:40]
        return f"{head}-{hashlib.sha1(signature.encode()).hexdigest()[:8]}"

    def offer(self, case: harness.Case, rec: dict[str, Any]) -> str:
        sig = rec["signature"]
        key = (case.size(), case.kind, case.seed)
        old = self.best.get(sig)
        folder = str(self.root / self.slug(sig))
        if old is None or key < old[:3]:
            case.save_reproducer(Path(folder), self.python, note=f"{sig} | {case.kind} seed {case.seed}: {case.desc[:300]}")
            self.best[sig] = (*key, folder)
        return self.best[sig][3]


def summarize(records: list[dict[str, Any]], repros: Repros, wall: float, jobs: int, mode: str) -> str:
    out: list[str] = []
    kinds = [k for k in KINDS if any(r["kind"] == k for r in records)]
    out.append(f"# hwsim fuzz campaign\n\n{len(records)} cases in {wall:.0f} s wall time with {jobs} jobs "
               f"({mode}; {len(records) / max(wall, 1e-9):.1f} cases/s)\n")
    out.append("| kind | cases | cpu-s in hwsim | mean s/case |\n|---|---:|---:|---:|")
    for k in kinds:
        rs = [r for r in records if r["kind"] == k]
        t = sum(r["elapsed"] for r in rs)
        out.append(f"| {k} | {len(rs)} | {t:.0f} | {t / len(rs):.2f} |")
    out.append("\n## Primary verdict per case (most severe flag)\n")
    out.append("| verdict | " + " | ".join(kinds) + " | total |\n|---|" + "---:|" * (len(kinds) + 1))
    for v in harness.VERDICTS:
        row = [sum(1 for r in records if r["kind"] == k and r["verdict"] == v) for k in kinds]
        if sum(row):
            out.append(f"| {v} | " + " | ".join(str(x) for x in row) + f" | {sum(row)} |")
    out.append("\n## Every flag (a case can have several)\n")
    out.append("| flag | " + " | ".join(kinds) + " | total |\n|---|" + "---:|" * (len(kinds) + 1))
    for v in harness.VERDICTS:
        row = [sum(1 for r in records if r["kind"] == k and v in r["flags"]) for k in kinds]
        if sum(row):
            out.append(f"| {v} | " + " | ".join(str(x) for x in row) + f" | {sum(row)} |")
    sigs: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in records:
        if r["signature"]:
            sigs[r["signature"]].append(r)
    out.append(f"\n## {len(sigs)} distinct failure signatures\n")
    by_cat: dict[str, list[str]] = collections.defaultdict(list)
    for sig, rs in sigs.items():
        by_cat[collections.Counter(r["category"] for r in rs).most_common(1)[0][0]].append(sig)
    n = 0
    for cat in CATEGORIES:
        if cat not in by_cat:
            continue
        out.append(f"\n### {cat} ({len(by_cat[cat])})\n")
        for sig in sorted(by_cat[cat], key=lambda s: (-len(sigs[s]), s)):
            n += 1
            rs = sigs[sig]
            size, kind, seed, folder = repros.best[sig]
            ex = next(r for r in rs if r["kind"] == kind and r["seed"] == seed)
            kinds_seen = ", ".join(f"{k} {c}" for k, c in collections.Counter(r["kind"] for r in rs).most_common())
            out.append(f"{n}. `{_esc(sig)}` — {len(rs)} case(s) ({kinds_seen})")
            out.append(f"   - repro: `{os.path.relpath(folder, HERE)}/cmd.sh` ({kind} seed {seed}): {_esc(_clip(ex['desc'], 160))}")
            out.append(f"   - `hwsim {_esc(_clip(' '.join(shlex.quote(a) for a in ex['argv']), 220))}`")
            if ex["stderr_first"]:
                out.append(f"   - stderr: `{_esc(_clip(ex['stderr_first'], 240))}`")
            variants = sorted({harness.template(r["stderr_first"]) for r in rs} - {harness.template(ex["stderr_first"])})
            for var in variants[:3]:
                out.append(f"   - also: `{_esc(_clip(var, 200))}`")
            if len(variants) > 3:
                out.append(f"   - ... and {len(variants) - 3} more message variants")
            if ex.get("debug_frame"):
                out.append(f"   - raised at `{ex['debug_frame']}`: `{_esc(_clip(ex['debug_exc'], 200))}`")
    return "\n".join(out) + "\n"


def resummarize(args: argparse.Namespace) -> int:
    """Re-deduplicate stored records; rebuild (deterministically, from kind and seed) one reproducer each."""
    path = Path(args.resummarize)
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    meta_path = path.with_suffix(".meta.json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    for rec in records:
        resign(rec)
    best: dict[str, dict[str, Any]] = {}
    for rec in records:
        sig = rec["signature"]
        if sig and (sig not in best or (rec["size"], rec["kind"], rec["seed"]) <
                    (best[sig]["size"], best[sig]["kind"], best[sig]["seed"])):
            best[sig] = rec
    repros = Repros(Path(args.repro), args.python)
    Path(args.repro).mkdir(parents=True, exist_ok=True)
    for sig, rec in best.items():
        case = make_case(rec["kind"], rec["seed"], meta.get("mode", "subprocess"))
        repros.offer(case, rec)
    for rec in records:
        if rec["signature"]:
            rec["repro"] = os.path.relpath(repros.best[rec["signature"]][3], HERE)
    path.write_text("".join(json.dumps(r, ensure_ascii=True) + "\n" for r in records))
    records.sort(key=lambda r: (KINDS.index(r["kind"]), r["seed"]))
    text = summarize(records, repros, meta.get("wall_s", float("nan")), meta.get("jobs", 0), meta.get("mode", "?"))
    Path(args.summary or str(path.with_suffix(".md"))).write_text(text)
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=int, default=2000, help="mutated models through estimate")
    p.add_argument("--run-models", type=int, default=None, help="mutated models with weights through run (default models/8)")
    p.add_argument("--configs", type=int, default=500)
    p.add_argument("--cmdlines", type=int, default=200)
    p.add_argument("--npy", type=int, default=100)
    p.add_argument("--known", action="store_true", help="also run the regression corpus of known failures")
    p.add_argument("--seed", type=int, default=0, help="campaign seed: case i of a kind has seed seed*1e6 + i")
    p.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 1)),
                   help="parallel hwsim processes (subprocess mode; in-process runs one at a time)")
    p.add_argument("--mode", choices=("subprocess", "inprocess"), default="subprocess",
                   help="subprocess: python -m hwsim per case (isolated, /dev cases in a namespace); "
                        "inprocess: hwsim.cli.main in this process (fast; skips FIFO and /dev cases)")
    p.add_argument("--python", default=sys.executable, help="interpreter with hwsim installed")
    p.add_argument("--timeout", type=float, default=None, help="override every case's timeout (seconds)")
    p.add_argument("--out", default=str(DEFAULT_DIR / "results.jsonl"))
    p.add_argument("--summary", default=None, help="markdown summary (default: --out with .md)")
    p.add_argument("--repro", default=str(DEFAULT_DIR / "repro"))
    p.add_argument("--kinds", default=",".join(KINDS[:-1]), help="comma list of kinds to run")
    p.add_argument("--resummarize", metavar="RESULTS.jsonl",
                   help="no runs: recompute signatures, reproducers and the summary from stored records")
    args = p.parse_args(argv)
    if args.resummarize:
        return resummarize(args)

    counts = {"model": args.models, "run": args.models // 8 if args.run_models is None else args.run_models,
              "config": args.configs, "cmdline": args.cmdlines, "npy": args.npy,
              "known": len(known.KNOWN) if args.known else 0}
    wanted = set(args.kinds.split(",")) | ({"known"} if args.known else set())
    base = args.seed * 1_000_000
    plan = [(k, (i if k == "known" else base + i)) for k in KINDS if k in wanted for i in range(counts[k])]
    if args.mode == "subprocess" and not harness.namespace_available():
        print("campaign: no private mount namespace (needs root and unshare): /dev cases are skipped", file=sys.stderr)
    configs.fixture_files()  # build shared fixtures once, before the threads start
    repros = Repros(Path(args.repro), args.python)
    Path(args.repro).mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    skipped = collections.Counter()

    def work(kind: str, seed: int):
        case = make_case(kind, seed, args.mode)
        if args.timeout:
            case.timeout = args.timeout
        if args.mode == "inprocess" and (case.needs_dev or case.fifos):
            return case, None
        if case.needs_dev and not harness.namespace_available():
            return case, None
        if args.mode == "inprocess":
            return case, harness.run_inprocess(case)
        return case, harness.run_subprocess(case, args.python)

    start = time.monotonic()
    last = start
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as sink:
        if args.mode == "inprocess":
            results = (work(k, s) for k, s in plan)
        else:
            pool = cf.ThreadPoolExecutor(max_workers=args.jobs)
            futures = [pool.submit(work, k, s) for k, s in plan]
            results = (f.result() for f in cf.as_completed(futures))
        for case, outcome in results:
            if outcome is None:
                skipped[case.kind] += 1
                continue
            rec = record(case, outcome)
            if rec["signature"]:
                rec["repro"] = os.path.relpath(repros.offer(case, rec), HERE)
            records.append(rec)
            sink.write(json.dumps(rec, ensure_ascii=True) + "\n")
            sink.flush()
            now = time.monotonic()
            if now - last > 30:
                bad = sum(1 for r in records if r["signature"])
                print(f"campaign: {len(records)}/{len(plan)} cases, {bad} failing, {now - start:.0f} s",
                      file=sys.stderr, flush=True)
                last = now
    wall = time.monotonic() - start
    Path(args.out).with_suffix(".meta.json").write_text(json.dumps(
        {"wall_s": wall, "jobs": args.jobs if args.mode == "subprocess" else 1, "mode": args.mode, "python": args.python, "seed": args.seed,
         "counts": counts, "skipped": dict(skipped)}, indent=1) + "\n")
    records.sort(key=lambda r: (KINDS.index(r["kind"]), r["seed"]))
    text = summarize(records, repros, wall, args.jobs if args.mode == "subprocess" else 1, args.mode)
    if skipped:
        text += f"\nskipped (need FIFO or /dev support in this mode): {dict(skipped)}\n"
    summary = args.summary or str(Path(args.out).with_suffix(".md"))
    Path(summary).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

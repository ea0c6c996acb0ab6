"""Fuzz tests of the command-line contract (issue 17), bounded to a few seconds.

Every command exits 0 on success, 1 when a verification fails, 2 on a user error (one stderr line
starting ``error:``, at most 200 characters, control characters escaped) and never with a
traceback, an internal error (3), a partial output file, a replaced special file or non-strict JSON.

* ``test_known_failure``: the regression corpus (known.py), one case per bug the campaign found;
* ``test_*`` with ``@given``: hypothesis draws a seed model (the zoo's and small ones built here)
  and structural mutations, byte flips and truncations, a hostile config, a hostile command line
  or a hostile .npy (mutate.py, configs.py, npy.py), runs ``hwsim.cli.main`` in-process
  (harness.py) and checks the contract;
* ``test_special_files``: outputs onto a FIFO, /dev/null, /dev/full and a full standard output, in a
  subprocess (the /dev ones only inside a private mount namespace with a tmpfs /dev, never the
  machine's own; skipped, saying why, where namespaces are unavailable).

Hypothesis profiles (``HWSIM_FUZZ_PROFILE``): ``ci`` (the default) is derandomized with 12 examples
per property, so every run sees the same cases and the file takes a few seconds; ``explore`` draws
200 new examples per property. ``HWSIM_FUZZ_EXAMPLES=N`` overrides the count. Longer campaigns, in
subprocesses, with a summary and a reproducer per failure signature::

    .venv/bin/python -m tests.fuzz.campaign --models 2000 --configs 500 --cmdlines 200 --npy 100 \\
        --known --seed 0 --jobs 2 --out /tmp/fuzz/results.jsonl --repro /tmp/fuzz/repro
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import configs, harness, known, mutate, npy

settings.register_profile("ci", max_examples=12, derandomize=True, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("explore", max_examples=200, derandomize=False, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
_PROFILE = settings.get_profile(os.environ.get("HWSIM_FUZZ_PROFILE", "ci"))
FUZZ = settings(_PROFILE, max_examples=int(os.environ.get("HWSIM_FUZZ_EXAMPLES", _PROFILE.max_examples)))

#: Seed models that build and import in milliseconds.
FAST_SEEDS = sorted(n for n, s in mutate.SEEDS.items() if s.runnable) + ["resnet18", "mobilenet_v2", "ocr_cls"]
FAST_RUN_SEEDS = sorted(n for n, s in mutate.RUN_SEEDS.items() if s.runnable and not n.endswith("_w"))


def explain(case: harness.Case, o: harness.Outcome) -> str:
    problems = [f for f in o.flags if f in harness.FAILURES]
    err = o.stderr if len(o.stderr) < 1500 else o.stderr[:700] + "\n...\n" + o.stderr[-700:]
    return (f"contract violated: {', '.join(problems)}\n  case: {case.kind} seed {case.seed}: {case.desc[:400]}\n"
            f"  argv: hwsim {' '.join(repr(a) if len(a) < 80 else repr(a[:77] + '...') for a in case.argv)}\n"
            f"  exit: {o.rc}\n  stderr: {err!r}\n  left behind: {o.new_files[:6]}  bad json: {o.bad_json}  "
            f"replaced: {o.replaced}\n  signature: {harness.signature(case, o)}")


def check(case: harness.Case, mode: str = "inprocess") -> None:
    o = harness.run_inprocess(case) if mode == "inprocess" else harness.run_subprocess(case)
    problems = [f for f in o.flags if f in harness.FAILURES]
    assert not problems, explain(case, o)


# ------------------------------------------------------------------------------ regression corpus

@pytest.mark.parametrize("name", [name for name, _ in known.KNOWN])
def test_known_failure(name: str) -> None:
    check(known.known_case(name))


# --------------------------------------------------------------------------------- properties

@FUZZ
@given(seed_name=st.sampled_from(FAST_SEEDS),
       names=st.lists(st.sampled_from(sorted(mutate.MUTATIONS)), min_size=1, max_size=2),
       seed=st.integers(0, 2**20))
def test_mutated_model_estimate(seed_name: str, names: list[str], seed: int) -> None:
    check(mutate.model_case(seed, names=names, seed_name=seed_name))


@FUZZ
@given(seed_name=st.sampled_from(FAST_RUN_SEEDS),
       names=st.lists(st.sampled_from(sorted(set(mutate.MUTATIONS) - set(mutate.FAMILIES["bytes"]))),
                      min_size=1, max_size=2),
       seed=st.integers(0, 2**20))
def test_mutated_model_run(seed_name: str, names: list[str], seed: int) -> None:
    check(mutate.run_case_for(seed, names=names, seed_name=seed_name))


@FUZZ
@given(seed=st.integers(0, 2**20))
def test_hostile_config(seed: int) -> None:
    check(configs.config_case(seed, inprocess=True))


@FUZZ
@given(seed=st.integers(0, 2**20))
def test_hostile_command_line(seed: int) -> None:
    check(configs.cmdline_case(seed, inprocess=True))


@FUZZ
@given(variant=st.sampled_from(sorted(npy.VARIANTS)), seed=st.integers(0, 2**20))
def test_hostile_npy(variant: str, seed: int) -> None:
    check(npy.npy_case(seed, variant=variant))


# ------------------------------------------------------------------------------ special files

def _special(argv: list[str], stdout_full: bool = False) -> harness.Case:
    return harness.Case("special", 0, f"special target {argv[-1]}", argv, configs.fixture_files(), fifos=["fifo"],
                        stdout_full=stdout_full, timeout=30)


SPECIAL = {
    "json-onto-fifo": (["estimate", "m.onnx", "--json", "fifo"], False),
    "json-onto-dev-null": (["estimate", "m.onnx", "--json", "/dev/null"], False),
    "csv-onto-dev-full": (["estimate", "m.onnx", "--csv", "/dev/full"], False),
    "stdout-is-dev-full": (["estimate", "m.onnx", "--json", "-"], True),
    # found by the campaign on the final tree: reading the command's own stdout hung; argparse's
    # --help text onto a full stdout exited 120 at the interpreter's last flush
    "config-is-own-stdout": (["estimate", "m.onnx", "--config", "/dev/stdout"], False),
    "help-onto-dev-full": (["estimate", "--help"], True),
}


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_special_files(name: str) -> None:
    argv, full = SPECIAL[name]
    case = _special(argv, full)
    if case.needs_dev and not harness.namespace_available():
        pytest.skip("needs root and unshare for a private /dev; never run against the real /dev")
    check(case, mode="subprocess")

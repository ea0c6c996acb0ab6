from __future__ import annotations

import json
from pathlib import Path

import pytest

import hwsim.sweep.runner as runner
from hwsim.core.config import preset
from hwsim.sweep import (
    OBJECTIVES,
    Design,
    DesignSpace,
    InlinePool,
    ProcessPool,
    SweepJob,
    SweepModel,
    build_results,
    run_sweep,
)
from hwsim.sweep.records import RECORDS_FILE
from hwsim.sweep.results import COLUMNS, OVERALL

from .models import tiny_cnn, tiny_mlp

BASE = preset("gemmini-like")
SPACE = DesignSpace.around(BASE, rows=(8, 16), cols=(8, 32), dataflows=("ws", "os", "is"))  # 12 designs
JOB = SweepJob(BASE, (SweepModel.of("cnn", tiny_cnn()), SweepModel.of("mlp", tiny_mlp())))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Design]]:
    """Every simulate() the sweep makes in this process, as (model, design)."""
    seen: list[tuple[str, Design]] = []
    real = runner.simulate

    def counting(program, **kw):
        cfg = program.config
        seen.append((program.name, Design(cfg.rows, cfg.cols, cfg.dataflow,
                                          cfg.ifmap_kib + cfg.filter_kib + cfg.ofmap_kib)))
        return real(program, **kw)

    monkeypatch.setattr(runner, "simulate", counting)
    return seen


def _csv(directory: Path, space: DesignSpace = SPACE, job: SweepJob = JOB, **kw) -> str:
    run = run_sweep(space, job, directory, **kw)
    return build_results(run, space, OBJECTIVES["edp"]).to_csv()


def test_interrupted_sweep_resumes_without_recomputing(tmp_path: Path, calls: list) -> None:
    reference = _csv(tmp_path / "reference")
    assert len(calls) == 12 * 2
    calls.clear()

    def stop_after_two_chunks(done: int, total: int) -> None:
        if done >= 6:  # 12 designs on one worker: chunks of 3 designs
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(SPACE, JOB, tmp_path / "sweep", on_progress=stop_after_two_chunks)
    assert len(calls) == 6 * 2
    lines = (tmp_path / "sweep" / RECORDS_FILE).read_text().splitlines()
    assert len(lines) == 6 * 2
    calls.clear()

    run = run_sweep(SPACE, JOB, tmp_path / "sweep")
    assert (run.resumed, run.computed) == (12, 12)
    finished = {(json.loads(line)["model"], Design.from_dict(json.loads(line)["design"])) for line in lines}
    assert len(calls) == 12 and not finished & {(m.replace("tiny-", ""), d) for m, d in calls}
    assert build_results(run, SPACE, OBJECTIVES["edp"]).to_csv() == reference
    calls.clear()

    # A third run computes nothing at all.
    assert _csv(tmp_path / "sweep") == reference and calls == []


def test_partial_records_and_a_torn_last_line(tmp_path: Path, calls: list) -> None:
    _csv(tmp_path / "full")
    lines = (tmp_path / "full" / RECORDS_FILE).read_text().splitlines()
    calls.clear()
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    # Five whole records, then one cut off mid-line as by a power cut.
    (sweep / RECORDS_FILE).write_text("\n".join(lines[:5]) + "\n" + lines[5][:40])
    run = run_sweep(SPACE, JOB, sweep)
    assert run.resumed == 5 and len(calls) == run.computed == 24 - 5
    records = (sweep / RECORDS_FILE).read_text().splitlines()
    assert records[5] == lines[5][:40] and all(json.loads(line) for line in records[6:])
    calls.clear()
    assert _csv(sweep) == _csv(tmp_path / "full") and calls == []


def test_what_a_record_is_keyed_on(tmp_path: Path, calls: list) -> None:
    _csv(tmp_path)
    calls.clear()
    # Widening the space computes only the new designs.
    wider = DesignSpace.around(BASE, rows=(8, 16, 64), cols=(8, 32), dataflows=("ws", "os", "is"))
    _csv(tmp_path, wider)
    assert len(calls) == 6 * 2 and {d.rows for _, d in calls} == {64}
    calls.clear()
    # Another base config (the same designs on slower DRAM) is another sweep.
    slow = SweepJob(BASE.replace(dram_gbps=4.0), JOB.models)
    _csv(tmp_path, job=slow)
    assert len(calls) == 24
    calls.clear()
    # Records follow a model's content, not its name: the MLP under another name is already done...
    renamed = SweepJob(BASE, (SweepModel.of("cnn", tiny_cnn()), SweepModel.of("mlp-copy", tiny_mlp())))
    _csv(tmp_path, job=renamed)
    assert calls == []
    # ...while a changed model (other input shapes, say) under the old name is not.
    changed = tiny_cnn()
    changed = type(changed)(changed.name, changed.workloads[:-1])
    _csv(tmp_path, job=SweepJob(BASE, (SweepModel.of("cnn", changed), JOB.models[1])))
    assert len(calls) == 12 and {m for m, _ in calls} == {"tiny-cnn"}
    calls.clear()
    # So is another version of the estimating code (an upgrade, or a local edit of the simulator).
    with pytest.MonkeyPatch.context() as m:
        m.setattr(runner, "code_fingerprint", lambda: "another-simulator")
        _csv(tmp_path)
    assert len(calls) == 24
    calls.clear()
    _csv(tmp_path, fresh=True)
    assert len(calls) == 24
    # --fresh starts the record file over: exactly this sweep's records are left in it.
    assert len((tmp_path / RECORDS_FILE).read_text().splitlines()) == 24


def test_results_table(tmp_path: Path) -> None:
    space = DesignSpace.around(BASE, rows=(8, 64), cols=(64,), buffer_kib=(16, 256))
    run = run_sweep(space, JOB, tmp_path)
    # 64x64 weights do not fit half of a 16 KiB split: that design is reported, not estimated.
    assert [(d.rows, d.buffer_kib) for d, _ in run.infeasible] == [(64, 16.0)]
    results = build_results(run, space, OBJECTIVES["latency"])
    csv_lines = results.to_csv().splitlines()
    assert csv_lines[0].split(",") == list(COLUMNS)
    assert len(csv_lines) == 1 + 3 * 2  # one row per feasible design and model
    rows = results.rows
    assert [(r["model"], r["rows"], r["buffer_kib"]) for r in rows] == [
        ("cnn", 8, 16.0), ("cnn", 8, 256.0), ("cnn", 64, 256.0),
        ("mlp", 8, 16.0), ("mlp", 8, 256.0), ("mlp", 64, 256.0)]
    for r in rows:
        assert r["edp_js"] == r["energy_j"] * r["latency_s"]
        assert r["throughput_per_area"] == 1 / r["latency_s"] / r["area_mm2"]
        assert r["cycles"] == r["compute_cycles"] + r["stall_cycles"]
    for scope in ("cnn", "mlp", OVERALL):
        scoped = results.scopes[scope]
        fastest = min(r["latency_s"] for r in scoped)
        assert [r["rank"] == 1 for r in scoped] == [r["latency_s"] == fastest for r in scoped]
        assert any(r["pareto"] for r in scoped)
    overall = results.scopes[OVERALL]
    assert [o["latency_s"] for o in overall] == [a["latency_s"] + b["latency_s"] for a, b in zip(rows[:3], rows[3:])]
    data = json.loads(results.to_json())
    assert data["results"] == rows and data["overall"] == overall
    assert data["infeasible"][0]["rows"] == 64 and "filter_kib" in data["infeasible"][0]["reason"]


def test_process_pool_matches_in_process(tmp_path: Path) -> None:
    pool = ProcessPool(2)
    try:
        pooled = _csv(tmp_path / "pool", pool=pool)
    finally:
        pool.close()
    assert pooled == _csv(tmp_path / "inline", pool=InlinePool())


def test_two_sweeps_cannot_share_a_directory(tmp_path: Path) -> None:
    from hwsim.core.errors import UserError
    from hwsim.sweep.records import RecordStore

    with RecordStore(tmp_path):
        with pytest.raises(UserError, match="another hwsim sweep"):
            run_sweep(SPACE, JOB, tmp_path)

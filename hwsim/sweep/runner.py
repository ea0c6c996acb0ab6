"""Run a sweep: every design of a space estimated on every model, resumable, through a worker pool.

The models are imported and lowered once, by the caller; workers receive the lowered models and,
per design, only make its tile program (:func:`compiler.schedule.schedule_model`) and simulate it,
which takes milliseconds. Each finished chunk is appended
to ``DIR/records.jsonl`` before the next is awaited (:mod:`.records`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from compiler.schedule import schedule_model
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.files import os_error
from hwsim.core.workload import LoweredModel
from hwsim.scalesim import ScaleSimTiming
from hwsim.simulate import simulate

from .pools import InlinePool, WorkerPool
from .records import RecordStore, SweepLock, code_fingerprint, fingerprint, record_key
from .space import Design, DesignSpace

__all__ = ["SweepModel", "SweepJob", "SweepRun", "run_sweep", "evaluate_chunk"]


@dataclass(frozen=True)
class SweepModel:
    """A lowered model under the name the results use for it (the file's stem, or the zoo name)."""

    name: str
    lowered: LoweredModel
    fingerprint: str = ""

    @classmethod
    def of(cls, name: str, lowered: LoweredModel) -> SweepModel:
        return cls(name, lowered, fingerprint(lowered))


@dataclass(frozen=True)
class SweepJob:
    """What every worker needs: the base config, the models and the timing model."""

    base: AcceleratorConfig
    models: tuple[SweepModel, ...]
    timing: str = "hwsim"

    def __post_init__(self) -> None:
        names = [m.name for m in self.models]
        for name in names:
            if names.count(name) > 1:
                raise UserError(f"two models are named {name!r}; results are listed by model name, rename one file")


#: One task: designs, each with the indices of the models it still needs.
Chunk = tuple[tuple[Design, tuple[int, ...]], ...]


def evaluate_chunk(job: SweepJob, chunk: Chunk) -> list[dict[str, Any]]:
    """Estimate each design of ``chunk`` on the models it lists; one record per (design, model)."""
    out = []
    for design, model_indices in chunk:
        cfg = design.config(job.base)
        for i in model_indices:
            model = job.models[i]
            timing = ScaleSimTiming() if job.timing == "scalesim" else None
            report = simulate(schedule_model(model.lowered, cfg), scalesim=timing)
            out.append({"model": model.name, "design": design.to_dict(), **report.summary()})
    return out


@dataclass
class SweepRun:
    """The outcome: every feasible design's record per model, and the designs the config rejects."""

    job: SweepJob
    designs: list[Design]
    configs: dict[Design, AcceleratorConfig]
    #: (design, model name) -> record.
    records: dict[tuple[Design, str], dict[str, Any]]
    infeasible: list[tuple[Design, str]] = field(default_factory=list)
    computed: int = 0
    resumed: int = 0


def _chunk_size(tasks: int, workers: int) -> int:
    # A few chunks per worker balance the load; a cap keeps each record flush small and frequent.
    return max(1, min(16, math.ceil(tasks / (4 * workers))))


def run_sweep(space: DesignSpace, job: SweepJob, out_dir: Path, *, pool: WorkerPool | None = None,
              fresh: bool = False, on_progress: Callable[[int, int], None] | None = None,
              lock: SweepLock | None = None) -> SweepRun:
    """Estimate every design of ``space`` on every model of ``job``, resuming from ``out_dir``'s records.

    ``on_progress(done, total)`` counts designs (all models of a design finished). Interrupting
    (KeyboardInterrupt) leaves every finished record on disk and re-raises. ``lock``: the caller's
    :class:`~hwsim.sweep.records.SweepLock` on ``out_dir``, already held (else the records take one).
    """
    configs: dict[Design, AcceleratorConfig] = {}
    infeasible: list[tuple[Design, str]] = []
    for design in space.designs():
        try:
            configs[design] = design.config(job.base)
        except UserError as e:
            infeasible.append((design, str(e)))
    if not configs:
        design, reason = infeasible[0]
        raise UserError(f"no design of the sweep is a valid accelerator; e.g. {design.label}: {reason}")
    designs = list(configs)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        err = os_error(e, out_dir, "create the sweep folder")
        if isinstance(err, UserError):
            raise err from None
        raise
    store = RecordStore(out_dir, lock)
    code = code_fingerprint()
    with store:
        if fresh:
            store.clear()
            existing: dict[str, dict[str, Any]] = {}
        else:
            existing = store.load()
        records: dict[tuple[Design, str], dict[str, Any]] = {}
        todo: list[tuple[Design, tuple[int, ...]]] = []
        for design in designs:
            missing = []
            for i, model in enumerate(job.models):
                found = existing.get(record_key(configs[design], model.fingerprint, job.timing, code))
                if found is None:
                    missing.append(i)
                else:
                    records[design, model.name] = found
            if missing:
                todo.append((design, tuple(missing)))
        run = SweepRun(job, designs, configs, records, infeasible, resumed=len(records))
        done = len(designs) - len(todo)
        if on_progress:
            on_progress(done, len(designs))
        if not todo:
            return run
        pool = pool or InlinePool()
        size = _chunk_size(len(todo), pool.workers)
        chunks = [tuple(todo[i:i + size]) for i in range(0, len(todo), size)]
        by_name = {m.name: m for m in job.models}
        for result in pool.map_unordered(evaluate_chunk, job, chunks):
            for record in result:
                design = Design.from_dict(record["design"])
                record["key"] = record_key(configs[design], by_name[record["model"]].fingerprint, job.timing, code)
                records[design, record["model"]] = record
            store.append(result)
            run.computed += len(result)
            done += len({Design.from_dict(r["design"]) for r in result})
            if on_progress:
                on_progress(done, len(designs))
    return run


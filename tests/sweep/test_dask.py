from __future__ import annotations

from pathlib import Path

from hwsim.core.config import preset
from hwsim.sweep import OBJECTIVES, DaskPool, DesignSpace, ProcessPool, SweepJob, SweepModel, build_results, run_sweep
from hwsim.sweep.records import RECORDS_FILE

from .models import tiny_cnn, tiny_mlp


def test_dask_local_cluster_gives_identical_results(tmp_path: Path) -> None:
    base = preset("fpga-edge")
    space = DesignSpace.around(base, rows=(4, 8, 16), cols=(8, 16), dataflows=("ws", "os", "is"),
                               buffer_kib=(64, 128))
    job = SweepJob(base, (SweepModel.of("cnn", tiny_cnn()), SweepModel.of("mlp", tiny_mlp())))
    outputs = {}
    for name, pool in (("local", ProcessPool(2)), ("dask", DaskPool(jobs=2, processes=False))):
        try:
            run = run_sweep(space, job, tmp_path / name, pool=pool)
        finally:
            pool.close()
        assert (run.computed, run.resumed) == (len(space) * 2, 0)
        results = build_results(run, space, OBJECTIVES["energy"])
        records = sorted((tmp_path / name / RECORDS_FILE).read_text().splitlines())
        outputs[name] = (results.to_csv(), results.to_json(), records)
    assert outputs["dask"] == outputs["local"]

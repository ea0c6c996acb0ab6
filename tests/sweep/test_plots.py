from __future__ import annotations

from pathlib import Path

from hwsim.core.config import preset
from hwsim.sweep import OBJECTIVES, DesignSpace, SweepJob, SweepModel, build_results, run_sweep
from hwsim.sweep.plots import heatmap_png, pareto_png

from .models import tiny_cnn, tiny_mlp

PNG = b"\x89PNG\r\n\x1a\n"


def test_plots_are_deterministic_pngs(tmp_path: Path) -> None:
    base = preset("gemmini-like")
    space = DesignSpace.around(base, rows=(8, 16, 32), cols=(8, 32), dataflows=("ws", "is"), buffer_kib=(64, 256))
    job = SweepJob(base, (SweepModel.of("cnn", tiny_cnn()), SweepModel.of("mlp", tiny_mlp())))
    first = build_results(run_sweep(space, job, tmp_path), space, OBJECTIVES["edp"])
    again = build_results(run_sweep(space, job, tmp_path), space, OBJECTIVES["edp"])
    assert again.run.computed == 0
    for draw in (pareto_png, heatmap_png):
        png = draw(first)
        assert png.startswith(PNG) and png == draw(again)
    # Each scope and objective draws its own picture.
    assert pareto_png(first, "cnn") != pareto_png(first, "mlp")
    assert heatmap_png(first, objective=OBJECTIVES["area"]) != heatmap_png(first)

"""Design-space exploration: many accelerator designs estimated on real networks, ranked, Pareto-marked.

``hwsim sweep`` (hwsim/cli/sweep.py) is the front end; docs/sweep.md is the tutorial. In code::

    space = DesignSpace.around(base, rows=(8, 16), cols=(8, 16), dataflows=("ws", "os"))
    job = SweepJob(base, (SweepModel.of("resnet50", compiler.compile_model("resnet50.onnx")),))
    with contextlib.closing(LocalExecutor(2)) as executor:
        run = run_sweep(space, job, Path("out"), executor=executor)
    results = build_results(run, space, OBJECTIVES["edp"])

The plots live in :mod:`hwsim.sweep.plots` (imported on use: matplotlib is slow to load).
"""

from __future__ import annotations

from .area import AsicArea, AsicAreaTable, asic_area
from .executors import EXECUTORS, DaskExecutor, Executor, InlineExecutor, LocalExecutor, make_executor
from .fpga import FpgaResources, fpga_resources
from .objectives import OBJECTIVES, PARETO_AXES, Objective, pareto_mask
from .progress import ProgressBar
from .results import SweepResults, build_results
from .runner import SweepJob, SweepModel, SweepRun, run_sweep
from .space import Design, DesignSpace, parse_dataflows, parse_int_axis, split_buffers

__all__ = [
    "EXECUTORS", "OBJECTIVES", "PARETO_AXES",
    "AsicArea", "AsicAreaTable", "DaskExecutor", "Design", "DesignSpace", "Executor", "FpgaResources",
    "InlineExecutor", "LocalExecutor", "Objective", "ProgressBar", "SweepJob", "SweepModel", "SweepResults",
    "SweepRun",
    "asic_area", "build_results", "fpga_resources", "make_executor", "pareto_mask",
    "parse_dataflows", "parse_int_axis", "run_sweep", "split_buffers",
]

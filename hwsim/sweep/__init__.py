"""Design-space exploration: many accelerator designs estimated on real networks, ranked, Pareto-marked.

``hwsim sweep`` (hwsim/cli/sweep.py) is the front end; docs/sweep.md is the tutorial. In code::

    space = DesignSpace.around(base, rows=(8, 16), cols=(8, 16), dataflows=("ws", "os"))
    job = SweepJob(base, (SweepModel.of("resnet50", compiler.lower_model("resnet50.onnx")),))
    with contextlib.closing(ProcessPool(2)) as pool:
        run = run_sweep(space, job, Path("out"), pool=pool)
    results = build_results(run, space, OBJECTIVES["edp"])

The plots (:mod:`hwsim.sweep.plots`) load on first use, with matplotlib.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from hwsim.core.lazy import exports

from .fpga import FpgaResources, fpga_resources
from .objectives import OBJECTIVES, PARETO_AXES, Objective, pareto_mask
from .pools import EXECUTORS, DaskPool, InlinePool, ProcessPool, WorkerPool, make_pool
from .progress import ProgressBar
from .results import SweepResults, build_results
from .runner import SweepJob, SweepModel, SweepRun, run_sweep
from .space import Design, DesignSpace, parse_dataflows, parse_int_axis, split_buffers

if TYPE_CHECKING:
    from .plots import heatmap_png, pareto_png

__all__ = [
    "heatmap_png", "pareto_png",
    "EXECUTORS", "OBJECTIVES", "PARETO_AXES",
    "DaskPool", "Design", "DesignSpace", "WorkerPool", "FpgaResources",
    "InlinePool", "ProcessPool", "Objective", "ProgressBar", "SweepJob", "SweepModel", "SweepResults",
    "SweepRun",
    "build_results", "fpga_resources", "make_pool", "pareto_mask",
    "parse_dataflows", "parse_int_axis", "run_sweep", "split_buffers",
]
__getattr__, __dir__ = exports(__name__, {"heatmap_png": "plots", "pareto_png": "plots"})


class _CallablePackage(types.ModuleType):
    """This package, callable as :func:`hwsim.api.sweep`.

    ``hwsim.sweep`` names both the one-call API function and this package; importing the package
    makes ``hwsim.sweep`` the package, so the package forwards a call to the function. The function
    is looked up by name at call time: it sits in a layer above this one (docs/architecture.md).
    """

    def __call__(self, *args: Any, **kwargs: Any) -> SweepResults:
        return importlib.import_module("hwsim.api").sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage

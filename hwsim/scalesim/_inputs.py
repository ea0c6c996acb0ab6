"""The glue ``hwsim estimate topology.csv --scalesim-config FILE.cfg`` calls."""

from __future__ import annotations

from pathlib import Path

from hwsim.core.config import AcceleratorConfig
from hwsim.core.workload import LoweredModel

from ._config import load_scalesim_config
from ._topology import load_topology

__all__ = ["estimate_inputs"]


def estimate_inputs(topology_path: str | Path, cfg_path: str | Path) -> tuple[AcceleratorConfig, LoweredModel]:
    """The accelerator a SCALE-Sim config describes and the topology's layers as a model.

    The model is named after the topology file; its GEMM workloads carry SCALE-Sim's operand
    mapping (:func:`hwsim.scalesim.load_topology`). For the SCALE-Sim timing options (bandwidth
    mode, buffer bandwidths) call :func:`hwsim.scalesim.load_scalesim_config` as well.
    """
    cfg, _ = load_scalesim_config(cfg_path)
    layers = load_topology(topology_path)
    return cfg, LoweredModel(name=Path(topology_path).stem, workloads=layers)

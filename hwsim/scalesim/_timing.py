"""SCALE-Sim 3.0's timing as a cycle model the simulator can use in place of hwsim's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from hwsim.core.config import AcceleratorConfig
from hwsim.core.program import LayerSchedule

from ._compute import compute_cycles
from ._config import ScaleSimOptions
from ._memory import stall_cycles
from ._topology import ConvLayer

__all__ = ["ScaleSimTiming"]


@dataclass(frozen=True)
class ScaleSimTiming:
    """GEMM layers' compute cycles and memory stalls as SCALE-Sim 3.0 computes them (docs/scalesim.md).

    ``options`` come from a SCALE-Sim ``.cfg`` (:func:`hwsim.scalesim.load_scalesim_config`); without
    them the buffers move ``cfg.dram_bytes_per_cycle`` words per cycle.
    """

    options: ScaleSimOptions | None = None

    def cycle_model(self) -> Callable[[LayerSchedule, AcceleratorConfig], tuple[int, int]]:
        """``(compute, stall)`` per GEMM layer for :func:`hwsim.simulate.simulate`."""
        # Networks repeat layer shapes (ResNet-50's 54 layers have 21), and the stall model is the
        # costly part: time each distinct shape once per simulation.
        seen: dict[tuple[object, ...], tuple[int, int]] = {}

        def model(s: LayerSchedule, cfg: AcceleratorConfig) -> tuple[int, int]:
            w = s.workload
            key = (cfg, w.gemm, w.geometry if isinstance(w, ConvLayer) else None)
            if key not in seen:
                seen[key] = compute_cycles(cfg, w), stall_cycles(cfg, w, self.options)
            return seen[key]

        return model

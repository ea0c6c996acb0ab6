"""SCALE-Sim 3.0's timing as a cycle model the simulator can use in place of hwsim's own."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from hwsim.core.config import AcceleratorConfig
from hwsim.core.program import LayerSchedule, Program
from hwsim.core.workload import Kind

from ._compute import compute_cycles
from ._config import WORD_BYTES, ScaleSimOptions
from ._memory import dram_words, stall_cycles
from ._topology import ConvLayer

__all__ = ["ScaleSimTiming"]


@dataclass(frozen=True)
class ScaleSimTiming:
    """GEMM layers' compute cycles and memory stalls as SCALE-Sim 3.0 computes them (docs/scalesim.md).

    ``options`` come from a SCALE-Sim ``.cfg`` (:func:`hwsim.scalesim.load_scalesim_config`); without
    them the buffers move ``cfg.dram_bytes_per_cycle`` words per cycle.
    """

    options: ScaleSimOptions | None = None
    _words: dict[tuple[object, ...], tuple[int, int, int]] = field(default_factory=dict, compare=False, repr=False)

    def with_traffic(self, program: Program) -> Program:
        """``program`` with each GEMM layer's DRAM bytes replaced by SCALE-Sim's (the words its buffers
        fetch and drain, :func:`hwsim.scalesim.dram_words`), so that a layer's stalls, DRAM bytes and
        DRAM energy come from one model. Other layers, and the on-chip traffic, stay hwsim's."""
        layers = []
        for s in program.layers:
            if s.workload.kind is Kind.GEMM:
                w = s.workload
                key = (program.config, w.gemm, w.geometry if isinstance(w, ConvLayer) else None)
                if key not in self._words:
                    self._words[key] = dram_words(program.config, w, self.options)
                ifmap, filt, ofmap = self._words[key]
                s = replace(s, traffic=replace(s.traffic, dram_read_ifmap=ifmap * WORD_BYTES,
                                               dram_read_filter=filt * WORD_BYTES, dram_write_ofmap=ofmap * WORD_BYTES))
            layers.append(s)
        return replace(program, layers=tuple(layers))

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

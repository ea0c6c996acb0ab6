"""SCALE-Sim compatibility: its ``.cfg`` and topology ``.csv`` inputs, and its timing model.

``load_scalesim_config`` and ``load_topology`` read SCALE-Sim's files; ``compute_cycles`` reproduces
SCALE-Sim 3.0's per-layer compute cycles exactly and ``stall_cycles`` models its memory stalls
(docs/scalesim.md has the formulas and every difference from hwsim's own timing);
:class:`ScaleSimTiming` hands both to the simulator.

>>> from hwsim.core.workload import GemmShape, Kind, Workload
>>> from hwsim.core.config import AcceleratorConfig
>>> layer = Workload("Test 1", "Gemm", Kind.GEMM, GemmShape(m=256, k=256, n=128))
>>> compute_cycles(AcceleratorConfig(rows=32, cols=32, dataflow="os"), layer)
10175
"""

from __future__ import annotations

from ._compute import compute_cycles
from ._config import ScaleSimOptions, load_scalesim_config
from ._inputs import estimate_inputs
from ._memory import dram_words, stall_cycles
from ._timing import ScaleSimTiming
from ._topology import load_topology, topology_form

__all__ = [
           "ScaleSimOptions",
           "ScaleSimTiming",
           "compute_cycles",
           "dram_words",
           "estimate_inputs",
           "load_scalesim_config",
           "load_topology",
           "stall_cycles",
           "topology_form",
]

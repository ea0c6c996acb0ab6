"""SCALE-Sim compatibility: its ``.cfg`` and topology ``.csv`` inputs, and its timing model.

``load_config`` and ``load_topology`` read SCALE-Sim's files; ``compute_cycles`` reproduces
SCALE-Sim 3.0's per-layer compute cycles exactly and ``stall_cycles`` models its memory stalls
(docs/scalesim.md has the formulas and every difference from hwsim's own timing).

>>> from compiler.workload import GemmShape, Kind, Workload
>>> from hwsim.config import AcceleratorConfig
>>> layer = Workload("Test 1", "Gemm", Kind.GEMM, GemmShape(m=256, k=256, n=128))
>>> compute_cycles(AcceleratorConfig(rows=32, cols=32, dataflow="os"), layer)
10175
"""

from __future__ import annotations

from ._compute import compute_cycles
from ._config import ScaleSimOptions, load_config
from ._inputs import estimate_inputs
from ._memory import stall_cycles
from ._topology import load_topology, topology_form

__all__ = [
           "ScaleSimOptions",
           "compute_cycles",
           "estimate_inputs",
           "load_config",
           "load_topology",
           "stall_cycles",
           "topology_form",
]

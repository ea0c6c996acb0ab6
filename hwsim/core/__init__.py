"""The vocabulary every other part of hwsim shares; it imports nothing else of ours.

========================  =================================================================
module                    holds
========================  =================================================================
:mod:`.config`            :class:`AcceleratorConfig` and every quantity derived from it
:mod:`.errors`            :class:`UserError` (exit 2) and :class:`InternalError` (exit 3)
:mod:`.workload`          what a layer asks of the hardware: GEMM shapes, vector work
:mod:`.program`           the tile program: tiles, their placements, traffic, per-layer schedules
:mod:`.timing`            cycles of one tile on the array (the RTL-proven model)
:mod:`.golden`            the golden integer GEMM that the RTL and ``hwsim run`` share
:mod:`.files`             reading users' text files, writing outputs whole or not at all
:mod:`.lazy`              the one lazy-export helper of the package ``__init__`` modules
========================  =================================================================

docs/architecture.md draws the layers and the rule that imports point down only.
"""

from __future__ import annotations

__version__ = "0.1.0"

"""ONNX to a tiled systolic-array program: import, clean-up passes, lowering, tiling."""

from __future__ import annotations

"""MatMul's ONNX semantics for values known at compile time; on the array, MatMul runs tile by tile
(``hwsim.execute``)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._env import Kernel, OpEnv


def _matmul(env: OpEnv, xs: Sequence[np.ndarray | None]) -> np.ndarray:
    return np.matmul(xs[0], xs[1])


KERNELS: dict[str, Kernel] = {"MatMul": _matmul}

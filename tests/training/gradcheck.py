"""Central finite differences in float64, independent of the backward program they check.

The loss is evaluated by the training step's forward part alone (the graph cut down to its loss),
as a function of one parameter or input element. ReLU-like operators, max pooling and clipping make
the loss piecewise smooth: a difference quotient that straddles a kink measures neither side's
derivative. So each sampled element is differenced at two steps, ``h`` and ``2h``; when the two
quotients disagree beyond what the smooth error terms allow, a kink lies within ``2h``: the element
is differenced again at ``h / 10`` (a kink that near is common where a bias feeds every position of
a channel through ReLU6s), and if the quotients still disagree, another element is sampled (the
count of such elements is reported). The estimate is the Richardson
combination ``(4 q(h) − q(2h)) / 3``, exact up to ``O(h⁴)``.

The error of a gradient element ``g`` against its estimate ``d`` is ``|g − d| / max(|g|, |d|, FLOOR)``:
relative, except for elements whose size is below what differences of a float64 loss resolve
(``FLOOR``): the roundoff of ``ε·|loss| / h`` is about 1e-11·|loss| at ``h = 1e-5``, so an
element below ``FLOOR`` is held to an absolute error of ``TOL·FLOOR`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

from compiler.graph import Graph
from compiler.passes import dead_code
from compiler.training import names
from hwsim.execute._executor import Compiled, Executor
from hwsim.execute._training import CompiledStep

STEP = 1e-5
FLOOR = 1e-3
#: Two quotients of a smooth loss differ by about h²·f'''/2; beyond this share, a kink is inside.
SMOOTH = 1e-6


@dataclass
class Result:
    checked: list[tuple[str, tuple[int, ...], float, float, float]] = field(default_factory=list)
    kinks: int = 0

    @property
    def worst(self) -> float:
        return max((e for *_, e in self.checked), default=0.0)

    def failures(self, tol: float) -> list[tuple[str, tuple[int, ...], float, float, float]]:
        return [c for c in self.checked if c[-1] > tol]


def _loss_executor(step: CompiledStep) -> tuple[Executor, Graph]:
    graph = dead_code.run(replace(step.compiled.graph, outputs=(names.LOSS,)))
    return Executor(Compiled(graph=graph, program=step.compiled.program)), graph


def feeds_of(step: CompiledStep, inputs: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray]
             ) -> dict[str, np.ndarray]:
    graph = step.compiled.graph
    feeds = {name: np.asarray(v).astype(graph.info(name).dtype) for name, v in inputs.items()}
    feeds.update({names.target(o): np.asarray(v).astype(graph.info(names.target(o)).dtype) for o, v in targets.items()})
    return feeds


def check(step: CompiledStep, inputs: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray],
          grads: Mapping[str, np.ndarray], *, rng: np.random.Generator, per_tensor: int = 2,
          tensors: list[str] | None = None, tries: int = 8) -> Result:
    """Sample ``per_tensor`` elements of each tensor in ``tensors`` (default: every parameter and
    every float input that has a gradient in ``grads``) and difference the loss at each."""
    executor, graph = _loss_executor(step)
    base_feeds = feeds_of(step, inputs, targets)
    if tensors is None:
        tensors = [n for n in list(step.program.parameters) + list(step.program.model_inputs) if names.grad(n) in grads]
    result = Result()

    def loss(name: str, value: np.ndarray) -> float:
        feeds = dict(base_feeds)
        feeds[name] = value
        return float(executor.run({k: v for k, v in feeds.items() if k in graph.inputs or k == name})[names.LOSS])

    for name in tensors:
        base = (step.compiled.graph.constants[name] if name in step.program.parameters else base_feeds[name]).astype(np.float64)
        g = grads[names.grad(name)]
        accepted = 0
        for _ in range(tries):
            if accepted == per_tensor:
                break
            idx = tuple(int(rng.integers(0, d)) for d in base.shape)
            smooth = None
            for h in (STEP * max(1.0, abs(float(base[idx]))) / 10 ** j for j in range(2)):
                quotients = []
                for step_size in (h, 2 * h):
                    up, down = base.copy(), base.copy()
                    up[idx] += step_size
                    down[idx] -= step_size
                    quotients.append((loss(name, up) - loss(name, down)) / (2 * step_size))
                q1, q2 = quotients
                if abs(q1 - q2) <= SMOOTH * max(abs(q1), FLOOR):
                    smooth = q1, q2
                    break
            if smooth is None:
                result.kinks += 1
                continue
            q1, q2 = smooth
            estimate = (4 * q1 - q2) / 3
            analytic = float(g[idx])
            error = abs(analytic - estimate) / max(abs(analytic), abs(estimate), FLOOR)
            result.checked.append((name, idx, analytic, estimate, error))
            accepted += 1
    return result

"""The updated weights and optimizer states equal the optimizers' published update rules applied by
hand, element by element in Python floats, to the step's own gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest

from compiler.training import TrainingOptions, names
from hwsim.core.config import preset
from hwsim.execute._training import compile_training_step, training_step

from . import models

CFG = preset("gemmini-like")
LR, MU, B1, B2, EPS, DECAY, T = 0.05, 0.8, 0.85, 0.99, 1e-6, 0.1, 3


def _sgd(w, g, states):
    """torch.optim.SGD (no momentum) with L2 weight decay: θ ← θ − γ(g + λθ)."""
    return w - LR * (g + DECAY * w), []


def _momentum(w, g, states):
    """torch.optim.SGD with momentum μ, no dampening: b ← μb + (g + λθ); θ ← θ − γb."""
    (b,) = states
    b = MU * b + (g + DECAY * w)
    return w - LR * b, [b]


def _adam(w, g, states, decoupled=False):
    """torch.optim.Adam (L2 decay added to the gradient) / AdamW (θ ← θ − γλθ first), step t."""
    m, v = states
    if decoupled:
        w_decayed = w - LR * DECAY * w
    else:
        g = g + DECAY * w
        w_decayed = w
    m = B1 * m + (1 - B1) * g
    v = B2 * v + (1 - B2) * g * g
    m_hat = m / (1 - B1 ** T)
    v_hat = v / (1 - B2 ** T)
    return w_decayed - LR * m_hat / (math.sqrt(v_hat) + EPS), [m, v]


RULES = {"sgd": _sgd, "momentum": _momentum, "adam": _adam, "adamw": lambda w, g, s: _adam(w, g, s, decoupled=True)}


@pytest.mark.parametrize("optimizer", sorted(RULES))
def test_update_follows_the_optimizer(optimizer: str) -> None:
    model, inputs = models.gemm()
    options = TrainingOptions(loss="mse", optimizer=optimizer, lr=LR, momentum=MU, beta1=B1, beta2=B2, epsilon=EPS,
                              weight_decay=DECAY, step=T)
    step = compile_training_step(model, CFG, options, precision="fp64")
    graph = step.compiled.graph
    rng = np.random.default_rng(3)
    targets = {t[len("target:"):]: rng.standard_normal(graph.shape(t)) for t in step.program.targets}
    kinds = names.STATES[optimizer]
    # Non-zero states, as after earlier steps (Adam's second moment is non-negative).
    states = {names.state(k, p): np.abs(rng.standard_normal(graph.shape(p))) * (0.01 if k == "v" else 0.5)
              for p in step.program.parameters for k in kinds}
    out = training_step(step, inputs, targets, states=states)
    assert step.program.parameters
    for p in step.program.parameters:
        w = graph.constants[p].astype(np.float64)
        g = out[names.grad(p)]
        want_w = np.empty_like(w)
        want_s = [np.empty_like(w) for _ in kinds]
        for idx in np.ndindex(w.shape):
            new_w, new_s = RULES[optimizer](float(w[idx]), float(g[idx]), [float(states[names.state(k, p)][idx]) for k in kinds])
            want_w[idx] = new_w
            for dst, value in zip(want_s, new_s):
                dst[idx] = value
        np.testing.assert_allclose(out[names.updated(p)], want_w, rtol=1e-12, atol=1e-15, err_msg=p)
        for k, want in zip(kinds, want_s):
            np.testing.assert_allclose(out[names.updated(names.state(k, p))], want, rtol=1e-12, atol=1e-15, err_msg=k)
        assert not np.allclose(out[names.updated(p)], w)  # the step moved the weight


def test_zero_states_by_default() -> None:
    """States left out start at zero: Adam's first step moves each weight by about lr·sign(g)."""
    model, inputs = models.gemm()
    step = compile_training_step(model, CFG, TrainingOptions(loss="mse", optimizer="adam", lr=LR), precision="fp64")
    rng = np.random.default_rng(4)
    targets = {t[len("target:"):]: rng.standard_normal(step.compiled.graph.shape(t)) for t in step.program.targets}
    out = training_step(step, inputs, targets)
    for p in step.program.parameters:
        w, g = step.compiled.graph.constants[p], out[names.grad(p)]
        moved = w - out[names.updated(p)]
        big = np.abs(g) > 1e-3  # where ε = 1e-8 is negligible against |g|
        np.testing.assert_allclose(moved[big], LR * np.sign(g[big]), rtol=1e-4)

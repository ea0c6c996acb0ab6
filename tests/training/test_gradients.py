"""The executed training step's gradients equal central finite differences of its loss, in float64.

Every gradient comes from ``hwsim run --training-step``'s executor (array layers tile by tile, the
derived backward program); every estimate from differencing the loss of the forward program alone
(:mod:`tests.training.gradcheck`). Each backward rule family has its own model, so a failure names
the family; the zoo models check the rules working together.
"""

from __future__ import annotations

import numpy as np
import pytest

from compiler import zoo
from compiler.training import TrainingOptions
from hwsim.core.config import preset
from hwsim.execute._training import compile_training_step, training_step

from . import gradcheck, models

#: The issue's bound: relative error of sampled elements against central differences.
TOL = 1e-6
CFG = preset("gemmini-like")


def _targets(step, rng: np.random.Generator) -> dict[str, np.ndarray]:
    graph = step.compiled.graph
    out = {}
    for target in step.program.targets:
        info = graph.info(target)
        output = target[len("target:"):]
        if info.dtype == "int64":  # class indices of the logits' last axis
            out[output] = rng.integers(0, graph.shape(output)[-1], info.shape)
        else:
            out[output] = rng.standard_normal(info.shape)
    return out


def _check(model, inputs, *, loss: str, per_tensor: int, min_checked: int, input_grads: bool = True,
           tries: int = 8) -> gradcheck.Result:
    step = compile_training_step(model, CFG, TrainingOptions(loss=loss, input_grads=input_grads), precision="fp64")
    rng = np.random.default_rng(0)
    targets = _targets(step, rng)
    grads = training_step(step, inputs, targets)
    result = gradcheck.check(step, inputs, targets, grads, rng=rng, per_tensor=per_tensor, tries=tries)
    assert not result.failures(TOL), result.failures(TOL)[:3]
    # Enough elements were compared (kinks may make a few draws unusable), of every parameter.
    assert len(result.checked) >= min_checked, (len(result.checked), result.kinks)
    checked = {name for name, *_ in result.checked}
    assert set(step.program.parameters) <= checked, set(step.program.parameters) - checked
    return result


@pytest.mark.parametrize("family", sorted(models.FAMILIES))
def test_family_gradients_match_finite_differences(family: str) -> None:
    model, inputs = models.FAMILIES[family]()
    _check(model, inputs, loss="mse", per_tensor=3, min_checked=6)


def test_cross_entropy_gradients_match_finite_differences() -> None:
    """xent reads the logits under the final Softmax; the target is class indices."""
    model, inputs = models.softmax()
    _check(model, inputs, loss="xent", per_tensor=3, min_checked=6)


def test_first_layer_input_gets_no_gradient() -> None:
    """Without input gradients the step computes none for the model's input (no dX of layer one)."""
    model, inputs = models.conv()
    step = compile_training_step(model, CFG, TrainingOptions(loss="mse"), precision="fp64")
    grads = training_step(step, inputs, _targets(step, np.random.default_rng(0)))
    assert "grad:x" not in grads
    first = step.compiled.graph.nodes[0]
    readers = [n for n in step.compiled.graph.nodes if n.meta.phase == "backward-data" and n.op_type == "ConvTranspose"
               and first.inputs[1] in n.inputs]
    assert not readers  # the first Conv's weight serves no data gradient


_ZOO_FAST = {
    "resnet18": lambda: zoo.resnet18(weights=True, batch=2, image=32, num_classes=5, width=8),
    "bert": lambda: zoo.bert(weights=True, layers=1, hidden=16, heads=2, vocab=20, max_positions=8, batch=2, seq=4),
    "gpt": lambda: zoo.gpt(weights=True, layers=1, hidden=16, heads=2, vocab=20, max_positions=8, batch=2, seq=4),
    "ocr_cls": lambda: zoo.ocr_cls(weights=True, batch=1),
}
_ZOO_SLOW = {
    "resnet50": lambda: zoo.resnet50(weights=True, batch=2, image=32, num_classes=5, width=16),
    "mobilenet_v2": lambda: zoo.mobilenet_v2(weights=True, batch=2, image=32, num_classes=5, width_mult=0.25),
    "ocr_rec": lambda: zoo.ocr_rec(weights=True, batch=1, width=32, num_classes=7),
    "ocr_det": lambda: zoo.ocr_det(weights=True, batch=1, height=32, width=32, neck=8),
}


def _zoo_inputs(model_name: str, step) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    graph = step.compiled.graph
    inputs = {}
    for name in step.program.model_inputs:
        info = graph.info(name)
        if info.dtype.startswith("float"):
            inputs[name] = rng.standard_normal(info.shape)
        elif "mask" in name:
            inputs[name] = np.ones(info.shape, np.int64)
        else:  # token ids below the tiny vocabulary
            inputs[name] = rng.integers(0, 20, info.shape)
    return inputs


def _zoo(name: str, build) -> None:
    model = build()
    loss = "mse" if name == "ocr_det" else "xent"  # ocr_det's output is a probability map
    step = compile_training_step(model, CFG, TrainingOptions(loss=loss), precision="fp64")
    # Kinks are dense in a narrow random MobileNet (ReLU6): draw until a smooth element turns up.
    _check(model, _zoo_inputs(name, step), loss=loss, per_tensor=1, min_checked=len(step.program.parameters),
           input_grads=False, tries=32)


@pytest.mark.parametrize("name", sorted(_ZOO_FAST))
def test_zoo_gradients_match_finite_differences(name: str) -> None:
    _zoo(name, _ZOO_FAST[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_ZOO_SLOW))
def test_zoo_gradients_match_finite_differences_slow(name: str) -> None:
    _zoo(name, _ZOO_SLOW[name])


def test_recomputation_gives_the_same_step() -> None:
    """With --recompute all the backward pass reads rebuilt activations: the same loss, gradients and
    updates, bit for bit in float64 (the recomputed layers run the same tiles on the same inputs)."""
    model, inputs = models.conv_network()
    results = []
    for mode in ("none", "all"):
        step = compile_training_step(model, CFG, TrainingOptions(loss="mse", recompute=mode), precision="fp64")
        if mode == "all":
            assert any(n.meta.phase == "recompute" for n in step.compiled.graph.nodes)
        results.append(training_step(step, inputs, _targets(step, np.random.default_rng(0))))
    none, every = results
    assert none.keys() == every.keys()
    for name in none:
        np.testing.assert_array_equal(every[name], none[name], err_msg=name)

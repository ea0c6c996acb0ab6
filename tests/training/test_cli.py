"""``hwsim estimate --training`` and ``hwsim run --training-step`` as a user runs them."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import onnx
import pytest

from compiler import zoo
from hwsim import api
from hwsim.core.config import preset
from hwsim.report import SCHEMA

from tests.cli.conftest import run_hwsim

from .test_shapes import _cnn

VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
PHASES = ["forward", "backward-data", "backward-weight", "optimizer"]


def _estimate(model, cfg="gemmini-like", **training) -> dict:
    batch = training.pop("batch", None)
    report = api.estimate(model, cfg, training=api.TrainingOptions(**training), batch=batch)
    d = json.loads(report.to_json())
    VALIDATOR.validate(d)
    return d


def test_training_report_phases_and_totals() -> None:
    d = _estimate(_cnn(), loss="mse", optimizer="adam")
    t = d["training"]
    assert list(t["phases"]) == PHASES
    assert all(layer["phase"] in PHASES for layer in d["layers"])
    for phase, totals in t["phases"].items():
        layers = [layer for layer in d["layers"] if layer["phase"] == phase]
        assert totals["macs"] == sum(layer["macs"] for layer in layers)
        assert totals["cycles"] == sum(layer["cycles"] for layer in layers)
    assert t["step_cycles"] == d["totals"]["cycles"] == sum(p["cycles"] for p in t["phases"].values())
    assert t["samples_per_s"] == pytest.approx(3 / t["step_time_s"])  # batch 3


def test_training_memory_by_hand() -> None:
    """The CNN of test_shapes on gemmini-like (int8 weights, so fp32 master copies) with Adam."""
    d = _estimate(_cnn(), loss="mse", optimizer="adam")["training"]["memory"]
    params = 6 * 4 * 3 * 3 + 8 * 3 * 3 * 2 + 8 + 10 * 72  # conv1, conv2 + bias, fc (no bias)
    assert _estimate(_cnn(), loss="mse", optimizer="adam")["training"]["parameters"] == params
    assert d["weight_bytes"] == params and d["gradient_bytes"] == params
    assert d["optimizer_state_bytes"] == params * (2 + 1) * 4  # m, v and the master weight in fp32
    # Stashed for the backward pass, all live when it starts: the input (conv1's dW), conv1's output
    # (conv2's dW), conv2's output (the fc's dW, through Flatten) and the fc's output (the loss gradient).
    assert d["stash_bytes"] == 3 * 4 * 6 * 7 + 3 * 6 * 6 * 7 + 3 * 8 * 3 * 3 + 3 * 10
    assert d["total_bytes"] == d["stash_bytes"] + 2 * params + params * 12


def test_step_that_does_not_fit_dram_says_by_how_much_and_recompute_shrinks_it() -> None:
    # A narrow ResNet-18 whose 32 samples stash about 1.2 MB, more than a 1 MiB DRAM; its weights,
    # gradients and fp32 master weights (176,762 parameters) fit on their own.
    model = zoo.resnet18(batch=32, image=64, num_classes=10, width=8)
    cfg = preset("gemmini-like").replace(dram_gib=1 / 1024)
    none = _estimate(model, cfg, optimizer="sgd")
    t = none["training"]
    dram = 1 << 20
    assert not t["fits_dram"] and t["dram_shortfall_bytes"] == t["memory"]["total_bytes"] - dram > 0
    assert t["capacities"][-1] == {"memory": "DRAM", "key": "dram_gib", "bytes": dram,
                                   "fits": {"stash": False, "weights": True, "gradients": True,
                                            "optimizer_state": True, "total": False}}
    table = api.estimate(model, cfg, training=api.TrainingOptions()).to_table()
    assert "does not fit: the step needs" in table and "over" in table
    every = _estimate(model, cfg, optimizer="sgd", recompute="all")["training"]
    assert every["memory"]["stash_bytes"] < t["memory"]["stash_bytes"]
    assert every["phases"]["recompute"]["cycles"] > 0 and every["phases"]["recompute"]["macs"] > 0
    for phase in ("backward-data", "backward-weight"):  # the same gradients, the same work
        assert every["phases"][phase]["macs"] == t["phases"][phase]["macs"]
    assert every["step_cycles"] > t["step_cycles"]


def test_resnet50_training_on_tpu_v1_like_cli(tmp_path) -> None:
    r = run_hwsim("estimate", "resnet50", "--training", "--batch", "32", "--optimizer", "adam", "--preset",
                  "tpu-v1-like", "--json", "-")
    assert r.code == 0, r.err
    d = json.loads(r.out)
    VALIDATOR.validate(d)
    assert list(d["training"]["phases"]) == PHASES and d["training"]["batch"] == 32
    again = run_hwsim("estimate", "resnet50", "--training", "--batch", "32", "--optimizer", "adam", "--preset",
                      "tpu-v1-like", "--json", "-")
    assert again.out == r.out  # byte-identical


@pytest.mark.slow
def test_resnet50_training_on_gemmini_like_cli() -> None:
    r = run_hwsim("estimate", "resnet50", "--training", "--batch", "32", "--optimizer", "adam", "--preset",
                  "gemmini-like", "--json", "-")
    assert r.code == 0, r.err
    assert list(json.loads(r.out)["training"]["phases"]) == PHASES


@pytest.mark.parametrize("args, words", [
    (["--optimizer", "adam"], "--optimizer applies to --training only"),
    (["--training", "--allow-unsupported"], "--allow-unsupported does not apply to --training"),
    (["--training", "--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
])
def test_estimate_training_flag_errors(args: list[str], words: str) -> None:
    r = run_hwsim("estimate", "resnet18", *args)
    assert r.code == 2 and words in r.err and len(r.err.strip().splitlines()) <= 2, r.err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("step")
    onnx.save(zoo.resnet18(weights=True, batch=2, image=32, num_classes=5, width=8), d / "r18.onnx")
    np.save(d / "x.npy", np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32))
    np.save(d / "y.npy", np.array([1, 3]))
    return d


def test_run_training_step_writes_gradients_and_updates(files) -> None:
    out = files / "grads.npz"
    args = ["run", str(files / "r18.onnx"), "--training-step", "--input", f"input={files / 'x.npy'}", "--target",
            f"output={files / 'y.npy'}", "--optimizer", "momentum", "--lr", "0.1", "--output", str(out)]
    r = run_hwsim(*args)
    assert r.code == 0, r.err
    assert r.out.startswith("loss: ")
    saved = np.load(out)
    params = [k[len("grad:"):] for k in saved.files if k.startswith("grad:")]
    assert len(params) == 42 and saved["loss"].shape == ()
    model = onnx.load(files / "r18.onnx")
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    for p in params:  # momentum from zero velocity: v' = g, w' = w − lr·g
        np.testing.assert_allclose(saved[f"updated:{p}"], weights[p] - 0.1 * saved[f"grad:{p}"], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(saved[f"updated:state:velocity:{p}"], saved[f"grad:{p}"])
    first = out.read_bytes()
    assert run_hwsim(*args).code == 0 and out.read_bytes() == first  # byte-identical


def test_run_training_step_bad_target_leaves_no_file(files) -> None:
    out = files / "bad.npz"
    r = run_hwsim("run", str(files / "r18.onnx"), "--training-step", "--input", f"input={files / 'x.npy'}",
                  "--target", f"logits={files / 'y.npy'}", "--output", str(out))
    assert r.code == 2 and r.err.startswith("error: --target: the model has no output 'logits'") and not out.exists()
    r = run_hwsim("run", str(files / "r18.onnx"), "--input", f"input={files / 'x.npy'}", "--precision", "fp64")
    assert r.code == 2 and "--precision fp64 applies to --training-step only" in r.err
    np.save(files / "class7.npy", np.array([7, 1]))  # 5 classes
    r = run_hwsim("run", str(files / "r18.onnx"), "--training-step", "--input", f"input={files / 'x.npy'}",
                  "--target", f"output={files / 'class7.npy'}", "--output", str(out))
    assert r.code == 2 and r.err == "error: --target output: class indices must be from 0 to 4, got 1 to 7\n"
    assert not out.exists()

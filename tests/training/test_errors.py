"""A model the training builder cannot differentiate is one clear error naming the operator and node."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto

from compiler.pipeline import lower_training
from compiler.training import TrainingOptions
from hwsim.core.errors import UserError

from tests.execute.models import Net


def _model(op: str, **attrs):
    b = Net(0)
    h = b.op("MatMul", "x", b.weight(4, 4))
    extra = [b.const(np.array([1.0, 1.0, 2.0], np.float32))] if op == "Resize" else []
    y = b.op(op, h, *([""] if op == "Resize" else []), *extra, **attrs)
    return b.model([("x", TensorProto.FLOAT, (2, 3, 4))], [y], opset=18)


@pytest.mark.parametrize("op, attrs, words", [
    ("LeakyRelu", {"alpha": 0.1}, ["LeakyRelu", "LeakyRelu_node_", "no backward rule"]),
    ("Resize", {"mode": "linear"}, ["Resize", "Resize_node_", "mode 'linear'"]),
])
def test_unsupported_backward_names_the_operator(op: str, attrs: dict, words: list[str]) -> None:
    with pytest.raises(UserError) as err:
        lower_training(_model(op, **attrs), TrainingOptions(loss="mse"))
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_unsupported_operator_off_the_gradient_path_is_fine() -> None:
    """An operator without a rule that no gradient passes through (here on the input's path before
    any parameter) does not stop training."""
    b = Net(0)
    h = b.op("LeakyRelu", "x", alpha=0.1)
    y = b.op("MatMul", h, b.weight(4, 4))
    model = b.model([("x", TensorProto.FLOAT, (2, 3, 4))], [y])
    lowered = lower_training(model, TrainingOptions(loss="mse"))
    assert {w.phase for w in lowered.workloads} >= {"forward", "backward-weight", "optimizer"}
    assert not [w for w in lowered.workloads if w.phase == "backward-data" and w.op == "LeakyRelu"]


def test_bad_option_is_a_user_error() -> None:
    with pytest.raises(UserError, match="--optimizer 'rmsprop': choose one of sgd, momentum, adam, adamw"):
        TrainingOptions(optimizer="rmsprop")

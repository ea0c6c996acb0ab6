"""Whole networks in fp32, tile by tile, against onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

from compiler import zoo

from .helpers import CFG, assert_fp32_equal, hwsim_outputs, ort_outputs
from .models import conv_zoo

RNG = np.random.default_rng(7)


def _image(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _tokens(batch: int, seq: int, vocab: int) -> np.ndarray:
    return RNG.integers(0, vocab, (batch, seq)).astype(np.int64)


CASES = {
    "conv_attributes": lambda: (conv_zoo(), {"x": _image(2, 3, 33, 29)}),
    "resnet18": lambda: (zoo.resnet18(weights=True, image=32, num_classes=10), {"input": _image(1, 3, 32, 32)}),
    "mobilenet_v2": lambda: (zoo.mobilenet_v2(weights=True, image=32, num_classes=10), {"input": _image(1, 3, 32, 32)}),
    "bert": lambda: (
        zoo.bert(weights=True, layers=2, hidden=64, heads=4, vocab=100, max_positions=32),
        {"input_ids": _tokens(2, 16, 100),
         "attention_mask": np.concatenate([np.ones((2, 11), np.int64), np.zeros((2, 5), np.int64)], axis=1)},
    ),
    "gpt": lambda: (zoo.gpt(weights=True, layers=2, hidden=64, heads=4, vocab=100, max_positions=32),
                    {"input_ids": _tokens(2, 16, 100)}),
    "ocr_det": lambda: (zoo.ocr_det(weights=True, batch=1, height=64, width=64), {"x": _image(1, 3, 64, 64)}),
    "ocr_rec": lambda: (zoo.ocr_rec(weights=True, batch=1, width=64, num_classes=20), {"x": _image(1, 3, 48, 64)}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fp32_equals_onnxruntime(name):
    model, feeds = CASES[name]()
    assert_fp32_equal(hwsim_outputs(model, feeds), ort_outputs(model, feeds))


def test_other_array_shapes_and_dataflows_give_the_same_values():
    """Tiles of another size or loop order, or a per-tap reduction, change nothing but the K split's rounding."""
    model, feeds = CASES["conv_attributes"]()
    ref = ort_outputs(model, feeds)
    for cfg in (CFG.replace(rows=4, cols=8, ofmap_kib=1.0), CFG.replace(dataflow="os"), CFG.replace(dataflow="is"),
                CFG.replace(conv_reduction="per_tap")):
        assert_fp32_equal(hwsim_outputs(model, feeds, cfg), ref)


def test_literal_tile_by_tile_equals_grouped_tiles():
    model, feeds = CASES["conv_attributes"]()
    cfg = CFG.replace(rows=4, cols=4, ofmap_kib=0.25, ifmap_kib=0.25, filter_kib=0.25)
    grouped = hwsim_outputs(model, feeds, cfg)
    literal = hwsim_outputs(model, feeds, cfg, literal=True)
    for name in grouped:
        np.testing.assert_allclose(literal[name], grouped[name], rtol=1e-6, atol=1e-6)

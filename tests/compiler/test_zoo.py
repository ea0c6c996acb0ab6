"""Zoo models: valid ONNX, runnable in onnxruntime, deterministic, and with exactly counted MACs."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from compiler import lower_model
from compiler.zoo import MODELS, bert, gpt, mobilenet_v2, ocr_cls, ocr_det, ocr_rec, resnet18, resnet50

from .helpers import checked_run, ort_macs

# Small configurations that run in onnxruntime in well under a second each.
SMALL = {
    "resnet18": (dict(image=64, num_classes=10, width=16), {"input": (1, 3, 64, 64)}),
    "resnet50": (dict(image=64, num_classes=10, width=8, batch=2), {"input": (2, 3, 64, 64)}),
    "mobilenet_v2": (dict(image=64, num_classes=10, width_mult=0.5), {"input": (1, 3, 64, 64)}),
    "bert": (dict(layers=2, hidden=32, heads=4, vocab=50, max_positions=24),
             {"input_ids": (2, 12), "attention_mask": (2, 12)}),
    "gpt": (dict(layers=2, hidden=32, heads=4, vocab=50, max_positions=24), {"input_ids": (2, 12)}),
    "ocr_det": (dict(neck=32), {"x": (1, 3, 64, 96)}),
    "ocr_rec": (dict(width=64, num_classes=40), {"x": (2, 3, 48, 64)}),
    "ocr_cls": (dict(), {"x": (2, 3, 48, 192)}),
}


def test_every_builder_has_a_small_case():
    assert set(SMALL) == set(MODELS)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_macs_equal_an_independent_count_from_onnxruntime_shapes(name):
    kwargs, shapes = SMALL[name]
    model = MODELS[name](weights=True, **kwargs)
    feeds = checked_run(model, shapes)
    pins = {k: v for k, v in shapes.items() if k != "attention_mask"}  # pinned through its symbols
    lowered = lower_model(model, input_shapes=pins)
    assert lowered.macs == ort_macs(model, feeds)
    assert not lowered.skipped


@pytest.mark.parametrize("name", sorted(SMALL))
def test_weightless_model_estimates_like_the_full_one(name):
    kwargs, shapes = SMALL[name]
    pins = {k: v for k, v in shapes.items() if k != "attention_mask"}
    full = lower_model(MODELS[name](weights=True, **kwargs), input_shapes=pins)
    bare = lower_model(MODELS[name](weights=False, **kwargs), input_shapes=pins)
    assert bare == full


@pytest.mark.parametrize("name", sorted(SMALL))
def test_builders_are_deterministic(name):
    kwargs, _ = SMALL[name]
    assert MODELS[name](weights=True, **kwargs).SerializeToString() == \
        MODELS[name](weights=True, **kwargs).SerializeToString()
    assert MODELS[name](**kwargs).SerializeToString() == MODELS[name](**kwargs).SerializeToString()


def test_weightless_models_reference_an_absent_data_file():
    model = resnet18()
    tensors = list(model.graph.initializer)
    assert tensors and all(t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data for t in tensors
                           if len(t.dims) > 1)
    assert model.ByteSize() < 100_000


# Published totals (torchvision's model cards list 1.81, 4.09 and 0.30 G multiply-adds at 224x224).
@pytest.mark.parametrize("builder, published", [(resnet18, 1.81), (resnet50, 4.09), (mobilenet_v2, 0.30)])
def test_imagenet_models_match_published_multiply_adds(builder, published):
    assert round(lower_model(builder()).macs / 1e9, 2) == published


def _resnet_macs(blocks: list[int], bottleneck: bool, image: int = 224, classes: int = 1000) -> int:
    """Layer-by-layer count written from the paper's table: out_h * out_w * c_out * c_in * k * k."""
    total = (image // 2) ** 2 * 64 * 3 * 49
    size, cin = image // 4, 64
    for stage, (count, width) in enumerate(zip(blocks, (64, 128, 256, 512))):
        for i in range(count):
            stride = 2 if stage and i == 0 else 1
            out = size // stride
            cout = width * (4 if bottleneck else 1)
            if bottleneck:
                total += size * size * width * cin + out * out * width * width * 9 + out * out * cout * width
            else:
                total += out * out * width * cin * 9 + out * out * width * width * 9
            if stride != 1 or cin != cout:
                total += out * out * cout * cin
            size, cin = out, cout
    return total + cin * classes


def test_resnets_match_a_per_layer_count():
    assert lower_model(resnet18()).macs == _resnet_macs([2, 2, 2, 2], False)
    assert lower_model(resnet50()).macs == _resnet_macs([3, 4, 6, 3], True)
    assert lower_model(resnet50(image=160, batch=2)).macs == 2 * _resnet_macs([3, 4, 6, 3], True, 160)


@pytest.mark.parametrize("seq", [128, 384])
def test_bert_base_matches_the_closed_form(seq):
    layers, hidden, inter = 12, 768, 3072
    per_layer = 4 * seq * hidden**2 + 2 * seq**2 * hidden + 2 * seq * hidden * inter
    lowered = lower_model(bert(), input_shapes={"input_ids": (1, seq)})
    assert lowered.macs == layers * per_layer + hidden**2


def test_gpt2_small_matches_the_closed_form():
    seq, hidden, vocab = 64, 768, 50257
    per_layer = 12 * seq * hidden**2 + 2 * seq**2 * hidden
    lowered = lower_model(gpt(), input_shapes={"input_ids": (2, seq)})
    assert lowered.macs == 2 * (12 * per_layer + seq * hidden * vocab)


def test_ocr_models_estimate_at_pinned_sizes():
    det = lower_model(ocr_det(), input_shapes={"x": (1, 3, 640, 640)})
    ops = {w.op for w in det.workloads}
    assert {"ConvTranspose+Relu", "ConvTranspose+Sigmoid", "BatchNormalization", "Resize", "Conv+HardSigmoid"} <= ops
    # Every BatchNorm but the one after the Concat folded into its producer:
    assert sum(w.op == "BatchNormalization" for w in det.workloads) == 1
    rec = lower_model(ocr_rec(), input_shapes={"x": (4, 3, 48, 320)})
    head = [w for w in rec.workloads if w.op == "MatMul+Add"][-1]
    assert (head.gemm.m, head.gemm.k, head.gemm.n) == (4 * 80, 96, 6625)
    cls = lower_model(ocr_cls(), input_shapes={"x": (1, 3, 48, 192)})
    assert cls.workloads[-1].op == "Softmax"


def test_saved_zoo_model_loads_from_disk(tmp_path: Path):
    path = tmp_path / "mnv2.onnx"
    onnx.save(mobilenet_v2(), path)
    lowered = lower_model(path)
    assert lowered.macs == lower_model(mobilenet_v2()).macs
    depthwise = [w for w in lowered.workloads if w.gemm and w.gemm.groups > 1]
    assert len(depthwise) == 17 and all(w.gemm.k == 9 and w.gemm.n == 1 for w in depthwise)

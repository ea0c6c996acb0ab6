"""Models built with ``onnx.helper``, torch-free and deterministic, shaped like real exports.

Every builder takes ``weights``: ``False`` (the default) gives external-data references with no data
file, enough for ``hwsim estimate`` and instant to build; ``True`` gives deterministic random weights
(``numpy.random.default_rng(seed)``) so the model runs in onnxruntime.

>>> sorted(MODELS)[:3]
['bert', 'gpt', 'mobilenet_v2']
"""

from __future__ import annotations

from typing import Callable

import onnx

from .ocr import ocr_cls, ocr_det, ocr_rec
from .transformers import bert, gpt
from .vision import mobilenet_v2, resnet18, resnet50

__all__ = ["MODELS", "resnet18", "resnet50", "mobilenet_v2", "bert", "gpt", "ocr_det", "ocr_rec", "ocr_cls"]

#: Builders by name.
MODELS: dict[str, Callable[..., onnx.ModelProto]] = {
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "bert": bert,
    "gpt": gpt,
    "ocr_det": ocr_det,
    "ocr_rec": ocr_rec,
    "ocr_cls": ocr_cls,
}

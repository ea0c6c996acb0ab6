"""Plots that read on real networks: no text over other text, nothing outside the image, no
warnings, and the same bytes every time in every format."""

from __future__ import annotations

import itertools
import warnings

import pytest
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.text import Text

import compiler
from compiler.zoo import MODELS
from hwsim.core.config import preset
from hwsim.plots import render
from hwsim.simulate import simulate

from .reports import make_report


def _report(name: str, **shapes) -> dict:
    program = compiler.compile_model(MODELS[name](weights=False), preset("gemmini-like"), input_shapes=shapes or None)
    return simulate(program).to_dict()


def _drawn_texts(fig) -> list[tuple[Text, object]]:
    """Every text the renderer actually draws (ticks outside the view are not), with its box."""
    drawn: list[Text] = []
    original = RendererAgg.draw_text

    def record(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if mtext is not None and s.strip():
            drawn.append(mtext)
        return original(self, gc, x, y, s, prop, angle, ismath, mtext)

    RendererAgg.draw_text = record
    try:
        fig.canvas.draw()
    finally:
        RendererAgg.draw_text = original
    renderer = fig.canvas.get_renderer()
    # Text boxes only: an annotation's leader line is not text.
    return [(t, Text.get_window_extent(t, renderer)) for t in drawn]


def _check_layout(report: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # constrained_layout's "not applied", font fallbacks, ...
        fig = render.summary_figure(report)
        boxes = _drawn_texts(fig)
    assert len(boxes) > 100
    width, height = fig.canvas.get_width_height()
    for text, box in boxes:
        assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height, text.get_text()
    overlaps = [(a.get_text(), b.get_text()) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]
    assert overlaps == []


def test_resnet50_summary_has_no_overlapping_text_and_no_warning() -> None:
    report = _report("resnet50")
    # 53 convolutions (the stem, 16 blocks of 3, 4 downsamples), the global pool and the FC; the
    # ReLUs, residual adds and the max pool ride in the convolutions' store path
    assert len(report["layers"]) == 53 + 1 + 1
    _check_layout(report)


def test_a_500_layer_network_with_long_names_reads_too() -> None:
    report = make_report(500)
    for i, layer in enumerate(report["layers"]):
        layer["name"] = f"/encoder/layer.{i}/attention/self/a_very_long_module_name_indeed/{layer['name']}"
    _check_layout(report)


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_every_format_is_byte_identical_run_to_run(fmt: str, magic: bytes) -> None:
    report = make_report(30)
    first = render.summary_image(report, fmt=fmt)
    assert first.lstrip().startswith(magic) and render.summary_image(report, fmt=fmt) == first
    assert b"CreationDate" not in first and b"<dc:date>" not in first

"""The plots: valid, non-blank, deterministic PNGs; the roofline's peak and ridge; grouping of 50+ layers."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imread

from compiler.schedule import schedule_model
from hwsim.core.config import AcceleratorConfig, preset
from hwsim.core.errors import UserError
from hwsim.core.workload import GemmShape, Kind, LoweredModel, Workload
from hwsim.plots import cycles_png, energy_png, read_report, roofline, roofline_png, select_top, summary_png
from hwsim.plots.panels import draw_cycles, draw_energy, draw_roofline
from hwsim.plots.render import DPI
from hwsim.simulate import simulate

from .reports import make_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _axes() -> tuple[Figure, object]:
    fig = Figure(figsize=(10, 8), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _pixels(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    return imread(io.BytesIO(png), format="png")


@pytest.fixture(scope="module")
def report60() -> dict:
    return make_report(60, AcceleratorConfig(name="wide", rows=8, cols=32, dram_gbps=8.0))


@pytest.fixture(scope="module")
def pngs60(report60: dict) -> dict[str, bytes]:
    return {"cycles": cycles_png(report60), "energy": energy_png(report60), "roofline": roofline_png(report60),
            "summary": summary_png(report60)}


# --- grouping --------------------------------------------------------------------------------------


def test_select_top_keeps_model_order_and_breaks_ties_towards_earlier_layers() -> None:
    s = select_top([3, 9, 1, 9, 4, 0, 7], top=3)
    assert s.shown == (1, 3, 6)
    assert s.rest == (0, 2, 4, 5)
    tie = select_top([2, 2, 2, 2], top=2)
    assert (tie.shown, tie.rest) == ((0, 1), (2, 3))


def test_select_top_shows_everything_when_at_most_one_layer_would_be_grouped() -> None:
    assert select_top([1, 2, 3, 4], top=3).rest == ()
    assert select_top([1, 2, 3, 4], top=10).shown == (0, 1, 2, 3)
    assert select_top([1, 2, 3, 4, 5], top=3).rest == (0, 1)
    with pytest.raises(ValueError):
        select_top([1.0], top=0)


# --- roofline --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows, cols, clock_mhz, dram_gbps", [(16, 16, 1000.0, 16.0), (8, 32, 200.0, 3.2),
                                                               (256, 256, 700.0, 30.0), (12, 20, 500.0, 64.0)])
def test_roofline_peak_is_rows_times_cols_and_ridge_is_where_the_roofs_meet(
        rows: int, cols: int, clock_mhz: float, dram_gbps: float) -> None:
    cfg = AcceleratorConfig(rows=rows, cols=cols, clock_mhz=clock_mhz, dram_gbps=dram_gbps)
    rf = roofline(cfg)
    bytes_per_cycle = dram_gbps * 1e9 / (clock_mhz * 1e6)
    assert rf.peak == rows * cols
    assert rf.dram_bytes_per_cycle == pytest.approx(bytes_per_cycle, rel=1e-12)
    assert rf.ridge == pytest.approx(rows * cols / bytes_per_cycle, rel=1e-12)
    assert rf.attainable(rf.ridge) == pytest.approx(rows * cols, rel=1e-12)
    assert rf.attainable(rf.ridge / 10) == pytest.approx(rows * cols / 10, rel=1e-12)
    assert rf.attainable(rf.ridge * 10) == rows * cols


def test_drawn_roof_peaks_at_rows_times_cols_and_every_array_layer_is_placed(report60: dict) -> None:
    view = read_report(report60)
    fig, ax = _axes()
    draw_roofline(ax, view)
    roof = next(line for line in ax.get_lines() if line.get_gid() == "roof")
    x, y = (np.asarray(v, dtype=float) for v in roof.get_data())
    assert y.max() == 8 * 32
    bw = 8.0e9 / 1000e6  # dram_gbps / clock of the fixture's config, in bytes per cycle
    slope = x < 8 * 32 / bw
    assert slope.any() and np.allclose(y[slope], x[slope] * bw, rtol=1e-12)
    assert np.all(y[~slope] == 8 * 32)

    placed = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    layers = [layer for layer in report60["layers"] if layer["macs"] > 0]
    assert len(placed) == len(layers) == 41
    expected = sorted((layer["macs"] / (layer["dram_read_bytes"] + layer["dram_write_bytes"]),
                       layer["macs"] / layer["cycles"]) for layer in layers)
    assert np.allclose(sorted(map(tuple, placed)), expected, rtol=1e-12)
    fig.canvas.draw()  # the figure renders without error


def test_layer_without_dram_traffic_sits_on_the_right_edge() -> None:
    report = make_report(6)
    layer = report["layers"][0]
    layer["dram_read_bytes"] = layer["dram_write_bytes"] = 0
    fig, ax = _axes()
    draw_roofline(ax, read_report(report))
    offsets = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    edge = [tuple(p) for p in offsets if p[1] == pytest.approx(layer["macs"] / layer["cycles"], rel=1e-12)]
    assert len(edge) == 1
    assert ax.get_xlim()[0] < edge[0][0] < ax.get_xlim()[1]
    assert "no DRAM traffic" in ax.get_title(loc="left")


# --- bar charts: grouping keeps the totals ------------------------------------------------------------


def _bar_rows(ax) -> dict[str, list[float]]:
    """Each stacked segment's width, by legend label, in bar order."""
    return {c.get_label(): [p.get_width() for p in c.patches] for c in ax.containers}


def test_cycles_chart_with_60_layers_names_the_top_25_and_sums_the_rest(report60: dict) -> None:
    fig, ax = _axes()
    draw_cycles(ax, read_report(report60), top=25)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 26
    assert labels[-1] == "other (35 layers)"
    layers = report60["layers"]
    top = sorted(range(60), key=lambda i: (-layers[i]["cycles"], i))[:25]
    assert [int(text.split()[0]) - 1 for text in labels[:-1]] == sorted(top)
    segments = _bar_rows(ax)
    compute, stall = segments["compute"], segments["stall (waiting for DRAM)"]
    rest = [i for i in range(60) if i not in top]
    assert compute[-1] == sum(layers[i]["compute_cycles"] for i in rest)
    assert stall[-1] == sum(layers[i]["stall_cycles"] for i in rest)
    assert sum(compute) + sum(stall) == report60["totals"]["cycles"]


def test_energy_chart_stacks_every_component_and_keeps_the_total(report60: dict) -> None:
    fig, ax = _axes()
    draw_energy(ax, read_report(report60), top=10)
    segments = _bar_rows(ax)
    assert [label.split(" (")[0] for label in segments] == [
        "MAC", "array registers", "ifmap SRAM", "filter SRAM", "ofmap SRAM", "DRAM", "vector unit", "static"]
    layers = report60["layers"]
    for (label, widths), key in zip(segments.items(), layers[0]["energy_breakdown_j"]):
        part = sum(layer["energy_breakdown_j"][key] for layer in layers)
        assert sum(widths) == pytest.approx(part, rel=1e-12)
        assert label.endswith(f"({100 * part / report60['totals']['energy_j']:.1f}%)")
    assert len(ax.get_yticklabels()) == 11


def test_an_other_bar_far_longer_than_the_rest_runs_off_scale_with_its_total_written_on_it(report60: dict) -> None:
    fig, ax = _axes()
    draw_cycles(ax, read_report(report60), top=3)
    layers = report60["layers"]
    top = sorted(range(60), key=lambda i: (-layers[i]["cycles"], i))[:3]
    other = sum(layer["cycles"] for i, layer in enumerate(layers) if i not in top)
    biggest = max(layers[i]["cycles"] for i in top)
    assert other > 1.5 * biggest
    assert ax.get_xlim() == (0.0, pytest.approx(biggest * 1.12, rel=1e-12))
    notes = [t.get_text() for t in ax.texts if t.get_text().startswith("off scale")]
    assert notes == [f"off scale: {other:,.0f} cycles = {100 * other / report60['totals']['cycles']:.1f}% \u25b6"]


def test_roofline_letters_the_spots_with_most_cycles() -> None:
    report = make_report(6)
    twin = {"macs": 2_000_000, "dram_read_bytes": 50_000, "dram_write_bytes": 30_000, "cycles": 10_000}
    layers = report["layers"]
    layers[0].update(twin)  # layers 1 and 4 land on one spot: 20,000 cycles together
    layers[3].update(twin)
    layers[1].update(macs=3_000_000, cycles=15_000)  # layer 2: the busiest single layer, on its own
    layers[4].update(cycles=9_000)
    layers[5].update(cycles=8_000)
    fig, ax = _axes()
    draw_roofline(ax, read_report(report))
    entries = [t.get_text() for t in ax.get_legend().get_texts() if t.get_text()[:2] in ("A:", "B:")]
    total = sum(layer["cycles"] for layer in layers)
    assert entries == [f"A: 1, 4  {layers[0]['name'].lstrip('/')} ({100 * 20_000 / total:.1f}% of cycles)",
                       f"B: 2  {layers[1]['name'].lstrip('/')} ({100 * 15_000 / total:.1f}% of cycles)"]
    assert [t.get_text() for t in ax.texts if len(t.get_text()) == 1][:2] == ["A", "B"]


def test_small_report_lists_every_layer_without_an_other_bar() -> None:
    report = make_report(5)
    fig, ax = _axes()
    draw_cycles(ax, read_report(report), top=25)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"{i + 1}  {layer['name'].lstrip('/')}" for i, layer in enumerate(report["layers"])]


def test_long_layer_names_are_shortened_in_the_middle() -> None:
    report = make_report(3)
    report["layers"][0]["name"] = "/encoder/layer.11/attention/self/query/MatMul_with_a_very_long_tail"
    fig, ax = _axes()
    draw_cycles(ax, read_report(report), top=25)
    label = ax.get_yticklabels()[0].get_text()
    assert label == "1  encoder/layer.11/atte\u2026_with_a_very_long_tail"  # 44 characters: 21, the ellipsis, 22


def test_exporters_repeated_path_parts_are_dropped_from_names() -> None:
    report = make_report(3)
    report["layers"][0]["name"] = "/layer2/layer2.0/downsample/downsample.0/Conv"
    fig, ax = _axes()
    draw_cycles(ax, read_report(report), top=25)
    assert ax.get_yticklabels()[0].get_text() == "1  layer2.0/downsample.0/Conv"


# --- the PNGs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, width", [("cycles", 1100), ("energy", 1100), ("roofline", 1150), ("summary", 2200)])
def test_pngs_are_valid_non_blank_images(pngs60: dict[str, bytes], kind: str, width: int) -> None:
    png = pngs60[kind]
    assert len(png) > 30_000
    pixels = _pixels(png)
    assert pixels.shape[1] == width and pixels.shape[0] >= 600 and pixels.shape[2] in (3, 4)
    rgb = pixels[..., :3]
    assert rgb.std() > 0.1  # not one flat colour
    inked = (rgb.min(axis=2) < 0.9).mean()
    assert 0.03 < inked < 0.9  # drawn on, but not a solid block
    packed = (rgb * 255).round().astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    assert len(np.unique(packed)) > 20  # text, bars and markers in several colours


def test_bar_chart_height_grows_with_the_bars_it_shows(report60: dict) -> None:
    tall = _pixels(cycles_png(report60, top=40)).shape[0]
    short = _pixels(cycles_png(report60, top=10)).shape[0]
    assert tall - short == round(0.26 * 30 * DPI)


def test_same_report_gives_byte_identical_pngs(report60: dict, pngs60: dict[str, bytes]) -> None:
    import copy

    again = copy.deepcopy(report60)
    assert summary_png(again) == pngs60["summary"]  # test_cli checks the others across processes
    assert b"Software" not in pngs60["summary"] and b"tIME" not in pngs60["summary"]


# --- a real report from the simulator ------------------------------------------------------------------


def _small_cnn() -> LoweredModel:
    def conv(name: str, hw: int, cin: int, cout: int, k: int) -> Workload:
        g = GemmShape(m=hw * hw, k=cin * k * k, n=cout)
        return Workload(name, "Conv", Kind.GEMM, gemm=g, input_elems=hw * hw * cin,
                        weight_elems=cin * cout * k * k + cout, output_elems=hw * hw * cout, vector_ops=hw * hw * cout)

    return LoweredModel("small-cnn", (
        conv("conv1", 32, 3, 32, 3),
        Workload("pool1", "MaxPool", Kind.VECTOR, input_elems=32 * 32 * 32, output_elems=16 * 16 * 32,
                 vector_ops=4 * 16 * 16 * 32),
        conv("conv2", 16, 32, 64, 3),
        conv("conv3", 16, 64, 64, 1),
        Workload("flatten", "Flatten", Kind.VIEW),
        Workload("fc", "Gemm", Kind.GEMM, gemm=GemmShape(1, 16 * 16 * 64, 10), input_elems=16 * 16 * 64,
                 weight_elems=16 * 16 * 64 * 10 + 10, output_elems=10, vector_ops=10),
    ))


def test_plots_of_a_simulated_report() -> None:
    cfg = preset("fpga-edge")
    report = simulate(schedule_model(_small_cnn(), cfg)).to_dict()
    view = read_report(report, "small-cnn.json")
    assert [layer.name for layer in view.layers] == ["conv1", "pool1", "conv2", "conv3", "fc"]
    fig, ax = _axes()
    draw_roofline(ax, view)
    roof = next(line for line in ax.get_lines() if line.get_gid() == "roof")
    assert max(roof.get_ydata()) == cfg.rows * cfg.cols == 64
    placed = sorted(map(tuple, np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])))
    expected = sorted((layer["macs"] / (layer["dram_read_bytes"] + layer["dram_write_bytes"]),
                       layer["macs"] / layer["cycles"]) for layer in report["layers"] if layer["macs"])
    assert np.allclose(placed, expected, rtol=1e-12)
    # The simulator never beats its own roofline.
    rf = roofline(cfg)
    assert all(y <= rf.attainable(x) * (1 + 1e-12) for x, y in placed)
    pixels = _pixels(summary_png(report))
    assert pixels.shape[1] == 2200 and pixels[..., :3].std() > 0.1


# --- bad reports ---------------------------------------------------------------------------------------


def _broken(change) -> dict:
    report = make_report(3)
    change(report)
    return report


@pytest.mark.parametrize("data, message", [
    ([1, 2], "run.json: not a hwsim report (expected a JSON object, got a list)"),
    ({"model": "m"}, "run.json: not a hwsim report (no 'config', 'totals', 'layers')"),
    (_broken(lambda r: r.update(layers=[])), "run.json: the report has no layers to plot"),
    (_broken(lambda r: r.update(model=3)), "run.json: 'model' must be a string, got a number"),
    (_broken(lambda r: r["layers"][1].pop("cycles")), "run.json: layers[1].cycles must be a non-negative number, got nothing"),
    (_broken(lambda r: r["layers"][2].update(stall_cycles=-1)), "run.json: layers[2].stall_cycles must be a non-negative number, got -1"),
    (_broken(lambda r: r["layers"][0].update(macs=float("nan"))), "run.json: layers[0].macs must be a non-negative number, got nan"),
    (_broken(lambda r: r["layers"][0].update(macs=True)), "run.json: layers[0].macs must be a non-negative number, got True"),
    (_broken(lambda r: r["layers"][0].update(name=None)), "run.json: layers[0].name must be a string, got null"),
    (_broken(lambda r: r["layers"][0]["energy_breakdown_j"].update(dram="x")),
     "run.json: layers[0].energy_breakdown_j.dram must be a non-negative number, got 'x'"),
    (_broken(lambda r: r["layers"][1]["energy_breakdown_j"].pop("static")),
     "run.json: layers[1].energy_breakdown_j has components mac, array_reg, ifmap_sram, filter_sram, ofmap_sram, "
     "dram, vector; layers[0] has mac, array_reg, ifmap_sram, filter_sram, ofmap_sram, dram, vector, static"),
    (_broken(lambda r: r["totals"].pop("energy_j")), "run.json: totals.energy_j must be a non-negative number, got nothing"),
    (_broken(lambda r: r["config"].update(rows=0)), "run.json: config: rows must be an integer from 1 to 4096, got 0"),
    (_broken(lambda r: r["config"].update(colour="red")), "run.json: config: not an hwsim accelerator config (unknown colour)"),
    (_broken(lambda r: r["config"].pop("dram_gbps")), "run.json: config: not an hwsim accelerator config (missing dram_gbps)"),
])
def test_bad_reports_are_one_line_user_errors(data: object, message: str) -> None:
    with pytest.raises(UserError) as e:
        read_report(data, "run.json")
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)
    with pytest.raises(UserError):
        roofline_png(data, where="run.json")


def test_reading_a_report_round_trips_the_config() -> None:
    cfg = preset("tpu-v1-like")
    view = read_report(make_report(2, cfg))
    assert view.config == cfg
    assert math.isclose(roofline(view.config).ridge, 65536 / (34e9 / 700e6), rel_tol=1e-12)

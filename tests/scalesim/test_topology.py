"""SCALE-Sim topology files: SCALE-Sim's operand mapping, and errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwsim.core.errors import UserError
from hwsim.core.workload import GemmShape, Kind
from hwsim.scalesim import estimate_inputs, load_topology, topology_form

DATA = Path(__file__).parent / "data"


def test_resnet50_conv_form() -> None:
    layers = load_topology(DATA / "Resnet50.csv")
    assert topology_form(DATA / "Resnet50.csv") == "conv"
    assert len(layers) == 54 and all(w.kind is Kind.GEMM and w.op == "Conv" for w in layers)
    conv1 = layers[0]
    # ceil((224 - 7 + 2) / 2) = 110 per axis, no padding: SCALE-Sim's mapping, not ONNX's 112.
    assert (conv1.name, conv1.gemm) == ("Conv1", GemmShape(m=110 * 110, k=7 * 7 * 3, n=64, taps=7 * 7))
    assert (conv1.input_elems, conv1.weight_elems, conv1.output_elems) == (224 * 224 * 3, 147 * 64, 12100 * 64)
    # A 1x1 stride-2 layer keeps SCALE-Sim's ceil: 56 -> 29, not 28.
    cb3a_1 = next(w for w in layers if w.name == "CB3a_1")
    assert cb3a_1.gemm == GemmShape(m=29 * 29, k=256, n=128)  # 1x1: one tap
    assert layers[-1].gemm == GemmShape(m=1, k=2048, n=1000)


def test_gemm_form_is_m_n_k() -> None:
    layers = load_topology(DATA / "transformer_partial.csv")
    assert topology_form(DATA / "transformer_partial.csv") == "gemm"
    assert [w.name for w in layers][:2] == ["MH_FC_DimReduce_VKQ_0", "SD_MatMul_QK_00"]
    assert layers[0].gemm == GemmShape(m=128, k=1536, n=512)  # row: 128, 512, 1536 = M, N, K
    assert layers[0].op == "Gemm" and layers[0].macs == 128 * 512 * 1536


def test_trailing_comma_optional_and_extra_fields_ignored(tmp_path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                 ",,,,,,,,,,,,\n"
                 "a, 7, 7, 3, 3, 4, 8, 1\n"
                 "b, 9, 9, 3, 3, 4, 8, 2, 2:4, , note\n"
                 "\n")
    a, b = load_topology(f)
    assert a.gemm == GemmShape(m=25, k=36, n=8, taps=9)
    assert b.gemm == GemmShape(m=16, k=36, n=8, taps=9)


def test_depthwise_rows_become_one_layer_per_channel(tmp_path) -> None:
    f = tmp_path / "dw.csv"
    f.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                 "Conv2_DP, 8, 8, 3, 3, 3, 1, 1,\n")
    layers = load_topology(f)
    assert [w.name for w in layers] == ["Conv2_DPChannel_0", "Conv2_DPChannel_1", "Conv2_DPChannel_2"]
    assert all(w.gemm == GemmShape(m=36, k=9, n=1, taps=9) for w in layers)


def test_estimate_inputs() -> None:
    cfg, model = estimate_inputs(DATA / "test_mnk_input.csv", DATA / "google.cfg")
    assert (cfg.rows, cfg.cols) == (256, 256)
    assert model.name == "test_mnk_input"
    assert [w.gemm for w in model.workloads] == [GemmShape(m=256, k=256, n=128)]


CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("c1, 7, 7, 3, 3, 4, x, 1,", "field 'Num Filter' must be a positive integer, got 'x'"),
        ("c1, 7, 7, 3, 3, 4, 8, 0,", "field 'Strides' must be a positive integer, got '0'"),
        ("c1, 7, 7, 3, 3, 4, 8,", "field 'Strides' is missing in layer 'c1'"),
        ("c1, 7, 7, 9, 3, 4, 8, 1,", "field 'Filter Height' (9) is larger than 'IFMAP Height' (7)"),
        ("c1, 7, 2, 3, 3, 4, 8, 1,", "field 'Filter Width' (3) is larger than 'IFMAP Width' (2)"),
        ("c1, 7.5, 7, 3, 3, 4, 8, 1,", "field 'IFMAP Height' must be a positive integer, got '7.5'"),
        ("c1, 7, 7, 3, 3, 4, 8, 1, 3:2,", "field 'Sparsity' must be a ratio N:M"),
        (", 7, 7, 3, 3, 4, 8, 1,", "field 'Layer name' is empty"),
    ],
)
def test_malformed_conv_row_names_file_line_and_field(tmp_path, row: str, needle: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(CONV_HEADER + "ok, 7, 7, 3, 3, 4, 8, 1,\n" + row + "\n")
    with pytest.raises(UserError) as e:
        load_topology(f)
    msg = str(e.value)
    assert msg.startswith(f"{f}:3: "), msg
    assert needle in msg


@pytest.mark.parametrize(
    ("row", "needle"),
    [("g, 64, 32,", "field 'K' is missing"), ("g, 64, -32, 16,", "field 'N' must be a positive integer")],
)
def test_malformed_gemm_row(tmp_path, row: str, needle: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(f"Layer, M, N, K,\n{row}\n")
    with pytest.raises(UserError, match=rf"^{f}:2: .*{needle}"):
        load_topology(f)


@pytest.mark.parametrize(("text", "needle"), [("", "is empty"), (CONV_HEADER + "\n,,,\n", "no layers")])
def test_empty_topologies(tmp_path, text: str, needle: str) -> None:
    f = tmp_path / "empty.csv"
    f.write_text(text)
    with pytest.raises(UserError, match=needle):
        load_topology(f)


def test_missing_topology(tmp_path) -> None:
    with pytest.raises(UserError, match="topology file not found"):
        load_topology(tmp_path / "absent.csv")

from __future__ import annotations

import pytest

from hwsim.core.config import AcceleratorConfig, preset
from hwsim.core.errors import UserError
from hwsim.sweep import Design, DesignSpace, parse_dataflows, parse_int_axis, split_buffers


@pytest.mark.parametrize("text, values", [
    ("16", (16,)),
    ("8,16,32,64", (8, 16, 32, 64)),
    ("8-64/8", (8, 16, 24, 32, 40, 48, 56, 64)),
    ("8-12", (8, 9, 10, 11, 12)),
    ("8:64:8", (8, 16, 24, 32, 40, 48, 56, 64)),
    ("8:64:x2", (8, 16, 32, 64)),
    ("8:100:x3", (8, 24, 72)),          # stops before passing the end
    ("10-25/10", (10, 20)),
    ("64, 8:16:x2 ,8", (8, 16, 64)),     # union, sorted, deduplicated, spaces allowed
    ("5-5", (5,)),
])
def test_axis_syntax(text: str, values: tuple[int, ...]) -> None:
    assert parse_int_axis(text, "--rows") == values


@pytest.mark.parametrize("text, fragment", [
    ("0", "positive"),
    ("-8", "positive"),
    ("8,-16", "positive"),
    ("0-16/4", "positive"),
    ("1.5", "not an integer or a range"),
    ("8,16.0", "not an integer or a range"),
    ("", "empty"),
    ("8,,16", "empty"),
    ("  ", "empty"),
    ("64-8", "ends (8) before it starts (64)"),
    ("8-64/0", "steps must be positive"),
    ("8:64:x1", "at least 2"),
    ("8:64:x0", "at least 2"),
    ("eight", "not an integer or a range"),
    ("1-100000", "more than 4096 values"),
])
def test_bad_axes_are_one_line_user_errors(text: str, fragment: str) -> None:
    with pytest.raises(UserError) as e:
        parse_int_axis(text, "--cols")
    message = str(e.value)
    assert message.startswith("--cols ") and fragment in message and "\n" not in message


def test_dataflows() -> None:
    assert parse_dataflows("is,ws") == ("ws", "is")
    assert parse_dataflows("all") == ("ws", "os", "is")
    assert parse_dataflows("OS, os") == ("os",)
    for bad in ("", "ws,", "xs"):
        with pytest.raises(UserError):
            parse_dataflows(bad)


def test_buffer_split_keeps_the_base_proportions_and_total() -> None:
    base = preset("gemmini-like")  # 128 : 128 : 64
    parts = split_buffers(base, 1024)
    assert parts == {"ifmap_kib": 409.6, "filter_kib": 409.6, "ofmap_kib": 204.8}
    cfg = Design(16, 16, "os", 1024.0).config(base)
    assert (cfg.rows, cfg.cols, cfg.dataflow) == (16, 16, "os")
    assert cfg.ifmap_kib + cfg.filter_kib + cfg.ofmap_kib == pytest.approx(1024)
    other = AcceleratorConfig(ifmap_kib=96.0, filter_kib=32.0, ofmap_kib=32.0)
    assert split_buffers(other, 320) == {"ifmap_kib": 192.0, "filter_kib": 64.0, "ofmap_kib": 64.0}


def test_space_is_the_cartesian_product_in_nesting_order() -> None:
    base = preset("gemmini-like")
    space = DesignSpace.around(base, rows=(8, 16), dataflows=("ws", "is"), buffer_kib=(64, 256, 1024))
    designs = space.designs()
    assert len(space) == len(designs) == 2 * 1 * 2 * 3
    assert len(set(designs)) == len(designs)
    assert designs[0] == Design(8, 16, "ws", 64.0) and designs[1] == Design(8, 16, "ws", 256.0)
    assert designs[3] == Design(8, 16, "is", 64.0) and designs[-1] == Design(16, 16, "is", 1024.0)
    # Unswept axes keep the base config's values, buffers included (128 + 128 + 64 KiB).
    lone = DesignSpace.around(base).designs()
    assert lone == [Design(16, 16, "ws", 320.0)] and lone[0].config(base) == base

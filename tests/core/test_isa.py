"""The command set: every command survives encode/decode, fields are checked against their widths,
tokens against the engines, and the layouts invert."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.core import isa
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.isa import Config, End, Gemm, Load, Pool, PoolMode, Store, Target, Token

T = Token
EXAMPLES = [
    Load(target=Target.ABUF, sram_addr=5, dram_addr=0x1000, rows=3, row_words=7, dram_stride=4096, sram_stride=9,
         waits={T.E2L, T.S2L}, signals={T.L2E}, last=True),
    Load(target=Target.EXEC_CMDS, sram_addr=1, dram_addr=0xFFFF_FFF0, row_words=16),
    Store(sram_addr=(1 << 20) - 1, dram_addr=64, rows=2, row_words=4, dram_stride=128, layer_end=True,
          waits={T.E2S}, signals={T.S2E, T.S2L}),
    Config(in_h=56, in_w=56, out_w=28, chunks=4, chunk_stride=3 * 56, kh=3, kw=3, stride_y=2, stride_x=2,
           pad_top=1, pad_left=1, lo=0, hi=127, relu_pre=True, residual=True, pool_mode=PoolMode.AVG,
           pool_shift=62, pool_mult=-(1 << 31)),
    Gemm(m=65535, k=65535, n=255, accumulate=True, emit=False, a_addr=1, w_addr=2, p_addr=3, r_addr=4,
         o_addr=5, y0=6, oy0=7, ox0=8, chunk0=9, ky0=10, kx0=255, waits={T.L2E, T.S2E}, signals={T.E2L, T.E2S}),
    Pool(m=3, a_addr=17, o_addr=9, y0=1, oy0=2, ox0=3, last=True),
    End(),
]


@pytest.mark.parametrize("cmd", EXAMPLES, ids=lambda c: type(c).__name__)
def test_every_command_survives_encode_and_decode(cmd):
    blob = isa.encode(cmd)
    assert len(blob) == isa.COMMAND_BYTES and blob[0] & 0xF == cmd.OPCODE
    assert isa.decode(blob) == cmd
    assert isa.decode_program(isa.encode_program(EXAMPLES)) == EXAMPLES


def test_fields_fit_in_256_bits_without_overlap():
    for opcode, fs in isa.FIELDS.items():
        bits = [b for f in fs for b in range(f.lsb, f.lsb + f.width)]
        assert len(bits) == len(set(bits)) and max(bits) < 256, opcode


def test_the_header_sits_where_the_docs_say():
    word = int.from_bytes(isa.encode(Store(sram_addr=0, dram_addr=0, row_words=1, last=True, layer_end=True,
                                           waits={T.E2S}, signals={T.S2L})), "little")
    assert word & 0xF == 2 and word >> 4 & 1 == 1 and word >> 5 & 31 == 1 << T.E2S
    assert word >> 10 & 31 == 1 << T.S2L and word >> 15 & 1 == 1


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Gemm(m=1, k=1, n=1, a_addr=0, w_addr=0, waits={T.E2L}), "exec engine cannot wait on E2L"),
    (lambda: Load(target=0, sram_addr=0, dram_addr=0, row_words=1, signals={T.E2S}), "load engine cannot signal E2S"),
    (lambda: End(waits={T.L2E}), "END cannot wait on L2E"),
    (lambda: Gemm(m=1, k=1, n=1, a_addr=1 << 20, w_addr=0), r"Gemm.a_addr must be an integer from 0 to 1048575"),
    (lambda: Config(lo=-129), r"Config.lo must be an integer from -128 to 127"),
    (lambda: Config(lo=5, hi=4), "clamp lo"),
    (lambda: Config(pool_mode=PoolMode.AVG, pool_shift=0), "pool_shift"),
    (lambda: Gemm(m=0, k=1, n=1, a_addr=0, w_addr=0), "Gemm.m must be at least 1"),
    (lambda: Load(target=7, sram_addr=0, dram_addr=0, row_words=1), "7 is not a valid Target"),
])
def test_bad_commands_say_what_is_wrong(make, message):
    with pytest.raises((UserError, ValueError), match=message):
        make()


def test_decode_refuses_unknown_opcodes_and_stray_bits():
    with pytest.raises(UserError, match="unknown opcode 0"):
        isa.decode(bytes(32))
    blob = bytearray(isa.encode(End()))
    blob[31] = 1
    with pytest.raises(UserError, match="outside the fields of END"):
        isa.decode(bytes(blob))
    with pytest.raises(UserError, match="32 bytes"):
        isa.decode(b"\x06")


CFG = AcceleratorConfig(rows=4, cols=4, ifmap_kib=1, filter_kib=1, ofmap_kib=1, residency=False,
                        conv_reduction="per_tap", store_path=("activation", "scale", "requantize", "residual"))


def test_check_holds_commands_to_the_config():
    g = isa.Geometry.of(CFG)
    assert (g.abuf_words, g.wbuf_words, g.obuf_words, g.acc_depth, g.command_words) == (256, 256, 64, 32, 8)
    isa.check_config(CFG)
    isa.check(Gemm(m=32, k=g.wbuf_words - 13, n=4, a_addr=0, w_addr=0, p_addr=g.wbuf_words - 13, o_addr=32), CFG)
    for bad, message in [
        (Gemm(m=33, k=4, n=4, a_addr=0, w_addr=0), "acc_depth = 32"),
        (Gemm(m=1, k=4, n=5, a_addr=0, w_addr=0), "n must be at most 4"),
        (Load(target=Target.ABUF, sram_addr=250, dram_addr=0, row_words=7), "past the end of abuf"),
        (Load(target=Target.WBUF, sram_addr=0, dram_addr=2, row_words=1), "multiples of the 4-byte word"),
        (Load(target=Target.STORE_CMDS, sram_addr=2, dram_addr=0, row_words=8), "bank 0 or 1"),
        (Load(target=Target.STORE_CMDS, sram_addr=0, dram_addr=0, row_words=6), "whole commands"),
        (Store(sram_addr=60, dram_addr=0, row_words=5), "past the end of obuf"),
    ]:
        with pytest.raises(UserError, match=message):
            isa.check(bad, CFG)


@pytest.mark.parametrize(("change", "message"), [
    ({"dataflow": "os"}, "dataflow 'os'"), ({"cols": 8}, "rows == cols"), ({"rows": 2, "cols": 2}, "2x2"),
    ({"acc_bits": 24}, "int8 x int8 -> int24"), ({"residency": True}, "residency = true"),
    ({"store_path": ("pool",)}, "store_path family 'pool'"), ({"conv_reduction": "im2col"}, "conv_reduction"),
    ({"double_buffer": False}, "single-buffered"), ({"command_rows": 16}, "command_rows = 16"),
])
def test_unsupported_configs_are_refused_one_reason_each(change, message):
    with pytest.raises(UserError, match=message):
        isa.check_config(CFG.replace(**change))


def test_activation_layout_is_blocked_nchwc():
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, size=(2, 6, 3, 5), dtype=np.int8)
    blob = isa.pack_activation(x, 4)
    assert len(blob) == isa.activation_bytes(x.shape, 4) == 2 * 2 * 3 * 5 * 4
    for n, c, y, xx in [(0, 0, 0, 0), (1, 5, 2, 4), (0, 4, 1, 3)]:
        off = isa.activation_offset(n, c, y, xx, channels=6, height=3, width=5, R=4)
        assert np.int8(blob[off]) == x[n, c, y, xx] if blob[off] < 128 else blob[off] - 256 == x[n, c, y, xx]
    assert blob[isa.activation_offset(0, 7, 0, 0, channels=6, height=3, width=5, R=4)] == 0  # padding channel
    assert np.array_equal(isa.unpack_activation(blob, x.shape, 4), x)
    m = rng.integers(-128, 128, size=(7, 9), dtype=np.int8)  # a GEMM's M x K: H = 1, W = M
    assert np.array_equal(isa.unpack_activation(isa.pack_activation(m, 4), m.shape, 4), m)


def test_weight_blocks_hold_parameters_then_rows():
    rng = np.random.default_rng(1)
    w = rng.integers(-128, 128, size=(2, 3, 3, 3), dtype=np.int8)  # out 2, in 3, 3x3
    kn = isa.conv_weight_matrix(w)
    assert kn.shape == (27, 2) and kn[(1 * 3 + 2) * 3 + 1, 1] == w[1, 1, 1, 2]
    blob = isa.weight_blocks(kn, 4, bias=[5, -6], mult=[7, 8], rmult=[0, 1], shift=[3, 4])
    assert len(blob) == isa.weight_block_words(27) * 4
    p = isa.unpack_param_block(blob[: 13 * 4], 4)
    assert p["bias"].tolist() == [5, -6, 0, 0] and p["shift"].tolist() == [3, 4, 1, 1]
    rows = np.frombuffer(blob[13 * 4 :], np.int8).reshape(27, 4)
    assert np.array_equal(rows[:, :2], kn) and not rows[:, 2:].any()


def _doc_table(heading: str) -> list[list[str]]:
    """The rows of the first table under ``## heading`` in docs/accelerator.md, as cell lists."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "accelerator.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def test_the_documented_instruction_set_is_the_encoders():
    import re

    seen = set()
    for cells in _doc_table("Instruction set"):
        op = isa.Opcode[cells[0].split("`")[1]]
        assert cells[0].endswith(f"({int(op)})")
        fields = re.findall(r"`(\w+)` (\d+)\+(\d+)( signed)?", cells[2])
        want = [(f.name, f.lsb, f.width, f.signed) for f in isa.FIELDS[op][len(isa.HEADER):]]
        assert [(n, int(lsb), int(w), bool(s)) for n, lsb, w, s in fields] == want, op
        seen.add(op)
    assert seen == set(isa.Opcode)


def test_the_documented_registers_and_timing_are_the_isas():
    regs = {}
    for cells in _doc_table("Registers"):
        for off, name in zip(cells[0].split(" / "), cells[1].split(" / ")):
            regs[name] = int(off, 16)
    assert regs == {r.name: int(r) for r in isa.Reg}
    timing = {}
    for cells in _doc_table("Timing"):
        for name, value in zip(cells[0].replace("`", "").split(", "), cells[1].split(", ")):
            timing[name] = int(value)
    assert timing == {f: getattr(isa.TIMING, f) for f in isa.Timing.__dataclass_fields__}

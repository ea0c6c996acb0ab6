"""compiler.codegen + the DRAM image: a whole int8 network as the accelerator's command program,
executed by an independent functional model of the instruction set (tests/compiler/accel_functional.py)
and compared bit for bit with ``hwsim run --precision int8``'s codes of every layer."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto

from compiler.codegen import codegen
from hwsim.core.config import AcceleratorConfig, preset
from hwsim.core.errors import UserError
from hwsim.core.isa import COMMAND_BYTES, Engine
from hwsim.execute import compile_for_run, run
from hwsim.execute._image import dram_image, expected_outputs, layer_outputs
from hwsim.replay import replay
from tests.execute.models import Net, small_cnn, small_mlp

from .accel_functional import Functional

EPILOGUE = ("activation", "scale", "requantize", "residual")


def accel(R: int = 8, **changes) -> AcceleratorConfig:
    """fpga-edge as the accelerator implements it; ``changes`` shrink it to force tiling and banks."""
    return preset("fpga-edge").replace(rows=R, cols=R, residency=False, conv_reduction="per_tap",
                                       store_path=EPILOGUE, **changes)


def tiny_net() -> tuple:
    """Three layers: a padded stride-2 convolution + ReLU, a max pool, a 1x1 convolution with a
    residual add of the pool's output."""
    b = Net(3)
    y = b.op("Relu", b.op("Conv", "x", b.weight(6, 3, 3, 3), b.weight(6, scale=0.1), pads=[1, 1, 1, 1], strides=[2, 2]))
    p = b.op("MaxPool", y, kernel_shape=[2, 2], strides=[2, 2])
    z = b.op("Relu", b.op("Add", b.op("Conv", p, b.weight(6, 6, 1, 1)), p))
    return b.model([("x", TensorProto.FLOAT, (1, 3, 10, 10))], [z])


def wide_fc() -> tuple:
    """A 512 -> 64 fully connected layer whose mapping's weight block (4 chunks of 13 + 512 words)
    overflows a wbuf part by its parameter words: loaded as groups of whole chunks, double-buffered."""
    b = Net(7)
    h = b.op("Relu", b.op("Gemm", "x", b.weight(64, 512), b.weight(64, scale=0.1), transB=1))
    out = b.op("Gemm", h, b.weight(10, 64), b.weight(10, scale=0.1), transB=1)
    return b.model([("x", TensorProto.FLOAT, (1, 512))], [out])


MODELS = {"tiny": tiny_net, "mlp": small_mlp, "cnn": small_cnn, "wide_fc": wide_fc}


def build(model, cfg: AcceleratorConfig, seed: int = 0):
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    compiled = compile_for_run(model, cfg)
    result = run(compiled, {"x": x}, precision="int8", keep_codes=True)
    program = codegen(compiled.graph, compiled.program)
    return program, dram_image(program, compiled.graph, result), result


CASES = [("tiny", accel(8)), ("mlp", accel(4, ifmap_kib=1, filter_kib=1, ofmap_kib=1, command_depth=8)),
         ("cnn", accel(8)), ("cnn", accel(4, ifmap_kib=1, filter_kib=1, ofmap_kib=1, command_depth=8)),
         ("cnn", accel(8, ifmap_kib=0.5, filter_kib=1, ofmap_kib=0.5, command_depth=16)), ("wide_fc", accel(8))]


@pytest.mark.parametrize("name,cfg", CASES, ids=[f"{n}-{c.rows}x{c.rows}-{c.ifmap_kib}k-d{c.command_depth}"
                                                  for n, c in CASES])
def test_every_layer_bit_exact_with_hwsim_run(name: str, cfg: AcceleratorConfig) -> None:
    program, image, result = build(MODELS[name](), cfg)
    mem = image.program.memory
    model = Functional(cfg, image.dram, mem.boot_addr, mem.boot_count)
    model.run()
    got = layer_outputs(image.program, bytes(model.dram))
    want = expected_outputs(image.program, result)
    assert list(got) == list(want) and len(got) == len(program.layers)
    for layer, tensors in want.items():
        for tensor, codes in tensors.items():
            assert codes.dtype == np.int8 and codes.size
            np.testing.assert_array_equal(got[layer][tensor], codes, err_msg=f"{layer}: {tensor}")
    # Every command ran, each layer ended once, and the replay model reads the same program.
    assert model.layer_ends == len(program.layers)
    assert model.retired == {Engine.LOAD: len(program.load), Engine.EXEC: len(program.exec),
                             Engine.STORE: len(program.store)}
    rp = replay(cfg, image.dram, boot_addr=mem.boot_addr, boot_count=mem.boot_count)
    assert (rp.dma_read_bytes, rp.dma_write_bytes) == (model.dma_read, model.dma_write)
    assert len(rp.layer_cycles) == len(program.layers) and all(c > 0 for c in rp.layer_cycles)


def test_small_banks_really_chain_banks() -> None:
    """With 8-command banks every engine runs through several banks (the bank LOADs are exercised)."""
    program, _, _ = build(small_cnn(), CASES[3][1])
    for engine in Engine:
        assert len(program.banks(engine)) >= 3, engine


def test_layer_bytes_count_what_the_loads_move() -> None:
    """The MLP fits on chip: each weight block and each activation moves exactly once, so the
    layers' bytes are the tensors' sizes, and with the command banks they are all DMA reads."""
    cfg = accel(8)
    program, image, _ = build(small_mlp(), cfg)
    mem = program.memory
    R = mem.R
    for layer in program.layers:
        assert layer.gemm_node is not None
        w = mem.weight(layer.gemm_node)
        # 16/12/10 outputs of K = 20/16/12: chunks x (13 parameter words + K rows) x 8 bytes
        assert layer.bytes.weights == w.nbytes(R) == -(-w.n // R) * (13 + w.k) * R
        assert layer.bytes.input == mem.tensor(layer.reads).nbytes(R)
        assert layer.bytes.output == mem.tensor(layer.output).nbytes(R) == -(-w.n // R) * 4 * R
    banks = sum(b.commands for b in mem.banks if b.engine != Engine.LOAD or b.index > 0) * COMMAND_BYTES
    rp = replay(cfg, image.dram, boot_addr=mem.boot_addr, boot_count=mem.boot_count)
    assert rp.dma_read_bytes == sum(layer.bytes.read for layer in program.layers) + banks + mem.boot_count * COMMAND_BYTES
    assert rp.dma_write_bytes == sum(layer.bytes.written for layer in program.layers)


def test_same_input_same_bytes() -> None:
    a = build(small_cnn(), accel(8))[1]
    b = build(small_cnn(), accel(8))[1]
    assert a.dram == b.dram and a.program == b.program


@pytest.mark.parametrize("op", ["Sigmoid", "Softmax", "LRN"])
def test_unsupported_op_is_named(op: str) -> None:
    b = Net(0)
    y = b.op("Conv", "x", b.weight(8, 3, 3, 3), pads=[1, 1, 1, 1])
    y = b.op(op, y, **({"size": 3} if op == "LRN" else {}))
    y = b.op("Conv", y, b.weight(8, 8, 1, 1))
    compiled = compile_for_run(b.model([("x", TensorProto.FLOAT, (1, 3, 8, 8))], [y]), accel(8))
    with pytest.raises(UserError, match=rf"\b{op}\b") as e:
        codegen(compiled.graph, compiled.program)
    assert "\n" not in str(e.value)


def test_config_the_rtl_does_not_implement() -> None:
    compiled = compile_for_run(small_mlp(), accel(8).replace(residency=True))
    with pytest.raises(UserError, match=r"residency = true .*; set residency = false"):
        codegen(compiled.graph, compiled.program)


def test_estimate_timing_replay_is_the_replay_of_the_program_verify_runs(tmp_path) -> None:
    """``hwsim estimate --timing replay`` compiles without weights; its layers' cycles are the
    replay of the very program (weights, inputs and all) that ``hwsim verify`` runs on the RTL, and
    its DRAM bytes are what that program's LOADs and STOREs move."""
    import json

    import jsonschema

    from hwsim import api
    from hwsim.cli import main
    from hwsim.report import SCHEMA

    cfg = accel(8)
    program, image, _ = build(small_cnn(), cfg)
    mem = image.program.memory
    timed = replay(cfg, image.dram, boot_addr=mem.boot_addr, boot_count=mem.boot_count)
    report = api.estimate(small_cnn(), cfg, timing="replay")
    listed = {layer.name: layer for layer in report.listed}
    assert [layer.name for layer in program.layers] == list(listed)
    for code, cycles in zip(program.layers, timed.layer_cycles):
        assert listed[code.name].cycles == cycles
        assert listed[code.name].dram_read_bytes == code.bytes.read
        assert listed[code.name].dram_write_bytes == code.bytes.written
    assert report.totals.cycles == timed.layer_end_cycles[-1]
    analytic = api.estimate(small_cnn(), cfg)
    assert [layer.compute_cycles for layer in analytic.listed] == [layer.compute_cycles for layer in report.listed]
    model = tmp_path / "cnn.onnx"
    import onnx

    onnx.save(small_cnn(), model)
    out = tmp_path / "r.json"
    toml = tmp_path / "a.toml"
    toml.write_text('preset = "fpga-edge"\n[array]\nconv_reduction = "per_tap"\n[memory]\nresidency = false\n'
                    '[vector]\nstore_path = ["activation", "scale", "requantize", "residual"]\n')
    assert main(["estimate", str(model), "--config", str(toml), "--timing", "replay", "--json", str(out)]) == 0
    got = json.loads(out.read_text())
    jsonschema.validate(got, SCHEMA)
    assert got["timing"] == "replay" and got["totals"]["cycles"] == timed.layer_end_cycles[-1]
    assert main(["estimate", str(model), "--preset", "gemmini-like", "--timing", "replay"]) == 2


def test_an_overflowing_weight_block_keeps_double_buffering() -> None:
    """wide_fc's weight block does not fit a wbuf part: its chunks load in groups into alternating
    parts, each chunk once, so the next group's load overlaps this group's GEMMs."""
    cfg = accel(8)
    program, image, _ = build(wide_fc(), cfg)
    half = cfg.filter_part_bytes * cfg.buffer_parts // cfg.rows // 2
    fc = [c for c in program.load if getattr(c, "target", None) is not None and c.target.name == "WBUF"]
    first = [c for c in fc if c.dram_addr < program.memory.weight("Gemm_node_4").addr + program.memory.weight(
        "Gemm_node_4").nbytes(8)]
    assert sum(c.words for c in first) == 8 * (13 + 512)            # 8 chunks, each loaded once
    assert all(c.words <= half for c in first)                        # each group fits a part
    assert {c.sram_addr for c in first} == {0, half}                  # in both parts, alternating
    mem = image.program.memory
    trace = replay(cfg, image.dram, boot_addr=mem.boot_addr, boot_count=mem.boot_count).trace
    loads = [t for t in trace if t.engine == Engine.LOAD and t.command in first]
    gemms = [t for t in trace if t.engine == Engine.EXEC and type(t.command).__name__ == "Gemm"]
    assert any(g.start <= ld.start <= g.done for ld in loads[1:] for g in gemms)  # a load during a GEMM

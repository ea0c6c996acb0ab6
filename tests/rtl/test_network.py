"""Whole int8 networks on the accelerator's RTL: ``hwsim rtl MODEL.onnx`` writes what a host loads,
``hwsim verify MODEL.onnx`` runs it under Icarus (cocotb bench, TimedAxiRam) and checks every
layer's output bytes against ``hwsim run --precision int8`` and every layer's cycles and counter
against the replay model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto

from hwsim import api
from hwsim.cli import main
from hwsim.core.config import preset
from hwsim.core.isa import MemoryTiming
from hwsim.execute import compile_for_run, run
from tests.compiler.accel_functional import Functional
from tests.compiler.test_codegen import EPILOGUE, accel, tiny_net, wide_fc
from tests.execute.models import Net, small_cnn, small_mlp

ACCEL_TOML = """name = "edge-accel"
preset = "fpga-edge"
[array]
rows = {R}
cols = {R}
conv_reduction = "per_tap"
[memory]
residency = false
{memory}
[vector]
store_path = {store_path}
[control]
command_depth = {depth}
"""


def toml(tmp_path: Path, R: int, memory: str = "", depth: int = 256) -> Path:
    path = tmp_path / f"accel{R}d{depth}.toml"
    path.write_text(ACCEL_TOML.format(R=R, memory=memory, store_path=json.dumps(list(EPILOGUE)), depth=depth))
    return path


def test_rtl_writes_what_a_host_loads(tmp_path, capsys):
    """The files alone run the network: a host loads dram.bin at 0 and writes the manifest's boot
    registers; the functional model of the ISA then leaves every layer's int8 codes in DRAM where
    memory.json says, equal to hwsim run's."""
    model = tmp_path / "tiny.onnx"
    onnx.save(tiny_net(), model)
    out = tmp_path / "design"
    assert main(["rtl", str(model), "--config", str(toml(tmp_path, 4)), "--out", str(out), "-q"]) == 0
    top = "hwsim_edge_accel_4x4_accel"
    assert {p.name for p in out.iterdir()} == {f"{top}.v", "files.f", "program.bin", "dram.bin", "memory.json",
                                               "manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    memory = json.loads((out / "memory.json").read_text())
    dram = (out / "dram.bin").read_bytes()
    assert dram[memory["program"]["addr"]:] == (out / "program.bin").read_bytes()
    verilog = (out / f"{top}.v").read_text()
    assert f"module {top}" in verilog and "m_axi_araddr" in verilog and "s_axil_awaddr" in verilog
    cfg = accel(4).replace(name="edge-accel")
    fm = Functional(cfg, dram, manifest["boot"]["BOOT_ADDR"], manifest["boot"]["BOOT_COUNT"])
    fm.run()
    x = np.random.default_rng(0).standard_normal((1, 3, 10, 10)).astype(np.float32)  # the documented default input
    result = run(compile_for_run(tiny_net(), cfg), {"x": x}, precision="int8", keep_codes=True)
    final = next(t for t in memory["tensors"] if t["name"] == tiny_net().graph.output[0].name)
    blob = bytes(fm.dram[final["addr"]: final["addr"] + final["bytes"]])
    want = result.codes[final["name"]]  # (1, 6, 2, 2): channels 0-3 in chunk 0, 4-5 in chunk 1 (lanes 6-7 zero)
    got = np.frombuffer(blob, np.int8).reshape(2, 2, 2, 4).transpose(0, 3, 1, 2).reshape(8, 2, 2)
    np.testing.assert_array_equal(got[:6], want[0])
    assert not got[6:].any()
    assert "BOOT_ADDR" in capsys.readouterr().out


def test_verify_a_tiny_network_bit_and_cycle_exact(tmp_path, capsys):
    """Banks of 8 commands: every engine chains banks, the load engine filling its own."""
    model = tmp_path / "tiny.onnx"
    onnx.save(tiny_net(), model)
    report = tmp_path / "verify.json"
    code = main(["verify", str(model), "--config", str(toml(tmp_path, 4, depth=8)), "--json", str(report), "-q"])
    text = capsys.readouterr().out
    assert code == 0, text
    got = json.loads(report.read_text())
    assert got["passed"] is True and got["rtl_cycles"] == got["model_cycles"] > 0
    assert [layer["name"] for layer in got["layers"]] == ["Conv_node_4", "Conv_node_11"]
    for layer in got["layers"]:
        assert layer["rtl_cycles"] == layer["model_cycles"] > 0 and layer["mismatches"] == 0
    assert got["counters"]["rtl"]["LAYERS_DONE"] == 2 and got["counters"]["rtl"]["STATUS"] & 2
    assert got["config"]["rows"] == 4 and "passed" in text
    retired = got["counters"]["rtl"]
    assert min(retired["LOAD_RETIRED"], retired["EXEC_RETIRED"]) > 8  # more than one bank each


def test_without_a_config_the_accelerator_commands_take_the_config_the_rtl_implements(tmp_path):
    """No --preset or --config: ``hwsim rtl MODEL.onnx`` builds edge-accel's 8x8 accelerator (the
    shipped preset is a config the RTL implements, so it is not refused as fpga-edge would be)."""
    model = tmp_path / "tiny.onnx"
    onnx.save(tiny_net(), model)
    out = tmp_path / "design"
    assert main(["rtl", str(model), "--out", str(out), "-q"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["name"] == "edge-accel" and manifest["config"]["rows"] == 8
    assert (out / "hwsim_edge_accel_8x8_accel.v").exists()


def test_verify_refuses_what_the_rtl_does_not_implement(tmp_path, capsys):
    model = tmp_path / "tiny.onnx"
    onnx.save(tiny_net(), model)
    report = tmp_path / "verify.json"
    assert main(["verify", str(model), "--preset", "gemmini-like", "--json", str(report)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the accelerator RTL does not implement") and err.count("\n") == 1
    assert not report.exists()
    b = Net(0)
    y = b.op("Sigmoid", b.op("Conv", "x", b.weight(4, 3, 1, 1)))
    onnx.save(b.model([("x", TensorProto.FLOAT, (1, 3, 4, 4))], [y]), tmp_path / "sig.onnx")
    assert main(["rtl", str(tmp_path / "sig.onnx"), "--config", str(toml(tmp_path, 4)), "--out",
                 str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Sigmoid" in err and not (tmp_path / "d").exists()


# ------------------------------------------------------------------------------------ slow set

def resnet_like() -> onnx.ModelProto:
    """A small ResNet-like network: a strided stem, max pooling, two residual blocks (the second
    with a strided 1x1 projection), global average pooling and a classifier."""
    b = Net(11)
    y = b.op("Relu", b.op("Conv", "x", b.weight(8, 3, 3, 3), b.weight(8, scale=0.1), pads=[1, 1, 1, 1], strides=[2, 2]))
    y = b.op("MaxPool", y, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    z = b.op("Relu", b.op("Conv", y, b.weight(8, 8, 3, 3), b.weight(8, scale=0.1), pads=[1, 1, 1, 1]))
    z = b.op("Conv", z, b.weight(8, 8, 3, 3), b.weight(8, scale=0.1), pads=[1, 1, 1, 1])
    y = b.op("Relu", b.op("Add", z, y))
    z = b.op("Relu", b.op("Conv", y, b.weight(16, 8, 3, 3), b.weight(16, scale=0.1), pads=[1, 1, 1, 1], strides=[2, 2]))
    z = b.op("Conv", z, b.weight(16, 16, 3, 3), b.weight(16, scale=0.1), pads=[1, 1, 1, 1])
    p = b.op("Conv", y, b.weight(16, 8, 1, 1), strides=[2, 2])
    y = b.op("Relu", b.op("Add", z, p))
    f = b.op("Flatten", b.op("GlobalAveragePool", y))
    logits = b.op("Gemm", f, b.weight(10, 16), b.weight(10, scale=0.1), transB=1)
    return b.model([("x", TensorProto.FLOAT, (1, 3, 32, 32))], [logits])


#: Two DRAMs: the fpga-edge preset's (3.2 GB/s, its latency) and a slow one where loads bound the
#: array (0.2 GB/s = a beat every 8 cycles at 8x8, 200 ns).
MEMORIES = {"preset": "", "dram-bound": "dram_gbps = 0.2\ndram_latency_ns = 200.0"}
NETWORKS = {"cnn": small_cnn, "mlp": small_mlp, "resnet": resnet_like, "wide_fc": wide_fc}


@pytest.mark.slow
@pytest.mark.parametrize("depth", [8, 10])
def test_whole_networks_through_many_command_banks(depth, tmp_path):
    """The ResNet-like network's lists cut into banks of 8 or 10 (not a power of two) commands: its
    36 exec commands fill four banks or more, the last one part full at 10."""
    result = api.verify(toml(tmp_path, 8, depth=depth), model=resnet_like())
    assert result.passed, [layer.to_dict() for layer in result.layers]
    assert result.rtl_counters["EXEC_RETIRED"] > 3 * depth  # four banks or more


@pytest.mark.slow
@pytest.mark.parametrize("network", list(NETWORKS))
@pytest.mark.parametrize("R", [4, 8])
@pytest.mark.parametrize("memory", list(MEMORIES))
def test_whole_networks_bit_and_cycle_exact(network, R, memory, tmp_path):
    result = api.verify(toml(tmp_path, R, MEMORIES[memory]), model=NETWORKS[network]())
    assert result.passed, [layer.to_dict() for layer in result.layers]
    assert result.rtl_counters["LAYERS_DONE"] == len(result.layers)
    if memory == "dram-bound":
        cfg = preset("fpga-edge").replace(rows=R, cols=R, dram_gbps=0.2)
        assert MemoryTiming.of(cfg).beat_interval > 1
        # the array waits for loads, exactly as long as the replay model says
        assert result.rtl_counters["EXEC_WAIT_LOAD"] == result.model_counters["EXEC_WAIT_LOAD"] > 0


def test_verify_fails_when_the_model_is_one_cycle_off_per_burst(tmp_path, capsys, monkeypatch):
    """The equality is real: a replay whose DMA takes one more cycle per burst to be done (and so
    per layer, per counter) makes ``hwsim verify`` exit 1 and say which layers differ."""
    from dataclasses import replace

    import hwsim.api
    from hwsim.core import isa
    from hwsim.replay import replay

    def off_by_one(*args, **kwargs):
        return replay(*args, timing=replace(isa.TIMING, dma_done=isa.TIMING.dma_done + 1), **kwargs)

    monkeypatch.setattr(hwsim.api._replay, "replay", off_by_one)
    model = tmp_path / "tiny.onnx"
    onnx.save(tiny_net(), model)
    report = tmp_path / "verify.json"
    assert main(["verify", str(model), "--config", str(toml(tmp_path, 4)), "--json", str(report), "-q"]) == 1
    got = json.loads(report.read_text())
    assert got["passed"] is False and got["rtl_cycles"] != got["model_cycles"]
    assert all(layer["mismatches"] == 0 for layer in got["layers"])  # the bytes are still right
    assert any(layer["rtl_cycles"] != layer["model_cycles"] for layer in got["layers"])
    assert "FAILED" in capsys.readouterr().out

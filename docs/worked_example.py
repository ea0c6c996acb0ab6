"""Build docs/examples/matmul_64x96x48.onnx and print the worked example of docs/model.md.

    .venv/bin/python docs/worked_example.py            # print the markdown section
    .venv/bin/python docs/worked_example.py --write    # also (re)write the example model

tests/docs/test_worked_example.py checks that docs/model.md holds exactly this text, so the
hand calculation on that page always matches what `hwsim estimate ... --json -` prints.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
MODEL = HERE / "examples" / "matmul_64x96x48.onnx"
M, K, N = 64, 96, 48
PRESET = "fpga-edge"


def build_model() -> onnx.ModelProto:
    w = np.random.default_rng(0).standard_normal((K, N)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")],
        "worked_example",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [M, K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [M, N])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="hwsim-docs")
    model.ir_version = 8
    return model


def section() -> str:
    """The markdown of the worked example, every number computed here and by the tool."""
    import compiler
    from hwsim.core.config import preset
    from hwsim.simulate import simulate

    cfg = preset(PRESET)
    report = simulate(compiler.compile_model(MODEL, cfg)).to_dict()
    layer = report["layers"][0]
    e = cfg.energy
    R = cfg.rows
    folds = math.ceil(K / R)
    tiles = math.ceil(N / cfg.cols)
    # K = 96 is 12 whole folds of 8 rows, so every fold after the first streams max(m, R) cycles.
    tile = R + (folds - 1) * max(M, R) + M + R + cfg.cols + 1 + 3
    a_bytes, b_bytes, out_bytes = M * K, K * N, M * N
    dram = a_bytes + b_bytes + out_bytes
    bw = cfg.dram_bytes_per_cycle
    prologue = (M * K + K * cfg.cols) / bw
    epilogue = M * cfg.cols / bw
    stall = math.ceil(prologue + epilogue)
    cycles = tiles * tile + stall
    macs = M * K * N
    reg_bytes = macs * (1 + 4) + b_bytes
    ports = dict(zip(("ifmap", "filter", "ofmap"), cfg.sram_port_bits))

    def sram(buffer: str) -> float:
        return e.sram_pj_per_byte(getattr(cfg, f"{buffer}_kib"), ports[buffer])

    acc_bytes = M * N * folds * 4
    mac = e.mac_energy_pj(cfg.number_format, cfg.input_bits, cfg.weight_bits, cfg.acc_bits)
    parts = {
        "mac": (f"{macs:,} MACs × {mac:.3g} pJ (8×8-bit multiply 0.2 + 32-bit add 0.1)", macs * mac * 1e-12),
        "array_reg": (f"({macs:,} × (1 + 4) + {b_bytes:,}) B × {e.register_pj_per_byte} pJ",
                      reg_bytes * e.register_pj_per_byte * 1e-12),
        "ifmap_sram": (f"({a_bytes:,} × {tiles} reads + {a_bytes:,} writes) B × {sram('ifmap'):.4g} pJ ({cfg.ifmap_kib:g} KiB)",
                       (a_bytes * tiles + a_bytes) * sram("ifmap") * 1e-12),
        "filter_sram": (f"({b_bytes:,} reads + {b_bytes:,} writes) B × {sram('filter'):.4g} pJ ({cfg.filter_kib:g} KiB)",
                        2 * b_bytes * sram("filter") * 1e-12),
        "ofmap_sram": (f"2 × {M}·{N}·{folds} folds·4 B = {2 * acc_bytes:,} B × {sram('ofmap'):.6g} pJ ({cfg.ofmap_kib:g} KiB)",
                       2 * acc_bytes * sram("ofmap") * 1e-12),
        "dram": (f"{dram:,} B × {e.dram_pj_per_byte:g} pJ", dram * e.dram_pj_per_byte * 1e-12),
        "vector": ("no epilogue", 0.0),
        "static": (f"{e.static_power_w} W (the FPGA's `static_power_w`) × {cycles:,} cycles / {cfg.clock_mhz:g} MHz",
                   e.static_power_w * cycles / cfg.clock_hz),
    }
    lines = [
        "## Worked example",
        "",
        f"`docs/examples/matmul_64x96x48.onnx` is one MatMul, x[{M}×{K}] · w[{K}×{N}], on `{PRESET}`"
        f" ({cfg.rows}×{cfg.cols}, {cfg.clock_mhz:g} MHz, {bw:g} DRAM bytes per cycle). Check each line against",
        "",
        "```sh",
        f"bin/hwsim estimate docs/examples/matmul_64x96x48.onnx --preset {PRESET} --json -",
        "```",
        "",
        f"* Tiles: n = {N} splits into {tiles} tiles of {cfg.cols} columns; all of K ({folds} folds of {R})"
        f" and all {M} rows fit, so there are {tiles} tiles of m={M}, k={K}, n={cfg.cols}.",
        f"* Each tile (`ws_tile_cycles`, F = {folds} whole folds): `k_0 + (F − 1)·max(m, k_f) + m + R + C + 1 + 3`"
        f" `= {R} + {folds - 1}·{max(M, R)} + {M} + {R} + {cfg.cols} + 4 = {tile}` cycles (load, stream, drain,"
        f" emit); compute = {tiles} × {tile} = **{tiles * tile:,}** (`compute_cycles`).",
        f"* DRAM: A {a_bytes:,} B (read once: it fits the ifmap half), B {b_bytes:,} B, results {out_bytes:,} B:"
        f" **{a_bytes + b_bytes:,}** read, **{out_bytes:,}** written.",
        f"* Stalls: each tile's share of the transfers ({dram:,} B / {tiles} / {bw:g} = {dram / tiles / bw:g} cycles)"
        f" hides behind its {tile} compute cycles; the first tile's operands ({M * K + K * cfg.cols:,} B)"
        f" and the last tile's results ({M * cfg.cols} B) do not: ⌈{prologue:g} + {epilogue:g}⌉ = **{stall}**"
        f" (`stall_cycles`), so `cycles` = **{cycles:,}**.",
        "",
        "| component | events × energy | joules (`energy_breakdown_j`) |",
        "|---|---|---|",
    ]
    for key, (how, joules) in parts.items():
        lines.append(f"| `{key}` | {how} | {joules:.6g} |")
    total = sum(j for _, j in parts.values())
    lines.append(f"| **total** | | **{total:.6g}** (`energy_j`) |")
    # The hand calculation above must be what the tool reports, digit for digit as shown.
    assert layer["compute_cycles"] == tiles * tile and layer["stall_cycles"] == stall, layer
    assert layer["dram_read_bytes"] == a_bytes + b_bytes and layer["dram_write_bytes"] == out_bytes
    for key, (_, joules) in parts.items():
        assert f"{joules:.6g}" == f"{layer['energy_breakdown_j'][key]:.6g}", (key, joules, layer["energy_breakdown_j"])
    assert f"{total:.6g}" == f"{layer['energy_j']:.6g}"
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if "--write" in sys.argv:
        MODEL.parent.mkdir(exist_ok=True)
        onnx.save(build_model(), MODEL)
    print(section(), end="")

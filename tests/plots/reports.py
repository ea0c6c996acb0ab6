"""Synthetic reports in the ``--json`` contract, for testing the plots without the simulator.

The layers cycle through convolutions, element-wise vector layers and a final Gemm, with figures
from a simple analytic model so that the numbers are self-consistent (cycles = compute + stall,
energy_j = sum of the breakdown, totals = sums over layers) and differ from layer to layer.
"""

from __future__ import annotations

import math
from typing import Any

from hwsim.core.area import asic_area
from hwsim.core.config import AcceleratorConfig

COMPONENTS = ("mac", "array_reg", "ifmap_sram", "filter_sram", "ofmap_sram", "dram", "vector", "static")


def make_report(n_layers: int, cfg: AcceleratorConfig | None = None, model: str = "synthetic-net") -> dict[str, Any]:
    """A report of ``n_layers`` layers on ``cfg`` (default: a 16x16 array)."""
    cfg = cfg or AcceleratorConfig(name="test-array")
    layers = [_layer(i, n_layers, cfg) for i in range(n_layers)]
    cycles = sum(layer["cycles"] for layer in layers)
    macs = sum(layer["macs"] for layer in layers)
    return {
        "model": model,
        "config": cfg.to_dict(),
        "totals": {
            "macs": macs,
            "cycles": cycles,
            "latency_s": cycles / cfg.clock_hz,
            "energy_j": sum(layer["energy_j"] for layer in layers),
            "utilization": macs / (cycles * cfg.pes),
            "dram_read_bytes": sum(layer["dram_read_bytes"] for layer in layers),
            "dram_write_bytes": sum(layer["dram_write_bytes"] for layer in layers),
        },
        "layers": layers,
    }


def _layer(i: int, n_layers: int, cfg: AcceleratorConfig) -> dict[str, Any]:
    stage = i * 4 // max(n_layers, 1)  # four "stages": spatial size shrinks as channels grow
    if i == n_layers - 1 and n_layers > 1:
        op, gemm = "Gemm", {"m": 1, "k": 64 << stage, "n": 1000, "groups": 1}
    elif i % 3 == 2:
        op, gemm = ("Add" if i % 2 else "Relu"), None
    else:
        hw = 56 >> stage
        channels = 64 << stage
        kernel = 9 if i % 3 == 0 else 1
        op, gemm = "Conv", {"m": hw * hw, "k": channels * kernel, "n": channels, "groups": 1}
    elems = (56 >> stage) ** 2 * (64 << stage)
    if gemm is not None:
        macs = gemm["m"] * gemm["k"] * gemm["n"] * gemm["groups"]
        read = gemm["m"] * gemm["k"] // (3 if gemm["k"] > 64 else 1) + gemm["k"] * gemm["n"]
        write = gemm["m"] * gemm["n"]
        efficiency = 0.3 + 0.07 * ((7 * i) % 10)  # edge tiles leave part of the array idle
        compute = math.ceil(macs / (cfg.pes * efficiency)) + cfg.rows + cfg.cols
        vector_ops = write
    else:
        macs, read, write = 0, 2 * elems, elems
        compute = math.ceil(elems / cfg.vector_lanes)
        vector_ops = elems
    stall = max(0, math.ceil((read + write) / cfg.dram_bytes_per_cycle) - compute)
    cycles = compute + stall
    e, area = cfg.energy, asic_area(cfg)
    breakdown = {
        "mac": macs * e.mac_energy_pj(cfg.number_format, cfg.input_bits, cfg.weight_bits, cfg.acc_bits) * 1e-12,
        "array_reg": 3 * macs * e.register_pj_per_byte * 1e-12,
        "ifmap_sram": (read + macs // max(cfg.cols, 1)) * e.sram_pj_per_byte(cfg.ifmap_kib) * 1e-12,
        "filter_sram": (gemm["k"] * gemm["n"] if gemm else 0) * e.sram_pj_per_byte(cfg.filter_kib) * 1e-12,
        "ofmap_sram": 4 * write * e.sram_pj_per_byte(cfg.ofmap_kib) * 1e-12,
        "dram": (read + write) * e.dram_pj_per_byte * 1e-12,
        "vector": vector_ops * e.vector_pj * 1e-12,
        "static": e.static_power(area.array_mm2, area.sram_mm2) * cycles / cfg.clock_hz,
    }
    return {
        "name": f"/stage{stage + 1}/block{i}/{op.lower()}_{i}",
        "op": op,
        "macs": macs,
        "cycles": cycles,
        "compute_cycles": compute,
        "stall_cycles": stall,
        "utilization": macs / (cycles * cfg.pes),
        "energy_j": sum(breakdown.values()),
        "energy_breakdown_j": breakdown,
        "dram_read_bytes": read,
        "dram_write_bytes": write,
        "gemm": gemm,
    }

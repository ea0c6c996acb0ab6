"""Energy as event counts times energy per event (docs/model.md#energy has every figure's source)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from hwsim.core.area import asic_area
from hwsim.core.config import AcceleratorConfig
from hwsim.core.program import Traffic

__all__ = ["EnergyBreakdown", "layer_energy"]

_PJ = 1e-12


@dataclass(frozen=True)
class EnergyBreakdown:
    """Joules per component; the JSON report's ``energy_breakdown_j`` uses these field names."""

    mac: float = 0.0
    array_reg: float = 0.0
    ifmap_sram: float = 0.0
    filter_sram: float = 0.0
    ofmap_sram: float = 0.0
    dram: float = 0.0
    vector: float = 0.0
    static: float = 0.0

    @property
    def total(self) -> float:
        return sum(getattr(self, f.name) for f in fields(self))

    def __add__(self, other: EnergyBreakdown) -> EnergyBreakdown:
        return EnergyBreakdown(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def layer_energy(cfg: AcceleratorConfig, macs: int, vector_ops: int, traffic: Traffic, cycles: int) -> EnergyBreakdown:
    """Energy of one layer from its MACs, vector operations, bytes moved and latency."""
    e = cfg.energy
    ifmap_bits, filter_bits, ofmap_bits = cfg.sram_port_bits
    area = asic_area(cfg)
    # A shared scratchpad is one SRAM: activations and weights pay its size's energy per access.
    act_kib = cfg.activation_buffer_bytes / 1024
    weight_kib = act_kib if cfg.shared_buffer else cfg.filter_kib

    def sram(capacity_kib: float, width_bits: int, reads: int, writes: int) -> float:
        return (reads + writes * e.sram_write_factor) * e.sram_pj_per_byte(capacity_kib, width_bits) * _PJ

    return EnergyBreakdown(
        mac=macs * e.mac_energy_pj(cfg.number_format, cfg.input_bits, cfg.weight_bits, cfg.acc_bits) * _PJ,
        array_reg=traffic.array_reg_bytes * e.register_pj_per_byte * _PJ,
        ifmap_sram=sram(act_kib, ifmap_bits, traffic.ifmap_reads, traffic.ifmap_writes),
        filter_sram=sram(weight_kib, filter_bits, traffic.filter_reads, traffic.filter_writes),
        ofmap_sram=sram(cfg.ofmap_kib, ofmap_bits, traffic.ofmap_reads, traffic.ofmap_writes),
        dram=(traffic.dram_read + traffic.dram_write) * e.dram_pj_per_byte * _PJ,
        vector=vector_ops * e.vector_pj * _PJ,
        static=e.static_power(area.array_mm2, area.sram_mm2) * cycles / cfg.clock_hz,
    )

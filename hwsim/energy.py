"""Energy as event counts times energy per event (docs/model.md#energy has every figure's source)."""

from __future__ import annotations

from dataclasses import dataclass, fields

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

    def sram(capacity_kib: float, reads: int, writes: int) -> float:
        return (reads + writes * e.sram_write_factor) * e.sram_pj_per_byte(capacity_kib) * _PJ

    return EnergyBreakdown(
        mac=macs * e.mac_pj * _PJ,
        array_reg=traffic.array_reg_bytes * e.array_reg_pj_per_byte * _PJ,
        ifmap_sram=sram(cfg.ifmap_kib, traffic.ifmap_reads, traffic.ifmap_writes),
        filter_sram=sram(cfg.filter_kib, traffic.filter_reads, traffic.filter_writes),
        ofmap_sram=sram(cfg.ofmap_kib, traffic.ofmap_reads, traffic.ofmap_writes),
        dram=(traffic.dram_read + traffic.dram_write) * e.dram_pj_per_byte * _PJ,
        vector=vector_ops * e.vector_op_pj * _PJ,
        static=e.static_power_w * cycles / cfg.clock_hz,
    )

"""The one accelerator description that the tiler, the simulator, the energy model and the RTL share.

An :class:`AcceleratorConfig` is frozen and validated on construction. Load one from a shipped
preset or a TOML file; derive variants with :meth:`AcceleratorConfig.replace`::

    >>> cfg = preset("gemmini-like")
    >>> (cfg.rows, cfg.cols, cfg.dataflow)
    (16, 16, 'ws')
    >>> cfg.replace(rows=8).rows
    8

TOML layout (every key optional; ``preset`` picks the base, defaults come from ``gemmini-like``)::

    name = "my-array"
    preset = "gemmini-like"
    [array]   rows, cols, dataflow, input_bits, weight_bits, acc_bits, clock_mhz, number_format, conv_reduction
    [memory]  ifmap_kib, filter_kib, ofmap_kib, dram_gbps, dram_gib, double_buffer, shared_buffer, residency,
              weight_fifo, dram_latency_ns, dram_burst_bytes, dma_request_bytes
    [control] command_cycles, command_rows, command_min_cycles, command_depth
    [mapping] objective
    [vector]  lanes, store_path
    [fpga]    device, mult_stages, adder_segments, acc_stages
    [energy]  node_nm, mac_pj, array_reg_pj_per_byte, sram_pj_per_byte_ref, sram_ref_kib,
              sram_size_exponent, sram_fixed_fraction, sram_write_factor, dram_pj_per_byte,
              vector_op_pj, logic_leakage_mw_per_mm2, sram_leakage_mw_per_mm2, static_power_w
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from dataclasses import dataclass, field, fields
from fractions import Fraction
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from .errors import UserError, shown
from .files import parse_toml, read_text
from .fpga import DEVICES, PIPELINE_DEFAULTS, Pipeline, family_of
from .tech import NANGATE_FA_X1, NODES, NUMBER_FORMATS, mac_pj, node_energy_factor
from .workload import STORE_PATH_FAMILIES, GemmShape

__all__ = ["AcceleratorConfig", "EnergyTable", "DATAFLOWS", "CONV_REDUCTIONS", "preset", "preset_names", "load_config"]

DATAFLOWS = ("ws", "os", "is")
#: How the array reduces a convolution (docs/model.md#per-tap-convolution): ``"im2col"`` over all
#: of ``in_channels x kh x kw`` as one K, ``"per_tap"`` kernel tap by kernel tap over the input
#: channels (direct convolution: Gemmini's conv loop, NVDLA), so no array fold mixes two taps.
CONV_REDUCTIONS = ("im2col", "per_tap")


@dataclass(frozen=True)
class EnergyTable:
    """What each event costs: picojoules at 45 nm, scaled to ``node_nm``; static power in watts.

    Every ``*_pj*`` figure is a 45 nm figure that :attr:`node_factor` scales to ``node_nm``, except
    DRAM, which is off chip. Sources, and what is verified or assumed: docs/model.md#energy.
    """

    #: CMOS node in nm (one of ``tech.NODES``): dynamic energies scale by Stillmaker and Baas's factor.
    node_nm: int = 45
    #: One MAC, overriding the Horowitz figure for the config's widths and number format (mac_energy_pj).
    mac_pj: float | None = None
    #: A byte written to or read from a PE pipeline register: 32-bit register file access 1 pJ / 4 B.
    array_reg_pj_per_byte: float = 0.25
    #: SRAM access energy per byte at ``sram_ref_kib``: 8 KiB SRAM, 64-bit access, 10 pJ / 8 B.
    sram_pj_per_byte_ref: float = 1.25
    sram_ref_kib: float = 8.0
    #: SRAM energy grows as (capacity / ref) ** exponent; 0.5 fits Horowitz's 8 KiB/32 KiB/1 MiB points.
    sram_size_exponent: float = 0.5
    #: Share of a 64-bit access that does not grow with the port width (decoders, word line, control).
    sram_fixed_fraction: float = 0.0
    #: Write energy relative to read energy for the same SRAM.
    sram_write_factor: float = 1.0
    #: DRAM: 640 pJ per 32-bit access (Horowitz 2014, as tabulated by Han et al., ISCA 2016); not node-scaled.
    dram_pj_per_byte: float = 160.0
    #: One vector-unit element operation: 32-bit floating-point add, 0.9 pJ (Horowitz 2014).
    vector_op_pj: float = 0.9
    #: Leakage of the PE array per mm² of its area: NanGate FreePDK45 FA_X1, 75.76 nW over 4.256 µm².
    logic_leakage_mw_per_mm2: float = NANGATE_FA_X1[0] / NANGATE_FA_X1[1]
    #: Leakage of the SRAM per mm² of macro area: assumed equal to the logic's (docs/model.md#energy).
    sram_leakage_mw_per_mm2: float = NANGATE_FA_X1[0] / NANGATE_FA_X1[1]
    #: Static power of the whole device, replacing the area-based leakage (FPGAs: the datasheet figure).
    static_power_w: float | None = None

    @property
    def node_factor(self) -> float:
        """Energy per operation at ``node_nm`` relative to 45 nm."""
        return node_energy_factor(self.node_nm)

    def mac_energy_pj(self, number_format: str, input_bits: int, weight_bits: int, acc_bits: int) -> float:
        """One MAC: an input x weight multiply and an add at the accumulator width (``tech.mac_pj``)."""
        pj = mac_pj(number_format, input_bits, weight_bits, acc_bits) if self.mac_pj is None else self.mac_pj
        return pj * self.node_factor

    @property
    def register_pj_per_byte(self) -> float:
        """A byte through a PE pipeline register at ``node_nm``."""
        return self.array_reg_pj_per_byte * self.node_factor

    @property
    def vector_pj(self) -> float:
        """One vector-unit element operation at ``node_nm``."""
        return self.vector_op_pj * self.node_factor

    def sram_pj_per_byte(self, capacity_kib: float, width_bits: int = 64) -> float:
        """Read energy per byte of an SRAM of ``capacity_kib`` with a ``width_bits`` port, at ``node_nm``.

        Capacity: the square-root law through Horowitz's 64-bit accesses. Width: a 64-bit access's
        energy is a fixed part ``sram_fixed_fraction`` plus a part per bit, so a wider port spreads
        the fixed part over more bytes (with the default fraction 0, energy per byte is width-free).
        """
        per_byte_64 = self.sram_pj_per_byte_ref * (capacity_kib / self.sram_ref_kib) ** self.sram_size_exponent
        width = self.sram_fixed_fraction * 64 / width_bits + (1 - self.sram_fixed_fraction)
        return per_byte_64 * width * self.node_factor

    def static_power(self, array_mm2: float, sram_mm2: float) -> float:
        """Watts of static power: ``static_power_w`` if given, else leakage density times area."""
        if self.static_power_w is not None:
            return self.static_power_w
        return (self.logic_leakage_mw_per_mm2 * array_mm2 + self.sram_leakage_mw_per_mm2 * sram_mm2) * 1e-3


@dataclass(frozen=True)
class AcceleratorConfig:
    """A systolic-array accelerator: the array, its buffers, DRAM, the vector unit and energy."""

    name: str = "custom"
    #: PE rows; the weight-stationary array maps the reduction (K) dimension onto rows.
    rows: int = 16
    #: PE columns; the weight-stationary array maps output features (N) onto columns.
    cols: int = 16
    dataflow: str = "ws"
    input_bits: int = 8
    weight_bits: int = 8
    acc_bits: int = 32
    #: Operand format: "int" (any widths), or "fp16", "bf16", "fp32" with those formats' widths.
    number_format: str = "int"
    clock_mhz: float = 1000.0
    #: How a convolution's reduction meets the array's rows (:data:`CONV_REDUCTIONS`).
    conv_reduction: str = "im2col"
    #: Activation buffer, KiB: the A operand's tiles and the activations kept on chip between layers
    #: (SCALE-Sim's IFMAP SRAM; TPUv1's unified buffer).
    ifmap_kib: float = 128.0
    #: Weight buffer, KiB (SCALE-Sim's filter SRAM; TPUv1's weight FIFO).
    filter_kib: float = 128.0
    #: Accumulator memory holding acc_bits partial sums, KiB.
    ofmap_kib: float = 64.0
    #: DRAM bandwidth, GB/s (10^9 bytes per second), sustained.
    dram_gbps: float = 16.0
    #: DRAM capacity, GiB (``None``: not stated): what ``hwsim llm`` holds weights and KV cache to,
    #: and what a training step's memory is measured against (docs/training.md#memory).
    dram_gib: float | None = None
    #: Each buffer is split in halves so DRAM transfers overlap compute.
    double_buffer: bool = True
    #: The activation and weight buffers are one scratchpad (Gemmini's): the mapper splits its
    #: ifmap_kib + filter_kib between activations and weights layer by layer.
    shared_buffer: bool = False
    #: Activations may stay in the activation buffer from the layer that writes them to the layers
    #: that read them, instead of a round trip through DRAM.
    residency: bool = True
    #: The weight buffer is a FIFO (TPUv1's): weights stream from DRAM through it fold by fold, in
    #: whole rows x cols tiles (partial tiles padded), once per m tile, so a tile's K is not
    #: bounded by the buffer and weights are never kept for reuse.
    weight_fifo: bool = False
    #: First-byte latency of one DRAM request, ns.
    dram_latency_ns: float = 0.0
    #: DRAM transfers move whole bursts of this many bytes.
    dram_burst_bytes: int = 1
    #: Bytes one DMA request moves at most, one request a cycle, a request never spanning two rows
    #: of an operand (0: no per-request limit; docs/model.md#dma-requests).
    dma_request_bytes: int = 0
    #: Cycles the controller spends issuing each tile command, on top of the tile (docs/model.md#stalls).
    command_cycles: int = 0
    #: Rows a compute command streams at most (0: a command streams a whole fold, as hwsim's RTL
    #: does); a convolution's commands also stop at each output row (docs/model.md#command-granularity).
    command_rows: int = 0
    #: Fewest cycles one compute command takes, however few rows it streams (with ``command_rows``).
    command_min_cycles: int = 1
    #: Commands per bank of each engine's command memory in the generated accelerator (two banks
    #: per engine, docs/accelerator.md): the longest run of commands an engine executes before it
    #: moves to its other bank.
    command_depth: int = 256
    #: What the mapping search minimises first (docs/model.md#mapping): ``"cycles"`` (then DRAM
    #: bytes) or ``"dram"`` (then cycles), as Timeloop and ZigZag let the user pick the metric.
    mapping_objective: str = "cycles"
    #: Vector unit: elements processed per cycle.
    vector_lanes: int = 16
    #: What the store path can apply to results as they leave the accumulator (STORE_PATH_FAMILIES);
    #: a fused operator of another family costs a separate pass on the vector unit.
    store_path: tuple[str, ...] = STORE_PATH_FAMILIES
    #: The FPGA the design is built for (a name of ``hwsim.core.fpga.DEVICES``, e.g. "ecp5-45f"), or
    #: None (an ASIC, or no particular part): it picks the pipeline depths below that are not given.
    fpga: str | None = None
    #: Registers around each PE's multiplier (0 to 3; :class:`~hwsim.core.fpga.Pipeline`);
    #: None: the default of the ``fpga``'s family.
    mult_stages: int | None = None
    #: Carry segments of the partial-sum and accumulator adders (1 to 4); None: the family's default.
    adder_segments: int | None = None
    #: Stages of the accumulator's read-add-write loop (1 to 3); None: the family's default.
    acc_stages: int | None = None
    energy: EnergyTable = field(default_factory=EnergyTable)

    def __post_init__(self) -> None:
        _validate(self, where="config")

    # Every quantity derived from the fields lives here, so that the tiler, the simulator, the energy
    # model and the RTL compute it the same way (docs/architecture.md#derived-quantities).
    @property
    def input_bytes(self) -> int:
        return math.ceil(self.input_bits / 8)

    @property
    def weight_bytes(self) -> int:
        return math.ceil(self.weight_bits / 8)

    @property
    def acc_bytes(self) -> int:
        return math.ceil(self.acc_bits / 8)

    def tensor_bytes(self, elems: int, bits: int | None = None) -> int:
        """Bytes of ``elems`` activation elements: ``input_bytes`` each, or, for a tensor kept in a
        format of its own (``bits``, a KV cache at ``--kv-bits``), ``bits`` each packed, the total
        rounded up to whole bytes."""
        return elems * self.input_bytes if bits is None else -(-elems * bits // 8)

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    @cached_property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_gbps * 1e9 / self.clock_hz

    @property
    def dram_bytes_per_cycle_exact(self) -> Fraction:
        """:attr:`dram_bytes_per_cycle` as an exact fraction of the decimal figures given (3.2 GB/s
        at 200 MHz is exactly 16), for models that must not drift over millions of beats.

        >>> AcceleratorConfig(dram_gbps=1.6, clock_mhz=300.0).dram_bytes_per_cycle_exact
        Fraction(16, 3)
        """
        return Fraction(repr(float(self.dram_gbps))) * 1000 / Fraction(repr(float(self.clock_mhz)))

    @cached_property
    def dram_latency_cycles(self) -> int:
        """DRAM request latency in whole cycles of the accelerator's clock."""
        return math.ceil(self.dram_latency_ns * self.clock_mhz / 1000 - 1e-9)

    @property
    def activation_buffer_bytes(self) -> int:
        """Bytes that activations (resident tensors and A tiles) may occupy: the activation buffer,
        or the whole scratchpad when it is shared with the weights."""
        return _kib_bytes(self.ifmap_kib) + (_kib_bytes(self.filter_kib) if self.shared_buffer else 0)

    @property
    def dram_capacity_bytes(self) -> int | None:
        """DRAM capacity in bytes (``dram_gib`` GiB); ``None`` when the config does not state it."""
        return None if self.dram_gib is None else int(self.dram_gib * (1 << 30))

    @property
    def memories(self) -> tuple[tuple[str, str, int], ...]:
        """Every memory whose capacity the config states, as ``(label, config key, bytes)``: the
        activation buffer (with the weight buffer when they are one scratchpad), the weight buffer,
        the accumulators, and DRAM when ``dram_gib`` is given."""
        on_chip = [("activation buffer", "ifmap_kib + filter_kib" if self.shared_buffer else "ifmap_kib",
                    self.activation_buffer_bytes)]
        if not self.shared_buffer:
            on_chip.append(("weight buffer", "filter_kib", _kib_bytes(self.filter_kib)))
        on_chip.append(("accumulators", "ofmap_kib", _kib_bytes(self.ofmap_kib)))
        dram = self.dram_capacity_bytes
        return tuple(on_chip) if dram is None else (*on_chip, ("DRAM", "dram_gib", dram))

    @property
    def sram_port_bits(self) -> tuple[int, int, int]:
        """Port widths of the activation, weight and accumulator buffers: what the array takes or
        gives per cycle, a row of inputs, a row of weights and a row of accumulators."""
        return self.rows * self.input_bits, self.cols * self.weight_bits, self.cols * self.acc_bits

    @property
    def buffer_parts(self) -> int:
        """Parts each buffer is split into: 2 when double buffered (one fills while the other is used)."""
        return 2 if self.double_buffer else 1

    @property
    def ifmap_part_bytes(self) -> int:
        """Bytes of the input buffer one tile may use: half of it when double buffered, else all."""
        return _kib_bytes(self.ifmap_kib) // self.buffer_parts

    @property
    def filter_part_bytes(self) -> int:
        """Bytes of the weight buffer one tile may use (see :attr:`ifmap_part_bytes`)."""
        return _kib_bytes(self.filter_kib) // self.buffer_parts

    @property
    def ofmap_part_bytes(self) -> int:
        """Bytes of the accumulator memory one tile may use (see :attr:`ifmap_part_bytes`)."""
        return _kib_bytes(self.ofmap_kib) // self.buffer_parts

    @property
    def ifmap_part_elems(self) -> int:
        """Input elements one tile's part of the input buffer holds."""
        return self.ifmap_part_bytes // self.input_bytes

    @property
    def filter_part_elems(self) -> int:
        """Weight elements one tile's part of the weight buffer holds (packed: :meth:`tensor_bytes`)."""
        return self.filter_part_bytes * 8 // self.weight_bits

    @property
    def acc_depth(self) -> int:
        """Rows of ``cols`` accumulators in one tile's part of the accumulator memory: a tile's longest stream."""
        return max(1, self.ofmap_part_bytes // (self.cols * self.acc_bytes))

    @property
    def k_max(self) -> int:
        """The longest K a weight-stationary tile may have: as many whole folds of ``rows`` as one
        column of B fills in a tile's part of the weight buffer, and never less than one fold."""
        return max(self.rows, self.filter_part_elems // self.rows * self.rows)

    def vector_cycles(self, ops: int) -> int:
        """Cycles the vector unit takes for ``ops`` element operations, ``vector_lanes`` a cycle.

        >>> AcceleratorConfig(vector_lanes=16).vector_cycles(33)
        3
        """
        return -(-ops // self.vector_lanes)

    def folds(self, k: int) -> int:
        """Passes of ``rows`` rows of K through the array that a reduction of length ``k`` takes."""
        return -(-k // self.rows)

    def reduction_segment(self, g: GemmShape) -> int:
        """The longest stretch of ``g``'s K that one array fold may draw from: all of K, or, for a
        convolution on a ``per_tap`` array whose reduction folds onto rows (``ws``, ``is``), one
        kernel tap's input channels (``k / taps``), because a fold never mixes taps."""
        if self.conv_reduction == "per_tap" and g.taps > 1 and self.dataflow != "os":
            return g.k // g.taps
        return g.k

    def reduction_folds(self, g: GemmShape) -> int:
        """Folds of ``rows`` that one column block of ``g``'s B takes over all of K: ``ceil(k / rows)``,
        or per tap ``taps x ceil(channels / rows)`` (a 7x7 convolution of 3 channels on 16 rows: 49)."""
        segment = self.reduction_segment(g)
        return g.k // segment * self.folds(segment)

    # Cached, as are the DRAM rate and latency above: the mapping search asks for them once per
    # candidate tile, and a frozen config's answer never changes.
    @cached_property
    def pipeline(self) -> Pipeline:
        """The RTL's pipeline depths: the fields that are given, the ``fpga`` family's defaults
        (hwsim.core.fpga.PIPELINE_DEFAULTS) for the others."""
        base = PIPELINE_DEFAULTS[family_of(self.fpga)]
        return Pipeline(
            mult_stages=base.mult_stages if self.mult_stages is None else self.mult_stages,
            adder_segments=base.adder_segments if self.adder_segments is None else self.adder_segments,
            acc_stages=base.acc_stages if self.acc_stages is None else self.acc_stages,
        )

    @cached_property
    def array_latency(self) -> int:
        """Cycles from an activation row's issue to its column sums at the accumulator stage: the
        input skew and the array (``rows``), the output de-skew (``cols``) and the pipeline's own
        registers (:attr:`Pipeline.latency`); docs/rtl.md#timing."""
        return self.rows + self.cols + self.pipeline.latency

    @property
    def out_latency(self) -> int:
        """Cycles from a result row leaving the accumulator stage to it being offered on the output
        stream: one output register, then the two of the output queue (docs/rtl.md#timing)."""
        return 3

    @property
    def module_name(self) -> str:
        """A Verilog-safe identifier for the top module generated for this config."""
        base = "".join(ch if ch.isalnum() else "_" for ch in self.name).strip("_") or "array"
        return f"hwsim_{base}_{self.rows}x{self.cols}_{self.dataflow}"

    def replace(self, **changes: Any) -> AcceleratorConfig:
        """A copy with ``changes`` applied (energy fields may be given as ``energy={...}``)."""
        energy = changes.pop("energy", None)
        if isinstance(energy, Mapping):
            changes["energy"] = dataclasses.replace(self.energy, **energy)
        elif energy is not None:
            changes["energy"] = energy
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Any, where: str = "config") -> AcceleratorConfig:
        """The inverse of :meth:`to_dict`: rebuild a config from a report's ``"config"`` object.

        Every field must be present and no other; errors name ``where`` and the field.
        """
        if not isinstance(data, Mapping):
            raise UserError(f"{where}: must be an object holding an accelerator config")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        # Fields added after reports were first written may be absent from older ones.
        missing = [k for k in known if k not in data and k not in _LATER_FIELDS]
        if unknown or missing:
            detail = "; ".join(part for part in (f"unknown {', '.join(unknown)}" if unknown else "",
                                                 f"missing {', '.join(missing)}" if missing else "") if part)
            raise UserError(f"{where}: not an hwsim accelerator config ({detail})")
        energy = data["energy"]
        energy_keys = {f.name for f in fields(EnergyTable)}
        if not isinstance(energy, Mapping) or set(energy) != energy_keys:
            raise UserError(f"{where}: energy must hold exactly the fields {', '.join(sorted(energy_keys))}")
        try:
            store_path = data["store_path"]
            store_path = tuple(store_path) if isinstance(store_path, (list, tuple)) else store_path
            return cls(**{**_LATER_FIELDS, **data, "energy": EnergyTable(**energy), "store_path": store_path})
        except UserError as e:
            raise UserError(str(e).replace("config:", f"{where}:", 1)) from None

    def to_dict(self) -> dict[str, Any]:
        """The effective config as plain JSON-able data, in declaration order."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = dataclasses.asdict(value) if f.name == "energy" else list(value) if f.name == "store_path" else value
        return out


# TOML section -> keys it may hold (section-less keys are top level).
_SECTIONS: dict[str, tuple[str, ...]] = {
    "array": ("rows", "cols", "dataflow", "input_bits", "weight_bits", "acc_bits", "clock_mhz", "number_format",
              "conv_reduction"),
    "memory": ("ifmap_kib", "filter_kib", "ofmap_kib", "dram_gbps", "dram_gib", "double_buffer", "shared_buffer",
               "residency", "weight_fifo", "dram_latency_ns", "dram_burst_bytes", "dma_request_bytes"),
    "control": ("command_cycles", "command_rows", "command_min_cycles", "command_depth"),
    "mapping": ("objective",),
    "vector": ("lanes", "store_path"),
    "fpga": ("device", "mult_stages", "adder_segments", "acc_stages"),
    "energy": tuple(f.name for f in fields(EnergyTable)),
}
_TOP_LEVEL = ("name", "preset", "description")
# (section, key) -> config field, where the field name says more than the key.
_FLAT_NAMES = {("vector", "lanes"): "vector_lanes", ("mapping", "objective"): "mapping_objective",
               ("fpga", "device"): "fpga"}
MAPPING_OBJECTIVES = ("cycles", "dram")
#: Config fields a report written before they existed lacks, and the value such a report meant.
_LATER_FIELDS: dict[str, Any] = {"dram_gib": None, "command_rows": 0, "command_min_cycles": 1, "dma_request_bytes": 0}


def _kib_bytes(kib: float) -> int:
    """Whole bytes in ``kib`` KiB."""
    return int(kib * 1024)


#: The range of each numeric field: wide enough for any real design, narrow enough that no derived
#: quantity (bytes per cycle, tile sizes, cycles, seconds, joules) overflows or becomes inf or NaN.
_RANGES: dict[str, tuple[float, float]] = {
    "clock_mhz": (1e-3, 1e6),             # 1 kHz to 1 THz
    "ifmap_kib": (0.0, float(1 << 30)),   # up to 1 TiB per buffer
    "filter_kib": (0.0, float(1 << 30)),
    "ofmap_kib": (0.0, float(1 << 30)),
    "dram_gbps": (1e-6, 1e6),             # 1 kB/s to 1 PB/s
    "dram_latency_ns": (0.0, 1e6),        # up to 1 ms per DRAM request
}
#: DRAM capacity at most 1 PiB (``dram_gib``, optional).
_DRAM_GIB_MAX = float(1 << 20)
#: The fields of :data:`_RANGES` that must be above zero (a buffer, a clock or a bandwidth of none).
_POSITIVE = frozenset({"clock_mhz", "ifmap_kib", "filter_kib", "ofmap_kib", "dram_gbps"})
#: The range of each integer field, both ends included.
_INT_RANGES: dict[str, tuple[int, int]] = {
    "rows": (1, 4096),
    "cols": (1, 4096),
    "vector_lanes": (1, 4096),
    "input_bits": (2, 64),
    "weight_bits": (2, 64),
    "acc_bits": (2, 64),
    "dram_burst_bytes": (1, 1 << 20),     # up to 1 MiB per burst
    "dma_request_bytes": (0, 1 << 20),    # up to 1 MiB per DMA request (0: no limit)
    "command_cycles": (0, 1 << 20),       # up to about a million cycles per command
    "command_depth": (1, 1 << 16),        # commands per bank of each engine's command memory
    "command_rows": (0, 1 << 16),         # rows per compute command (0: no limit)
    "command_min_cycles": (1, 1 << 10),   # fewest cycles per compute command
}
#: Energy per event at most 1 µJ (1e6 pJ), static power at most 1 MW; the SRAM scaling law bounded so
#: that (1 TiB / reference) ** exponent stays finite.
_ENERGY_MAX = 1e6
_SRAM_REF_KIB = (1.0 / 1024, float(1 << 30))
_SRAM_EXPONENT_MAX = 4.0
#: A config's name becomes the RTL's module and file names: short and printable.
_NAME_MAX = 100


def _validate(cfg: AcceleratorConfig, where: str) -> None:
    def bad(key: str, rule: str) -> UserError:
        return UserError(f"{where}: {key} {rule}, got {shown(repr(getattr(cfg, key)), 40)}")

    for key, (low, high) in _INT_RANGES.items():
        v = getattr(cfg, key)
        if not isinstance(v, int) or isinstance(v, bool) or not low <= v <= high:
            raise bad(key, f"must be an integer from {low} to {high}")
    if cfg.number_format not in NUMBER_FORMATS:
        raise bad("number_format", f"must be one of {', '.join(NUMBER_FORMATS)}")
    if cfg.number_format == "int" and cfg.acc_bits < cfg.input_bits + cfg.weight_bits:
        raise bad("acc_bits", f"must be at least input_bits + weight_bits ({cfg.input_bits + cfg.weight_bits})")
    if cfg.number_format != "int":
        bits = 32 if cfg.number_format == "fp32" else 16
        if (cfg.input_bits, cfg.weight_bits) != (bits, bits) or cfg.acc_bits not in (bits, 32):
            accs = "32" if bits == 32 else "16 or 32"
            raise UserError(f"{where}: number_format {cfg.number_format!r} needs input_bits = weight_bits = {bits} "
                            f"and acc_bits {accs}, got {cfg.input_bits}, {cfg.weight_bits} and {cfg.acc_bits}")
    if cfg.dataflow not in DATAFLOWS:
        raise bad("dataflow", f"must be one of {', '.join(DATAFLOWS)}")
    if cfg.conv_reduction not in CONV_REDUCTIONS:
        raise bad("conv_reduction", f"must be one of {', '.join(CONV_REDUCTIONS)}")
    for key, (low, high) in _RANGES.items():
        v = getattr(cfg, key)
        positive = key in _POSITIVE
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or not (v > 0 if positive else v >= 0):
            raise bad(key, "must be a positive number" if positive else "must be a non-negative number")
        if not low <= v <= high:
            raise bad(key, f"must be from {low:g} to {high:g}")
    if cfg.dram_gib is not None and (isinstance(cfg.dram_gib, bool) or not isinstance(cfg.dram_gib, (int, float))
                                     or not math.isfinite(cfg.dram_gib) or not 0 < cfg.dram_gib <= _DRAM_GIB_MAX):
        raise bad("dram_gib", f"must be a positive number of GiB up to {_DRAM_GIB_MAX:g} (or absent: not stated)")
    for key in ("double_buffer", "shared_buffer", "residency", "weight_fifo"):
        if not isinstance(getattr(cfg, key), bool):
            raise bad(key, "must be true or false")
    if cfg.mapping_objective not in MAPPING_OBJECTIVES:
        raise bad("mapping_objective", f"must be one of {', '.join(MAPPING_OBJECTIVES)}")
    if cfg.weight_fifo and cfg.shared_buffer:
        raise bad("weight_fifo", "needs a weight buffer of its own: a FIFO cannot share the scratchpad (shared_buffer)")
    if not isinstance(cfg.store_path, tuple) or not all(f in STORE_PATH_FAMILIES for f in cfg.store_path) \
            or len(set(cfg.store_path)) != len(cfg.store_path):
        raise bad("store_path", f"must list distinct families from {', '.join(STORE_PATH_FAMILIES)}")
    if not isinstance(cfg.name, str) or not cfg.name:
        raise bad("name", "must be a non-empty string")
    if len(cfg.name) > _NAME_MAX or not cfg.name.isprintable():
        raise bad("name", f"must be at most {_NAME_MAX} printable characters")
    if cfg.fpga is not None and cfg.fpga not in DEVICES:
        raise UserError(f"{where}: fpga.device must be one of {', '.join(DEVICES)} (or absent: no FPGA), "
                        f"got {shown(repr(cfg.fpga), 40)}")
    for key, lo, hi in (("mult_stages", 0, 3), ("adder_segments", 1, 4), ("acc_stages", 1, 3)):
        v = getattr(cfg, key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi):
            raise UserError(f"{where}: fpga.{key} must be an integer from {lo} to {hi} "
                            f"(or absent: the default of fpga.device's family), got {shown(repr(v), 40)}")
    if cfg.pipeline.adder_segments > cfg.acc_bits // 2:
        raise UserError(f"{where}: fpga.adder_segments = {cfg.pipeline.adder_segments} leaves fewer than 2 of "
                        f"the {cfg.acc_bits} accumulator bits per segment; use at most {cfg.acc_bits // 2}")
    if cfg.pipeline.acc_stages == 3 and cfg.rows + cfg.cols + cfg.pipeline.mult_stages < 3:
        raise UserError(f"{where}: fpga.acc_stages = 3 reads the accumulator 3 cycles before the sums arrive, "
                        f"which needs rows + cols + mult_stages >= 3 (a 1x1 array: set fpga.mult_stages >= 1)")
    _validate_energy(cfg.energy, where)
    # The smallest tile needs one array fold of inputs, weights and accumulators in each buffer part.
    for key, part, need in (
        ("ifmap_kib", cfg.ifmap_part_bytes, cfg.rows * cfg.input_bytes),
        ("filter_kib", cfg.filter_part_bytes, cfg.rows * cfg.cols * cfg.weight_bytes),
        ("ofmap_kib", cfg.ofmap_part_bytes, cfg.cols * cfg.acc_bytes),
    ):
        if part < need:
            raise bad(key, f"is too small for one {cfg.rows}x{cfg.cols} array fold (needs {need * cfg.buffer_parts} bytes)")


def _validate_energy(e: EnergyTable, where: str) -> None:
    def bad(key: str, rule: str) -> UserError:
        return UserError(f"{where}: energy.{key} {rule}, got {shown(repr(getattr(e, key)), 40)}")

    for f in fields(EnergyTable):
        v = getattr(e, f.name)
        if f.name == "node_nm" or (v is None and "None" in str(f.type)):
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise bad(f.name, "must be a non-negative number")
        if v > _ENERGY_MAX:
            raise bad(f.name, f"must be at most {_ENERGY_MAX:g}")
    if isinstance(e.node_nm, bool) or not isinstance(e.node_nm, int) or e.node_nm not in NODES:
        raise bad("node_nm", f"must be one of {', '.join(map(str, NODES))} (the nodes with checked Stillmaker-Baas "
                             "energy factors, docs/model.md#energy)")
    if e.node_nm != 45 and e.static_power_w is None:
        raise UserError(f"{where}: energy.node_nm = {e.node_nm} needs energy.static_power_w: the leakage densities "
                        f"and the area model are 45 nm figures")
    low, high = _SRAM_REF_KIB
    if not low <= e.sram_ref_kib <= high:
        raise bad("sram_ref_kib", f"must be from {low:g} to {high:g}")
    if e.sram_size_exponent > _SRAM_EXPONENT_MAX:
        raise bad("sram_size_exponent", f"must be at most {_SRAM_EXPONENT_MAX:g}")
    if e.sram_fixed_fraction > 1:
        raise bad("sram_fixed_fraction", "must be from 0 to 1")


def _from_mapping(data: Mapping[str, Any], where: str, base: AcceleratorConfig | None = None) -> AcceleratorConfig:
    """Build a config from parsed TOML, naming ``where`` and the key in every error."""
    flat: dict[str, Any] = {}
    energy: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SECTIONS:
            if not isinstance(value, Mapping):
                raise UserError(f"{where}: [{key}] must be a table")
            for sub, subvalue in value.items():
                if sub not in _SECTIONS[key]:
                    raise UserError(f"{where}: unknown key {key}.{shown(sub, 40)}; {_accepted(key, sub)}")
                if key == "energy":
                    energy[sub] = subvalue
                elif (key, sub) == ("vector", "store_path"):
                    if not isinstance(subvalue, list) or not all(isinstance(v, str) for v in subvalue):
                        raise UserError(f"{where}: vector.store_path must be a list of family names, e.g. "
                                        f"{list(STORE_PATH_FAMILIES)}")
                    flat["store_path"] = tuple(subvalue)
                else:
                    flat[_FLAT_NAMES.get((key, sub), sub)] = subvalue
        elif key in _TOP_LEVEL:
            if key == "name":
                flat["name"] = value
        else:
            sections = ", ".join(f"[{s}]" for s in _SECTIONS)
            raise UserError(f"{where}: unknown key '{shown(key, 40)}'; top-level keys are name, preset and the tables "
                            f"{sections}")
    if base is None:
        base_name = data.get("preset", "gemmini-like")
        if not isinstance(base_name, str):
            raise UserError(f"{where}: preset must be a preset name string")
        try:
            base = preset(base_name)
        except UserError as e:
            raise UserError(f"{where}: {e}") from None
    for key, value in flat.items():
        # TOML integers are acceptable where floats are expected; the reverse is a type error.
        expected = type(getattr(base, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            flat[key] = _as_float(value)
    floats = {f.name for f in fields(EnergyTable) if "float" in str(f.type)}
    for key, value in energy.items():
        if key in floats and isinstance(value, int) and not isinstance(value, bool):
            energy[key] = _as_float(value)
    try:
        cfg = base.replace(**flat, energy=energy)
    except UserError as e:
        raise UserError(str(e).replace("config:", f"{where}:", 1)) from None
    # Re-validate with the file's name so errors point at the TOML, not at a generic 'config'.
    _validate(cfg, where)
    return cfg


def _accepted(section: str, key: str) -> str:
    """What a table accepts, for an unknown-key error: the closest key, and the list if it is short."""
    keys = _SECTIONS[section]
    close = difflib.get_close_matches(key, keys, n=1)
    hint = f"did you mean {section}.{close[0]}? " if close else ""
    if len(", ".join(keys)) <= 60:
        return f"{hint}[{section}] accepts {', '.join(keys)}"
    return f"{hint}docs/config.md lists the keys of [{section}]"


def _as_float(value: int) -> float | int:
    """A TOML integer where a float is expected; one too large for a float stays an int (and fails validation)."""
    try:
        return float(value)
    except OverflowError:
        return value


def _preset_dir() -> resources.abc.Traversable:
    return resources.files(__package__).joinpath("presets")


def preset_names() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(p.name[: -len(".toml")] for p in _preset_dir().iterdir() if p.name.endswith(".toml"))


def preset(name: str) -> AcceleratorConfig:
    """The shipped preset ``name`` (see ``hwsim presets``); a name, never a path."""
    if name not in preset_names():
        raise UserError(f"unknown preset '{shown(name, 40)}'; choose one of {', '.join(preset_names())}"
                        " (or give a file with --config)")
    path = _preset_dir().joinpath(f"{name}.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return _from_mapping(data, where=f"preset {name}", base=AcceleratorConfig(name=name))


def preset_description(name: str) -> str:
    data = tomllib.loads(_preset_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8"))
    return str(data.get("description", ""))


def load_config(path: str | Path) -> AcceleratorConfig:
    """Read an accelerator config from a TOML file; every error names the file and the key."""
    p = Path(path)
    text = read_text(p, "config file")
    if "[architecture_presets]" in text:
        raise UserError(f"{shown(p)}: a SCALE-Sim .cfg, not an hwsim config (TOML, docs/config.md); give it with "
                        "--scalesim-config, or read it with hwsim.scalesim.load_scalesim_config")
    return _from_mapping(parse_toml(text, shown(p)), where=shown(p))

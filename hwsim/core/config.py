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
    [array]   rows, cols, dataflow, input_bits, weight_bits, acc_bits, clock_mhz
    [memory]  ifmap_kib, filter_kib, ofmap_kib, dram_gbps, double_buffer
    [vector]  lanes
    [energy]  mac_pj, array_reg_pj_per_byte, sram_pj_per_byte_ref, sram_ref_kib,
              sram_size_exponent, sram_write_factor, dram_pj_per_byte, vector_op_pj, static_power_w
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from .errors import UserError, shown
from .files import read_text

__all__ = ["AcceleratorConfig", "EnergyTable", "DATAFLOWS", "preset", "preset_names", "load_config"]

DATAFLOWS = ("ws", "os", "is")


@dataclass(frozen=True)
class EnergyTable:
    """Energy per event, in picojoules (static power in watts). Sources: docs/model.md#energy."""

    #: One int8 x int8 multiply (0.2 pJ) plus one 32-bit add (0.1 pJ): Horowitz, ISSCC 2014, 45 nm.
    mac_pj: float = 0.3
    #: A byte written to or read from a PE pipeline register: 32-bit register file access 1 pJ / 4 B.
    array_reg_pj_per_byte: float = 0.25
    #: SRAM access energy per byte at ``sram_ref_kib``: 8 KiB SRAM, 64-bit access, 10 pJ / 8 B.
    sram_pj_per_byte_ref: float = 1.25
    sram_ref_kib: float = 8.0
    #: SRAM energy grows as (capacity / ref) ** exponent; 0.5 fits Horowitz's 8 KiB/32 KiB/1 MiB points.
    sram_size_exponent: float = 0.5
    #: Write energy relative to read energy for the same SRAM.
    sram_write_factor: float = 1.0
    #: DRAM: 640 pJ per 32-bit access (Horowitz 2014, as tabulated by Han et al., ISCA 2016).
    dram_pj_per_byte: float = 160.0
    #: One vector-unit element operation: 32-bit floating-point add, 0.9 pJ (Horowitz 2014).
    vector_op_pj: float = 0.9
    #: Leakage and clock tree, charged for the whole latency (an assumption per preset, see docs).
    static_power_w: float = 0.05

    def sram_pj_per_byte(self, capacity_kib: float) -> float:
        """Read energy per byte of an SRAM of ``capacity_kib``, scaled from the reference size."""
        return self.sram_pj_per_byte_ref * (capacity_kib / self.sram_ref_kib) ** self.sram_size_exponent


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
    clock_mhz: float = 1000.0
    #: Input-activation buffer (SCALE-Sim's IFMAP SRAM), KiB.
    ifmap_kib: float = 128.0
    #: Weight buffer (SCALE-Sim's filter SRAM), KiB.
    filter_kib: float = 128.0
    #: Output buffer: the accumulator memory holding acc_bits partial sums, KiB.
    ofmap_kib: float = 64.0
    dram_gbps: float = 16.0
    #: Each buffer is split in halves so DRAM transfers overlap compute.
    double_buffer: bool = True
    #: Vector unit: elements processed per cycle.
    vector_lanes: int = 16
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

    @property
    def pes(self) -> int:
        return self.rows * self.cols

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_gbps * 1e9 / self.clock_hz

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
        """Weight elements one tile's part of the weight buffer holds."""
        return self.filter_part_bytes // self.weight_bytes

    @property
    def acc_depth(self) -> int:
        """Rows of ``cols`` accumulators in one tile's part of the accumulator memory: a tile's longest stream."""
        return max(1, self.ofmap_part_bytes // (self.cols * self.acc_bytes))

    @property
    def k_max(self) -> int:
        """The longest K a weight-stationary tile may have: as many whole folds of ``rows`` as one
        column of B fills in a tile's part of the weight buffer, and never less than one fold."""
        return max(self.rows, self.filter_part_elems // self.rows * self.rows)

    def folds(self, k: int) -> int:
        """Passes of ``rows`` rows of K through the array that a reduction of length ``k`` takes."""
        return -(-k // self.rows)

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
        missing = [k for k in known if k not in data]
        if unknown or missing:
            detail = "; ".join(part for part in (f"unknown {', '.join(unknown)}" if unknown else "",
                                                 f"missing {', '.join(missing)}" if missing else "") if part)
            raise UserError(f"{where}: not an hwsim accelerator config ({detail})")
        energy = data["energy"]
        energy_keys = {f.name for f in fields(EnergyTable)}
        if not isinstance(energy, Mapping) or set(energy) != energy_keys:
            raise UserError(f"{where}: energy must hold exactly the fields {', '.join(sorted(energy_keys))}")
        try:
            return cls(**{**data, "energy": EnergyTable(**energy)})
        except UserError as e:
            raise UserError(str(e).replace("config:", f"{where}:", 1)) from None

    def to_dict(self) -> dict[str, Any]:
        """The effective config as plain JSON-able data, in declaration order."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = dataclasses.asdict(value) if f.name == "energy" else value
        return out


# TOML section -> keys it may hold (section-less keys are top level).
_SECTIONS: dict[str, tuple[str, ...]] = {
    "array": ("rows", "cols", "dataflow", "input_bits", "weight_bits", "acc_bits", "clock_mhz"),
    "memory": ("ifmap_kib", "filter_kib", "ofmap_kib", "dram_gbps", "double_buffer"),
    "vector": ("lanes",),
    "energy": tuple(f.name for f in fields(EnergyTable)),
}
_TOP_LEVEL = ("name", "preset", "description")


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

    for key in ("rows", "cols", "vector_lanes"):
        v = getattr(cfg, key)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 4096:
            raise bad(key, "must be an integer from 1 to 4096")
    for key in ("input_bits", "weight_bits", "acc_bits"):
        v = getattr(cfg, key)
        if not isinstance(v, int) or isinstance(v, bool) or not 2 <= v <= 64:
            raise bad(key, "must be an integer from 2 to 64")
    if cfg.acc_bits < cfg.input_bits + cfg.weight_bits:
        raise bad("acc_bits", f"must be at least input_bits + weight_bits ({cfg.input_bits + cfg.weight_bits})")
    if cfg.dataflow not in DATAFLOWS:
        raise bad("dataflow", f"must be one of {', '.join(DATAFLOWS)}")
    for key in ("clock_mhz", "ifmap_kib", "filter_kib", "ofmap_kib", "dram_gbps"):
        v = getattr(cfg, key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise bad(key, "must be a positive number")
        low, high = _RANGES[key]
        if not low <= v <= high:
            raise bad(key, f"must be from {low:g} to {high:g}")
    if not isinstance(cfg.double_buffer, bool):
        raise bad("double_buffer", "must be true or false")
    if not isinstance(cfg.name, str) or not cfg.name:
        raise bad("name", "must be a non-empty string")
    if len(cfg.name) > _NAME_MAX or not cfg.name.isprintable():
        raise bad("name", f"must be at most {_NAME_MAX} printable characters")
    for f in fields(EnergyTable):
        v = getattr(cfg.energy, f.name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise UserError(f"{where}: energy.{f.name} must be a non-negative number, got {shown(repr(v), 40)}")
        if v > _ENERGY_MAX:
            raise UserError(f"{where}: energy.{f.name} must be at most {_ENERGY_MAX:g}, got {v!r}")
    low, high = _SRAM_REF_KIB
    if not low <= cfg.energy.sram_ref_kib <= high:
        raise UserError(f"{where}: energy.sram_ref_kib must be from {low:g} to {high:g}, got {cfg.energy.sram_ref_kib!r}")
    if cfg.energy.sram_size_exponent > _SRAM_EXPONENT_MAX:
        raise UserError(f"{where}: energy.sram_size_exponent must be at most {_SRAM_EXPONENT_MAX:g}, "
                        f"got {cfg.energy.sram_size_exponent!r}")
    # The smallest tile needs one array fold of inputs, weights and accumulators in each buffer part.
    for key, part, need in (
        ("ifmap_kib", cfg.ifmap_part_bytes, cfg.rows * cfg.input_bytes),
        ("filter_kib", cfg.filter_part_bytes, cfg.rows * cfg.cols * cfg.weight_bytes),
        ("ofmap_kib", cfg.ofmap_part_bytes, cfg.cols * cfg.acc_bytes),
    ):
        if part < need:
            raise bad(key, f"is too small for one {cfg.rows}x{cfg.cols} array fold (needs {need * cfg.buffer_parts} bytes)")


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
                else:
                    flat["vector_lanes" if (key, sub) == ("vector", "lanes") else sub] = subvalue
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
    for key, value in energy.items():
        if isinstance(value, int) and not isinstance(value, bool):
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
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{shown(p)}: invalid TOML: {shown(e, 100)}") from None
    except RecursionError:
        raise UserError(f"{shown(p)}: invalid TOML: tables or arrays nested too deeply") from None
    return _from_mapping(data, where=shown(p))

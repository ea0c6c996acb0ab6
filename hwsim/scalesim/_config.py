"""SCALE-Sim ``.cfg`` files: the accelerator they describe and the SCALE-Sim settings hwsim has no field for.

A SCALE-Sim config is an INI file (``key : value`` or ``key = value``, keys case-insensitive)::

    [general]              run_name
    [architecture_presets] ArrayHeight, ArrayWidth, IfmapSramSzkB, FilterSramSzkB, OfmapSramSzkB,
                           IfmapOffset, FilterOffset, OfmapOffset, Dataflow, Bandwidth,
                           ReadRequestBuffer, WriteRequestBuffer
    [layout]               IfmapCustomLayout, IfmapSRAMBankBandwidth, IfmapSRAMBankNum,
                           IfmapSRAMBankPort, and the same four for Filter
    [sparsity]             SparsitySupport, SparseRep, OptimizedMapping, BlockSize, ...
    [run_presets]          InterfaceBandwidth (USER or CALC), UseRamulatorTrace

SCALE-Sim counts memory in one-byte words, and its "kB" are 1024 words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.files import read_text

__all__ = ["ScaleSimOptions", "load_scalesim_config"]

#: SCALE-Sim's word: one byte for every operand (its ``word_size`` is hard-wired to 1).
WORD_BYTES = 1


@dataclass(frozen=True)
class ScaleSimOptions:
    """What a SCALE-Sim config says beyond :class:`~hwsim.core.config.AcceleratorConfig`.

    Bandwidths are in words (bytes) per cycle. In ``USER`` mode SCALE-Sim 3.0 fills the ifmap and
    filter buffers at their *SRAM bank* bandwidths and drains the ofmap buffer at the first
    ``Bandwidth`` value; in ``CALC`` mode reads never stall and the ofmap drains at ``ArrayWidth``
    words per cycle. Defaults are SCALE-Sim 3.0's own (its ``scale_config`` constructor), except
    ``bandwidth_mode``: USER, the mode in which the bandwidths mean something.

    >>> ScaleSimOptions().write_bandwidth(cols=32), ScaleSimOptions(bandwidth_mode="CALC").write_bandwidth(cols=32)
    (10, 32)
    """

    run_name: str = "scale_run"
    #: ``USER``: the bandwidths below apply and reads can stall; ``CALC``: SCALE-Sim estimates them.
    bandwidth_mode: str = "USER"
    #: The ``Bandwidth`` list, words per cycle (SCALE-Sim uses the first value).
    bandwidth_words: tuple[int, ...] = (10,)
    ifmap_bank_bandwidth: int = 10
    ifmap_bank_num: int = 10
    ifmap_bank_port: int = 2
    filter_bank_bandwidth: int = 10
    filter_bank_num: int = 10
    filter_bank_port: int = 2
    ifmap_custom_layout: bool = False
    filter_custom_layout: bool = False
    ifmap_offset: int = 0
    filter_offset: int = 10_000_000
    ofmap_offset: int = 20_000_000
    read_request_buffer: int = 60
    write_request_buffer: int = 60

    @property
    def reads_stall(self) -> bool:
        """Only USER mode models the ifmap and filter fills (CALC estimates bandwidth instead)."""
        return self.bandwidth_mode == "USER"

    def write_bandwidth(self, cols: int) -> int:
        """Ofmap buffer-to-DRAM words per cycle as SCALE-Sim 3.0 uses it."""
        return cols if self.bandwidth_mode == "CALC" else self.bandwidth_words[0]

    @classmethod
    def for_config(cls, cfg: AcceleratorConfig) -> ScaleSimOptions:
        """Options for a config that did not come from a ``.cfg`` file: every buffer moves
        ``cfg.dram_bytes_per_cycle`` (rounded down, at least 1) words per cycle, in USER mode."""
        words = max(1, int(cfg.dram_bytes_per_cycle // WORD_BYTES))
        return cls(run_name=cfg.name, bandwidth_words=(words,), ifmap_bank_bandwidth=words,
                   filter_bank_bandwidth=words, ifmap_bank_num=1, filter_bank_num=1)


@dataclass(frozen=True)
class _Entry:
    value: str
    line: int


class _Ini:
    """A SCALE-Sim config, parsed like ``configparser`` does but remembering every key's line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.sections: dict[str, dict[str, _Entry]] = {}
        self.section_lines: dict[str, int] = {}
        current: dict[str, _Entry] | None = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            header = re.fullmatch(r"\[([^\]]+)\]", line)
            if header:
                name = header.group(1).strip().lower()
                current = self.sections.setdefault(name, {})
                self.section_lines.setdefault(name, number)
                continue
            key, sep, value = _split_key(line)
            if not sep or not key:
                raise UserError(f"{path}:{number}: expected 'key : value' or a [section] header, got {line!r}")
            if current is None:
                raise UserError(f"{path}:{number}: {key} comes before any [section] header")
            current[key.lower()] = _Entry(value.strip(), number)

    def where(self, section: str) -> str:
        return f"{self.path}:{self.section_lines[section]}" if section in self.section_lines else str(self.path)

    def get(self, section: str, key: str) -> _Entry | None:
        return self.sections.get(section, {}).get(key.lower())

    def require(self, section: str, key: str) -> _Entry:
        entry = self.get(section, key)
        if entry is None:
            missing = f"has no {key}" if section in self.sections else f"has no [{section}] section for {key}"
            raise UserError(f"{self.where(section)}: {self.path.name} {missing}; add '{key} : <value>'")
        return entry

    def integer(self, section: str, key: str, default: int | None = None, minimum: int = 1) -> int:
        entry = self.get(section, key) if default is not None else self.require(section, key)
        if entry is None:
            return default  # type: ignore[return-value]
        try:
            value = int(entry.value)
        except ValueError:
            value = None
        if value is None or value < minimum:
            rule = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
            raise UserError(f"{self.path}:{entry.line}: {key} must be {rule}, got {entry.value!r}")
        return value

    def boolean(self, section: str, key: str, default: bool) -> bool:
        entry = self.get(section, key)
        if entry is None:
            return default
        text = entry.value.lower()
        if text not in ("true", "false"):
            raise UserError(f"{self.path}:{entry.line}: {key} must be True or False, got {entry.value!r}")
        return text == "true"

    def choice(self, section: str, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        entry = self.get(section, key) if default is not None else self.require(section, key)
        if entry is None:
            return default  # type: ignore[return-value]
        if entry.value not in choices:
            raise UserError(f"{self.path}:{entry.line}: {key} must be one of {', '.join(choices)}, got {entry.value!r}")
        return entry.value


def _split_key(line: str) -> tuple[str, str, str]:
    """Split at the first ':' or '=' (configparser's default delimiters)."""
    cut = min((i for i in (line.find(":"), line.find("=")) if i >= 0), default=-1)
    if cut < 0:
        return line, "", ""
    return line[:cut].strip(), line[cut], line[cut + 1:]


# hwsim field -> SCALE-Sim key, so that hwsim's own validation errors point at the .cfg line.
_FIELD_KEYS = {
    "rows": "ArrayHeight", "cols": "ArrayWidth", "ifmap_kib": "IfmapSramSzkB",
    "filter_kib": "FilterSramSzkB", "ofmap_kib": "OfmapSramSzkB", "dram_gbps": "Bandwidth",
}


def load_scalesim_config(path: str | Path) -> tuple[AcceleratorConfig, ScaleSimOptions]:
    """Read a SCALE-Sim ``.cfg``: the accelerator (one-byte words, hwsim's default clock and
    energy table) and the SCALE-Sim settings. Every error names the file, the line and the key.

    ``Bandwidth`` (words per cycle) becomes ``dram_gbps`` at the config's clock:
    ``dram_gbps = Bandwidth * 1 byte * clock_mhz / 1000``. Keys SCALE-Sim 3.0 requires but that
    older configs lack take SCALE-Sim's defaults; keys hwsim does not use are ignored.
    """
    p = Path(path)
    text = read_text(p, "SCALE-Sim config file")
    ini = _Ini(p, text)
    arch, layout, run = "architecture_presets", "layout", "run_presets"

    mode = ini.choice(run, "InterfaceBandwidth", ("USER", "CALC"))
    ramulator = ini.boolean(run, "UseRamulatorTrace", default=False)
    if ramulator:
        entry = ini.require(run, "UseRamulatorTrace")
        raise UserError(f"{p}:{entry.line}: UseRamulatorTrace needs Ramulator's DRAM traces, which hwsim does "
                        "not read; set it to False")
    if ini.boolean("sparsity", "SparsitySupport", default=False):
        entry = ini.require("sparsity", "SparsitySupport")
        raise UserError(f"{p}:{entry.line}: SparsitySupport is not modelled by hwsim; set it to false")
    bw_entry = ini.get(arch, "Bandwidth")
    if bw_entry is None and mode == "USER":
        ini.require(arch, "Bandwidth")
    bandwidths: tuple[int, ...] = (10,)
    if bw_entry is not None:
        try:
            bandwidths = tuple(int(x) for x in bw_entry.value.split(","))
        except ValueError:
            bandwidths = ()
        if not bandwidths or min(bandwidths) < 1:
            raise UserError(f"{p}:{bw_entry.line}: Bandwidth must be positive integers (words per cycle) "
                            f"separated by commas, got {bw_entry.value!r}")

    options = ScaleSimOptions(
        run_name=_run_name(ini),
        bandwidth_mode=mode,
        bandwidth_words=bandwidths,
        ifmap_bank_bandwidth=ini.integer(layout, "IfmapSRAMBankBandwidth", default=10),
        ifmap_bank_num=ini.integer(layout, "IfmapSRAMBankNum", default=10),
        ifmap_bank_port=ini.integer(layout, "IfmapSRAMBankPort", default=2),
        filter_bank_bandwidth=ini.integer(layout, "FilterSRAMBankBandwidth", default=10),
        filter_bank_num=ini.integer(layout, "FilterSRAMBankNum", default=10),
        filter_bank_port=ini.integer(layout, "FilterSRAMBankPort", default=2),
        ifmap_custom_layout=ini.boolean(layout, "IfmapCustomLayout", default=False),
        filter_custom_layout=ini.boolean(layout, "FilterCustomLayout", default=False),
        ifmap_offset=ini.integer(arch, "IfmapOffset", default=0, minimum=0),
        filter_offset=ini.integer(arch, "FilterOffset", default=10_000_000, minimum=0),
        ofmap_offset=ini.integer(arch, "OfmapOffset", default=20_000_000, minimum=0),
        read_request_buffer=ini.integer(arch, "ReadRequestBuffer", default=60),
        write_request_buffer=ini.integer(arch, "WriteRequestBuffer", default=60),
    )
    base = AcceleratorConfig()
    values = {
        "name": options.run_name,
        "rows": ini.integer(arch, "ArrayHeight"),
        "cols": ini.integer(arch, "ArrayWidth"),
        "dataflow": ini.choice(arch, "Dataflow", ("ws", "os", "is")),
        "input_bits": 8 * WORD_BYTES,
        "weight_bits": 8 * WORD_BYTES,
        "ifmap_kib": float(ini.integer(arch, "IfmapSramSzkB")),
        "filter_kib": float(ini.integer(arch, "FilterSramSzkB")),
        "ofmap_kib": float(ini.integer(arch, "OfmapSramSzkB")),
        "dram_gbps": bandwidths[0] * WORD_BYTES * base.clock_mhz / 1000,
        "double_buffer": True,
    }
    try:
        cfg = base.replace(**values)
    except UserError as e:
        raise _located(ini, str(e)) from None
    for key in ("ifmap_bank", "filter_bank"):
        bw, banks = getattr(options, f"{key}_bandwidth"), getattr(options, f"{key}_num")
        if bw % banks:  # SCALE-Sim asserts this when it sets up the buffer
            name = "IfmapSRAMBankBandwidth" if key == "ifmap_bank" else "FilterSRAMBankBandwidth"
            entry = ini.get(layout, name)
            where = f"{p}:{entry.line}" if entry else ini.where(layout)
            raise UserError(f"{where}: {name} ({bw}) must be a multiple of the bank count ({banks})")
    return cfg, options


def _run_name(ini: _Ini) -> str:
    entry = ini.get("general", "run_name")
    return entry.value if entry is not None and entry.value else ini.path.stem


def _located(ini: _Ini, message: str) -> UserError:
    """Re-point an AcceleratorConfig validation error at the .cfg key it came from."""
    for field, key in _FIELD_KEYS.items():
        if re.search(rf"\b{field}\b", message):
            entry = ini.get("architecture_presets", key)
            where = f"{ini.path}:{entry.line}" if entry else str(ini.path)
            detail = message.split(": ", 1)[-1].replace(field, key, 1)
            return UserError(f"{where}: {detail}")
    return UserError(f"{ini.path}: {message}")


"""Hostile accelerator configs (TOML) and hostile command lines for every subcommand.

:func:`config_case` builds a TOML document (from nothing, a minimal or a complete valid config) and
edits it: extreme and non-finite numbers (``nan``, ``inf``, ``1e308``, ``5e-324``, ``-0.0``), huge
and negative integers, bools and strings and arrays and inline tables and dates where numbers go,
nested tables where scalars go, unknown keys, keys in the wrong table, hostile ``preset`` and
``name`` strings (empty, 5,000 characters, ``../presets/x``, control characters, unicode), and
some syntax-level damage (invalid UTF-8, raw control characters, BOM, deep nesting, truncation).
The config then feeds ``estimate`` (mostly), ``rtl``, ``sweep``, ``run`` or ``verify``.

:func:`cmdline_case` starts from a valid command line of a random subcommand and edits it:
drops, duplicates, empty values, hostile paths ('' , missing folders, a folder, a file where a
folder goes, a FIFO, symlinks, 300-character names, ``/dev/null`` and ``/dev/full``: those only
run in the harness's private /dev namespace), hostile integers, lists, shapes and choices, plus
hostile JSON reports for ``plot`` and hostile standard input.

Deterministic from the seed (``random.Random``).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import random
import re
from typing import Any

import numpy as np

try:
    from .harness import Case
    from . import mutate
except ImportError:
    from harness import Case
    import mutate

__all__ = ["to_toml", "config_doc", "config_case", "cmdline_case", "fixture_files", "Raw"]

NAN, INF = float("nan"), float("inf")

SECTIONS: dict[str, dict[str, Any]] = {
    "array": {"rows": 16, "cols": 16, "dataflow": "ws", "input_bits": 8, "weight_bits": 8, "acc_bits": 32,
              "clock_mhz": 1000.0, "number_format": "int"},
    "memory": {"ifmap_kib": 128.0, "filter_kib": 128.0, "ofmap_kib": 64.0, "dram_gbps": 16.0, "double_buffer": True,
               "shared_buffer": False, "residency": True, "weight_fifo": False, "dram_latency_ns": 0.0,
               "dram_burst_bytes": 1, "dma_request_bytes": 0, "dram_gib": 8.0},
    "control": {"command_cycles": 0, "command_rows": 0, "command_min_cycles": 1},
    "mapping": {"objective": "cycles"},
    "vector": {"lanes": 16, "store_path": ["activation", "scale"]},
    "energy": {"node_nm": 45, "mac_pj": 0.3, "array_reg_pj_per_byte": 0.25, "sram_pj_per_byte_ref": 1.25,
               "sram_ref_kib": 8.0, "sram_size_exponent": 0.5, "sram_fixed_fraction": 0.0, "sram_write_factor": 1.0,
               "dram_pj_per_byte": 160.0, "vector_op_pj": 0.9, "logic_leakage_mw_per_mm2": 17.8,
               "sram_leakage_mw_per_mm2": 17.8, "static_power_w": 0.2},
}
#: Booleans of the config (a valid value is either, an extreme one too).
_BOOLS = ("double_buffer", "shared_buffer", "residency", "weight_fifo")
PRESETS = ["gemmini-like", "fpga-edge", "tpu-v1-like"]


class Raw(str):
    """Emitted into the TOML verbatim."""


# ------------------------------------------------------------------------------------------ TOML

_ESC = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESC:
            out.append(_ESC[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _string(k)


def _value(v: Any) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan" if math.copysign(1, v) > 0 else "-nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v.isoformat()
    raise TypeError(type(v))


def to_toml(doc: dict[str, Any]) -> str:
    """TOML text for ``doc``: scalars first, then one ``[table]`` per dict value (nested as [a.b])."""
    lines: list[str] = []

    def emit(table: dict[str, Any], prefix: str) -> None:
        for k, v in table.items():
            if not isinstance(v, dict) or isinstance(v, InlineTable):
                lines.append(f"{_key(k)} = {_value(v)}")
        for k, v in table.items():
            if isinstance(v, dict) and not isinstance(v, InlineTable):
                name = f"{prefix}.{_key(k)}" if prefix else _key(k)
                lines.append(f"\n[{name}]")
                emit(v, name)

    emit(doc, "")
    return "\n".join(lines) + "\n"


class InlineTable(dict):
    """A dict emitted as ``{ a = 1 }`` rather than as a [table]."""


# ----------------------------------------------------------------------------------- hostile values

HOSTILE_INTS = [0, -1, 1, 2, 3, 4096, 4097, 65, 64, 2**31, 2**63 - 1, -2**63, 10**30, 7]
HOSTILE_FLOATS = [NAN, -NAN, INF, -INF, 0.0, -0.0, 5e-324, 1e-308, 1e308, 1.7976931348623157e308, 1e-300, 1e300,
                  0.5, 1e-9, -1.0, 1e15, 2.5e-7]
HOSTILE_STRINGS = ["", "ws", "WS", " ws", "os", "is", "x" * 5000, "\u20ac", "\x1b[31mred\x1b[0m", "\x00", "a\nb",
                   "../presets/fpga-edge", "gemmini-like", "16", "true", "nan", "\u202e", "\U0001F600" * 50]


def hostile_value(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.22:
        return rng.choice(HOSTILE_INTS)
    if r < 0.55:
        return rng.choice(HOSTILE_FLOATS)
    if r < 0.63:
        return rng.choice([True, False])
    if r < 0.76:
        return rng.choice(HOSTILE_STRINGS)
    if r < 0.84:
        return rng.choice([[], [1, 2], [[1]], [16], ["ws"], [NAN]])
    if r < 0.92:
        return InlineTable(rng.choice([{}, {"a": 1}, {"rows": 8}, {"value": 1.0}]))
    return rng.choice([_dt.datetime(1979, 5, 27, 7, 32, tzinfo=_dt.timezone.utc), _dt.date(2024, 1, 1),
                       _dt.time(7, 32), Raw("1979-05-27T00:32:00.999999-07:00")])


def _valid_for(key: str, rng: random.Random) -> Any:
    """A plausible valid value (so that one hostile edit is the only problem)."""
    if key in ("rows", "cols", "lanes"):
        return rng.choice([1, 2, 4, 8, 16, 32, 64, 128])
    if key in ("input_bits", "weight_bits"):
        return rng.choice([4, 8, 8, 16])
    if key == "acc_bits":
        return rng.choice([32, 32, 48, 64])
    if key == "dataflow":
        return rng.choice(["ws", "os", "is"])
    if key in _BOOLS:
        return rng.choice([True, False])
    if key.endswith("_kib"):
        return rng.choice([16.0, 64.0, 128.0, 1024, 4096.0])
    if key == "clock_mhz":
        return rng.choice([100.0, 1000.0, 200, 2500.0])
    if key == "dram_gbps":
        return rng.choice([1.0, 16.0, 900.0, 3.2])
    if key == "number_format":
        return rng.choice(["int", "int", "fp16", "bf16", "fp32"])
    if key == "dram_latency_ns":
        return rng.choice([0.0, 50.0, 100, 1000.0])
    if key == "dram_burst_bytes":
        return rng.choice([1, 32, 64, 4096])
    if key == "dma_request_bytes":
        return rng.choice([0, 16, 64, 4096])
    if key == "command_cycles":
        return rng.choice([0, 1, 10, 100])
    if key == "command_rows":
        return rng.choice([0, 4, 16, 64])
    if key == "command_min_cycles":
        return rng.choice([1, 4, 8])
    if key == "objective":
        return rng.choice(["cycles", "dram"])
    if key == "store_path":
        return rng.choice([[], ["activation"], ["activation", "scale", "requantize", "pool"]])
    if key == "node_nm":
        return rng.choice([32, 45, 65])
    return rng.choice([0.0, 0.1, 1.0, 160.0, 2])


def _extreme_for(key: str, rng: random.Random) -> Any:
    """A value of the right type at the edge: 1e308, 5e-324, 4096, the smallest that passes."""
    if key in ("rows", "cols", "lanes"):
        return rng.choice([1, 4096, 4095, 2048])
    if key in ("input_bits", "weight_bits", "acc_bits"):
        return rng.choice([2, 64, 63, 31, 33])
    if key in ("dataflow",):
        return rng.choice(["os", "is", "ws"])
    if key in _BOOLS:
        return rng.choice([True, False])
    if key in ("dram_burst_bytes", "dma_request_bytes", "command_cycles", "command_rows", "command_min_cycles", "node_nm"):
        return rng.choice([0, 1, 1 << 20, (1 << 20) + 1, 2**31, 2**63 - 1, 22, 7])
    if key in ("number_format", "objective"):
        return rng.choice(["fp16", "bf16", "fp32", "int8", "dram", "cycles", "latency"])
    if key == "store_path":
        return rng.choice([["pool"] * 3, ["activation", "activation"], ["bogus"], [""], ["x" * 300]])
    return rng.choice([1e308, 5e-324, 1.7976931348623157e308, 1e-300, 1e300, 2.2250738585072014e-308, 1e-12, 1e12,
                       0.0, 1e-45])


# ------------------------------------------------------------------------------------ documents

def config_doc(rng: random.Random) -> tuple[bytes, list[str]]:
    """A hostile TOML config and what was done to it."""
    descs: list[str] = []
    doc: dict[str, Any] = {}
    base = rng.random()
    if base < 0.2:
        descs.append("empty base")
    elif base < 0.6:
        doc["preset"] = rng.choice(PRESETS)
        for _ in range(rng.randint(1, 4)):
            sec = rng.choice(list(SECTIONS))
            key = rng.choice(list(SECTIONS[sec]))
            _table(doc, sec)[key] = _valid_for(key, rng)
        descs.append(f"minimal base on {doc['preset']}")
    else:
        doc["name"] = "fuzz"
        for sec, keys in SECTIONS.items():
            doc[sec] = {k: (v if rng.random() < 0.7 else _valid_for(k, rng)) for k, v in keys.items()}
        descs.append("complete base")
    edits = rng.choices([1, 2, 3, 4], [45, 30, 15, 10])[0]
    for _ in range(edits):
        descs.append(_edit(doc, rng))
    text = to_toml(doc).encode("utf-8", "surrogatepass")
    if rng.random() < 0.12:
        text, d = _damage(text, rng)
        descs.append(d)
    return text, descs


def _table(doc: dict[str, Any], sec: str) -> dict[str, Any]:
    t = doc.setdefault(sec, {})
    return t if isinstance(t, dict) and not isinstance(t, InlineTable) else {}  # a scalar table stays scalar


def _edit(doc: dict[str, Any], rng: random.Random) -> str:
    r = rng.random()
    sec = rng.choice(list(SECTIONS))
    key = rng.choice(list(SECTIONS[sec]))
    if r < 0.22:
        v = hostile_value(rng)
        _table(doc, sec)[key] = v
        return f"{sec}.{key} = {_short(v)}"
    if r < 0.50:
        v = _extreme_for(key, rng)
        _table(doc, sec)[key] = v
        return f"{sec}.{key} = {_short(v)} (extreme)"
    if r < 0.56:
        k = rng.choice(["rowz", "Rows", "rows ", "", "x" * 300, "\x1b", "lanes", "energy", "description", "preset"])
        _table(doc, sec)[k] = _valid_for("rows", rng)
        return f"unknown key {sec}.{_short(k)}"
    if r < 0.61:
        other = rng.choice([s for s in SECTIONS if s != sec])
        _table(doc, other)[key] = _valid_for(key, rng)
        return f"{sec} key {key} put in [{other}]"
    if r < 0.65:
        doc[key] = _valid_for(key, rng)
        return f"{key} at top level"
    if r < 0.70:
        _table(doc, sec)[key] = {"value": _valid_for(key, rng)}
        return f"[{sec}.{key}] table where a scalar goes"
    if r < 0.74:
        doc[sec] = rng.choice([5, "array", [1, 2], True, NAN])
        return f"{sec} is a scalar, not a table"
    if r < 0.84:
        doc["preset"] = rng.choice(["", "x" * 5000, "../presets/fpga-edge", "gemmini-like/../fpga-edge", "/etc/hostname",
                                    "GEMMINI-LIKE", "gemmini-like ", "\x1b[2Jgemmini", "tpu-v1-like", "fpga-edge.toml",
                                    "presets/fpga-edge", ".", "..", "\u00e9", 5, True, ["fpga-edge"],
                                    InlineTable({"name": "x"})])
        return f"preset = {_short(doc['preset'])}"
    if r < 0.92:
        doc["name"] = rng.choice(["", "x" * 5000, "x" * 250, "\x1b[31mred\x1b[0m", "../../evil", "a/b", "\u00e9\u20ac",
                                  "con", "\n", "-", 42, NAN, [], "\U0001F600"])
        return f"name = {_short(doc['name'])}"
    if r < 0.96:
        doc["description"] = rng.choice(["", "x" * 100000, 5, "\x00"])
        return "hostile description"
    doc[rng.choice(["unknown", "Array", "arrays", "x" * 300, ""])] = rng.choice([1, {"rows": 8}])
    return "unknown top-level key or table"


def _damage(text: bytes, rng: random.Random) -> tuple[bytes, str]:
    r = rng.randrange(9)
    if r == 0:
        cut = rng.randrange(max(1, len(text)))
        return text[:cut], f"truncated at {cut}"
    if r == 1:
        return b"\xef\xbb\xbf" + text, "UTF-8 BOM"
    if r == 2:
        at = rng.randrange(max(1, len(text)))
        return text[:at] + b"\xff\xfe" + text[at:], "invalid UTF-8"
    if r == 3:
        return text + b'bad = "raw \x01\x1b control"\n', "raw control characters in a string"
    if r == 4:
        depth = rng.choice([100, 1000, 5000, 50000])
        return text + b"deep = " + b"[" * depth + b"]" * depth + b"\n", f"array nested {depth} deep"
    if r == 5:
        return text + b"[array]\nrows = 8\n", "duplicate table [array]"
    if r == 6:
        return text.replace(b"\n", b"\r\n"), "CRLF"
    if r == 7:
        depth = rng.choice([100, 1000, 5000])
        return text + b"deepinline = " + b"{a=" * depth + b"1" + b"}" * depth + b"\n", f"inline table nested {depth} deep"
    return text + b"\x00", "NUL byte"


_STDOUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def _binary_to_stdout(argv: list[str]) -> bool:
    """Does the argv send a binary output (a PNG, an .npz) to standard output?"""
    return any(a in ("--output", "--plot") and i + 1 < len(argv) and argv[i + 1] in _STDOUT_NAMES
               for i, a in enumerate(argv))


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


# ------------------------------------------------------------------------------------ fixtures

_FIXTURES: dict[str, bytes] | None = None


def fixture_files() -> dict[str, bytes]:
    """Files every command-line case starts with: a small model (with weights), an input, a valid report,
    a valid config, a file and a SCALE-Sim topology."""
    global _FIXTURES
    if _FIXTURES is None:
        from compiler import compile_model
        from hwsim.core.config import preset
        from hwsim.simulate import simulate

        model = mutate.conv_relu()
        report = simulate(compile_model(model, preset("gemmini-like"))).to_json()
        _FIXTURES = {
            "m.onnx": model.SerializeToString(),
            "x.npy": mutate.npy_bytes(np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)),
            "report.json": report.encode(),
            "ok.toml": b'preset = "fpga-edge"\n[array]\nrows = 8\n',
            "afile.txt": b"just text\n",
            "target.json": b'{"untouched": true}\n',
            "topo.csv": b"Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                        b"Conv1, 8, 8, 3, 3, 3, 4, 1,\n",
            # a small LLaMA-style Hugging Face config for `hwsim llm` (grouped-query attention)
            "cfg.json": json.dumps({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
                                    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
                                    "vocab_size": 1000, "max_position_embeddings": 512}).encode(),
            "y.npy": mutate.npy_bytes(np.zeros((1, 4, 8, 8), np.float32)),
        }
    return dict(_FIXTURES)


# ---------------------------------------------------------------------------------- config cases

def config_case(seed: int, inprocess: bool = False) -> Case:
    """A hostile TOML config fed to estimate (mostly), rtl, sweep, run or verify (not ``inprocess``)."""
    rng = random.Random(f"config:{seed}")
    text, descs = config_doc(rng)
    files = {"c.toml": text, **{k: v for k, v in fixture_files().items() if k in ("m.onnx", "x.npy")}}
    r = rng.random()
    allowed = (0, 2)
    if r < 0.55:
        argv = ["estimate", "m.onnx", "--config", "c.toml", "--json", "r.json"]
        if rng.random() < 0.3:
            argv += ["--csv", "r.csv"]
    elif r < 0.65:
        argv = ["estimate", "m.onnx", "--config", "c.toml", "--json", "r.json", "--rows", "8", "--cols", "8",
                "--dataflow", rng.choice(["ws", "os", "is"])]
    elif r < 0.75:
        argv = ["rtl", "--config", "c.toml", "--rows", "4", "--cols", "4", "--out", "rtl_out"]
    elif r < 0.85:
        argv = ["sweep", "m.onnx", "--config", "c.toml", "--out", "sw", "--rows", "4,8"]
        if rng.random() < 0.5:
            argv += ["--buffer-kib", rng.choice(["64,256", "1", "100000000"])]
    elif r < 0.95:
        argv = ["run", "m.onnx", "--input", "x=x.npy", "--config", "c.toml", "--precision", "int8",
                "--report", "r.json", "--output", "o.npz"]
    elif inprocess:
        argv = ["estimate", "m.onnx", "--config", "c.toml", "--csv", "-"]
    else:
        argv = ["verify", "--config", "c.toml", "--rows", "2", "--cols", "2", "--m", "3", "--k", "3", "--n", "3",
                "--json", "v.json"]
        allowed = (0, 1, 2)
    return Case("config", seed, "; ".join(descs), argv, files, allowed=allowed, timeout=60,
                meta={"family": descs[-1].split(" ")[0] if descs else ""})


# --------------------------------------------------------------------------------- command lines

_BASES: list[tuple[list[str], dict[str, Any]]] = [
    (["estimate", "m.onnx", "--json", "out.json", "--csv", "out.csv"], {}),
    (["estimate", "m.onnx", "--plot", "out.png", "--top", "3"], {}),
    (["estimate", "m.onnx", "--json", "-"], {}),
    (["estimate", "m.onnx", "--preset", "fpga-edge", "--rows", "8", "--dataflow", "os"], {}),
    (["estimate", "topo.csv", "--preset", "fpga-edge", "--json", "out.json"], {}),
    (["estimate", "--input-shape", "input=1x3x32x32", "--json", "out.json"], {}),
    (["presets"], {}),
    (["plot", "report.json", "--out", "plots"], {}),
    (["plot", "-", "--out", "plots", "--top", "2"], {"stdin": "report"}),
    (["rtl", "--preset", "fpga-edge", "--rows", "4", "--cols", "4", "--out", "rtl_out"], {}),
    (["verify", "--rows", "2", "--cols", "2", "--m", "3", "--k", "3", "--n", "3", "--json", "v.json"], {"verify": True}),
    (["run", "m.onnx", "--input", "x=x.npy", "--output", "out.npz"], {}),
    (["run", "m.onnx", "--input", "x=x.npy", "--precision", "int8", "--report", "r.json", "--output", "o.npz"], {}),
    (["run", "m.onnx", "--input", "x=x.npy", "--precision", "int8", "--calibrate", "cal"], {"cal": True}),
    (["run", "m.onnx", "--input", "x=x.npy", "--output", "-"], {"binary": True}),
    (["sweep", "m.onnx", "--rows", "4,8", "--out", "sw"], {}),
    (["sweep", "m.onnx", "--rows", "4:16:x2", "--cols", "4-8/4", "--dataflow", "all", "--objective", "energy",
      "--out", "sw", "--jobs", "2"], {}),
    (["llm", "cfg.json", "--prompt", "16", "--generate", "4", "--json", "out.json"], {}),
    (["llm", "gpt2", "--prompt", "8", "--generate", "2", "--batch", "2", "--kv-bits", "8", "--plot", "s.png"], {}),
    (["estimate", "m.onnx", "--training", "--batch", "2", "--optimizer", "adam", "--json", "out.json"], {}),
    (["estimate", "m.onnx", "--training", "--recompute", "all", "--loss", "mse", "--csv", "l.csv"], {}),
    (["estimate", "m.onnx", "--clock-from", "report.json", "--json", "out.json"], {}),
    (["run", "m.onnx", "--training-step", "--input", "x=x.npy", "--target", "y=y.npy", "--loss", "mse",
      "--output", "g.npz"], {}),
    (["rtl", "m.onnx", "--rows", "4", "--cols", "4", "--out", "accel_out"], {}),
    ([], {}), (["--version"], {}), (["estimate", "--help"], {}),
]

PATH_FLAGS = {"--json", "--csv", "--plot", "--out", "--config", "--report", "--output", "--calibrate",
              "--scalesim-config", "--clock-from"}
INT_FLAGS = {"--top", "--m", "--k", "--n", "--seed", "--jobs", "--prompt", "--generate", "--batch", "--weight-bits",
             "--lr", "--dram-gib"}
LIST_FLAGS = {"--buffer-kib"}
CHOICE_FLAGS = {"--dataflow", "--precision", "--timing", "--objective", "--executor", "--family", "--kv-bits",
                "--optimizer", "--loss", "--recompute", "--fpga"}

OUT_PATHS = ["", " ", "-", "--", ".", "..", "/", "missing-dir/x.json", "adir", "afile.txt/x.json", "fifo", "link.json",
             "dangling.json", "dirlink", "ok.json", "a" * 300 + ".json", "a/" * 2100 + "x", "\x1b[31m.json", "\u00fc.json",
             "x\ny.json", "-json", "~/x.json", "/dev/null", "/dev/full", "/dev/stdout", "/proc/self/fd/1", "sub/",
             "out.json", ".hidden.json"]
IN_PATHS = ["", "-", ".", "adir", "afile.txt", "missing.onnx", "fifo", "dangling.json", "x.npy", "m.onnx", "report.json",
            "ok.toml", "a" * 300, "/dev/null", "/dev/zero", "/dev/full", "link.json", "\x1b[2J", "topo.csv", "c:\\x"]
INTS = ["0", "-1", "1", "99999999999999999999999", "1e3", "0x10", " 8", "\uff18", "1_000", "nan", "+5", "", "x",
        "4097", "2147483648", "-0", "\u0663", "3.0", "9" * 5000]
SEEDS = ["-1", "18446744073709551616", "-99999999999999999999", "0", "2", "abc", "", "1e9"]
SMALL_JOBS = ["0", "-1", "x", "", "1", "2", "3", "1.5"]   # never huge: a huge --jobs forks that many processes
LISTS = ["", ",", "8,,16", "8:64:x0", "8:64:x1", "64:8:x2", "8-64/0", "8-4/1", "0", "-8", "1:4096:x2", "1-64/1", "all",
         "ws,ws", "WS", "ws,xs", "8.5", "1e2", "99999999999", "8:99999999999:x2", "1-4096/1", "4096", "8, 16", " ",
         "\u0668", "1:2:x99999999999999999999", "x2"]
SHAPES = ["x=0x3x8x8", "x=1x3x8x8x", "=1x3", "x", "x=", "x=99999x99999x99999x99999", "x=1x3x8", "nonexistent=1x3",
          "x=-1x3x8x8", "x=1X3X8X8", "x==1x3", "x=\uff11x3x8x8", "x=1x3x4096x4096", "x=1x3x8x8", "input=1x3x0x0",
          "input=1x3x99999999x99999999", "input=2x3x224x224", "x=" + "1x" * 500 + "1"]
CHOICES = ["", "WS", "xx", "ws ", "\x1b", "int4", "fp16", "dask", "bogus", "ice40", "xilinx", "edp", "all", "adam",
           "none", "16", "3", "ecp5-45f", "ice40-up5k"]
INPUTS = ["x=", "=x.npy", "x", "y=x.npy", "x=x.npy", "x=missing.npy", "x=adir", "x=fifo", "x=m.onnx", "x=x.npy=y",
          "x=report.json", "x=/dev/zero", "x=/dev/null", "x=link.json", "x=" + "a" * 300]
FLAGS_ANY = sorted(PATH_FLAGS | INT_FLAGS | LIST_FLAGS | CHOICE_FLAGS |
                   {"--rows", "--cols", "--preset", "--input-shape", "--input", "--synth", "--fresh",
                    "--allow-unsupported", "--training", "--training-step", "--scheduler", "--bogus", "-x", "--js", "--help", "--version"})
PRESET_NAMES = ["", "x" * 5000, "../presets/fpga-edge", "../../etc/hostname", "GEMMINI-LIKE", "fpga-edge",
                "\x1b[2J", "fpga-edge.toml", "gemmini-like/../fpga-edge", " "]


def _report_variant(rng: random.Random, report: bytes) -> tuple[bytes, str]:
    """A hostile report for ``plot``: NaN/Infinity, wrong types, missing fields, deep nesting."""
    d = json.loads(report)
    r = rng.randrange(10)
    if r == 0:
        d["totals"]["cycles"] = NAN
        return json.dumps(d).encode(), "totals.cycles NaN"
    if r == 1:
        for layer in d["layers"]:
            layer["energy_j"] = rng.choice([INF, -1.0, 1e308, "x", None])
        return json.dumps(d).encode(), "layer energy hostile"
    if r == 2:
        d["layers"] = rng.choice([[], "x", None, {}, [1, 2]])
        return json.dumps(d).encode(), "layers hostile"
    if r == 3:
        del d[rng.choice(list(d))]
        return json.dumps(d).encode(), "a top-level key removed"
    if r == 4:
        depth = rng.choice([1000, 100000])
        return b"[" * depth + b"]" * depth, f"JSON nested {depth} deep"
    if r == 5:
        d["config"]["rows"] = rng.choice([0, -1, 10**30, "16", 1.5])
        return json.dumps(d).encode(), "config.rows hostile"
    if r == 6:
        d["layers"] = d["layers"] * rng.choice([100, 3000])
        return json.dumps(d).encode(), "many layers"
    if r == 7:
        d["model"] = rng.choice(["\x1b[31mred", "x" * 5000, "", 5])
        return json.dumps(d).encode(), "model name hostile"
    if r == 8:
        return rng.choice([b"", b"{", b"\xff\xfe", b"null", b"[]", b"NaN", b'"x"']), "not a report"
    for layer in d["layers"]:
        layer["cycles"] = rng.choice([0, -5, 2**70])
        layer["macs"] = rng.choice([0, -5, 2**70])
    return json.dumps(d).encode(), "layer cycles/macs hostile"


def _flag_value(flag: str, rng: random.Random, cmd: str) -> str:
    if flag == "--jobs":
        return rng.choice(SMALL_JOBS)
    if flag == "--seed":
        return rng.choice(SEEDS)
    if flag in ("--m", "--k", "--n"):
        return rng.choice(INTS + ["100000000", "4097"])
    if flag in INT_FLAGS:
        return rng.choice(INTS)
    if flag in ("--rows", "--cols"):
        return rng.choice(LISTS if cmd == "sweep" else INTS)
    if flag in LIST_FLAGS:
        return rng.choice(LISTS)
    if flag in CHOICE_FLAGS:
        return rng.choice(CHOICES)
    if flag == "--input-shape":
        return rng.choice(SHAPES)
    if flag == "--input":
        return rng.choice(INPUTS)
    if flag == "--preset":
        return rng.choice(PRESET_NAMES)
    if flag in ("--config", "--scalesim-config", "--calibrate"):
        return rng.choice(IN_PATHS + OUT_PATHS[:8])
    if flag == "--scheduler":
        return rng.choice(["", "nonsense", "tcp://", "tcp://127.0.0.1:1", "\x1b"])
    return rng.choice(OUT_PATHS)


def _unsafe(token: str) -> bool:
    """Needs the subprocess harness: a FIFO (a blocked open cannot be interrupted in-process) or /dev."""
    return token == "fifo" or token.endswith("=fifo") or "/dev/" in token or token.startswith("/proc/")


def cmdline_case(seed: int, inprocess: bool = False) -> Case:
    """A hostile command line; ``inprocess`` keeps to what :func:`harness.run_inprocess` can run
    (no FIFO, no /dev, no verify, no worker processes)."""
    rng = random.Random(f"cmdline:{seed}")
    bases = [b for b in _BASES if not (inprocess and (b[1].get("verify") or "--jobs" in b[0]))]
    base, opts = rng.choice(bases)
    argv = list(base)
    cmd = argv[0] if argv else ""
    files = fixture_files()
    stdin = files["report.json"] if opts.get("stdin") == "report" else b""
    descs: list[str] = []
    dirs = ["adir"]
    if opts.get("cal"):
        files["cal/x.npy"] = files["x.npy"]
    for _ in range(rng.choices([1, 2, 3], [55, 30, 15])[0]):
        r = rng.random()
        flags = [i for i, a in enumerate(argv) if a.startswith("--") and i + 1 < len(argv) and not argv[i + 1].startswith("--")]
        if r < 0.40 and flags:
            i = rng.choice(flags)
            argv[i + 1] = _flag_value(argv[i], rng, cmd)
            descs.append(f"{argv[i]} {_short(argv[i + 1])}")
        elif r < 0.48 and argv:
            i = rng.randrange(len(argv))
            descs.append(f"drop {_short(argv[i])}")
            del argv[i]
        elif r < 0.56 and flags:
            i = rng.choice(flags)
            argv += [argv[i], _flag_value(argv[i], rng, cmd)]
            descs.append(f"duplicate {argv[i]} {_short(argv[-1])}")
        elif r < 0.62 and flags:
            i = rng.choice(flags)
            argv[i + 1] = ""
            descs.append(f"{argv[i]} ''")
        elif r < 0.78:
            flag = rng.choice(FLAGS_ANY)
            value = _flag_value(flag, rng, cmd)
            if flag in ("--synth", "--fresh", "--allow-unsupported", "--training", "--training-step", "--help",
                        "--version"):
                argv.append(flag)
                descs.append(f"add {flag}")
            elif rng.random() < 0.3:
                argv.append(f"{flag}={value}")
                descs.append(f"add {flag}={_short(value)}")
            else:
                argv += [flag, value]
                descs.append(f"add {flag} {_short(value)}")
        elif r < 0.86 and argv and not argv[0].startswith("-"):
            pos = 1 if len(argv) > 1 and not argv[1].startswith("-") else None
            if pos is not None and cmd in ("estimate", "run", "plot", "sweep"):
                argv[pos] = rng.choice(IN_PATHS)
                descs.append(f"positional {_short(argv[pos])}")
            else:
                argv.insert(1, rng.choice(IN_PATHS))
                descs.append(f"extra positional {_short(argv[1])}")
        elif r < 0.90 and argv:
            argv[0] = rng.choice(["Estimate", "estimat", "", "est", "run ", "-", "--", "help", "\x1b[31m", "sweep",
                                  "estimate"])
            descs.append(f"command {_short(argv[0])}")
        elif r < 0.95 and cmd == "plot":
            files["report.json"], d = _report_variant(rng, files["report.json"])
            if stdin:
                stdin = files["report.json"]
            descs.append(f"report: {d}")
        else:
            stdin = rng.choice([b"", b"\xff" * 10, b"[" * 100000, b'{"layers": NaN}', b"x" * 100000])
            descs.append(f"stdin {_short(stdin[:20])}")
    if not descs:
        descs.append("unchanged")
    if inprocess:
        argv = ["missing.json" if _unsafe(a) else a for a in argv]
        for i, a in enumerate(argv[:-1]):
            if a == "--jobs":
                argv[i + 1] = "1"
        if argv and argv[0] == "verify":
            argv[0] = "presets"
    # Outputs that already exist, to see that a failure leaves them alone.
    files["ok.json"] = b'{"before": true}\n'
    case = Case("cmdline", seed, "; ".join(descs), argv, files, dirs=dirs, fifos=[] if inprocess else ["fifo"],
                symlinks={"link.json": "target.json", "dangling.json": "nowhere/x.json", "dirlink": "adir"},
                stdin=stdin, binary_stdout=bool(opts.get("binary")) or _binary_to_stdout(argv),
                allowed=(0, 1, 2) if cmd == "verify" else (0, 2), timeout=60)
    if "fifo" in argv or any(a.endswith("=fifo") for a in argv):
        case.timeout = 15  # reading a FIFO nobody writes blocks: the harness reports the hang
    if rng.random() < 0.08 and argv and argv[0] in ("estimate", "presets", "run", "sweep") and not inprocess:
        case.stdout_full = True
        case.desc += "; stdout is /dev/full"
    special = next((a for a in argv if a in ("fifo", "link.json", "dangling.json", "dirlink") or a.startswith("/dev/")), "")
    flag = next((argv[i - 1] for i, a in enumerate(argv) if a == special and i), "")
    case.meta = {"family": descs[0].split(" ")[0], "special_flag": f"{flag} {special}".strip()}
    return case

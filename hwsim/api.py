"""hwsim from Python: one call per command, the same functions the command line calls.

>>> import hwsim
>>> report = hwsim.estimate("docs/examples/matmul_64x96x48.onnx", "fpga-edge")
>>> report.model, report.totals.macs, len(report.listed)
('matmul_64x96x48', 294912, 1)

``model`` is a path (``.onnx``, or a SCALE-Sim topology ``.csv``), ONNX bytes, an
``onnx.ModelProto`` or the name of a bundled model (``compiler.zoo``: ``"resnet50"``, ``"bert"``,
...); ``config`` is a preset name, a file (hwsim TOML, a SCALE-Sim ``.cfg``, or a ``--json`` report
whose ``config`` is reused), a dict of :meth:`AcceleratorConfig.to_dict` fields or an
:class:`AcceleratorConfig`; keyword ``overrides`` change single fields (``rows=32, dataflow="os"``).
Every problem with an input is a :class:`hwsim.UserError` with the one-line message the command
line prints. docs/api.md is the tutorial.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import onnx

import compiler
import rtl as _rtl
from compiler.codegen import codegen as _codegen
from compiler.importer import declared_inputs, dims_text
from compiler.training import TrainingOptions
from compiler.llm import model as llm_models
from compiler.llm import spec as llm_specs
from hwsim import execute as _execute
from hwsim import llm as _llm
from hwsim import plots, scalesim
from hwsim import replay as _replay
from hwsim import sweep as _sweep
from hwsim.core import __version__ as hwsim_version
from hwsim.core import isa
from hwsim.core.config import AcceleratorConfig, load_config, preset, preset_names
from hwsim.core.errors import UserError, shown
from hwsim.core.files import OutputSet, json_text, parse_json, read_text, write_output
from hwsim.core.fpga import DEVICES
from hwsim.core.training import master_words
from hwsim.core.workload import STORE_PATH_FAMILIES, LoweredModel
from hwsim.energy import layer_energy
from hwsim.report import Report as _BaseReport
from hwsim.simulate import simulate

__all__ = ["Report", "RtlDesign", "ModelSource", "ConfigSource", "LlmSource", "resolve_config", "load",
           "load_training", "estimate", "llm_model", "serve_llm", "run", "training_step", "sweep", "verify", "rtl",
           "TIMINGS", "KV_BITS", "ESTIMATE_TIMINGS", "replay_report", "LayerCheck", "NetworkVerification",
           "accelerator_image", "TrainingOptions"]


#: Timing models: hwsim's own (RTL-proven tiles) and SCALE-Sim 3.0 compatibility.
TIMINGS = ("hwsim", "scalesim")
#: ``hwsim estimate`` also has the accelerator's exact event model (``hwsim.replay``), for a config the
#: accelerator RTL implements: the network compiled to its command program and replayed.
ESTIMATE_TIMINGS = TIMINGS + ("replay",)
DEFAULT_PRESET = "gemmini-like"

ModelSource = str | Path | bytes | onnx.ModelProto | LoweredModel
ConfigSource = str | Path | Mapping[str, Any] | AcceleratorConfig | None


@dataclass(frozen=True)
class Report(_BaseReport):
    """:class:`hwsim.report.Report` with :meth:`plot`, as :func:`estimate` returns it.

    The tables and files: ``to_table()``, ``to_json()``, ``to_csv()``, ``to_dataframe()``
    (needs pandas), ``to_dict()``; the numbers: ``totals``, ``listed`` (the layers the table lists).
    """

    @classmethod
    def of(cls, report: _BaseReport) -> Report:
        return cls(**{f.name: getattr(report, f.name) for f in fields(_BaseReport)})

    def plot(self, path: str | Path | None = None, *, top: int = plots.DEFAULT_TOP, fmt: str | None = None) -> bytes:
        """The cycles, energy and roofline panels in one image (``estimate --plot``), as bytes.

        The format follows ``path``'s extension (.png, .svg, .pdf) or ``fmt``; with ``path`` the
        image is also written there.
        """
        kind = fmt or (plots.image_format(path) if path is not None else "png")
        data = plots.summary_image(self.to_dict(), fmt=kind, top=top)
        if path is not None:
            write_output(path, data)
        return data


@dataclass(frozen=True)
class RtlDesign:
    """What ``hwsim rtl`` writes: ``files`` (name -> bytes, the manifest last) and the synthesis figures."""

    config: AcceleratorConfig
    files: Mapping[str, bytes]
    synthesis: Any = None
    #: The top module (the array's ``config.module_name`` when ``None``; the accelerator's is ``*_accel``).
    top: str | None = None

    #: ``timing.json``'s content after place and route (``rtl(..., pnr=True)``), else None.
    timing: Mapping[str, Any] | None = None

    @property
    def module(self) -> str:
        return self.top or self.config.module_name

    @property
    def verilog(self) -> str:
        return self.files[f"{self.module}.v"].decode()

    def write(self, out: str | Path) -> Path:
        """Write every file into ``out`` (created), all or none (:class:`hwsim.core.files.OutputSet`)."""
        with OutputSet() as outputs:
            folder = self.stage(outputs, out)
            outputs.commit()
        return folder

    def stage(self, outputs: OutputSet, out: str | Path) -> Path:
        """Stage every file into the folder ``out`` (created) of ``outputs``; the manifest, which names
        every file with its hash, goes last, so a folder whose manifest does not match is incomplete."""
        folder = outputs.make_dir(out, "--out")
        for name, blob in self.files.items():
            if name != "manifest.json":
                outputs.stage(folder / name, blob, "--out")
        outputs.stage(folder / "manifest.json", self.files["manifest.json"], "--out")
        return folder


# --------------------------------------------------------------------------------------- inputs

def resolve_config(config: ConfigSource = None, **overrides: Any
                   ) -> tuple[AcceleratorConfig, scalesim.ScaleSimOptions | None]:
    """``(config, SCALE-Sim options or None)`` from any form :func:`estimate` accepts, overrides applied.

    >>> resolve_config("fpga-edge", rows=4)[0].rows
    4
    """
    options = None
    if config is None:
        cfg = preset(DEFAULT_PRESET)
    elif isinstance(config, AcceleratorConfig):
        cfg = config
    elif isinstance(config, Mapping):
        cfg = AcceleratorConfig.from_dict(config.get("config", config) if "totals" in config else config)
    elif isinstance(config, (str, Path)):
        text = str(config)
        path = Path(text)
        if isinstance(config, str) and text in preset_names():
            cfg = preset(text)
        elif path.suffix.lower() == ".cfg":
            cfg, options = scalesim.load_scalesim_config(path)
        elif path.suffix.lower() == ".json":
            cfg = _json_config(path)
        elif path.suffix.lower() == ".toml" or path.exists():
            cfg = load_config(path)
        else:
            raise UserError(f"config {shown(repr(text), 80)}: neither a preset ({', '.join(preset_names())}) nor a file "
                            "(.toml, a SCALE-Sim .cfg, or a --json report)")
    else:
        raise UserError(f"config: expected a preset name, a file, a dict or an AcceleratorConfig, "
                        f"got {type(config).__name__}")
    changes = {key: value for key, value in overrides.items() if value is not None}
    if changes:
        unknown = sorted(set(changes) - {f.name for f in fields(AcceleratorConfig)})
        if unknown:
            raise UserError(f"unknown config field {shown(repr(unknown[0]), 40)}; fields are "
                            f"{', '.join(f.name for f in fields(AcceleratorConfig))}")
        try:
            cfg = cfg.replace(**changes)
        except UserError as e:
            raise UserError(f"{e} (after applying {shown(', '.join(f'{k}={v!r}' for k, v in changes.items()), 60)})") from None
        except TypeError as e:
            raise UserError(f"config overrides: {e}") from None
    return cfg, options


def _json_config(path: Path) -> AcceleratorConfig:
    """The config of a ``--json`` report (or of a bare ``to_dict()`` object) in ``path``."""
    where = shown(path)
    data = parse_json(read_text(path, "config file"), where, "give a --json report or a TOML config")
    if isinstance(data, dict) and "config" in data:
        return AcceleratorConfig.from_dict(data["config"], f"{where}: config")
    return AcceleratorConfig.from_dict(data, where)


def _source(model: ModelSource) -> str | Path | onnx.ModelProto:
    """An importable source: bytes are parsed, a bundled model's name is built (without weights)."""
    if isinstance(model, bytes):
        proto = onnx.ModelProto()
        try:
            proto.ParseFromString(model)
        except Exception:  # protobuf raises several types for bad bytes
            raise UserError("model: the bytes are not a valid ONNX model") from None
        return proto
    if isinstance(model, str) and not Path(model).exists() and model in compiler.zoo.MODELS:
        return compiler.zoo.MODELS[model](weights=False)
    if isinstance(model, (str, Path, onnx.ModelProto)):
        return model
    raise UserError(f"model: expected a path, ONNX bytes, an onnx.ModelProto or a bundled model name, "
                    f"got {type(model).__name__}")


def load(model: ModelSource, *, input_shapes: Mapping[str, Sequence[int]] | None = None,
         input_values: Mapping[str, Sequence[float]] | None = None,
         allow_unsupported: bool = False) -> LoweredModel:
    """The model's workloads (what :func:`estimate` and :func:`sweep` schedule), named after its file."""
    if isinstance(model, LoweredModel):
        return model
    if isinstance(model, (str, Path)) and str(model).lower().endswith(".csv"):
        if input_shapes or input_values:
            raise UserError(f"{shown(model)}: --input-shape applies to ONNX models; a topology file gives every shape itself")
        return LoweredModel(name=Path(model).stem, workloads=scalesim.load_topology(model))
    shapes = {k: tuple(int(d) for d in v) for k, v in (input_shapes or {}).items()}
    values = {k: np.asarray(v) for k, v in (input_values or {}).items()}
    name = model if isinstance(model, str) and model in compiler.zoo.MODELS and not Path(model).exists() else None
    lowered = compiler.lower_model(_source(model), input_shapes=shapes or None, input_values=values or None,
                                   allow_unsupported=allow_unsupported)
    return LoweredModel(name, lowered.workloads, lowered.skipped) if name else lowered


def batch_shapes(source: str | Path | onnx.ModelProto, batch: int,
                 input_shapes: Mapping[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """``input_shapes`` plus, for every other input, its declared shape with ``batch`` as the first dim
    (``--batch``); an input whose other dims are not fixed must be pinned with ``--input-shape``."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise UserError(f"--batch must be a positive integer, got {shown(repr(batch), 40)}")
    shapes = dict(input_shapes)
    for d in declared_inputs(source):
        if d.name in shapes:
            continue
        if d.dims is None or not d.dims or not all(isinstance(x, int) for x in d.dims[1:]):
            raise UserError(f"--batch: input '{shown(d.name, 40)}' is declared {dims_text(d.dims)}; "
                            f"give its whole shape with --input-shape {shown(d.name, 40)}=...")
        shapes[d.name] = (batch, *(int(x) for x in d.dims[1:]))
    return shapes


def load_training(model: ModelSource, options: TrainingOptions, *, batch: int | None = None,
                  input_shapes: Mapping[str, Sequence[int]] | None = None,
                  input_values: Mapping[str, Sequence[float]] | None = None,
                  store_path: Sequence[str] = STORE_PATH_FAMILIES) -> LoweredModel:
    """The workloads of one training step of ``model`` (each with its phase; fused for a store path
    that applies ``store_path``, docs/model.md#training-fusion) and its memory
    (``LoweredModel.training``), named after the model's file."""
    if isinstance(model, LoweredModel) or isinstance(model, (str, Path)) and str(model).lower().endswith(".csv"):
        raise UserError("--training needs an ONNX model: a topology's layers have no backward pass to derive")
    source = _source(model)
    shapes = {k: tuple(int(d) for d in v) for k, v in (input_shapes or {}).items()}
    if batch is not None:
        shapes = batch_shapes(source, batch, shapes)
    values = {k: np.asarray(v) for k, v in (input_values or {}).items()}
    lowered = compiler.lower_training(source, options, input_shapes=shapes or None, input_values=values or None,
                                      store_path=store_path)
    name = model if isinstance(model, str) and model in compiler.zoo.MODELS and not Path(model).exists() else None
    return LoweredModel(name, lowered.workloads, lowered.skipped, lowered.outputs, lowered.training) if name else lowered


# ------------------------------------------------------------------------------------- commands

def estimate(model: ModelSource, config: ConfigSource = None, *, timing: str = "hwsim",
             input_shapes: Mapping[str, Sequence[int]] | None = None,
             input_values: Mapping[str, Sequence[float]] | None = None,
             allow_unsupported: bool = False, training: TrainingOptions | None = None,
             batch: int | None = None, clock_from: str | Path | None = None,
             mapping: compiler.MappingSource | None = None, **overrides: Any) -> Report:
    """``hwsim estimate``: cycles, latency, utilization, traffic, stalls and energy per layer.

    ``timing="scalesim"`` times GEMM layers (and their DRAM traffic) as SCALE-Sim 3.0 does; the
    bandwidth mode is the ``.cfg``'s, else USER (docs/scalesim.md), and the report says which.
    ``timing="replay"`` compiles the network to the accelerator's command program
    (:mod:`compiler.codegen`) and times it with the exact event model (:mod:`hwsim.replay`), the
    cycles the RTL counts: :func:`replay_report`.
    ``training`` estimates one training step instead (docs/training.md): forward, loss, backward and
    optimizer layers, each with its phase, and the step's memory. ``batch`` sets the first dim of
    every input not pinned by ``input_shapes``.
    ``clock_from``: a ``timing.json`` of ``hwsim rtl --fpga ... --pnr``; the estimate runs at the
    Fmax its design reached, on that design's config when ``config`` is None (a given config must
    describe the same array), and the report says so (``clock.source``).
    ``mapping``: a mapping file (or :class:`compiler.PinnedMapping`, or a dict of layer name to loop
    text such as ``"Q7 S3 R3 K64"``) pinning the DRAM-level loops of the layers it names
    (docs/model.md#pinned-mappings); it is read, and checked against the model, before any work.
    """
    if timing not in ESTIMATE_TIMINGS:
        raise UserError(f"timing {shown(repr(timing), 40)}: choose one of {', '.join(ESTIMATE_TIMINGS)}")
    achieved = None
    if clock_from is not None:
        achieved = _achieved_clock(Path(clock_from))
        if config is None:
            config = achieved[2]
    if isinstance(model, (str, Path)) and str(model).lower().endswith(".csv") and config is None:
        raise UserError(f"{shown(model)}: a SCALE-Sim topology needs an accelerator: add --scalesim-config FILE.cfg or --preset NAME")
    pinned = compiler.as_mapping(mapping)
    if pinned is not None and timing != "hwsim":
        raise UserError(f"--mapping pins loops for hwsim's timing; --timing {timing} maps by its own rules: drop one")
    cfg, options = resolve_config(config, **overrides)
    clock_source = None
    if achieved is not None:
        mhz, clock_source, built = achieved
        _same_design(cfg, built, Path(clock_from))
        cfg = cfg.replace(clock_mhz=mhz)
    if timing == "replay":
        if training is not None or batch is not None:
            raise UserError("--timing replay times an inference command program: it takes neither --training "
                            "nor --batch")
        return replay_report(model, cfg, input_shapes=input_shapes, input_values=input_values)
    if training is not None:
        if allow_unsupported:
            raise UserError("--allow-unsupported does not apply to --training: every layer on the gradient's "
                            "path needs its backward rule")
        # fp32 master weights and optimizer state, in array words (mixed precision, docs/training.md).
        step_options = dataclasses.replace(training, state_words=master_words(cfg))
        lowered = load_training(model, step_options, batch=batch, input_shapes=input_shapes, input_values=input_values,
                                store_path=cfg.store_path)
    elif batch is not None:
        if isinstance(model, LoweredModel) or isinstance(model, (str, Path)) and str(model).lower().endswith(".csv"):
            raise UserError("--batch applies to ONNX models; a topology file gives every shape itself")
        source = _source(model)
        shapes = batch_shapes(source, batch, {k: tuple(int(d) for d in v) for k, v in (input_shapes or {}).items()})
        lowered = load(model, input_shapes=shapes, input_values=input_values, allow_unsupported=allow_unsupported)
    else:
        lowered = load(model, input_shapes=input_shapes, input_values=input_values, allow_unsupported=allow_unsupported)
    timing_model = None
    if timing == "scalesim":
        options = options or scalesim.ScaleSimOptions.for_config(cfg)
        timing_model = scalesim.ScaleSimTiming(options)
    report = simulate(compiler.schedule_model(lowered, cfg, mapping=pinned), scalesim=timing_model)
    mode = options.bandwidth_mode if timing == "scalesim" and options is not None else None
    return Report.of(report).with_provenance(scalesim_bandwidth_mode=mode, clock_source=clock_source)


def _achieved_clock(path: Path) -> tuple[float, str, AcceleratorConfig]:
    """(Fmax in MHz, where it comes from, the config of the design) from a ``timing.json``."""
    hint = "give the timing.json that 'hwsim rtl --fpga DEVICE --pnr --out DIR' writes"
    text = read_text(path, "timing.json", missing_hint=hint)
    data = parse_json(text, f"--clock-from {shown(path)}", hint)
    if not isinstance(data, dict) or not {"fits", "part", "config"} <= set(data):
        raise UserError(f"--clock-from {shown(path)}: not a place-and-route timing.json (needs fits, part, fmax_mhz, config); {hint}")
    part = shown(str(data["part"]), 60)
    if data["fits"] is not True:
        raise UserError(f"--clock-from {shown(path)}: the design did not fit the {part} "
                        f"({shown(str(data.get('reason', 'no reason given')), 200)}), so it has no Fmax; "
                        "try a larger device")
    mhz = data.get("fmax_mhz", {}).get("clk") if isinstance(data.get("fmax_mhz"), dict) else None
    if isinstance(mhz, bool) or not isinstance(mhz, (int, float)) or not 0 < mhz < 1e6:
        raise UserError(f"--clock-from {shown(path)}: fmax_mhz.clk must be a positive number of MHz, "
                        f"got {shown(repr(mhz), 40)}; {hint}")
    built = AcceleratorConfig.from_dict(data["config"], f"--clock-from {shown(path)}: config")
    source = (f"Fmax of {built.module_name} on the {part} after place and route "
              f"(nextpnr, seed {shown(str(data.get('seed', '?')), 20)}), from {shown(path)}")
    return float(mhz), source, built


def _same_design(cfg: AcceleratorConfig, built: AcceleratorConfig, path: Path) -> None:
    """A config estimated at the Fmax of ``built`` must have its array, widths, buffer and pipeline."""
    def key(c: AcceleratorConfig) -> dict[str, Any]:
        return {"rows": c.rows, "cols": c.cols, "input_bits": c.input_bits, "weight_bits": c.weight_bits,
                "acc_bits": c.acc_bits, "acc_depth": c.acc_depth,
                "pipeline (mult/adder/acc stages)": "{0.mult_stages}/{0.adder_segments}/{0.acc_stages}".format(c.pipeline)}
    mine, theirs = key(cfg), key(built)
    diff = [f"{k} {mine[k]} vs {theirs[k]}" for k in mine if mine[k] != theirs[k]]
    if diff:
        raise UserError(f"--clock-from {shown(path)}: that Fmax is of another design ({'; '.join(diff)}); estimate its own "
                        f"config (omit --preset/--config) or place and route this one")


#: KV-cache element widths ``hwsim llm`` takes.
KV_BITS = (16, 8, 4)
LlmSource = str | Path | Mapping[str, Any] | onnx.ModelProto | llm_specs.LlmSpec
#: Steps ``hwsim llm`` simulates at most: prompt tokens, generated tokens, sequences.
_LLM_LIMITS = {"prompt": 1 << 20, "generate": 1 << 16, "batch": 1 << 16}


def llm_model(model: LlmSource) -> tuple[llm_models.LlmModel, str]:
    """``(model, "config" | "onnx")``: a Hugging Face ``config.json`` (or its folder, or the parsed
    dict), a name of :data:`compiler.llm.spec.NAMED`, an :class:`~compiler.llm.spec.LlmSpec`, or an
    ONNX export (a path or a ``ModelProto``)."""
    if isinstance(model, llm_specs.LlmSpec):
        return llm_models.from_spec(model), "config"
    if isinstance(model, Mapping):
        return llm_models.from_spec(llm_specs.from_hf_config(model)), "config"
    if isinstance(model, onnx.ModelProto):
        return llm_models.from_onnx(model), "onnx"
    if not isinstance(model, (str, Path)):
        raise UserError(f"model: expected a config.json, an .onnx file, a model name, a dict or an LlmSpec, "
                        f"got {type(model).__name__}")
    path = Path(model)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserError(f"{shown(path)}: a folder without config.json; give a Hugging Face config.json or an "
                            ".onnx file")
        path = path / "config.json"
    if path.suffix.lower() == ".onnx":
        return llm_models.from_onnx(path), "onnx"
    if path.suffix.lower() == ".json":
        if not path.is_file():
            raise UserError(f"{shown(path)}: no such file; give a Hugging Face config.json")
        return llm_models.from_spec(llm_specs.load_hf_config(path)), "config"
    if path.exists():
        raise UserError(f"{shown(path)}: give a Hugging Face config.json (or its folder) or an .onnx export")
    return llm_models.from_spec(llm_specs.named(shown(str(model)))), "config"


def serve_llm(model: LlmSource, config: ConfigSource = None, *, prompt: int = 128, generate: int = 128,
              batch: int = 1, kv_bits: int = 16, **overrides: Any) -> _llm.LlmReport:
    """``hwsim llm``: a prefill of ``prompt`` tokens and ``generate`` decode steps for ``batch``
    sequences, as an :class:`hwsim.llm.LlmReport` (``to_table()``, ``to_json()``, ``to_dict()``,
    ``plot()``); ``overrides`` change config fields (``weight_bits=4``, ``dram_gib=16``). docs/llm.md."""
    for key, value in (("prompt", prompt), ("generate", generate), ("batch", batch)):
        least = 0 if key == "generate" else 1
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= _LLM_LIMITS[key]:
            raise UserError(f"--{key} {value!r}: must be an integer from {least} to {_LLM_LIMITS[key]:,}")
    if kv_bits not in KV_BITS:
        raise UserError(f"--kv-bits {kv_bits!r}: choose one of {', '.join(map(str, KV_BITS))}")
    cfg, _ = resolve_config(config, **overrides)
    lm, source = llm_model(model)
    spec = lm.spec
    if spec is not None and spec.decoder and prompt + generate > spec.max_positions:
        raise UserError(f"{lm.name}: prompt {prompt} + generate {generate} = {prompt + generate} tokens exceed "
                        f"the model's {spec.max_positions} positions (max_position_embeddings); shorten them")
    if spec is not None and not spec.decoder and prompt > spec.max_positions:
        raise UserError(f"{lm.name}: prompt {prompt} exceeds the encoder's {spec.max_positions} positions")
    return _llm.serve(lm, cfg, prompt=prompt, generate=generate, batch=batch, kv_bits=kv_bits, source=source)


def run(model: str | Path | bytes | onnx.ModelProto, inputs: Mapping[str, np.ndarray | str | Path],
        config: ConfigSource = None, *, precision: str = "fp32",
        calibration: str | Path | Iterable[Mapping[str, np.ndarray]] | None = None,
        input_shapes: Mapping[str, Sequence[int]] | None = None, **overrides: Any) -> _execute.RunResult:
    """``hwsim run``: execute the model tile by tile in fp32 or int8; ``inputs`` maps names to arrays
    (or ``.npy`` paths). ``calibration``: a folder of samples, or an iterable of input dicts."""
    if precision not in _execute.PRECISIONS:
        raise UserError(f"precision {shown(repr(precision), 40)}: choose one of {', '.join(_execute.PRECISIONS)}")
    cfg, _ = resolve_config(config, **overrides)
    source = _source(model)
    given = {name: _execute.load_array(v, f"--input {name}") if isinstance(v, (str, Path)) else np.asarray(v)
             for name, v in inputs.items()}
    shapes = {k: tuple(int(d) for d in v) for k, v in (input_shapes or {}).items()}
    pins = _execute.input_pins(source, given, shapes)
    compiled = _execute.compile_for_run(source, cfg, input_shapes=pins, input_values=_execute.shape_like(given))
    samples = None
    if isinstance(calibration, (str, Path)):
        samples = _execute.calibration_samples(calibration, compiled.graph.inputs)
    elif calibration is not None:
        samples = [(f"sample {i}", dict(sample)) for i, sample in enumerate(calibration)]
    try:
        return _execute.run(compiled, given, precision=precision, calibration=samples)
    except MemoryError:
        raise UserError("out of memory while running; try a smaller --input-shape") from None


def training_step(model: str | Path | bytes | onnx.ModelProto, inputs: Mapping[str, np.ndarray | str | Path],
                  targets: Mapping[str, np.ndarray | str | Path], config: ConfigSource = None, *,
                  options: TrainingOptions | None = None, precision: str = "fp32",
                  states: Mapping[str, np.ndarray | str | Path] | None = None,
                  input_shapes: Mapping[str, Sequence[int]] | None = None, **overrides: Any) -> dict[str, np.ndarray]:
    """``hwsim run --training-step``: one training step executed tile by tile in fp32 or fp64.

    ``inputs`` by model input, ``targets`` by model output (class indices for ``xent``), ``states``
    by state name (``state:m:P``; zeros when left out). Returns ``loss``, ``grad:P``, ``updated:P`` and
    ``updated:state:K:P`` for every trained parameter ``P`` (docs/training.md#running-a-step)."""
    cfg, _ = resolve_config(config, **overrides)
    source = _source(model)

    def arrays(given: Mapping[str, np.ndarray | str | Path] | None, flag: str) -> dict[str, np.ndarray]:
        return {name: _execute.load_array(v, f"{flag} {name}") if isinstance(v, (str, Path)) else np.asarray(v)
                for name, v in (given or {}).items()}

    given = arrays(inputs, "--input")
    shapes = {k: tuple(int(d) for d in v) for k, v in (input_shapes or {}).items()}
    pins = _execute.input_pins(source, given, shapes)
    step = _execute.compile_training_step(source, cfg, options or TrainingOptions(), input_shapes=pins,
                                          precision=precision)
    try:
        return _execute.training_step(step, given, arrays(targets, "--target"), states=arrays(states, "--state"))
    except MemoryError:
        raise UserError("out of memory while running; try a smaller --input-shape") from None


def sweep(models: ModelSource | Sequence[ModelSource], config: ConfigSource = None, *,
          rows: Sequence[int] | None = None, cols: Sequence[int] | None = None,
          dataflows: Sequence[str] | None = None, buffer_kib: Sequence[int] | None = None,
          objective: str = "edp", out: str | Path | None = None, jobs: int = 1, executor: str = "local",
          scheduler: str | None = None, timing: str = "hwsim", fresh: bool = False,
          input_shapes: Mapping[str, Sequence[int]] | None = None, allow_unsupported: bool = False,
          on_progress: Callable[[int, int], None] | None = None) -> _sweep.SweepResults:
    """``hwsim sweep``: every design of the space on every model, ranked by ``objective``, Pareto-marked.

    With ``out`` the records are kept there (a later call resumes); without, in a temporary folder.
    Write the pictures with ``hwsim.sweep.pareto_png(results)`` and ``heatmap_png(results)``.
    """
    if objective not in _sweep.OBJECTIVES:
        raise UserError(f"objective {shown(repr(objective), 40)}: choose one of {', '.join(_sweep.OBJECTIVES)}")
    if timing not in TIMINGS:
        raise UserError(f"timing {shown(repr(timing), 40)}: choose one of {', '.join(TIMINGS)}")
    base, _ = resolve_config(config)
    space = _sweep.DesignSpace.around(base, rows=tuple(rows) if rows else None, cols=tuple(cols) if cols else None,
                                      dataflows=tuple(dataflows) if dataflows else None,
                                      buffer_kib=tuple(buffer_kib) if buffer_kib else None)
    listed = [models] if isinstance(models, (str, Path, bytes, onnx.ModelProto, LoweredModel)) else list(models)
    loaded = []
    for i, model in enumerate(listed):
        lowered = load(model, input_shapes=input_shapes, allow_unsupported=allow_unsupported)
        name = Path(model).stem if isinstance(model, (str, Path)) and Path(model).exists() else lowered.name or f"model{i}"
        loaded.append(_sweep.SweepModel.of(name, lowered))
    job = _sweep.SweepJob(base=base, models=tuple(loaded), timing=timing)
    pool = _sweep.make_pool(executor, jobs, scheduler)
    try:
        if out is None:
            with tempfile.TemporaryDirectory(prefix="hwsim-sweep-") as tmp:
                outcome = _sweep.run_sweep(space, job, Path(tmp), pool=pool, on_progress=on_progress)
        else:
            outcome = _sweep.run_sweep(space, job, Path(out), pool=pool, fresh=fresh, on_progress=on_progress)
    finally:
        pool.close()
    return _sweep.build_results(outcome, space, _sweep.OBJECTIVES[objective])


def verify(config: ConfigSource = None, *, m: int | None = None, k: int | None = None, n: int | None = None,
           seed: int = 0, allow_large: bool = False, model: str | Path | bytes | onnx.ModelProto | None = None,
           inputs: Mapping[str, np.ndarray | str | Path] | None = None,
           input_shapes: Mapping[str, Sequence[int]] | None = None,
           **overrides: Any) -> _rtl.CosimResult | NetworkVerification:
    """``hwsim verify``: a random ``m x k x n`` int8 GEMM through the compiler's tiles on the generated
    Verilog under Icarus, every output against the golden model and every tile's cycles against the
    timing model (``result.passed``). Defaults: ``m = 2·rows + 3``, ``k = 2·rows + 5``, ``n = cols + 3``.
    A GEMM estimated to take more than ``rtl.CONFIRM_SECONDS`` is refused unless ``allow_large``
    (``--allow-large``); one that would not fit in memory always is.

    With ``model``: the whole network on the accelerator's RTL (:func:`verify_network`)."""
    if model is not None:
        if (m, k, n) != (None, None, None):
            raise UserError("--m, --k and --n size the GEMM form of verify; a model's layers have their own shapes")
        return verify_network(model, config, inputs=inputs, seed=seed, input_shapes=input_shapes,
                              allow_large=allow_large, **overrides)
    cfg = _ws_config(config, "verify checks", overrides)
    if cfg.pes > MAX_VERIFY_PES:
        raise UserError(f"a {cfg.rows}x{cfg.cols} array is too large to simulate in Icarus (up to {MAX_VERIFY_PES} "
                        "PEs); verify a smaller instance of the same design with --rows/--cols")
    m, k, n = verify_shape(cfg, m, k, n)
    _rtl.check_verify_cost(cfg, m, k, n, confirmed=allow_large)
    return _rtl.verify(cfg, m, k, n, seed=seed)


def verify_shape(cfg: AcceleratorConfig, m: int | None = None, k: int | None = None,
                 n: int | None = None) -> tuple[int, int, int]:
    """The ``m x k x n`` of a verification, the defaults filled in: partial folds and two column tiles."""
    return m or 2 * cfg.rows + 3, k or 2 * cfg.rows + 5, n or cfg.cols + 3


#: Icarus simulates every PE; above this many a co-simulation takes too long to be useful.
MAX_VERIFY_PES = 64 * 64


def rtl(config: ConfigSource = None, *, synth: bool = False, families: Sequence[str] | None = None,
        fpga: str | None = None, pnr: bool = False, pnr_seed: int = 1, out: str | Path | None = None,
        allow_large: bool = False, model: str | Path | bytes | onnx.ModelProto | None = None,
        inputs: Mapping[str, np.ndarray | str | Path] | None = None, seed: int = 0,
        input_shapes: Mapping[str, Sequence[int]] | None = None, **overrides: Any) -> RtlDesign:
    """``hwsim rtl``: the array's Verilog, file list and manifest (and, with ``synth`` or ``families``,
    Yosys's figures in ``synth.json``); with ``out`` also written there, all files or none. An array
    estimated to take more than ``rtl.CONFIRM_SECONDS`` is refused unless ``allow_large``
    (``--allow-large``); one that would not fit in memory always is.

    ``fpga`` (a device of ``hwsim.core.fpga.DEVICES``; default the config's ``[fpga] device``)
    builds the design for that part (its family's pipeline depths, docs/rtl.md#pipeline) and adds
    the family's form of the Verilog, the place-and-route harness and its constraints
    (docs/fpga.md); ``pnr`` also synthesizes, places and routes it at the config's clock (placement
    ``pnr_seed``) and adds ``timing.json``.

    With ``model``: the whole accelerator for the config (``rtl.Accelerator``) and the network's
    program: ``<module>.v``, ``files.f``, ``program.bin`` (the command banks), ``dram.bin`` (the
    whole DRAM image, program included, loaded at address 0), ``memory.json`` (the memory map, boot
    registers and layers) and ``manifest.json`` (config and file hashes); docs/accelerator.md."""
    if model is not None:
        if synth or families:
            raise UserError("--synth applies to the array alone; synthesize the accelerator's Verilog with your own flow")
        if fpga is not None or pnr:
            raise UserError("--fpga and --pnr apply to the array alone (no MODEL); place and route the "
                            "accelerator's Verilog with your own flow")
        with OutputSet() as outputs:
            if out is not None:
                outputs.check_dir(out)
            design = _accelerator_design(model, config, inputs, seed, input_shapes, overrides)
            if out is not None:
                design.stage(outputs, out)
                outputs.commit()
        return design
    with OutputSet() as outputs:
        if out is not None:
            outputs.check_dir(out)  # a bad folder fails before the work, not after it
        if fpga is not None:
            if fpga not in DEVICES:
                raise UserError(f"--fpga {shown(repr(fpga), 40)}: not a device hwsim places and routes for; "
                                f"use one of {', '.join(DEVICES)}")
            overrides = {**overrides, "fpga": fpga}
        cfg = _ws_config(config, "rtl generates", overrides)
        fpga = cfg.fpga  # --fpga, else the config's [fpga] device
        if pnr and fpga is None:
            raise UserError(f"--pnr: needs --fpga DEVICE to place and route for (one of {', '.join(DEVICES)}), "
                            "or a config with [fpga] device")
        synth = bool(synth or families)
        names = list(families or ["xilinx"])
        _rtl.check_rtl_cost(cfg, synth=synth, families=len(set(names)), confirmed=allow_large)
        files: dict[str, bytes] = {f"{cfg.module_name}.v": _rtl.generate_verilog(cfg).encode(),
                                   "files.f": f"{cfg.module_name}.v\n".encode(),
                                   _rtl.WAIVER_FILE: _rtl.LINT_WAIVERS.encode()}
        result = None
        if synth:
            result = _rtl.synthesize(cfg, names)
            files["synth.json"] = json_text(result.to_dict(), what="the synthesis figures").encode()
        timing = None
        if fpga is not None:
            files |= _rtl.fpga_files(cfg, fpga)
            if pnr:
                timing, pnr_files, _ = _rtl.place_and_route(cfg, fpga, seed=pnr_seed)
                files |= pnr_files
        files["manifest.json"] = json_text(_rtl.manifest(cfg, files), what="the manifest").encode()
        design = RtlDesign(cfg, files, result, timing=timing)
        if out is not None:
            design.stage(outputs, out)
            outputs.commit()
    return design


def _ws_config(config: ConfigSource, what: str, overrides: Mapping[str, Any]) -> AcceleratorConfig:
    cfg, _ = resolve_config(config, **overrides)
    if cfg.dataflow != "ws":
        raise UserError(f"hwsim {what} weight-stationary arrays only; the config has dataflow "
                        f"{cfg.dataflow!r} (use a ws preset or dataflow = \"ws\")")
    return cfg



# ------------------------------------------------------------------- the accelerator and a network

@dataclass(frozen=True)
class LayerCheck:
    """One layer of a network verification: its cycles on the RTL and in the replay model (end of
    its last STORE minus the previous layer's end), and its output codes that differ from
    ``hwsim run --precision int8`` (a fused pool's input included)."""

    name: str
    rtl_cycles: int
    model_cycles: int
    mismatches: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rtl_cycles": self.rtl_cycles, "model_cycles": self.model_cycles,
                "mismatches": self.mismatches}


@dataclass(frozen=True)
class NetworkVerification:
    """``hwsim verify MODEL.onnx``: every layer and every performance counter of the RTL run
    against the int8 run and the replay model (:mod:`hwsim.replay`)."""

    config: AcceleratorConfig
    layers: tuple[LayerCheck, ...]
    rtl_counters: Mapping[str, int]
    model_counters: Mapping[str, int]
    timed_out: bool
    error: bool
    sim_cycles: int
    #: The simulation process's wall time, and the CPU time of the Python bench inside it (the rest is Icarus).
    sim_seconds: float
    bench_cpu_seconds: float = 0.0

    @property
    def rtl_cycles(self) -> int:
        return self.rtl_counters["CYCLES"]

    @property
    def model_cycles(self) -> int:
        return self.model_counters["CYCLES"]

    @property
    def mismatches(self) -> int:
        return sum(layer.mismatches for layer in self.layers)

    @property
    def counters_equal(self) -> bool:
        return all(self.rtl_counters.get(k) == v for k, v in self.model_counters.items())

    @property
    def passed(self) -> bool:
        return (not self.timed_out and not self.error and self.counters_equal and self.mismatches == 0
                and all(layer.rtl_cycles == layer.model_cycles for layer in self.layers))

    def to_dict(self) -> dict[str, Any]:
        """The ``hwsim verify MODEL.onnx --json`` object."""
        return {"passed": self.passed, "rtl_cycles": self.rtl_cycles, "model_cycles": self.model_cycles,
                "layers": [layer.to_dict() for layer in self.layers],
                "counters": {"rtl": dict(self.rtl_counters), "model": dict(self.model_counters)},
                "timed_out": self.timed_out, "error": self.error, "config": self.config.to_dict()}


def accelerator_image(model: str | Path | bytes | onnx.ModelProto, config: ConfigSource = None, *,
                      inputs: Mapping[str, np.ndarray | str | Path] | None = None, seed: int = 0,
                      input_shapes: Mapping[str, Sequence[int]] | None = None, **overrides: Any
                      ) -> tuple[AcceleratorConfig, _execute.DramImage, _execute.RunResult]:
    """The network's accelerator program and DRAM image for the config (one the RTL implements:
    :func:`hwsim.core.isa.check_config`), and the int8 run it reproduces. Inputs not given are
    seeded standard-normal values (:func:`hwsim.execute.default_inputs`); the int8 scales are
    calibrated on the inputs, as ``hwsim run --precision int8`` does."""
    cfg, _ = resolve_config(config, **overrides)
    isa.check_config(cfg)
    source = _source(model)
    given = {name: _execute.load_array(v, f"--input {name}") if isinstance(v, (str, Path)) else np.asarray(v)
             for name, v in (inputs or {}).items()}
    given = _execute.default_inputs(source, given, seed)
    shapes = {k: tuple(int(d) for d in v) for k, v in (input_shapes or {}).items()}
    pins = _execute.input_pins(source, given, shapes)
    compiled = _execute.compile_for_run(source, cfg, input_shapes=pins, input_values=_execute.shape_like(given))
    image, result = _execute.accelerator_image(compiled, given)
    return cfg, image, result


def _accelerator_design(model, config, inputs, seed, input_shapes, overrides) -> RtlDesign:
    cfg, image, _ = accelerator_image(model, config, inputs=inputs, seed=seed, input_shapes=input_shapes, **overrides)
    top = _rtl.accelerator_params(cfg).module_name
    memory = image.program.memory.to_dict()
    memory["layers"] = [{"name": layer.name, "kind": layer.kind, "reads": layer.reads, "output": layer.output}
                        for layer in image.program.layers]
    files: dict[str, bytes] = {f"{top}.v": _rtl.generate_accelerator_verilog(cfg).encode(),
                               "files.f": f"{top}.v\n".encode(), "program.bin": image.program_bytes,
                               "dram.bin": image.dram,
                               "memory.json": json_text(memory, what="the memory map").encode()}
    hashes = {name: {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)} for name, blob in files.items()}
    manifest = {"generator": f"hwsim {hwsim_version}", "module": top, "config": cfg.to_dict(),
                "boot": {"BOOT_ADDR": image.program.memory.boot_addr, "BOOT_COUNT": image.program.memory.boot_count},
                "files": hashes}
    files["manifest.json"] = json_text(manifest, what="the manifest").encode()
    return RtlDesign(cfg, files, None, top)


def verify_network(model: str | Path | bytes | onnx.ModelProto, config: ConfigSource = None, *,
                   inputs: Mapping[str, np.ndarray | str | Path] | None = None, seed: int = 0,
                   input_shapes: Mapping[str, Sequence[int]] | None = None, allow_large: bool = False,
                   memory: isa.MemoryTiming | None = None, **overrides: Any) -> NetworkVerification:
    """The whole network on the accelerator's RTL under Icarus (cocotb bench, DRAM = ``TimedAxiRam``
    with the config's latency and bandwidth, or ``memory``): each layer's int8 outputs against
    ``hwsim run --precision int8``, each layer's cycles and every counter against the replay model."""
    cfg, image, result = accelerator_image(model, config, inputs=inputs, seed=seed, input_shapes=input_shapes,
                                           **overrides)
    mem = image.program.memory
    timing = memory or isa.MemoryTiming.of(cfg)
    predicted = _replay.replay(cfg, image.dram, boot_addr=mem.boot_addr, boot_count=mem.boot_count, memory=timing)
    _rtl.check_accelerator_cost(cfg, predicted.cycles, confirmed=allow_large)
    with tempfile.TemporaryDirectory(prefix="hwsim-verify-") as tmp:
        sim = _rtl.AccelSimulator(cfg, tmp)
        ran = sim.run(image.dram, boot_addr=mem.boot_addr, boot_count=mem.boot_count, memory=timing,
                      max_cycles=2 * predicted.cycles + 1000)
    got = _execute.layer_outputs(image.program, ran.dram)
    want = _execute.expected_outputs(image.program, result)
    rtl_layers = ran.layer_cycles + (-1,) * (len(image.program.layers) - len(ran.layer_cycles))
    layers = tuple(LayerCheck(layer.name, rtl_layers[i], predicted.layer_cycles[i],
                              sum(int(np.count_nonzero(got[layer.name][t] != w)) for t, w in want[layer.name].items()))
                   for i, layer in enumerate(image.program.layers))
    return NetworkVerification(cfg, layers, dict(ran.counters), predicted.counters(), ran.timed_out, ran.error,
                               ran.sim_cycles, ran.process_s, ran.bench_cpu_s)


def replay_report(model: ModelSource, config: ConfigSource = None, *,
                  input_shapes: Mapping[str, Sequence[int]] | None = None,
                  input_values: Mapping[str, Sequence[float]] | None = None, **overrides: Any) -> Report:
    """``hwsim estimate --timing replay``: the network's command program (no weights needed) timed
    by the replay model, in the estimate's report. Each layer the accelerator runs gets its cycles
    from the replay (its last STORE's done cycle minus the previous layer's; docs/accelerator.md),
    split into ``compute`` (the array's tile cycles, :func:`hwsim.core.timing.tile_cycles`, at most
    the layer's cycles) and ``stall`` (the rest: DMA waits, each command's fixed cycles, tokens), and
    its DRAM bytes from the LOADs and STOREs the code generator emitted (command banks, program
    overhead, are in no layer); energy follows. Views stay free; every other field is the program's."""
    cfg, _ = resolve_config(config, **overrides)
    isa.check_config(cfg)
    if isinstance(model, (str, Path)) and str(model).lower().endswith(".csv"):
        raise UserError(f"{shown(model)}: --timing replay compiles the network for the accelerator; give an ONNX model")
    if isinstance(model, LoweredModel):
        raise UserError("--timing replay needs the model's graph (a path, bytes or onnx.ModelProto), not workloads")
    shapes = {k: tuple(int(d) for d in v) for k, v in (input_shapes or {}).items()}
    values = {k: np.asarray(v) for k, v in (input_values or {}).items()}
    graph = compiler.compile_graph(_source(model), input_shapes=shapes or None, input_values=values or None)
    lowered = compiler.lower(graph)
    program = compiler.schedule_model(lowered, cfg)
    accel = _codegen(graph, program)
    banks = sorted(accel.images())

    def read(addr: int, n: int) -> bytes:
        for base, blob in banks:  # the replay reads only command banks
            if base <= addr and addr + n <= base + len(blob):
                return blob[addr - base: addr - base + n]
        raise UserError(f"the program reads DRAM {addr:#x} outside its command banks")

    timed = _replay.replay(cfg, read, boot_addr=accel.memory.boot_addr, boot_count=accel.memory.boot_count)
    estimate = simulate(program)
    by_name = {code.name: (code, cycles) for code, cycles in zip(accel.layers, timed.layer_cycles)}
    schedules = {s.workload.name: s for s in program.layers}
    layers = []
    for layer in estimate.layers:
        if layer.name not in by_name:
            layers.append(layer)
            continue
        code, cycles = by_name[layer.name]
        compute = min(layer.compute_cycles, cycles)
        moved = code.bytes
        s = schedules[layer.name]
        traffic = replace(s.traffic, dram_read_ifmap=moved.input + moved.residual + moved.pool_input,
                          dram_read_filter=moved.weights, dram_write_ofmap=moved.written)
        energy = layer_energy(cfg, layer.macs, s.workload.vector_ops, traffic, cycles)
        layers.append(replace(layer, compute_cycles=compute, stall_cycles=cycles - compute,
                              dram_read_bytes=moved.read, dram_write_bytes=moved.written, energy=energy))
    name = model if isinstance(model, str) and model in compiler.zoo.MODELS and not Path(model).exists() else None
    report = replace(estimate, layers=tuple(layers), timing="replay", model=name or estimate.model)
    return Report.of(report)

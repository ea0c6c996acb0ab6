"""Reading and checking the arrays a run is given: every problem is a one-line UserError."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from compiler.graph import Graph
from compiler.importer import named_arguments
from hwsim.core.errors import UserError

__all__ = ["load_array", "parse_input_args", "check_inputs", "calibration_samples", "npz_bytes"]


def _dims(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def load_array(path: str | Path, what: str) -> np.ndarray:
    """One array from a ``.npy`` file (no pickled objects)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{what}: {p}: no such file" + ("" if not p.is_dir() else " (it is a directory)"))
    try:
        value = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        reason = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        if "allow_pickle" in reason:
            raise UserError(f"{what}: {p}: holds Python objects (an array of dtype object, e.g. strings), which only"
                            " pickle can read; save strings as a fixed-width text array instead:"
                            " numpy.save(path, numpy.array(values, dtype=str))") from None
        raise UserError(f"{what}: {p}: not a readable .npy array ({reason}); save it with numpy.save") from None
    if isinstance(value, np.lib.npyio.NpzFile):
        value.close()
        raise UserError(f"{what}: {p}: is an .npz archive; give one array per input as a .npy file")
    return value


def parse_input_args(texts: Sequence[str]) -> dict[str, np.ndarray]:
    """``NAME=FILE.npy`` command-line values to arrays; each name at most once."""
    pairs = named_arguments(texts, "--input", "NAME=FILE.npy", "e.g. --input input=image.npy")
    return {name: load_array(path, f"--input {name}") for name, path in pairs}


def check_inputs(graph: Graph, given: Mapping[str, np.ndarray], where: str = "--input") -> dict[str, np.ndarray]:
    """The graph's inputs from ``given``, exactly typed and shaped, or a UserError naming the first problem."""
    expected = {name: graph.info(name) for name in graph.inputs}
    unknown = [n for n in given if n not in expected]
    if unknown:
        raise UserError(
            f"{where}: the model has no input '{unknown[0]}'; its inputs are: {', '.join(expected) or '(none)'}"
        )
    missing = [n for n in expected if n not in given]
    if missing:
        shown = ", ".join(f"{n} ({expected[n].dtype} {_dims(expected[n].shape)})" for n in missing)
        raise UserError(f"missing input{'s' if len(missing) > 1 else ''} {shown}; give each as {where} NAME=FILE.npy")
    out = {}
    for name, info in expected.items():
        value = np.asarray(given[name])
        if np.dtype(info.dtype) == np.dtype(object) and value.dtype.kind in "US":
            value = value.astype(object)  # ONNX strings: .npy holds them as fixed-width text
        if value.dtype != np.dtype(info.dtype):
            if np.dtype(info.dtype) == np.dtype(object):
                raise UserError(f"{where} {name}: expected strings, got {value.dtype}; save the input as a text"
                                " array: numpy.array(values, dtype=str)")
            raise UserError(f"{where} {name}: expected dtype {info.dtype}, got {value.dtype}; convert it with"
                            f" .astype(numpy.{np.dtype(info.dtype).name})")
        if tuple(value.shape) != tuple(info.shape):
            raise UserError(
                f"{where} {name}: expected shape {_dims(info.shape)}, got {_dims(value.shape)}"
                " (pin dynamic dims with --input-shape NAME=DIMS)"
            )
        out[name] = value
    return out


def calibration_samples(directory: str | Path, input_names: Sequence[str]) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Calibration samples ``(file, arrays)`` from a folder, in file-name order.

    Each ``.npz`` file holds one sample with one array per model input (keyed by input name); for a
    model with a single input, each ``.npy`` file is one sample of it.
    """
    d = Path(directory)
    if not d.is_dir():
        raise UserError(f"--calibrate {d}: not a folder; give a folder of .npy (single-input models) or .npz files")
    samples = []
    for path in sorted(d.iterdir()):
        if path.suffix == ".npz":
            samples.append((str(path), _load_npz(path)))
        elif path.suffix == ".npy":
            if len(input_names) != 1:
                raise UserError(
                    f"--calibrate {path}: a .npy file holds one array, but the model has {len(input_names)} inputs;"
                    f" save each sample as an .npz with keys {', '.join(input_names)}"
                )
            samples.append((str(path), {input_names[0]: load_array(path, "--calibrate")}))
    if not samples:
        raise UserError(f"--calibrate {d}: no .npy or .npz files in the folder")
    return samples


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"--calibrate {path}: not a readable .npz archive ({e.__class__.__name__})") from None


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """The bytes of an uncompressed ``.npz`` holding ``arrays`` (deterministic: fixed zip timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, value in arrays.items():
            # numpy.savez stamps the current time into the archive; a fixed stamp keeps runs byte-identical.
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()

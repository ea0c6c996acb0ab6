"""Reading and checking the arrays a run is given: every problem is a one-line UserError."""

from __future__ import annotations

import io
import math
import os
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from compiler.graph import Graph
from compiler.importer import named_arguments
from hwsim.core.errors import UserError, shown
from hwsim.core.files import os_error
from hwsim.core.limits import check_memory

__all__ = ["load_array", "parse_input_args", "check_inputs", "calibration_samples", "npz_bytes"]


def _dims(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def _check_header(p: Path, what: str) -> None:
    """Read the ``.npy`` header alone and refuse, before any allocation, an array the file cannot hold
    (truncated, or a header declaring terabytes) or this machine cannot (more than the memory available)."""
    with open(p, "rb") as f:
        start = f.read(6)
        if start[:4] == b"PK\x03\x04":
            raise UserError(f"{what}: {shown(p)}: is an .npz archive; give one array per input as a .npy file")
        f.seek(0)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            shape, _, dtype = np.lib.format._read_array_header(f, version)  # 3.0: no public reader
        offset = f.tell()
        size = os.fstat(f.fileno()).st_size
    if dtype.hasobject:
        raise UserError(f"{what}: {shown(p)}: holds Python objects (dtype object), which need pickle; save strings "
                        "as text: numpy.save(path, numpy.array(values, dtype=str))")
    nbytes = math.prod(shape) * dtype.itemsize
    check_memory(nbytes, f"{what}: {shown(p)}: its {_dims(shape)} {dtype} array", "give a smaller array")
    if size - offset < nbytes:
        raise UserError(f"{what}: {shown(p)}: truncated: its header declares {_dims(shape)} {dtype} "
                        f"({nbytes} bytes), the file holds {max(0, size - offset)}; save it again with numpy.save")


def load_array(path: str | Path, what: str) -> np.ndarray:
    """One array from a ``.npy`` file (no pickled objects); the header is checked before the data is read."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{what}: {shown(p)}: no such file" + ("" if not p.is_dir() else " (it is a directory)"))
    try:
        _check_header(p, what)
        value = np.load(p, allow_pickle=False)
    except UserError:
        raise
    except MemoryError:
        raise UserError(f"{what}: {shown(p)}: the array does not fit in memory") from None
    except OSError as e:
        err = os_error(e, p, "read the array")
        if isinstance(err, UserError):
            raise err from None
        raise UserError(f"{what}: {shown(p)}: cannot read it ({e.strerror or e.__class__.__name__})") from None
    except Exception as e:  # a malformed header: numpy raises ValueError, SyntaxError, TokenError, TypeError ...
        reason = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise UserError(f"{what}: {shown(p)}: not a readable .npy array ({shown(reason, 60)}); "
                        "save it with numpy.save") from None
    if isinstance(value, np.lib.npyio.NpzFile):
        value.close()
        raise UserError(f"{what}: {shown(p)}: is an .npz archive; give one array per input as a .npy file")
    return value


def parse_input_args(texts: Sequence[str]) -> dict[str, np.ndarray]:
    """``NAME=FILE.npy`` command-line values to arrays; each name at most once."""
    pairs = named_arguments(texts, "--input", "NAME=FILE.npy", "e.g. --input input=image.npy")
    return {name: load_array(path, f"--input {shown(name, 40)}") for name, path in pairs}


def check_inputs(graph: Graph, given: Mapping[str, np.ndarray], where: str = "--input") -> dict[str, np.ndarray]:
    """The graph's inputs from ``given``, exactly typed and shaped, or a UserError naming the first problem."""
    expected = {name: graph.info(name) for name in graph.inputs}
    unknown = [n for n in given if n not in expected]
    if unknown:
        raise UserError(
            f"{where}: the model has no input '{shown(unknown[0], 40)}'; its inputs are: "
            f"{shown(', '.join(expected) or '(none)', 80)}"
        )
    missing = [n for n in expected if n not in given]
    if missing:
        listed = ", ".join(f"{n} ({expected[n].dtype} {_dims(expected[n].shape)})" for n in missing)
        raise UserError(f"missing input{'s' if len(missing) > 1 else ''} {shown(listed, 100)}; give each as {where}"
                        " NAME=FILE.npy")
    out = {}
    for name, info in expected.items():
        value = np.asarray(given[name])
        if np.dtype(info.dtype) == np.dtype(object) and value.dtype.kind in "US":
            value = value.astype(object)  # ONNX strings: .npy holds them as fixed-width text
        if value.dtype != np.dtype(info.dtype):
            if np.dtype(info.dtype) == np.dtype(object):
                raise UserError(f"{where} {shown(name, 40)}: expected strings, got {value.dtype}; save the input as a text"
                                " array: numpy.array(values, dtype=str)")
            raise UserError(f"{where} {shown(name, 40)}: expected dtype {info.dtype}, got {value.dtype}; convert it with"
                            f" .astype(numpy.{np.dtype(info.dtype).name})")
        if tuple(value.shape) != tuple(info.shape):
            raise UserError(
                f"{where} {shown(name, 40)}: expected shape {_dims(info.shape)}, got {_dims(value.shape)}"
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
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
        check_memory(declared, f"--calibrate {shown(path)}: its arrays", "give smaller samples")
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except UserError:
        raise
    except MemoryError:
        raise UserError(f"--calibrate {shown(path)}: the arrays do not fit in memory") from None
    except Exception as e:  # noqa: BLE001 - numpy and zipfile raise many kinds on a corrupt archive
        raise UserError(f"--calibrate {shown(path)}: not a readable .npz archive ({e.__class__.__name__})") from None


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

"""Hostile ``.npy`` (and ``.npz``) inputs for ``hwsim run``.

Each case runs a small model with weights (Conv+Relu, input ``x`` float32 1x3x8x8) on one hostile
array: headers that declare huge or negative shapes, object dtypes with a pickle, Python
expressions or deep nesting in the header, truncated or trailing data, wrong dtypes (float64,
int8, bool, complex, strings, structured, datetime, big-endian), NaN/Inf values, zero-size and
scalar arrays, wrong shapes, and files that are not .npy at all (empty, text, an .npz, a pickle).
Some cases put the hostile file in a ``--calibrate`` folder instead. Deterministic from the seed.
"""

from __future__ import annotations

import io
import pickle
import random
import struct
import zipfile

import numpy as np

try:
    from .harness import Case
    from . import mutate
except ImportError:
    from harness import Case
    import mutate

__all__ = ["raw_npy", "hostile_npy", "npy_case", "VARIANTS"]

GOOD_SHAPE = (1, 3, 8, 8)


def raw_npy(header: str | bytes, data: bytes = b"", version: tuple[int, int] = (1, 0), pad: bool = True,
            declared_len: int | None = None) -> bytes:
    """An .npy file with exactly this header text (a Python dict literal, not checked) and data."""
    h = header.encode("latin-1" if version[0] < 3 else "utf-8") if isinstance(header, str) else header
    fmt = "<H" if version[0] == 1 else "<I"
    prefix = 6 + 2 + struct.calcsize(fmt)
    if pad:
        total = prefix + len(h) + 1
        h = h + b" " * ((64 - total % 64) % 64) + b"\n"
    n = len(h) if declared_len is None else declared_len
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, n) + h + data


def _hdr(descr: str = "'<f4'", fortran: str = "False", shape: str = "(1, 3, 8, 8)", extra: str = "") -> str:
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, %s}" % (descr, fortran, shape, extra)


def _good(rng: np.random.Generator, dtype="float32", shape=GOOD_SHAPE) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def _save(a: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _data(n_floats: int, rng: random.Random) -> bytes:
    return np.random.default_rng(rng.randrange(1 << 30)).standard_normal(n_floats).astype("<f4").tobytes()


# Each variant: (name, builder(rng) -> (bytes, nonfinite))
def _v_huge(rng):
    shape = rng.choice(["(1000000000000,)", "(1099511627776, 4)", "(1, 3, 100000, 100000)", "(4611686018427387904,)",
                        "(1, 3, 46341, 46341)", "(9223372036854775807,)", "(2, 2**70)"])
    return raw_npy(_hdr(shape=shape), _data(192, rng)), False


def _v_negative(rng):
    return raw_npy(_hdr(shape=rng.choice(["(-1, 3, 8, 8)", "(1, 3, 8, -8)", "(-9223372036854775808,)"])),
                   _data(192, rng)), False


def _v_object(rng):
    payload = pickle.dumps([1, 2, 3], protocol=2)
    if rng.random() < 0.5:
        return raw_npy(_hdr(descr="'|O'", shape="(3,)"), payload), False
    return _save(np.array([{"a": 1}, None], dtype=object), allow_pickle=True), False


def _v_expression(rng):
    shape = rng.choice(["(1+1,)", "(10**10,)", "(__import__('os').getpid(),)", "(True, 3, 8, 8)", "(1.5, 3, 8, 8)",
                        "(1, 3, 8, 8) if 1 else ()", "[1, 3, 8, 8]", "None", "'1x3x8x8'", "(1e400,)", "(0x1, 3, 8, 8)",
                        "(" * 150 + "1," + ")" * 150, "(1, 3, 8, 8, *range(3))", "{1, 3, 8, 8}", "(1_0,)"])
    return raw_npy(_hdr(shape=shape), _data(192, rng)), False


def _v_header_junk(rng):
    r = rng.randrange(10)
    if r == 0:
        return raw_npy("[1, 2, 3]", _data(192, rng)), False
    if r == 1:
        return raw_npy(_hdr(fortran="'yes'"), _data(192, rng)), False
    if r == 2:
        return raw_npy("{'descr': '<f4', 'shape': (1, 3, 8, 8)}", _data(192, rng)), False
    if r == 3:
        return raw_npy(_hdr(extra="'evil': 1, "), _data(192, rng)), False
    if r == 4:
        return raw_npy(_hdr() + "\x00\x1b[31m", _data(192, rng)), False
    if r == 5:
        return raw_npy(_hdr(shape="(1, 3, 8, 8)") + " " * 20000, _data(192, rng), version=(2, 0)), False
    if r == 6:
        return raw_npy(_hdr(descr="'\u00e9'"), _data(192, rng), version=(3, 0)), False
    if r == 7:
        return raw_npy(_hdr(), _data(192, rng), declared_len=60000), False
    if r == 8:
        return raw_npy(_hdr(), _data(192, rng), version=(9, 9)), False
    return raw_npy(_hdr(), _data(192, rng), pad=False), False


def _v_truncated(rng):
    full = _save(_good(np.random.default_rng(rng.randrange(1 << 30))))
    cut = rng.choice([len(full) - 1, len(full) - 100, 128, 10, 6, 0, len(full) - 768 + 1])
    return full[:max(0, cut)], False


def _v_trailing(rng):
    return _save(_good(np.random.default_rng(rng.randrange(1 << 30)))) + b"\x00" * rng.choice([1, 4, 4096]), False


def _v_dtype(rng):
    r = rng.randrange(13)
    g = np.random.default_rng(rng.randrange(1 << 30))
    arrays = [
        lambda: _good(g, "float64"), lambda: _good(g, "float16"), lambda: (g.standard_normal(GOOD_SHAPE) * 50).astype(np.int8),
        lambda: g.standard_normal(GOOD_SHAPE) > 0, lambda: _good(g).astype(np.complex64),
        lambda: np.full(GOOD_SHAPE, "abc", dtype="<U5"), lambda: np.zeros(GOOD_SHAPE, dtype=[("a", "<f4")]),
        lambda: np.zeros(GOOD_SHAPE, dtype="M8[ns]"), lambda: _good(g).astype(">f4"),
        lambda: np.zeros(GOOD_SHAPE, dtype="V4"), lambda: _good(g).astype(np.uint8),
        lambda: np.full(GOOD_SHAPE, b"x", dtype="S1"), lambda: np.asfortranarray(_good(g)),
    ]
    return _save(arrays[r]()), False


def _v_nonfinite(rng):
    g = np.random.default_rng(rng.randrange(1 << 30))
    a = _good(g)
    r = rng.randrange(6)
    if r == 0:
        a[:] = np.nan
    elif r == 1:
        a.reshape(-1)[rng.randrange(a.size)] = np.nan
    elif r == 2:
        a[:] = np.inf
    elif r == 3:
        a.reshape(-1)[0] = -np.inf
    elif r == 4:
        a[:] = np.float32(3.4e38)
        return _save(a), False   # finite, but extreme
    else:
        a[:] = np.float32(1e-45)
        return _save(a), False
    return _save(a), True


def _v_size(rng):
    shape = rng.choice([(0, 3, 8, 8), (1, 3, 0, 0), (), (1,), (1, 3, 8, 9), (3, 8, 8), (1, 1, 3, 8, 8), (2, 3, 8, 8),
                        (1, 3, 64, 64), (1, 3, 1, 1)])
    g = np.random.default_rng(rng.randrange(1 << 30))
    return _save(g.standard_normal(shape).astype(np.float32)), False


def _v_not_npy(rng):
    r = rng.randrange(8)
    if r == 0:
        return b"", False
    if r == 1:
        return b"1.0 2.0 3.0\n", False
    if r == 2:
        buf = io.BytesIO()
        np.savez(buf, x=_good(np.random.default_rng(0)))
        return buf.getvalue(), False
    if r == 3:
        return pickle.dumps(_good(np.random.default_rng(0))), False
    if r == 4:
        return b"\x93NUMP", False
    if r == 5:
        return b"\x93NUMPY\x01\x00", False
    if r == 6:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("x.npy", b"garbage")
        return buf.getvalue(), False
    return bytes(rng.randrange(256) for _ in range(300)), False


VARIANTS = {"huge-shape": _v_huge, "negative-shape": _v_negative, "object-pickle": _v_object,
            "expression": _v_expression, "header-junk": _v_header_junk, "truncated": _v_truncated,
            "trailing": _v_trailing, "dtype": _v_dtype, "nonfinite": _v_nonfinite, "size": _v_size,
            "not-npy": _v_not_npy}
_WEIGHTS = {"huge-shape": 10, "negative-shape": 5, "object-pickle": 5, "expression": 10, "header-junk": 10,
            "truncated": 8, "trailing": 3, "dtype": 10, "nonfinite": 14, "size": 8, "not-npy": 7}


def hostile_npy(rng: random.Random, variant: str | None = None) -> tuple[bytes, str, bool]:
    names = sorted(VARIANTS)
    variant = variant or rng.choices(names, [_WEIGHTS[n] for n in names])[0]
    data, nonfinite = VARIANTS[variant](rng)
    return data, variant, nonfinite


def npy_case(seed: int, variant: str | None = None) -> Case:
    rng = random.Random(f"npy:{seed}")
    data, name, nonfinite = hostile_npy(rng, variant)
    files = {"m.onnx": mutate.conv_relu().SerializeToString(), "bad.npy": data}
    int8 = rng.random() < 0.5 or nonfinite and rng.random() < 0.8
    r = rng.random()
    if r < 0.8:
        argv = ["run", "m.onnx", "--input", "x=bad.npy", "--output", "o.npz"]
        where = "--input"
    else:
        files["good.npy"] = _save(_good(np.random.default_rng(seed)))
        files["cal/bad.npy" if rng.random() < 0.7 else "cal/bad.npz"] = data
        argv = ["run", "m.onnx", "--input", "x=good.npy", "--calibrate", "cal", "--output", "o.npz"]
        int8 = True
        where = "--calibrate"
    if int8:
        argv += ["--precision", "int8", "--report", "r.json"]
    if rng.random() < 0.1:
        argv += ["--input-shape", rng.choice(["x=1x3x8x8", "x=2x3x8x8", "x=1x3x0x8"])]
    return Case("npy", seed, f"{name} via {where}", argv, files, nonfinite_input=nonfinite, timeout=60,
                meta={"family": name})

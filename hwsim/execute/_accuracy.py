"""How far a quantized run's outputs are from the fp32 run's: the error report of ``hwsim run``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from hwsim.core.errors import shown

__all__ = ["OutputError", "compare_outputs", "format_errors"]


@dataclass(frozen=True)
class OutputError:
    """One output's error against the fp32 reference.

    ``snr_db`` is 10·log10(Σ ref² / Σ (ref − out)²) (``inf`` when identical); ``top1_agreement`` is
    the fraction of rows whose arg-max class agrees, for classifier-shaped outputs (``N x classes``
    after dropping trailing unit dimensions), else ``None``.
    """

    name: str
    max_abs_error: float
    snr_db: float
    top1_agreement: float | None
    reference_max_abs: float

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "max_abs_error": self.max_abs_error,
            "snr_db": None if math.isinf(self.snr_db) else self.snr_db,
            "top1_agreement": self.top1_agreement,
            "reference_max_abs": self.reference_max_abs,
        }


def _classes(x: np.ndarray) -> np.ndarray | None:
    shape = list(x.shape)
    while len(shape) > 2 and shape[-1] == 1:
        shape.pop()
    if len(shape) != 2 or shape[1] < 2:
        return None
    return x.reshape(shape)


def compare_outputs(reference: Mapping[str, np.ndarray], test: Mapping[str, np.ndarray]) -> tuple[OutputError, ...]:
    """Per-output error of ``test`` against ``reference``, in ``reference``'s order.

    >>> e, = compare_outputs({"y": np.array([[1.0, 3.0]])}, {"y": np.array([[1.0, 2.9]])})
    >>> round(e.max_abs_error, 6), round(e.snr_db, 2), e.top1_agreement
    (0.1, 30.0, 1.0)
    """
    out = []
    for name, ref in reference.items():
        r = np.asarray(ref, dtype=np.float64)
        t = np.asarray(test[name], dtype=np.float64)
        diff = r - t
        noise = float(np.sum(diff * diff))
        signal = float(np.sum(r * r))
        if noise == 0:
            snr = math.inf
        elif signal == 0:
            snr = -math.inf
        else:
            snr = 10 * math.log10(signal / noise)
        top1 = None
        rc, tc = _classes(r), _classes(t)
        if rc is not None and tc is not None:
            top1 = float(np.mean(rc.argmax(axis=1) == tc.argmax(axis=1)))
        out.append(
            OutputError(
                name=name,
                max_abs_error=float(np.max(np.abs(diff))) if diff.size else 0.0,
                snr_db=snr,
                top1_agreement=top1,
                reference_max_abs=float(np.max(np.abs(r))) if r.size else 0.0,
            )
        )
    return tuple(out)


def format_errors(errors: tuple[OutputError, ...]) -> str:
    """A small table: one line per output."""
    lines = [f"{'output':<24} {'max |err|':>12} {'ref max |x|':>12} {'SNR dB':>8} {'top-1':>7}"]
    for e in errors:
        snr = "inf" if math.isinf(e.snr_db) and e.snr_db > 0 else f"{e.snr_db:.1f}"
        top1 = "-" if e.top1_agreement is None else f"{100 * e.top1_agreement:.1f}%"
        lines.append(f"{shown(e.name, 60):<24} {e.max_abs_error:>12.4g} {e.reference_max_abs:>12.4g} {snr:>8} {top1:>7}")
    return "\n".join(lines) + "\n"

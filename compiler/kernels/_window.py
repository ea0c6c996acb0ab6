"""Sliding windows over N-d feature maps, shared by convolution (im2col) and pooling.

Windows are visited one kernel offset at a time: for each offset, the taps of every window at that
offset form one strided view of the padded input, shaped like the output. A few vectorized passes
(one per kernel element) are much faster than reducing a 2·rank-dimensional window view.
"""

from __future__ import annotations

import itertools
from typing import Iterator, Sequence

import numpy as np

__all__ = ["spatial_pads", "padded", "taps"]


def spatial_pads(
    auto_pad: str,
    pads: Sequence[int] | None,
    in_size: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(begin pads, end pads) of Conv and pooling, from ``pads`` or ``auto_pad``.

    >>> spatial_pads("SAME_UPPER", None, (5,), (2,), (1,), (1,))
    ((0,), (1,))
    >>> spatial_pads("SAME_LOWER", None, (5,), (2,), (1,), (1,))
    ((1,), (0,))
    """
    rank = len(in_size)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for size, k, s, d in zip(in_size, kernel, strides, dilations):
            out = -(-size // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
            small, large = total // 2, total - total // 2
            begin.append(small if auto_pad == "SAME_UPPER" else large)
            end.append(large if auto_pad == "SAME_UPPER" else small)
        return tuple(begin), tuple(end)
    if auto_pad == "VALID" or not pads:
        return (0,) * rank, (0,) * rank
    return tuple(pads[:rank]), tuple(pads[rank:])


def padded(
    x: np.ndarray,
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads_begin: Sequence[int],
    pads_end: Sequence[int],
    out_size: Sequence[int],
    fill: float | int = 0,
) -> np.ndarray:
    """``x`` (``N, C, *spatial``) padded with ``fill`` so that every one of ``out_size`` windows fits.

    Beyond the given pads it extends the end when ``out_size`` asks for windows that reach past them
    (pooling with ``ceil_mode``); callers that must not count those cells mask them themselves.
    """
    extra = [
        max(0, (o - 1) * s + (k - 1) * d + 1 - (size + b + e))
        for o, s, k, d, size, b, e in zip(out_size, strides, kernel, dilations, x.shape[2:], pads_begin, pads_end)
    ]
    widths = [(0, 0), (0, 0)] + [(b, e + x_) for b, e, x_ in zip(pads_begin, pads_end, extra)]
    if not any(b or e for b, e in widths):
        return x
    return np.pad(x, widths, mode="constant", constant_values=np.asarray(fill).astype(x.dtype))


def taps(
    xp: np.ndarray, kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int], out_size: Sequence[int]
) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
    """For each kernel offset, the view ``(N, C, *out_size)`` of what every window sees there.

    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> [(off, t[0, 0].tolist()) for off, t in taps(x, (2,), (2,), (1,), (2,))]
    [((0,), [0.0, 2.0]), ((1,), [1.0, 3.0])]
    """
    for offset in itertools.product(*(range(k) for k in kernel)):
        index = tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s) for o, d, n, s in zip(offset, dilations, out_size, strides)
        )
        yield offset, xp[(slice(None), slice(None)) + index]

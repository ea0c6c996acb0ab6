"""A down counter for the iCE40 tile controller: four-bit digits with registered flags, so whether
the count is 0, 1 or 2 is one LUT of registers and no carry chain is longer than a digit.

On an iCE40 UP5K a carry step takes 0.28 ns: a 15-bit count (a tile's K) decremented through one
chain, then chosen against the value a command loads, is a 13 ns path on its own. Here digit ``i``
steps in a cycle where every digit below it is zero (their registered flags, ANDed in one LUT),
its carry is four bits long, and its enable is one LUT that the caller writes (rtl._lut) so that
the signals from afar (a stream's valid, a ready) enter that last LUT only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from amaranth import Cat, Module, Signal, Value

from ._lut import and_all, equals, lut

__all__ = ["Count", "countdown", "DIGIT"]

#: Bits per digit.
DIGIT = 4


@dataclass(frozen=True)
class Count:
    """Whether the count is 0, 1 or 2: each one LUT of registers for up to four digits (16 bits)."""

    zero: Signal
    one: Signal
    two: Signal


def countdown(m: Module, target: str, name: str, value: Value,
              load: tuple[Callable[..., object], Sequence[Value]],
              step: Callable[[str, Sequence[Value]], Value]) -> Count:
    """A count of ``len(value)`` bits added to ``m``. Digit ``i`` changes in a cycle where
    ``step(name_i, below)`` is 1, ``below`` being the zero flags (registers) of the digits
    under it, all of which are 1 when a decrement steps it (none for digit 0): to ``value``'s digit if ``load = (fn,
    signals)`` says so (``fn`` of one or two signals, registers rather than fires, with ``&``,
    ``|``, ``^``), else to itself less one (a decrement of
    0 leaves the count undefined: the controller never makes one that it reads). So a load must enable every digit, a decrement exactly those whose ``below``
    are all 1. The digits and flags have no reset (rtl.Params.short_enables): a count is read only
    after a load.

    >>> from amaranth import Cat, Module, Signal
    >>> m, k, idle, fire = Module(), Signal(15), Signal(), Signal()
    >>> c = countdown(m, "generic", "left", k, (lambda i: i, [idle]), lambda nm, below: idle | (fire & Cat(*below).all()))
    >>> len(c.zero)
    1
    >>> from amaranth.hdl import Fragment
    >>> _ = Fragment.get(m, None)
    """
    when, sel = load
    if not 1 <= len(sel) <= 2:
        raise ValueError(f"countdown {name!r}: load takes one or two signals, got {len(sel)}")
    width = len(Value.cast(value))
    spans = [range(lo, min(lo + DIGIT, width)) for lo in range(0, width, DIGIT)]
    digits = [Signal(len(s), name=f"{name}_digit{i}", reset_less=True) for i, s in enumerate(spans)]
    zeros = [Signal(name=f"{name}_zero{i}", reset_less=True) for i in range(len(digits))]
    # Digit 0 also keeps whether it is 1 and whether it is 2: it steps at every decrement, so its
    # zero flag of the next cycle is this cycle's "is 1", and its "is 1" this "is 2".
    is1, is2 = Signal(name=f"{name}_is1", reset_less=True), Signal(name=f"{name}_is2", reset_less=True)

    def pick(*args):
        *bits, at_load, stepped = args
        loading = when(*bits)
        return (loading & at_load) | ((loading ^ 1) & stepped)

    for i, (span, digit, zero) in enumerate(zip(spans, digits, zeros)):
        v = Value.cast(value)[span.start:span.stop]
        enable = step(f"{name}_step{i}", zeros[:i])
        less = Signal(len(digit), name=f"{name}_less{i}")
        m.d.comb += less.eq(digit - 1)
        nxt = Cat(*(lut(m, target, f"{name}_digit{i}_{j}", pick, *sel, v[j], less[j]) for j in range(len(digit))))
        if i == 0:
            flags = [(zero, equals(m, target, f"{name}_v0_is0", v, 0), is1),
                     (is1, equals(m, target, f"{name}_v0_is1", v, 1), is2),
                     (is2, equals(m, target, f"{name}_v0_is2", v, 2), equals(m, target, f"{name}_d0_is3", digit, 3))]
        else:
            flags = [(zero, equals(m, target, f"{name}_v{i}_is0", v, 0), equals(m, target, f"{name}_d{i}_is1", digit, 1))]
        with m.If(enable):
            m.d.sync += digit.eq(nxt)
            m.d.sync += [flag.eq(lut(m, target, f"{flag.name}_n", pick, *sel, at_load, stepped))
                         for flag, at_load, stepped in flags]
    high = zeros[1:]
    if len(high) > 3:
        high = [equals(m, target, f"{name}_high_zero", Cat(*high), (1 << len(high)) - 1)]  # past 16 bits: a LUT more
    return Count(zero=lut(m, target, f"{name}_is_zero", and_all, zeros[0], *high),
                 one=lut(m, target, f"{name}_is_one", and_all, is1, *high),
                 two=lut(m, target, f"{name}_is_two", and_all, is2, *high))

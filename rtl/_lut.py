"""A look-up table that synthesis keeps as written: one iCE40 logic cell's LUT.

Yosys's LUT mapper (ABC) shares logic between the flags of the tile controller's issue, so the LUT
in front of a flag's register also feeds other flags, and nextpnr then cannot pack it into the
register's logic cell: every such path pays one more route (about 2 ns on an iCE40 UP5K). ABC also
spends any slack a design has (it maps every cone only as shallow as the deepest one), so a cone
that could be two LUTs deep is often three. A LUT written as ``SB_LUT4`` is left alone by both: the
issue logic of the iCE40 controller is written with these, each flag's last LUT feeding only its
register (docs/rtl.md#pipeline).

    >>> from amaranth import Module, Signal
    >>> from amaranth.hdl import Fragment
    >>> m, a, b, c = Module(), Signal(), Signal(), Signal()
    >>> y = lut(m, "ice40", "y", lambda a, b, c: (a & b) | c, a, b, c)
    >>> lut_init(lambda a, b, c: (a & b) | c, 3)    # its SB_LUT4's LUT_INIT: O = INIT[{I3, I2, I1, I0}]
    248
    >>> _ = Fragment.get(m, None)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

from amaranth import Const, Instance, Module, Signal, Value

__all__ = ["lut", "lut_init", "equals", "all_of", "and_all"]


def lut_init(fn: Callable[..., object], inputs: int) -> int:
    """The truth table of ``fn`` over ``inputs`` one-bit arguments as an SB_LUT4 ``LUT_INIT``: bit
    ``i`` is ``fn`` of the bits of ``i`` (the first argument the lowest bit, I0)."""
    if not 1 <= inputs <= 4:
        raise ValueError(f"a LUT has 1 to 4 inputs, got {inputs}")
    init = 0
    for i, bits in enumerate(product((0, 1), repeat=inputs)):
        args = bits[::-1]  # product counts with its last element fastest: reverse, so arg 0 is bit 0
        if int(fn(*args)) & 1:
            init |= 1 << i
    return init


def lut(m: Module, target: str, name: str, fn: Callable[..., object], *inputs: Value) -> Signal:
    """A one-bit signal ``name`` = ``fn(*inputs)`` (1 to 4 one-bit inputs), written as one SB_LUT4
    for ``target == "ice40"`` and as the expression itself for any other target (what is
    simulated and linted). ``fn`` is written with ``&``, ``|`` and ``^`` only, so that it means the
    same on the ints 0/1 (for the truth table) and on Amaranth values."""
    if any(len(x) != 1 for x in (Value.cast(v) for v in inputs)):
        raise ValueError(f"LUT {name!r}: every input must be one bit wide")
    init = lut_init(fn, len(inputs))
    out = Signal(name=name)
    if target == "ice40":
        pins = list(inputs) + [Const(0, 1)] * (4 - len(inputs))
        # Inputs past the last are tied low: the table repeats, so each of them reads the first half.
        full = sum(((init >> (i % (1 << len(inputs)))) & 1) << i for i in range(16))
        m.submodules[f"{name}_lut"] = Instance("SB_LUT4", p_LUT_INIT=Const(full, 16), o_O=out,
                                               **{f"i_I{j}": pin for j, pin in enumerate(pins)})
    else:
        m.d.comb += out.eq(fn(*inputs))
    return out


def equals(m: Module, target: str, name: str, value: Value, const: int) -> Signal:
    """Whether ``value == const``, as a tree of :func:`lut` LUTs: one per four bits, then one per
    four of those (two LUTs deep for up to 16 bits), so that synthesis does not share its levels
    with another compare of the same bits and make it deeper."""
    bits = [Value.cast(value)[i] for i in range(len(Value.cast(value)))]
    if not 0 <= const < 1 << len(bits):
        never = Signal(name=name)   # a value that does not fit: never equal (the signal stays 0)
        return never
    want = [(const >> i) & 1 for i in range(len(bits))]
    level = 0
    while True:
        groups = [(bits[i:i + 4], want[i:i + 4]) for i in range(0, len(bits), 4)]
        outs = []
        for j, (group, ones) in enumerate(groups):
            def test(*xs, ones=ones):
                result = 1
                for x, one in zip(xs, ones):
                    result = result & (x if one else x ^ 1)
                return result
            outs.append(lut(m, target, f"{name}_{level}_{j}" if len(groups) > 1 else name, test, *group))
        if len(outs) == 1:
            return outs[0]
        bits, want, level = outs, [1] * len(outs), level + 1


def all_of(m: Module, target: str, name: str, fn: Callable[..., object], far: Sequence[Value],
           near: Sequence[Value]) -> Signal:
    """``fn(*far, x)``, ``x`` the AND of ``near`` (1 if there are none): one :func:`lut` when all
    fit in four inputs, else the ANDs of ``near`` first, so that the ``far`` signals (late, or from
    across the chip) enter the last LUT only."""
    near, free = list(near), 4 - len(far)
    if free < 1:
        raise ValueError(f"LUT {name!r}: at most three far inputs, got {len(far)}")
    while len(near) > free:
        take = min(4, len(near) - free + 1)
        head, near = near[-take:], near[:-take]
        near.append(lut(m, target, f"{name}_and{len(near)}", and_all, *head))
    return lut(m, target, name, lambda *xs: fn(*xs[: len(far)], and_all(*xs[len(far):])), *far, *near)


def and_all(*xs):
    """``xs[0] & xs[1] & ...`` (1 for none), on ints or Amaranth values alike: for LUT functions."""
    out = 1
    for x in xs:
        out = out & x
    return out

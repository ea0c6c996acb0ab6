"""The place-and-route harness: any core, four pins, every core port kept alive.

A core (the tile controller's top module ``hwsim_<name>_<R>x<C>_ws``, or any other top whose ports
are listed, such as an accelerator with AXI4 and AXI4-Lite ports) has hundreds of I/O bits; no
small FPGA has that many pins, and an unconnected port would let synthesis delete the logic behind
it. The harness (top module ``pnr_top``) has four:

* ``clk``: the one clock, of the harness and the core;
* ``rst_in``: a button, through a two-register synchronizer into the core's reset;
* ``sin``: serial data into a shift register with one bit per core input bit (``hx_in``): every
  core input (payloads, valids, readies, AXI channels alike) is one register of that chain, so
  each is reachable from a pin and none is constant;
* ``sout``: every core output bit is registered (``hx_oq``) and folded into an XOR chain
  (``hx_sig[i] <= hx_sig[i-1] ^ hx_oq[i]``) whose last bit drives the pin, so every output can
  flip ``sout`` and nothing behind an output can be optimized away.

Every harness path is register -> at most one LUT -> register (the reset synchronizer's last
register excepted, which drives the core's reset as a real one would), so the harness never sets
the core's Fmax. The harness knows the core only by its port list (:class:`Port`): wrapping a top
with AXI ports is the same call with that top's ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from amaranth import Cat, ClockDomain, Instance, Module, Signal
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Port", "HARNESS_PINS", "HARNESS_TOP", "SerialHarness", "harness_verilog"]

#: The harness's pins, in the order the constraint files list them.
HARNESS_PINS = ("clk", "rst_in", "sin", "sout")
#: The harness's module name.
HARNESS_TOP = "pnr_top"


@dataclass(frozen=True)
class Port:
    """One port of the wrapped core, as ``rtl.ports`` (the manifest) lists it."""

    name: str
    #: ``input`` or ``output``, seen from the core.
    direction: str
    width: int


class SerialHarness(wiring.Component):
    """``clk``, ``rst_in``, ``sin`` -> the core ``module`` -> ``sout``.

    ``ports`` are the core's ports; ``clock`` and ``reset`` name its clock input and its
    synchronous active-high reset (both driven by the harness), every other port is serialised.
    """

    def __init__(self, module: str, ports: Sequence[Port], *, clock: str = "clk", reset: str = "rst") -> None:
        names = [p.name for p in ports]
        for special in (clock, reset):
            if special not in names:
                raise ValueError(f"the core {module} has no port {special!r}")
        bad = [p.name for p in ports if p.direction not in ("input", "output") or p.width < 1]
        if bad:
            raise ValueError(f"ports {bad} need a direction 'input' or 'output' and a positive width")
        self._module, self._clock, self._reset = module, clock, reset
        self._ports = [p for p in ports if p.name not in (clock, reset)]
        super().__init__({"clk": In(1), "rst_in": In(1), "sin": In(1), "sout": Out(1)})

    @property
    def in_bits(self) -> int:
        """Core input bits the ``sin`` chain holds."""
        return sum(p.width for p in self._ports if p.direction == "input")

    @property
    def out_bits(self) -> int:
        """Core output bits the signature chain folds into ``sout``."""
        return sum(p.width for p in self._ports if p.direction == "output")

    def elaborate(self, platform) -> Module:
        m = Module()
        # One reset-less domain on the clk pin: the harness's registers need no reset.
        m.domains.sync = cd = ClockDomain("sync", reset_less=True)
        m.d.comb += cd.clk.eq(self.clk)

        # The reset synchronizer powers up asserted.
        rst_meta = Signal(init=1, name="hx_rst_meta")
        rst_sync = Signal(init=1, name="hx_rst_sync")
        m.d.sync += [rst_meta.eq(self.rst_in), rst_sync.eq(rst_meta)]

        conns: dict[str, object] = {f"i_{self._clock}": cd.clk, f"i_{self._reset}": rst_sync}
        outs = []
        if self.in_bits:
            chain = Signal(self.in_bits, name="hx_in")
            m.d.sync += chain.eq(Cat(self.sin, chain[:-1]))
        pos = 0
        for p in self._ports:
            if p.direction == "input":
                conns[f"i_{p.name}"] = chain[pos: pos + p.width]
                pos += p.width
            else:
                sig = Signal(p.width, name=f"hx_core_{p.name}")
                conns[f"o_{p.name}"] = sig
                outs.append(sig)
        m.submodules.core = Instance(self._module, **conns)

        oq = Signal(self.out_bits, name="hx_oq")
        m.d.sync += oq.eq(Cat(*outs))
        sig = Signal(self.out_bits, name="hx_sig")
        m.d.sync += sig.eq(Cat(oq[0], sig[:-1] ^ oq[1:]) if self.out_bits > 1 else oq)
        m.d.comb += self.sout.eq(sig[-1])
        return m


def harness_verilog(module: str, ports: Sequence[Port], *, clock: str = "clk", reset: str = "rst") -> str:
    """The Verilog of :class:`SerialHarness` around ``module`` (top module ``pnr_top``)."""
    return verilog.convert(SerialHarness(module, ports, clock=clock, reset=reset), name=HARNESS_TOP, emit_src=False)

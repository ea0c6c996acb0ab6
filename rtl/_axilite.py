"""An AXI4-Lite slave (32-bit data) turning register reads and writes into one-cycle strobes.

AMBA port names (``s_axil_awaddr``, ...), so Vivado's IP packager infers the interface and
cocotbext-axi's ``AxiLiteBus.from_prefix(dut, "s_axil")`` finds it. A write is taken in the cycle
both AW and W are valid and no response is pending (``wr_en`` high that cycle; every strobe byte is
written: registers are 32-bit and written whole); its B follows in the next cycle. A read is
taken when AR is valid and no read data is pending (``rd_en``; ``rd_data`` is sampled in that
cycle); R follows in the next cycle. Responses are always OKAY.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["AxiLiteSlave", "axil_slave_members"]


def axil_slave_members(addr_bits: int, prefix: str = "s_axil") -> dict[str, wiring.Member]:
    m = {
        "awaddr": In(addr_bits), "awprot": In(3), "awvalid": In(1), "awready": Out(1),
        "wdata": In(32), "wstrb": In(4), "wvalid": In(1), "wready": Out(1),
        "bresp": Out(2), "bvalid": Out(1), "bready": In(1),
        "araddr": In(addr_bits), "arprot": In(3), "arvalid": In(1), "arready": Out(1),
        "rdata": Out(32), "rresp": Out(2), "rvalid": Out(1), "rready": In(1),
    }
    return {f"{prefix}_{k}": v for k, v in m.items()}


class AxiLiteSlave(wiring.Component):
    def __init__(self, addr_bits: int = 8) -> None:
        self._bits = addr_bits
        members = axil_slave_members(addr_bits)
        members.update({"wr_en": Out(1), "wr_addr": Out(addr_bits), "wr_data": Out(32),
                        "rd_en": Out(1), "rd_addr": Out(addr_bits), "rd_data": In(32)})
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        s = lambda name: getattr(self, f"s_axil_{name}")  # noqa: E731
        take_w = s("awvalid") & s("wvalid") & ~s("bvalid")
        m.d.comb += [s("awready").eq(take_w), s("wready").eq(take_w), s("bresp").eq(0), s("rresp").eq(0),
                     self.wr_en.eq(take_w), self.wr_addr.eq(s("awaddr")), self.wr_data.eq(s("wdata"))]
        with m.If(take_w):
            m.d.sync += s("bvalid").eq(1)
        with m.Elif(s("bready")):
            m.d.sync += s("bvalid").eq(0)
        take_r = s("arvalid") & ~s("rvalid")
        m.d.comb += [s("arready").eq(take_r), self.rd_en.eq(take_r), self.rd_addr.eq(s("araddr"))]
        with m.If(take_r):
            m.d.sync += [s("rvalid").eq(1), s("rdata").eq(self.rd_data)]
        with m.Elif(s("rready")):
            m.d.sync += s("rvalid").eq(0)
        return m

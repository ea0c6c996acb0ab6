"""The cocotb bench of the whole accelerator (loaded by ``rtl._accel_sim`` through cocotb's runner,
Icarus): DRAM is :class:`TimedAxiRam` (cocotbext-axi's ``AxiRam`` with an exact latency and
bandwidth), the host is cocotbext-axi's ``AxiLiteMaster``.

It reads a spec (JSON, ``HWSIM_ACCEL_IN``) naming the DRAM image file, the boot address and count
and the memory timing; writes BOOT_ADDR, BOOT_COUNT and START; waits for ``irq`` (or a cycle
budget); reads every register back and writes the DRAM image and what it saw (``HWSIM_ACCEL_OUT``).
Nothing in Python runs per cycle: the clock is the simulator's (GPI), the accelerator fetches its
own commands, and the bench wakes for DRAM bursts (AxiRam), layer ends and ``irq`` only.

Cycle convention: cycle t is the clock period that ends with rising edge t (at t * period); a
handshake "in cycle t" is the one registered by edge t.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import First, ReadOnly, RisingEdge, Timer
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam
from cocotbext.axi.axi_channels import AxiARTransaction, AxiAWTransaction, AxiWTransaction

PERIOD_PS = 10_000

#: Register offsets (hwsim.core.isa.Reg), repeated here so the bench imports nothing of hwsim.
REGS = {"CTRL": 0x00, "STATUS": 0x04, "BOOT_ADDR": 0x08, "BOOT_COUNT": 0x0C, "CYCLES_LO": 0x10, "CYCLES_HI": 0x14,
        "EXEC_BUSY": 0x18, "EXEC_WAIT_LOAD": 0x1C, "DMA_READ_BYTES": 0x20, "DMA_WRITE_BYTES": 0x24,
        "LAYERS_DONE": 0x28, "LOAD_RETIRED": 0x2C, "EXEC_RETIRED": 0x30, "STORE_RETIRED": 0x34,
        "LAST_LAYER_CYCLE": 0x38, "ERROR_INFO": 0x3C, "ID": 0x40, "SHAPE": 0x44}


def _cycle() -> int:
    return round(get_sim_time("ps")) // PERIOD_PS


def _stamped(base, log: list):
    """A transaction class that records its handshake cycle: AxiRam's channel sinks create the
    object at the rising edge where valid and ready were both high."""
    class Stamped(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.cycle = _cycle()
            log.append(self)
    Stamped.__name__ = f"Stamped{base.__name__}"
    return Stamped


class TimedAxiRam(AxiRam):
    """``AxiRam`` with a deterministic latency and bandwidth per direction (reads and writes each
    have their own).

    * read: the AR of burst i is accepted in cycle a_i (the AR queue never fills: arready = 1).
      Beats of all bursts, in order: ``t = max(a_i + read_latency, ceil(F)); F = max(F, a_i +
      read_latency) + q`` (F starts at 0); beat t is on R in cycle t.
    * write: W beats are accepted as they come (wready = 1); beat j accepted in cycle w_j drains at
      ``d_j = max(w_j, ceil(G)); G = max(G, w_j) + q``; a burst's B is on B in cycle
      ``d_last + write_latency``.

    ``q`` = ``beat_num / beat_den`` cycles per beat (at least 1), exact. Latencies are at least 2,
    the fastest AxiRam answers. Three hooks do it, nothing of AxiRam is copied: stamped AR/AW/W
    transactions, the per-beat read hook (``_read``, awaited before each R beat is queued) and the B
    send (made non-blocking, delivered at the scheduled cycle). A beat or response is queued at the
    falling edge before the rising edge that must drive it, so coroutine order never matters.
    ``late`` counts responses that could not be scheduled in time (it must stay 0: the DMA keeps
    rready and bready at 1).
    """

    def __init__(self, bus, clock, reset, *, size: int, read_latency: int, write_latency: int,
                 beat_num: int, beat_den: int, **kwargs) -> None:
        super().__init__(bus, clock, reset, size=size, **kwargs)
        if read_latency < 2 or write_latency < 2 or beat_num < beat_den:
            raise ValueError("latencies must be at least 2 cycles and a beat at least 1 cycle")
        self.read_latency, self.write_latency = read_latency, write_latency
        self._num, self._den = beat_num, beat_den
        self._F = self._G = 0  # the virtual clocks, in units of 1 / beat_den cycle
        self.late = 0
        rd, wr = self.read_if, self.write_if
        for ch in (rd.ar_channel, wr.aw_channel, wr.w_channel):
            ch.queue_occupancy_limit = -1  # AR, AW and W ready stay 1
        self._ars, self._aws, self._ws = [], [], []
        rd.ar_channel._transaction_obj = _stamped(AxiARTransaction, self._ars)
        wr.aw_channel._transaction_obj = _stamped(AxiAWTransaction, self._aws)
        wr.w_channel._transaction_obj = _stamped(AxiWTransaction, self._ws)
        self._ar_next = self._aw_next = self._w_next = 0
        self._beats_left = 0
        self._earliest = 0
        rd._read = self._timed_read
        self._b_send = wr.b_channel.send
        wr.b_channel.send = self._timed_b_send

    async def _at_cycle(self, t: int) -> None:
        """Wait until the falling edge before rising edge t - 1: a beat queued then is driven at
        edge t - 1, i.e. offered in cycle t."""
        target = (2 * t - 3) * PERIOD_PS // 2
        now = round(get_sim_time("ps"))
        if target > now:
            await Timer(target - now, unit="ps")
        else:
            self.late += 1

    async def _timed_read(self, address, length):
        if self._beats_left == 0:
            ar = self._ars[self._ar_next]
            self._ar_next += 1
            self._beats_left = int(ar.arlen) + 1
            self._earliest = ar.cycle + self.read_latency
        self._beats_left -= 1
        e, den, F = self._earliest, self._den, self._F
        t = max(e, -(-F // den))
        self._F = max(F, e * den) + self._num
        await self._at_cycle(t)
        return self.read(address % self.size, length)

    async def _timed_b_send(self, b):
        aw = self._aws[self._aw_next]
        self._aw_next += 1
        n = int(aw.awlen) + 1
        beats = self._ws[self._w_next : self._w_next + n]
        self._w_next += n
        t, den, G = 0, self._den, self._G
        for w in beats:
            t = max(w.cycle, -(-G // den))
            G = max(G, w.cycle * den) + self._num
        self._G = G
        cocotb.start_soon(self._deliver_b(b, t + self.write_latency))

    async def _deliver_b(self, b, t_b: int) -> None:
        await self._at_cycle(t_b)
        await self._b_send(b)


@cocotb.test()
async def run_accelerator(dut) -> None:
    spec = json.loads(Path(os.environ["HWSIM_ACCEL_IN"]).read_text())
    image = Path(spec["dram_in"]).read_bytes()
    logging.getLogger(f"cocotb.{dut._name}").setLevel(logging.WARNING)  # AxiRam logs every burst
    Clock(dut.clk, PERIOD_PS, unit="ps", impl=spec.get("clock", "gpi")).start()
    dut.rst.value = 1
    # AxiRam's coroutines start at construction and sample valid at the next edge; at time 0 the
    # outputs may still be Z (fatal for them), so build it half a cycle in.
    await Timer(PERIOD_PS // 2, unit="ps")
    ram = TimedAxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=spec["dram_bytes"],
                      read_latency=spec["read_latency"], write_latency=spec["write_latency"],
                      beat_num=spec["beat_num"], beat_den=spec["beat_den"])
    ram.write(0, image)
    host = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    for obj in (host.write_if, host.read_if, ram.write_if, ram.read_if):
        obj.log.setLevel(logging.WARNING)
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)

    layers: list[int] = []

    async def watch_layers() -> None:
        while True:
            await RisingEdge(dut.layer_done)
            await ReadOnly()
            layers.append(int(dut.layer_cycle.value))

    cocotb.start_soon(watch_layers())
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await host.write_dword(REGS["BOOT_ADDR"], spec["boot_addr"])
    await host.write_dword(REGS["BOOT_COUNT"], spec["boot_count"])
    await host.write_dword(REGS["CTRL"], 1)
    c0 = _cycle()
    timeout = Timer(spec["max_cycles"] * PERIOD_PS, unit="ps")
    fired = await First(RisingEdge(dut.irq), timeout)
    timed_out = fired is timeout
    sim_cycles = _cycle() - c0
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    regs = {name: await host.read_dword(off) for name, off in REGS.items() if name != "CTRL"}
    Path(spec["dram_out"]).write_bytes(ram.read(0, spec["dram_bytes"]))
    out = {"registers": regs, "layer_cycles": layers, "late": ram.late, "timed_out": timed_out,
           "sim_cycles": sim_cycles, "cpu_s": cpu, "wall_s": wall}
    Path(os.environ["HWSIM_ACCEL_OUT"]).write_text(json.dumps(out))

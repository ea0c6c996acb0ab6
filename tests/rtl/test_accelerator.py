"""The whole accelerator on Icarus: hand-written programs (every command, every token, bank switching
and boot, double-buffered tiles whose next loads overlap this tile's compute, the epilogue with bias,
ReLU/clip, per-channel requantization and a fused residual add, pooling, the addressing corners: tiles
starting mid-row, windows with y0, K tiles crossing taps, strided on-chip rows) are bit-exact against a
numpy golden of each command's semantics (and, for the tiled and corner layers, against a direct
convolution, matrix product and pool), and every AXI-Lite performance counter equals the replay model (hwsim.replay)
exactly, on 4x4 and 8x8 at four DRAM settings (TimedAxiRam latency and bandwidth), one of them
DRAM-bound; a one-cycle change to any timing constant breaks the equality."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from hwsim.core import isa
from hwsim.core.isa import Engine, MemoryTiming
from hwsim.replay import replay
from rtl import AccelSimulator

from .accel_programs import Golden, Program, banked, corners, network, small_config, tiled

#: (name, config changes) at 100 MHz: the bench's minimum latency at the full bus bandwidth; 200 ns
#: and 0.1 GB/s (a beat every 4 or 8 cycles: the loads bound the exec engine); 200 ns at the full
#: bandwidth (latency-bound: more bursts than the DMA keeps in flight); 70 ns and 0.3 GB/s (a beat
#: every 4/3 or 8/3 cycles: the memory's exact fractional clock).
MEMORIES = {"fast": {"dram_latency_ns": 0.0, "dram_gbps": 100.0},
            "dram-bound": {"dram_latency_ns": 200.0, "dram_gbps": 0.1},
            "latency-bound": {"dram_latency_ns": 200.0, "dram_gbps": 100.0},
            "fractional": {"dram_latency_ns": 70.0, "dram_gbps": 0.3}}
PROGRAMS = {"network": network, "banked": banked, "banked-d12": banked, "tiled": tiled, "corners": corners}
#: Small command banks make the banked program switch banks (12: a depth that is no power of two);
#: the other programs share one design per array size.
DEPTH = {"network": 64, "banked": 8, "banked-d12": 12, "tiled": 64, "corners": 64}
_sims: dict = {}
_runs: dict = {}


def _config(R: int, program: str, memory: str):
    return small_config(R, filter_kib=4, ifmap_kib=2, command_depth=DEPTH[program], **MEMORIES[memory])


def _run(R: int, program: str, memory: str, tmp_path_factory):
    """(config, program, RTL run), each run once per session."""
    key = (R, program, memory)
    if key not in _runs:
        cfg = _config(R, program, memory)
        sim_key = (R, cfg.command_depth)
        if sim_key not in _sims:  # the Verilog does not depend on the DRAM's timing
            _sims[sim_key] = AccelSimulator(cfg, tmp_path_factory.mktemp(f"accel{R}x{R}d{cfg.command_depth}"))
        p: Program = PROGRAMS[program](cfg)
        model = replay(cfg, bytes(p.image.data), boot_addr=p.boot_addr, boot_count=p.boot_count)
        # A hang fails in seconds, not after the bench's default budget.
        run = _sims[sim_key].run(bytes(p.image.data), boot_addr=p.boot_addr, boot_count=p.boot_count,
                                 memory=MemoryTiming.of(cfg), max_cycles=2 * model.cycles + 1000)
        _runs[key] = (cfg, p, run)
    return _runs[key]


def _model(cfg, p: Program, **kwargs):
    return replay(cfg, bytes(p.image.data), boot_addr=p.boot_addr, boot_count=p.boot_count, **kwargs)


#: The fast set: every program on 4x4 (the tiled layers at every memory), three on 8x8; it alone
#: must show every timing constant (the tests below that perturb the model use only it).
CASES = [(4, "network", "fast"), (4, "network", "dram-bound"), (4, "banked", "fast"), (4, "banked-d12", "fast"),
         *[(4, "tiled", m) for m in MEMORIES], (4, "corners", "fast"), (4, "corners", "dram-bound"),
         (8, "network", "fast"), (8, "tiled", "fast"), (8, "tiled", "dram-bound"), (8, "corners", "fast")]
SLOW_CASES = [(4, "banked", "dram-bound"), (8, "network", "dram-bound"), (8, "banked", "fast"),
              (8, "banked", "dram-bound"), (8, "tiled", "latency-bound"), (8, "tiled", "fractional"),
              (8, "corners", "dram-bound")]


@pytest.mark.parametrize(("R", "program", "memory"),
                         CASES + [pytest.param(*c, marks=pytest.mark.slow) for c in SLOW_CASES], ids=lambda v: str(v))
def test_programs_are_bit_exact_and_cycle_exact(R, program, memory, tmp_path_factory):
    cfg, p, run = _run(R, program, memory, tmp_path_factory)
    assert not run.timed_out and not run.error and run.late_responses == 0, run.counters
    want = Golden(cfg, bytes(p.image.data)).run(p.lists)
    assert run.dram[: len(want)] == want
    for addr, blob in p.expect.items():
        assert run.dram[addr : addr + len(blob)] == blob, hex(addr)
    model = _model(cfg, p)
    got = {k: run.counters[k] for k in model.counters()}
    assert got == model.counters()
    assert run.layer_end_cycles == model.layer_end_cycles
    assert run.counters["LOAD_RETIRED"] == len(p.lists["load"])  # END included
    assert run.counters["EXEC_RETIRED"] == len(p.lists["exec"])
    assert run.counters["STORE_RETIRED"] == len(p.lists["store"])
    # DMA bytes are the words the lists move (boot included), independent of the replay's count
    moved = {e: sum(c.words * cfg.rows for c in p.lists[e] if isinstance(c, (isa.Load, isa.Store))) for e in p.lists}
    assert run.counters["DMA_READ_BYTES"] == p.boot_count * isa.COMMAND_BYTES + moved["load"]
    assert run.counters["DMA_WRITE_BYTES"] == moved["store"]


@pytest.mark.parametrize("memory", list(MEMORIES))
def test_next_tiles_load_while_this_tile_computes(memory, tmp_path_factory):
    cfg, p, run = _run(4, "tiled", memory, tmp_path_factory)
    model = _model(cfg, p)
    at = {(t.engine, t.index): t for t in model.trace}
    for load, first, last in p.overlaps:
        ld, a, b = at[(Engine.LOAD, load)], at[(Engine.EXEC, first)], at[(Engine.EXEC, last)]
        assert ld.start < b.done and ld.done > a.start, (load, first, last)
    # and the RTL's own cycle count is below the commands' durations end to end
    assert run.counters["CYCLES"] < sum(t.done - t.start for t in model.trace)
    assert run.counters["LAYERS_DONE"] == 2 and len(run.layer_cycles) == 2


def test_a_dram_bound_program_idles_the_array_exactly_as_predicted(tmp_path_factory):
    cfg, p, run = _run(4, "network", "dram-bound", tmp_path_factory)
    waiting = run.counters["EXEC_WAIT_LOAD"]
    assert waiting == _model(cfg, p).exec_wait_load
    assert waiting > run.counters["EXEC_BUSY"]  # the loads, not the array, set the pace
    fast = _run(4, "network", "fast", tmp_path_factory)[-1]
    assert fast.counters["EXEC_WAIT_LOAD"] < waiting


@pytest.mark.parametrize("constant", [f.name for f in fields(isa.Timing)])
def test_a_one_cycle_change_to_any_timing_constant_breaks_the_equality(constant, tmp_path_factory):
    changed = replace(isa.TIMING, **{constant: getattr(isa.TIMING, constant) + 1})
    differs = 0
    for case in CASES:
        cfg, p, run = _run(*case, tmp_path_factory)
        try:
            model = _model(cfg, p, timing=changed)
        except Exception:  # noqa: BLE001 - a changed model may also find the program infeasible
            differs += 1
            continue
        differs += ({k: run.counters[k] for k in model.counters()} != model.counters()
                    or run.layer_end_cycles != model.layer_end_cycles)
    assert differs > 0


def test_one_more_cycle_of_dram_latency_per_burst_breaks_the_equality(tmp_path_factory):
    for case in CASES:
        cfg, p, run = _run(*case, tmp_path_factory)
        mem = MemoryTiming.of(cfg)
        slower = replace(mem, read_latency=mem.read_latency + 1, write_latency=mem.write_latency + 1)
        assert _model(cfg, p, memory=slower).cycles != run.counters["CYCLES"], case

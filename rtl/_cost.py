"""What generating and synthesizing an array costs, known before starting: the guard of ``hwsim rtl``.

Elaborating the Amaranth design and emitting Verilog grows faster than linearly in the PEs (Python
objects per PE, then the emitter's passes over the netlist); Yosys (WebAssembly) adds a fixed start
and a per-PE cost. Measured on a 2-core machine (docs/rtl.md#what-is-refused): 16x16 emits in ~6 s, 32x32 in
~30 s and 0.3 GB, 64x64 in ~345 s and 0.85 GB; synthesis takes about a minute for any small array
and a few minutes at 16x16. Icarus simulates about 180,000 PE-cycles a second (2,900 cycles a second
at 8x8, 630 at 16x16), and a GEMM takes at least m*k*n / PEs cycles: 256x256x256 verifies in about
a minute and a half. The figures here are
those fits, rounded up.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.limits import available_memory, format_bytes

__all__ = ["RtlCost", "rtl_cost", "check_rtl_cost", "verify_cost", "check_verify_cost", "accelerator_cost",
           "check_accelerator_cost", "CONFIRM_SECONDS"]

#: Above this many estimated seconds (generation and synthesis together) a run must be confirmed.
CONFIRM_SECONDS = 300.0


@dataclass(frozen=True)
class RtlCost:
    """Estimated wall time (seconds) and peak memory (bytes) of ``hwsim rtl`` on one config."""

    seconds: float
    memory: int

    def text(self) -> str:
        return f"about {_duration(self.seconds)} and {format_bytes(self.memory)} of memory"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def rtl_cost(cfg: AcceleratorConfig, *, synth: bool = False, families: int = 1) -> RtlCost:
    """The estimate for emitting ``cfg``'s Verilog, and with ``synth`` running Yosys generically and for
    ``families`` FPGA families."""
    pes = cfg.pes
    seconds = 2 + 0.02 * pes + 1.5e-5 * pes * pes
    memory = (150 << 20) + pes * (180 << 10)
    if synth:
        seconds += (1 + families) * (30 + 0.25 * pes)
        memory = max(memory, (200 << 20) + pes * (512 << 10))
    return RtlCost(seconds, memory)


def check_rtl_cost(cfg: AcceleratorConfig, *, synth: bool = False, families: int = 1, confirmed: bool = False) -> RtlCost:
    """Refuse, before any work, a run that would not fit in memory, or that would take longer than
    :data:`CONFIRM_SECONDS` unless ``confirmed`` (``--allow-large``)."""
    cost = rtl_cost(cfg, synth=synth, families=families)
    what = f"{'synthesizing' if synth else 'generating'} a {cfg.rows}x{cfg.cols} array ({cfg.pes} PEs) takes {cost.text()}"
    free = available_memory()
    if cost.memory > free:
        raise UserError(f"{what}, more than the {format_bytes(free)} available; generate a smaller instance of the "
                        "design with --rows/--cols")
    if cost.seconds > CONFIRM_SECONDS and not confirmed:
        raise UserError(f"{what}; pass --allow-large to go ahead, or try a smaller instance of the design with "
                        "--rows/--cols")
    return cost


def verify_cost(cfg: AcceleratorConfig, m: int, k: int, n: int) -> RtlCost:
    """The estimate for ``hwsim verify`` of an ``m x k x n`` GEMM: emitting the design, then Icarus."""
    emit = rtl_cost(cfg)
    seconds = emit.seconds + 3 + m * k * n / 180_000
    operands = (m * k + k * n + 4 * m * n) * 8  # int64 operands, golden and observed accumulators
    return RtlCost(seconds, emit.memory + operands)


def check_verify_cost(cfg: AcceleratorConfig, m: int, k: int, n: int, *, confirmed: bool = False) -> RtlCost:
    """Refuse a verification that would not fit in memory, or take longer than :data:`CONFIRM_SECONDS`
    unless ``confirmed``."""
    cost = verify_cost(cfg, m, k, n)
    what = f"verifying a {m}x{k}x{n} GEMM on a {cfg.rows}x{cfg.cols} array takes {cost.text()}"
    return _refuse(cost, what, "choose smaller --m/--k/--n", "choose smaller --m/--k/--n, or pass --allow-large to "
                   "go ahead", confirmed)


def accelerator_cost(cfg: AcceleratorConfig, cycles: int) -> RtlCost:
    """The estimate for running a program of ``cycles`` (the replay model's count) on the whole
    accelerator (``hwsim verify MODEL.onnx``): elaborating and compiling it, then Icarus. Measured on
    the 2-core machine (benchmarks/accel_network_bench.py): 4x4 elaborates in ~7 s and simulates ~3,100
    cycles a second, 8x8 ~11 s and ~1,450 cycles a second, plus ~2 s to start cocotb; the figures
    here are that fit (per cycle 200 us + 8 us a PE), rounded up."""
    seconds = 6 + 0.1 * cfg.pes + 3 + cycles * (200e-6 + 8e-6 * cfg.pes)
    return RtlCost(seconds, (250 << 20) + cfg.pes * (512 << 10))


def check_accelerator_cost(cfg: AcceleratorConfig, cycles: int, *, confirmed: bool = False) -> RtlCost:
    """Refuse a whole-accelerator run that would not fit in memory, or take longer than
    :data:`CONFIRM_SECONDS` unless ``confirmed``."""
    cost = accelerator_cost(cfg, cycles)
    what = f"simulating {cycles} cycles of the {cfg.rows}x{cfg.cols} accelerator takes {cost.text()}"
    return _refuse(cost, what, "verify a smaller model or array", "verify a smaller model or input, or pass "
                   "--allow-large to go ahead", confirmed)


def _refuse(cost: RtlCost, what: str, smaller: str, confirm: str, confirmed: bool) -> RtlCost:
    """``cost``, or the refusal of a run that would not fit in memory (``smaller`` says what to do)
    or take over :data:`CONFIRM_SECONDS` unconfirmed (``confirm`` says how to go ahead)."""
    free = available_memory()
    if cost.memory > free:
        raise UserError(f"{what}, more than the {format_bytes(free)} available; {smaller}")
    if cost.seconds > CONFIRM_SECONDS and not confirmed:
        raise UserError(f"{what}; {confirm}")
    return cost

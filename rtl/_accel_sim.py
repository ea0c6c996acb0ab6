"""Run a command program on the accelerator's RTL: Icarus through cocotb's runner, DRAM = the
bench's ``TimedAxiRam`` with the config's latency and bandwidth (``hwsim.core.isa.MemoryTiming``)::

    run = run_program(cfg, program, dram, boot_addr=0x0, boot_count=12)
    run.counters["CYCLES"], run.layer_end_cycles, run.dram[0x4000:0x4010]
"""

from __future__ import annotations

import json
import logging
import pstats
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amaranth.back import verilog
from cocotb_tools.runner import get_runner

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.isa import COMMAND_BYTES, MemoryTiming

from ._accelerator import Accelerator, AcceleratorParams, accelerator_params

__all__ = ["AccelRun", "AccelSimulator", "run_program", "generate_accelerator_verilog"]

TIMESCALE = ("1ns", "1ps")


def generate_accelerator_verilog(cfg: AcceleratorConfig) -> str:
    """The accelerator's Verilog: top module ``accelerator_params(cfg).module_name``, no source
    paths, no dates (byte-identical for one config)."""
    ap = accelerator_params(cfg)
    return verilog.convert(Accelerator(ap), name=ap.module_name, emit_src=False)


@dataclass(frozen=True)
class AccelRun:
    """What one run did: the DRAM after it, every register (``hwsim.core.isa.Reg`` names; CYCLES is
    the 64-bit count), each layer's end cycle (the layer_end STOREs' done cycles, from cycle 0 =
    the cycle after START), and the simulation's cost."""

    dram: bytes = field(repr=False)
    counters: dict[str, int]
    layer_end_cycles: tuple[int, ...]
    timed_out: bool
    late_responses: int
    sim_cycles: int
    #: CPU and wall seconds of the simulator process (Icarus and the Python bench in it) from START
    #: to irq, and wall seconds of the whole run (vvp and cocotb start-up included)
    bench_cpu_s: float
    process_s: float
    bench_wall_s: float = 0.0
    #: with ``profile``: wall seconds spent in Python code (cProfile's total, which itself slows
    #: Python), the rest of the simulator process's time being Icarus
    python_s: float | None = None

    @property
    def layer_cycles(self) -> tuple[int, ...]:
        """Each layer's cycles: its end cycle minus the previous layer's (the first from 0)."""
        ends = (0,) + self.layer_end_cycles
        return tuple(b - a for a, b in zip(ends, ends[1:]))

    @property
    def error(self) -> bool:
        return bool(self.counters["STATUS"] & 4)


class AccelSimulator:
    """The accelerator for one config compiled by Icarus in ``build_dir``, ready to run programs."""

    def __init__(self, cfg: AcceleratorConfig, build_dir: str | Path) -> None:
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise UserError("Icarus Verilog (iverilog) is not installed; install it with 'apt-get install iverilog'")
        self.cfg = cfg
        self.params: AcceleratorParams = accelerator_params(cfg)
        self.build_dir = Path(build_dir).resolve()
        self.build_dir.mkdir(parents=True, exist_ok=True)
        top = self.params.module_name
        source = self.build_dir / f"{top}.v"
        t = time.perf_counter()
        source.write_text(generate_accelerator_verilog(cfg))
        self.generate_s = time.perf_counter() - t
        self._runner = get_runner("icarus")
        self._runner.log.setLevel(logging.ERROR)
        self._runs = 0
        t = time.perf_counter()
        try:
            self._runner.build(sources=[source], hdl_toplevel=top, build_dir=self.build_dir, always=True,
                               timescale=TIMESCALE, log_file=self.build_dir / "build.log")
        except (RuntimeError, SystemExit) as e:
            raise RuntimeError(f"iverilog failed ({e}); see {self.build_dir / 'build.log'}") from None
        self.build_s = time.perf_counter() - t

    def run(self, dram: bytes, *, boot_addr: int, boot_count: int, memory: MemoryTiming | None = None,
            dram_bytes: int | None = None, max_cycles: int = 2_000_000, profile: bool = False) -> AccelRun:
        """Run the program whose load list starts with ``boot_count`` commands at DRAM ``boot_addr``
        of ``dram`` (the whole image: program, weights, inputs), on a DRAM of ``dram_bytes`` (the
        image rounded up to 4 KiB by default) with ``memory`` timing (the config's by default).
        ``profile``: run the bench's Python under cProfile (cocotb's) and report its time."""
        mem = memory or MemoryTiming.of(self.cfg)
        size = dram_bytes or -(-max(len(dram), 4096) // 4096) * 4096
        if not 1 <= boot_count <= self.params.geometry.command_depth:
            raise UserError(f"boot_count must be from 1 to command_depth = {self.params.geometry.command_depth}, "
                            f"got {boot_count}")
        if boot_addr % self.params.geometry.R or boot_addr + boot_count * COMMAND_BYTES > size:
            raise UserError(f"boot_addr {boot_addr:#x} must be word-aligned with its {boot_count} commands inside DRAM")
        self._runs += 1
        run_dir = self.build_dir / f"run{self._runs}"
        run_dir.mkdir(exist_ok=True)
        (run_dir / "dram_in.bin").write_bytes(bytes(dram).ljust(size, b"\0"))
        q = mem.beat_interval
        spec = {"dram_in": str(run_dir / "dram_in.bin"), "dram_out": str(run_dir / "dram_out.bin"), "dram_bytes": size,
                "boot_addr": boot_addr, "boot_count": boot_count, "read_latency": mem.read_latency,
                "write_latency": mem.write_latency, "beat_num": q.numerator, "beat_den": q.denominator,
                "max_cycles": max_cycles}
        (run_dir / "spec.json").write_text(json.dumps(spec))
        out = run_dir / "observed.json"
        t = time.perf_counter()
        try:
            self._runner.test(test_module="rtl._accel_bench", hdl_toplevel=self.params.module_name,
                              build_dir=self.build_dir, test_dir=run_dir, timescale=TIMESCALE,
                              results_xml=str(run_dir / "results.xml"), log_file=run_dir / "sim.log",
                              extra_env={"HWSIM_ACCEL_IN": str(run_dir / "spec.json"), "HWSIM_ACCEL_OUT": str(out),
                                         **({"COCOTB_ENABLE_PROFILING": "1"} if profile else {})})
        except (RuntimeError, SystemExit) as e:
            raise RuntimeError(f"simulation failed ({e}); see {run_dir / 'sim.log'}") from None
        if not out.is_file():
            raise RuntimeError(f"the accelerator bench wrote no results; see {run_dir / 'sim.log'}")
        seen: dict[str, Any] = json.loads(out.read_text())
        regs = dict(seen["registers"])
        regs["CYCLES"] = regs.pop("CYCLES_LO") | regs.pop("CYCLES_HI") << 32
        python_s = None
        if profile and (run_dir / "cocotb.pstat").is_file():
            python_s = pstats.Stats(str(run_dir / "cocotb.pstat")).total_tt  # type: ignore[attr-defined]
        return AccelRun(dram=(run_dir / "dram_out.bin").read_bytes(), counters=regs,
                        layer_end_cycles=tuple(seen["layer_cycles"]), timed_out=seen["timed_out"],
                        late_responses=seen["late"], sim_cycles=seen["sim_cycles"], bench_cpu_s=seen["cpu_s"],
                        process_s=time.perf_counter() - t, bench_wall_s=seen["wall_s"], python_s=python_s)


def run_program(cfg: AcceleratorConfig, program: bytes | None, dram: bytes, *, boot_addr: int, boot_count: int,
                memory: MemoryTiming | None = None, work_dir: str | Path | None = None, **kwargs: Any) -> AccelRun:
    """Build the accelerator for ``cfg`` and run one program. ``program`` (optional) is written into
    the image at ``boot_addr`` first; the load list's first bank is its first ``boot_count``
    commands (the rest of the program is wherever its bank LOADs say)."""
    image = bytearray(dram)
    if program is not None:
        end = boot_addr + len(program)
        image.extend(bytes(max(0, end - len(image))))
        image[boot_addr:end] = program
    if work_dir is not None:
        return AccelSimulator(cfg, work_dir).run(bytes(image), boot_addr=boot_addr, boot_count=boot_count,
                                                 memory=memory, **kwargs)
    with tempfile.TemporaryDirectory(prefix="hwsim-accel-") as tmp:
        return AccelSimulator(cfg, tmp).run(bytes(image), boot_addr=boot_addr, boot_count=boot_count,
                                            memory=memory, **kwargs)

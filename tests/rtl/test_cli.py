"""``hwsim rtl`` and ``hwsim verify`` as a user runs them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from hwsim.cli import main
from hwsim.core import timing


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hwsim", *args], capture_output=True, text=True, cwd=cwd)


def test_rtl_writes_verilog_manifest_and_file_list(tmp_path):
    out = tmp_path / "design"
    done = run_cli("rtl", "--rows", "2", "--cols", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    name = "hwsim_gemmini_like_2x3_ws"
    assert {p.name for p in out.iterdir()} == {"files.f", "manifest.json", "verilator.vlt", f"{name}.v"}
    assert (out / "files.f").read_text() == f"{name}.v\n"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["module"] == name and manifest["config"]["rows"] == 2 and manifest["config"]["cols"] == 3
    for file, entry in manifest["files"].items():
        assert hashlib.sha256((out / file).read_bytes()).hexdigest() == entry["sha256"]
    assert {p["name"] for p in manifest["ports"]} >= {"clk", "rst", "cmd__payload", "o__ready", "done"}
    assert "valid/ready" in manifest["protocol"]["streams"]
    again = tmp_path / "again"
    assert run_cli("rtl", "--rows", "2", "--cols", "3", "--out", str(again)).returncode == 0
    for file in out.iterdir():
        assert (again / file.name).read_bytes() == file.read_bytes()


def test_rtl_errors_leave_nothing_behind(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = run_cli("rtl", "--rows", "2", "--cols", "2", "--out", str(blocker))
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "not a folder" in done.stderr
    toml = tmp_path / "os.toml"
    toml.write_text('[array]\ndataflow = "os"\n')
    done = run_cli("rtl", "--config", str(toml), "--out", str(tmp_path / "os"))
    assert done.returncode == 2 and "weight-stationary" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "os").exists()


def test_rtl_failing_synthesis_leaves_no_manifest(tmp_path, monkeypatch, capsys):
    import rtl
    from hwsim.core.errors import UserError

    def fail(*args, **kwargs):
        raise UserError("yosys is unavailable")

    monkeypatch.setattr(rtl, "synthesize", fail)
    assert main(["rtl", "--rows", "2", "--cols", "2", "--out", str(tmp_path / "d"), "--synth"]) == 2
    assert not (tmp_path / "d").exists()
    assert "yosys is unavailable" in capsys.readouterr().err


def test_verify_passes_and_writes_the_json_contract(tmp_path):
    report = tmp_path / "verify.json"
    done = run_cli("verify", "--rows", "2", "--cols", "2", "--m", "5", "--k", "7", "--n", "3", "--seed", "4",
                 "--json", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = dict(line.split(None, 1) for line in done.stdout.splitlines() if line.split()[0].endswith("cycles")
                 or line.startswith("mismatches"))
    data = json.loads(report.read_text())
    assert set(data) == {"passed", "mismatches", "rtl_cycles", "model_cycles", "config"}
    assert data["passed"] is True and data["mismatches"] == 0 and data["rtl_cycles"] == data["model_cycles"]
    assert int(lines["rtl_cycles"]) == data["rtl_cycles"] and int(lines["mismatches"]) == 0
    assert data["config"]["rows"] == 2 and "passed" in done.stdout


def test_verify_json_to_stdout_is_only_json():
    done = run_cli("verify", "--rows", "2", "--cols", "2", "--m", "3", "--k", "3", "--n", "2", "--json", "-")
    assert done.returncode == 0
    assert json.loads(done.stdout)["passed"] is True
    assert "rtl_cycles" in done.stderr


def test_verify_fails_with_exit_1_when_the_timing_model_is_one_cycle_off(monkeypatch, capsys):
    real = timing.tile_cycles
    monkeypatch.setattr(timing, "tile_cycles", lambda cfg, tile: real(cfg, tile) + 1)
    assert main(["verify", "--rows", "2", "--cols", "2", "--m", "3", "--k", "5", "--n", "2"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "mismatches    0" in out


def test_verify_without_icarus_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["verify", "--rows", "2", "--cols", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "apt-get install iverilog" in err and "bin/hwsim" in err


def test_verify_refuses_arrays_too_large_for_icarus(capsys):
    assert main(["verify", "--preset", "tpu-v1-like"]) == 2
    assert "--rows/--cols" in capsys.readouterr().err

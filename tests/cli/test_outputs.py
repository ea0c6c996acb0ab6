"""The one output writer (hwsim.core.files.OutputSet): all or none, never over a special file, every
temporary cleaned up, operating-system errors as one-line user errors (docs/cli.md#output-files)."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hwsim.cli import main
from hwsim.core.errors import InternalError, UserError
from hwsim.core.files import TEMP_SUFFIX, OutputSet, json_text, read_text, write_output
from tests.fuzz import harness, mutate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # short relative paths, as a user types them


def _model(tmp_path: Path) -> Path:
    path = tmp_path / "m.onnx"
    path.write_bytes(mutate.conv_relu().SerializeToString())
    return Path("m.onnx")


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) <= 200, err
    return lines[0]


def _temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


# ----------------------------------------------------------------------------------- all or none

def test_a_failing_second_output_leaves_the_first_unwritten(tmp_path: Path, capsys) -> None:
    model = _model(tmp_path)
    ok = tmp_path / "ok.json"
    assert main(["estimate", str(model), "--json", "ok.json", "--csv", "missing/x.csv"]) == 2
    assert "missing" in _one_error_line(capsys.readouterr().err)
    assert not ok.exists() and _temporaries(tmp_path) == []


def test_run_with_a_bad_report_path_writes_no_npz(tmp_path: Path, capsys) -> None:
    import numpy as np

    model = _model(tmp_path)
    np.save(tmp_path / "x.npy", np.ones((1, 3, 8, 8), np.float32))
    npz = tmp_path / "ok.npz"
    code = main(["run", str(model), "--input", "x=x.npy", "--output", "ok.npz", "--precision", "int8",
                 "--report", "missing/r.json"])
    assert code == 2 and "missing" in _one_error_line(capsys.readouterr().err)
    assert not npz.exists()


def test_an_error_during_the_work_removes_what_was_staged(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with OutputSet() as outputs:
            outputs.stage(tmp_path / "a.json", "{}")
            assert len(_temporaries(tmp_path)) == 1
            raise RuntimeError("the work failed")
    assert list(tmp_path.iterdir()) == []


def test_a_commit_replaces_old_files_and_keeps_their_mode(tmp_path: Path) -> None:
    old = tmp_path / "r.json"
    old.write_text("old")
    old.chmod(0o640)
    with OutputSet() as outputs:
        outputs.stage(old, "new")
        outputs.stage(tmp_path / "s.csv", "csv")
        assert old.read_text() == "old"  # nothing visible before the commit
        outputs.commit()
    assert old.read_text() == "new" and (tmp_path / "s.csv").read_text() == "csv"
    assert stat.S_IMODE(old.stat().st_mode) == 0o640 and _temporaries(tmp_path) == []


def test_a_folder_made_for_outputs_goes_again_when_they_fail(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        with OutputSet() as outputs:
            out = outputs.make_dir(tmp_path / "a" / "b")
            outputs.stage(out / "x.txt", "x")
            raise UserError("late failure")
    assert list(tmp_path.iterdir()) == []


def test_empty_paths_are_refused(tmp_path: Path, capsys) -> None:
    model = _model(tmp_path)
    assert main(["estimate", str(model), "--json", ""]) == 2
    assert "empty path" in _one_error_line(capsys.readouterr().err)
    assert main(["rtl", "--rows", "2", "--cols", "2", "--out", ""]) == 2
    assert "empty path" in _one_error_line(capsys.readouterr().err)


def test_two_outputs_naming_one_file_are_refused(tmp_path: Path, capsys) -> None:
    model = _model(tmp_path)
    same = "same"
    assert main(["estimate", str(model), "--json", same, "--csv", same]) == 2
    assert "same file" in _one_error_line(capsys.readouterr().err)
    assert not Path(same).exists()


# ----------------------------------------------------------------------------- special files

def test_a_symbolic_link_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    target = tmp_path / "results" / "r.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "results" / "new.json")
    write_output(link, "{}")
    write_output(dangling, "[]")
    assert link.is_symlink() and os.readlink(link) == str(target) and target.read_text() == "{}"
    assert dangling.is_symlink() and (tmp_path / "results" / "new.json").read_text() == "[]"


def test_a_named_pipe_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    deadline = time.monotonic() + 10
    while True:  # wait for the reader to open its end
        try:
            write_output(fifo, "through the pipe\n")
            break
        except UserError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    reader.join(10)
    assert got == [b"through the pipe\n"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_named_pipe_without_a_reader_is_an_error_not_a_hang(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert main(["estimate", str(_model(tmp_path)), "--json", "fifo"]) == 2
    assert "no reader" in _one_error_line(capsys.readouterr().err)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_socket_or_folder_is_refused(tmp_path: Path, capsys) -> None:
    import socket

    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        assert main(["estimate", str(_model(tmp_path)), "--json", "sock"]) == 2
        assert "socket" in _one_error_line(capsys.readouterr().err)
    finally:
        server.close()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert main(["estimate", str(_model(tmp_path)), "--csv", "."]) == 2
    assert "folder" in _one_error_line(capsys.readouterr().err)


def _in_namespace(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (sh) in a private mount namespace with a throw-away /dev; never the machine's own."""
    if not harness.namespace_available():
        pytest.skip("needs root and unshare --mount for a private /dev and file systems; never run on the real ones")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                           harness.DEV_SCRIPT, "sh", "/bin/sh", "-c", script],
                          capture_output=True, text=True, cwd=tmp_path, env=harness.child_env(), timeout=120)


@pytest.mark.parametrize("device, code", [("/dev/null", 0), ("/dev/zero", 0), ("/dev/full", 2), ("/dev/stdout", 0)])
def test_devices_are_written_in_place_never_replaced(device: str, code: int, tmp_path: Path) -> None:
    _model(tmp_path)
    done = _in_namespace(f"{sys.executable} -m hwsim estimate m.onnx --json {device} > out.txt; echo rc=$?; "
                         "stat -c '%F' /dev/null /dev/zero /dev/full", tmp_path)
    lines = done.stdout.split()
    assert f"rc={code}" in lines, done
    assert done.stdout.count("character special file") == 3, done.stdout
    if code == 2:
        assert "no space left" in _one_error_line(done.stderr)
    if device == "/dev/stdout":  # the JSON, then the table, both on standard output
        text = (tmp_path / "out.txt").read_text()
        report, end = json.JSONDecoder().raw_decode(text)
        assert report["model"] and text[end:].lstrip().startswith("model ")


def test_a_full_standard_output_is_one_error_line(tmp_path: Path) -> None:
    _model(tmp_path)
    done = _in_namespace(f"{sys.executable} -m hwsim estimate m.onnx > /dev/full; echo rc=$?", tmp_path)
    assert "rc=2" in done.stdout and "standard output" in _one_error_line(done.stderr)


def _small_fs(script: str, tmp_path: Path, options: str) -> subprocess.CompletedProcess[str]:
    mount = f"mount -t tmpfs -o {options} hwsim-test fs"
    return _in_namespace(f"mkdir -p fs && {mount} && {script}; echo rc=$?; find fs -mindepth 1 | tr '\\n' ' '",
                         tmp_path)


@pytest.mark.parametrize("argv", [
    "estimate m.onnx --json fs/r.json --csv fs/r.csv --plot fs/r.png",
    "rtl --rows 2 --cols 2 --out fs/rtl",
    "plot report.json --out fs/plots",
    "sweep m.onnx --rows 4,8 --cols 4 --out fs/sweep",
])
def test_a_full_disk_is_a_user_error_and_leaves_nothing(argv: str, tmp_path: Path) -> None:
    model = _model(tmp_path)
    assert main(["estimate", str(model), "--json", "report.json"]) == 0
    done = _small_fs(f"{sys.executable} -m hwsim {argv} > /dev/null", tmp_path, "size=8k,nr_inodes=64")
    assert "rc=2" in done.stdout, done
    assert "no space left" in _one_error_line(done.stderr)
    if argv.startswith("sweep"):  # the finished estimates stay for a resume; nothing else
        assert "results" not in done.stdout.split("rc=2")[1] and TEMP_SUFFIX not in done.stdout
    else:
        assert done.stdout.split("rc=2")[1].strip() == "", done.stdout


def test_a_read_only_file_system_is_a_user_error(tmp_path: Path) -> None:
    _model(tmp_path)
    done = _small_fs(f"{sys.executable} -m hwsim estimate m.onnx --json fs/r.json", tmp_path, "ro,size=1m")
    assert "rc=2" in done.stdout and "read-only file system" in _one_error_line(done.stderr)


def test_permission_and_name_errors_name_the_path(tmp_path: Path, capsys, monkeypatch) -> None:
    model = _model(tmp_path)
    real_open = os.open

    def denied(path, flags, *args):
        if str(path).endswith(TEMP_SUFFIX):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", denied)
    assert main(["estimate", str(model), "--json", "r.json"]) == 2
    assert "r.json: cannot write: permission denied" in _one_error_line(capsys.readouterr().err)
    monkeypatch.setattr(os, "open", real_open)
    assert main(["estimate", str(model), "--json", "n" * 300 + ".json"]) == 2
    assert "name too long" in _one_error_line(capsys.readouterr().err)


# ------------------------------------------------------------------------------ temporaries

def test_sigterm_while_outputs_are_staged_leaves_no_temporary(tmp_path: Path) -> None:
    # The plot renders for a second after the JSON and CSV are staged: SIGTERM then must remove both.
    argv = [sys.executable, "-m", "hwsim", "estimate", "--json", "r.json", "--csv", "r.csv", "--plot", "r.png"]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=harness.child_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _temporaries(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    staged = _temporaries(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    if not staged:
        pytest.skip("the outputs were written before the signal could be sent")
    assert proc.returncode == 128 + signal.SIGTERM and "terminated by SIGTERM" in _one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_temporaries_of_killed_runs_are_removed_by_the_next(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".r.json.{int(dead.stdout)}.0123abcd{TEMP_SUFFIX}"
    stale.write_text("half")
    mine = tmp_path / f".r.json.{os.getpid()}.0123abcd{TEMP_SUFFIX}"
    mine.write_text("in use")
    other = tmp_path / ".not-ours.tmp"
    other.write_text("keep")
    write_output(tmp_path / "r.json", "{}")
    assert not stale.exists() and mine.exists() and other.exists()


# ----------------------------------------------------------------------------- strict JSON, reads

def test_json_is_strict() -> None:
    with pytest.raises(InternalError, match=r"layers\[1\]\.cycles is inf"):
        json_text({"layers": [{}, {"cycles": float("inf")}]}, what="report")
    assert json_text({"e": float("nan")}, what="x", indent=None, nonfinite="null") == '{"e": null}\n'


def test_an_endless_input_is_refused_not_read(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    with pytest.raises(UserError, match="larger than hwsim reads"):
        read_text("/dev/zero", "config file")  # reading /dev/zero is safe on any machine
    assert main(["estimate", "/dev/zero"]) == 2

"""Run one fuzz case against ``hwsim`` and classify what happened against the CLI contract.

The contract (docs/cli.md, issue 17): exit 0 on success, 1 when a verification fails, 2 on a user
error (exactly one stderr line starting ``error:``, short, control characters escaped), 3 on an
internal error (one line); never a traceback; no partial output file left behind; never replace a
special file (a FIFO, a symlink, /dev/null) with a regular file; JSON output is strict JSON.

A :class:`Case` is self-contained: the files it needs, the argv (paths relative to a fresh
temporary directory used as the working directory), FIFOs and symlinks to create first. Two ways
to run one:

* :func:`run_subprocess`: ``python -m hwsim ...`` in a child with a timeout, an address-space cap
  and its own process group (killed whole on timeout). Cases whose argv names ``/dev/...`` (or
  whose stdout is ``/dev/full``) run inside ``unshare --mount`` with a private tmpfs on ``/dev``
  holding fresh device nodes, so the machine's real ``/dev`` is never touched; without that
  namespace such cases are refused.
* :func:`run_inprocess`: ``hwsim.cli.main(argv)`` in this process with stdout/stderr captured,
  ``SystemExit`` caught, an alarm-based timeout and a temporary address-space cap: ~10x faster,
  what the pytest file uses. It never runs ``/dev`` cases.

:func:`classify` turns the raw observation into flags and a primary verdict; :func:`signature`
gives the normalized string used to deduplicate failures.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import resource
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

__all__ = ["Case", "Outcome", "run_subprocess", "run_inprocess", "run_case", "classify", "signature",
           "namespace_available", "VERDICTS", "MAX_LINE"]

#: Longest acceptable error line (the contract says "at most ~200 characters").
MAX_LINE = 200
#: Address-space cap for the hwsim child (bytes): a refused huge allocation is a MemoryError, not an OOM kill.
MEMORY_LIMIT = 6 << 30
#: Largest file the child may write (bytes): a runaway writer gets SIGXFSZ/EFBIG instead of filling the disk.
FILE_LIMIT = 1 << 30

#: Every flag a case can get, most severe first; the first one present is the case's primary verdict.
VERDICTS = (
    "timeout", "crash", "traceback", "replaced-special", "bad-exit", "unexpected-exit", "internal-3", "bad-json",
    "leftover-files", "multi-line", "no-error-prefix", "too-long", "control-chars", "silent-nan",
    "stderr-warning", "leftover-dir", "ok-0", "ok-1", "user-error-2",
)
FAILURES = frozenset(VERDICTS[: VERDICTS.index("leftover-dir") + 1])

_TRACEBACK = "Traceback (most recent call last)"
# Raw control characters that must not reach a terminal (tab and newline are fine).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
_WARNING = re.compile(r"\b\w*Warning\b:|^\s*warnings\.warn", re.M)


@dataclass
class Case:
    """One self-contained run of ``hwsim``."""

    kind: str                      # model | run | config | cmdline | npy | known
    seed: int
    desc: str                      # what was mutated, human-readable
    argv: list[str]                # hwsim's arguments; paths relative to the case directory
    files: dict[str, bytes] = field(default_factory=dict)    # written before the run (may be in subfolders)
    dirs: list[str] = field(default_factory=list)            # folders created before the run
    fifos: list[str] = field(default_factory=list)           # named pipes created before the run
    symlinks: dict[str, str] = field(default_factory=dict)   # link name -> target (as given to symlink())
    stdin: bytes = b""
    stdout_full: bool = False      # stdout is /dev/full (needs the /dev namespace)
    binary_stdout: bool = False    # stdout carries binary data (run --output -): skip the text checks on it
    timeout: float = 60.0
    allowed: tuple[int, ...] = (0, 2)   # acceptable exit codes (verify adds 1)
    nonfinite_input: bool = False  # the inputs hold NaN/Inf: exit 0 under int8 is suspicious
    meta: dict[str, Any] = field(default_factory=dict)       # anything the generator wants to record

    @property
    def needs_dev(self) -> bool:
        return self.stdout_full or any("/dev/" in a or a == "/dev" for a in self.argv)

    def size(self) -> int:
        return sum(len(v) for v in self.files.values()) + len(self.stdin)

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "seed": self.seed, "desc": self.desc, "argv": self.argv,
                "stdout_full": self.stdout_full, "fifos": self.fifos, "symlinks": self.symlinks,
                "files": {k: len(v) for k, v in self.files.items()}}

    # ---------------------------------------------------------------------------------- on disk

    def materialize(self, root: Path) -> None:
        for d in self.dirs:
            (root / d).mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        for name in self.fifos:
            os.mkfifo(root / name)
        for name, target in self.symlinks.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, root / name)

    def save_reproducer(self, folder: Path, python: str = "python", note: str = "") -> None:
        """Write the case's files under ``folder/files`` and a ``cmd.sh`` that replays it in a temp dir."""
        if folder.exists():
            shutil.rmtree(folder)
        files = folder / "files"
        files.mkdir(parents=True)
        for d in self.dirs:
            (files / d).mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            (files / name).parent.mkdir(parents=True, exist_ok=True)
            (files / name).write_bytes(data)
        if self.stdin:
            (folder / "stdin.bin").write_bytes(self.stdin)
        lines = ["#!/bin/sh", "# Reproducer written by the hwsim fuzz harness. " + note.replace("\n", " "),
                 "# Runs in a fresh temporary directory; set PYTHON to the interpreter that has hwsim.",
                 'here="$(cd "$(dirname "$0")" && pwd)"', 'd="$(mktemp -d)"', 'cp -a "$here/files/." "$d"',
                 'cd "$d"']
        lines += [f"mkfifo {shlex.quote(n)}" for n in self.fifos]
        lines += [f"ln -s {shlex.quote(t)} {shlex.quote(n)}" for n, t in self.symlinks.items()]
        cmd = 'timeout 120 "${PYTHON:-' + python + '}" -m hwsim ' + " ".join(shlex.quote(a) for a in self.argv)
        if self.stdin:
            cmd += ' < "$here/stdin.bin"'
        elif not self.fifos:
            cmd += " < /dev/null"
        if self.needs_dev:
            lines.append("# names /dev: run it in a private mount namespace with a throw-away /dev (needs root)")
            inner = _DEV_SCRIPT.replace("'", "'\\''")
            lines.append(f"exec unshare --mount --propagation private /bin/sh -c '{inner}' sh "
                         f"\"${{PYTHON:-{python}}}\" -m hwsim " + " ".join(shlex.quote(a) for a in self.argv))
        else:
            lines.append(cmd)
            lines.append('echo "exit $?; files in $d:" >&2; ls -laR "$d" >&2')
        (folder / "cmd.sh").write_text("\n".join(lines) + "\n")
        os.chmod(folder / "cmd.sh", 0o755)
        (folder / "case.json").write_text(json.dumps(self.to_record(), indent=1) + "\n")


@dataclass
class Outcome:
    rc: int | None                 # None: timed out
    stdout: bytes
    stderr: str
    elapsed: float
    new_files: list[str]           # regular files that did not exist before (or changed), relative
    new_dirs: list[str]
    hidden_tmp: list[str]          # temporaries left behind (.name.XXXX.tmp and friends)
    bad_json: list[str]            # "path: reason"
    replaced: list[str]            # "path: was fifo, now regular file"
    timed_out: bool = False
    debug_frame: str = ""          # with a HWSIM_DEBUG=1 rerun: the innermost project frame
    debug_exc: str = ""
    flags: list[str] = field(default_factory=list)
    verdict: str = ""

    def to_record(self) -> dict[str, Any]:
        d = asdict(self)
        d["stdout"] = self.stdout[:300].decode("utf-8", "replace")
        d["stderr"] = self.stderr[:2000]
        return d


# ------------------------------------------------------------------------------------ snapshots

def _snapshot(root: Path) -> dict[str, tuple]:
    """path -> (type, size, mtime_ns, inode, link target, sha1 of small regular files)."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            try:
                st = os.lstat(p)
            except OSError:
                continue
            kind = ("link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else
                    "fifo" if stat.S_ISFIFO(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other")
            target = os.readlink(p) if kind == "link" else ""
            digest = ""
            if kind == "file" and st.st_size <= (1 << 20):
                try:
                    digest = hashlib.sha1(p.read_bytes()).hexdigest()
                except OSError:
                    pass
            out[rel] = (kind, st.st_size, st.st_mtime_ns, st.st_ino, target, digest)
    return out


def _is_tmp(rel: str, named: Sequence[str] = ()) -> bool:
    """A temporary someone left: a hidden or temporary-looking file that the command line did not name."""
    name = Path(rel).name
    if any(os.path.normpath(rel) == os.path.normpath(a) for a in named):
        return False
    return name.startswith(".") or name.endswith((".tmp", ".part", "~")) or ".tmp" in name


def _flag_values(argv: Sequence[str], flag: str) -> list[str]:
    out = []
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            out.append(argv[i + 1])
        elif a.startswith(flag + "="):
            out.append(a[len(flag) + 1:])
    return out


def _json_targets(argv: Sequence[str]) -> bool:
    """Does the argv send JSON to standard output? (A repeated flag's last value is the one used.)"""
    return any(values[-1] == "-" for values in (_flag_values(argv, "--json"), _flag_values(argv, "--report"))
               if values)


def json_outputs(argv: Sequence[str]) -> set[str]:
    """The files (normalized, relative to the case directory) the argv asks to be written as JSON."""
    paths = [p for p in _flag_values(argv, "--json") + _flag_values(argv, "--report") if p and p != "-"]
    command = next((a for a in argv if not a.startswith("-")), "")
    for out in _flag_values(argv, "--out"):
        if command == "sweep":
            paths.append(os.path.join(out, "results.json"))
        elif command == "rtl":
            paths += [os.path.join(out, "manifest.json"), os.path.join(out, "synth.json")]
    return {os.path.normpath(p) for p in paths if not os.path.isabs(p)}


def _strict_json(data: bytes) -> str:
    """'' if ``data`` is strict JSON, else the reason."""
    def reject(token: str) -> Any:
        raise ValueError(f"non-standard constant {token}")
    try:
        json.loads(data.decode("utf-8"), parse_constant=reject)
    except UnicodeDecodeError:
        return "not UTF-8"
    except ValueError as e:
        return str(e).splitlines()[0][:120]
    return ""


def _compare(case: Case, root: Path, before: dict[str, tuple], after: dict[str, tuple], stdout: bytes,
             devcheck: str) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    new_files, new_dirs, hidden, bad_json, replaced = [], [], [], [], []
    wanted_json = json_outputs(case.argv)
    for rel, info in after.items():
        old = before.get(rel)
        if info[0] == "dir":
            if old is None:
                new_dirs.append(rel)
            continue
        changed = old is None or old[0] != info[0] or (info[0] == "file" and (old[1:3] != info[1:3] or old[5] != info[5]))
        if not changed:
            continue
        if info[0] in ("file", "other"):
            new_files.append(rel)
            if _is_tmp(rel, case.argv) and old is None:
                hidden.append(rel)
            if os.path.normpath(rel) in wanted_json:
                try:
                    reason = _strict_json((root / rel).read_bytes())
                except OSError as e:
                    reason = f"unreadable ({e.strerror})"
                if reason:
                    bad_json.append(f"{rel}: {reason}")
    # Special files the case created: still what they were?
    for rel in list(case.fifos) + list(case.symlinks):
        old, new = before.get(rel), after.get(rel)
        if old is None:
            continue
        if new is None:
            replaced.append(f"{rel}: was {old[0]}, now removed")
        elif new[0] != old[0]:
            replaced.append(f"{rel}: was {old[0]}, now {new[0]}")
        elif old[0] == "link" and new[4] != old[4]:
            replaced.append(f"{rel}: symlink now points to {new[4]}")
        elif old[3] != new[3]:
            replaced.append(f"{rel}: {old[0]} re-created (new inode)")
    if devcheck:
        for line in devcheck.splitlines():
            name, _, kind = line.partition(" ")
            if kind and kind != "character special file":
                replaced.append(f"{name}: was a character device, now {kind}")
    if _json_targets(case.argv) and not case.binary_stdout and stdout.strip():
        reason = _strict_json(stdout)
        if reason:
            bad_json.append(f"<stdout>: {reason}")
    return new_files, new_dirs, hidden, bad_json, replaced


# -------------------------------------------------------------------------------- /dev namespace

# Mount a throw-away /dev (tmpfs, private to this mount namespace) with fresh device nodes, run the
# command, then report what /dev/null and /dev/full have become into $HWSIM_FUZZ_DEVCHECK.
_DEV_SCRIPT = r"""
set -e
mount -t tmpfs -o mode=755,size=64m fuzzdev /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/full c 1 7; mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9
mkdir -m 1777 /dev/shm
ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
set +e
if [ "${HWSIM_FUZZ_STDOUT_FULL:-}" = 1 ]; then "$@" > /dev/full; else "$@"; fi
rc=$?
if [ -n "${HWSIM_FUZZ_DEVCHECK:-}" ]; then stat -c '%n %F' /dev/null /dev/full /dev/zero > "$HWSIM_FUZZ_DEVCHECK" 2>&1; fi
exit $rc
"""

#: The script above, for tests that run their own commands in such a namespace.
DEV_SCRIPT = _DEV_SCRIPT
_NS_OK: bool | None = None


def namespace_available() -> bool:
    """Can we make a private mount namespace with our own /dev? (root and a working unshare)"""
    global _NS_OK
    if _NS_OK is None:
        _NS_OK = False
        if os.geteuid() == 0 and shutil.which("unshare"):
            try:
                p = subprocess.run(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                                    _DEV_SCRIPT, "sh", "/bin/sh", "-c", "test -c /dev/null && echo ok > /dev/null"],
                                   capture_output=True, timeout=20)
                _NS_OK = p.returncode == 0
            except (OSError, subprocess.SubprocessError):
                _NS_OK = False
    return _NS_OK


def _real_dev_intact() -> None:
    for p in ("/dev/null", "/dev/full"):
        if os.path.exists(p) and not stat.S_ISCHR(os.stat(p).st_mode):
            raise SystemExit(f"fuzz harness: {p} on this machine is no longer a character device; stopping")


# ----------------------------------------------------------------------------------- subprocess

def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def child_env(debug: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HWSIM_", "PYTHON"))}
    env.update({"MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
                "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "LC_ALL": "C.UTF-8", "COLUMNS": "100"})
    env.setdefault("MPLCONFIGDIR", str(Path(tempfile.gettempdir()) / "hwsim-fuzz-mplconfig"))
    if debug:
        env["HWSIM_DEBUG"] = "1"
    return env


def _spawn(case: Case, cwd: Path, python: str, env: dict[str, str], devcheck: Path | None) -> tuple[int | None, bytes, bytes, bool]:
    cmd = [python, "-m", "hwsim", *case.argv]
    if case.needs_dev:
        if not namespace_available():
            raise RuntimeError("case names /dev but no private mount namespace is available; refusing to run it")
        env = dict(env, HWSIM_FUZZ_STDOUT_FULL="1" if case.stdout_full else "",
                   HWSIM_FUZZ_DEVCHECK=str(devcheck) if devcheck else "")
        cmd = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", _DEV_SCRIPT, "sh", *cmd]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=_limits, start_new_session=True)
    try:
        out, err = proc.communicate(case.stdin, timeout=case.timeout)
        return proc.returncode, out, err, False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err, True
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers (sweep workers) of this case only


def _project_frame(tb_text: str) -> tuple[str, str]:
    """(innermost frame inside the project, last line) of a traceback."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', tb_text)
    proj = [f for f in frames if re.search(r"(^|/)(compiler|hwsim|rtl)/", f[0]) and "/site-packages/" not in f[0]]
    pick = proj[-1] if proj else (frames[-1] if frames else None)
    where = ""
    if pick:
        path = pick[0]
        for top in ("compiler/", "hwsim/", "rtl/"):
            i = path.rfind("/" + top)
            if i >= 0:
                path = path[i + 1:]
                break
        else:
            path = Path(path).name
        where = f"{path}:{pick[2]}"
    lines = [ln for ln in tb_text.strip().splitlines() if ln.strip()]
    return where, (lines[-1] if lines else "")


def run_subprocess(case: Case, python: str = sys.executable, *, debug_rerun: bool = True,
                   workdir: str | None = None) -> Outcome:
    """Run ``python -m hwsim`` on the case in a fresh temporary directory and classify the result."""
    with tempfile.TemporaryDirectory(prefix="hwsim-fuzz-", dir=workdir) as tmp:
        root = Path(tmp) / "case"
        root.mkdir()
        case.materialize(root)
        before = _snapshot(root)
        devcheck = Path(tmp) / "devcheck.txt" if case.needs_dev else None
        start = time.monotonic()
        rc, out, err, timed_out = _spawn(case, root, python, child_env(), devcheck)
        elapsed = time.monotonic() - start
        if case.needs_dev:
            _real_dev_intact()
        after = _snapshot(root)
        dev_text = devcheck.read_text() if devcheck and devcheck.exists() else ""
        new_files, new_dirs, hidden, bad_json, replaced = _compare(case, root, before, after, out, dev_text)
    outcome = Outcome(rc, out, err.decode("utf-8", "replace"), elapsed, new_files, new_dirs, hidden, bad_json,
                      replaced, timed_out)
    if debug_rerun and rc == 3:
        # Once more with HWSIM_DEBUG=1 to learn where the internal error comes from.
        with tempfile.TemporaryDirectory(prefix="hwsim-fuzz-dbg-", dir=workdir) as tmp:
            root = Path(tmp) / "case"
            root.mkdir()
            case.materialize(root)
            _, _, derr, _ = _spawn(case, root, python, child_env(debug=True), None)
        outcome.debug_frame, outcome.debug_exc = _project_frame(derr.decode("utf-8", "replace"))
    classify(case, outcome)
    return outcome


# ----------------------------------------------------------------------------------- in-process

class _Alarm(BaseException):
    pass


@contextlib.contextmanager
def _address_cap(extra: int = 4 << 30):
    """Temporarily lower this process's soft RLIMIT_AS to (current size + extra)."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/status") as status:
            vm = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        cap = vm + extra
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (OSError, ValueError, StopIteration):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def run_inprocess(case: Case, *, debug_rerun: bool = True) -> Outcome:
    """Call ``hwsim.cli.main(argv)`` here, with captured streams, in a fresh temp dir; classify."""
    if case.needs_dev:
        raise RuntimeError("in-process mode never runs cases that name /dev")
    if case.fifos:
        raise RuntimeError("in-process mode cannot run FIFO cases (a blocked open cannot be interrupted)")
    from hwsim.cli import main

    saved = sys.stdin, sys.stdout, sys.stderr, os.getcwd(), os.environ.get("HWSIM_DEBUG")
    os.environ.pop("HWSIM_DEBUG", None)
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out_bytes, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
    stdin = io.TextIOWrapper(io.BytesIO(case.stdin), encoding="utf-8")
    timed_out = False
    rc: int | None

    def alarm(signum, frame):
        raise _Alarm()

    with tempfile.TemporaryDirectory(prefix="hwsim-fuzz-") as tmp:
        root = Path(tmp) / "case"
        root.mkdir()
        case.materialize(root)
        before = _snapshot(root)
        old_handler = signal.signal(signal.SIGALRM, alarm)
        start = time.monotonic()
        try:
            os.chdir(root)
            sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
            signal.setitimer(signal.ITIMER_REAL, case.timeout)
            with _address_cap(), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")  # as a fresh interpreter would show them
                try:
                    rc = main(list(case.argv))
                except SystemExit as e:
                    rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                    if not isinstance(e.code, int) and e.code is not None:
                        print(e.code, file=sys.stderr)
                except _Alarm:
                    rc, timed_out = None, True
                except BaseException:  # noqa: BLE001 - an escaped exception is exactly what we look for
                    sys.stderr.write(traceback.format_exc())
                    rc = 1
                for w in caught:
                    sys.stderr.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
            with contextlib.suppress(Exception):
                sys.stdout.flush()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
            sys.stdin, sys.stdout, sys.stderr = saved[0], saved[1], saved[2]
            os.chdir(saved[3])
            if saved[4] is not None:
                os.environ["HWSIM_DEBUG"] = saved[4]
        elapsed = time.monotonic() - start
        after = _snapshot(root)
        out = out_bytes.getvalue()
        new_files, new_dirs, hidden, bad_json, replaced = _compare(case, root, before, after, out, "")
    outcome = Outcome(rc, out, err_bytes.getvalue().decode("utf-8", "replace"), elapsed, new_files, new_dirs,
                      hidden, bad_json, replaced, timed_out)
    if _TRACEBACK in outcome.stderr:
        outcome.debug_frame, outcome.debug_exc = _project_frame(outcome.stderr)
    elif rc == 3 and debug_rerun:
        outcome.debug_frame, outcome.debug_exc = _inprocess_debug(case)
    classify(case, outcome)
    return outcome


def _inprocess_debug(case: Case) -> tuple[str, str]:
    """Run an internal-error case again with HWSIM_DEBUG=1 (main re-raises): where was it raised?"""
    from hwsim.cli import main

    saved = sys.stdout, sys.stderr, sys.stdin, os.getcwd()
    text = ""
    with tempfile.TemporaryDirectory(prefix="hwsim-fuzz-dbg-") as tmp:
        root = Path(tmp) / "case"
        root.mkdir()
        case.materialize(root)
        os.environ["HWSIM_DEBUG"] = "1"
        try:
            os.chdir(root)
            sys.stdout = sys.stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
            sys.stdin = io.TextIOWrapper(io.BytesIO(case.stdin), encoding="utf-8")
            with _address_cap(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    main(list(case.argv))
                except SystemExit:
                    pass
                except Exception:  # noqa: BLE001
                    text = traceback.format_exc()
        finally:
            os.environ.pop("HWSIM_DEBUG", None)
            sys.stdout, sys.stderr, sys.stdin = saved[0], saved[1], saved[2]
            os.chdir(saved[3])
    return _project_frame(text) if text else ("", "")


def run_case(case: Case, mode: str = "subprocess", python: str = sys.executable) -> Outcome:
    return run_inprocess(case) if mode == "inprocess" else run_subprocess(case, python)


# ------------------------------------------------------------------------------------- verdicts

def classify(case: Case, o: Outcome) -> None:
    """Set ``o.flags`` (every contract violation seen) and ``o.verdict`` (the most severe)."""
    flags: list[str] = []
    err_lines = [ln for ln in o.stderr.splitlines() if ln.strip()]
    text_out = "" if case.binary_stdout else o.stdout.decode("utf-8", "replace")
    if o.timed_out:
        flags.append("timeout")
    elif o.rc is not None and o.rc < 0:
        flags.append("crash")
    if _TRACEBACK in o.stderr or _TRACEBACK in text_out:
        flags.append("traceback")
    if o.replaced:
        flags.append("replaced-special")
    if o.rc is not None and o.rc >= 0 and o.rc not in (*case.allowed, 3):
        flags.append("bad-exit")
    expect = case.meta.get("expect")
    if expect is not None and o.rc not in expect and o.rc != 3 and not o.timed_out:
        flags.append("unexpected-exit")   # e.g. a bad value silently accepted (exit 0 where 2 is due)
    if o.rc == 3:
        flags.append("internal-3")
    if o.bad_json:
        flags.append("bad-json")
    failed = o.rc not in (0, 1) or o.timed_out
    if o.hidden_tmp or (failed and o.new_files):
        flags.append("leftover-files")
    if o.rc in (2, 3):
        if len(err_lines) > 1:
            flags.append("multi-line")
        first = next((ln for ln in err_lines if ln.startswith("error:")), err_lines[0] if err_lines else "")
        if not err_lines or not err_lines[-1].startswith("error:") and not err_lines[0].startswith("error:"):
            flags.append("no-error-prefix")
        if len(first) > MAX_LINE:
            flags.append("too-long")
    if _CONTROL.search(o.stderr) or _CONTROL.search(text_out):
        flags.append("control-chars")
    if case.nonfinite_input and o.rc == 0 and "int8" in case.argv:
        flags.append("silent-nan")
    if o.rc == 0 and _WARNING.search(o.stderr) and "traceback" not in flags:
        flags.append("stderr-warning")
    if failed and o.new_dirs and "leftover-files" not in flags:
        flags.append("leftover-dir")
    if o.rc == 0:
        flags.append("ok-0")
    elif o.rc == 1 and 1 in case.allowed:
        flags.append("ok-1")
    elif o.rc == 2:
        flags.append("user-error-2")
    o.flags = [v for v in VERDICTS if v in flags]
    o.verdict = o.flags[0] if o.flags else "?"


# ------------------------------------------------------------------------------------ signatures

_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_PATHISH = re.compile(r"(?<![\w])(?:[\w.\-~%€]*/)+[\w.\-~%€]*|[\w.\-]+\.(?:onnx|toml|npy|npz|json|csv|png|cfg|v|bin|weights|txt)\b")
_NUMBER = re.compile(r"[-+]?(?:\d[\d_,]*\.?\d*(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?)|\b(?:nan|inf|infinity)\b", re.I)
_LONGRUN = re.compile(r"(.)\1{8,}")


def normalize(line: str) -> str:
    """The first error line with names, paths and numbers replaced, for deduplication."""
    s = line.strip()
    s = _CONTROL.sub("?", s)
    s = re.sub(r"\b0x[0-9a-fA-F]+\b", "X", s)
    s = _QUOTED.sub("'S'", s)
    s = _PATHISH.sub("P", s)
    s = _NUMBER.sub("N", s)
    s = _LONGRUN.sub(r"\1…", s)
    s = re.sub(r"\((?:N,? ?)+\)|\[(?:N,? ?)+\]", "[N]", s)
    s = re.sub(r"\s+", " ", s)
    return s[:180]


def _command(argv: Sequence[str]) -> str:
    return next((a for a in argv if not a.startswith("-")), "(none)") if argv else "(none)"


def facts(case: Case, o: Outcome) -> dict[str, Any]:
    """What :func:`signature_of` needs, as plain data (also stored in the campaign's records)."""
    err_lines = [ln for ln in o.stderr.splitlines() if ln.strip()]
    first = next((ln for ln in err_lines if ln.startswith("error:")), err_lines[0] if err_lines else "")
    text_out = "" if case.binary_stdout else o.stdout.decode("utf-8", "replace")
    where, last = _project_frame(o.stderr) if _TRACEBACK in o.stderr else ("", "")
    return {"verdict": o.verdict, "argv": list(case.argv), "rc": o.rc, "stderr_first": first,
            "stderr_tail": err_lines[-1] if err_lines else "", "debug_frame": o.debug_frame or where,
            "debug_exc": o.debug_exc or last, "replaced": o.replaced, "bad_json": o.bad_json, "new_files": o.new_files,
            "control_in": ("stderr" if _CONTROL.search(o.stderr) else "") + ("stdout" if _CONTROL.search(text_out) else ""),
            "meta": {k: v for k, v in case.meta.items() if isinstance(v, (str, int, float, tuple, list))}}


def template(line: str) -> str:
    """:func:`normalize`, and operator names before 'node' collapsed (one message, whatever the op)."""
    s = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07?", "<ESC>", line)
    s = normalize(s)
    return re.sub(r"(?<!\S)[\w?\[<>…]+ (\(domain 'S'\) )?node 'S'", r"OP \1node 'S'", s)


def signature(case: Case, o: Outcome) -> str:
    """A short string naming this kind of failure: verdict, command, and what went wrong."""
    return signature_of(facts(case, o))


def signature_of(f: dict[str, Any]) -> str:
    """The signature from :func:`facts` (or a campaign record). Internal errors are identified by
    exception type and the innermost project frame; the rest by the message template."""
    cmd, v, rc, first = _command(f["argv"]), f["verdict"], f["rc"], f["stderr_first"]
    meta = f.get("meta") or {}
    stem = lambda line, n=70: re.sub(r"unknown key [^;]*;", "unknown key K;", template(line))[:n]
    if v == "timeout":
        return f"timeout | {cmd} | {meta.get('family') or '?'}"
    if v == "crash":
        return f"crash | {cmd} | signal {-rc if rc else '?'}"
    if v in ("internal-3", "traceback"):
        m = re.search(r"internal error \((\w+)", first)
        exc = f.get("debug_exc") or ""
        etype = m.group(1) if m else (exc.split(":")[0].split(".")[-1] or "?")
        if etype in ("OSError", "RuntimeError") and "name too long" in (first + exc).lower():
            etype += " ENAMETOOLONG"
        frame = f.get("debug_frame") or ""
        # The same exception raised at the same place is one bug, whichever command reached it.
        return f"{v} | {etype} at {frame}" if frame else f"{v} | {cmd} | {etype} at ? | {stem(first, 90)}"
    if v == "replaced-special":
        kinds = sorted({r.split(":", 1)[1].strip().split(",")[0] for r in f["replaced"]})
        argv = f["argv"]
        special = next((a for a in argv if a in ("fifo", "link.json", "dangling.json", "dirlink")
                        or a.startswith("/dev/")), "?")
        flag = next((argv[i - 1] for i, a in enumerate(argv) if a == special and i), "")
        return f"replaced-special | {cmd} {flag} <{'symlink' if 'link' in special else special}> | {'; '.join(kinds)}"
    if v == "unexpected-exit":
        return f"unexpected-exit {rc} | {cmd} | {meta.get('known') or f.get('known') or f.get('desc', '?')[:80]}"
    if v == "bad-exit":
        tail = f.get("stderr_tail") or ""
        return f"bad-exit {rc} | {cmd} | {template(tail) or template(first)}"
    if v == "bad-json":
        what = sorted({re.sub(r"^.*?([\w-]+\.json|<stdout>):.*$", r"\1", b) for b in f["bad_json"]})
        reasons = sorted({normalize(b.rsplit(":", 1)[-1]) for b in f["bad_json"]})
        return f"bad-json | {cmd} | {', '.join(what)} | {'; '.join(reasons)}"
    if v == "leftover-files":
        left = sorted({re.sub(r"^\.(.+)\.\w+\.tmp$", r".\1.XXXX.tmp", Path(p).name) for p in f["new_files"]})[:3]
        return f"leftover-files | {cmd} | rc {rc} | left {', '.join(left)} | {template(first)}"
    if v == "control-chars":
        where = f.get("control_in") or ("stderr" if _CONTROL.search(first) else "stdout")
        what = ("the report on stdout" if where == "stdout" else "a config key echoed" if "unknown key" in first
                else "a model/node name echoed" if " node " in first or "model" in first else stem(first, 40))
        return f"control-chars | rc {rc} | raw in {where} | {what}"
    if v == "too-long":
        return f"too-long | {stem(first, 45)}"
    if v in ("multi-line", "no-error-prefix", "stderr-warning", "silent-nan", "leftover-dir"):
        return f"{v} | {cmd} | rc {rc} | {template(first) or '(no stderr)'}"
    return f"{v} | {cmd}"

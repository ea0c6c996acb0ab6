"""Reading users' files, and writing a command's outputs all or none, never over a special file.

Every file a command writes goes through one :class:`OutputSet`::

    with OutputSet() as outputs:
        outputs.check("report.json", "--json")      # before the work: a bad path fails early
        ...                                         # the work
        outputs.stage("report.json", text)          # written to a temporary beside the target
        outputs.stage("-", table)                   # standard output, written at commit
        outputs.commit()                            # all at once; leaving the block without it undoes all

What a target is decides how it is written (docs/cli.md#output-files):

* a regular file, or a name that does not exist yet: the bytes go to a temporary file beside it,
  ``.NAME.PID.RANDOM.hwsim-tmp``, renamed over the target at commit, so no reader ever sees half
  a file and a failure leaves the old file as it was;
* a symbolic link: followed; the file it points to is replaced as above and the link stays;
* a character device (``/dev/null``, a terminal) or a named pipe: written in place at commit, never
  replaced (a pipe with no reader is an error rather than a hang); a block device, a socket or a
  folder is refused;
* ``-`` (or ``/dev/stdout``, ``/dev/fd/N``): standard output (descriptor N), written at commit.

A failure anywhere (a full disk, a missing folder, an error of the command itself, Ctrl-C or
SIGTERM, which the command line turns into exceptions) removes every staged temporary and every
folder the set created, so a command leaves either all its outputs or none. Catchable signals
that arrive during the commit wait for it to finish. Only SIGKILL (or a power cut) can leave a
temporary behind; its name says which process wrote it, and the next output written into the same
folder removes the temporaries of processes that are gone.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import secrets
import signal
import stat
import tomllib
import sys
import threading
from pathlib import Path
from typing import Any

from .errors import InternalError, UserError, shown

__all__ = ["OutputSet", "write_output", "json_text", "parse_json", "read_text", "read_bytes", "os_error",
           "silence_stdout", "TEMP_SUFFIX", "TEXT_LIMIT"]

#: The ending of every temporary file an :class:`OutputSet` stages.
TEMP_SUFFIX = ".hwsim-tmp"
_TEMP_NAME = re.compile(r"^\..*\.(\d+)\.[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + "$")
#: Names of this process's own open files, written to the descriptor rather than replaced.
_DESCRIPTOR = re.compile(r"^/dev/(stdin|stdout|stderr)$|^/(?:dev/fd|proc/self/fd)/(\d+)$")
#: Largest text input (config, topology, report) read: 64 MiB; a device like /dev/zero stops there.
TEXT_LIMIT = 64 << 20
#: The signals an OutputSet's commit holds back until it is done.
_DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: errno -> what a user can do about it. Any of these on a user's path is exit 2, not a bug.
_HINTS = {
    errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
    errno.EFBIG: "file too large for the file system or the process's limit (ulimit -f)",
    errno.EACCES: "permission denied; choose a path you may write, or change its permissions",
    errno.EPERM: "operation not permitted; choose another path",
    errno.EROFS: "read-only file system; write elsewhere",
    errno.ENAMETOOLONG: "file name too long; choose a shorter name",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "is a folder; give a file name",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EEXIST: "already exists",
    errno.ENXIO: "no such device, or a named pipe with no reader",
    errno.ETXTBSY: "the file is busy",
    errno.EBUSY: "the file or device is busy",
    errno.ENODEV: "no such device",
    errno.EXDEV: "crosses file systems",
    errno.EIO: "input/output error on the device",
    errno.EMFILE: "too many open files (ulimit -n)",
    errno.ENOTEMPTY: "folder not empty",
}


def os_error(exc: OSError, path: Any, action: str) -> UserError | Exception:
    """The one-line error for ``exc`` raised while ``action`` (``"write"``, ``"read the config file"``)
    on the user's ``path``: a :class:`UserError` for the errors a user can fix, else ``exc`` itself."""
    hint = _HINTS.get(exc.errno or 0)
    if hint is None:
        return exc
    where = "standard output" if str(path) == "-" else shown(path, 80)
    return UserError(f"{where}: cannot {action}: {hint}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _remove_stale_temporaries(directory: Path) -> None:
    """Delete the temporaries of earlier runs in ``directory`` whose process is gone (a SIGKILL)."""
    try:
        names = [e.name for e in os.scandir(directory) if e.name.endswith(TEMP_SUFFIX)]
    except OSError:
        return
    for name in names:
        m = _TEMP_NAME.match(name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            try:
                os.unlink(directory / name)
            except OSError:
                pass


class _Target:
    """One output: where its bytes go and how (``kind``: replace, inplace, stdout)."""

    def __init__(self, path: str, flag: str) -> None:
        self.path = path
        self.flag = flag
        self.data = b""
        self.tmp: Path | None = None
        self.mode = 0o666
        self.fd = 1
        if path == "-":
            self.kind, self.real = "stdout", None
            return
        if path == "":
            raise UserError(f"{flag}: an empty path; give a file name (or '-' for standard output)")
        fd = _DESCRIPTOR.match(path)
        if fd:  # /dev/stdout, /dev/fd/N, /proc/self/fd/N: this process's open file, written as it is
            self.fd = {"stdin": 0, "stdout": 1, "stderr": 2}.get(fd.group(1)) or int(fd.group(2))
            try:
                os.fstat(self.fd)
            except OSError:
                raise UserError(f"{flag} {shown(path)}: file descriptor {self.fd} is not open") from None
            self.kind, self.real = "stdout" if self.fd == 1 else "descriptor", None
            return
        real = Path(os.path.realpath(path))  # follows symbolic links, dangling ones to where they point
        try:
            st = os.stat(real)
        except FileNotFoundError:
            st = None
        except OSError as e:
            raise _as_user(e, path, "write") from None
        self.real = real
        if st is None:
            if not real.parent.is_dir():
                where = f" (where the link points, {shown(real)})" if os.path.islink(path) else ""
                raise UserError(f"{flag} {shown(path)}: its folder does not exist{where}; create it or choose another"
                                " path")
            self.kind = "replace"
            umask = os.umask(0)
            os.umask(umask)
            self.mode = 0o666 & ~umask
        elif stat.S_ISREG(st.st_mode):
            self.kind = "replace"
            self.mode = stat.S_IMODE(st.st_mode)
        elif stat.S_ISDIR(st.st_mode):
            raise UserError(f"{flag} {shown(path)}: is a folder; give a file name")
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            self.kind = "inplace"
        else:
            what = "a block device" if stat.S_ISBLK(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) \
                else "not a regular file"
            raise UserError(f"{flag} {shown(path)}: is {what}; refusing to write an output onto it")

    def stage(self, data: bytes) -> None:
        self.data = data
        if self.kind != "replace":
            return
        assert self.real is not None
        directory = self.real.parent
        _remove_stale_temporaries(directory)
        name = f".{self.real.name[:100]}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        tmp = directory / name
        # Known before it exists: a signal arriving just after the file is created must find it to remove it.
        self.tmp = tmp
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as e:
            self.tmp = None  # not ours: O_EXCL failed or nothing was created
            raise _as_user(e, self.path, "write") from None
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fchmod(fd, self.mode)
            finally:
                os.close(fd)
        except OSError as e:
            self.discard()
            raise _as_user(e, self.path, "write") from None

    def write_inplace(self) -> None:
        assert self.real is not None
        flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
        is_fifo = stat.S_ISFIFO(os.stat(self.real).st_mode)
        try:
            # A named pipe opened without a reader would block forever: ask, and fail instead.
            fd = os.open(self.real, flags | (os.O_NONBLOCK if is_fifo else 0))
        except OSError as e:
            if is_fifo and e.errno == errno.ENXIO:
                raise UserError(f"{self.flag} {shown(self.path)}: a named pipe with no reader; start the reader "
                                "first, or write to a file") from None
            raise _as_user(e, self.path, "write") from None
        try:
            if is_fifo:
                os.set_blocking(fd, True)
            view = memoryview(self.data)
            while view:
                view = view[os.write(fd, view):]
        except OSError as e:
            raise _as_user(e, self.path, "write") from None
        finally:
            os.close(fd)

    def discard(self) -> None:
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None


def _as_user(e: OSError, path: Any, action: str) -> Exception:
    return os_error(e, path, action)


class _HeldSignals:
    """Hold back SIGINT/SIGTERM/SIGHUP for a moment (only the main thread can); deliver them after."""

    def __init__(self) -> None:
        self.saved: dict[int, Any] = {}
        self.pending: list[int] = []

    def __enter__(self) -> _HeldSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in _DEFERRED:
                try:
                    self.saved[sig] = signal.signal(sig, lambda s, f: self.pending.append(s))
                except (OSError, ValueError):
                    pass
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for sig in self.pending:
            signal.raise_signal(sig)


class OutputSet:
    """The outputs of one command, staged and then committed together (see the module's docstring)."""

    def __init__(self) -> None:
        self._targets: list[_Target] = []
        self._dirs: list[Path] = []
        self._committed = False

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._committed:
            self.rollback()

    def check(self, path: str | os.PathLike[str] | None, flag: str = "output") -> None:
        """Fail now, before the work, if ``path`` cannot take an output (``None``: nothing asked)."""
        if path is not None:
            _Target(os.fspath(path), flag)

    def check_dir(self, path: str | os.PathLike[str], flag: str = "--out") -> None:
        """Fail now if ``path`` cannot become (or is not) a folder for outputs."""
        text = os.fspath(path)
        if text == "":
            raise UserError(f"{flag}: an empty path; give a folder name (e.g. {flag} out)")
        p = Path(text)
        if p.exists() and not p.is_dir():
            raise UserError(f"{flag} {shown(text)}: exists and is not a folder; give a folder")
        ancestor = p
        while not ancestor.exists():
            if ancestor.is_symlink():
                raise UserError(f"{flag} {shown(text)}: {shown(ancestor)} is a dangling symbolic link")
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise UserError(f"{flag} {shown(text)}: {shown(ancestor)} is not a folder")
        if len(os.path.basename(text.rstrip("/"))) > 255:
            raise UserError(f"{flag} {shown(text)}: cannot create the folder: {_HINTS[errno.ENAMETOOLONG]}")

    def make_dir(self, path: str | os.PathLike[str], flag: str = "--out") -> Path:
        """Create the folder ``path`` (and missing parents) for outputs; undone by a rollback if still empty."""
        self.check_dir(path, flag)
        p = Path(os.fspath(path))
        missing = []
        ancestor = p
        while not ancestor.exists():
            missing.append(ancestor)
            ancestor = ancestor.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            except OSError as e:
                raise _as_user(e, d, "create the folder") from None
            self._dirs.append(d)
        return p

    def stage(self, path: str | os.PathLike[str], data: str | bytes, flag: str = "output") -> None:
        """Write ``data`` for ``path`` to its temporary now (``"-"``: keep it for standard output)."""
        target = _Target(os.fspath(path), flag)
        if target.real is not None and any(t.real == target.real for t in self._targets):
            raise UserError(f"{flag} {shown(target.path)}: names the same file as another output; give each its own")
        self._targets.append(target)
        target.stage(data.encode() if isinstance(data, str) else data)

    def commit(self) -> None:
        """Write in place what must be, then rename every temporary over its target: all or none."""
        if self._committed:
            return
        broken_pipe = False
        with _HeldSignals():
            try:
                for t in self._targets:
                    if t.kind == "inplace":
                        t.write_inplace()
                for t in self._targets:
                    if t.kind == "descriptor":
                        try:
                            if t.fd == 2:
                                sys.stderr.flush()
                            view = memoryview(t.data)
                            while view:
                                view = view[os.write(t.fd, view):]
                        except OSError as e:
                            raise _as_user(e, t.path, "write") from None
                for t in self._targets:
                    if t.kind == "stdout":
                        try:
                            _write_stdout(t.data)
                        except BrokenPipeError:
                            broken_pipe = True  # the reader left (``| head``): the files are still wanted
                        except OSError as e:
                            raise _as_user(e, "-", "write") from None
                for t in self._targets:
                    if t.kind == "replace":
                        assert t.tmp is not None and t.real is not None
                        try:
                            os.replace(t.tmp, t.real)
                        except OSError as e:
                            raise _as_user(e, t.path, "write") from None
                        t.tmp = None
            except BaseException:
                self.rollback()
                raise
            self._committed = True
        if broken_pipe:
            raise BrokenPipeError(errno.EPIPE, "standard output closed")

    def rollback(self) -> None:
        """Remove every staged temporary and every folder this set created that is still empty."""
        for t in self._targets:
            t.discard()
        for d in reversed(self._dirs):
            try:
                d.rmdir()
            except OSError:
                pass
        self._targets.clear()
        self._dirs.clear()


def _write_stdout(data: bytes) -> None:
    try:
        sys.stdout.flush()
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:  # a text-only stream (tests' StringIO)
            sys.stdout.write(data.decode("utf-8", "replace"))
        sys.stdout.flush()
    except OSError:
        silence_stdout()
        raise


def silence_stdout() -> None:
    """Standard output failed (a closed pipe, a full device): send what is left of it nowhere, so that
    the interpreter's last flush cannot fail again with a second message and exit status 120."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def write_output(path: str | os.PathLike[str], data: str | bytes, flag: str = "output") -> None:
    """Write one output whole or not at all (an :class:`OutputSet` of one); ``"-"`` means standard output."""
    with OutputSet() as outputs:
        outputs.stage(path, data, flag)
        outputs.commit()


def _finite(obj: Any, path: str, nonfinite: str, what: str) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        if nonfinite == "null":
            return None
        raise InternalError(f"{what}: {path or 'the value'} is {obj}, not a finite number; JSON cannot hold it")
    if isinstance(obj, dict):
        return {k: _finite(v, f"{path}.{k}" if path else str(k), nonfinite, what) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v, f"{path}[{i}]", nonfinite, what) for i, v in enumerate(obj)]
    return obj


def json_text(obj: Any, *, what: str, indent: int | None = 2, nonfinite: str = "error", **options: Any) -> str:
    """``obj`` as strict JSON text (RFC 8259: no NaN or Infinity) and a final newline: every JSON output
    goes through here. A non-finite number is an :class:`InternalError` naming ``what`` and where
    in it (hwsim's own numbers are finite by construction), or with ``nonfinite="null"`` becomes
    ``null`` (where a report's schema allows it, e.g. a measured error of a user's data).

    >>> json_text({"a": [1.5, float("nan")]}, what="report", indent=None, nonfinite="null")
    '{"a": [1.5, null]}\\n'
    """
    try:
        return json.dumps(obj, indent=indent, allow_nan=False, **options) + "\n"
    except ValueError:
        return json.dumps(_finite(obj, "", nonfinite, what), indent=indent, allow_nan=False, **options) + "\n"


def parse_json(text: str, where: str, hint: str) -> Any:
    """``text`` parsed as JSON, or a one-line UserError naming ``where`` (a file) and ending in ``hint``
    (how to make a good one): invalid syntax, or nesting deeper than the parser recurses.

    >>> parse_json('{"a": 1}', "r.json", "give a report")
    {'a': 1}
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{where}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); {hint}") from None
    except RecursionError:
        raise UserError(f"{where}: JSON nested too deeply to read; {hint}") from None


def parse_toml(text: str, where: str, hint: str = "") -> dict[str, Any]:
    """``text`` parsed as TOML, or a one-line UserError naming ``where`` (a file), ending in ``hint``
    (how to make a good one) when given: invalid syntax, or nesting deeper than the parser recurses.

    >>> parse_toml('a = 1', "m.toml")
    {'a': 1}
    """
    tail = f"; {hint}" if hint else ""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{where}: invalid TOML: {shown(e, 100)}{tail}") from None
    except RecursionError:
        raise UserError(f"{where}: invalid TOML: tables or arrays nested too deeply{tail}") from None


def _is_own_output(st: os.stat_result) -> bool:
    """Is ``st`` the file behind this process's standard output or standard error?"""
    for fd in (1, 2):
        try:
            out = os.fstat(fd)
        except OSError:
            continue
        if (out.st_dev, out.st_ino) == (st.st_dev, st.st_ino):
            return True
    return False


def read_bytes(path: str | os.PathLike[str], what: str, limit: int) -> bytes:
    """The bytes of a user's input file, at most ``limit`` of them, or a one-line UserError naming it
    as ``what`` ("ONNX model"): missing, a folder, unreadable, or larger than ``limit`` (``/dev/zero``)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory")
            if not stat.S_ISREG(st.st_mode) and _is_own_output(st):
                # Reading our own stdout or stderr (``/dev/stdout``, a terminal) would wait forever.
                raise UserError(f"{shown(p)}: is this command's own output; give the {what} as a file")
            if stat.S_ISREG(st.st_mode) and st.st_size > limit:
                data = b""
            else:
                data = f.read(limit + 1)
            if len(data) > limit or stat.S_ISREG(st.st_mode) and st.st_size > limit:
                size = st.st_size if stat.S_ISREG(st.st_mode) else None
                raise UserError(f"{shown(p)}: the {what} is larger than hwsim reads "
                                f"({'%d bytes' % size if size else 'no end in sight'}, limit {limit} bytes)")
            return data
    except FileNotFoundError:
        raise UserError(f"{shown(p)}: {what} not found") from None
    except IsADirectoryError:
        raise UserError(f"{shown(p)}: is a folder; give the {what}") from None
    except MemoryError:
        raise UserError(f"{shown(p)}: the {what} does not fit in memory") from None
    except OSError as e:
        err = os_error(e, p, f"read the {what}")
        if isinstance(err, UserError):
            raise err from None
        raise UserError(f"{shown(p)}: cannot read the {what} ({e.strerror or e.__class__.__name__})") from None


def read_text(path: str | os.PathLike[str], what: str, *, missing_hint: str = "") -> str:
    """The text of a user's input file, or a one-line UserError naming it as ``what`` (e.g. "config file");
    ``missing_hint`` tells a user whose file does not exist how to make one."""
    p = Path(path)
    try:
        data = read_bytes(p, what, TEXT_LIMIT)
    except UserError as e:
        if missing_hint and str(e).endswith(f"{what} not found"):
            raise UserError(f"{e}; {missing_hint}") from None
        raise
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{shown(p)}: not a text file; give the {what}") from None

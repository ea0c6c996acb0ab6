"""Finished estimates, one JSON line each in ``DIR/records.jsonl``: what makes a sweep resumable.

Each (design, model) estimate is appended and flushed as soon as it arrives, so an interrupted
sweep loses at most the estimates still in flight. A record is keyed by a hash of everything its
numbers depend on: the full effective config, the lowered model, the timing model and the code
that estimates (hwsim's version and the source of the ``hwsim`` and ``compiler`` packages, so an
upgrade or a local change to the simulator recomputes rather than mixing old and new numbers).
A re-run reuses exactly the records whose key it would compute again, so changing the base
preset, the model or its input shapes recomputes, while widening a sweep computes only the new
designs. Records of other sweeps in the same directory are kept and ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, TextIO

import compiler
from hwsim.core import __version__
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError, shown
from hwsim.core.files import os_error

__all__ = ["RECORDS_FILE", "RecordStore", "SweepLock", "record_key", "fingerprint", "code_fingerprint"]

RECORDS_FILE = "records.jsonl"


def fingerprint(obj: Any) -> str:
    """A stable hash of a frozen dataclass tree (its ``repr`` is deterministic and complete)."""
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:32]


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of hwsim's version and of every Python source file of the hwsim and compiler packages."""
    h = hashlib.sha256(__version__.encode())
    for package in (Path(__file__).resolve().parent.parent, Path(compiler.__file__).resolve().parent):
        for path in sorted(package.rglob("*.py")):
            h.update(str(path.relative_to(package.parent)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:32]


def record_key(cfg: AcceleratorConfig, model_fingerprint: str, timing: str, code: str) -> str:
    """The key of one (design, model) estimate: ``code`` is :func:`code_fingerprint`."""
    payload = json.dumps({"config": cfg.to_dict(), "model": model_fingerprint, "timing": timing, "code": code},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


class SweepLock:
    """An exclusive lock on a sweep directory, held while a sweep computes and writes its outputs there.

    The lock is ``flock`` on the directory itself (no lock file is left behind); the kernel drops it
    when the process ends, however it ends. The command line holds it from before the first record
    to after the last output and hands it to :func:`~hwsim.sweep.runner.run_sweep`, whose
    :class:`RecordStore` then needs no lock of its own. A second sweep into the same directory
    (another process, or another lock in this one) is refused at once.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> SweepLock:
        try:
            fd = os.open(self.directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError as e:
            raise UserError(f"{shown(self.directory)}: cannot open the sweep folder ({e.strerror})") from None
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not POSIX: no lock, the rest works the same
            pass
        except OSError:
            os.close(fd)
            raise UserError(f"{shown(self.directory)}: another hwsim sweep is running in this folder; wait for it "
                            "or choose another --out") from None
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the flock
            self._fd = None


class RecordStore:
    """The append-only record file of one sweep directory; use as a context manager while running.

    Opening takes the directory's :class:`SweepLock` (unless given one already held), so that two
    sweeps cannot write into the same directory at once.
    """

    def __init__(self, directory: Path, lock: SweepLock | None = None) -> None:
        self.path = directory / RECORDS_FILE
        self._lock = lock if lock is not None and lock.held else SweepLock(directory)
        self._own_lock = not (lock is not None and lock.held)
        self._file: TextIO | None = None

    def load(self) -> dict[str, dict[str, Any]]:
        """Key -> record of every complete line; a line cut short by a hard kill is ignored."""
        records: dict[str, dict[str, Any]] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return records
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("key"), str):
                records[record["key"]] = record
        return records

    def clear(self) -> None:
        """Forget every record (``--fresh``); inside the with-block, so the lock is kept."""
        assert self._file is not None, "RecordStore.clear outside its with-block"
        self._file.seek(0)
        self._file.truncate()

    def __enter__(self) -> RecordStore:
        if self._own_lock:
            self._lock.__enter__()
        try:
            f = open(self.path, "a+", encoding="utf-8")
        except OSError as e:
            if self._own_lock:
                self._lock.__exit__()
            raise UserError(f"{shown(self.path)}: cannot write sweep records ({e.strerror})") from None
        # A line left without its newline by a hard kill must not swallow the next record.
        f.seek(0, os.SEEK_END)
        if f.tell():
            f.seek(f.tell() - 1)
            if f.read(1) != "\n":
                f.write("\n")
        self._file = f
        return self

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        assert self._file is not None, "RecordStore.append outside its with-block"
        try:
            for record in records:
                self._file.write(json.dumps(record, sort_keys=True, allow_nan=False) + "\n")
            self._file.flush()
        except OSError as e:
            err = os_error(e, self.path, "write sweep records")
            raise err from None

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            if self._own_lock:
                self._lock.__exit__()

"""Output files are written whole or not at all."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .errors import UserError

__all__ = ["write_output", "read_text"]


def write_output(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically; ``"-"`` means standard output.

    The bytes go to a temporary file beside the target and are renamed over it only once complete,
    so an interrupted or failed run never leaves a partial file that looks finished.
    """
    if str(path) == "-":
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise UserError(f"{target}: is a directory; give a file name for the output")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UserError(f"{target}: folder {directory} does not exist; create it or choose another path")
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        # mkstemp creates 0600; give the file the mode an ordinary open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_text(path: str | os.PathLike[str], what: str, *, missing_hint: str = "") -> str:
    """The text of a user's input file, or a one-line UserError naming it as ``what`` (e.g. "config file");
    ``missing_hint`` tells a user whose file does not exist how to make one."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{p}: {what} not found" + (f"; {missing_hint}" if missing_hint else "")) from None
    except IsADirectoryError:
        raise UserError(f"{p}: is a folder; give the {what}") from None
    except UnicodeDecodeError:
        raise UserError(f"{p}: not a text file; give the {what}") from None
    except OSError as e:
        raise UserError(f"{p}: cannot read {what} ({e.strerror or e.__class__.__name__})") from None

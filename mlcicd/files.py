"""Reading inputs with clear errors, and writing outputs atomically.

Every reader here turns the ways a path can be wrong (missing, a directory, empty, not the
expected format) into an :class:`~mlcicd.errors.InputError` whose one-line message names the
file. Every writer writes to a temporary file in the same folder and renames it over the target,
so a reader never sees a half-written file and a crash leaves the old content in place.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcicd.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


class FileError(InputError, OSError):
    """The operating system refused a file the user named (exit code 2, the message names the
    file); still an ``OSError`` for library callers that catch those."""


def check_readable_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Return ``path`` as a :class:`Path` if it is an existing, non-empty regular file."""
    p = Path(path)
    try:
        if not p.exists():
            raise InputError(f"{what} {p}: no such file")
        if p.is_dir():
            raise InputError(f"{what} {p}: is a directory, expected a file")
        if not os.access(p, os.R_OK):
            raise InputError(f"{what} {p}: not readable (permission denied)")
        empty = p.stat().st_size == 0
    except OSError as exc:  # a name too long, a loop of links, an I/O error
        raise FileError(f"{what} {p}: cannot be read ({_why(exc)})") from None
    if empty:
        raise InputError(f"{what} {p}: the file is empty")
    return p


def read_csv(path: str | os.PathLike, what: str = "data") -> pd.DataFrame:
    """Read a CSV file into a DataFrame, or raise :class:`InputError` naming the file."""
    import pandas as pd  # here, not at the top: the base layer's other helpers need no pandas

    p = check_readable_file(path, what)
    try:
        with open(p, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise FileError(f"{what} {p}: cannot be read ({_why(exc)})") from None
    if b"\x00" in head:
        raise InputError(f"{what} {p}: not a CSV file (binary content)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a cut multi-byte character at the 4096-byte edge is fine; anything earlier is not text
        if exc.start < len(head) - 4:
            raise InputError(f"{what} {p}: not a CSV file (not UTF-8 text)") from None
    try:
        df = pd.read_csv(p)
    except OSError as exc:
        raise FileError(f"{what} {p}: cannot be read ({_why(exc)})") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{what} {p}: the file has no columns (empty CSV)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{what} {p}: not a valid CSV file ({first})") from None
    if df.shape[1] == 0:
        raise InputError(f"{what} {p}: the file has no columns (empty CSV)")
    return df


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Parse a JSON file, or raise :class:`InputError` naming the file and the position."""
    p = check_readable_file(path, what)
    try:
        with open(p, encoding="utf-8") as fh:
            return json.load(fh)
    except UnicodeDecodeError:
        raise InputError(f"{what} {p}: not UTF-8 text") from None
    except OSError as exc:
        raise FileError(f"{what} {p}: cannot be read ({_why(exc)})") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{what} {p}: malformed JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it onto ``path``.

    If ``write`` raises, the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"output {target}: {parent} is not a directory")
        if not parent.exists():
            raise InputError(f"output {target}: the folder {parent} does not exist")
        if target.is_dir():
            raise InputError(f"output {target}: is a directory, expected a file path")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise FileError(f"output {target}: cannot be written ({_why(exc)})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise FileError(f"output {target}: cannot be written ({_why(exc)})") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return target


def _why(exc: OSError) -> str:
    """The operating system's reason, without the path (the message names the file already)."""
    return exc.strerror or str(exc) or type(exc).__name__


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")

"""Small file helpers shared by the readers and writers: atomic, durable writes (temporary file,
fsync, rename, fsync of the folder) and JSON with line numbers."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from outfit.errors import DatasetFormatError, MissingFileError

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_write_with",
           "fsync_dir", "fsync_file", "read_json", "read_text_lines"]


def fsync_dir(folder: Path | str) -> None:
    """Make the names in ``folder`` durable (a file renamed or created there survives a power
    cut): fsync of the folder itself. Nothing happens where a folder cannot be opened or
    synced (Windows, some network file systems)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: Path | str) -> None:
    """Flush a written file's data to the disk (before it is renamed into place)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_with(path: Path | str, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` by calling ``write`` on a binary file: a temporary file in the same
    folder, flushed and fsynced, renamed over ``path``, then the folder fsynced. A reader never
    sees half a file, and a crash at any moment leaves the old file or the new one whole.
    (``torch.save``, ``np.save`` and the like write to the file handle.)"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably (see :func:`atomic_write_with`)."""
    return atomic_write_with(path, lambda fh: fh.write(data))


def atomic_write_text(path: Path | str, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any, *, indent: int | None = None) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def read_json(path: Path | str, what: str) -> Any:
    """Parse a JSON file; a missing file or bad JSON becomes an error naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, what)
    try:
        with path.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(
            f"not valid JSON ({exc.msg}, column {exc.colno})", path=path, line=exc.lineno,
            hint=f"the {what} must be a JSON document; is the file truncated?",
        ) from None
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(
            f"not UTF-8 text (byte {exc.start})", path=path, hint=f"the {what} must be UTF-8 JSON"
        ) from None


def read_text_lines(path: Path | str, what: str) -> list[tuple[int, str]]:
    """(line number, stripped line) for each non-empty line; tolerates CR and CRLF endings."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, what)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    return [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip()]

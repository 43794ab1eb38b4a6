"""Writing files so that no reader ever sees a half-written one.

Every file a run, a callback or an export leaves behind is written to a
temporary file in the same directory and moved into place with
:func:`os.replace`, which is atomic on POSIX and Windows: a run killed at any
moment leaves either the previous complete file or the new complete one.

Temporary files and folders are made by :mod:`tempfile`, which gives them
modes 0600 and 0700; once moved into place they are given the modes any other
tool would create (``0o666 & ~umask``, ``0o777 & ~umask``), so a run's files
and an export can be read by whoever the user's umask lets read them (a
serving container running as another user, say).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from keras_blueprints._core.errors import Plain, RunError

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "current_umask",
    "temporary_dir",
]


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows.

    Linux reports it in ``/proc/self/status``; elsewhere it is read by setting it
    and restoring it at once.
    """
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temporary_dir(parent: str | Path, prefix: str) -> Path:
    """Makes a new folder in ``parent`` with the mode ``0o777 & ~umask`` (not 0700).

    Args:
        parent: Where to make it (beside its final place, for an atomic rename).
        prefix: The start of its name.

    Returns:
        The folder.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(path, 0o777 & ~current_umask())
    return path


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yields a temporary path beside ``target``; on success it replaces ``target``.

    Use it for writers that want a file name (``model.save``, ``figure.savefig``).
    On an exception the temporary file is removed and ``target`` is untouched.

    Args:
        target: The final path.
        suffix: Suffix of the temporary file (default: the target's, which
            writers such as ``model.save`` need to pick their format).

    Yields:
        The temporary path to write.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.",
        suffix=target.suffix if suffix is None else suffix,
        dir=target.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():  # mkstemp's 0600, for a file every other tool makes 0666 & ~umask
            os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def _write(target: str | Path, write: Callable[[Path], None]) -> Path:
    with atomic_path(target) as tmp:
        write(tmp)
    return Path(target)


def atomic_write_bytes(target: str | Path, data: bytes) -> Path:
    """Writes ``data`` to ``target`` atomically; returns the path."""
    return _write(target, lambda p: p.write_bytes(data))


def atomic_write_text(target: str | Path, text: str) -> Path:
    """Writes ``text`` (UTF-8) to ``target`` atomically; returns the path."""
    return _write(target, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_json(target: str | Path, data: Any) -> Path:
    """Writes ``data`` as indented JSON to ``target`` atomically; returns the path.

    NumPy scalars and arrays are written as numbers and lists; non-finite
    floats as ``NaN``/``Infinity`` (Python's JSON dialect).
    """
    return atomic_write_text(target, json.dumps(data, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cannot_write(target: str | Path, exc: OSError, *, what: str, expected: str) -> RunError:
    """The error, naming the path, for a write or mkdir that the system refused.

    A parent that is a file, a dangling link, no permission, a full disk.

    Args:
        target: The path that could not be written.
        exc: The system's error.
        what: What failed, e.g. ``cannot create the run directory '{target}'``.
        expected: What would have worked.

    Returns:
        The error, to raise ``from exc``.
    """
    return RunError(
        what,
        target,
        expected=expected,
        received=Plain(f"{type(exc).__name__}: {exc.strerror or exc}"),
    )

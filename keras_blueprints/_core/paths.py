"""Where a blueprint may read and write: the one confinement rule, checked everywhere.

A blueprint is data someone else may have written, so the paths it names are
held to two rules:

* **Writing** (callback logs, checkpoints, plots, backups): only inside the run
  directory. At load time a written path must be relative and must not climb
  out with ``..`` (:func:`check_write_path`); when the run writes, the path is
  resolved, symbolic links included, and must still lie inside the run
  directory (:func:`inside`).
* **Reading** (data files, vocabularies): only below the blueprint's folder or
  the current directory, or below a folder the user allowed on the command
  line (``--allow-read DIR``); a path the command line gives itself (``--data``,
  ``--set``) is the user's and always allowed (:func:`check_read_path`). Only
  regular files (and folders, where a folder is asked for) are read: a FIFO or
  a device would block or never end (:func:`regular_file`,
  :func:`read_bounded`).

This module imports nothing heavy: load-time validation uses it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from keras_blueprints._core.errors import BlueprintError, Location, Plain, RunError

__all__ = [
    "ReadRoots",
    "check_read_path",
    "check_write_path",
    "inside",
    "read_bounded",
    "regular_file",
]


@dataclass(frozen=True)
class ReadRoots:
    """The folders a blueprint's own paths may be read below.

    Attributes:
        base: The folder relative paths start from (the blueprint file's, else the
            current directory).
        roots: Resolved folders reads may lie below: ``base``, the current
            directory, and every folder allowed with ``--allow-read``.
    """

    base: Path
    roots: tuple[Path, ...]

    @classmethod
    def of(
        cls,
        blueprint_file: Path | None,
        allowed: Iterable[str | os.PathLike] = (),
        base: str | os.PathLike | None = None,
    ) -> ReadRoots:
        """The roots for a blueprint file (None: text) and the user's allowed folders.

        Args:
            blueprint_file: The blueprint's path, or None for YAML text.
            allowed: Folders the user allowed (``--allow-read``).
            base: Where relative paths start, when not the blueprint's folder (a run's
                stored blueprint: the folder of the blueprint it was trained from).

        Returns:
            The roots.
        """
        cwd = Path.cwd()
        if base is not None:
            base = Path(base).resolve()
        elif blueprint_file is not None:
            base = Path(blueprint_file).resolve().parent
        else:
            base = cwd
        roots = [base, cwd, *(Path(a).expanduser() for a in allowed)]
        resolved = tuple(dict.fromkeys(Path(os.path.realpath(r)) for r in roots))
        return cls(base, resolved)

    def allows(self, path: Path) -> bool:
        """Whether ``path`` (resolved, links followed) lies below one of the roots."""
        real = Path(os.path.realpath(path))
        return any(real == root or real.is_relative_to(root) for root in self.roots)


def from_command_line(loc: Location) -> bool:
    """Whether a value came from the command line (``--data``, ``--set``), not from a file."""
    return loc.line <= 0


def check_read_path(
    text: str, roots: ReadRoots, loc: Location, what: str, max_bytes: int | None = None
) -> Path:
    """Refuses a path a blueprint names for reading that lies outside the allowed folders.

    Args:
        text: The path as written (relative to ``roots.base``; ``~`` expanded).
        roots: The allowed folders.
        loc: Where the path stands in the YAML (or on the command line).
        what: What the path is, for the message (``"the file of source 'npz'"``).
        max_bytes: The largest file accepted, if the reader reads it whole.

    Returns:
        The path, resolved.

    Raises:
        BlueprintError: The path lies outside every allowed folder (located at ``loc``),
            or names a special file (FIFO, device, socket).
    """
    try:
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = roots.base / path
        real = Path(os.path.realpath(path))
    except (ValueError, RuntimeError, OSError):  # NUL in the path, unknown user, loops
        raise BlueprintError(f"{what} is not a valid path", loc, received=text) from None
    if not from_command_line(loc) and not roots.allows(real):
        raise BlueprintError(
            f"{what} lies outside the blueprint's folder and the current directory",
            loc,
            received=text,
            hint="A blueprint reads only below its own folder or the current directory;"
            " give the file on the command line (--data, --set) or allow its folder with"
            " --allow-read DIR",
        )
    try:
        info = real.stat()
    except OSError:
        return real  # a missing file is reported by its reader
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise BlueprintError(
            f"{what} is not a regular file (a pipe, device or socket)",
            loc,
            received=text,
            expected="a file or a folder",
        )
    if max_bytes is not None and info.st_size > max_bytes:
        raise BlueprintError(
            f"{what} is too large",
            loc,
            expected=f"at most {max_bytes} bytes",
            received=Plain(f"{info.st_size} bytes"),
        )
    return real


def check_write_path(text: object, loc: Location, what: str) -> None:
    """Refuses, at load time, a path that would be written outside the run directory.

    Args:
        text: The path as written in the blueprint.
        loc: Where it stands.
        what: What the path is, for the message.

    Raises:
        BlueprintError: An absolute path, a ``~`` path, or one climbing out with ``..``.
    """
    if not isinstance(text, str):
        return  # the argument's type check reports it
    parts = Path(text).parts
    if text.startswith("~") or Path(text).is_absolute() or "\0" in text:
        escapes = True
    else:
        depth = 0
        escapes = False
        for part in parts:
            depth += -1 if part == ".." else (0 if part == "." else 1)
            escapes = escapes or depth < 0
    if escapes:
        raise BlueprintError(
            f"{what} must stay inside the run directory",
            loc,
            expected="a relative path without '..' leading out (e.g. logs/train.csv)",
            received=text,
            hint="Every file a blueprint writes goes in its run directory; copy it elsewhere"
            " after the run",
        )


def inside(path: Path, root: Path, what: str = "the path") -> Path:
    """Returns ``path`` resolved, refusing one that leaves ``root`` (links followed).

    Args:
        path: A path below ``root`` as joined (may not exist yet).
        root: The folder it must stay in (the run directory).
        what: What the path is, for the message.

    Returns:
        The resolved path.

    Raises:
        BlueprintError: The resolved path lies outside the resolved ``root``.
    """
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    if real != real_root and not real.is_relative_to(real_root):
        raise RunError(
            f"{what} leads out of the run directory",
            path,
            expected=f"a path inside {real_root}",
            received=Plain(str(real)),
            hint="A symbolic link in the run directory points outside it; remove it",
        )
    return real


def regular_file(path: Path, loc: Location, what: str = "the file") -> Path:
    """Checks that ``path`` is a regular file (not a FIFO, device, socket or folder).

    Args:
        path: The file.
        loc: Where it was named, for errors.
        what: What the file is, for the message.

    Returns:
        ``path``.

    Raises:
        BlueprintError: It is missing, a folder, or a special file.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise BlueprintError(f"{what} does not exist", loc, received=Plain(str(path))) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or "not a valid path"
        raise BlueprintError(f"cannot read {what}: {reason}", loc) from None
    if stat.S_ISDIR(mode):
        raise BlueprintError(
            f"{what} is a folder", loc, expected="a file", received=Plain(str(path))
        )
    if not stat.S_ISREG(mode):
        raise BlueprintError(
            f"{what} is not a regular file (a pipe, device or socket)",
            loc,
            expected="a file",
            received=Plain(str(path)),
        )
    return path


def read_bounded(path: Path, loc: Location, limit: int, what: str = "the file") -> bytes:
    """Reads a regular file of at most ``limit`` bytes, never blocking on a special file.

    The file is opened without blocking (a FIFO with no writer would block the
    ``open`` itself), checked to be a regular file on the open descriptor, and
    read at most ``limit + 1`` bytes.

    Args:
        path: The file.
        loc: Where it was named, for errors.
        limit: The most bytes accepted.
        what: What the file is, for the message.

    Returns:
        The bytes.

    Raises:
        BlueprintError: Missing, a folder or special file, unreadable, or too large.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise BlueprintError(f"{what} does not exist", loc, received=Plain(str(path))) from None
    except IsADirectoryError:
        raise BlueprintError(f"{what} is a folder", loc, expected="a file") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or "not a valid path"
        raise BlueprintError(f"cannot read {what}: {reason}", loc) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise BlueprintError(f"{what} is a folder", loc, expected="a file")
        if not stat.S_ISREG(info.st_mode):
            raise BlueprintError(
                f"{what} is not a regular file (a pipe, device or socket)", loc, expected="a file"
            )
        if info.st_size > limit:
            raise BlueprintError(
                f"{what} is too large",
                loc,
                expected=f"at most {limit} bytes",
                received=Plain(f"{info.st_size} bytes"),
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise BlueprintError(f"cannot read {what}: {exc.strerror}", loc) from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > limit:
        raise BlueprintError(
            f"{what} is too large",
            loc,
            expected=f"at most {limit} bytes",
            received=Plain(f"more than {limit} bytes"),
        )
    return raw

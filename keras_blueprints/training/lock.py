"""One process at a time in a run or search directory, and what a killed one left behind.

A run (``blueprint train``) and a search (``blueprint tune``) hold an exclusive
:func:`fcntl.flock` on a lock file inside their directory for as long as they
write it. The operating system releases the lock when the process ends, however
it ends (SIGKILL included), so a killed run never leaves a stale lock; a second
process that wants the same directory is refused at once with the holder's PID.

Only while holding the lock is it safe to remove what a killed writer left:
the temporary files of :func:`keras_blueprints._core.files.atomic_path`
(``.NAME.RANDOM.SUFFIX`` beside their target). :func:`remove_stale_temporaries`
removes those, and nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from keras_blueprints._core.errors import RunError

__all__ = [
    "DirectoryLock",
    "holding",
    "remove_stale_temporaries",
    "remove_tree_if_unlocked",
    "try_lock",
]

try:  # POSIX; elsewhere directories are not locked (documented in docs/security.md)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

# The names atomic_path gives its temporary files: tempfile.mkstemp's 8 random
# characters between ".TARGET." and the target's suffix.
_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}(?P<suffix>(?:\.[A-Za-z0-9]+)*)$")


_UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}


class DirectoryLock:
    """An exclusive lock on a directory, held through an open lock file inside it.

    Args:
        directory: The directory (it must exist).
        name: The lock file's name inside it.
        what: What the directory is, for messages (``run``, ``search``).
    """

    def __init__(self, directory: str | Path, name: str, what: str) -> None:
        self.directory = Path(directory)
        self.file = self.directory / name
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> None:
        """Takes the lock, or refuses at once when another process holds it.

        Raises:
            RunError: Another process holds the lock (its PID is named).
        """
        if fcntl is None:  # pragma: no cover - Windows
            return
        fd = os.open(self.file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in _UNSUPPORTED:  # some network file systems have no flock
                print(
                    f"{self.directory}: warning: cannot lock the {self.what} directory "
                    f"({os.strerror(exc.errno)}); make sure no other process writes it",
                    file=sys.stderr,
                )
                return
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            holder = _read_pid(self.file)
            raise RunError(
                f"the {self.what} in '{self.directory}' is in use by another process"
                + (f" (PID {holder})" if holder else ""),
                self.directory,
                expected=f"one process at a time in a {self.what} directory",
                hint=f"Wait for process {holder or '?'} to finish, or stop it "
                f"(kill {holder or 'PID'}) and resume the {self.what} again.",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Releases the lock (the lock file stays: removing it would race with a waiter)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> DirectoryLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def holding(directory: str | Path, name: str, what: str) -> Iterator[DirectoryLock]:
    """Holds :class:`DirectoryLock` on ``directory`` for the ``with`` block."""
    lock = DirectoryLock(directory, name, what)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


def try_lock(path: str | Path) -> int | None:
    """Takes a non-blocking exclusive flock on ``path`` (a file or a directory).

    Returns:
        The open descriptor holding the lock (close it to release), or None when
        another process holds it or the path cannot be opened.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Removes the temporary files a killed writer left in ``directory`` and below.

    Call it only while holding the directory's lock: then no live process of
    ours is writing there, and every ``.NAME.RANDOM.SUFFIX`` file is an orphan.
    Only regular files with that name pattern are removed; symbolic links are
    neither followed nor removed.

    Args:
        directory: A locked run or search directory.

    Returns:
        The removed paths.
    """
    removed = []
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
        here = Path(dirpath)
        for name in filenames:
            match = _TEMPORARY.match(name)
            path = here / name
            if match is None or path.is_symlink() or not path.is_file():
                continue
            if not match.group("target").endswith(match.group("suffix")):
                continue  # atomic_path ends its names like the target's: not one of ours
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
        dirnames.sort()
    return removed


def _read_pid(file: Path) -> int | None:
    try:
        text = file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def remove_tree_if_unlocked(path: Path) -> bool:
    """Removes a staging directory whose writer is gone (no process holds its flock).

    Returns:
        True when it was removed.
    """
    fd = try_lock(path)
    if fd is None:
        return False
    try:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        os.close(fd)
    return not path.exists()

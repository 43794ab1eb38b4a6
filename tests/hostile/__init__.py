"""The hostile-input corpus: blueprints, files and commands written to do harm.

Each case is a small world (files in a working folder, a command to run) and what
must happen: ``blueprint`` exits 2 with one located error line and no traceback,
writes nothing outside the run directory, and stays inside its time and memory
bounds. The cases live in the modules of this package (one per kind of hostility:
``files``, ``resources``, ``runs``, ``artifacts``), each appending to
:data:`CASES` with :func:`case`; ``tests/test_hostile.py`` runs them all.

A case's world, in a fresh temporary folder::

    home/          $HOME for the run (``~`` paths land here)
    outside/       files the user owns that a blueprint must not touch
      secret.txt
      keep/data.txt
    work/          the current directory: the case's files, and runs/ for run directories

Paths in ``argv`` and in file contents may say ``{root}`` (the temporary folder),
``{work}`` and ``{outside}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CASES", "Case", "case"]

# One located error line: FILE:LINE:COL: error: ..., or a path (a run directory, a
# model file) with no line: PATH: error: ...
LOCATED = re.compile(r"^(?P<file>.+?)(?::(?P<line>\d+):(?P<col>\d+))?: error: \S")


@dataclass(frozen=True)
class Case:
    """One hostile input and the bounds it must stay inside.

    Attributes:
        id: The test id (unique).
        argv: The ``blueprint`` arguments (placeholders allowed, see the module).
        files: Files to create under ``work/``: text or bytes.
        setup: Called with the world's root after the files are written, for what
            text cannot make (FIFOs, symbolic links, a prepared run directory).
        exit: The expected exit status.
        where: A regular expression the error line's location (``FILE:LINE:COL`` or
            ``PATH``) must match; None accepts any located line.
        seconds: Wall-clock bound (the child is killed past it: the case fails).
        memory_mb: Peak resident memory bound of the child.
        tensorflow: The command imports TensorFlow (no address-space limit then:
            TensorFlow reserves far more virtual memory than it uses).
        writable: Folders under ``work/`` the command may write (its run directory).
        hidden: Text that must not appear in the output (a file's content the command
            must not echo).
    """

    id: str
    argv: tuple[str, ...]
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None
    exit: int = 2
    where: str | None = None
    seconds: float = 60.0
    memory_mb: int = 500
    tensorflow: bool = False
    writable: tuple[str, ...] = ("runs",)
    hidden: tuple[str, ...] = ()


CASES: list[Case] = []


def case(id: str, *argv: str, **fields) -> Case:
    """Adds a case to :data:`CASES` (an id used twice is an error) and returns it."""
    if any(c.id == id for c in CASES):
        raise ValueError(f"hostile case {id!r} is defined twice")
    made = Case(id, tuple(argv), **fields)
    CASES.append(made)
    return made


def expand(text: str, root: Path) -> str:
    """Replaces the ``{root}``, ``{work}`` and ``{outside}`` placeholders."""
    return (
        text.replace("{root}", str(root))
        .replace("{work}", str(root / "work"))
        .replace("{outside}", str(root / "outside"))
    )


def make_fifo(relative: str) -> Callable[[Path], None]:
    """A setup that makes a named pipe at ``work/RELATIVE`` (nothing ever writes it)."""

    def setup(root: Path) -> None:
        os.mkfifo(root / "work" / relative)

    return setup

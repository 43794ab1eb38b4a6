"""Diagnostics: the errors and warnings of an analysis, placed on the files they are in.

A problem in the open document is shown where it is. A problem located in a file
the document extends or imports is shown in that file, and also at the
``extends:``/``imports:`` entry of the open document that brings it in (so it is
seen without opening the other file). A problem without a line (a size limit, an
environment variable) is shown at the top of the document. Lines and columns
become 0-based; a diagnostic spans the YAML token it points at.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.loading.document import load_document, resolve_reference
from keras_blueprints.loading.source import Document
from keras_blueprints.lsp.analysis import Analysis, Problem
from keras_blueprints.lsp.text import token_end

__all__ = ["Placed", "place"]

SOURCE = "blueprint"
"""The ``source`` of every diagnostic (what editors show beside the message)."""


@dataclass(frozen=True)
class Placed:
    """A problem placed in one file.

    Attributes:
        file: The display name of the file it is shown in (the analysed document's
            own name, or another file's path).
        line: 0-based line.
        start: 0-based first character.
        end: 0-based character after the token.
        message: The text shown.
        severity: ``"error"`` or ``"warning"``.
    """

    file: str
    line: int
    start: int
    end: int
    message: str
    severity: str


def _span(lines: list[str], loc: Location) -> tuple[int, int, int]:
    if loc.line <= 0:
        return 0, 0, 0
    line = loc.line - 1
    start = max(loc.col - 1, 0)
    text = lines[line] if line < len(lines) else ""
    end = token_end(text, start) if start < len(text) else start
    if end <= start:
        end = max(start, len(text.rstrip()))
    return line, start, end


def _read_lines(file: str) -> list[str]:
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            return handle.read(4 * 1024 * 1024).splitlines()
    except OSError:
        return []


def _bringing_in(doc: Document, file: str) -> Location | None:
    """The ``extends:``/``imports:`` entry of ``doc`` through which ``file`` was read."""
    here = doc.path.parent if doc.path else None
    try:
        wanted = Path(file).resolve()
    except (OSError, ValueError):
        return None
    first = None
    for section in ("extends", "imports"):
        refs = doc.data.get(section)
        listed = isinstance(refs, list)
        for i, ref in enumerate(refs if listed else [refs] if refs is not None else []):
            where = doc.loc(section, i) if listed else doc.loc(section)
            first = first or where
            if not isinstance(ref, str):
                continue
            try:
                target = resolve_reference(ref, here, where).resolve()
                if target == wanted or str(wanted) in _files_of(target):
                    return where
            except (BlueprintError, OSError):
                continue
    return first


def _files_of(target: Path) -> set[str]:
    try:
        return {str(Path(f).resolve()) for f in load_document(target).files}
    except BlueprintError:
        return set()


def place(analysis: Analysis, text: str) -> list[Placed]:
    """Places every problem of an analysis on the file it belongs to.

    Args:
        analysis: The analysis of the open document.
        text: The document's text.

    Returns:
        The placed problems: those of the open document (its own, and one at the
        ``extends:``/``imports:`` entry for each problem of another file) and those of
        the other files.
    """
    lines = text.splitlines()
    out: list[Placed] = []
    for problem in analysis.problems:
        out += _place_one(analysis, lines, problem)
    return out


def _place_one(analysis: Analysis, lines: list[str], problem: Problem) -> list[Placed]:
    loc = problem.location
    if loc.file == analysis.file or loc.line <= 0 or analysis.document is None:
        line, start, end = _span(lines, loc) if loc.file == analysis.file else (0, 0, 0)
        return [Placed(analysis.file, line, start, end, problem.message, problem.severity)]
    other = os.fspath(loc.file)
    line, start, end = _span(_read_lines(other), loc)
    placed = [Placed(other, line, start, end, problem.message, problem.severity)]
    entry = _bringing_in(analysis.document, other)
    if entry is not None and entry.line > 0:
        line, start, end = _span(lines, entry)
        shown = f"in {Path(other).name}:{loc.line}:{loc.col}: {problem.message}"
        placed.append(Placed(analysis.file, line, start, end, shown, problem.severity))
    else:
        shown = f"in {loc}: {problem.message}"
        placed.append(Placed(analysis.file, 0, 0, 0, shown, problem.severity))
    return placed

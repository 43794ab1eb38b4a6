"""Loading an editor's document the way ``blueprint validate --no-build`` loads a file.

:func:`analyze` parses the text held by the editor (saved or not) with the safe
loader, composes its ``extends:`` and ``imports:`` and resolves it with the same
functions as :func:`keras_blueprints.load`, and keeps what the editor features
need: the errors and warnings (each a located
:class:`~keras_blueprints._core.errors.BlueprintError` or
:class:`~keras_blueprints._core.errors.BlueprintWarning`), the composed document
(who set each value) and the resolved blueprint. Nothing in the blueprint is
executed, and nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from keras_blueprints._core.errors import (
    BlueprintErrors,
    BlueprintWarning,
    KerasBlueprintsError,
    Location,
)
from keras_blueprints._core.paths import ReadRoots
from keras_blueprints.loading.document import ComposedDocument, load_document
from keras_blueprints.loading.source import Document, parse
from keras_blueprints.resolve import resolve
from keras_blueprints.resolve.schema import Blueprint

__all__ = ["Analysis", "Problem", "analyze"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """One error or warning, located.

    Attributes:
        location: Where it is (``FILE:LINE:COL``, 1-based; line 0 when unplaced).
        message: What ``validate`` prints after ``FILE:LINE:COL: error:``, detail included.
        severity: ``"error"`` or ``"warning"``.
    """

    location: Location
    message: str
    severity: str


@dataclass
class Analysis:
    """What the loader made of one version of a document.

    Attributes:
        file: The display name errors in this document carry.
        document: The parsed text, or None when it is not valid YAML.
        composed: The document after ``extends:``/``imports:``/``set:``, or None.
        blueprint: The resolved blueprint, or None when loading failed.
        problems: Every error and warning, in the order ``validate`` prints them.
    """

    file: str
    document: Document | None = None
    composed: ComposedDocument | None = None
    blueprint: Blueprint | None = None
    problems: list[Problem] = field(default_factory=list)


def _detail(formatted: str, location: Location, kind: str) -> str:
    """A formatted error without its ``FILE:LINE:COL: error: `` prefix."""
    prefix = f"{location}: {kind}: "
    return formatted[len(prefix) :] if formatted.startswith(prefix) else formatted


def problems_of(error: KerasBlueprintsError) -> list[Problem]:
    """The located problems an error reports (several for :class:`BlueprintErrors`).

    Args:
        error: An error of keras-blueprints.

    Returns:
        One :class:`Problem` per error, with the message ``validate`` prints.
    """
    errors = error.errors if isinstance(error, BlueprintErrors) else (error,)
    out = []
    for err in errors:
        location = getattr(err, "location", None) or Location("<unknown>")
        formatted = err.format() if hasattr(err, "format") else f"blueprint: error: {err}"
        out.append(Problem(location, _detail(formatted, location, "error"), "error"))
    return out


def warning_problem(warning: BlueprintWarning) -> Problem:
    """The :class:`Problem` of a located warning."""
    return Problem(
        warning.location,
        _detail(warning.format(), warning.location, "warning"),
        "warning",
    )


def analyze(text: str, file: str, path: Path | None = None) -> Analysis:
    """Loads an editor's text as ``blueprint validate --no-build`` loads its file.

    Never raises for anything the text holds: every problem is in the result.

    Args:
        text: The document's text as the editor holds it.
        file: Its display name (its file system path, or its URI when unsaved).
        path: Its path, for ``extends:``/``imports:`` and the folders it may read.

    Returns:
        The analysis.
    """
    result = Analysis(file)
    try:
        result.document = parse(text, file, path)
        result.composed = load_document(result.document)
        reads = ReadRoots.of(result.composed.path)
        result.blueprint = resolve(result.composed, None, reads=reads)
        result.problems = [warning_problem(w) for w in result.blueprint.warnings]
    except KerasBlueprintsError as err:
        result.problems = problems_of(err)
    except (RecursionError, MemoryError) as exc:  # the loader's own limits come first
        result.problems = [Problem(Location(file), f"cannot load: {type(exc).__name__}", "error")]
    except Exception as exc:  # a bug: shown, never fatal to the server
        logger.exception("internal error while loading %s", file)
        result.problems = [
            Problem(
                Location(file),
                f"internal error: {type(exc).__name__}: {exc} (a bug in keras-blueprints)",
                "error",
            )
        ]
    return result

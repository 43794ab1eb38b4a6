"""The errors of keras-blueprints, the location they point at, and their formula.

Every error a user can cause derives from :class:`KerasBlueprintsError`, and is
printed in one shape, the *error formula*: where, what, what was expected, what
was received, how to fix it::

    unet.yaml:42:7: error: 'filtres' is not an argument of Conv2D (in block 'down3').
      Expected one of: filters, kernel_size, strides, ... Did you mean 'filters'?

The hierarchy says whose the problem is, as keras-tuner's ``errors.py`` does::

    KerasBlueprintsError          anything keras-blueprints reports to a user
    ├── BlueprintError            located in a blueprint's YAML (FILE:LINE:COL)
    │   └── BlueprintErrors       several of them, found in one pass
    ├── UsageError                a command-line argument or an environment value
    │                             (--chief, $BLUEPRINT_MAX_PARAMS, $TF_CONFIG)
    ├── RunError                  a run directory, checkpoint, backup, lock, export
    │                             or model file is unusable (names the path)
    ├── TrialError                one trial failed: it is recorded, the search goes on
    │                             (the meaning of keras-tuner's FailedTrialError)
    ├── SearchError               the whole search cannot go on: it stops
    │                             (the meaning of keras-tuner's FatalError)
    ├── DuplicateNameError        a component name registered twice (registry.py)
    └── ExpressionError           a ``${...}`` expression is wrong (expressions.py);
                                  the loader re-raises it as a located BlueprintError

``BlueprintError``, ``UsageError`` and ``DuplicateNameError`` are also
``ValueError``s (a wrong value), as their cases were before. Only a BlueprintError
has a line and a column; a UsageError's WHERE is the option or variable (or
``<command line>`` for arguments wrong together), a RunError's the path
(``PATH: error: ...``). keras-tuner's own classes cannot be bases here (importing
keras-tuner imports TensorFlow): the tuning engine raises subclasses that are both,
e.g. ``class SearchStopped(SearchError, keras_tuner.errors.FatalError)``.

The command line maps each class to its exit status in one table
(:data:`keras_blueprints.cli.EXIT_STATUS`).

This module imports nothing heavy: it is used by validation that must not
import TensorFlow.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "COMMAND_LINE",
    "BlueprintError",
    "BlueprintErrors",
    "BlueprintWarning",
    "KerasBlueprintsError",
    "KnockOn",
    "Location",
    "Plain",
    "RunError",
    "SearchError",
    "TrialError",
    "UsageError",
    "closest",
    "did_you_mean",
    "format_path",
    "is_out_of_memory",
    "report",
]


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a source file, 1-based like editors and compilers show it.

    Attributes:
        file: The file name as the user gave it, or ``<string>`` for text,
            or ``<command line>`` for an override; for an error that is not in a
            blueprint, what it names instead (a path, an option, a variable).
        line: 1-based line number (0 when unknown, or when there is no line).
        col: 1-based column number (0 when unknown).
    """

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"

    def shifted(self, columns: int) -> Location:
        """Returns the location ``columns`` characters further on the same line."""
        if self.line <= 0:
            return self
        return Location(self.file, self.line, self.col + columns)


UNKNOWN = Location("<unknown>")


def format_path(path: Sequence[object]) -> str:
    """Formats a key path such as ``('graph', 3, 'Conv2D', 'filters')``.

    Args:
        path: Mapping keys (strings) and list indices (integers).

    Returns:
        A dotted path, with list indices in brackets: ``graph[3].Conv2D.filters``.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def closest(word: str, candidates: Iterable[str], n: int = 1) -> list[str]:
    """Returns the candidates closest to ``word`` (case-insensitive), best first."""
    pool = list(dict.fromkeys(str(c) for c in candidates))
    lowered: dict[str, str] = {}
    for c in pool:  # on a case clash (Dense, dense) keep the spelling styled like the word
        kept = lowered.get(c.lower())
        if kept is None or (_styled_like(c, word) and not _styled_like(kept, word)):
            lowered[c.lower()] = c
    exact = lowered.get(word.lower())
    if exact is not None and exact != word:
        return [exact]
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[m] for m in matches]


def _styled_like(candidate: str, word: str) -> bool:
    return candidate[:1].isupper() == word[:1].isupper()


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Returns ``"Did you mean 'x'?"`` for the closest candidate, or ``""``."""
    best = closest(word, candidates)
    return f"Did you mean '{best[0]}'?" if best else ""


def _preview(values: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(values[:limit])
    if len(values) > limit:
        shown += f", ... ({len(values) - limit} more)"
    return shown


COMMAND_LINE = "<command line>"
"""Where a :class:`UsageError` points when the arguments together are wrong, not one option."""


class KerasBlueprintsError(Exception):
    """The base of every error keras-blueprints reports to a user.

    ``except KerasBlueprintsError`` catches all of them; the command line prints
    :func:`report` and exits with the status its class maps to (2), where any other
    exception is a bug (70). See the module docstring for the hierarchy.
    """


class _FormulaError(KerasBlueprintsError):
    """An error built from structured fields and printed with the error formula.

    Attributes:
        message: What is wrong, one sentence.
        location: Where: file, line and column in a blueprint; for the errors that
            are not in one, the option, variable or path (no line).
        expected: What would have been valid, in words.
        received: What was found instead.
        hint: How to fix it (often a did-you-mean).
        context: Where in the blueprint's structure (``in block 'down3'``).
    """

    def __init__(
        self,
        message: str,
        location: Location,
        *,
        expected: str | None = None,
        received: object = None,
        hint: str | None = None,
        context: str | None = None,
    ) -> None:
        self.message = message
        self.location = location
        self.expected = expected
        self.received = received
        self.hint = hint
        self.context = context
        super().__init__(self.format())

    def format(self) -> str:
        """Formats the error as ``WHERE: error: ...`` plus a line of detail.

        WHERE is ``FILE:LINE:COL`` for a blueprint error, else what the error names.
        """
        head = self.message
        if self.context:
            head += f" ({self.context})"
        if not head.endswith((".", "?", "!")):
            head += "."
        lines = [f"{self.location}: error: {head}"]
        detail = []
        if self.expected:
            detail.append(f"Expected {self.expected}.")
        if self.received is not None:
            detail.append(f"Received: {_show(self.received)}.")
        if self.hint:
            hint = self.hint[:1].upper() + self.hint[1:]
            detail.append(hint if hint.endswith((".", "?", "!", ")")) else hint + ".")
        if detail:
            lines.append("  " + " ".join(detail))
        return "\n".join(lines)

    def __reduce__(self):  # keep the structured fields through pickling
        return (_rebuild, (self.__class__, self.__dict__.copy()))


def _rebuild(cls: type, state: dict) -> _FormulaError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err.format())
    return err


class BlueprintError(_FormulaError, ValueError):
    """A problem in a blueprint, pointing at the YAML that caused it.

    Attributes:
        message: What is wrong, one sentence.
        location: Where: file, line and column.
        path: The key path inside the document (``graph[2].Dense.units``).
        expected: What would have been valid, in words.
        received: What was found instead.
        hint: How to fix it (often a did-you-mean).
        context: Where in the blueprint's structure (``in block 'down3'``).
    """

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        *,
        path: Sequence[object] = (),
        expected: str | None = None,
        received: object = None,
        hint: str | None = None,
        context: str | None = None,
    ) -> None:
        self.path = tuple(path)
        super().__init__(
            message,
            location or UNKNOWN,
            expected=expected,
            received=received,
            hint=hint,
            context=context,
        )

    @classmethod
    def unknown_name(
        cls,
        what: str,
        name: str,
        candidates: Iterable[str],
        location: Location | None,
        *,
        path: Sequence[object] = (),
        context: str | None = None,
        extra_hint: str | None = None,
        shown: Iterable[str] | None = None,
        ordered: bool = False,
    ) -> BlueprintError:
        """Builds the error for a name that is not one of ``candidates``.

        Args:
            what: What the name should have been, e.g. ``"an argument of Conv2D"``.
            name: The name that was received.
            candidates: The valid names.
            location: Where the name stands in the YAML.
            path: The key path of the name.
            context: Where in the blueprint's structure.
            extra_hint: Appended to the did-you-mean.
            shown: The names to list as expected (default: all candidates); the
                suggestion is still drawn from every candidate.
            ordered: Keep the candidates' order (e.g. signature order) instead of sorting.

        Returns:
            The error (to be raised by the caller).
        """
        pool = list(dict.fromkeys(str(c) for c in candidates))
        valid = list(dict.fromkeys(str(c) for c in (pool if shown is None else shown)))
        if not ordered:
            valid.sort(key=str.lower)
        hint = " ".join(h for h in (did_you_mean(name, pool), extra_hint) if h)
        return cls(
            f"'{name}' is not {what}",
            location,
            path=path,
            expected=f"one of: {_preview(valid)}" if valid else None,
            hint=hint or None,
            context=context,
        )


class Plain(str):
    """Text shown as is (not quoted) after ``Received:``: a description, not a value."""

    __slots__ = ()


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) and not isinstance(value, Plain) else str(value)
    return text if len(text) <= 200 else text[:197] + "..."


class KnockOn(BlueprintError):
    """A failure caused by an error already reported (a value using a failed parameter).

    It stops what depends on it, as any :class:`BlueprintError` does (``except
    BlueprintError`` catches it, so the node or value counts as failed), but an
    :class:`ErrorCollector` never reports it: the error that caused it is reported
    instead, once. Its message still reads well should it ever reach a user alone.
    """


class BlueprintErrors(BlueprintError):
    """Several independent errors found in one pass, reported together.

    It is a :class:`BlueprintError` itself (its fields are those of the first
    error), so ``except BlueprintError`` catches it; ``errors`` holds them all.
    """

    def __init__(self, errors: Sequence[BlueprintError]) -> None:
        if not errors:
            raise ValueError("BlueprintErrors needs at least one error")
        flat: list[BlueprintError] = []
        for err in errors:
            flat.extend(err.errors if isinstance(err, BlueprintErrors) else [err])
        flat.sort(key=lambda e: (e.location.file, e.location.line, e.location.col))
        self.errors = tuple(flat)
        first = self.errors[0]
        super().__init__(
            first.message,
            first.location,
            path=first.path,
            expected=first.expected,
            received=first.received,
            hint=first.hint,
            context=first.context,
        )

    def format(self) -> str:
        """Formats every error, one block each, in file order."""
        errors = getattr(self, "errors", ())
        if not errors:
            return super().format()
        return "\n".join(e.format() for e in errors)


class BlueprintWarning(UserWarning):
    """Something in a blueprint that is valid but most likely a mistake, located in its YAML.

    A blueprint with warnings loads; ``Blueprint.warnings`` holds them and
    ``blueprint validate`` prints them, in the error formula's shape with ``warning``::

        mlp.yaml:3:3: warning: parameter 'widht' is never used (did you mean 'width'?).

    Attributes:
        message: What is likely wrong, one sentence.
        location: Where: file, line and column.
        hint: How to fix it (often a did-you-mean), or None.
    """

    def __init__(self, message: str, location: Location, *, hint: str | None = None) -> None:
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        """Formats the warning: ``FILE:LINE:COL: warning: MESSAGE (HINT).``, one line."""
        hint = f" ({self.hint[:1].lower()}{self.hint[1:]})" if self.hint else ""
        return f"{self.location}: warning: {self.message}{hint}."

    def __reduce__(self):  # keep the structured fields through pickling
        return (_rebuild_warning, (self.message, self.location, self.hint))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BlueprintWarning):
            return NotImplemented
        return (self.message, self.location, self.hint) == (
            other.message,
            other.location,
            other.hint,
        )

    def __hash__(self) -> int:
        return hash((self.message, self.location, self.hint))


def _rebuild_warning(message: str, location: Location, hint: str | None) -> BlueprintWarning:
    return BlueprintWarning(message, location, hint=hint)


class UsageError(_FormulaError, ValueError):
    """A command-line argument or an environment value is wrong.

    It names the option (``--max-params``) or the variable (``$BLUEPRINT_MAX_PARAMS``,
    ``TF_CONFIG``) and has no line: ``--max-params: error: ...``. Arguments that are
    wrong together, none alone, point at :data:`COMMAND_LINE`.

    Attributes:
        option: The option or environment variable, as the user writes it.
    """

    def __init__(
        self,
        message: str,
        option: str = COMMAND_LINE,
        *,
        expected: str | None = None,
        received: object = None,
        hint: str | None = None,
        context: str | None = None,
    ) -> None:
        self.option = option
        super().__init__(
            message,
            Location(option),
            expected=expected,
            received=received,
            hint=hint,
            context=context,
        )


class RunError(_FormulaError):
    """A run directory, checkpoint, backup, lock, export or model file is unusable.

    It names the path, with no line: ``runs/mlp: error: ...``.

    Attributes:
        filename: The path, as the user gave it (like ``OSError.filename``).
    """

    def __init__(
        self,
        message: str,
        filename: str | os.PathLike[str],
        *,
        expected: str | None = None,
        received: object = None,
        hint: str | None = None,
        context: str | None = None,
    ) -> None:
        self.filename = os.fspath(filename)
        super().__init__(
            message,
            Location(self.filename),
            expected=expected,
            received=received,
            hint=hint,
            context=context,
        )


class TrialError(_FormulaError):
    """One trial failed: it is recorded as failed, with this reason, and the search goes on.

    The meaning of keras-tuner's ``FailedTrialError`` (the tuning engine raises a
    subclass of both). Examples: the trial's values make a blueprint that does not
    build, its data does not fit its model, its loss diverged.

    Attributes:
        trial: The trial's id, if known.
    """

    def __init__(
        self,
        message: str,
        trial: str | None = None,
        *,
        expected: str | None = None,
        received: object = None,
        hint: str | None = None,
        context: str | None = None,
    ) -> None:
        self.trial = trial
        super().__init__(
            message,
            Location(f"trial {trial}" if trial else "trial"),
            expected=expected,
            received=received,
            hint=hint,
            context=context,
        )


class SearchError(_FormulaError):
    """A problem of the whole search, not of one trial: the search stops.

    The meaning of keras-tuner's ``FatalError`` (the tuning engine raises a subclass
    of both). Example: the ``tune.objective`` is not a metric that training logs.
    It points at the blueprint's YAML when the blueprint is the cause.
    """

    def __init__(
        self,
        message: str,
        location: Location | str,
        *,
        expected: str | None = None,
        received: object = None,
        hint: str | None = None,
        context: str | None = None,
    ) -> None:
        super().__init__(
            message,
            location if isinstance(location, Location) else Location(location),
            expected=expected,
            received=received,
            hint=hint,
            context=context,
        )


def report(error: KerasBlueprintsError) -> str:
    """The lines the command line prints for ``error``.

    The error formula for the errors built from fields; ``blueprint: error: ...``
    for the others (a duplicate name, an expression error that was not located).

    Args:
        error: Any error of keras-blueprints.

    Returns:
        The text, without a final newline.
    """
    if isinstance(error, _FormulaError):
        return error.format()
    return f"blueprint: error: {error}"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says that memory ran out.

    That is Python's (and NumPy's) ``MemoryError``, or TensorFlow's
    ``ResourceExhaustedError`` (an allocation failed on the host or an accelerator).
    TensorFlow is looked up only if it is already imported: this module stays light.

    Args:
        exc: Any exception.

    Returns:
        True for an out-of-memory error.
    """
    if isinstance(exc, MemoryError):
        return True
    tf = sys.modules.get("tensorflow")
    kind = getattr(getattr(tf, "errors", None), "ResourceExhaustedError", None)
    return isinstance(kind, type) and isinstance(exc, kind)


class ErrorCollector:
    """Collects independent errors so that one pass can report all of them, each once.

    An error met again at the same place with the same message (a mistake in a
    block's body, expanded for every instance; one in a repeated node) is kept once.
    :class:`BlueprintErrors` reports them sorted by file, line and column. A
    :class:`KnockOn` is counted as a failure (:attr:`failures`) but never reported.

    Attributes:
        errors: The errors to report.
        knock_ons: The failures caused by reported errors, kept apart.
        limit: How many errors make :meth:`add` raise them all at once.
    """

    def __init__(self, limit: int = 50) -> None:
        self.errors: list[BlueprintError] = []
        self.knock_ons: list[KnockOn] = []
        self.limit = limit
        self._seen: set[tuple[Location, str]] = set()

    @property
    def failures(self) -> int:
        """How many failures were met: the errors and the knock-ons."""
        return len(self.errors) + len(self.knock_ons)

    def add(self, error: BlueprintError) -> None:
        """Records an error; raises everything at once when the limit is reached."""
        for err in error.errors if isinstance(error, BlueprintErrors) else [error]:
            if isinstance(err, KnockOn):
                self.knock_ons.append(err)
                continue
            key = (err.location, err.message)
            if key in self._seen:
                continue
            if err.location.line > 0:  # two errors with no line may be at different places
                self._seen.add(key)
            self.errors.append(err)
        if len(self.errors) >= self.limit:
            self.raise_if_any()

    def raise_if_any(self) -> None:
        """Raises the collected errors, if any; else a knock-on, if any (a failure all the same)."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise BlueprintErrors(self.errors)
        if self.knock_ons:
            raise self.knock_ons[0]

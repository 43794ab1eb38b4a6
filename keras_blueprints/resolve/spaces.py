"""Search spaces written in place in a blueprint, and who chooses their values.

Any value of a blueprint may be a search space instead of a value::

    units: {choice: [32, 64, 128]}
    rate: {float: [0.0, 0.5], step: 0.1}
    learning_rate: {float: [1.0e-4, 1.0e-2], sampling: log, default: 1.0e-3}
    repeat: {int: [1, 4], name: depth}
    batchnorm: {boolean: false}
    seed: {fixed: 0}

The mapping's one *kind* key says the domain (``choice``: the values; ``int``
and ``float``: ``[min, max]``; ``boolean``: its default; ``fixed``: the value);
``name``, ``default``, ``step`` and ``sampling`` are optional. A space in
``params:`` is named after its parameter, so ``${}`` expressions use it like
any parameter; elsewhere an unnamed space is named by where it stands, by node
(``hidden2/units``, ``compile/optimizer/learning_rate``), and a ``name:`` lets
one hyperparameter drive several places.

Resolution asks a :class:`SpaceProvider` for each space's value as it meets it,
together with the conditions under which the space is active (the ``when:``
and ``repeat:`` around it that depend on other hyperparameters); the provider
and the conditions travel in the resolution's
:class:`~keras_blueprints.resolve.context.ResolveContext`. Loading a
blueprint uses :class:`DefaultProvider` (every space takes its default, so a
blueprint with spaces builds as it is); a search passes a provider backed by
keras-tuner's ``HyperParameters``. This module imports the standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from keras_blueprints._core.errors import BlueprintError, Location, Plain

__all__ = [
    "KINDS",
    "Condition",
    "DefaultProvider",
    "Space",
    "SpaceProvider",
    "ValuesProvider",
    "is_space",
    "parse_space",
]

KINDS = ("choice", "int", "float", "boolean", "fixed")
OPTIONS = ("name", "default", "step", "sampling", "doc")
SAMPLINGS = ("linear", "log", "reverse_log")
MAX_ENUMERATED = 1_000
"""Largest domain enumerated to work out conditions (a wider parent makes no condition)."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Space:
    """One search space as written in the YAML.

    Attributes:
        kind: ``choice``, ``int``, ``float``, ``boolean`` or ``fixed``.
        values: For ``choice``: the values; for ``fixed``: the one value.
        low: For ``int``/``float``: the lower bound.
        high: For ``int``/``float``: the upper bound (included).
        step: For ``int``/``float``: the step, or None (``int``: 1).
        sampling: ``linear``, ``log`` or ``reverse_log``.
        default: The value used when nothing is searched.
        name: The explicit name, or None.
        location: Where the space stands.
    """

    kind: str
    values: tuple[Any, ...] = ()
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    sampling: str = "linear"
    default: Any = None
    name: str | None = None
    location: Location = field(default=Location("<unknown>"), compare=False)

    def domain(self, limit: int | None = None) -> list[Any] | None:
        """Every value, when there are finitely many (None for a continuous range).

        Args:
            limit: Give up (return None) when there are more values than this; the
                count is worked out first, so a huge range never becomes a list.

        Returns:
            The values, or None for a continuous range or one wider than ``limit``.
        """
        size = self.size()
        if size is None or (limit is not None and size > limit):
            return None
        if self.kind in ("choice", "fixed"):
            return list(self.values)
        if self.kind == "boolean":
            return [False, True]
        if self.kind == "int":
            step = self.step or 1
            if self.sampling == "log" and self.step is not None:
                out, v = [], self.low
                while v <= self.high:
                    out.append(v)
                    v *= step
                return out
            return list(range(int(self.low), int(self.high) + 1, int(step)))
        return [round(self.low + i * self.step, 12) for i in range(size)]

    def size(self) -> int | None:
        """The number of values (None: infinitely many), counted without listing them."""
        if self.kind in ("choice", "fixed"):
            return len(self.values)
        if self.kind == "boolean":
            return 2
        if self.kind == "int":
            step = self.step or 1
            if self.sampling == "log" and self.step is not None:
                count, v = 0, self.low
                while v <= self.high:  # a factor >= 2 from a minimum >= 1: few steps
                    count += 1
                    v *= step
                return count
            return max(0, (int(self.high) - int(self.low)) // int(step) + 1)
        if self.step is not None:
            ratio = (self.high - self.low) / self.step
            return math.floor(ratio + 1e-9) + 1 if ratio < 2**62 else 2**62
        return None

    def describe(self) -> str:
        """The domain in words: ``choice 32, 64, 128``, ``float 1e-4..1e-2 (log)``."""
        if self.kind in ("choice",):
            return "choice " + ", ".join(map(str, self.values))
        if self.kind == "fixed":
            return f"fixed {self.values[0]}"
        if self.kind == "boolean":
            return "boolean"
        text = f"{self.kind} {self.low}..{self.high}"
        if self.step is not None:
            text += f" step {self.step}"
        if self.sampling != "linear":
            text += f" ({self.sampling})"
        return text


@dataclass(frozen=True)
class Condition:
    """A space is active only when hyperparameter ``parent`` takes one of ``values``."""

    parent: str
    values: tuple[Any, ...]


class SpaceProvider(Protocol):
    """Chooses the value of each search space met during resolution."""

    def value(self, space: Space, name: str, conditions: Sequence[Condition]) -> Any:
        """Returns the value of ``space`` (called ``name``) under ``conditions``."""
        ...


class DefaultProvider:
    """Gives every space its default and records the spaces met (name -> space, conditions)."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[Space, tuple[Condition, ...]]] = {}

    def value(self, space: Space, name: str, conditions: Sequence[Condition]) -> Any:
        """Returns the default of ``space``."""
        check_same(self.seen, space, name)
        self.seen.setdefault(name, (space, tuple(conditions)))
        return space.default


class ValuesProvider(DefaultProvider):
    """Gives the spaces the values chosen elsewhere (a trial's), defaults for the others.

    Args:
        values: Hyperparameter values by name.
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__()
        self.values = dict(values)

    def value(self, space: Space, name: str, conditions: Sequence[Condition]) -> Any:
        """Returns ``values[name]`` if given, else the space's default."""
        super().value(space, name, conditions)
        return self.values.get(name, space.default)


def check_same(seen: Mapping[str, tuple[Space, Any]], space: Space, name: str) -> None:
    """Refuses one name given to two different spaces.

    Raises:
        BlueprintError: ``name`` was met before with another domain.
    """
    before = seen.get(name)
    if before is not None and before[0] != space:
        raise BlueprintError(
            f"two different search spaces are both named '{name}'",
            space.location,
            expected=f"the same space as at {before[0].location}: {before[0].describe()}",
            received=Plain(space.describe()),
            hint="Give one of them another name, or write the same space in both places.",
        )


# -- reading spaces -------------------------------------------------------------------


def is_space(value: Any) -> bool:
    """True for a mapping written as a search space (one kind key, known options)."""
    if not isinstance(value, dict) or not value:
        return False
    kinds = [k for k in value if k in KINDS]
    return len(kinds) == 1 and all(k in KINDS or k in OPTIONS for k in value)


def parse_space(value: Mapping[str, Any], where: Any) -> Space:
    """Reads and checks a search space.

    Args:
        value: The mapping (``is_space(value)`` is true), its own ``${}`` already evaluated.
        where: Its place (a :class:`~keras_blueprints.resolve.values.Where`), for errors.

    Returns:
        The space, its default filled in.

    Raises:
        BlueprintError: An empty choice, min > max, log sampling with a bound <= 0, a
            default outside the domain, options that do not fit the kind.
    """
    (kind,) = [k for k in value if k in KINDS]
    domain = value[kind]
    kw = where / kind
    name = value.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise BlueprintError(
            "a search space's 'name' must be a non-empty string",
            (where / "name").loc,
            received=name,
        )
    sampling = value.get("sampling", "linear")
    if sampling not in SAMPLINGS:
        raise BlueprintError.unknown_name(
            "a sampling", str(sampling), SAMPLINGS, (where / "sampling").loc
        )
    step = value.get("step")
    for option in ("step", "sampling"):
        if option in value and kind not in ("int", "float"):
            raise BlueprintError(
                f"'{option}' applies to int and float ranges, not to a {kind} space",
                (where / option).key_loc,
            )
    location = where.key_loc
    if kind == "choice":
        if not isinstance(domain, list) or not domain:
            raise BlueprintError(
                "a choice needs at least one value",
                kw.loc,
                expected="a non-empty list, e.g.  {choice: [32, 64, 128]}",
                received=domain if not isinstance(domain, list) else Plain("an empty list"),
            )
        if any(isinstance(v, dict | list) for v in domain):
            raise BlueprintError(
                "the values of a choice are numbers, strings, booleans or null",
                kw.loc,
                received=domain,
                hint="To choose between structures, choose a name and use it in 'when:'.",
            )
        if len(set(map(repr, domain))) != len(domain):
            raise BlueprintError("a choice lists a value twice", kw.loc, received=domain)
        space = Space("choice", tuple(domain), name=name, location=location)
        return _with_default(space, value.get("default", domain[0]), where, domain)
    if kind == "fixed":
        return Space("fixed", (domain,), default=domain, name=name, location=location)
    if kind == "boolean":
        default = value.get("default", domain if domain is not None else False)
        if not isinstance(default, bool):
            raise BlueprintError(
                "a boolean space is written  {boolean: DEFAULT}",
                kw.loc,
                expected="true or false",
                received=default,
            )
        return Space("boolean", default=default, name=name, location=location)
    return _range(kind, domain, step, sampling, value, where, name, location)


def _range(kind, domain, step, sampling, value, where, name, location) -> Space:
    kw = where / kind
    integer = kind == "int"
    ok = (
        isinstance(domain, list)
        and len(domain) == 2
        and all(
            (isinstance(v, int) and not isinstance(v, bool)) if integer else _number(v)
            for v in domain
        )
    )
    if not ok:
        raise BlueprintError(
            f"an {kind} range is written  {{{kind}: [min, max]}}",
            kw.loc,
            expected="two integers" if integer else "two numbers",
            received=domain,
        )
    low, high = domain
    if low > high:
        raise BlueprintError(
            f"the {kind} range's minimum is above its maximum",
            kw.loc,
            expected="min <= max",
            received=Plain(f"min {low}, max {high}"),
        )
    if sampling in ("log", "reverse_log") and low <= 0:
        raise BlueprintError(
            f"{sampling} sampling needs a positive minimum",
            kw.loc,
            expected="min > 0",
            received=Plain(f"min {low}"),
            hint="Log sampling spreads values over orders of magnitude, which 0 has none of.",
        )
    if step is not None:
        positive = (
            (isinstance(step, int) and not isinstance(step, bool)) if integer else _number(step)
        )
        if not positive or step <= 0:
            raise BlueprintError(
                "'step' must be a positive " + ("integer" if integer else "number"),
                (where / "step").loc,
                received=step,
            )
        if sampling == "log" and step <= 1:
            raise BlueprintError(
                "with log sampling, 'step' is a factor above 1",
                (where / "step").loc,
                received=step,
            )
    space = Space(kind, low=low, high=high, step=step, sampling=sampling, name=name,
                  location=location)  # fmt: skip
    return _with_default(space, value.get("default", low), where, None)


def _with_default(space: Space, default: Any, where: Any, choices: list | None) -> Space:
    dw = where / "default"
    if choices is not None:
        if default not in choices:
            raise BlueprintError(
                "the default is not one of the choices",
                dw.loc,
                expected="one of: " + ", ".join(map(str, choices)),
                received=default,
            )
    elif not _number(default) or not (space.low <= default <= space.high):
        raise BlueprintError(
            "the default is outside the range",
            dw.loc,
            expected=f"a number from {space.low} to {space.high}",
            received=default,
        )
    elif space.kind == "int" and not isinstance(default, int):
        raise BlueprintError("the default of an int range is an integer", dw.loc, received=default)
    return Space(
        space.kind, space.values, space.low, space.high, space.step, space.sampling, default,
        space.name, space.location,
    )  # fmt: skip

"""The small type language of block parameters: ``int``, ``float | list``, ``str?``.

Used by blocks declared in YAML (``params: {filters: int}``) and by blocks
registered from Python (read from their annotations), so that a wrong value is
refused at load time with the expected and received types.

Python blocks also declare the *range* of a number once, in its annotation,
with the types of this module: ``filters: PositiveInt``, ``dropout: Rate``,
``l2: NonNegative``, ``index: NonNegativeInt | None`` (``typing.Annotated``
carrying a :class:`Bound`); choices are ``typing.Literal``. The loader checks
them (a located error at the value), the JSON Schema shows them
(``exclusiveMinimum``, ``enum``...), and a block called from Python checks them
too (see ``catalog.components.register_block``), so no block repeats them.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "TYPE_NAMES",
    "Bound",
    "Fraction",
    "NonNegative",
    "NonNegativeInt",
    "Positive",
    "PositiveInt",
    "Rate",
    "ValueType",
    "bound_of_annotation",
    "choices_of_annotation",
    "type_of_annotation",
]

TYPE_NAMES = ("int", "float", "str", "bool", "list", "dict", "null", "any")


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "dict"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class ValueType:
    """A union of base types, e.g. ``int | list``; ``any`` accepts everything.

    Attributes:
        names: The accepted base type names.
    """

    names: tuple[str, ...] = ("any",)

    @classmethod
    def parse(cls, text: str) -> ValueType:
        """Parses ``"int"``, ``"int | list"`` or ``"str?"`` (optional: also null).

        Args:
            text: The type expression.

        Returns:
            The type.

        Raises:
            ValueError: An unknown type name (the message lists the valid ones).
        """
        text = text.strip()
        optional = text.endswith("?")
        parts = [p.strip() for p in text.rstrip("?").split("|")]
        for p in parts:
            if p not in TYPE_NAMES:
                raise ValueError(p)
        names = tuple(dict.fromkeys([*parts, *(["null"] if optional else [])]))
        return cls(names)

    def accepts(self, value: object) -> bool:
        """Returns True when ``value`` is of one of the accepted types."""
        if "any" in self.names:
            return True
        name = _type_name(value)
        return name in self.names or (name == "int" and "float" in self.names)

    def __str__(self) -> str:
        return " | ".join(self.names)

    @staticmethod
    def name_of(value: object) -> str:
        """Returns the type name of a plain value (``int``, ``list``, ...)."""
        return _type_name(value)


@dataclass(frozen=True, slots=True)
class Bound:
    """The range of a number parameter, carried by ``typing.Annotated``.

    Only numbers are checked: a list or null accepted by the same annotation's
    type (``PositiveInt | list``) passes, so the bound states one thing.

    Attributes:
        words: What is expected, in words (``a positive integer``).
        minimum: Smallest value allowed, if any.
        exclusive_minimum: Values must be greater than this, if set.
        maximum: Largest value allowed, if any.
        exclusive_maximum: Values must be smaller than this, if set.
    """

    words: str
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: float | None = None

    def accepts(self, value: object) -> bool:
        """Returns False only for a number outside the range."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True
        return not (
            (self.minimum is not None and value < self.minimum)
            or (self.exclusive_minimum is not None and value <= self.exclusive_minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.exclusive_maximum is not None and value >= self.exclusive_maximum)
        )

    def schema(self) -> dict[str, float]:
        """The JSON Schema keywords of the range (``minimum``, ``exclusiveMaximum``...)."""
        keys = {
            "minimum": self.minimum,
            "exclusiveMinimum": self.exclusive_minimum,
            "maximum": self.maximum,
            "exclusiveMaximum": self.exclusive_maximum,
        }
        return {k: v for k, v in keys.items() if v is not None}

    def message(self, key: str, value: object) -> str:
        """The Keras-style message for a value out of range.

        Args:
            key: The parameter's name.
            value: The value received.

        Returns:
            ``Expected a positive integer for 'filters'. Received: filters=-8``.
        """
        return f"Expected {self.words} for '{key}'. Received: {key}={value!r}"


PositiveInt = typing.Annotated[int, Bound("a positive integer", exclusive_minimum=0)]
"""An integer > 0: filters, units, kernel sizes, strides, repeats."""

NonNegativeInt = typing.Annotated[int, Bound("a non-negative integer", minimum=0)]
"""An integer >= 0: a layer index."""

Positive = typing.Annotated[float, Bound("a positive number", exclusive_minimum=0)]
"""A number > 0: a width multiplier."""

NonNegative = typing.Annotated[float, Bound("a number >= 0", minimum=0)]
"""A number >= 0: a regularization penalty."""

Rate = typing.Annotated[float, Bound("a number in [0, 1)", minimum=0, exclusive_maximum=1)]
"""A number in [0, 1): a dropout rate."""

Fraction = typing.Annotated[float, Bound("a number in (0, 1]", exclusive_minimum=0, maximum=1)]
"""A number in (0, 1]: a share that keeps something (DenseNet's compression)."""


def bound_of_annotation(annotation: object) -> Bound | None:
    """The :class:`Bound` of an ``Annotated`` annotation (also inside a union), else None."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return next((m for m in annotation.__metadata__ if isinstance(m, Bound)), None)
    if origin is typing.Union or origin is types.UnionType:
        found = [b for arg in typing.get_args(annotation) if (b := bound_of_annotation(arg))]
        return found[0] if found else None
    return None


_ANNOTATIONS: dict[object, str] = {
    int: "int",
    float: "float",
    str: "str",
    bool: "bool",
    list: "list",
    tuple: "list",
    dict: "dict",
    type(None): "null",
    typing.Any: "any",
}


def choices_of_annotation(annotation: object) -> tuple[object, ...]:
    """The allowed values of a ``Literal[...]`` annotation (also inside ``Optional``), else ()."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return choices_of_annotation(annotation.__origin__)
    if origin is typing.Literal:
        return typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        found = [c for arg in typing.get_args(annotation) for c in choices_of_annotation(arg)]
        has_none = type(None) in typing.get_args(annotation)
        return (*found, None) if found and has_none else tuple(found)
    return ()


def type_of_annotation(annotation: object) -> ValueType:
    """Maps a Python annotation (``int``, ``int | None``, ``Sequence[int]``) to a ValueType.

    Args:
        annotation: An evaluated annotation; unknown ones map to ``any``.

    Returns:
        The value type.
    """
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return type_of_annotation(annotation.__origin__)
    if origin is typing.Literal:
        names = [_type_name(v) for v in typing.get_args(annotation)]
        return ValueType(tuple(dict.fromkeys(names)))
    if origin is typing.Union or origin is types.UnionType:
        names: list[str] = []
        for arg in typing.get_args(annotation):
            names.extend(type_of_annotation(arg).names)
        return ValueType(tuple(dict.fromkeys(names)))
    if origin is not None:
        annotation = origin
    if annotation in _ANNOTATIONS:
        return ValueType((_ANNOTATIONS[annotation],))
    if isinstance(annotation, type):
        if issubclass(annotation, Mapping):
            return ValueType(("dict",))
        if issubclass(annotation, Sequence) and not issubclass(annotation, str):
            return ValueType(("list",))
    return ValueType()

"""The small type language of block parameters: ``int``, ``float | list``, ``str?``.

Used by blocks declared in YAML (``params: {filters: int}``) and by blocks
registered from Python (read from their annotations), so that a wrong value is
refused at load time with the expected and received types.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["TYPE_NAMES", "ValueType", "choices_of_annotation", "type_of_annotation"]

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

"""What the editor schema says about one layer argument: its type and its description.

The description is the argument's own docstring text (``layer_docs.json``, see
:mod:`keras_blueprints.catalog.docs`), followed by ``Required.`` or its default.
The accepted values are inferred, in this order, and always widened to what the
resolver and Keras accept (the schema must never refuse a valid blueprint):

* identifiers (``activation``, ``*_initializer``, ``*_regularizer``,
  ``*_constraint``), as the resolver checks them
  (:func:`keras_blueprints.resolve.identifiers.argument_kind`): one of Keras'
  names, a name registered with Keras written ``package>Name``, a mapping
  (``{class_name, config}``), or null. A custom object registered with Keras
  and written by its bare name is accepted by the resolver but not by the
  schema: the schema does not depend on what one process has registered;
* enumerated arguments (``padding``, ``data_format``, ``interpolation``,
  ``merge_mode``, ``dtype``...): a string among the values (any case where Keras
  lower-cases it), or null; an argument of the same name whose default is not a
  string (``ZeroPadding2D.padding``) also takes what that default says;
* ``name``: a string; ``seed`` (of Keras' layers): an integer or null;
* a boolean default: a boolean;
* a docstring that starts with a type Keras states reliably (``Positive
  integer``, ``int``, ``int or tuple/list of 2 integer``, ``Float between 0 and
  1``, ``string``): that type, null too when the default is None;
* a number or tuple default: a number or a list;
* otherwise: anything.

Identifiers and enumerations are typed for the shipped layers only: the
resolver lets a user's registered layer read its arguments its own way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from keras_blueprints.catalog import OBJECT_DEFAULT, ParamInfo, vocabulary
from keras_blueprints.resolve.identifiers import CASE_SENSITIVE_ENUMERATIONS, argument_kind

__all__ = [
    "GENERIC_DOCS",
    "IDENTIFIER_KINDS",
    "argument_schema",
    "json_value",
    "typed",
    "vocabulary_definitions",
]

IDENTIFIER_KINDS = ("activations", "initializers", "regularizers", "constraints")
"""The kinds of identifier a layer argument takes (by its name)."""

EXPRESSION = {"$ref": "#/$defs/expression"}
SPACE = {"$ref": "#/$defs/searchSpace"}

GENERIC_DOCS: Mapping[str, str] = {
    "autocast": "Boolean, whether to cast the layer's floating inputs to its compute dtype.",
    "activity_regularizer": "Regularizer function applied to the output of the layer.",
    "data_format": 'The ordering of the dimensions in the inputs: "channels_last" or'
    ' "channels_first" (default: keras.config.image_data_format()).',
}
"""Descriptions of inherited keywords that Keras' docstrings do not describe."""

REGISTERED = r"^[^>]+>[^>]+$"
"""A name registered with Keras under a package (``my_package>swish2``)."""

_INT_ONLY = re.compile(r"^(an? )?(positive |non-negative |optional )*(int|integer)$")
_INT_OR_LIST = re.compile(
    r"^(an? )?(positive |optional )?(int|integer) or ((a |an )?(tuple|list|none)\b|list/tuple)"
)
_FLOAT_ONLY = re.compile(r"^(a )?(positive |optional )?float( between 0 and 1| >= 0)?$")
_STRING = re.compile(r"^(a )?string$")


def typed(schema: Mapping[str, Any], description: str | None = None) -> dict[str, Any]:
    """``schema``, a ``${...}`` expression or a search space.

    Args:
        schema: What a plain value must be.
        description: Shown by editors, when given.

    Returns:
        The schema of a value a blueprint may also compute or search.
    """
    out: dict[str, Any] = {"anyOf": [dict(schema), EXPRESSION, SPACE]}
    if description:
        out["description"] = description
    return out


def _flat_typed(schema: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`typed`, a bare ``anyOf``'s options listed beside the expression (for editors)."""
    if list(schema) != ["anyOf"]:
        return typed(schema)
    return {"anyOf": [*schema["anyOf"], EXPRESSION, SPACE]}


def json_value(value: Any) -> Any:
    """A catalog default as JSON data: tuples become lists."""
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


def _head(doc: str) -> str:
    """The docstring's opening type phrase, lower case (``int or tuple/list of 2 integer``)."""
    return re.split(r"[,.;:(]", doc, maxsplit=1)[0].strip().lower()


def _nullable(schema: dict[str, Any], nullable: bool) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]} if nullable else schema


def _from_docstring(doc: str, default: Any, nullable: bool) -> dict[str, Any] | None:
    """The type a reliable opening phrase of Keras' docstring states, or None.

    Args:
        doc: The argument's description.
        default: Its default (None when required or unknown).
        nullable: Whether null is accepted (the default is None).
    """
    head = _head(doc)
    if re.match(r"^[^,.;:(]*,\s*or\b", doc):
        return None  # "Int, or tuple of 2 ints, or ...": more than the first clause says
    if _INT_OR_LIST.match(head):
        one = {"type": "integer"}
        items = {"anyOf": [one, EXPRESSION, SPACE]}
        schema = {"anyOf": [one, {"type": "array", "items": items}]}
        return _nullable(schema, nullable or "none" in head)
    if _INT_ONLY.match(head):
        schema = {"type": "integer"}
        if re.match(r"^(a |optional )?positive", head):
            schema["minimum"] = 1
        return _nullable(schema, nullable)
    if _FLOAT_ONLY.match(head):
        schema = {"type": "number"}
        if head.endswith("between 0 and 1"):
            schema.update(minimum=0, maximum=1)
        elif head.endswith(">= 0"):
            schema["minimum"] = 0
        return _nullable(schema, nullable)
    if _STRING.match(head) and isinstance(default, str | None):
        return _nullable({"type": "string"}, nullable)
    return None


def _from_default(default: Any) -> dict[str, Any] | None:
    if isinstance(default, bool):
        return {"type": "boolean"}
    if isinstance(default, int | float | tuple | list):
        return {"type": ["number", "array"]}
    return None


def _any_case(values: Iterable[str]) -> str:
    """A pattern matching any of ``values`` in any case (JSON Schema has no ``(?i)``)."""

    def letters(value: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in value)

    return "^(" + "|".join(letters(v) for v in values) + ")$"


def _identifier(kind: str) -> dict[str, Any]:
    """An activation, initializer, regularizer or constraint, as the resolver accepts it."""
    return {
        "description": f"{vocabulary.KINDS[kind][0].upper()}{vocabulary.KINDS[kind][1:]}:"
        " a name, {class_name, config}, or null.",
        "anyOf": [
            {"enum": list(vocabulary.names(kind))},
            {"type": "string", "pattern": REGISTERED},
            {"type": "object", "description": "{class_name: ..., config: {...}}"},
            {"type": "null"},
        ],
    }


def _enumeration(argument: str, values: tuple[str, ...]) -> dict[str, Any]:
    """An enumerated argument's strings (any case where Keras lower-cases them), or null."""
    options: list[dict[str, Any]] = [{"enum": list(values)}]
    if argument not in CASE_SENSITIVE_ENUMERATIONS:
        options.append({"type": "string", "pattern": _any_case(values)})
    if argument == "dtype":
        options.append({"type": "object", "description": "A keras.DTypePolicy's config."})
    options.append({"type": "null"})
    return {"description": f"A value of '{argument}'.", "anyOf": options}


def vocabulary_definitions() -> dict[str, dict[str, Any]]:
    """The definitions that typed identifier and enumerated arguments refer to.

    Returns:
        ``activations``, ``initializers``, ``regularizers``, ``constraints`` and
        ``enum.ARGUMENT`` for each enumerated argument, to go under ``$defs``.
    """
    out = {kind: _identifier(kind) for kind in IDENTIFIER_KINDS}
    for argument, values in vocabulary.enumerations().items():
        out[f"enum.{argument}"] = _enumeration(argument, values)
    return out


def _enumerated(argument: str, default: Any) -> dict[str, Any]:
    """An enumerated argument, and what a non-string default says besides."""
    ref = {"$ref": f"#/$defs/enum.{argument}"}
    if isinstance(default, str | None) or default == OBJECT_DEFAULT:
        return ref
    other = _from_default(default)
    return {"anyOf": [ref, {"not": {"type": "string"}} if other is None else other]}


def _show(value: Any) -> str:
    return json.dumps(json_value(value))


def description(info: ParamInfo, doc: str | None) -> str:
    """The argument's docstring text, then ``Required.`` or its default."""
    known = not info.required and info.default != OBJECT_DEFAULT
    if info.required:
        tail = "Required."
    else:
        tail = f"Default: {_show(info.default)}." if known else "Default: a Keras object."
    doc = doc or GENERIC_DOCS.get(info.name, "")
    return f"{doc} {tail}" if doc else tail


def argument_schema(info: ParamInfo, doc: str | None, *, checked: bool) -> dict[str, Any]:
    """The schema of one layer argument (see the module docstring).

    Args:
        info: The argument, from the layer's signature.
        doc: Its docstring description, or None.
        checked: Whether the resolver checks the layer's identifiers and enumerated
            values (Keras' layers and ours, not a user's).

    Returns:
        The argument's schema, with its description and default.
    """
    known = not info.required and info.default != OBJECT_DEFAULT
    default = info.default if known else None
    if info.kind == "layer":
        schema: dict[str, Any] = {"$ref": "#/$defs/nestedLayer"}
        if not info.required:
            schema = {"anyOf": [schema, {"type": "null"}]}
    elif info.kind == "layers":
        schema = typed({"type": "array", "items": {"$ref": "#/$defs/nestedLayer"}})
    else:
        kind = argument_kind(info.name) if checked else None
        values = vocabulary.enumeration(info.name) if checked else None
        if info.name == "name" and default is None:
            plain = {"type": ["string", "null"]}
        elif info.name == "seed" and checked and isinstance(default, int | None):
            plain = {"type": ["integer", "null"]}
        elif kind is not None:
            plain = {"$ref": f"#/$defs/{kind}"}
        elif values is not None:
            plain = _enumerated(info.name, info.default)
        else:
            nullable = known and info.default is None
            plain = (
                None
                if isinstance(default, bool) or not doc
                else _from_docstring(doc, default, nullable)
            )
            if plain is None and known:
                plain = _from_default(default)
        schema = _flat_typed(plain) if plain is not None else {}
    schema = {**schema, "description": description(info, doc)}
    if known:
        schema["default"] = json_value(info.default)
    return schema

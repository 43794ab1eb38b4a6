"""Writing the editor schema (built as draft 2020-12) in draft 07.

VS Code's YAML extension, and other editors built on the same language
service, understand JSON Schema draft 07 fully but 2020-12 only in part. The
schema is built once, in 2020-12 (:mod:`keras_blueprints.views.jsonschema`),
and :func:`to_draft_07` rewrites the few keywords that differ:

* ``$defs`` becomes ``definitions``, and every ``$ref`` follows it;
* ``dependentSchemas`` becomes ``dependencies``;
* ``prefixItems`` (with ``items`` for the rest) becomes the array form of
  ``items`` (with ``additionalItems``);
* a ``$ref`` beside other keywords (draft 07 ignores them there) moves into an
  ``allOf``, with its siblings kept beside the ``allOf``.

A keyword that draft 07 has no equivalent for is refused rather than dropped,
so the two drafts never check different things silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DRAFT_07", "DRAFT_2020_12", "to_draft_07"]

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"

_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
"""Keywords whose value maps names to schemas."""

_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
"""Keywords whose value is a list of schemas."""

_SCHEMA_ONE = frozenset(
    {"items", "additionalProperties", "not", "if", "then", "else", "propertyNames", "contains"}
)
"""Keywords whose value is one schema."""

_NO_DRAFT_07 = frozenset(
    {
        "unevaluatedProperties",
        "unevaluatedItems",
        "dependentRequired",
        "minContains",
        "maxContains",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$vocabulary",
    }
)
"""2020-12 keywords without a draft-07 equivalent."""

_RENAMED = {"$defs": "definitions", "dependentSchemas": "dependencies"}


def _ref(ref: str) -> str:
    return "#/definitions/" + ref[len("#/$defs/") :] if ref.startswith("#/$defs/") else ref


def _convert(node: Any, where: str) -> Any:
    """One subschema in draft 07 (``where`` names it, for the error)."""
    if not isinstance(node, Mapping):
        return node  # true / false schemas
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NO_DRAFT_07:
            raise ValueError(f"{where}: '{key}' has no draft-07 equivalent")
        if key in _SCHEMA_MAPS:
            value = {name: _convert(sub, f"{where}/{key}/{name}") for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            value = [_convert(sub, f"{where}/{key}/{i}") for i, sub in enumerate(value)]
        elif key in _SCHEMA_ONE:
            value = _convert(value, f"{where}/{key}")
        elif key == "$ref":
            value = _ref(value)
        out[_RENAMED.get(key, key)] = value
    if "prefixItems" in out:
        rest = out.pop("items", None)
        out["items"] = out.pop("prefixItems")
        if rest is not None:
            out["additionalItems"] = rest
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}, *out.get("allOf", [])]
    return out


def to_draft_07(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrites a draft 2020-12 schema in draft 07 (see the module docstring).

    Args:
        schema: The schema, with ``"$schema"`` naming draft 2020-12.

    Returns:
        An equivalent schema whose ``"$schema"`` names draft 07.

    Raises:
        ValueError: The schema uses a keyword draft 07 cannot express (named
            with the place it stands).
    """
    out = _convert(schema, "#")
    out["$schema"] = DRAFT_07
    return out

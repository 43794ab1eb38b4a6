"""Checking keyword arguments against typed parameters (blocks, data sources, callbacks)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from keras_blueprints._core.errors import BlueprintError, ErrorCollector, did_you_mean
from keras_blueprints.catalog.components import BlockParam
from keras_blueprints.resolve.values import Where

__all__ = ["check_arguments"]


def check_arguments(
    owner: str,
    params: Mapping[str, BlockParam],
    args: Mapping[str, Any],
    where: Where,
    *,
    context: str | None = None,
    origin: Callable[[Where], str | None] | None = None,
) -> dict[str, Any]:
    """Checks ``args`` against ``params``, raising all their errors at once.

    Args:
        owner: The component, in words (``block 'stem'``, ``data source 'csv'``).
        params: Its typed parameters.
        args: The arguments written in the YAML (already substituted).
        where: Where the arguments mapping stands.
        context: Where in the structure (``in block 'down3'``), for messages.
        origin: Names the overrides behind a value, for hints (optional).

    Returns:
        Every parameter's value: the arguments given, defaults for the others.

    Raises:
        BlueprintError: Unknown names, wrong types, numbers out of range, values
            outside the choices, missing required parameters (all of them together).
    """

    def hint_at(w: Where, *more: str | None) -> str | None:
        hints = [*more, origin(w) if origin else None]
        return " ".join(h for h in hints if h) or None

    out = {}
    errors = ErrorCollector()
    for key, value in args.items():
        spec = params.get(key)
        if spec is None:
            errors.add(
                BlueprintError.unknown_name(
                    f"a parameter of {owner}",
                    key,
                    list(params),
                    (where / key).key_loc,
                    context=context,
                )
            )
            continue
        if not spec.type.accepts(value):
            errors.add(
                BlueprintError(
                    f"parameter '{key}' of {owner} has the wrong type",
                    (where / key).loc,
                    expected=f"a value of type {spec.type}",
                    received=value,
                    hint=hint_at(where / key),
                    context=context,
                )
            )
            continue
        if spec.bound is not None and not spec.bound.accepts(value):
            errors.add(
                BlueprintError(
                    f"parameter '{key}' of {owner} is out of range",
                    (where / key).loc,
                    expected=spec.range_words,
                    received=value,
                    hint=hint_at(where / key),
                    context=context,
                )
            )
            continue
        if spec.choices and value not in spec.choices:
            errors.add(
                BlueprintError(
                    f"parameter '{key}' of {owner} is not one of its choices",
                    (where / key).loc,
                    expected="one of: "
                    + ", ".join(str(c) for c in spec.choices if c is not None)
                    + (" or null" if None in spec.choices else ""),
                    received=value,
                    hint=hint_at(where / key, did_you_mean(str(value), map(str, spec.choices))),
                )
            )
            continue
        out[key] = value
    missing = [p.name for p in params.values() if p.required and p.name not in args]
    if missing:
        errors.add(
            BlueprintError(
                f"{owner} needs {', '.join(repr(m) for m in missing)}",
                where.key_loc,
                expected="values for: " + ", ".join(missing),
                context=context,
            )
        )
    errors.raise_if_any()
    return {**{p.name: p.default for p in params.values() if not p.required}, **out}

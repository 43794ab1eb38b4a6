"""Checking arguments against what takes them.

Keyword arguments against typed parameters (blocks, data sources, callbacks), and
a layer's arguments against its signature (nested layers included) and their values
against Keras' vocabulary (activations, initializers, ``padding``...:
:mod:`keras_blueprints.resolve.identifiers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from keras_blueprints._core.errors import BlueprintError, ErrorCollector, closest, did_you_mean
from keras_blueprints._core.paths import ReadRoots, check_read_path
from keras_blueprints.catalog.components import (
    LAYERS,
    BlockParam,
    LayerEntry,
    refused_layer_reason,
)
from keras_blueprints.loading.document import ComposedDocument
from keras_blueprints.loading.expressions import ExpressionError, has_expression, names_used
from keras_blueprints.resolve.identifiers import check_layer_value
from keras_blueprints.resolve.schema import NestedLayer, freeze
from keras_blueprints.resolve.values import Where, check_safe

__all__ = ["check_arguments", "layer_arguments", "nested_layer", "overrides_behind"]

FILE_ARGUMENTS = {
    "StringLookup": ("vocabulary",),
    "IntegerLookup": ("vocabulary",),
    "TextVectorization": ("vocabulary",),
}
"""Keras layer arguments that Keras reads as a file path when given a string: the file is
read when the model is built and stored inside the saved model, so it is held to the
blueprint's read rule (:mod:`keras_blueprints._core.paths`)."""

MAX_VOCABULARY_BYTES = 256 * 1024 * 1024
"""Largest vocabulary file a layer may name (256 MiB; Keras reads it whole)."""


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


def overrides_behind(doc: ComposedDocument, where: Where) -> str | None:
    """Names the overrides behind a ``${}`` value, so an error leads back to them.

    Args:
        doc: The composed document (its provenance knows who set each parameter).
        where: The value's place (in ``doc`` or in a document it imports).

    Returns:
        A hint naming the overridden parameters the value is computed from, or None.
    """
    raw: Any = where.doc.data
    for part in where.path:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return None
    if not isinstance(raw, str) or not has_expression(raw):
        return None
    try:
        names = sorted(names_used(raw))
    except ExpressionError:
        return None
    found = []
    for name in names:
        setters = doc.provenance.why(("params", name))
        if setters and setters[0].line == 0:  # an override, not a file position
            found.append(f"'{name}' comes from {setters[0]}")
    return ("The value is computed from parameters: " + "; ".join(found) + ".") if found else None


def layer_arguments(
    entry: LayerEntry,
    args: Mapping[str, Any],
    tw: Where,
    context: str | None,
    reads: ReadRoots,
    errors: ErrorCollector,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Checks a layer's arguments against its signature.

    Args:
        entry: The layer.
        args: The arguments written in the YAML (already substituted).
        tw: Where the arguments mapping stands (under the layer's name).
        context: Where in the structure (``in block 'down3'``), for messages.
        reads: The folders a file argument (a vocabulary) may be read below.
        errors: Where the errors of single arguments go.

    Returns:
        The valid arguments, and the location of each.

    Raises:
        BlueprintError: A required argument is missing.
    """
    out, locs = {}, {}
    misspelt: set[str] = set()
    for key, value in args.items():
        aw = tw / key
        if key not in entry.params:
            misspelt.update(closest(key, entry.params))
            errors.add(
                BlueprintError.unknown_name(
                    f"an argument of {entry.name}",
                    key,
                    list(entry.params),
                    aw.key_loc,
                    path=aw.path,
                    context=context,
                    ordered=True,
                )
            )
            continue
        nested = entry.nested(key)
        try:
            if nested == "layer" and value is not None:
                value = nested_layer(value, aw, context, reads, errors)
            elif nested == "layers":
                if not isinstance(value, list):
                    raise BlueprintError(f"'{key}' takes a list of layers", aw.loc, received=value)
                value = [
                    nested_layer(v, aw / i, context, reads, errors) for i, v in enumerate(value)
                ]
            else:
                check_safe(value, aw)
                if entry.builtin:  # a user's layer may read its arguments its own way
                    refused = check_layer_value(entry.name, key, value, aw, context)
                    if refused is not None:
                        raise refused
                if key in FILE_ARGUMENTS.get(entry.name, ()) and isinstance(value, str):
                    check_read_path(
                        value,
                        reads,
                        aw.loc,
                        f"the file of {entry.name}'s '{key}'",
                        max_bytes=MAX_VOCABULARY_BYTES,
                    )
        except BlueprintError as err:
            errors.add(err)
            continue
        out[key] = value
        locs[key] = aw.loc
    missing = [p for p in entry.required if p not in args and p not in misspelt]
    if missing:
        raise BlueprintError(
            f"{entry.name} needs {', '.join(repr(m) for m in missing)}",
            tw.key_loc,
            expected="required arguments: " + ", ".join(entry.required),
            context=context,
        )
    return out, locs


def nested_layer(
    value: Any, w: Where, context: str | None, reads: ReadRoots, errors: ErrorCollector
) -> NestedLayer:
    """Reads a layer given as an argument of another (``layer: {LSTM: {units: 32}}``).

    Raises:
        BlueprintError: A malformed, refused or unknown layer, or a missing argument.
    """
    if isinstance(value, str):
        value = {value: {}}
    if not isinstance(value, dict) or len(value) != 1:
        raise BlueprintError(
            "a nested layer is written as a one-key mapping",
            w.loc,
            expected="e.g.  layer: {LSTM: {units: 32}}",
            received=value,
        )
    ((type_name, args),) = value.items()
    tw = w / type_name
    reason = refused_layer_reason(type_name)
    if reason is not None:
        raise BlueprintError(f"'{type_name}' is not allowed in blueprints", tw.key_loc, hint=reason)
    entry = LAYERS.lookup(type_name, tw.key_loc, path=tw.path, context=context)
    if not isinstance(args, dict | None):
        raise BlueprintError(
            f"the arguments of '{type_name}' must be a mapping",
            tw.loc,
            received=args,
            hint=f"For example:  {{{type_name}: {{...}}}}",
        )
    checked, _ = layer_arguments(entry, args or {}, tw, context, reads, errors)
    return NestedLayer(entry.name, freeze(checked), tw.key_loc)

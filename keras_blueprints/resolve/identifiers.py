"""Checking the identifiers a blueprint writes against Keras' vocabulary, at load time.

A layer's ``activation``, ``*_initializer``, ``*_regularizer`` and ``*_constraint``
arguments, its enumerated arguments (``padding``, ``data_format``, ``interpolation``,
``merge_mode``, ``dtype``), and the ``compile:`` section's optimizer (with its
learning-rate schedule), losses and metrics (with a loss's ``reduction``) are checked
against :mod:`keras_blueprints.catalog.vocabulary`, without importing Keras. Each
unknown name is an error located at the value, with the closest valid names; the
nested ``{class_name, config}`` form is checked by its ``class_name``.

Values are checked after substitution: a ``${...}`` expression or a search space is
checked for the value it gives, and objects registered with Keras are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.catalog import vocabulary
from keras_blueprints.resolve.values import Where

__all__ = [
    "argument_kind",
    "check_compile_value",
    "check_identifier",
    "check_layer_value",
    "check_optimizer",
]

SCHEDULE_HINT = (
    "Schedules are classes of keras.optimizers.schedules or of keras_blueprints.training.schedules."
)
REGISTER_HINT = (
    "A custom object is accepted once registered with keras.saving.register_keras_serializable."
)

_EXTRA_HINTS: dict[str, str | None] = {
    "optimizers": None,
    "learning_rate_schedules": SCHEDULE_HINT,
}

CASE_SENSITIVE_ENUMERATIONS = frozenset({"dtype", "merge_mode", "reduction"})
"""Enumerated arguments Keras compares as written (it lower-cases the others)."""


def argument_kind(argument: str) -> str | None:
    """The kind of identifier a layer argument takes, by its name.

    Args:
        argument: A layer's keyword (``kernel_initializer``, ``activation``).

    Returns:
        ``"activations"``, ``"initializers"``, ``"regularizers"``, ``"constraints"``,
        or None when the argument takes no identifier.
    """
    if argument == "activation" or argument.endswith("_activation"):
        return "activations"
    for suffix in ("initializer", "regularizer", "constraint"):
        if argument == suffix or argument.endswith(f"_{suffix}"):
            return f"{suffix}s"
    return None


def _unknown(
    kind: str, name: str, w: Where, context: str | None, *, classes: bool
) -> BlueprintError:
    pool = vocabulary.names(kind)
    shown = [n for n in pool if n[:1].isupper() == classes] or list(pool)
    registered = sorted(n for n in vocabulary.registered_names() if ">" not in n)
    return BlueprintError.unknown_name(
        vocabulary.KINDS[kind],
        name,
        [*pool, *registered],
        w.loc,
        path=w.path,
        context=context,
        shown=shown,
        extra_hint=_EXTRA_HINTS.get(kind, REGISTER_HINT),
    )


def check_identifier(
    kind: str, value: Any, w: Where, context: str | None = None
) -> BlueprintError | None:
    """Checks a name (or a ``{class_name, config}`` mapping) of one kind.

    Args:
        kind: One of :data:`keras_blueprints.catalog.vocabulary.KINDS`.
        value: The value written (substituted): other types are not checked here.
        w: Where the value stands.
        context: Where in the structure (``in block 'down3'``), for messages.

    Returns:
        The error, located at the name, or None when the name is accepted.
    """
    if isinstance(value, str):
        if vocabulary.accepts(kind, value):
            return None
        return _unknown(kind, value, w, context, classes=value[:1].isupper())
    if isinstance(value, Mapping) and isinstance(value.get("class_name"), str):
        name = value["class_name"]
        if vocabulary.accepts(kind, name):
            return None
        return _unknown(kind, name, w / "class_name", context, classes=True)
    return None


def check_enumerated(
    argument: str, value: Any, w: Where, owner: str, context: str | None = None
) -> BlueprintError | None:
    """Checks the value of an enumerated argument (``padding: same``).

    Args:
        argument: The argument's name.
        value: The value written (substituted): only strings are checked.
        w: Where the value stands.
        owner: Whose argument it is, in words (``Conv2D``).
        context: Where in the structure, for messages.

    Returns:
        The error, or None when the value is accepted or not enumerated.
    """
    allowed = vocabulary.enumeration(argument)
    if allowed is None or not isinstance(value, str):
        return None
    written = value if argument in CASE_SENSITIVE_ENUMERATIONS else value.lower()
    if written in allowed:
        return None
    return BlueprintError.unknown_name(
        f"a value of {owner}'s '{argument}'",
        value,
        allowed,
        w.loc,
        path=w.path,
        context=context,
    )


def check_layer_value(
    owner: str, argument: str, value: Any, w: Where, context: str | None = None
) -> BlueprintError | None:
    """Checks one layer argument's value by the argument's name.

    Args:
        owner: The layer, in words (``Conv2D``).
        argument: The keyword.
        value: Its value (substituted).
        w: Where the value stands.
        context: Where in the structure, for messages.

    Returns:
        The error, or None.
    """
    kind = argument_kind(argument)
    if kind is not None:
        return check_identifier(kind, value, w, context)
    return check_enumerated(argument, value, w, owner, context)


def _is_named(value: Any) -> bool:
    """``{ClassName: {arguments}}``: one key, CamelCase (the builder's class form)."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (key,) = value
    return isinstance(key, str) and key[:1].isupper()


def check_compile_value(kind: str, value: Any, w: Where) -> list[BlueprintError]:
    """Checks a ``compile:`` section's ``loss`` or ``metrics`` (any per-output form).

    Args:
        kind: ``"losses"`` or ``"metrics"``.
        value: The value (substituted): a name, ``{ClassName: {arguments}}``, a list
            of them, or a mapping of output names to them.
        w: Where the value stands.

    Returns:
        Every unknown name (and refused ``reduction``), each located.
    """
    if isinstance(value, str):
        error = check_identifier(kind, value, w)
        return [error] if error else []
    if _is_named(value):
        ((name, args),) = value.items()
        nw = w / name
        errors = []
        if not vocabulary.accepts(kind, name):
            pool = vocabulary.names(kind)
            errors.append(
                BlueprintError.unknown_name(
                    vocabulary.KINDS[kind],
                    name,
                    pool,
                    nw.key_loc,
                    path=nw.path,
                    shown=[n for n in pool if n[:1].isupper()],
                    extra_hint=REGISTER_HINT,
                )
            )
        if isinstance(args, Mapping) and "reduction" in args:
            error = check_enumerated("reduction", args["reduction"], nw / "reduction", name)
            if error:
                errors.append(error)
        return errors
    if isinstance(value, Mapping):
        return [e for key, item in value.items() for e in check_compile_value(kind, item, w / key)]
    if isinstance(value, list | tuple):
        return [e for i, item in enumerate(value) for e in check_compile_value(kind, item, w / i)]
    return []


def _check_schedule(value: Any, w: Where) -> list[BlueprintError]:
    """A ``learning_rate``: a number, or a schedule written as the builder reads it."""
    if isinstance(value, str):
        try:
            float(value)  # YAML reads 1e-3 (no dot) as a string
        except ValueError:
            error = check_identifier("learning_rate_schedules", value, w)
            return [error] if error else []
        return []
    if not (isinstance(value, Mapping) and len(value) == 1):
        return []
    ((name, args),) = value.items()
    nw = w / name
    errors = []
    if isinstance(name, str) and not vocabulary.accepts("learning_rate_schedules", name):
        pool = vocabulary.names("learning_rate_schedules")
        errors.append(
            BlueprintError.unknown_name(
                vocabulary.KINDS["learning_rate_schedules"],
                name,
                pool,
                nw.key_loc,
                path=nw.path,
                extra_hint=SCHEDULE_HINT,
            )
        )
    if isinstance(args, Mapping):  # a nested schedule (LinearWarmup's `after`)
        for key, item in args.items():
            if isinstance(item, Mapping) and len(item) == 1:
                errors.extend(_check_schedule(item, nw / key))
    return errors


def check_optimizer(value: Any, w: Where) -> list[BlueprintError]:
    """Checks an optimizer, its learning-rate schedule and the optimizers it wraps.

    Args:
        value: The optimizer as written (substituted): a name, or a one-key mapping
            of its name to its arguments; other values are not checked here.
        w: Where the value stands.

    Returns:
        Every unknown name, each located.
    """
    if isinstance(value, str):
        name, args, nw, loc = value, {}, w, w.loc
    elif isinstance(value, Mapping) and len(value) == 1 and isinstance(next(iter(value)), str):
        ((name, args),) = value.items()
        nw = w / name
        loc = nw.key_loc
        args = args if isinstance(args, Mapping) else {}
    else:
        return []
    errors = []
    if not vocabulary.accepts("optimizers", name):
        errors.append(
            BlueprintError.unknown_name(
                vocabulary.KINDS["optimizers"],
                name,
                vocabulary.names("optimizers"),
                loc,
                path=nw.path,
                shown=[n for n in vocabulary.names("optimizers") if n[:1].isupper()],
            )
        )
    if "learning_rate" in args:
        errors.extend(_check_schedule(args["learning_rate"], nw / "learning_rate"))
    for key, item in args.items():
        if key.endswith("optimizer") and item is not None:
            errors.extend(check_optimizer(item, nw / key))
        if key == "optimizer_map" and isinstance(item, Mapping):
            for pattern, inner in item.items():
                errors.extend(check_optimizer(inner, nw / key / pattern))
    return errors

"""Shared pieces of resolution: where a value stands, ``${}`` substitution, safety checks.

A :class:`Where` is a place being read: the document, the key path there, and the
:class:`~keras_blueprints.resolve.context.ResolveContext` of the resolution reading
it, so a function given a place has all it depends on in its arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keras_blueprints._core.errors import BlueprintError, KnockOn, Location
from keras_blueprints.loading.expressions import (
    ExpressionError,
    ShapeOf,
    has_expression,
    names_used,
    substitute,
)
from keras_blueprints.loading.source import Document, Path_
from keras_blueprints.resolve.context import ResolveContext
from keras_blueprints.resolve.spaces import Space, is_space, parse_space

__all__ = [
    "NAME_RE", "REF_RE", "Where", "check_safe", "names_in", "read_space", "space_value",
    "substitute_at",
]  # fmt: skip

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
REF_RE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_\-]*)(?:\.([A-Za-z0-9_\-]+))?$")
"""A reference, ``NAME`` or ``NAME.INDEX``. NAME may start with a digit: a node of a block
is named by its local name (``0_conv``), valid as long as the full layer name is."""
UNSAFE_CLASS_NAMES = ("Lambda", "function", "__lambda__", "__typespec__")

SERIALIZED_MODULES = (
    "keras.layers",
    "keras.initializers",
    "keras.regularizers",
    "keras.constraints",
    "keras.activations",
    "keras.losses",
    "keras.metrics",
    "keras.optimizers",
    "keras.optimizers.schedules",
    "keras.dtype_policies",
)
"""The ``module:`` a serialized object (``{module, class_name, config}``) may name: the
public Keras modules of layers, initializers, regularizers, constraints, activations,
losses, metrics, optimizers (and their schedules) and dtype policies. Keras imports
the module and calls the class it finds there: ``{module: keras.config, class_name:
set_floatx}`` would change global state, so a module merely starting with ``keras``
is not enough."""

_KERAS_ROOT_CLASSES = ("DTypePolicy", "FloatDTypePolicy", "QuantizedDTypePolicy")
"""Classes Keras serializes with ``module: keras`` (a layer's ``dtype`` policy)."""


@dataclass
class Where:
    """A value's place: the document it came from, its key path there, and the context.

    Attributes:
        doc: The document the value comes from.
        path: The value's key path in ``doc``.
        ctx: The resolution reading it. Places are made from the root with ``/``, so
            they all share it; a place made afresh would lose the provider.
    """

    doc: Document
    path: Path_
    ctx: ResolveContext = field(compare=False, repr=False)

    def __truediv__(self, key: str | int) -> Where:
        return Where(self.doc, (*self.path, key), self.ctx)

    def within(self, ctx: ResolveContext) -> Where:
        """The same place, read in ``ctx`` (a block's body, expanded where it is used)."""
        return Where(self.doc, self.path, ctx)

    @property
    def loc(self) -> Location:
        """Where the value stands."""
        return self.doc.sources.value(self.path, Location(self.doc.file))

    @property
    def key_loc(self) -> Location:
        """Where the key introducing the value stands (the value's place if none)."""
        return self.doc.sources.key(self.path, Location(self.doc.file))

    @property
    def text_loc(self) -> Location:
        """Where the value's text starts (after an opening quote)."""
        return self.doc.sources.text_location(self.path, Location(self.doc.file))


def substitute_at(
    value: Any, env: Mapping[str, Any], where: Where, shapes: ShapeOf | None = None
) -> Any:
    """Evaluates every ``${}`` in ``value`` (recursively), errors located inside the YAML.

    Args:
        value: Plain YAML data.
        env: Parameter and index values.
        where: The value's place, for errors; its context chooses the values of the
            search spaces met and bounds what the expressions build.
        shapes: What ``shape("NAME")`` asks (a graph node's); None: not available here.

    Returns:
        The value with its expressions evaluated.

    Raises:
        BlueprintError: A bad expression, pointing at the offending character.
        KnockOn: The expression uses a parameter that failed (its error is reported).
    """
    if isinstance(value, str):
        if not has_expression(value):
            return value
        budget = where.ctx.budget
        spent_before = budget is not None and budget.exhausted
        try:
            return substitute(value, env, budget, shapes)
        except ExpressionError as exc:
            if spent_before:  # the expression that spent the budget is reported, once
                raise KnockOn(
                    "the expressions before this value built all that a load may",
                    where.text_loc,
                    path=where.path,
                    hint=exc.hint,
                ) from None
            failed = _failed_names(value, env, where)
            if failed:
                raise KnockOn(
                    f"this value uses parameter '{failed[0]}', whose value has an error",
                    where.text_loc,
                    path=where.path,
                    hint="Fix the parameter's error first.",
                ) from None
            raise BlueprintError(
                exc.message,
                where.text_loc.shifted(exc.offset),
                path=where.path,
                expected=exc.expected,
                received=exc.received,
                hint=exc.hint,
            ) from None
    if isinstance(value, dict):
        if is_space(value):
            return space_value(value, env, where)
        return {k: substitute_at(v, env, where / k, shapes) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_at(v, env, where / i, shapes) for i, v in enumerate(value)]
    return value


def _failed_names(text: str, env: Mapping[str, Any], where: Where) -> list[str]:
    """The failed parameters the expressions of ``text`` use (unless ``env`` binds them)."""
    failed = where.ctx.failed_params
    if not failed:
        return []
    try:
        used = names_used(text)
    except ExpressionError:  # a syntax error: independent of any parameter
        return []
    return sorted(n for n in used & failed if n not in env)


def read_space(value: dict, env: Mapping[str, Any], where: Where) -> tuple[Space, str]:
    """Reads a search space written at ``where`` (its own ``${}`` evaluated) and its name."""
    own = {k: substitute_at(v, env, where / k) for k, v in value.items()}
    space = parse_space(own, where)
    return space, space.name or where.ctx.space_name(where.path)


def space_value(value: dict, env: Mapping[str, Any], where: Where) -> Any:
    """The value the provider of ``where``'s context chooses for the search space there."""
    space, name = read_space(value, env, where)
    if len(where.path) == 2 and where.path[0] == "params":
        where.ctx.record_param(str(where.path[1]), name, space)
    return where.ctx.choose(space, name)


def names_in(value: Any, where: Where) -> set[str]:
    """Returns the names the ``${}`` expressions of ``value`` use (for ordering parameters)."""
    if isinstance(value, str) and has_expression(value):
        try:
            return names_used(value)
        except ExpressionError as exc:
            raise BlueprintError(
                exc.message, where.text_loc.shifted(exc.offset), hint=exc.hint
            ) from None
    if isinstance(value, dict):
        return set().union(*(names_in(v, where / k) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(names_in(v, where / i) for i, v in enumerate(value)))
    return set()


def _allowed_module(module: object, class_name: object) -> bool:
    if module in SERIALIZED_MODULES:
        return True
    return module == "keras" and class_name in _KERAS_ROOT_CLASSES


def check_safe(value: Any, w: Where) -> None:
    """Refuses serialized-object configs that could make Keras import or run code."""
    if isinstance(value, dict):
        module = value.get("module")
        if "module" in value and not _allowed_module(module, value.get("class_name")):
            outside = not (isinstance(module, str) and module.split(".")[0] == "keras")
            raise BlueprintError(
                "a 'module' outside Keras is not allowed in a blueprint"
                if outside
                else f"module '{module}' is not one a blueprint may name",
                (w / "module").loc,
                expected=f"one of: {', '.join(SERIALIZED_MODULES)}",
                received=module,
                hint="Blueprints cannot import code; register custom objects from Python.",
            )
        if value.get("class_name") in UNSAFE_CLASS_NAMES:
            raise BlueprintError(
                f"'{value['class_name']}' objects are not allowed in a blueprint",
                (w / "class_name").loc,
                hint="Blueprints cannot contain code.",
            )
        for k, v in value.items():
            check_safe(v, w / k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_safe(v, w / i)

"""Structural differences between two resolved blueprints.

:func:`diff_blueprints` is pure: it compares two :class:`Blueprint` objects
(never YAML text, so formatting, comments, parameters and repeats do not show,
only what they resolve to) and returns a frozen :class:`BlueprintDiff`:

* nodes added and removed, matched by name;
* nodes changed: their type (or kind), each argument, their inputs, keyword
  call inputs, and the layer a ``share`` node reuses;
* model inputs added, removed or changed (shape, dtype, batch size, sparse);
* the model outputs and the ``compile`` section.

An argument set on one side only is compared with the layer's default (from
the signature catalog), so ``padding: valid`` and no ``padding`` are the same.
Names and descriptions are not compared: they do not change the architecture.

:func:`format_diff` turns a diff into lines such as ``~ c1: Conv2D filters 6 -> 8``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keras_blueprints.catalog import OBJECT_DEFAULT
from keras_blueprints.catalog.components import LAYERS
from keras_blueprints.resolve.schema import (
    Blueprint,
    CompileSpec,
    InputSpec,
    NestedLayer,
    Node,
    Ref,
)

__all__ = [
    "ABSENT",
    "BlueprintDiff",
    "Change",
    "Defaulted",
    "ItemDiff",
    "diff_blueprints",
    "format_diff",
    "format_value",
]


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""Stands for a value that is not set on one side (and has no known default)."""


@dataclass(frozen=True, slots=True)
class Defaulted:
    """A value not written in the blueprint, taken from the layer's default.

    Attributes:
        value: The default.
    """

    value: Any


@dataclass(frozen=True, slots=True)
class Change:
    """One value that differs.

    Attributes:
        what: What changed: an argument name, ``type``, ``from``,
            ``from.initial_state``, ``share``, ``shape``, ``optimizer.learning_rate``...
        old: The value in the first blueprint (:data:`ABSENT` or :class:`Defaulted`
            when not written there).
        new: The value in the second blueprint (likewise).
    """

    what: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class ItemDiff:
    """A node or input present in both blueprints, with what changed in it.

    Attributes:
        name: The node or input name.
        label: Its type as shown, in the second blueprint (``Conv2D``, ``Input``).
        changes: The changes, in a stable order.
    """

    name: str
    label: str
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class BlueprintDiff:
    """What differs between two resolved blueprints.

    Attributes:
        removed: Nodes only in the first blueprint, in its order.
        added: Nodes only in the second blueprint, in its order.
        changed: Nodes in both that differ, in the second blueprint's order.
        inputs_removed: Inputs only in the first blueprint.
        inputs_added: Inputs only in the second blueprint.
        inputs_changed: Inputs in both that differ.
        outputs: The change of the model outputs, or None.
        compile: Changes of the compile section, one per setting.
    """

    removed: tuple[Node, ...] = ()
    added: tuple[Node, ...] = ()
    changed: tuple[ItemDiff, ...] = ()
    inputs_removed: tuple[InputSpec, ...] = ()
    inputs_added: tuple[InputSpec, ...] = ()
    inputs_changed: tuple[ItemDiff, ...] = ()
    outputs: Change | None = None
    compile: tuple[Change, ...] = ()

    @property
    def identical(self) -> bool:
        """True when the two blueprints describe the same architecture and compile settings."""
        return not (
            self.removed
            or self.added
            or self.changed
            or self.inputs_removed
            or self.inputs_added
            or self.inputs_changed
            or self.outputs
            or self.compile
        )


def diff_blueprints(a: Blueprint, b: Blueprint) -> BlueprintDiff:
    """Compares two resolved blueprints.

    Args:
        a: The first (old) blueprint.
        b: The second (new) blueprint.

    Returns:
        What differs; ``.identical`` is True when nothing does.
    """
    old_nodes = {n.name: n for n in a.nodes}
    new_nodes = {n.name: n for n in b.nodes}
    changed = []
    for node in b.nodes:
        before = old_nodes.get(node.name)
        if before is not None:
            changes = _node_changes(before, node)
            if changes:
                changed.append(ItemDiff(node.name, node_label(node), changes))
    old_inputs = {s.name: s for s in a.inputs}
    new_inputs = {s.name: s for s in b.inputs}
    inputs_changed = []
    for spec in b.inputs:
        before = old_inputs.get(spec.name)
        if before is not None:
            changes = _input_changes(before, spec)
            if changes:
                inputs_changed.append(ItemDiff(spec.name, "Input", changes))
    old_out = tuple(str(r) for r in a.outputs)
    new_out = tuple(str(r) for r in b.outputs)
    return BlueprintDiff(
        removed=tuple(n for n in a.nodes if n.name not in new_nodes),
        added=tuple(n for n in b.nodes if n.name not in old_nodes),
        changed=tuple(changed),
        inputs_removed=tuple(s for s in a.inputs if s.name not in new_inputs),
        inputs_added=tuple(s for s in b.inputs if s.name not in old_inputs),
        inputs_changed=tuple(inputs_changed),
        outputs=None if old_out == new_out else Change("outputs", old_out, new_out),
        compile=_mapping_changes(_compile_fields(a.compile), _compile_fields(b.compile)),
    )


def node_label(node: Node) -> str:
    """Returns a node's type as shown in a diff: ``Conv2D``, ``Dense (shares enc)``."""
    if node.kind == "share":
        return f"{node.type} (shares {node.share})"
    return node.type


# -- comparison ------------------------------------------------------------------------


def same(x: Any, y: Any) -> bool:
    """Compares plain blueprint values; ``True`` and ``1`` differ, ``1`` and ``1.0`` do not.

    A number compared with a tuple *default* of that number (``pool_size: 2``
    and the default ``(2, 2)``) is the same: Keras expands it so. Two written
    values are compared as written, since for some layers a number and a pair
    differ (``RandomZoom``'s ``0.2`` is ``(-0.2, 0.2)``).

    Args:
        x: A value (scalars, tuples, mappings, nested layers, refs), or a
            :class:`Defaulted` one.
        y: Another.

    Returns:
        True when they are the same value.
    """
    if isinstance(x, Defaulted) or isinstance(y, Defaulted):
        default, other = (x, y) if isinstance(x, Defaulted) else (y, x)
        other = other.value if isinstance(other, Defaulted) else other
        if isinstance(default.value, tuple) and _is_number(other):
            return all(same(leaf, other) for leaf in _leaves(default.value))
        return same(default.value, other)
    if isinstance(x, bool) or isinstance(y, bool):
        return isinstance(x, bool) and isinstance(y, bool) and x == y
    if isinstance(x, Mapping) and isinstance(y, Mapping):
        return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, list | tuple) and isinstance(y, list | tuple):
        return len(x) == len(y) and all(same(i, j) for i, j in zip(x, y, strict=True))
    if isinstance(x, NestedLayer) and isinstance(y, NestedLayer):
        return x.type == y.type and same(x.args, y.args)
    if type(x) is not type(y) and not (isinstance(x, int | float) and isinstance(y, int | float)):
        return False
    return x == y


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _leaves(value: tuple) -> list[Any]:
    out = []
    for item in value:
        out.extend(_leaves(item) if isinstance(item, tuple) else [item])
    return out


def _layer_default(node: Node, arg: str) -> Any:
    """The catalog default of ``arg`` for a layer node, or ABSENT when unknown."""
    if node.kind == "block":
        return ABSENT  # the resolver already filled in a block's defaults
    entry = LAYERS.get(node.type)
    info = entry.params.get(arg) if entry is not None else None
    if info is None or info.required or info.default == OBJECT_DEFAULT:
        return ABSENT
    return Defaulted(info.default)


def _node_changes(old: Node, new: Node) -> tuple[Change, ...]:
    changes = []
    if old.kind != new.kind or old.type != new.type:
        changes.append(Change("type", node_label(old), node_label(new)))
    if old.share != new.share:
        changes.append(Change("share", old.share or ABSENT, new.share or ABSENT))
    for arg in dict.fromkeys([*old.args, *new.args]):
        x = old.args[arg] if arg in old.args else _layer_default(old, arg)
        y = new.args[arg] if arg in new.args else _layer_default(new, arg)
        if x is ABSENT or y is ABSENT:
            if not (x is ABSENT and y is ABSENT):
                changes.append(Change(arg, x, y))
        elif not same(x, y):
            changes.append(Change(arg, x, y))
    if old.inputs != new.inputs:
        changes.append(Change("from", _refs(old.inputs), _refs(new.inputs)))
    for key in dict.fromkeys([*old.call_inputs, *new.call_inputs]):
        x = _call_refs(old.call_inputs.get(key))
        y = _call_refs(new.call_inputs.get(key))
        if x != y:
            changes.append(Change(f"from.{key}", x, y))
    return tuple(changes)


def _refs(refs: Sequence[Ref]) -> Any:
    names = tuple(str(r) for r in refs)
    return names[0] if len(names) == 1 else names


def _call_refs(value: Ref | tuple[Ref, ...] | None) -> Any:
    if value is None:
        return ABSENT
    if isinstance(value, tuple):
        return tuple(str(r) for r in value)
    return str(value)


def _input_changes(old: InputSpec, new: InputSpec) -> tuple[Change, ...]:
    changes = []
    for field in ("shape", "dtype", "batch_size", "sparse"):
        x, y = getattr(old, field), getattr(new, field)
        if not same(x, y):
            changes.append(Change(field, x, y))
    return tuple(changes)


def _compile_fields(spec: CompileSpec | None) -> dict[str, Any]:
    if spec is None:
        return {}
    fields: dict[str, Any] = {"optimizer": spec.optimizer}
    fields.update({f"optimizer.{k}": v for k, v in spec.optimizer_args.items()})
    for key in ("loss", "metrics", "loss_weights"):
        value = getattr(spec, key)
        if value is not None:
            fields[key] = value
    fields.update(spec.extra)
    return fields


def _mapping_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[Change, ...]:
    changes = []
    for key in dict.fromkeys([*old, *new]):
        x, y = old.get(key, ABSENT), new.get(key, ABSENT)
        if x is ABSENT or y is ABSENT or not same(x, y):
            changes.append(Change(key, x, y))
    return tuple(changes)


# -- text ------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "~"}


def format_value(value: Any) -> str:
    """Formats a blueprint value compactly, in YAML flow style.

    Args:
        value: A scalar, tuple, mapping, nested layer, :data:`ABSENT` or
            :class:`Defaulted` value.

    Returns:
        ``6``, ``relu``, ``[1, 1]``, ``{LSTM: {units: 32}}``, ``valid (default)``
        or ``(unset)``.
    """
    if value is ABSENT:
        return "(unset)"
    if isinstance(value, Defaulted):
        return f"{format_value(value.value)} (default)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        plain = _PLAIN.match(value) and value.lower() not in _YAML_WORDS
        return value if plain else json.dumps(value)
    if isinstance(value, NestedLayer):
        return f"{{{value.type}: {format_value(value.args)}}}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _node_summary(node: Node) -> str:
    text = f"{node.name}: {node_label(node)}"
    if node.args:
        text += f" {format_value(node.args)}"
    text += f" from {format_value(_refs(node.inputs))}"
    for key, value in node.call_inputs.items():
        text += f", {key} from {format_value(_call_refs(value))}"
    return text


def _input_summary(spec: InputSpec) -> str:
    text = f"input {spec.name}: shape {format_value(spec.shape)} {spec.dtype}"
    if spec.batch_size is not None:
        text += f", batch_size {spec.batch_size}"
    if spec.sparse:
        text += ", sparse"
    return text


def _change_line(subject: str, change: Change) -> str:
    return f"~ {subject} {change.what} {format_value(change.old)} -> {format_value(change.new)}"


def format_diff(diff: BlueprintDiff) -> list[str]:
    """Formats a diff for people, one change per line.

    ``-`` marks what only the first blueprint has, ``+`` what only the second
    has, ``~`` a change: ``~ c1: Conv2D filters 6 -> 8``. Inputs come first,
    then removed, changed and added nodes, then outputs and compile settings.

    Args:
        diff: A diff from :func:`diff_blueprints`.

    Returns:
        The lines (empty when the blueprints are identical).
    """
    lines = [f"- {_input_summary(s)}" for s in diff.inputs_removed]
    lines += [f"+ {_input_summary(s)}" for s in diff.inputs_added]
    for item in diff.inputs_changed:
        lines += [_change_line(f"input {item.name}:", c) for c in item.changes]
    lines += [f"- {_node_summary(n)}" for n in diff.removed]
    for item in diff.changed:
        for change in item.changes:
            subject = f"{item.name}:" if change.what == "type" else f"{item.name}: {item.label}"
            lines.append(_change_line(subject, change))
    lines += [f"+ {_node_summary(n)}" for n in diff.added]
    if diff.outputs is not None:
        old, new = (format_value(v) for v in (diff.outputs.old, diff.outputs.new))
        lines.append(f"~ outputs {old} -> {new}")
    lines += [_change_line("compile", c) for c in diff.compile]
    return lines

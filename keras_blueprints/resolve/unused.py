"""Parameters declared but never used: warnings, located, with the closest used name.

A name declared under ``params:`` that no ``${...}`` expression uses anywhere (the
graph, blocks, every section, ``when:``, ``repeat:``, values set by ``set:`` and the
overrides, which are part of the composed document), and a parameter of a YAML block
its body never uses, is most likely misspelt or left over: it loads, with a
:class:`~keras_blueprints._core.errors.BlueprintWarning`.

Used means named by an expression: in a value (keys, and the blueprint's own
``name`` and ``description``, are never evaluated), or in the value of a parameter
that is itself used. A parameter whose value is a search space counts as used: the
search records it with each trial. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from keras_blueprints._core.errors import BlueprintWarning, Location, closest
from keras_blueprints.loading.expressions import ExpressionError, has_expression, names_used
from keras_blueprints.resolve.graph import BlockDef
from keras_blueprints.resolve.spaces import is_space
from keras_blueprints.resolve.values import Where

__all__ = ["unused_parameters"]

NOT_EVALUATED = ("name", "description", "params", "blocks")
"""Top-level sections whose values use no parameter: never evaluated, or read apart."""


def unused_parameters(root: Where, blocks: Mapping[str, BlockDef]) -> list[BlueprintWarning]:
    """Warns about the parameters of a blueprint and of its YAML blocks that nothing uses.

    Args:
        root: The composed document's root.
        blocks: The blocks it declares and imports (the imported ones' parameters are
            not warned about: they belong to another file).

    Returns:
        One warning per unused parameter, in file order.
    """
    data = root.doc.data
    used: set[str] = set()
    for key, value in data.items():
        if key not in NOT_EVALUATED:
            used |= _names(value)
    own_blocks = data.get("blocks") if isinstance(data.get("blocks"), dict) else {}
    found: list[_Unused] = []
    for name, block in blocks.items():
        body = _names([block.graph, block.outputs, [p.default for p in block.params.values()]])
        used |= body - set(block.params)  # the rest are the blueprint's parameters
        if name not in own_blocks or block.where.doc is not root.doc:
            continue  # imported from another file: its parameters are that file's business
        for pname in block.params:
            if pname not in body:
                found.append(
                    _Unused(
                        f"parameter '{pname}' of block '{name}' is never used",
                        pname,
                        body,
                        (block.where / "params" / pname).key_loc,
                    )
                )
    params = data.get("params")
    if isinstance(params, dict):
        todo = [p for p in used if p in params]
        while todo:  # a used parameter uses the parameters its value names
            more = _names(params[todo.pop()]) - used
            used |= more
            todo += [p for p in more if p in params]
        for pname, value in params.items():
            if pname not in used and not is_space(value):
                found.append(
                    _Unused(
                        f"parameter '{pname}' is never used",
                        pname,
                        used,
                        (root / "params" / pname).key_loc,
                    )
                )
    found.sort(key=lambda u: (u.location.file, u.location.line, u.location.col))
    return [u.warning(suggest=i < MAX_SUGGESTIONS) for i, u in enumerate(found)]


MAX_SUGGESTIONS = 50
"""The warnings that get a did-you-mean, in file order (each compares one name with
every used name): thousands of unused parameters must not make a load take minutes."""


class _Unused(NamedTuple):
    """An unused parameter, before its did-you-mean is looked for."""

    message: str
    name: str
    used: set[str]
    location: Location

    def warning(self, suggest: bool) -> BlueprintWarning:
        best = closest(self.name, [u for u in self.used if u != self.name]) if suggest else []
        hint = f"Did you mean '{best[0]}'?" if best else None
        return BlueprintWarning(self.message, self.location, hint=hint)


def _names(value: Any) -> set[str]:
    """The names the ``${...}`` expressions in ``value``'s values use (keys are not read)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if has_expression(item):
                with contextlib.suppress(ExpressionError):  # reported where it is read
                    found |= names_used(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found

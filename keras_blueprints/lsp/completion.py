"""Completion: the names that may stand where the cursor is.

* a key of a graph node: its control keys, then every layer and block name;
* a key inside a node's type (``Conv2D: {...}``): the layer's or block's arguments;
* the value of an argument: its enumerated values (``padding``, ``data_format``...)
  or the identifiers of its kind (activations, initializers...);
* the value of ``from:``/``share:``: the inputs and the node names;
* a name inside ``${...}``: the parameters (in a block's graph, the block's too);
* ``zoo:`` (and the values of ``extends:``/``imports:``): the zoo's names;
* a top-level key: the sections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keras_blueprints.loading import zoo
from keras_blueprints.loading.document import CONTROL_KEYS, _all_node_names
from keras_blueprints.lsp.analysis import Analysis
from keras_blueprints.lsp.components import (
    arguments_of,
    describe_type,
    is_type_key,
    node_of,
    type_names,
)
from keras_blueprints.lsp.hover import local_blocks
from keras_blueprints.lsp.text import MARKER, Spot
from keras_blueprints.resolve import TOP_LEVEL_KEYS

__all__ = ["Item", "completions"]

MAX_ITEMS = 1000


@dataclass(frozen=True)
class Item:
    """One completion.

    Attributes:
        label: The text inserted.
        kind: ``"layer"``, ``"block"``, ``"argument"``, ``"value"``, ``"node"``,
            ``"parameter"``, ``"zoo"``, ``"key"`` or ``"section"``.
        detail: One line shown beside it.
        documentation: Markdown shown for the selected item, or None.
    """

    label: str
    kind: str
    detail: str = ""
    documentation: str | None = None


def _starts(items: list[Item], prefix: str) -> list[Item]:
    low = prefix.lower()
    return [item for item in items if item.label.lower().startswith(low)][:MAX_ITEMS]


def _params(data: dict[str, Any], analysis: Analysis | None) -> list[str]:
    names: list[str] = []
    bp = analysis.blueprint if analysis is not None else None
    if bp is not None:
        names += list(bp.params)
    composed = analysis.composed if analysis is not None else None
    for source in (composed.data if composed is not None else {}, data):
        params = source.get("params")
        if isinstance(params, dict):
            names += [name for name in params if name != MARKER]
    return list(dict.fromkeys(names))


def _node_names(data: dict[str, Any], analysis: Analysis | None, block: str | None) -> list[str]:
    if block is not None:  # a block's graph: its own nodes and inputs
        body = (data.get("blocks") or {}).get(block)
        names: list[str] = []
        if isinstance(body, dict):
            inputs = body.get("inputs")
            if isinstance(inputs, list):
                names += [str(i) for i in inputs]
            elif isinstance(inputs, dict):
                names += list(inputs)
            elif isinstance(inputs, str):
                names.append(inputs)
            if isinstance(body.get("graph"), list):
                names += _all_node_names(body["graph"])
        return [n for n in dict.fromkeys(names) if MARKER not in n]
    names = []
    inputs = data.get("inputs")
    if isinstance(inputs, dict):
        names += list(inputs)
    if isinstance(data.get("graph"), list):
        names += _all_node_names(data["graph"])
    bp = analysis.blueprint if analysis is not None else None
    if bp is not None:
        names += [spec.name for spec in bp.inputs] + [node.name for node in bp.nodes]
    return [n for n in dict.fromkeys(names) if MARKER not in n]


def _zoo_items(with_prefix: bool) -> list[Item]:
    return [
        Item(f"zoo:{name}" if with_prefix else name, "zoo", "zoo blueprint") for name in zoo.names()
    ]


def completions(spot: Spot, analysis: Analysis | None) -> list[Item]:
    """The completions at ``spot``, filtered by what was typed so far.

    Args:
        spot: Where the cursor is, from :func:`keras_blueprints.lsp.text.completion_spot`.
        analysis: The latest load of the document (for inherited parameters, blocks
            and generated node names), or None.

    Returns:
        The items, at most :data:`MAX_ITEMS`.
    """
    data = spot.document.data
    blocks = local_blocks(data, analysis)
    blocks.pop(MARKER, None)
    node = node_of(spot.path)
    prefix = spot.word
    if spot.expression_name is not None:
        names = _params(data, analysis)
        if node is not None and node.block is not None:
            names = [*arguments_of(node.block, blocks), *names]
        return _starts([Item(n, "parameter") for n in dict.fromkeys(names)], prefix)
    in_references = spot.path[:1] in (("extends",), ("imports",)) and spot.role == "value"
    if prefix.startswith("zoo:") or in_references:
        return _starts(_zoo_items(with_prefix=True), prefix)
    if len(spot.path) == 1 and spot.role == "key":
        sections = [*TOP_LEVEL_KEYS, "extends", "imports", "set"]
        return _starts([Item(s, "section") for s in sections], prefix)
    if node is None:
        return []
    rest = node.rest
    if (len(rest) == 1 and spot.role == "key") or (not rest and spot.role == "value"):
        items = [Item(k, "key", "node key") for k in CONTROL_KEYS] if rest else []
        for name, kind in type_names(blocks).items():
            items.append(Item(name, "block" if "block" in kind else "layer", kind))
        return _starts(items, prefix)
    if len(rest) == 2 and is_type_key(rest[0]) and spot.role == "key":
        args = arguments_of(str(rest[0]), blocks)
        given = data_at(data, (*node.path, rest[0]))
        items = [
            Item(a.name, "argument", a.type, describe_argument(a.doc, a.default, a.required))
            for a in args.values()
            if not (isinstance(given, dict) and a.name in given and a.name != MARKER)
        ]
        return _starts(items, prefix)
    if len(rest) == 2 and is_type_key(rest[0]) and spot.role == "value":
        arg = arguments_of(str(rest[0]), blocks).get(str(rest[1]))
        values = arg.values if arg is not None else ()
        return _starts([Item(v, "value", f"{rest[1]} value") for v in values], prefix)
    if rest and rest[0] in ("from", "share") and spot.role == "value":
        names = _node_names(data, analysis, node.block)
        return _starts([Item(n, "node") for n in names], prefix)
    return []


def data_at(data: Any, path: tuple) -> Any:
    """The value at ``path`` in plain data, or None."""
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def describe_argument(doc: str, default: str | None, required: bool) -> str:
    """The documentation of an argument's completion item."""
    tail = "Required." if required else f"Default: {default}."
    return f"{doc}\n\n{tail}" if doc and tail not in doc else (doc or tail)


def type_documentation(name: str, blocks: dict[str, Any]) -> str | None:
    """The documentation of a layer's or block's completion item (resolved lazily)."""
    return describe_type(name, blocks)

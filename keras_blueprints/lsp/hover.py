"""Hover: what the name under the cursor is.

* a node's type key (``Conv2D:``, ``resnet_stage:``, ``- Flatten``): the layer's or
  block's summary and signature;
* an argument's key or value: its type, default, allowed values and description;
* a parameter (``params:`` key, or a name inside ``${...}``): its resolved value and
  who set it, the lines ``blueprint resolve --why params.NAME`` prints; in a block's
  graph, the block's parameter;
* a node named in ``from:``/``share:``: its type and where it is declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.lsp.analysis import Analysis
from keras_blueprints.lsp.components import (
    Argument,
    arguments_of,
    blueprint_blocks,
    describe_type,
    is_type_key,
    node_of,
)
from keras_blueprints.lsp.text import Spot

__all__ = ["Built", "hover_text", "local_blocks"]

Built = Mapping[str, tuple[str, int]]
"""A build's nodes: name -> (output shape, parameter count)."""


def local_blocks(spot_data: dict[str, Any], analysis: Analysis | None) -> dict[str, Any]:
    """The blocks a document declares, with those of its bases and imports when loaded."""
    composed = analysis.composed if analysis is not None else None
    if composed is not None:
        blocks = blueprint_blocks(composed.data, composed.imported_blocks)
    else:
        blocks = {}
    mine = spot_data.get("blocks")
    if isinstance(mine, dict):
        blocks.update(mine)
    return blocks


def _argument_text(arg: Argument, owner: str) -> str:
    lines = [f"**{arg.name}** (argument of {owner})", "", f"Type: {arg.type}"]
    lines.append("Required." if arg.required else f"Default: `{arg.default}`")
    if arg.doc:
        lines += ["", arg.doc]
    return "\n".join(lines)


def _param_text(name: str, analysis: Analysis | None) -> str | None:
    bp = analysis.blueprint if analysis is not None else None
    if bp is None or bp.document is None:
        return None
    from keras_blueprints.commands.resolve import explain

    try:
        lines = explain(bp, f"params.{name}")
    except BlueprintError:
        return None
    text = f"**{name}** (parameter)\n\n```\n" + "\n".join(lines) + "\n```"
    if name in bp.params:
        text += f"\n\nResolved value: `{bp.params[name]!r}`"
    return text


def _block_param_text(name: str, block: str, blocks: dict[str, Any]) -> str | None:
    arg = arguments_of(block, blocks).get(name)
    return None if arg is None else _argument_text(arg, f"block '{block}'")


def _node_text(name: str, analysis: Analysis | None, built: Built | None) -> str | None:
    bp = analysis.blueprint if analysis is not None else None
    if bp is None:
        return None
    for spec in bp.inputs:
        if spec.name == name:
            return f"**{name}** (input)\n\nShape: `{spec.shape}`"
    for node in bp.nodes:
        if node.name == name:
            text = f"**{name}** (node: {node.type})\n\nDeclared at {node.location}"
            if built and name in built:
                shape, count = built[name]
                text += f"\n\nOutput shape: `{shape}`, {count:,} parameters (built)"
            return text
    return None


def hover_text(spot: Spot, analysis: Analysis | None, built: Built | None = None) -> str | None:
    """Markdown for the thing at ``spot``, or None when there is nothing to say.

    Args:
        spot: What the cursor is on (from the text the editor holds now).
        analysis: The latest load of the document (for resolved values), or None.
        built: The latest build's nodes (output shape, parameters), or None.

    Returns:
        The hover's Markdown.
    """
    data = spot.document.data
    blocks = local_blocks(data, analysis)
    node = node_of(spot.path)
    if spot.expression_name:
        name = spot.expression_name
        if node is not None and node.block is not None:
            text = _block_param_text(name, node.block, blocks)
            if text is not None:
                return text
        return _param_text(name, analysis)
    if len(spot.path) == 2 and spot.path[0] == "params" and spot.role == "key":
        return _param_text(str(spot.path[1]), analysis)
    if spot.path[:1] == ("outputs",) and spot.role == "value":
        return _node_text(spot.word, analysis, built)
    if node is None:
        return None
    rest = node.rest
    if not rest and spot.role == "value":  # "- Flatten"
        return describe_type(spot.word, blocks)
    if len(rest) == 1 and spot.role == "key" and is_type_key(rest[0]):
        return describe_type(str(rest[0]), blocks)
    if len(rest) == 2 and is_type_key(rest[0]) and isinstance(rest[1], str):
        arg = arguments_of(str(rest[0]), blocks).get(rest[1])
        return None if arg is None else _argument_text(arg, str(rest[0]))
    if rest == ("name",) and spot.role == "value":
        return _node_text(spot.word, analysis, built)
    if rest and rest[0] in ("from", "share") and spot.role == "value":
        return _node_text(spot.word, analysis, built)
    return None

"""Document symbols: the outline of a blueprint.

Each top-level section is a symbol; below it, ``params:`` lists its parameters,
``inputs:`` its inputs, ``graph:`` its nodes (a group's nodes nested in it) and
``blocks:`` each block with its parameters and graph. A symbol spans from its key
to the line before its next sibling (or the end of its parent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keras_blueprints.loading.source import Document, Path_
from keras_blueprints.lsp.components import is_type_key

__all__ = ["Symbol", "outline"]


@dataclass
class Symbol:
    """One entry of the outline (0-based lines and characters).

    Attributes:
        name: What it is called (a node's name, else its type).
        kind: ``"section"``, ``"parameter"``, ``"input"``, ``"node"``, ``"group"`` or
            ``"block"``.
        detail: A word beside it (a node's layer or block).
        line: Where its key starts.
        character: Where its key starts on that line.
        end_line: Its last line.
        end_character: Where it ends on its last line.
        children: The symbols inside it.
    """

    name: str
    kind: str
    detail: str
    line: int
    character: int
    end_line: int = 0
    end_character: int = 0
    children: list[Symbol] = field(default_factory=list)


def _start(doc: Document, path: Path_, key: bool = True) -> tuple[int, int] | None:
    loc = doc.sources.keys.get(path) if key else None
    loc = loc or doc.sources.values.get(path)
    if loc is None or loc.line <= 0 or loc.file != doc.file:
        return None
    return loc.line - 1, loc.col - 1


def _nodes(doc: Document, nodes: Any, path: Path_) -> list[Symbol]:
    out = []
    if not isinstance(nodes, list):
        return out
    for i, node in enumerate(nodes):
        start = _start(doc, (*path, i), key=False)
        if start is None:
            continue
        if isinstance(node, str):
            out.append(Symbol(node, "node", node, *start))
            continue
        if not isinstance(node, dict):
            continue
        types = [k for k in node if is_type_key(k)]
        detail = types[0] if types else ""
        name = str(node.get("name") or detail or f"[{i}]")
        if isinstance(node.get("graph"), list):
            symbol = Symbol(name, "group", "group", *start)
            symbol.children = _nodes(doc, node["graph"], (*path, i, "graph"))
        else:
            symbol = Symbol(name, "node", detail, *start)
        out.append(symbol)
    return out


def _mapping(doc: Document, value: Any, path: Path_, kind: str) -> list[Symbol]:
    out = []
    if isinstance(value, dict):
        for key in value:
            start = _start(doc, (*path, key))
            if start is not None:
                out.append(Symbol(str(key), kind, "", *start))
    return out


def _blocks(doc: Document, blocks: Any) -> list[Symbol]:
    out = []
    if not isinstance(blocks, dict):
        return out
    for name, body in blocks.items():
        start = _start(doc, ("blocks", name))
        if start is None:
            continue
        symbol = Symbol(str(name), "block", "block", *start)
        if isinstance(body, dict):
            params = ("blocks", name, "params")
            symbol.children = _mapping(doc, body.get("params"), params, "parameter")
            symbol.children += _nodes(doc, body.get("graph"), ("blocks", name, "graph"))
        out.append(symbol)
    return out


def _close(symbols: list[Symbol], end: tuple[int, int], lines: list[str]) -> None:
    """Sets each symbol's end: before its next sibling, the last one at ``end``."""
    symbols.sort(key=lambda s: (s.line, s.character))
    for i, symbol in enumerate(symbols):
        if i + 1 < len(symbols):
            last = max(symbol.line, symbols[i + 1].line - 1)
            if last == symbols[i + 1].line:  # a sibling on the same line (flow style)
                mine = (last, max(symbol.character, symbols[i + 1].character - 1))
            else:
                mine = (last, len(lines[last]) if last < len(lines) else 0)
        else:
            mine = end
        if mine < (symbol.line, symbol.character):
            mine = (symbol.line, symbol.character)
        symbol.end_line, symbol.end_character = mine
        _close(symbol.children, mine, lines)


def outline(doc: Document, text: str) -> list[Symbol]:
    """The outline of a parsed document.

    Args:
        doc: The document parsed from ``text``.
        text: Its text (for where lines end).

    Returns:
        The top-level symbols, in file order, with their children.
    """
    out = []
    for key, value in doc.data.items():
        start = _start(doc, (key,))
        if start is None:
            continue
        section = Symbol(str(key), "section", "", *start)
        if key == "params":
            section.children = _mapping(doc, value, ("params",), "parameter")
        elif key == "inputs":
            section.children = _mapping(doc, value, ("inputs",), "input")
        elif key == "graph":
            section.children = _nodes(doc, value, ("graph",))
        elif key == "blocks":
            section.children = _blocks(doc, value)
        out.append(section)
    lines = text.splitlines() or [""]
    _close(out, (len(lines) - 1, len(lines[-1])), lines)
    return out

"""Go to definition: where the name under the cursor is declared.

* an ``extends:``/``imports:`` value: the file (a zoo file for ``zoo:NAME``);
* a node's type key naming a block: its declaration under ``blocks:`` (in this file,
  a base or an imported file), or the Python function of a registered block;
* a node named in ``from:``/``share:``/``outputs:``: its ``name:`` (or the input);
* a name inside ``${...}``: the parameter under ``params:`` (or the block's own).

Each target is a :class:`~keras_blueprints._core.errors.Location` (1-based; its
file is the display name of the document that holds it, or a file system path).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.catalog.components import BLOCKS
from keras_blueprints.loading.document import _find_node, resolve_reference
from keras_blueprints.loading.source import Document
from keras_blueprints.lsp.analysis import Analysis
from keras_blueprints.lsp.components import is_type_key, node_of
from keras_blueprints.lsp.text import Spot

__all__ = ["definition"]


def _key(doc: Document | None, path: tuple) -> Location | None:
    if doc is None:
        return None
    return doc.sources.keys.get(path)


def _param(spot: Spot, analysis: Analysis | None, name: str) -> Location | None:
    node = node_of(spot.path)
    if node is not None and node.block is not None:
        found = _key(spot.document, ("blocks", node.block, "params", name))
        if found is not None:
            return found
    composed = analysis.composed if analysis is not None else None
    return _key(spot.document, ("params", name)) or _key(composed, ("params", name))


def _block(spot: Spot, analysis: Analysis | None, name: str) -> Location | None:
    found = _key(spot.document, ("blocks", name))
    composed = analysis.composed if analysis is not None else None
    if found is None and composed is not None:
        found = _key(composed, ("blocks", name))
        imported = composed.imported_blocks.get(name)
        if found is None and imported is not None:
            found = _key(imported[1], ("blocks", name))
    if found is not None:
        return found
    entry = BLOCKS.get(name)
    if entry is None:
        return None
    fn = inspect.unwrap(entry.fn)  # the function, not the wrapper that checks its arguments
    try:
        file = inspect.getsourcefile(fn)
        line = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        return None
    return Location(file, line, 1) if file else None


def _node(spot: Spot, analysis: Analysis | None, name: str) -> Location | None:
    node = node_of(spot.path)
    data: Any = spot.document.data
    prefix: tuple = ()
    if node is not None and node.block is not None:
        data = (data.get("blocks") or {}).get(node.block) or {}
        prefix = ("blocks", node.block)
    graph = data.get("graph") if isinstance(data, dict) else None
    if isinstance(graph, list):
        found = _find_node(graph, name, (*prefix, "graph"))
        if found is not None:
            return spot.document.sources.value((*found, "name"))
    inputs = data.get("inputs") if isinstance(data, dict) else None
    if isinstance(inputs, dict) and name in inputs:
        return _key(spot.document, (*prefix, "inputs", name))
    bp = analysis.blueprint if analysis is not None else None
    if bp is not None and (node is None or node.block is None):  # a name a repeat made
        for n in bp.nodes:
            if n.name == name:
                return n.location
        for spec in bp.inputs:
            if spec.name == name:
                return spec.location
    return None


def definition(spot: Spot, analysis: Analysis | None) -> Location | None:
    """Where the thing at ``spot`` is declared.

    Args:
        spot: What the cursor is on.
        analysis: The latest load of the document, or None.

    Returns:
        The declaration's location, or None when there is none to go to.
    """
    if spot.expression_name:
        return _param(spot, analysis, spot.expression_name)
    path = spot.path
    if path[:1] in (("extends",), ("imports",)) and spot.role == "value":
        here = spot.document.path.parent if spot.document.path else None
        try:
            target = resolve_reference(spot.word, here, Location(spot.document.file))
        except BlueprintError:
            return None
        return Location(str(Path(target).resolve()), 1, 1)
    if path[:1] == ("outputs",) and spot.role == "value":
        return _node(spot, analysis, spot.word)
    node = node_of(path)
    if node is None:
        return None
    rest = node.rest
    if (len(rest) == 1 and spot.role == "key" and is_type_key(rest[0])) or (
        not rest and spot.role == "value"
    ):
        return _block(spot, analysis, spot.word)
    if rest and rest[0] in ("from", "share") and spot.role == "value":
        return _node(spot, analysis, spot.word)
    return None

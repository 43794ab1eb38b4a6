"""What the names of a blueprint mean, for hover and completion.

A node's type key is a layer (the catalog and ``LAYERS``), a Python block
(``BLOCKS``) or a block the blueprint declares (its ``blocks:``, or one brought by
``imports:``). For each, :func:`describe_type` gives its summary and signature and
:func:`arguments_of` its arguments: type, default, allowed values and description,
taken from the same declarations as the editor schema
(:mod:`keras_blueprints.views.layer_arguments`) and the resolver's checks
(:mod:`keras_blueprints.resolve.identifiers`). Where a key path stands in the
graph is :func:`node_of`. Nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keras_blueprints.catalog import OBJECT_DEFAULT, vocabulary
from keras_blueprints.catalog.components import BLOCKS, LAYERS, BlockEntry
from keras_blueprints.catalog.docs import layer_doc
from keras_blueprints.catalog.signatures import docstring_args
from keras_blueprints.loading.document import CONTROL_KEYS
from keras_blueprints.loading.source import Path_
from keras_blueprints.resolve.identifiers import argument_kind
from keras_blueprints.views.layer_arguments import argument_schema, description

__all__ = [
    "Argument",
    "NodeAt",
    "allowed_values",
    "arguments_of",
    "blueprint_blocks",
    "describe_type",
    "node_of",
    "type_names",
]


@dataclass(frozen=True)
class NodeAt:
    """A graph node a key path goes through.

    Attributes:
        path: The node's own path (``('graph', 3)``, ``('blocks', 'b', 'graph', 0)``).
        rest: The part of the key path inside the node (``('Conv2D', 'padding')``).
        block: The blueprint block whose graph holds the node, or None (the main graph).
    """

    path: Path_
    rest: Path_
    block: str | None


def node_of(path: Path_) -> NodeAt | None:
    """The innermost graph node ``path`` lies in (or is), or None.

    Args:
        path: A key path of a document.

    Returns:
        The node, or None when the path is not inside any ``graph:`` list.
    """
    for i in range(len(path) - 1, 0, -1):
        if isinstance(path[i], int) and path[i - 1] == "graph":
            block = str(path[1]) if len(path) > 2 and path[0] == "blocks" else None
            return NodeAt(path[: i + 1], path[i + 1 :], block)
    return None


def blueprint_blocks(data: Mapping[str, Any], imported: Mapping[str, Any]) -> dict[str, Any]:
    """The blocks a blueprint declares or imports: name -> its declaration.

    Args:
        data: The document's data (composed, when available: with its bases' blocks).
        imported: Blocks from ``imports:`` (name -> (declaration, document)).

    Returns:
        Name -> declaration mapping (``doc``, ``params``, ``graph``).
    """
    out: dict[str, Any] = {name: body for name, (body, _) in imported.items()}
    blocks = data.get("blocks")
    if isinstance(blocks, dict):
        out.update(blocks)
    return out


def type_names(local_blocks: Mapping[str, Any]) -> dict[str, str]:
    """Every name a node's type key may take, with what it is.

    Args:
        local_blocks: The blueprint's own and imported blocks.

    Returns:
        Name -> ``"layer"``, ``"block"`` or ``"blueprint block"``; canonical names only.
    """
    out = dict.fromkeys(LAYERS.names(), "layer")
    out.update(dict.fromkeys(BLOCKS.names(), "block"))
    out.update(dict.fromkeys(local_blocks, "blueprint block"))
    return out


@dataclass(frozen=True)
class Argument:
    """One argument of a layer or block.

    Attributes:
        name: The keyword.
        type: Its type in words (``integer``, ``one of 'valid', 'same'``, ``any``).
        default: Its default, shown as JSON (None when required).
        required: Whether it must be given.
        doc: What the docstrings say about it.
        values: The values it takes, when enumerated (for completion).
    """

    name: str
    type: str
    default: str | None
    required: bool
    doc: str
    values: tuple[str, ...] = ()


_REF_WORDS = {
    "activations": "a Keras activation name",
    "initializers": "a Keras initializer name",
    "regularizers": "a Keras regularizer name",
    "constraints": "a Keras constraint name",
    "nestedLayer": "a nested layer",
}


def _schema_words(schema: Mapping[str, Any]) -> str:
    """A JSON Schema in words, leaving out the ``${...}`` and search-space alternatives."""
    options = schema.get("anyOf", [schema])
    words = []
    for option in options:
        ref = str(option.get("$ref", ""))
        name = ref.rsplit("/", 1)[-1]
        if name in ("expression", "searchSpace"):
            continue
        if name.startswith("enum."):
            values = vocabulary.enumeration(name[5:]) or ()
            words.append("one of " + ", ".join(values))
        elif name:
            words.append(_REF_WORDS.get(name, name))
        elif "type" in option:
            kind = option["type"]
            kinds = kind if isinstance(kind, list) else [kind]
            if "array" in kinds:
                kinds = [k if k != "array" else "list" for k in kinds]
            words.append(" or ".join(kinds))
        elif "enum" in option:
            words.append("one of " + ", ".join(json.dumps(v) for v in option["enum"]))
        elif "not" in option:
            continue
    return " or ".join(dict.fromkeys(words)) or "any"


def allowed_values(argument: str) -> tuple[str, ...]:
    """The values an argument of a layer takes when they are names (for completion).

    Args:
        argument: The keyword (``padding``, ``activation``, ``kernel_initializer``).

    Returns:
        The enumerated values, or the snake_case identifiers of its kind; ``()`` if free.
    """
    values = vocabulary.enumeration(argument)
    if values is not None:
        return values
    kind = argument_kind(argument)
    if kind is None:
        return ()
    return tuple(name for name in vocabulary.names(kind) if not name[:1].isupper())


def _layer_arguments(name: str) -> dict[str, Argument]:
    entry = LAYERS.get(name)
    if entry is None:
        return {}
    docs = layer_doc(entry.name)
    out = {}
    for info in entry.params.values():
        doc = docs.args.get(info.name) if docs else None
        schema = argument_schema(info, doc, checked=entry.builtin or docs is not None)
        known = not info.required and info.default != OBJECT_DEFAULT
        default = json.dumps(info.default) if known else None
        if not info.required and not known:
            default = "a Keras object"
        out[info.name] = Argument(
            info.name,
            _schema_words(schema),
            default,
            info.required,
            description(info, doc),
            allowed_values(info.name),
        )
    return out


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _python_block_arguments(entry: BlockEntry) -> dict[str, Argument]:
    docs = docstring_args(entry.fn)
    out = {}
    for param in entry.params.values():
        words = param.range_words or " or ".join(param.type.names)
        values = tuple(str(c) for c in param.choices)
        if values:
            words = "one of " + ", ".join(values)
        default = None if param.required else _json(param.default)
        doc = param.doc or docs.get(param.name, "")
        out[param.name] = Argument(param.name, words, default, param.required, doc, values)
    return out


def _declared_arguments(body: Any) -> dict[str, Argument]:
    params = body.get("params") if isinstance(body, dict) else None
    out = {}
    for name, spec in (params or {}).items() if isinstance(params, dict) else ():
        if isinstance(spec, dict):
            choices = spec.get("choices")
            values = tuple(str(c) for c in choices) if isinstance(choices, list) else ()
            words = "one of " + ", ".join(values) if values else str(spec.get("type", "any"))
            has_default = "default" in spec
            out[name] = Argument(
                name,
                words,
                _json(spec["default"]) if has_default else None,
                not has_default,
                str(spec.get("doc", "")),
                values,
            )
        else:
            words = str(spec) if spec is not None else "any"
            optional = words.rstrip().endswith("?")
            out[name] = Argument(name, words, "null" if optional else None, not optional, "")
    return out


def arguments_of(type_name: str, local_blocks: Mapping[str, Any]) -> dict[str, Argument]:
    """The arguments a node of ``type_name`` takes.

    Args:
        type_name: A layer, block or blueprint block name (aliases too).
        local_blocks: The blueprint's own and imported blocks.

    Returns:
        Keyword -> :class:`Argument`, in signature order; empty for an unknown name.
    """
    if type_name in local_blocks:
        return _declared_arguments(local_blocks[type_name])
    block = BLOCKS.get(type_name)
    if block is not None:
        return _python_block_arguments(block)
    return _layer_arguments(type_name)


def describe_type(type_name: str, local_blocks: Mapping[str, Any]) -> str | None:
    """Markdown saying what a node type is: its summary and signature.

    Args:
        type_name: A layer, block or blueprint block name (aliases too).
        local_blocks: The blueprint's own and imported blocks.

    Returns:
        The text, or None for an unknown name.
    """
    args = arguments_of(type_name, local_blocks)
    if type_name in local_blocks:
        body = local_blocks[type_name]
        kind, canonical = "block declared in the blueprint", type_name
        summary = str(body.get("doc", "")) if isinstance(body, dict) else ""
    elif (block := BLOCKS.get(type_name)) is not None:
        kind, canonical, summary = "block", block.name, block.doc
    elif (entry := LAYERS.get(type_name)) is not None:
        docs = layer_doc(entry.name)
        target = entry.target if isinstance(entry.target, str) else entry.target.__name__
        kind, canonical, summary = f"layer `{target}`", entry.name, docs.summary if docs else ""
    else:
        return None
    shown = []
    for arg in args.values():
        shown.append(arg.name if arg.required else f"{arg.name}={arg.default}")
    lines = [f"**{canonical}** ({kind})", ""]
    if summary:
        lines += [summary, ""]
    lines.append(f"```\n{canonical}({', '.join(shown)})\n```")
    return "\n".join(lines)


def is_type_key(key: object) -> bool:
    """Whether a key of a node mapping names its layer or block (not ``name:``, ``from:``...)."""
    return isinstance(key, str) and key not in CONTROL_KEYS

"""A JSON Schema (draft 2020-12, or draft 07) of the blueprint language, for editors.

With the schema, an editor that understands JSON Schema (VS Code's YAML
extension, JetBrains IDEs) completes section names, node keys, layer names,
layer arguments and their allowed values (activations, initializers,
``padding``...), shows each layer's and argument's documentation and default,
and flags misspelt arguments and wrong values while typing. A blueprint opts in
with a first line such as::

    # yaml-language-server: $schema=./blueprint.schema.json

The schema is generated, never written by hand, so it stays true: sections and
node keys come from the resolver and the document composer, the ``data``,
``train``, ``tune``, ``runtime`` and ``compile`` sections from their models
(:mod:`keras_blueprints.resolve.specs`), layers and their
arguments from the layer registry (the shipped Keras catalog, aliases, custom
layers registered so far) with their docstrings (``layer_docs.json``), Python
blocks from the block registry with their annotated types. Nothing here imports
TensorFlow.

What the schema checks is a subset of what ``blueprint validate`` checks (it
cannot see references, parameter values, cycles or shapes), and it never
refuses a blueprint that loads and builds: how each layer argument is typed,
and widened where Keras is lenient, is told in
:mod:`keras_blueprints.views.layer_arguments`. Any value may also be a
``${...}`` expression string, evaluated at load time, or a search space.

It is built in draft 2020-12; :mod:`keras_blueprints.views.drafts` writes it in
draft 07 (``blueprint schema --draft 07``), which more editors understand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from keras_blueprints import __version__
from keras_blueprints._core.registry import Registry
from keras_blueprints.callbacks.registry import CALLBACKS
from keras_blueprints.catalog import keras_version
from keras_blueprints.catalog.components import BLOCKS, LAYERS, BlockEntry, BlockParam, LayerEntry
from keras_blueprints.catalog.configurable import FunctionEntry
from keras_blueprints.catalog.docs import layer_doc
from keras_blueprints.catalog.signatures import docstring_args
from keras_blueprints.data.registry import SOURCES
from keras_blueprints.loading import zoo
from keras_blueprints.loading.document import CONTROL_KEYS
from keras_blueprints.loading.valuetypes import TYPE_NAMES
from keras_blueprints.resolve import DTYPES, NAME_RE, REF_RE, TOP_LEVEL_KEYS
from keras_blueprints.resolve.spaces import SAMPLINGS
from keras_blueprints.resolve.specs import (
    EDITOR_REF,
    CompileSpec,
    DataSpec,
    RuntimeSpec,
    SectionSpec,
    TrainSpec,
    TuneSpec,
)
from keras_blueprints.views.drafts import DRAFT_07, DRAFT_2020_12, to_draft_07
from keras_blueprints.views.layer_arguments import (
    argument_schema,
    json_value,
    typed,
    vocabulary_definitions,
)

__all__ = ["DRAFT", "DRAFTS", "blueprint_schema"]

DRAFT = DRAFT_2020_12
"""The draft :func:`blueprint_schema` writes unless told otherwise."""

DRAFTS = {"2020-12": DRAFT_2020_12, "07": DRAFT_07}
"""The drafts the schema can be written in, by the name ``--draft`` takes."""

EXPRESSION = {"$ref": "#/$defs/expression"}
SPACE = {"$ref": "#/$defs/searchSpace"}
COMPOSE_KEYS = ("extends", "imports", "set")
"""Sections consumed while composing, before resolution."""

GROUP_KEYS = ("graph", "repeat", "as", "when", "from", "doc")
"""The keys a group node (one with ``graph``) may have."""

PARAM_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

# JSON Schema types of the block parameter type language (valuetypes.TYPE_NAMES).
_JSON_TYPES = {
    "int": "integer",
    "float": "number",
    "str": "string",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
    "null": "null",
}


def blueprint_schema(draft: str = "2020-12") -> dict[str, Any]:
    """Returns the JSON Schema of blueprint files, generated from the registries.

    Args:
        draft: ``"2020-12"`` (the default) or ``"07"``, which VS Code's YAML
            extension understands fully (:mod:`keras_blueprints.views.drafts`).

    Returns:
        The schema as JSON data (a dict), ready for ``json.dumps``.

    Raises:
        ValueError: ``draft`` is not one of :data:`DRAFTS`.
    """
    if draft not in DRAFTS:
        raise ValueError(f"Expected a draft among {', '.join(DRAFTS)}. Received: draft={draft!r}")
    layers = {name: LAYERS.get(name) for name in LAYERS.names()}
    blocks = {name: BLOCKS.get(name) for name in BLOCKS.names()}
    defs: dict[str, Any] = {
        "expression": {
            "type": "string",
            "pattern": r"\$\{",
            "description": "A ${...} expression, evaluated when the blueprint is loaded:"
            " parameters, arithmetic, a repeat index.",
        },
        "name": {
            "type": "string",
            "description": "A name: letters, digits, '_' or '-', not starting with a digit"
            " (may contain ${...}).",
        },
        "reference": {
            "type": "string",
            "anyOf": [{"pattern": REF_RE.pattern}, EXPRESSION],
            "description": "A node or input name; NAME.INDEX for one output of a multi-output"
            " node or block instance.",
        },
        "references": {
            "anyOf": [
                {"$ref": "#/$defs/reference"},
                {"type": "array", "items": {"$ref": "#/$defs/reference"}, "minItems": 1},
            ]
        },
        "inputSpec": _input_spec(),
        "shape": _shape(),
        "graph": {
            "type": "array",
            "items": {"$ref": "#/$defs/node"},
            "description": "Nodes in order; a node without 'from' takes the previous node's"
            " output.",
        },
        "node": {
            "type": ["string", "object"],
            "if": {"type": "string"},
            "then": {
                "anyOf": [{"enum": _all_names(layers, blocks)}, {"pattern": NAME_RE.pattern}],
                "description": "A layer or block without arguments, e.g.  - Flatten",
            },
            "else": {"$ref": "#/$defs/nodeMapping"},
        },
        "nodeMapping": _node_mapping(layers, blocks),
        "from": _from(),
        "blockArguments": {
            "type": ["object", "null"],
            "description": "A block declared under 'blocks:' (or registered from Python) with"
            " its parameters.",
        },
        "nestedLayer": _nested_layer(layers),
        "blockDefinition": _block_definition(),
        "blockParameter": _block_parameter(),
        "typeName": _type_name(),
        "searchSpace": _search_space(),
        "source": _named_choice(
            SOURCES,
            "source",
            "A data source: a built-in name, a file name"
            " (.npz, .npy, .csv, a folder/ of images) or {NAME: {arguments}}.",
        ),
        "callback": _named_choice(
            CALLBACKS, "callback", "A callback: NAME or {NAME: {arguments}}."
        ),
    }
    defs.update(vocabulary_definitions())
    for name in SOURCES.names():
        entry = SOURCES.get(name)
        defs[f"source.{name}"] = _function(entry, "Data source")
    for name in CALLBACKS.names():
        entry = CALLBACKS.get(name)
        defs[f"callback.{name}"] = _function(entry, "Callback")
    for name, entry in layers.items():
        defs[f"layer.{name}"] = _layer(entry)
    for name, entry in blocks.items():
        defs[f"block.{name}"] = _python_block(entry)
    schema = {
        "$schema": DRAFT_2020_12,
        "title": "keras-blueprints blueprint",
        "description": "A YAML blueprint of a Keras functional model (keras-blueprints).",
        "$comment": f"Generated by keras-blueprints {__version__} from the Keras"
        f" {keras_version()} layer catalog: run `blueprint schema` to regenerate.",
        "type": "object",
        "properties": _sections(),
        "additionalProperties": False,
        "$defs": defs,
    }
    return to_draft_07(schema) if draft == "07" else schema


# -- helpers ---------------------------------------------------------------------------


def _names_or_list(description: str) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
        ],
        "description": description,
    }


def _show(value: Any) -> str:
    return json.dumps(json_value(value))


def _all_names(layers: Mapping[str, LayerEntry], blocks: Mapping[str, BlockEntry]) -> list[str]:
    names = []
    for name in layers:
        names += [name, *LAYERS.aliases_of(name)]
    return sorted(dict.fromkeys([*names, *blocks]), key=str.lower)


# -- sections --------------------------------------------------------------------------


def _sections() -> dict[str, Any]:
    zoo_refs = [f"zoo:{n}" for n in zoo.names()]
    known: dict[str, dict[str, Any]] = {
        "name": {"type": "string", "description": "The model's name (default: the file name)."},
        "description": {"type": "string", "description": "Free text about the model."},
        "extends": {
            **_names_or_list(
                "Blueprint(s) this one is based on: file paths (relative to this file) or"
                " zoo:NAME. Mappings merge; lists and scalars replace."
            ),
            "examples": zoo_refs,
        },
        "imports": _names_or_list("Files (or zoo:NAME) whose 'blocks:' this blueprint may use."),
        "set": {
            "type": "object",
            "description": "Overrides applied after 'extends': dotted keys to values,"
            " e.g. params.width: 32 or graph.stem.filters: 48.",
        },
        "params": {
            "type": "object",
            "propertyNames": {"pattern": PARAM_NAME},
            "description": "Named values that ${...} expressions use; may refer to earlier"
            " parameters.",
        },
        "inputs": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": NAME_RE.pattern},
            "additionalProperties": {"$ref": "#/$defs/inputSpec"},
            "description": "The model's inputs: name to shape (batch dimension excluded).",
        },
        "graph": {"$ref": "#/$defs/graph", "minItems": 1},
        "outputs": {
            "anyOf": [
                {"$ref": "#/$defs/reference"},
                {"type": "array", "items": {"$ref": "#/$defs/reference"}, "minItems": 1},
            ],
            "description": "The model's outputs (default: the last node).",
        },
        "blocks": {
            "type": "object",
            "propertyNames": {"pattern": NAME_RE.pattern},
            "additionalProperties": {"$ref": "#/$defs/blockDefinition"},
            "description": "Reusable sub-graphs, used in the graph like layers.",
        },
        "compile": _section(CompileSpec),
        "data": _section(
            DataSpec, {"type": "string", "description": "A data source alone, e.g.  data: digits"}
        ),
        "train": _section(TrainSpec),
        "tune": _section(TuneSpec),
        "runtime": _section(RuntimeSpec, model_schema(RuntimeSpec)["properties"]["strategy"]),
        "models": {
            "type": "object",
            "propertyNames": {"pattern": NAME_RE.pattern, "not": {"const": "model"}},
            "additionalProperties": {
                "type": "object",
                "required": ["inputs", "outputs"],
                "additionalProperties": False,
                "properties": {
                    "inputs": {
                        "anyOf": [
                            {"$ref": "#/$defs/reference"},
                            {"type": "array", "items": {"$ref": "#/$defs/reference"}},
                            {
                                "type": "object",
                                "additionalProperties": {"$ref": "#/$defs/reference"},
                            },
                        ],
                        "description": "Nodes whose outputs become this model's inputs"
                        " (a mapping renames them).",
                    },
                    "outputs": {
                        "anyOf": [
                            {"$ref": "#/$defs/reference"},
                            {"type": "array", "items": {"$ref": "#/$defs/reference"}},
                        ]
                    },
                    "doc": {"type": "string"},
                },
            },
            "description": "Further models sharing the main model's layers (encoder, decoder,"
            " one-step decoder): build them with keras_blueprints.build_models.",
        },
    }
    # A section the resolver learns later is accepted (untyped) until described here.
    return {key: known.get(key, {}) for key in (*TOP_LEVEL_KEYS, *COMPOSE_KEYS)}


def _search_space() -> dict[str, Any]:
    bounds = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    options = {
        "name": {"type": "string", "description": "One hyperparameter for every place so named."},
        "default": {"description": "The value used when nothing is searched."},
        "step": {"type": "number", "exclusiveMinimum": 0},
        "sampling": {"enum": list(SAMPLINGS)},
        "doc": {"type": "string"},
    }
    kinds = {
        "choice": {"type": "array", "minItems": 1},
        "int": bounds,
        "float": bounds,
        "boolean": {"type": ["boolean", "null"]},
        "fixed": {},
    }
    return {
        "description": "A search space in place of a value (blueprint tune): {choice: [...]},"
        " {int: [min, max]}, {float: [min, max], sampling: log}, {boolean: false}, {fixed: v}.",
        "oneOf": [
            {
                "type": "object",
                "required": [kind],
                "properties": {kind: schema, **options},
                "additionalProperties": False,
            }
            for kind, schema in kinds.items()
        ],
    }


def model_schema(spec: type[SectionSpec]) -> dict[str, Any]:
    """A section model's own JSON Schema, nested models inlined, pydantic's titles dropped.

    References to the editor schema's definitions (``EDITOR_REF``) become ``$ref``.

    Args:
        spec: The section's model (:mod:`keras_blueprints.resolve.specs`).

    Returns:
        ``spec.model_json_schema()``, self-contained.
    """
    raw = spec.model_json_schema()
    defs = raw.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(v) for v in node]
        if not isinstance(node, dict):
            return node
        if EDITOR_REF in node:
            return {"$ref": f"#/$defs/{node[EDITOR_REF]}"}
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/") and ref[len("#/$defs/") :] in defs:
            return inline(defs[ref[len("#/$defs/") :]])
        return {k: inline(v) for k, v in node.items() if k != "title"}

    return inline(raw)


def _section(spec: type[SectionSpec], alternative: Mapping[str, Any] | None = None) -> dict:
    """A section's schema, derived from its model (:func:`model_schema`) for editors.

    Each value may also be a ``${...}`` expression or a search space, as the resolver
    substitutes them before the model validates; a field's default is told in its
    description.

    Args:
        spec: The section's model.
        alternative: What else the section may be written as (``data: digits``).

    Returns:
        The section's schema.
    """
    out = _editor(model_schema(spec))
    if alternative is None:
        return {**out, "description": spec.summary}
    shorthand = {k: v for k, v in alternative.items() if k != "default"}
    return {"description": spec.summary, "anyOf": [shorthand, out]}


_NO_DEFAULT = object()


def _editor(model: Mapping[str, Any]) -> dict[str, Any]:
    """An object schema for editors: each value typed or an expression, defaults told."""
    properties = {}
    for key, prop in model["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", "")
        default = prop.pop("default", _NO_DEFAULT)
        if default not in (_NO_DEFAULT, None, []) and "default:" not in description:
            description = f"{description} Default: {json.dumps(default)}.".strip()
        nested = next(
            (
                s
                for s in prop.get("anyOf", [prop])
                if s.get("type") == "object" and "properties" in s
            ),
            None,
        )
        if nested is not None:  # a section inside the section (train.pretrain)
            properties[key] = {**_editor(nested), "description": description}
        else:
            properties[key] = typed(prop, description)
    out: dict[str, Any] = {"type": "object", "additionalProperties": False}
    if model.get("required"):
        out["required"] = list(model["required"])
    out["properties"] = properties
    return out


def _shape() -> dict[str, Any]:
    dim = {
        "anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}, EXPRESSION],
    }
    return typed(
        {"type": "array", "items": dim},
        "Dimensions without the batch dimension; null for a free one.",
    )


def _input_spec() -> dict[str, Any]:
    spec = {
        "type": "object",
        "properties": {
            "shape": {"$ref": "#/$defs/shape"},
            "dtype": typed({"enum": list(DTYPES)}, 'Default: "float32".'),
            "batch_size": typed(
                {"type": ["integer", "null"], "minimum": 1}, "A fixed batch size. Default: null."
            ),
            "sparse": typed({"type": "boolean"}, "Default: false."),
            "doc": {"type": "string"},
        },
        "required": ["shape"],
        "additionalProperties": False,
    }
    return {"if": {"type": "object"}, "then": spec, "else": {"$ref": "#/$defs/shape"}}


def _from() -> dict[str, Any]:
    keyword = {
        "type": "object",
        "properties": {"inputs": {"$ref": "#/$defs/references"}},
        "additionalProperties": {"$ref": "#/$defs/references"},
        "description": "Positional 'inputs' and keyword tensor inputs of the layer's call,"
        " e.g. {inputs: seq, initial_state: [h, c]}.",
    }
    return {
        "anyOf": [{"$ref": "#/$defs/references"}, keyword],
        "description": "Where the node's input comes from (default: the previous node).",
    }


def _control_keys() -> dict[str, Any]:
    known: dict[str, dict[str, Any]] = {
        "name": {"$ref": "#/$defs/name"},
        "from": {"$ref": "#/$defs/from"},
        "repeat": typed(
            {"type": "integer", "minimum": 0},
            "Repeat the node (or group) this many times; ${i} is the index.",
        ),
        "as": {
            "type": "string",
            "pattern": PARAM_NAME,
            "description": "The repeat index's name. Default: i.",
        },
        "when": typed({"type": "boolean"}, "Keep the node only when true."),
        "share": {
            "type": "string",
            "anyOf": [{"pattern": NAME_RE.pattern}, EXPRESSION],
            "description": "Reuse the layer (and weights) of the named node.",
        },
        "graph": {"$ref": "#/$defs/graph", "description": "A group of nodes."},
        "doc": {"type": "string", "description": "Free text about the node."},
    }
    return {key: known.get(key, {}) for key in CONTROL_KEYS}


def _node_mapping(
    layers: Mapping[str, LayerEntry], blocks: Mapping[str, BlockEntry]
) -> dict[str, Any]:
    properties = _control_keys()
    plain_keys = [k for k in CONTROL_KEYS if k not in ("graph", "share")]
    one_type: dict[str, Any] = {
        "graph": {"propertyNames": {"enum": list(GROUP_KEYS)}},
        "share": {"propertyNames": {"enum": [k for k in CONTROL_KEYS if k != "graph"]}},
    }

    def add(key: str, ref: str, description: str) -> None:
        properties[key] = {"$ref": ref, "description": description}
        one_type[key] = {"propertyNames": {"enum": [*plain_keys, key]}}

    for name, entry in layers.items():
        required = f" Required: {', '.join(entry.required)}." if entry.required else ""
        target = _target(entry)
        doc = layer_doc(name)
        summary = f" {doc.summary}" if doc is not None and doc.summary else ""
        add(name, f"#/$defs/layer.{name}", f"Layer {target}.{summary}{required}")
        for alias in LAYERS.aliases_of(name):
            add(alias, f"#/$defs/layer.{name}", f"Layer {name} ({target}).{summary}{required}")
    for name, entry in blocks.items():
        add(name, f"#/$defs/block.{name}", f"Python block {name}: {entry.doc}".rstrip(": "))
    return {
        "type": "object",
        "description": "A node: one layer or block key with its arguments, plus control keys;"
        " or a group (graph:), or a node reusing another's layer (share:).",
        "properties": properties,
        "additionalProperties": {"$ref": "#/$defs/blockArguments"},
        "dependentSchemas": one_type,
        "anyOf": [
            {"required": ["graph"]},
            {"required": ["share"]},
            {"not": {"propertyNames": {"enum": list(CONTROL_KEYS)}}},
        ],
    }


def _nested_layer(layers: Mapping[str, LayerEntry]) -> dict[str, Any]:
    keyed = {}
    names = []
    for name in layers:
        for key in (name, *LAYERS.aliases_of(name)):
            keyed[key] = {"$ref": f"#/$defs/layer.{name}"}
            names.append(key)
    return {
        "type": ["string", "object"],
        "if": {"type": "object"},
        "then": {
            "properties": keyed,
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
        },
        "else": {"anyOf": [{"enum": sorted(names, key=str.lower)}, EXPRESSION]},
        "description": "A layer given as an argument: a name, or {LayerName: {arguments}}.",
    }


# -- layers and blocks -----------------------------------------------------------------


def _layer(entry: LayerEntry) -> dict[str, Any]:
    doc = layer_doc(entry.name)
    args = doc.args if doc is not None else {}
    summary = f" {doc.summary}" if doc is not None and doc.summary else ""
    schema: dict[str, Any] = {
        "type": "object" if entry.required else ["object", "null"],
        "description": f"Arguments of {_target(entry)}.{summary}",
        "properties": {
            name: argument_schema(info, args.get(name), checked=entry.builtin)
            for name, info in entry.params.items()
        },
        "additionalProperties": False,
    }
    if entry.required:
        schema["required"] = list(entry.required)
    return schema


def _target(entry: LayerEntry) -> str:
    return entry.target if isinstance(entry.target, str) else entry.target.__qualname__


def _named_choice(registry: Registry, kind: str, description: str) -> dict[str, Any]:
    names = registry.names()
    return {
        "description": description,
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "propertyNames": {"enum": registry.names(include_aliases=True)},
                "allOf": [
                    {
                        "if": {"required": [n]},
                        "then": {"properties": {n: {"$ref": f"#/$defs/{kind}.{n}"}}},
                    }
                    for n in names
                ],
            },
        ],
    }


def _function(entry: FunctionEntry, what: str) -> dict[str, Any]:
    return _python_block(entry, f"{what} {entry.name}.")


def _python_block(
    entry: BlockEntry | FunctionEntry, default_doc: str | None = None
) -> dict[str, Any]:
    docs = docstring_args(entry.fn)
    params = {name: _block_param(p, docs.get(name)) for name, p in entry.params.items()}
    required = [p.name for p in entry.params.values() if p.required]
    schema: dict[str, Any] = {
        "type": "object" if required else ["object", "null"],
        "description": entry.doc or default_doc or f"Python block {entry.name}.",
        "properties": params,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def _block_param(param: BlockParam, doc: str | None = None) -> dict[str, Any]:
    """A typed parameter's schema, described by its own doc or the function's ``Args:``."""
    schema: dict[str, Any] = {}
    if "any" not in param.type.names:
        bound = param.bound.schema() if param.bound is not None else {}
        schema = typed({"type": _json_types(param.type.names), **bound})
    if param.choices:
        schema = typed({"enum": [json_value(c) for c in param.choices]})
    text = param.doc or doc
    description = text + " " if text else ""
    if param.required:
        description += "Required."
    else:
        description += f"Default: {_show(param.default)}."
        schema["default"] = json_value(param.default)
    schema["description"] = description
    return schema


def _json_types(names: Iterable[str]) -> list[str] | str:
    types = list(dict.fromkeys(_JSON_TYPES[n] for n in names if n in _JSON_TYPES))
    return types[0] if len(types) == 1 else types


def _type_name() -> dict[str, Any]:
    names = "|".join(TYPE_NAMES)
    return {
        "type": "string",
        "pattern": rf"^\s*({names})(\s*\|\s*({names}))*\s*\??\s*$",
        "description": f"A type: {', '.join(TYPE_NAMES)}; unions with '|'; '?' also allows null.",
    }


def _block_definition() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "A block: a sub-graph with parameters, used like a layer; its nodes"
        " are named INSTANCE_NODE.",
        "properties": {
            "params": {
                "type": "object",
                "propertyNames": {"pattern": PARAM_NAME},
                "additionalProperties": {"$ref": "#/$defs/blockParameter"},
                "description": "Typed parameters: a type (int, float | list, str?) or"
                " {type, default, choices, doc}.",
            },
            "inputs": {
                "anyOf": [
                    {"type": "string", "pattern": NAME_RE.pattern},
                    {
                        "type": "array",
                        "items": {"type": "string", "pattern": NAME_RE.pattern},
                        "minItems": 1,
                    },
                ],
                "description": "Names of the block's inputs inside its graph. Default: [x].",
            },
            "graph": {"$ref": "#/$defs/graph", "minItems": 1},
            "outputs": _names_or_list("The block's output node(s). Default: its last node."),
            "doc": {"type": "string"},
        },
        "required": ["graph"],
        "additionalProperties": False,
    }


def _block_parameter() -> dict[str, Any]:
    type_ref = {"$ref": "#/$defs/typeName"}
    return {
        "anyOf": [
            type_ref,
            {
                "type": "object",
                "properties": {
                    "type": type_ref,
                    "default": {},
                    "choices": {"type": "array"},
                    "doc": {"type": "string"},
                },
                "additionalProperties": False,
            },
        ]
    }

"""Generates ``keras_blueprints/catalog/keras_layers.json`` from the installed Keras.

Run from the repository root after upgrading Keras::

    python tools/gen_layer_catalog.py

The catalog lets ``blueprint validate --no-build`` check layer arguments without
importing Keras. ``tests/test_catalog.py`` calls :func:`collect` and fails when the
shipped file no longer matches the installed Keras.

How a constructor's accepted keywords are found: walk the class MRO's ``__init__``
methods. Each one contributes its named parameters. When it has ``**kwargs`` and
forwards them to ``super().__init__``, the next base's named parameters are
accepted too, except those the subclass already passes to it explicitly (by
keyword or by position, as ``Conv2D`` passes ``rank=2`` to ``BaseConv``):
passing them again would be a duplicate keyword. The walk stops at
``keras.layers.Layer``, at an ``__init__`` without ``**kwargs``, or at one that
does not forward them. Keywords that an ``__init__`` only pops out of
``**kwargs`` (deprecated aliases and ``get_config`` plumbing) are deliberately
not catalogued.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CATALOG_PATH = REPO_ROOT / "keras_blueprints" / "catalog" / "keras_layers.json"
FORMAT_VERSION = 1

# Written in place of a default that JSON cannot hold (an object, a callable).
OBJECT_DEFAULT = "<object>"

# Optional keywords about a layer's input or preset weights: blueprints declare
# inputs in their own section and cannot carry weight arrays. A *required*
# parameter with one of these names is the layer's own meaning and is kept
# (``Embedding.input_dim`` is the vocabulary size).
LEGACY_INPUT_PARAMS = frozenset(
    {"input_shape", "input_dim", "batch_input_shape", "batch_size", "input_length", "weights"}
)

# Parameters that take one nested layer, or a list of them.
LAYER_PARAMS = frozenset({"layer", "cell", "backward_layer"})
LAYER_LIST_PARAMS = frozenset({"cells"})

# A required parameter with one of these names takes a Python callable or a
# foreign-framework module: the layer cannot be written in YAML.
CALLABLE_PARAMS = frozenset({"function", "fn", "call_fn", "module"})

REFUSED: dict[str, str] = {
    "Lambda": "runs arbitrary Python code; register a custom layer instead",
    "InputLayer": "declare inputs in the blueprint's inputs: section",
    "Layer": "abstract base class; register a custom layer instead",
    "Wrapper": "abstract base class; use Bidirectional or TimeDistributed",
    "TFSMLayer": "loads a SavedModel from disk",
    "TorchModuleWrapper": "wraps foreign-framework code",
    "JaxLayer": "wraps foreign-framework code",
    "FlaxLayer": "wraps foreign-framework code",
    "Pipeline": "takes a list of layer objects, which a blueprint cannot express; "
    "list the layers in sequence instead",
}


def _json_default(value: Any) -> Any:
    """Returns ``value`` as JSON data, or :data:`OBJECT_DEFAULT` if it has none."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if type(value) is int else OBJECT_DEFAULT
    if isinstance(value, float):
        return value if type(value) is float and math.isfinite(value) else OBJECT_DEFAULT
    if isinstance(value, tuple | list):
        items = [_json_default(item) for item in value]
        return OBJECT_DEFAULT if OBJECT_DEFAULT in items else items
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        items = {key: _json_default(item) for key, item in value.items()}
        return OBJECT_DEFAULT if OBJECT_DEFAULT in items.values() else items
    return OBJECT_DEFAULT


def _param_kind(name: str) -> str:
    if name in LAYER_PARAMS:
        return "layer"
    if name in LAYER_LIST_PARAMS:
        return "layers"
    return "any"


def _super_call(init: Any, kwargs_name: str) -> tuple[frozenset[str], int] | None:
    """Finds how an ``__init__`` forwards ``**kwargs`` to its base.

    Args:
        init: The ``__init__`` function.
        kwargs_name: The name of its ``**`` parameter.

    Returns:
        The keyword names it passes explicitly and the number of positional
        arguments it passes (both over every forwarding call), or None when it
        never forwards ``**kwargs`` to an ``__init__`` (or its source is missing).
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    except (OSError, TypeError, SyntaxError):
        return None
    explicit: set[str] = set()
    positional = 0
    found = False
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "__init__"
        ):
            continue
        forwards = any(
            kw.arg is None and isinstance(kw.value, ast.Name) and kw.value.id == kwargs_name
            for kw in node.keywords
        )
        if not forwards:
            continue
        found = True
        explicit.update(kw.arg for kw in node.keywords if kw.arg is not None)
        args = node.args
        # `Base.__init__(self, ...)` passes self explicitly; `super().__init__(...)` does not.
        if not (isinstance(node.func.value, ast.Call) and _is_super(node.func.value)):
            args = args[1:]
        positional = max(positional, len(args))
    return (frozenset(explicit), positional) if found else None


def _is_super(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Name) and node.func.id == "super"


def _constructor_params(cls: type, layer_base: type) -> list[dict[str, Any]]:
    """Collects every keyword ``cls(...)`` accepts, most-derived class first."""
    params: dict[str, dict[str, Any]] = {}
    blocked: set[str] = set()
    positional_taken = 0
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        signature = inspect.signature(init)
        named = [
            p
            for p in list(signature.parameters.values())[1:]  # drop self
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        blocked.update(p.name for p in named[:positional_taken] if p.kind is not p.KEYWORD_ONLY)
        for p in named:
            if p.name in params or p.name in blocked or p.kind is p.POSITIONAL_ONLY:
                continue
            required = p.default is p.empty
            if p.name in LEGACY_INPUT_PARAMS and not required:
                continue
            params[p.name] = {
                "name": p.name,
                "required": required,
                "default": None if required else _json_default(p.default),
                "kind": _param_kind(p.name),
            }
        var_kw = [p for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD]
        if klass is layer_base or not var_kw:
            break
        forwarded = _super_call(init, var_kw[0].name)
        if forwarded is None:
            break
        explicit, positional_taken = forwarded
        blocked.update(explicit)
    return list(params.values())


def _call_params(cls: type) -> list[str]:
    """Named parameters of ``cls.call`` after the first positional input."""
    parameters = list(inspect.signature(cls.call).parameters.values())
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    named = [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if parameters and parameters[0].kind is not parameters[0].VAR_POSITIONAL:
        named = named[1:]
    return named


def _public_layer_classes(layers_module: Any, layer_base: type) -> dict[type, list[str]]:
    """Maps each public layer class of ``keras.layers`` to its public names."""
    names_by_class: dict[type, list[str]] = {}
    for name in sorted(dir(layers_module)):
        if name.startswith("_"):
            continue
        obj = getattr(layers_module, name)
        if inspect.isclass(obj) and issubclass(obj, layer_base):
            names_by_class.setdefault(obj, []).append(name)
    return names_by_class


def _canonical(cls: type, names: list[str]) -> str:
    if cls.__name__ in names:
        return cls.__name__
    return min(names, key=lambda name: (len(name), name))


def _refusal(canonical: str, params: list[dict[str, Any]]) -> str | None:
    if canonical in REFUSED:
        return REFUSED[canonical]
    for param in params:
        if param["required"] and param["name"] in CALLABLE_PARAMS:
            return f"its constructor requires a Python callable ({param['name']!r})"
    return None


def collect() -> dict[str, Any]:
    """Introspects the installed Keras into the catalog's JSON data.

    Returns:
        The catalog as plain JSON data (dicts, lists, strings, numbers, None):
        ``keras_version``, ``layers`` (canonical name -> signature) and
        ``refused`` (every public name of a refused layer -> reason).
    """
    import keras

    layer_base = keras.layers.Layer
    layers: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for cls, names in _public_layer_classes(keras.layers, layer_base).items():
        canonical = _canonical(cls, names)
        params = _constructor_params(cls, layer_base)
        reason = _refusal(canonical, params)
        if reason is not None:
            refused.update(dict.fromkeys(names, reason))
            continue
        layers[canonical] = {
            "import_path": f"keras.layers.{canonical}",
            "aliases": sorted(name for name in names if name != canonical),
            "params": params,
            "call_params": _call_params(cls),
        }
    return {
        "format": FORMAT_VERSION,
        "keras_version": keras.__version__,
        "layers": dict(sorted(layers.items())),
        "refused": dict(sorted(refused.items())),
    }


def render(data: dict[str, Any]) -> str:
    """Serializes catalog data exactly as the shipped file is written."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=True, allow_nan=False) + "\n"


def main() -> int:
    data = collect()
    CATALOG_PATH.write_text(render(data), encoding="utf-8")
    print(
        f"wrote {CATALOG_PATH.relative_to(REPO_ROOT)}: {len(data['layers'])} layers, "
        f"{len(data['refused'])} refused names, Keras {data['keras_version']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The one reader of constructor signatures: Keras layers, our own layers, callbacks.

``tools/gen_layer_catalog.py`` runs it over ``keras.layers``, over the layers of
:mod:`keras_blueprints.layers` and over Keras' callbacks to write the shipped
JSON catalogs, and :func:`keras_blueprints.register_layer` runs it over a
user's layer class when it is registered (Keras is imported by then). This
module imports the standard library only: it receives the classes, it never
imports Keras itself.

How a constructor's accepted keywords are found: walk the class MRO's
``__init__`` methods. Each one contributes its named parameters. When it has
``**kwargs`` and forwards them to ``super().__init__``, the next base's named
parameters are accepted too, except those the subclass already passes to it
explicitly (by keyword or by position, as ``Conv2D`` passes ``rank=2`` to
``BaseConv``): passing them again would be a duplicate keyword. The walk stops
at the given base class (``keras.layers.Layer``), at an ``__init__`` without
``**kwargs``, or at one that does not forward them. An ``__init__`` whose
source cannot be read (a class defined in an interactive session) is taken to
forward ``**kwargs`` whole. Keywords that an ``__init__`` only pops out of
``**kwargs`` (deprecated aliases and ``get_config`` plumbing) are deliberately
not read.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
import textwrap
from typing import Any

__all__ = [
    "LEGACY_INPUT_PARAMS",
    "MAX_DOC_CHARS",
    "OBJECT_DEFAULT",
    "argument_docs",
    "call_params",
    "constructor_params",
    "docstring_args",
    "json_default",
    "summary_line",
]

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


def json_default(value: Any) -> Any:
    """Returns a parameter's default as JSON data.

    Args:
        value: The default, as the signature holds it.

    Returns:
        ``value`` as JSON data (tuples become lists), or :data:`OBJECT_DEFAULT`
        when it has no JSON form (an object, a callable, a NaN).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if type(value) is int else OBJECT_DEFAULT
    if isinstance(value, float):
        return value if type(value) is float and math.isfinite(value) else OBJECT_DEFAULT
    if isinstance(value, tuple | list):
        items = [json_default(item) for item in value]
        return OBJECT_DEFAULT if OBJECT_DEFAULT in items else items
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        items = {key: json_default(item) for key, item in value.items()}
        return OBJECT_DEFAULT if OBJECT_DEFAULT in items.values() else items
    return OBJECT_DEFAULT


def _param_kind(name: str) -> str:
    if name in LAYER_PARAMS:
        return "layer"
    if name in LAYER_LIST_PARAMS:
        return "layers"
    return "any"


def _is_super(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Name) and node.func.id == "super"


def _super_call(init: Any, kwargs_name: str) -> tuple[frozenset[str], int] | None:
    """Finds how an ``__init__`` forwards ``**kwargs`` to its base.

    Args:
        init: The ``__init__`` function.
        kwargs_name: The name of its ``**`` parameter.

    Returns:
        The keyword names it passes explicitly and the number of positional
        arguments it passes (both over every forwarding call); nothing of
        either when its source cannot be read; None when it never forwards
        ``**kwargs`` to an ``__init__``.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    except (OSError, TypeError, SyntaxError):
        return frozenset(), 0
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


def constructor_params(cls: type, base: type) -> list[dict[str, Any]]:
    """Reads every keyword ``cls(...)`` accepts, most-derived class first.

    Args:
        cls: The class (a layer or a callback).
        base: Where the walk up the MRO stops (``keras.layers.Layer``,
            ``keras.callbacks.Callback``); its own parameters are read.

    Returns:
        One dict per keyword, in signature order: ``name``, ``required``,
        ``default`` (JSON data, :data:`OBJECT_DEFAULT` when it has none, None
        when required) and ``kind`` (``"layer"``, ``"layers"`` for nested
        layers, else ``"any"``). Optional legacy input keywords
        (:data:`LEGACY_INPUT_PARAMS`) are left out.
    """
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
                "default": None if required else json_default(p.default),
                "kind": _param_kind(p.name),
            }
        var_kw = [p for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD]
        if klass is base or not var_kw:
            break
        forwarded = _super_call(init, var_kw[0].name)
        if forwarded is None:
            break
        explicit, positional_taken = forwarded
        blocked.update(explicit)
    return list(params.values())


def call_params(cls: type) -> list[str]:
    """Reads the named parameters of a layer's ``call`` after its first input.

    Args:
        cls: The layer class.

    Returns:
        Their names (``LSTM``: ``mask``, ``training``, ``initial_state``),
        ``*args`` and ``**kwargs`` left out.
    """
    parameters = list(inspect.signature(cls.call).parameters.values())
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    named = [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if parameters and parameters[0].kind is not parameters[0].VAR_POSITIONAL:
        named = named[1:]
    return named


MAX_DOC_CHARS = 400
"""Longest argument description kept (the first paragraph, cut at a sentence end)."""

_SECTION = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")
_ENTRY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\s*\([^)]*\))?:\s*(.*)$")


def _bounded(text: str, limit: int = MAX_DOC_CHARS) -> str:
    """Whitespace collapsed; cut at the last sentence end (or word) before ``limit``."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = cut.rfind(". ")
    if end >= limit // 3:
        return cut[: end + 1]
    return cut[: cut.rfind(" ")].rstrip(",;:") + "..."


def _args_section(doc: str) -> dict[str, str]:
    """The ``Args:`` entries of a Google-style docstring: name -> first paragraph."""
    out: dict[str, str] = {}
    lines = doc.splitlines()
    inside = False
    indent = None
    name = None
    paragraph: list[str] = []
    ended = False

    def flush() -> None:
        if name is not None and name not in out and paragraph:
            out[name] = _bounded(" ".join(paragraph))

    for line in lines:
        stripped = line.strip()
        if not inside:
            match = _SECTION.match(stripped)
            inside = bool(match) and match.group(1) in ("Args", "Arguments", "Parameters")
            continue
        if stripped and len(line) - len(line.lstrip()) == 0:
            break  # the next section (or text) at the docstring's own level
        if not stripped:
            ended = name is not None
            continue
        level = len(line) - len(line.lstrip())
        if indent is None:
            indent = level
        match = _ENTRY.match(stripped) if level == indent else None
        if match:
            flush()
            name, paragraph, ended = match.group(1), [match.group(2)], False
        elif level > indent and name is not None and not ended:
            paragraph.append(stripped)
        elif level < indent:
            break
    flush()
    return out


def docstring_args(obj: Any) -> dict[str, str]:
    """Reads the ``Args:`` section of a function's (or class's own) docstring.

    Args:
        obj: A function or class; an inherited docstring is not read.

    Returns:
        Argument name -> the first paragraph of its description (bounded as in
        :func:`argument_docs`); empty when there is no docstring or section.
    """
    doc = (
        getattr(obj, "__doc__", None) if not isinstance(obj, type) else obj.__dict__.get("__doc__")
    )
    return _args_section(inspect.cleandoc(doc)) if isinstance(doc, str) else {}


def argument_docs(cls: type, base: type) -> dict[str, str]:
    """Reads each constructor argument's description from the class docstrings.

    The ``Args:`` section of ``cls``'s docstring, then of each base class up to
    ``base`` (inherited keywords such as ``name`` and ``dtype``); the first
    description of a name wins.

    Args:
        cls: The class (a layer or a callback).
        base: Where the walk up the MRO stops; its own docstring is read.

    Returns:
        Argument name -> the first paragraph of its description, whitespace
        collapsed, at most :data:`MAX_DOC_CHARS` characters; sorted by name.
    """
    docs: dict[str, str] = {}
    for klass in cls.__mro__:
        doc = klass.__dict__.get("__doc__")
        if isinstance(doc, str):
            for key, text in _args_section(inspect.cleandoc(doc)).items():
                docs.setdefault(key, text)
        if klass is base:
            break
    return dict(sorted(docs.items()))


def summary_line(cls: type) -> str:
    """The first paragraph of a class's docstring, bounded, or ``""`` when it has none."""
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return ""
    first = inspect.cleandoc(doc).split("\n\n", 1)[0]
    return _bounded(first, 200)

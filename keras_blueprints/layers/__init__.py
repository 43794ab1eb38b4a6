"""Custom layers shipped with keras-blueprints (Keras 3 has no peephole LSTM, no VAE sampling...).

Each module here defines layer classes decorated with :func:`builtin_layer`
(``from keras_blueprints.layers import builtin_layer`` works without Keras).
Validation must know their arguments without importing TensorFlow, so the
modules are not imported for that: :func:`discover` reads each class's
``__init__`` and ``call`` signatures from the source with :mod:`ast`, and the
class itself is imported on first build. ``tests/test_custom_layers.py``
checks that what is read equals the imported class's real signature.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BASE_LAYER_PARAMS", "LayerSource", "builtin_layer", "discover"]

MARKER = "builtin_layer"
BASE_LAYER_PARAMS = ("name", "dtype", "trainable", "autocast", "activity_regularizer")
"""Keyword arguments every layer forwards to ``keras.layers.Layer`` through ``**kwargs``."""


def builtin_layer(cls: type) -> type:
    """Marks a class as a built-in custom layer and registers it as Keras-serializable.

    Args:
        cls: A ``keras.layers.Layer`` subclass defined in this package.

    Returns:
        The class.
    """
    import keras

    return keras.saving.register_keras_serializable(package="keras_blueprints")(cls)


@dataclass(frozen=True)
class LayerSource:
    """A built-in custom layer as read from its source.

    Attributes:
        name: The class name (its name in blueprints).
        module: The module defining it (``keras_blueprints.layers.peephole``).
        params: Constructor keywords: name -> (required, default as JSON data or "<object>").
        call_params: Keyword arguments of ``call`` besides the input.
    """

    name: str
    module: str
    params: tuple[tuple[str, bool, Any], ...]
    call_params: tuple[str, ...]


def _default(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except ValueError:
        return "<object>"


def _signature(func: ast.FunctionDef, skip: int) -> tuple[list[tuple[str, bool, Any]], bool]:
    args = func.args
    positional = [*args.posonlyargs, *args.args][skip:]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    out = [(a.arg, d is None, _default(d)) for a, d in zip(positional, defaults, strict=True)]
    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append((a.arg, d is None, _default(d)))
    return out, args.kwarg is not None


def _classes(path: Path, module: str) -> list[LayerSource]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        names = {
            d.id if isinstance(d, ast.Name) else getattr(d, "attr", "") for d in node.decorator_list
        }
        if MARKER not in names:
            continue
        methods = {f.name: f for f in node.body if isinstance(f, ast.FunctionDef)}
        params: list[tuple[str, bool, Any]] = []
        if "__init__" in methods:
            params, forwards = _signature(methods["__init__"], skip=1)
            if forwards:
                params += [
                    (p, False, None)
                    for p in BASE_LAYER_PARAMS
                    if p not in dict.fromkeys(n for n, *_ in params)
                ]
        call = methods.get("call")
        call_params = tuple(n for n, *_ in _signature(call, skip=2)[0]) if call else ()
        found.append(LayerSource(node.name, module, tuple(params), call_params))
    return found


@functools.cache
def discover() -> tuple[LayerSource, ...]:
    """Reads every built-in custom layer of this package from source, without importing it.

    Returns:
        The layers, in module and definition order.
    """
    here = Path(__file__).parent
    layers: list[LayerSource] = []
    for path in sorted(here.glob("*.py")):
        if not path.name.startswith("_"):
            layers.extend(_classes(path, f"{__name__}.{path.stem}"))
    return tuple(layers)

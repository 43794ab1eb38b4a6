"""The component registries: layers and blocks, and how components join them.

* ``LAYERS`` holds every Keras layer a blueprint may name (from the shipped
  signature catalog, so no TensorFlow import is needed to validate), their
  snake_case aliases, and custom layers registered with :func:`register_layer`.
* ``BLOCKS`` holds blocks written in Python with :func:`register_block`: plain
  functions from tensor(s) to tensor(s) that name every layer they create.
* Installed packages add components through the entry-point group
  ``keras_blueprints.plugins``; each entry point is loaded once, on first use.

Blocks declared in a blueprint's own ``blocks:`` section are not registered
here: they belong to that blueprint only.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import re
import sys
import typing
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from keras_blueprints._core.errors import did_you_mean
from keras_blueprints._core.registry import Registry
from keras_blueprints.catalog import (
    ParamInfo,
    builtin_layers,
    keras_layers,
    param_info,
    refused_layers,
)
from keras_blueprints.catalog.signatures import call_params, constructor_params
from keras_blueprints.loading.valuetypes import (
    Bound,
    ValueType,
    bound_of_annotation,
    choices_of_annotation,
    type_of_annotation,
)

__all__ = [
    "BLOCKS",
    "LAYERS",
    "MISSING",
    "BlockEntry",
    "BlockParam",
    "LayerEntry",
    "load_plugins",
    "register_block",
    "register_layer",
    "snake_case",
    "typed_params",
]

PLUGIN_GROUP = "keras_blueprints.plugins"


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


MISSING: Any = _Missing()
"""Marks a parameter without a default."""


def snake_case(name: str) -> str:
    """Converts a class name to snake_case: ``Conv2DTranspose`` -> ``conv2d_transpose``.

    Args:
        name: A CamelCase name.

    Returns:
        The snake_case form; ``1D``/``2D``/``3D`` stay attached (``max_pooling2d``).
    """
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    return re.sub(
        r"(\d)_d\b|(\d)_d_",
        lambda m: f"{m.group(1) or m.group(2)}d" + ("_" if m.group(2) else ""),
        s,
    )


# Short names people type, beyond the automatic snake_case of every class.
SHORT_ALIASES: dict[str, str] = {
    "batchnorm": "BatchNormalization",
    "bn": "BatchNormalization",
    "layernorm": "LayerNormalization",
    "groupnorm": "GroupNormalization",
    "concat": "Concatenate",
    "prelu": "PReLU",
    "leaky_relu": "LeakyReLU",
    "relu": "ReLU",
    "elu": "ELU",
    "mha": "MultiHeadAttention",
    "conv1d_transpose": "Conv1DTranspose",
    "conv2d_transpose": "Conv2DTranspose",
    "conv3d_transpose": "Conv3DTranspose",
    "separable_conv2d": "SeparableConv2D",
    "depthwise_conv2d": "DepthwiseConv2D",
    **{f"maxpool{d}d": f"MaxPooling{d}D" for d in (1, 2, 3)},
    **{f"avgpool{d}d": f"AveragePooling{d}D" for d in (1, 2, 3)},
    **{f"globalmaxpool{d}d": f"GlobalMaxPooling{d}D" for d in (1, 2, 3)},
    **{f"globalavgpool{d}d": f"GlobalAveragePooling{d}D" for d in (1, 2, 3)},
    **{f"upsampling{d}d": f"UpSampling{d}D" for d in (1, 2, 3)},
    **{f"zeropad{d}d": f"ZeroPadding{d}D" for d in (1, 2, 3)},
    **{f"crop{d}d": f"Cropping{d}D" for d in (1, 2, 3)},
}


@dataclass(frozen=True)
class LayerEntry:
    """A layer a blueprint may name.

    Attributes:
        name: Canonical name (the Keras class name for built-in layers).
        params: Accepted constructor keywords, by name.
        call_params: Keyword arguments its ``call`` accepts besides the input.
        target: The class, or its import path (``keras.layers.Conv2D``), imported on first build.
        builtin: True for Keras' own layers.
    """

    name: str
    params: Mapping[str, ParamInfo]
    call_params: tuple[str, ...]
    target: type | str
    builtin: bool = True

    @property
    def required(self) -> tuple[str, ...]:
        """Constructor arguments without a default."""
        return tuple(p.name for p in self.params.values() if p.required)

    def nested(self, arg: str) -> str | None:
        """Returns ``"layer"`` or ``"layers"`` when ``arg`` takes nested layer specs."""
        info = self.params.get(arg)
        return info.kind if info is not None and info.kind in ("layer", "layers") else None

    def resolve(self) -> type:
        """Returns the layer class, importing Keras if needed."""
        if isinstance(self.target, str):
            module, _, attr = self.target.rpartition(".")
            return getattr(importlib.import_module(module), attr)
        return self.target


@dataclass(frozen=True)
class BlockParam:
    """A typed parameter of a block.

    Attributes:
        name: Parameter name.
        type: Accepted value type.
        default: Default value, or ``MISSING`` when required.
        choices: Allowed values, when restricted.
        doc: One line of documentation.
        bound: The range of a number (``PositiveInt``, ``Rate``...), or None.
    """

    name: str
    type: ValueType = field(default_factory=ValueType)
    default: Any = MISSING
    choices: tuple[Any, ...] = ()
    doc: str = ""
    bound: Bound | None = None

    @property
    def required(self) -> bool:
        """True when the parameter has no default."""
        return self.default is MISSING

    @property
    def range_words(self) -> str | None:
        """The bound in words (``a positive integer or null``), or None when unbounded."""
        if self.bound is None:
            return None
        return self.bound.words + (" or null" if "null" in self.type.names else "")


@dataclass(frozen=True)
class BlockEntry:
    """A block written in Python: ``fn(inputs, *, name, **params) -> tensor(s)``.

    Attributes:
        name: The name blueprints use.
        fn: The function.
        params: Its typed parameters (keyword-only arguments besides ``name``).
        many_inputs: True when the function takes a list of tensors.
        doc: First line of the function's docstring.
    """

    name: str
    fn: Callable[..., Any]
    params: Mapping[str, BlockParam] = field(default_factory=dict)
    many_inputs: bool = False
    doc: str = ""


def _populate_layers(registry: Registry[LayerEntry]) -> None:
    for name, sig in keras_layers().items():
        entry = LayerEntry(
            name=name,
            params={p.name: p for p in sig.params},
            call_params=tuple(sig.call_params),
            target=sig.import_path,
        )
        aliases = [a for a in sig.aliases if a != name]
        snake = snake_case(name)
        aliases += [snake] if snake != name else []
        aliases += [a for a, target in SHORT_ALIASES.items() if target == name]
        registry.register(name, entry, aliases=list(dict.fromkeys(aliases)))
    _register_builtin_custom_layers(registry)
    load_plugins()


def _register_builtin_custom_layers(registry: Registry[LayerEntry]) -> None:
    """Registers keras_blueprints.layers' classes from their shipped catalog (no Keras import)."""
    for name, sig in builtin_layers().items():
        params = {p.name: p for p in sig.params}
        entry = LayerEntry(name, params, sig.call_params, sig.import_path, False)
        snake = snake_case(name)
        registry.register(name, entry, aliases=[snake] if snake != name else [])


LAYERS: Registry[LayerEntry] = Registry(
    "layer",
    "Custom layers are registered from Python with @keras_blueprints.register_layer"
    " (a module of yours: blueprint --import MODULE) or by a plugin package (entry points"
    " 'keras_blueprints.plugins').",
    populate=_populate_layers,
)

BLOCKS: Registry[BlockEntry] = Registry(
    "block",
    "Declare the block under 'blocks:' in the blueprint, or register one from Python"
    " with @keras_blueprints.register_block (a module of yours: blueprint --import MODULE).",
    populate=lambda _: _populate_blocks(),
)


def _populate_blocks() -> None:
    from keras_blueprints.blocks import load_builtin_blocks

    load_builtin_blocks()
    load_plugins()


_plugins_loaded = False


def load_plugins() -> list[str]:
    """Loads every installed plugin (entry-point group ``keras_blueprints.plugins``) once.

    A plugin's entry point names a module (importing it registers components
    through the decorators) or a callable taking no arguments. A plugin that
    fails to load is skipped with a warning naming it.

    Returns:
        The names of the plugins loaded by this call.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return []
    _plugins_loaded = True
    from importlib.metadata import entry_points

    loaded = []
    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            obj = ep.load()
            if callable(obj) and not inspect.ismodule(obj):
                obj()
        except Exception as exc:  # a broken plugin must not break every blueprint
            warnings.warn(
                f"keras-blueprints plugin '{ep.name}' ({ep.value}) failed to load: "
                f"{type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        loaded.append(ep.name)
    return loaded


def _layer_params(cls: type, layer_base: type) -> tuple[dict[str, ParamInfo], tuple[str, ...]]:
    """Reads a custom layer's signature with the catalog's reader (Keras is imported by now)."""
    params = {p["name"]: param_info(p) for p in constructor_params(cls, layer_base)}
    return params, tuple(call_params(cls))


def register_layer(
    cls: type | None = None, *, name: str | None = None, aliases: tuple[str, ...] = ()
) -> Any:
    """Registers a custom Keras layer class so blueprints can name it.

    The class is also registered as Keras-serializable (package
    ``keras_blueprints``) unless it already is, so models using it round-trip
    through ``.keras`` files.

    Example::

        @keras_blueprints.register_layer
        class Scale(keras.layers.Layer):
            def __init__(self, factor=2.0, **kwargs): ...

    Args:
        cls: The layer class (when used as ``@register_layer`` without arguments).
        name: Name in blueprints (default: the class name).
        aliases: Other names.

    Returns:
        The class, unchanged.

    Raises:
        DuplicateNameError: The name is taken.
        TypeError: ``cls`` is not a Keras layer class.
    """

    def decorate(klass: type) -> type:
        keras = sys.modules.get("keras")
        if keras is None or not (isinstance(klass, type) and issubclass(klass, keras.layers.Layer)):
            raise TypeError(f"register_layer expects a keras.layers.Layer subclass, got {klass!r}")
        params, call_params = _layer_params(klass, keras.layers.Layer)
        layer_name = name or klass.__name__
        entry = LayerEntry(layer_name, params, call_params, klass, builtin=False)
        LAYERS.register(layer_name, entry, aliases=aliases)
        saving = keras.saving
        if saving.get_registered_object(f"keras_blueprints>{klass.__name__}") is None and (
            saving.get_registered_name(klass) == klass.__name__
        ):
            saving.register_keras_serializable(package="keras_blueprints")(klass)
        return klass

    return decorate(cls) if cls is not None else decorate


def register_block(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Registers a Python block: a function from tensor(s) to tensor(s).

    The function's first parameter receives the input tensor (or a list of
    tensors when annotated as a list); ``name`` (keyword) is the block
    instance's name, to be used as the prefix of every layer it creates;
    the other keyword-only parameters are the block's typed parameters, read
    from their annotations and defaults. Annotations may bound a number
    (``filters: PositiveInt``, ``dropout: Rate``, from
    ``keras_blueprints.loading.valuetypes``) or list its choices
    (``typing.Literal``): the loader refuses a value outside them at its YAML
    location, and the JSON Schema shows them.

    Example::

        @keras_blueprints.register_block
        def conv_bn_relu(x, *, name: str, filters: int, kernel_size: int = 3):
            x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_conv")(x)
            x = layers.BatchNormalization(name=f"{name}_bn")(x)
            return layers.ReLU(name=f"{name}_relu")(x)

    Args:
        fn: The block function (when used without arguments).
        name: Name in blueprints (default: the function's name).

    Returns:
        The function; when it bounds a parameter or lists its choices, a
        wrapper (``functools.wraps``) that also checks them on direct calls
        from Python, raising for instance
        ``ValueError("Expected a positive integer for 'filters'. Received: filters=0")``.

    Raises:
        DuplicateNameError: The name is taken by a block or a layer.
        TypeError: The function's signature does not follow the convention.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        block_name = name or func.__name__
        if block_name in LAYERS:
            from keras_blueprints._core.registry import DuplicateNameError

            raise DuplicateNameError(
                f"block name '{block_name}' is already the name of a layer; choose another."
            )
        entry = block_entry(func, block_name)
        checked = _checking_signature(func, entry.params)
        BLOCKS.register(block_name, dataclasses.replace(entry, fn=checked))
        return checked

    return decorate(fn) if fn is not None else decorate


def block_entry(func: Callable[..., Any], block_name: str) -> BlockEntry:
    """Builds the registry entry of a Python block from its signature.

    Args:
        func: The block function.
        block_name: Its name in blueprints.

    Returns:
        The entry.

    Raises:
        TypeError: The signature does not follow the block convention.
    """
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if not params or params[0].kind not in (
        params[0].POSITIONAL_ONLY,
        params[0].POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(f"block '{block_name}': the first parameter must take the input tensor(s)")
    if "name" not in sig.parameters:
        raise TypeError(f"block '{block_name}': needs a keyword parameter 'name'")
    block_params = typed_params(func, skip=(params[0].name, "name"))
    hints = _hints(func)
    first = hints.get(params[0].name)
    many = "list" in type_of_annotation(first).names if first is not None else False
    doc = (inspect.getdoc(func) or "").strip().splitlines()
    return BlockEntry(block_name, func, block_params, many, doc[0] if doc else "")


def _checking_signature(
    func: Callable[..., Any], params: Mapping[str, BlockParam]
) -> Callable[..., Any]:
    """Wraps ``func`` to check its bounded and restricted parameters, or returns it as is.

    Blueprints are checked at load time already; this keeps the same checks for
    a block called directly from Python, without repeating them in its body.
    """
    checked_params = {n: p for n, p in params.items() if p.bound is not None or p.choices}
    if not checked_params:
        return func

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        for key, value in kwargs.items():
            param = checked_params.get(key)
            problem = _problem(param, value) if param is not None else None
            if problem:
                raise ValueError(problem)
        return func(*args, **kwargs)

    return checked


def _problem(param: BlockParam, value: Any) -> str | None:
    """The Keras-style message for a value outside a parameter's choices or range."""
    key = param.name
    if param.choices and not any(value == c and type(value) is type(c) for c in param.choices):
        shown = ", ".join(str(c) for c in param.choices if c is not None)
        optional = " or null" if None in param.choices else ""
        hint = did_you_mean(str(value), map(str, param.choices)) if isinstance(value, str) else ""
        return f"Expected '{key}' to be one of: {shown}{optional}. Received: {key}={value!r}" + (
            f". {hint}" if hint else ""
        )
    bound = param.bound
    if bound is not None and not (param.type.accepts(value) and bound.accepts(value)):
        return f"Expected {param.range_words} for '{key}'. Received: {key}={value!r}"
    return None


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable string annotations: fall back to 'any'
        return {}


def typed_params(func: Callable[..., Any], skip: tuple[str, ...] = ()) -> dict[str, BlockParam]:
    """Reads a function's parameters as typed :class:`BlockParam` (types, choices, defaults).

    Used for every component configured from YAML by keyword: blocks, data
    sources, callbacks. ``typing.Literal`` annotations become choices, and the
    :class:`~keras_blueprints.loading.valuetypes.Bound` of an ``Annotated`` one
    (``PositiveInt``, ``Rate``) the parameter's range.

    Args:
        func: The function.
        skip: Parameter names that are not configurable (the input, ``name``, a context).

    Returns:
        The parameters in signature order, ``*args``/``**kwargs`` excluded.
    """
    hints = _hints(func)
    out = {}
    for p in inspect.signature(func).parameters.values():
        if p.name in skip or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        hint = hints.get(p.name)
        kind = type_of_annotation(hint) if hint is not None else ValueType()
        choices = choices_of_annotation(hint) if hint is not None else ()
        bound = bound_of_annotation(hint) if hint is not None else None
        default = MISSING if p.default is p.empty else p.default
        out[p.name] = BlockParam(p.name, kind, default, tuple(choices), bound=bound)
    return out


def refused_layer_reason(name: str) -> str | None:
    """Returns why a layer name is refused in blueprints (``Lambda``...), or None."""
    refused = refused_layers()
    if name in refused:
        return refused[name]
    lowered = {k.lower(): v for k, v in refused.items()}
    return lowered.get(name.lower())

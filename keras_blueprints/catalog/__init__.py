"""Constructor signatures of the Keras layers a blueprint may name.

The signatures come from ``keras_layers.json``, generated from the installed
Keras by ``tools/gen_layer_catalog.py``, so that layer arguments are checked at
load time without importing Keras or TensorFlow (``blueprint validate
--no-build``). This module imports the standard library only; keep it that way.

Example::

    conv = keras_layers()["Conv2D"]
    conv.required          # ('filters', 'kernel_size')
    conv.param("strides")  # ParamInfo(name='strides', required=False, default=(1, 1), kind='any')
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = [
    "OBJECT_DEFAULT",
    "LayerSignature",
    "ParamInfo",
    "find_layer",
    "keras_layers",
    "keras_version",
    "refused_layers",
]

CATALOG_FILE = "keras_layers.json"
FORMAT_VERSION = 1

# The default recorded for a parameter whose Keras default is not JSON data
# (an object or a callable).
OBJECT_DEFAULT = "<object>"


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One keyword argument a layer's constructor accepts.

    Attributes:
        name: The keyword.
        required: Whether the constructor fails without it.
        default: The default as JSON data with lists turned into tuples;
            :data:`OBJECT_DEFAULT` when Keras' default is not JSON data; None
            for a required parameter.
        kind: ``"any"`` normally, ``"layer"`` when it takes one nested layer
            (``Bidirectional.layer``, ``RNN.cell``), ``"layers"`` when it takes
            a list of layers (``StackedRNNCells.cells``).
    """

    name: str
    required: bool
    default: object
    kind: str


@dataclass(frozen=True, slots=True)
class LayerSignature:
    """The constructor and call signature of one Keras layer class.

    Attributes:
        name: The canonical Keras class name, e.g. ``"Conv2D"``.
        import_path: Its public path, e.g. ``"keras.layers.Conv2D"``.
        params: Every keyword the constructor accepts, own parameters first,
            then those inherited through ``**kwargs`` (``name``, ``dtype``,
            ``trainable``, ...). Legacy input keywords (``input_shape``,
            ``batch_size``, ``weights``, ...) are left out: blueprints declare
            inputs separately.
        call_params: The named parameters of ``call()`` after its first input
            (``LSTM``: ``initial_state``, ``mask``, ``training``).
        aliases: Other ``keras.layers`` names of the same class
            (``Convolution2D`` for ``Conv2D``).
    """

    name: str
    import_path: str
    params: tuple[ParamInfo, ...]
    call_params: tuple[str, ...]
    aliases: tuple[str, ...]

    def param(self, name: str) -> ParamInfo | None:
        """Returns the parameter called ``name``, or None if there is none.

        Args:
            name: A keyword argument name.

        Returns:
            Its :class:`ParamInfo`, or None when the constructor does not accept it.
        """
        for param in self.params:
            if param.name == name:
                return param
        return None

    @property
    def param_names(self) -> tuple[str, ...]:
        """Every accepted keyword, in signature order."""
        return tuple(param.name for param in self.params)

    @property
    def required(self) -> tuple[str, ...]:
        """The keywords the constructor cannot do without, in signature order."""
        return tuple(param.name for param in self.params if param.required)


def _freeze(value: Any) -> Any:
    """Makes a JSON default immutable: lists become tuples, dicts read-only."""
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    if isinstance(value, dict):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    return value


@functools.cache
def _catalog() -> dict[str, Any]:
    """Reads and parses the shipped catalog once."""
    text = resources.files(__name__).joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    if data.get("format") != FORMAT_VERSION:
        raise RuntimeError(
            f"{CATALOG_FILE} has format {data.get('format')!r}; this keras-blueprints "
            f"reads format {FORMAT_VERSION}. Regenerate it with "
            "`python tools/gen_layer_catalog.py`."
        )
    return data


def _signature(name: str, entry: Mapping[str, Any]) -> LayerSignature:
    return LayerSignature(
        name=name,
        import_path=entry["import_path"],
        params=tuple(
            ParamInfo(
                name=param["name"],
                required=param["required"],
                default=_freeze(param["default"]),
                kind=param["kind"],
            )
            for param in entry["params"]
        ),
        call_params=tuple(entry["call_params"]),
        aliases=tuple(entry["aliases"]),
    )


@functools.cache
def keras_layers() -> Mapping[str, LayerSignature]:
    """Returns the signatures of the layers a blueprint may use.

    Returns:
        A read-only mapping from canonical class name (``"Conv2D"``, not the
        alias ``"Convolution2D"``) to its :class:`LayerSignature`, sorted by name.
        Refused layers (see :func:`refused_layers`) are not in it.
    """
    return MappingProxyType(
        {name: _signature(name, entry) for name, entry in _catalog()["layers"].items()}
    )


@functools.cache
def _by_any_name() -> Mapping[str, LayerSignature]:
    table: dict[str, LayerSignature] = {}
    for signature in keras_layers().values():
        table[signature.name] = signature
        table.update(dict.fromkeys(signature.aliases, signature))
    return MappingProxyType(table)


def find_layer(name: str) -> LayerSignature | None:
    """Looks a layer up by its canonical name or any alias.

    Args:
        name: A ``keras.layers`` name, e.g. ``"Conv2D"`` or ``"Convolution2D"``.

    Returns:
        Its signature, or None when it is unknown or refused.
    """
    return _by_any_name().get(name)


def keras_version() -> str:
    """Returns the Keras version the catalog was generated from, e.g. ``"3.15.1"``."""
    return _catalog()["keras_version"]


@functools.cache
def refused_layers() -> Mapping[str, str]:
    """Returns the ``keras.layers`` names a blueprint may not use.

    Returns:
        A read-only mapping from every public name of a refused layer
        (``"Lambda"``, ``"InputLayer"``, ...) to the reason it is refused.
    """
    return MappingProxyType(dict(_catalog()["refused"]))

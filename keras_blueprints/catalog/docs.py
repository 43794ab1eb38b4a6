"""The documentation of the catalogued layers, read only by the editor schema.

``tools/gen_layer_catalog.py`` writes ``layer_docs.json`` from the docstrings of
Keras' layers and of :mod:`keras_blueprints.layers`: each layer's summary line
and the first paragraph of each argument's description. It is kept apart from
the signature catalogs so that loading a blueprint never reads it
(:mod:`keras_blueprints.views.jsonschema` does, and future editor tools may).
This module imports the standard library only.

Example::

    layer_doc("Dense").args["units"]  # 'Positive integer, dimensionality of the output space.'
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from keras_blueprints.catalog import _read

__all__ = ["DOCS_FILE", "LayerDoc", "layer_doc"]

DOCS_FILE = "layer_docs.json"


@dataclass(frozen=True, slots=True)
class LayerDoc:
    """What a layer's docstrings say.

    Attributes:
        summary: The first paragraph of the class docstring (``""`` when none).
        args: Argument name -> the first paragraph of its description.
    """

    summary: str
    args: Mapping[str, str]


@functools.cache
def _docs() -> Mapping[str, LayerDoc]:
    data = _read(DOCS_FILE)
    table: dict[str, LayerDoc] = {}
    for section in ("builtin_layers", "keras_layers"):  # Keras' wins a shared name
        for name, entry in data[section].items():
            table[name] = LayerDoc(entry["summary"], MappingProxyType(dict(entry["args"])))
    return MappingProxyType(table)


def layer_doc(name: str) -> LayerDoc | None:
    """The documentation of a catalogued layer, by its canonical class name.

    Args:
        name: ``"Conv2D"``, or one of our layers' names (``"PeepholeLSTMCell"``).

    Returns:
        Its :class:`LayerDoc`, or None for a layer the catalog does not hold
        (a user's registered layer).
    """
    return _docs().get(name)

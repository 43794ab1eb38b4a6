"""Custom layers shipped with keras-blueprints (Keras 3 has no peephole LSTM, no VAE sampling...).

Each module here defines layer classes decorated with :func:`builtin_layer`
(``from keras_blueprints.layers import builtin_layer`` works without Keras).
Validation must know their arguments without importing TensorFlow, so their
signatures are read by the same reader as Keras' own layers
(:mod:`keras_blueprints.catalog.signatures`) into the shipped
``catalog/builtin_layers.json`` by ``tools/gen_layer_catalog.py``
(:func:`keras_blueprints.catalog.builtin_layers` reads it); a class itself is
imported on first build. ``tests/test_custom_layers.py`` fails when the shipped
file no longer matches the classes.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["builtin_layer", "builtin_layer_classes"]

_BUILTIN: set[type] = set()


def builtin_layer(cls: type) -> type:
    """Marks a class as a built-in custom layer and registers it as Keras-serializable.

    Args:
        cls: A ``keras.layers.Layer`` subclass defined in this package.

    Returns:
        The class.
    """
    import keras

    _BUILTIN.add(cls)
    return keras.saving.register_keras_serializable(package="keras_blueprints")(cls)


def builtin_layer_classes() -> list[type]:
    """Imports every module of this package (and so Keras) and returns its built-in layers.

    Returns:
        The classes decorated with :func:`builtin_layer`, in module and definition order.
    """
    classes: list[type] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        classes += [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type) and obj in _BUILTIN and obj.__module__ == module.__name__
        ]
    return classes

"""The block families shipped with keras-blueprints, one module per family.

Each module registers its blocks with :func:`keras_blueprints.register_block`.
Blocks are plain functions from tensor(s) to tensor(s) that name every layer
they create from the instance name (``f"{name}_1_conv"``), as
``keras.applications`` does, so that weights load by name.

Rule for every module here: import nothing heavy at module level. Keras is
imported inside the block functions (``from keras import layers``), because
registering the blocks happens during validation, which must not import
TensorFlow. ``tests/test_blocks_import.py`` keeps it so.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["load_builtin_blocks"]

_loaded = False


def load_builtin_blocks() -> None:
    """Imports every block module of this package once (each registers its blocks)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")

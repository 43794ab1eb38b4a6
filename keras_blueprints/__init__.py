"""keras-blueprints: declarative neural-network architectures for Keras 3.

Describe a network in a YAML blueprint; :func:`load` validates it (without
importing TensorFlow) into a typed, frozen :class:`Blueprint`, and
:func:`build` turns it into a real ``keras.Model``::

    import keras_blueprints as kb

    model = kb.build("zoo:lenet5", overrides=["params.classes=10"])
"""

from __future__ import annotations

from . import zoo
from .api import build, build_models, load
from .components import register_block, register_layer
from .errors import BlueprintError, BlueprintErrors, Location
from .limits import Limits
from .registry import DuplicateNameError
from .schema import Blueprint

__all__ = [
    "Blueprint",
    "BlueprintError",
    "BlueprintErrors",
    "DuplicateNameError",
    "Limits",
    "Location",
    "__version__",
    "build",
    "build_models",
    "load",
    "register_block",
    "register_layer",
    "zoo",
]

__version__ = "0.1.0"

"""keras-blueprints: declarative neural-network architectures for Keras 3.

Describe a network in a YAML blueprint; :func:`load` validates it (without
importing TensorFlow) into a typed, frozen :class:`Blueprint`, and
:func:`build` turns it into a real ``keras.Model``::

    import keras_blueprints as kb

    model = kb.build("zoo:lenet5", overrides=["params.classes=10"])
"""

from __future__ import annotations

from keras_blueprints._core.errors import (
    BlueprintError,
    BlueprintErrors,
    BlueprintWarning,
    KerasBlueprintsError,
    Location,
    RunError,
    SearchError,
    TrialError,
    UsageError,
)
from keras_blueprints._core.limits import Limits
from keras_blueprints._core.registry import DuplicateNameError
from keras_blueprints.api import build, build_models, load
from keras_blueprints.catalog.components import register_block, register_layer
from keras_blueprints.loading import zoo
from keras_blueprints.resolve.schema import Blueprint

__all__ = [
    "Blueprint",
    "BlueprintError",
    "BlueprintErrors",
    "BlueprintWarning",
    "DuplicateNameError",
    "KerasBlueprintsError",
    "Limits",
    "Location",
    "RunError",
    "SearchError",
    "TrialError",
    "UsageError",
    "__version__",
    "build",
    "build_models",
    "load",
    "register_block",
    "register_layer",
    "zoo",
]

__version__ = "0.1.0"

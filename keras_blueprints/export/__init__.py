"""Exporting trained models for serving: SavedModel (verified), .keras, TFLite.

:func:`export_model` writes a verified export (``blueprint export``);
:class:`SavedModelRunner` serves a batch from a SavedModel without the
blueprint (``blueprint predict SAVED_MODEL``). TensorFlow is imported inside
the functions, so importing this package stays light.
"""

from __future__ import annotations

from keras_blueprints.export.core import (
    DEFAULT_TOLERANCE,
    EXPORT_FILE,
    FORMATS,
    ExportResult,
    export_model,
)
from keras_blueprints.export.serving import (
    DEFAULT_SIGNATURE,
    SavedModelRunner,
    is_saved_model,
    load_saved_model,
)

__all__ = [
    "DEFAULT_SIGNATURE",
    "DEFAULT_TOLERANCE",
    "EXPORT_FILE",
    "FORMATS",
    "ExportResult",
    "SavedModelRunner",
    "export_model",
    "is_saved_model",
    "load_saved_model",
]

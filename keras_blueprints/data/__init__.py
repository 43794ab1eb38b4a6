"""Data for ``blueprint train``: registered sources and the ``tf.data`` pipeline.

The pipeline module imports TensorFlow inside its functions only, so importing
this package stays light (sources are registered during validation).
"""

from __future__ import annotations

from keras_blueprints.data.examples import Examples
from keras_blueprints.data.pipeline import Datasets, check_examples, load_examples, make_datasets
from keras_blueprints.data.registry import SOURCES, SourceContext, register_source

__all__ = [
    "SOURCES",
    "Datasets",
    "Examples",
    "SourceContext",
    "check_examples",
    "load_examples",
    "make_datasets",
    "register_source",
]

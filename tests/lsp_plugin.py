"""A user's one-off layer, given to ``blueprint lsp`` with ``--import`` in tests/test_lsp.py."""

from __future__ import annotations

import keras

import keras_blueprints as kb


@kb.register_layer
class Doubler(keras.layers.Layer):
    """Doubles its input."""

    def call(self, x):
        return x * 2

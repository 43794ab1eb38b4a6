"""The restricted Boltzmann machine (Smolensky 1986; Hinton 2002): two layers, undirected weights.

An RBM has a layer of visible units ``v`` (the data) and a layer of hidden
units ``h``, every visible unit joined to every hidden one by a symmetric
weight ``W_ij`` and no unit joined to another of its own layer (the
*restriction*). It gives each joint state an energy::

    E(v, h) = - v . b_v - h . b_h - v W h

and the probability ``p(v, h) ~ exp(-E(v, h))``. Because no two hidden units
are connected, they are independent given the visible ones, and the other way
round; with binary units each is on with a logistic probability::

    p(h_j = 1 | v) = sigmoid(b_h_j + sum_i v_i W_ij)       (up: what this layer's call gives)
    p(v_i = 1 | h) = sigmoid(b_v_i + sum_j W_ij h_j)       (down: ``visible_probabilities``)

The up pass is a Dense layer with a sigmoid, so a trained RBM is a feature
detector a network can use as it is; the down pass, with the same weights
transposed, reconstructs the data. Training (contrastive divergence, the rule
``cd``: :mod:`keras_blueprints.training.rules.cd`) needs both passes; a stack of
RBMs, each trained on the hidden probabilities of the one below, is a deep
belief network (Hinton, Osindero and Teh 2006).
"""

from __future__ import annotations

import keras
from keras import initializers, ops

from keras_blueprints.layers import builtin_layer

__all__ = ["RBM"]


@builtin_layer
class RBM(keras.layers.Layer):
    """A restricted Boltzmann machine of binary units; its call gives ``p(h = 1 | v)``.

    Weights: ``kernel`` ``W`` (visible x hidden), ``hidden_bias`` ``b_h`` and
    ``visible_bias`` ``b_v``: ``visible * units + units + visible`` parameters,
    plus one counter, ``epochs_trained`` (the epochs of CD it has had).
    ``visible_bias`` is used only by the down pass (reconstruction); Keras'
    ``fit`` does not train the layer's weights (``trainable`` is False by
    default: the rule ``cd`` trains them).

    Args:
        units: Positive integer, the number of hidden units.
        kernel_initializer: Initializer of ``W``; None: small random weights, as Hinton's
            guide advises, a normal of standard deviation 0.01.
        trainable: Whether backpropagation may change the weights too.
        **kwargs: Standard layer arguments (``name``...).
    """

    EXAMPLE_ARGS = {"units": 4}

    def __init__(
        self,
        units: int,
        kernel_initializer: str | dict | None = None,
        trainable: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(trainable=trainable, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"Expected a positive integer for 'units'. Received: units={units!r}")
        self.units = units
        self.kernel_initializer = kernel_initializer

    def _initializer(self):
        if self.kernel_initializer is None:
            return initializers.RandomNormal(stddev=0.01, seed=None)
        return initializers.get(self.kernel_initializer)

    def build(self, input_shape) -> None:
        """Creates ``W``, ``b_h`` and ``b_v`` for inputs of ``input_shape``."""
        visible = int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(visible, self.units), initializer=self._initializer(), name="kernel"
        )
        self.hidden_bias = self.add_weight(
            shape=(self.units,), initializer="zeros", name="hidden_bias"
        )
        self.visible_bias = self.add_weight(
            shape=(visible,), initializer="zeros", name="visible_bias"
        )
        # How many epochs of contrastive divergence the layer has had: the rule ``cd``
        # trains a stack greedily from it, and a resumed run restores it with the weights.
        self.epochs_trained = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="epochs_trained"
        )

    def call(self, inputs):
        """``p(h = 1 | v) = sigmoid(v W + b_h)``."""
        return ops.sigmoid(ops.matmul(inputs, self.kernel) + self.hidden_bias)

    def visible_probabilities(self, hidden):
        """The down pass: ``p(v = 1 | h) = sigmoid(h W^T + b_v)``."""
        return ops.sigmoid(ops.matmul(hidden, ops.transpose(self.kernel)) + self.visible_bias)

    def compute_output_shape(self, input_shape):
        """The input's shape with the last axis replaced by ``units``."""
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        """The layer's arguments, for ``from_config``."""
        config = super().get_config()
        config.update(units=self.units, kernel_initializer=self.kernel_initializer)
        return config

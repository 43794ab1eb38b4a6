"""Deeper computation inside a step: a recurrent cell whose transition is an MLP.

A plain recurrent cell goes from ``h_{t-1}`` to ``h_t`` through one layer,
``h_t = tanh(W x_t + U h_{t-1} + b)``: however many steps the network reads,
each step is a shallow function. One of the deep-RNN variants of the course
notes (after Pascanu et al. 2014, "How to construct deep recurrent neural
networks", and Goodfellow et al. 10.5) makes the transition itself deep::

    z_1 = tanh(W x_t + U h_{t-1} + b_1)
    z_k = tanh(V_k z_{k-1} + b_k)          k = 2 .. depth
    h_t = z_depth

so that each step can compute a richer function of the past and the present.
The price the notes point out: the path from one step to the next is now
``depth`` layers long, and a dependency ``n`` steps back crosses ``n * depth``
of them, which makes long-range learning harder; skip connections (for example
the leaky units and skips of ``zoo:rnn_time_scales``) shorten it again.

Use it in a blueprint inside an ``RNN`` layer::

    - RNN: {cell: {DeepTransitionCell: {units: 32, depth: 2}}, return_sequences: true}
"""

from __future__ import annotations

import keras
from keras import activations, initializers, ops

from keras_blueprints.layers import builtin_layer

__all__ = ["DeepTransitionCell"]


@builtin_layer
class DeepTransitionCell(keras.layers.Layer):
    """A recurrent cell whose step ``h_{t-1} -> h_t`` passes through ``depth`` layers.

    The first layer reads the input and the previous state,
    ``tanh(W x_t + U h_{t-1} + b_1)``; each further layer is
    ``tanh(V_k z + b_k)`` of size ``units``; the last one's output is the new
    state and the output. ``depth = 1`` is a ``SimpleRNNCell``.

    Parameters: ``units * (input_dim + units + 1) + (depth - 1) * units * (units + 1)``.

    Args:
        units: Positive integer, the size of the state, the output and every layer.
        depth: Positive integer, the number of layers in one transition.
        activation: The activation of every layer of the transition (``tanh``).
        kernel_initializer: Initializer of the input weights ``W`` and of each ``V_k``.
        recurrent_initializer: Initializer of the recurrent weights ``U``.
        bias_initializer: Initializer of the biases.
        **kwargs: Base layer arguments (``name``, ``dtype``...).

    Example::

        - name: deep_step
          RNN: {cell: {DeepTransitionCell: {units: 32, depth: 3}}}
    """

    EXAMPLE_ARGS = {"units": 4, "depth": 2}

    def __init__(
        self,
        units,
        depth=2,
        activation="tanh",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for key, value in (("units", units), ("depth", depth)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"Expected a positive integer for '{key}'. Received: {key}={value!r}"
                )
        self.units = units
        self.depth = depth
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        """Creates ``W``, ``U``, the first bias, and each further layer's ``V_k`` and ``b_k``."""
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), name="kernel", initializer=self.kernel_initializer
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
        )
        self.bias = self.add_weight(
            shape=(self.units,), name="bias", initializer=self.bias_initializer
        )
        self.transition = [
            (
                self.add_weight(
                    shape=(self.units, self.units),
                    name=f"transition_kernel_{k}",
                    initializer=self.kernel_initializer,
                ),
                self.add_weight(
                    shape=(self.units,),
                    name=f"transition_bias_{k}",
                    initializer=self.bias_initializer,
                ),
            )
            for k in range(2, self.depth + 1)
        ]

    def call(self, inputs, states, training=False):
        """One step: ``(x_t, [h_{t-1}])`` -> ``(h_t, [h_t])``."""
        h_prev = states[0] if isinstance(states, list | tuple) else states
        z = self.activation(
            ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias
        )
        for kernel, bias in self.transition:
            z = self.activation(ops.matmul(z, kernel) + bias)
        return z, [z]

    def get_config(self):
        """The constructor's arguments."""
        return {
            **super().get_config(),
            "units": self.units,
            "depth": self.depth,
            "activation": activations.serialize(self.activation),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }

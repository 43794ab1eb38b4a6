"""Leaky units: a recurrent cell that works at a slower time scale (Goodfellow et al., 10.9.2).

A plain recurrent unit rewrites its state at every step,
``h_t = tanh(W x_t + U h_{t-1} + b)``: what it saw ``k`` steps ago reaches
the present through ``k`` multiplications by ``U`` and ``k`` squashing
derivatives, and unless ``U``'s eigenvalues sit at one it fades (or blows up)
exponentially. The gradient of a long-range dependency fades the same way, so
a plain RNN barely learns dependencies 10 or 20 steps long.

A *leaky unit* keeps a linear self-connection with a weight near one, a
running average of its own past::

    h_t = (1 - a) * h_{t-1} + a * tanh(W x_t + U h_{t-1} + b)

With ``a = 1`` it is the plain unit; with a small ``a`` the old state leaks
away slowly, ``(1 - a)`` per step, so the unit integrates its input over about
``1 / a`` steps (its *time constant*) and the gradient along the self-loop
decays as slowly. Units with ``a`` near one handle the fine time scale
(details), units with small ``a`` carry information from the distant past;
a layer may mix them (``alpha`` as a list, one per unit), and the time
constants may be learned (``learn_alpha``). The LSTM's forget gate is the same
self-loop with a weight that the network sets at every step instead of a
constant chosen beforehand.

``skip`` adds a second kind of multiple-time-scale connection: *skip
connections through time*. The unit also reads its state from ``skip`` steps
back, ``h_{t-skip}``, through its own recurrent weights, so information
crosses ``d`` steps in ``d / skip`` hops.

Use it in a blueprint inside an ``RNN`` layer::

    - RNN: {cell: {LeakyRNNCell: {units: 32, alpha: 0.1}}, return_sequences: true}
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import activations, initializers, ops

from keras_blueprints.layers import builtin_layer

__all__ = ["LeakyRNNCell"]


def _rates(alpha, units: int) -> list[float]:
    rates = list(alpha) if isinstance(alpha, list | tuple) else [alpha] * units
    if len(rates) != units or not all(
        isinstance(r, int | float) and not isinstance(r, bool) and 0 < r <= 1 for r in rates
    ):
        raise ValueError(
            f"Expected 'alpha' to be a number in (0, 1] or a list of {units} of them. "
            f"Received: alpha={alpha!r}"
        )
    return [float(r) for r in rates]


@builtin_layer
class LeakyRNNCell(keras.layers.Layer):
    """A leaky-integrator recurrent cell: ``h_t = (1 - a) h_{t-1} + a tanh(W x_t + U h_{t-1} + b)``.

    ``a`` (``alpha``) is the leak rate, one per unit: 1 gives a plain
    ``SimpleRNNCell``, a small ``a`` a unit with time constant ``1 / a`` steps.
    With ``learn_alpha`` each unit's rate is a weight, kept in (0, 1) as the
    sigmoid of a learned logit (initialised at ``alpha``, which must then be
    below 1). With ``skip = d > 1`` the candidate also reads ``h_{t-d}``
    through a second recurrent kernel (skip connections through time).

    Parameters: ``units * (input_dim + units + 1)``, plus ``units * units``
    with ``skip`` and ``units`` with ``learn_alpha``.

    Args:
        units: Positive integer, the size of the state and output.
        alpha: The leak rate in (0, 1]: one number, or a list with one per unit.
        learn_alpha: Learn each unit's rate (its time constant).
        skip: Also read the state of ``skip`` steps back (1: no skip connection).
        activation: The activation of the candidate (``tanh``).
        use_bias: Whether the candidate has a bias.
        kernel_initializer: Initializer of the input weights ``W``.
        recurrent_initializer: Initializer of the recurrent weights ``U`` (and of
            the skip kernel).
        bias_initializer: Initializer of the bias.
        **kwargs: Base layer arguments (``name``, ``dtype``...).

    Example::

        - name: slow
          RNN: {cell: {LeakyRNNCell: {units: 32, alpha: 0.05, learn_alpha: true}}}
    """

    EXAMPLE_ARGS = {"units": 4}

    def __init__(
        self,
        units,
        alpha=0.1,
        learn_alpha=False,
        skip=1,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Expected a positive integer for 'units'. Received: units={units!r}")
        if not isinstance(skip, int) or isinstance(skip, bool) or skip < 1:
            raise ValueError(f"Expected a positive integer for 'skip'. Received: skip={skip!r}")
        self.units = units
        self.rates = _rates(alpha, units)
        if learn_alpha and max(self.rates) >= 1:
            raise ValueError(
                "Expected 'alpha' below 1 with learn_alpha (a learned rate stays in (0, 1)). "
                f"Received: alpha={alpha!r}"
            )
        self.alpha = alpha
        self.learn_alpha = bool(learn_alpha)
        self.skip = skip
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        # The state: h_{t-1}, then (with skip) h_{t-2} .. h_{t-skip}.
        self.state_size = units * skip
        self.output_size = units

    def build(self, input_shape):
        """Creates ``W``, ``U``, the bias, the skip kernel and the learned rates."""
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), name="kernel", initializer=self.kernel_initializer
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
        )
        self.skip_kernel = (
            self.add_weight(
                shape=(self.units, self.units),
                name="skip_kernel",
                initializer=self.recurrent_initializer,
            )
            if self.skip > 1
            else None
        )
        self.bias = (
            self.add_weight(shape=(self.units,), name="bias", initializer=self.bias_initializer)
            if self.use_bias
            else None
        )
        if self.learn_alpha:
            logits = np.array([math.log(r / (1 - r)) for r in self.rates], "float32")
            self.alpha_logit = self.add_weight(
                shape=(self.units,),
                name="alpha_logit",
                initializer=initializers.Constant(logits),
            )
        else:
            self.alpha_logit = None

    def leak_rates(self):
        """Each unit's rate ``a`` (a tensor of shape ``(units,)``)."""
        if self.alpha_logit is not None:
            return ops.sigmoid(self.alpha_logit)
        return ops.convert_to_tensor(np.array(self.rates, "float32"), dtype=self.compute_dtype)

    def call(self, inputs, states, training=False):
        """One step: ``(x_t, [h_{t-1} .. h_{t-skip}])`` -> ``(h_t, [h_t .. h_{t-skip+1}])``."""
        history = states[0] if isinstance(states, list | tuple) else states
        h_prev = history[:, : self.units]
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.skip_kernel is not None:
            z = z + ops.matmul(history[:, -self.units :], self.skip_kernel)
        if self.use_bias:
            z = z + self.bias
        a = self.leak_rates()
        h = (1.0 - a) * h_prev + a * self.activation(z)
        if self.skip == 1:
            return h, [h]
        return h, [ops.concatenate([h, history[:, : -self.units]], axis=-1)]

    def get_config(self):
        """The constructor's arguments."""
        return {
            **super().get_config(),
            "units": self.units,
            "alpha": self.alpha,
            "learn_alpha": self.learn_alpha,
            "skip": self.skip,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }

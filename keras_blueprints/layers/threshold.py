"""Threshold units, the first artificial neurons, and the Hopfield network built from them.

McCulloch and Pitts (1943) modelled a neuron as a unit that fires (1) when the
weighted sum of its binary inputs reaches a threshold, and stays silent (0)
otherwise: ``y = H(w . x - theta)``, ``H`` the Heaviside step. With fixed
weights such units compute AND, OR and NOT, hence (in networks) any Boolean
function; what one unit computes is always *linearly separable*: the inputs
that fire lie on one side of the hyperplane ``w . x = theta``.

* :class:`ThresholdUnit`: one McCulloch-Pitts unit, its weights and threshold
  fixed by the blueprint (not trained).
* :class:`Heaviside`: the step ``0/1`` as a layer, for the perceptron
  (Rosenblatt's rule trains the ``Dense`` layer below it).
* :class:`Sign`: the step ``-1/+1`` of bipolar units (Hebbian memories, Hopfield).
* :class:`HopfieldNet`: a fully connected network of ``+-1`` units updated one at
  a time (asynchronously) for a few sweeps; its symmetric weights (zero diagonal)
  are written by the ``hopfield`` training rule
  (:mod:`keras_blueprints.training.rules.hopfield`), not by backpropagation.

The steps have no useful gradient: these layers are trained by the rules of
:mod:`keras_blueprints.training.rules`, which the blueprint names in ``train.rule``.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_blueprints.layers import builtin_layer

__all__ = ["Heaviside", "HopfieldNet", "Sign", "ThresholdUnit"]


def _step(x, threshold: float = 0.0):
    return ops.cast(ops.greater_equal(x, threshold), x.dtype)


@builtin_layer
class Heaviside(keras.layers.Layer):
    """The Heaviside step: 1 where the input reaches ``threshold``, else 0.

    Args:
        threshold: The value from which a unit fires.
    """

    def __init__(self, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = float(threshold)

    def call(self, inputs):
        """Returns ``1.0`` where ``inputs >= threshold``, else ``0.0``."""
        return _step(inputs, self.threshold)

    def compute_output_shape(self, input_shape):
        """The input's shape."""
        return input_shape

    def get_config(self):
        """The threshold, with the base layer's settings."""
        return {**super().get_config(), "threshold": self.threshold}


@builtin_layer
class Sign(keras.layers.Layer):
    """The bipolar step: +1 where the input is >= 0, else -1."""

    def call(self, inputs):
        """Returns ``+1.0`` where ``inputs >= 0``, else ``-1.0``."""
        return 2.0 * _step(inputs) - 1.0

    def compute_output_shape(self, input_shape):
        """The input's shape."""
        return input_shape


@builtin_layer
class ThresholdUnit(keras.layers.Layer):
    """One McCulloch-Pitts unit with fixed weights: ``y = H(kernel . x - threshold)``.

    Args:
        kernel: One weight per input feature (a list of numbers).
        threshold: The unit fires when the weighted sum reaches it.

    Raises:
        ValueError: An empty kernel, or (when built) one whose length is not the
            number of input features.
    """

    EXAMPLE_ARGS = {"kernel": [1.0, 1.0], "threshold": 1.5}

    def __init__(self, kernel, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        kernel = [float(w) for w in kernel]
        if not kernel:
            raise ValueError(f"Expected at least one weight in 'kernel'. Received: kernel={kernel}")
        self.kernel_values = kernel
        self.threshold = float(threshold)

    def build(self, input_shape):
        """Checks the kernel's length against the input's features."""
        if input_shape[-1] != len(self.kernel_values):
            raise ValueError(
                f"Expected {len(self.kernel_values)} input features (one per weight of "
                f"'kernel'). Received: input_shape={input_shape}"
            )
        self.built = True

    def call(self, inputs):
        """Returns ``H(inputs . kernel - threshold)`` with a last axis of one unit."""
        kernel = ops.convert_to_tensor(self.kernel_values, dtype=inputs.dtype)
        total = ops.sum(inputs * kernel, axis=-1, keepdims=True)
        return _step(total, self.threshold)

    def compute_output_shape(self, input_shape):
        """The input's shape with one unit last."""
        return (*input_shape[:-1], 1)

    def get_config(self):
        """The kernel and threshold, with the base layer's settings."""
        return {
            **super().get_config(),
            "kernel": list(self.kernel_values),
            "threshold": self.threshold,
        }


@builtin_layer
class HopfieldNet(keras.layers.Layer):
    """A Hopfield network: ``+-1`` units updated asynchronously for ``sweeps`` sweeps.

    The input is the starting state (a corrupted pattern); each update sets one
    unit ``i`` (in order ``0 .. N-1``, sweep after sweep) to the sign of its field
    ``h_i = sum_j W_ij s_j`` (a field of 0 leaves it as it is). With symmetric ``W``
    and a zero diagonal the energy ``E = -1/2 s.W.s`` never increases along these
    updates, so the state settles in a local minimum: ideally the stored pattern.

    Args:
        sweeps: Passes over all the units.

    Raises:
        ValueError: ``sweeps`` is not a non-negative integer.
    """

    def __init__(self, sweeps=5, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(sweeps, int) or isinstance(sweeps, bool) or sweeps < 0:
            raise ValueError(
                f"Expected a non-negative integer for 'sweeps'. Received: sweeps={sweeps!r}"
            )
        self.sweeps = sweeps

    def build(self, input_shape):
        """Creates the ``N x N`` weights (zeros: nothing stored yet), not trained by backprop."""
        units = int(input_shape[-1])
        self.units = units
        self.memory = self.add_weight(
            shape=(units, units), initializer="zeros", trainable=False, name="memory"
        )
        self.built = True

    def run(self, states, updates, start=0):
        """Applies ``updates`` single-unit updates to ``states`` (a batch of ``+-1`` vectors).

        Args:
            states: The starting states, shape ``(batch, N)``.
            updates: How many units to update, one after the other (unit ``k mod N``).
            start: The first update's ``k`` (``run(run(s, k), 1, start=k)`` is ``run(s, k + 1)``).

        Returns:
            The states after the updates.
        """
        memory = ops.convert_to_tensor(self.memory)
        eye = ops.eye(self.units, dtype=states.dtype)

        def update(k, s):
            i = ops.mod(k, self.units)
            field = ops.matmul(s, ops.take(memory, i, axis=1))
            new = ops.where(field > 0, 1.0, ops.where(field < 0, -1.0, ops.take(s, i, axis=1)))
            change = ops.cast(new, s.dtype) - ops.take(s, i, axis=1)
            return s + ops.expand_dims(change, -1) * ops.take(eye, i, axis=0)

        return ops.fori_loop(start, start + updates, update, states)

    def energy(self, states):
        """The energy ``-1/2 s.W.s`` of each state, shape ``(batch,)``."""
        return -0.5 * ops.sum(ops.matmul(states, self.memory) * states, axis=-1)

    def call(self, inputs):
        """Returns the states after ``sweeps`` sweeps of asynchronous updates."""
        return self.run(inputs, self.sweeps * self.units)

    def compute_output_shape(self, input_shape):
        """The input's shape."""
        return input_shape

    def get_config(self):
        """The number of sweeps, with the base layer's settings."""
        return {**super().get_config(), "sweeps": self.sweeps}

"""Gate biases for LSTM cells: each gate's initial bias, as the course notes advise.

An LSTM's gates are sigmoids of ``W x + U h + b``; at initialisation the
weights are small, so each gate starts near ``sigmoid(b)``. Keras' default
(``unit_forget_bias=True``) sets the forget gate's bias to 1 (the gate starts
at 0.73, mostly *remembering*: the cell state's linear self-loop carries
gradients over many steps from the first update, as a leaky unit's does) and
the other gates' to 0 (half open). Gers, Schmidhuber & Cummins (2000,
"Learning to forget") also start the input and output gates *closed*, with
negative biases: the cell neither takes in nor emits much until training
opens the gates that matter, so the memory cells do not all react alike at
first (the gates break the symmetry between cells as they learn when to open).

:class:`GateBias` is the bias initializer that sets each gate's bias; the
``input_bias``, ``forget_bias`` and ``output_bias`` options of
``PeepholeLSTMCell`` and of the ``rnn_stack`` block use it.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["GATE_ORDER", "GateBias"]

GATE_ORDER = ("input", "forget", "cell", "output")
"""The order of the four gates in a Keras LSTM's bias vector (and kernels)."""


@keras.saving.register_keras_serializable(package="keras_blueprints")
class GateBias(keras.initializers.Initializer):
    """Initializes an LSTM bias of shape ``(4 * units,)`` gate by gate (order i, f, c, o).

    Args:
        input: The input gate's bias (Keras: 0; the notes: negative, gate closed).
        forget: The forget gate's bias (Keras' ``unit_forget_bias``: 1, gate mostly open).
        cell: The candidate's bias (0).
        output: The output gate's bias (Keras: 0; the notes: negative, gate closed).
    """

    def __init__(self, input=0.0, forget=1.0, cell=0.0, output=0.0):
        self.input, self.forget, self.cell, self.output = (
            float(input),
            float(forget),
            float(cell),
            float(output),
        )

    def __call__(self, shape, dtype=None):
        """The bias: four blocks of ``units`` constants."""
        if len(shape) != 1 or shape[0] % 4:
            raise ValueError(
                f"Expected an LSTM bias shape (4 * units,). Received: shape={tuple(shape)}"
            )
        units = shape[0] // 4
        values = (self.input, self.forget, self.cell, self.output)
        return ops.concatenate([ops.full((units,), v, dtype=dtype) for v in values])

    def get_config(self):
        """The four biases."""
        return dict(zip(GATE_ORDER, (self.input, self.forget, self.cell, self.output), strict=True))

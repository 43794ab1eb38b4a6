"""The peephole LSTM cell (Gers & Schmidhuber, 2000), which Keras 3 does not ship.

In a standard LSTM the three gates look at the input ``x_t`` and the previous
output ``h_{t-1}`` only. The cell state ``c`` (the "conveyor belt" that carries
the long-term memory) is hidden from them, and ``h`` is itself gated by the
output gate: when the output gate is closed, the gates cannot see what the
memory holds. Gers & Schmidhuber let the gates *peep* at the cell state through
diagonal ("peephole") weights, one per unit, which helps in tasks that need
precise timing (counting, spike intervals)::

    i_t = sigmoid(W_i x_t + U_i h_{t-1} + p_i * c_{t-1} + b_i)      input gate
    f_t = sigmoid(W_f x_t + U_f h_{t-1} + p_f * c_{t-1} + b_f)      forget gate
    c_t = f_t * c_{t-1} + i_t * tanh(W_c x_t + U_c h_{t-1} + b_c)   cell state
    o_t = sigmoid(W_o x_t + U_o h_{t-1} + p_o * c_t + b_o)          output gate
    h_t = o_t * tanh(c_t)

The output gate peeps at the *new* state ``c_t``, as in the paper (and in
TensorFlow 1's ``LSTMCell(use_peepholes=True)``). The peephole weights add
``3 * units`` parameters to the LSTM's ``4 * units * (input_dim + units + 1)``.

Use it in a blueprint inside an ``RNN`` layer::

    - RNN: {cell: {PeepholeLSTMCell: {units: 32}}, return_sequences: true}
"""

from __future__ import annotations

import keras
from keras import constraints, initializers, ops, regularizers

from keras_blueprints.layers import builtin_layer
from keras_blueprints.layers.gates import GateBias

__all__ = ["PeepholeLSTMCell"]


@builtin_layer
class PeepholeLSTMCell(keras.layers.LSTMCell):
    """An LSTM cell whose gates also see the cell state (Gers & Schmidhuber, 2000).

    It extends ``keras.layers.LSTMCell`` (same kernel, recurrent kernel, bias,
    weight order ``i, f, c, o`` and arguments) with three diagonal peephole
    weight vectors of shape ``(units,)``: from ``c_{t-1}`` to the input and
    forget gates, and from ``c_t`` to the output gate. The four gates share one
    dropout mask (the fused computation of ``LSTMCell``).

    Args:
        units: Positive integer, the size of the state and output.
        activation: The activation of the candidate and of the output (``tanh``).
        recurrent_activation: The activation of the gates (``sigmoid``).
        use_bias: Whether the gates and the candidate have a bias.
        kernel_initializer: Initializer of the input weights.
        recurrent_initializer: Initializer of the recurrent weights.
        bias_initializer: Initializer of the bias.
        peephole_initializer: Initializer of the three peephole vectors.
        unit_forget_bias: Add 1 to the forget gate's bias at initialization.
        kernel_regularizer: Regularizer of the input weights.
        recurrent_regularizer: Regularizer of the recurrent weights.
        bias_regularizer: Regularizer of the bias.
        peephole_regularizer: Regularizer of the peephole vectors.
        kernel_constraint: Constraint on the input weights.
        recurrent_constraint: Constraint on the recurrent weights.
        bias_constraint: Constraint on the bias.
        peephole_constraint: Constraint on the peephole vectors.
        dropout: Fraction of the inputs to drop (training only).
        recurrent_dropout: Fraction of the recurrent state to drop (training only).
        seed: Random seed of the dropout masks.
        input_bias: The input gate's initial bias (None: ``bias_initializer``'s).
        forget_bias: The forget gate's initial bias (None: 1 with ``unit_forget_bias``).
        output_bias: The output gate's initial bias (None: ``bias_initializer``'s).
            Setting any of the three initialises the bias gate by gate with
            :class:`~keras_blueprints.layers.gates.GateBias` (the others 0, the
            candidate's 0); the notes' advice, after Gers et al. (2000): the
            forget gate open (``forget_bias: 1``), the input and output gates
            closed (``input_bias: -1``, ``output_bias: -1``).
        **kwargs: Base layer arguments (``name``, ``dtype``...).

    Example::

        - name: encoder
          RNN: {cell: {PeepholeLSTMCell: {units: 64}}, return_state: true}
    """

    EXAMPLE_ARGS = {"units": 4}

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        peephole_initializer="glorot_uniform",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        peephole_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        peephole_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        input_bias=None,
        forget_bias=None,
        output_bias=None,
        **kwargs,
    ):
        given_bias = (bias_initializer, unit_forget_bias)
        if (input_bias, forget_bias, output_bias) != (None, None, None):
            bias_initializer = GateBias(
                input=input_bias or 0.0,
                forget=(1.0 if unit_forget_bias else 0.0) if forget_bias is None else forget_bias,
                output=output_bias or 0.0,
            )
            unit_forget_bias = False
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Expected a positive integer for 'units'. Received: units={units!r}")
        super().__init__(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            **kwargs,
        )
        # LSTMCell switches to per-gate dropout masks when recurrent_dropout > 0;
        # this cell always computes the gates fused, with one mask per input.
        self.implementation = 2
        self._given_bias = given_bias
        self.input_bias, self.forget_bias, self.output_bias = input_bias, forget_bias, output_bias
        self.__dict__.pop("dropout_mask_count", None)
        self.peephole_initializer = initializers.get(peephole_initializer)
        self.peephole_regularizer = regularizers.get(peephole_regularizer)
        self.peephole_constraint = constraints.get(peephole_constraint)

    def build(self, input_shape):
        """Creates the LSTM weights and the three peephole vectors."""
        super().build(input_shape)
        self.input_peephole, self.forget_peephole, self.output_peephole = (
            self.add_weight(
                shape=(self.units,),
                name=f"{gate}_gate_peephole",
                initializer=self.peephole_initializer,
                regularizer=self.peephole_regularizer,
                constraint=self.peephole_constraint,
            )
            for gate in ("input", "forget", "output")
        )

    def call(self, inputs, states, training=False):
        """One step: ``(x_t, [h_{t-1}, c_{t-1}])`` -> ``(h_t, [h_t, c_t])``."""
        h_tm1, c_tm1 = states[0], states[1]
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_tm1, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i + self.input_peephole * c_tm1)
        f = self.recurrent_activation(z_f + self.forget_peephole * c_tm1)
        c = f * c_tm1 + i * self.activation(z_c)
        o = self.recurrent_activation(z_o + self.output_peephole * c)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        """The LSTMCell configuration plus the peephole initializer, regularizer, constraint."""
        bias_initializer, unit_forget_bias = self._given_bias
        return {
            **super().get_config(),
            "bias_initializer": initializers.serialize(initializers.get(bias_initializer)),
            "unit_forget_bias": unit_forget_bias,
            "input_bias": self.input_bias,
            "forget_bias": self.forget_bias,
            "output_bias": self.output_bias,
            "peephole_initializer": initializers.serialize(self.peephole_initializer),
            "peephole_regularizer": regularizers.serialize(self.peephole_regularizer),
            "peephole_constraint": constraints.serialize(self.peephole_constraint),
        }

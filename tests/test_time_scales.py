"""Multiple time scales: LSTM gate initialisation, leaky units, skip connections through time."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.layers.gates import GateBias
from keras_blueprints.layers.peephole import PeepholeLSTMCell

STACK = """
inputs: {x: [5, 3]}
graph:
  - name: memory
    rnn_stack: {cell: CELL, units: [4, 2]OPTIONS}
"""


def _stack(cell: str = "lstm", options: str = "") -> keras.Model:
    return kb.build(STACK.replace("CELL", cell).replace("OPTIONS", options), compile=False)


def _gate_biases(bias) -> list[list[float]]:
    return [part.tolist() for part in np.split(keras.ops.convert_to_numpy(bias), 4)]


def test_rnn_stack_sets_the_gate_biases_the_option_says():
    model = _stack(options=", input_bias: -1.0, forget_bias: 2.0, output_bias: -1.5")
    for layer, units in (("memory_lstm1", 4), ("memory_lstm2", 2)):
        bias = model.get_layer(layer).cell.bias
        assert _gate_biases(bias) == [[-1.0] * units, [2.0] * units, [0.0] * units, [-1.5] * units]


def test_rnn_stack_default_gates_are_keras_own():
    model = _stack()
    cell = model.get_layer("memory_lstm1").cell
    assert cell.unit_forget_bias is True
    assert _gate_biases(cell.bias) == [[0.0] * 4, [1.0] * 4, [0.0] * 4, [0.0] * 4]


def test_gate_biases_need_an_lstm():
    with pytest.raises(BlueprintError, match="only with cell: lstm"):
        _stack("gru", ", input_bias: -1.0")


def test_a_gate_bias_of_the_wrong_type_is_refused_at_load():
    with pytest.raises(BlueprintError, match="input_bias"):
        kb.load(STACK.replace("CELL", "lstm").replace("OPTIONS", ", input_bias: closed"))


def test_gates_start_as_the_biases_say():
    # Zero weights: each gate is exactly sigmoid(its bias) at the first step.
    cell = PeepholeLSTMCell(
        3,
        input_bias=-1.0,
        output_bias=-1.0,
        kernel_initializer="zeros",
        recurrent_initializer="zeros",
        peephole_initializer="zeros",
    )
    keras.layers.RNN(cell)(np.zeros((1, 1, 2), "float32"))
    assert _gate_biases(cell.bias) == [[-1.0] * 3, [1.0] * 3, [0.0] * 3, [-1.0] * 3]
    # A candidate of 1 (its bias 20): c = f * 0 + i * 1 = i and h = o * tanh(i).
    cell.bias.assign(np.concatenate([[-1.0] * 3, [1.0] * 3, [20.0] * 3, [-1.0] * 3]))
    h, (_, c) = cell(np.zeros((1, 2), "float32"), [np.zeros((1, 3), "float32")] * 2)
    i = o = 1 / (1 + np.exp(1.0))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(c), [[i] * 3], rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(h), [[o * np.tanh(i)] * 3], rtol=1e-5)


def test_peephole_gate_options_round_trip_through_the_config():
    cell = PeepholeLSTMCell(2, input_bias=-1.0, forget_bias=3.0)
    config = cell.get_config()
    assert (config["input_bias"], config["forget_bias"], config["output_bias"]) == (-1.0, 3.0, None)
    again = PeepholeLSTMCell.from_config(config)
    keras.layers.RNN(again)(np.zeros((1, 1, 2), "float32"))
    assert _gate_biases(again.bias) == [[-1.0] * 2, [3.0] * 2, [0.0] * 2, [0.0] * 2]
    plain = PeepholeLSTMCell(2)
    keras.layers.RNN(plain)(np.zeros((1, 1, 2), "float32"))
    assert _gate_biases(plain.bias) == [[0.0] * 2, [1.0] * 2, [0.0] * 2, [0.0] * 2]


def test_gate_bias_initializer_round_trips_and_checks_its_shape():
    init = GateBias(input=-2.0, forget=1.0, output=-1.0)
    again = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert again.get_config() == init.get_config()
    assert keras.ops.convert_to_numpy(again((8,))).tolist() == [-2, -2, 1, 1, 0, 0, -1, -1]
    with pytest.raises(ValueError, match="4 \\* units"):
        init((6,))

"""Multiple time scales: LSTM gate initialisation, leaky units, skip connections through time."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.layers.gates import GateBias
from keras_blueprints.layers.leaky import LeakyRNNCell
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


# -- leaky units -------------------------------------------------------------------------


def _impulse_response(cell: LeakyRNNCell, weights: list, steps: int) -> np.ndarray:
    """``|h_t|`` after an input of 1 at step 0 and 0 afterwards (the state starts at 0)."""
    layer = keras.layers.RNN(cell, return_sequences=True)
    x = np.zeros((1, steps, 1), "float32")
    x[0, 0, 0] = 1.0
    layer.build((1, steps, 1))
    layer.set_weights(weights)
    return np.abs(keras.ops.convert_to_numpy(layer(x))[0]).max(axis=-1)


def _memory(response: np.ndarray) -> int:
    """Steps until the response falls under 1 % of its peak for good."""
    above = np.nonzero(response >= 0.01 * response.max())[0]
    return int(above[-1]) + 1


def test_a_leaky_unit_remembers_an_impulse_far_longer_than_a_plain_one():
    rng = np.random.default_rng(0)
    units = 8
    kernel = rng.standard_normal((1, units)).astype("float32")
    q, _ = np.linalg.qr(rng.standard_normal((units, units)))
    recurrent = (0.5 * q).astype("float32")  # every eigenvalue of modulus 0.5
    weights = [kernel, recurrent, np.zeros(units, "float32")]
    plain = _memory(_impulse_response(LeakyRNNCell(units, alpha=1.0), weights, 400))
    leaky = _memory(_impulse_response(LeakyRNNCell(units, alpha=0.05), weights, 400))
    # Plain: the state shrinks at least 2x a step. Leaky: by about 1 - a / 2 = 0.975.
    assert plain <= 7
    assert 120 <= leaky <= 250
    assert leaky > 15 * plain


def test_without_recurrent_weights_the_leak_is_exactly_geometric():
    alpha, steps = 0.1, 30
    weights = [np.full((1, 1), 2.0, "float32"), np.zeros((1, 1), "float32"), np.zeros(1, "float32")]
    response = _impulse_response(LeakyRNNCell(1, alpha=alpha), weights, steps)
    expected = alpha * np.tanh(2.0) * (1 - alpha) ** np.arange(steps)
    np.testing.assert_allclose(response, expected, rtol=1e-5)
    plain = _impulse_response(LeakyRNNCell(1, alpha=1.0), weights, steps)
    assert plain[0] == pytest.approx(np.tanh(2.0)) and plain[1:].max() == 0.0


def test_skip_connections_carry_the_state_across_skip_steps():
    # Plain units, no one-step recurrence, only the skip kernel: the impulse
    # comes back every 3 steps and is exactly zero in between.
    cell = LeakyRNNCell(1, alpha=1.0, skip=3)
    weights = [np.ones((1, 1), "float32"), np.zeros((1, 1), "float32")]
    weights += [np.full((1, 1), 2.0, "float32"), np.zeros(1, "float32")]
    response = _impulse_response(cell, weights, 10)
    assert np.nonzero(response)[0].tolist() == [0, 3, 6, 9]
    assert response[3] == pytest.approx(np.tanh(2 * np.tanh(1.0)), rel=1e-5)


def test_each_unit_has_its_own_rate_and_can_learn_it():
    cell = LeakyRNNCell(3, alpha=[0.5, 0.1, 0.01], learn_alpha=True)
    layer = keras.layers.RNN(cell)
    layer.build((None, 4, 2))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(cell.leak_rates()), [0.5, 0.1, 0.01], rtol=1e-6
    )
    assert layer.count_params() == 3 * (2 + 3 + 1) + 3
    model = keras.Sequential([keras.Input((4, 2)), layer])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    rng = np.random.default_rng(1)
    model.fit(rng.random((16, 4, 2)), rng.random((16, 3)), epochs=2, verbose=0)
    rates = keras.ops.convert_to_numpy(cell.leak_rates())
    assert not np.allclose(rates, [0.5, 0.1, 0.01])
    assert ((rates > 0) & (rates < 1)).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": [0.5, 0.5]}, "list of 3"),
        ({"alpha": 1.0, "learn_alpha": True}, "below 1"),
        ({"skip": 0}, "skip"),
    ],
)
def test_bad_leaky_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LeakyRNNCell(3, **kwargs)


def test_rnn_time_scales_layers_and_counts():
    model = kb.build("zoo:rnn_time_scales", compile=False)
    rows = [(layer.name, tuple(layer.output.shape), layer.count_params()) for layer in model.layers]
    assert rows == [
        ("pixels", (None, 256), 0),
        ("sequence", (None, 256, 1), 0),
        ("fast", (None, 256, 32), 32 * (1 + 32 + 1)),
        ("fast_and_input", (None, 256, 33), 0),
        ("slow", (None, 32), 32 * (33 + 32 + 1)),
        ("probabilities", (None, 10), 330),
    ]
    assert model.get_layer("fast").cell.rates == [1.0] * 32
    assert model.get_layer("slow").cell.rates == [0.1] * 32
    keras.backend.clear_session()
    variant = kb.build(
        "zoo:rnn_time_scales", overrides=["params.skip=4", "params.learn_alpha=true"], compile=False
    )
    assert variant.count_params() == 3_530 + 32 * 32 + 32

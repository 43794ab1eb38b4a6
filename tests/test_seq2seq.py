"""Encoder-decoder RNNs: the peephole LSTM cell, rnn_stack, the seq2seq zoo, greedy decoding."""

from __future__ import annotations

import textwrap

import keras
import numpy as np
import pytest
from refused import NOT_A_CHOICE, OUT_OF_RANGE, assert_refused_at_load

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.export.decode import greedy_decode
from keras_blueprints.layers.peephole import PeepholeLSTMCell

# --- the peephole LSTM cell ----------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def peephole_step(x, h, c, kernel, recurrent, bias, p_i, p_f, p_o):
    """Gers & Schmidhuber (2000), written out; Keras' gate order i, f, c, o."""
    z = x @ kernel + h @ recurrent + bias
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    i = _sigmoid(z_i + p_i * c)  # input and forget gates peep at the old state
    f = _sigmoid(z_f + p_f * c)
    c = f * c + i * np.tanh(z_c)
    o = _sigmoid(z_o + p_o * c)  # the output gate peeps at the new state
    return o * np.tanh(c), c


def _random_weights(cell, rng) -> list[np.ndarray]:
    weights = [rng.standard_normal(w.shape).astype("float32") * 0.5 for w in cell.weights]
    cell.set_weights(weights)
    return weights


def test_peephole_cell_step_matches_numpy_reference():
    rng = np.random.default_rng(0)
    cell = PeepholeLSTMCell(3)
    cell.build((None, 4))
    assert [w.name for w in cell.weights] == [
        "kernel",
        "recurrent_kernel",
        "bias",
        "input_gate_peephole",
        "forget_gate_peephole",
        "output_gate_peephole",
    ]
    weights = _random_weights(cell, rng)
    x, h, c = (rng.standard_normal((2, n)).astype("float32") for n in (4, 3, 3))
    out, (h_new, c_new) = cell(x, [h, c])
    ref_h, ref_c = peephole_step(x, h, c, *weights)
    np.testing.assert_allclose(out, ref_h, atol=1e-6)
    np.testing.assert_allclose(h_new, ref_h, atol=1e-6)
    np.testing.assert_allclose(c_new, ref_c, atol=1e-6)
    assert cell.state_size == [3, 3] and cell.output_size == 3


def test_peephole_cell_in_rnn_layer_over_a_sequence():
    rng = np.random.default_rng(1)
    model = kb.build(
        "inputs: {x: [null, 4]}\ngraph:\n"
        "  - {name: rnn, RNN: {cell: {PeepholeLSTMCell: {units: 3}}, return_sequences: true}}\n"
    )
    # 4 weight sets of units x (inputs + units) + units, plus 3 peephole vectors:
    # 4 x (3 x (4 + 3) + 3) + 3 x 3 = 96 + 9 = 105.
    assert model.count_params() == 105
    weights = _random_weights(model.get_layer("rnn").cell, rng)
    x = rng.standard_normal((2, 5, 4)).astype("float32")
    h = c = np.zeros((2, 3), "float32")
    for t in range(5):
        h, c = peephole_step(x[:, t], h, c, *weights)
        np.testing.assert_allclose(model(x)[:, t], h, atol=1e-5)


def test_peephole_cell_without_peepholes_is_an_lstm_cell():
    rng = np.random.default_rng(2)
    cell, plain = PeepholeLSTMCell(3, peephole_initializer="zeros"), keras.layers.LSTMCell(3)
    cell.build((None, 4))
    plain.build((None, 4))
    plain.set_weights(cell.get_weights()[:3])
    x, h, c = (rng.standard_normal((2, n)).astype("float32") for n in (4, 3, 3))
    np.testing.assert_allclose(cell(x, [h, c])[0], plain(x, [h, c])[0], atol=1e-6)


def test_peephole_cell_dropout_in_training_only():
    cell = PeepholeLSTMCell(8, dropout=0.5, recurrent_dropout=0.5, seed=1)
    layer = keras.layers.RNN(cell, return_sequences=True)
    x = np.ones((2, 3, 4), "float32")
    inference = np.asarray(layer(x))
    np.testing.assert_allclose(layer(x), inference)  # deterministic without training
    assert not np.allclose(layer(x, training=True), inference)
    assert cell.get_config()["recurrent_dropout"] == 0.5


def test_peephole_model_round_trips_through_keras_file(tmp_path):
    model = kb.build(
        textwrap.dedent(
            """
            inputs: {x: [null, 4]}
            graph:
              - name: rnn
                RNN:
                  cell: {PeepholeLSTMCell: {units: 6, peephole_initializer: random_normal}}
                  return_sequences: true
              - name: out
                Dense: {units: 2}
            """
        ),
        compile=False,
    )
    assert type(model.get_layer("rnn").cell) is PeepholeLSTMCell
    assert model.get_layer("rnn").cell.name == "rnn_cell"
    x = np.random.default_rng(3).standard_normal((2, 7, 4)).astype("float32")
    model.save(tmp_path / "peephole.keras")
    loaded = keras.models.load_model(tmp_path / "peephole.keras")
    assert type(loaded.get_layer("rnn").cell) is PeepholeLSTMCell
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
    config = loaded.get_layer("rnn").cell.get_config()
    assert config["peephole_initializer"]["class_name"] == "RandomNormal"


def test_peephole_cell_refuses_bad_units():
    with pytest.raises(ValueError, match="Received: units=0"):
        PeepholeLSTMCell(0)
    with pytest.raises(BlueprintError, match="Keras could not create RNN 'rnn'"):
        kb.build(
            "inputs: {x: [3, 2]}\n"
            "graph: [{name: rnn, RNN: {cell: {PeepholeLSTMCell: {units: -1}}}}]"
        )


# --- the rnn_stack block -------------------------------------------------------------


def _stack(args: str, shape: str = "[7, 3]"):
    return kb.build(f"inputs: {{x: {shape}}}\ngraph: [{{name: enc, rnn_stack: {args}}}]\n")


def test_rnn_stack_lstm_two_layers():
    model = _stack("{units: [8, 4]}")
    assert [layer.name for layer in model.layers] == ["x", "enc_lstm1", "enc_lstm2"]
    # LSTM: 4 x (units x (inputs + units) + units).
    # enc_lstm1: 4 x (8 x (3 + 8) + 8) = 384; enc_lstm2: 4 x (4 x (8 + 4) + 4) = 208.
    assert [layer.count_params() for layer in model.layers[1:]] == [384, 208]
    assert tuple(model.get_layer("enc_lstm1").output.shape) == (None, 7, 8)  # feeds layer 2
    assert tuple(model.output.shape) == (None, 4)


def test_rnn_stack_bidirectional_gru():
    model = _stack("{cell: gru, units: 5, depth: 2, bidirectional: true, return_sequences: true}")
    assert [layer.name for layer in model.layers] == ["x", "enc_bigru1", "enc_bigru2"]
    inner = model.get_layer("enc_bigru1")
    assert (inner.forward_layer.name, inner.backward_layer.name) == (
        "forward_enc_gru1",
        "backward_enc_gru1",
    )
    # GRU (reset_after): 3 x (units x (inputs + units) + 2 units), twice per layer.
    # enc_bigru1: 2 x 3 x (5 x (3 + 5) + 10) = 300;
    # enc_bigru2 reads 2 x 5 = 10 features: 2 x 3 x (5 x (10 + 5) + 10) = 510.
    assert [layer.count_params() for layer in model.layers[1:]] == [300, 510]
    assert tuple(model.output.shape) == (None, 7, 10)  # concat of both directions


def test_rnn_stack_simple_rnn_sum_merge_and_dropout():
    model = _stack(
        "{cell: simple_rnn, units: 6, bidirectional: true, merge_mode: sum, dropout: 0.25}"
    )
    # SimpleRNN: units x (inputs + units) + units = 6 x 9 + 6 = 60, twice.
    assert model.count_params() == 120
    assert tuple(model.output.shape) == (None, 6)
    assert model.get_layer("enc_bisimple_rnn1").forward_layer.dropout == 0.25


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("{units: [4, 4], depth: 3}", "Expected 'depth' to be left out or equal"),
    ],
)
def test_rnn_stack_refuses_bad_arguments(args, message):
    with pytest.raises(BlueprintError) as info:
        _stack(args)
    assert message in info.value.message


@pytest.mark.parametrize(
    ("args", "key", "expected", "received", "why"),
    [
        ("{cell: lstmm}", "cell", "one of: simple_rnn, lstm, gru", "lstmm", NOT_A_CHOICE),
        ("{dropout: 1.5}", "dropout", "a number in [0, 1)", 1.5, OUT_OF_RANGE),
        ("{merge_mode: max}", "merge_mode", "one of: concat, sum, mul, ave", "max", NOT_A_CHOICE),
    ],
)
def test_rnn_stack_refuses_bad_values_at_load(args, key, expected, received, why):
    text = f"inputs: {{x: [7, 3]}}\ngraph: [{{name: enc, rnn_stack: {args}}}]\n"
    err = assert_refused_at_load(text, key, expected, received, why)
    if key == "cell":
        assert err.hint == "Did you mean 'lstm'?"


def test_rnn_stack_called_from_python_checks_the_same_types():
    from keras_blueprints.blocks.rnn import rnn_stack

    x = keras.Input((7, 3))
    with pytest.raises(
        ValueError,
        match=r"^Expected 'cell' to be one of: simple_rnn, lstm, gru\. "
        r"Received: cell='lstmm'\. Did you mean 'lstm'\?$",
    ):
        rnn_stack(x, name="enc", cell="lstmm")
    with pytest.raises(ValueError, match=r"Received: dropout=1\.5$"):
        rnn_stack(x, name="enc", dropout=1.5)


# --- the zoo: models sharing the training model's layers -----------------------------

ZOO = ("seq2seq_lstm", "seq2seq_gru_bidirectional")


def test_seq2seq_lstm_models():
    models = kb.build_models("zoo:seq2seq_lstm")
    model, encoder, step = models["model"], models["encoder"], models["decoder_step"]
    assert [layer.name for layer in model.layers] == [
        "source",
        "target",
        "encoder",
        "decoder",
        "probabilities",
    ]
    # LSTM 4 x (64 x (12 + 64) + 64) = 19,712; Dense 64 x 12 + 12 = 780.
    assert (model.count_params(), encoder.count_params(), step.count_params()) == (
        40_204,
        19_712,
        20_492,
    )
    assert [tuple(t.shape) for t in step.inputs] == [(None, None, 12), (None, 64), (None, 64)]
    assert [tuple(t.shape) for t in step.outputs] == [(None, None, 12), (None, 64), (None, 64)]
    assert step.get_layer("decoder") is model.get_layer("decoder")
    assert model.loss == "sparse_categorical_crossentropy"


def test_seq2seq_gru_bidirectional_models():
    models = kb.build_models("zoo:seq2seq_gru_bidirectional")
    model, encoder, step = models["model"], models["encoder"], models["decoder_step"]
    # Encoder: 2 x 3 x (64 x (12 + 64) + 2 x 64) = 29,952 (two directions).
    # Decoder: 3 x (128 x (12 + 128) + 2 x 128) = 54,528; Dense 128 x 12 + 12 = 1,548.
    assert (model.count_params(), encoder.count_params(), step.count_params()) == (
        86_028,
        29_952,
        56_076,
    )
    assert tuple(encoder.output.shape) == (None, 128)  # [forward h ; backward h]
    assert [tuple(t.shape) for t in step.inputs] == [(None, None, 12), (None, 128)]
    # The encoder's state is exactly the two directions' final states side by side.
    rng = np.random.default_rng(4)
    source = np.eye(12, dtype="float32")[rng.integers(0, 12, (2, 6))]
    bi = model.get_layer("encoder")
    _, forward = bi.forward_layer(source)  # [output, final state] each
    _, backward = bi.backward_layer(source)
    np.testing.assert_allclose(encoder(source), np.concatenate([forward, backward], -1), atol=1e-6)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_fixed_source_length(name):
    model = kb.build(f"zoo:{name}", overrides=["params.length=10"], compile=False)
    assert tuple(model.inputs[0].shape) == (None, 10, 12)
    assert tuple(model.inputs[1].shape) == (None, None, 12)  # one step at a time at inference


# --- greedy decoding -----------------------------------------------------------------

INTEGER_TOKENS = textwrap.dedent(
    """
    params: {vocabulary: 7, units: 8}
    inputs:
      source: {shape: [null], dtype: int32}
      target: {shape: [null], dtype: int32}
    graph:
      - name: source_embedding
        from: source
        Embedding: {input_dim: "${vocabulary}", output_dim: 4}
      - name: encoder
        RNN: {cell: {PeepholeLSTMCell: {units: "${units}"}}, return_state: true}
      - name: target_embedding
        from: target
        Embedding: {input_dim: "${vocabulary}", output_dim: 4}
      - name: decoder
        from: {inputs: target_embedding, initial_state: [encoder.1, encoder.2]}
        RNN:
          cell: {PeepholeLSTMCell: {units: "${units}"}}
          return_sequences: true
          return_state: true
      - name: probabilities
        from: decoder.0
        Dense: {units: "${vocabulary}", activation: softmax}
    outputs: [probabilities]
    models:
      encoder: {inputs: [source], outputs: [encoder.1, encoder.2]}
      decoder_step:
        inputs: {token: target, h: encoder.1, c: encoder.2}
        outputs: [probabilities, decoder.1, decoder.2]
    """
)

CONSISTENCY = {
    "seq2seq_lstm": ("zoo:seq2seq_lstm", ["params.units=16"]),
    "seq2seq_gru_bidirectional": ("zoo:seq2seq_gru_bidirectional", ["params.units=16"]),
    "integer_tokens_peephole": (INTEGER_TOKENS, []),
}


@pytest.mark.parametrize("case", sorted(CONSISTENCY))
def test_greedy_decoding_is_the_argmax_of_the_teacher_forced_model(case):
    """Fed its own greedy output as the true prefix, the training model predicts that output."""
    source_text, overrides = CONSISTENCY[case]
    keras.utils.set_random_seed(5)
    models = kb.build_models(source_text, overrides, compile=False)
    model = models["model"]
    vocabulary = model.output.shape[-1]
    one_hot = len(model.inputs[0].shape) == 3
    encode = (lambda ids: np.eye(vocabulary, dtype="float32")[ids]) if one_hot else np.asarray
    source = np.random.default_rng(6).integers(0, vocabulary, (4, 5))
    start = vocabulary - 2
    decoded = greedy_decode(
        models["encoder"],
        models["decoder_step"],
        encode(source),
        start_token=start,
        end_token=None,
        max_length=6,
    )
    assert decoded.shape == (4, 6) and decoded.dtype == np.int64
    prefix = np.concatenate([np.full((4, 1), start), decoded[:, :-1]], axis=1)
    teacher_forced = np.asarray(model([encode(source), encode(prefix)])).argmax(-1)
    np.testing.assert_array_equal(teacher_forced, decoded)
    assert len(np.unique(decoded)) > 1  # not a degenerate constant output


class _Countdown:
    """A stand-in one-step decoder with two states: a counter and a passenger vector.

    It predicts token 3 while the counter is above 1, then the end token 1; the
    passenger doubles at every step. It records the inputs it receives.
    """

    def __init__(self, token_input, vocabulary: int = 5):
        self.inputs = [token_input, keras.Input((1,)), keras.Input((2,))]
        self.table = np.eye(vocabulary, dtype="float32")
        self.received: list[list[np.ndarray]] = []

    def __call__(self, inputs, training=False):
        assert training is False
        token, counter, passenger = (keras.ops.convert_to_numpy(t) for t in inputs)
        self.received.append([token, counter, passenger])
        left = counter - 1.0
        probs = np.where(left <= 0.0, self.table[1], self.table[3])[:, None, :]
        return [probs, left, passenger * 2.0]


def _encoder(source, training=False):  # the counters become the first state
    return [source[:, None].astype("float32"), np.ones((len(source), 2), "float32")]


TOKEN_INPUTS = {  # the decoder's token input -> what one step of a batch of 3 receives
    "one-hot with time axis": ((None, 5), "float32", (3, 1, 5)),
    "one-hot": ((5,), "float32", (3, 5)),
    "ids with time axis": ((None,), "int32", (3, 1)),
    "ids": ((), "int32", (3,)),
}


@pytest.mark.parametrize("kind", sorted(TOKEN_INPUTS))
def test_greedy_decode_stops_each_sequence_at_its_end_token(kind):
    shape, dtype, fed = TOKEN_INPUTS[kind]
    step = _Countdown(keras.Input(shape, dtype=dtype))
    counters = np.array([1, 3, 2])
    decoded = greedy_decode(_encoder, step, counters, start_token=4, end_token=1, max_length=6)
    np.testing.assert_array_equal(
        decoded,
        [[1, 1, 1, 1, 1, 1], [3, 3, 1, 1, 1, 1], [3, 1, 1, 1, 1, 1]],  # padded with the end token
    )
    assert len(step.received) == 3  # stopped once every sequence had ended
    tokens = [token for token, _, _ in step.received]
    assert all(t.shape == fed and t.dtype == np.dtype(dtype) for t in tokens)
    ids = [t.argmax(-1).ravel() if dtype == "float32" else t.ravel() for t in tokens]
    np.testing.assert_array_equal(ids, [[4, 4, 4], [1, 3, 3], [1, 3, 1]])  # fed back
    passengers = [p[0, 0] for _, _, p in step.received]
    assert passengers == [1.0, 2.0, 4.0]  # every state goes around the loop


def test_greedy_decode_without_end_token_runs_max_length_steps():
    step = _Countdown(keras.Input((None, 5)))
    decoded = greedy_decode(
        _encoder, step, np.array([1, 2]), start_token=0, end_token=None, max_length=4
    )
    np.testing.assert_array_equal(decoded, [[1, 1, 1, 1], [3, 1, 1, 1]])
    assert len(step.received) == 4


def test_greedy_decode_refuses_mismatched_models():
    step = _Countdown(keras.Input((None, 5)))
    with pytest.raises(ValueError, match="Received: max_length=0"):
        greedy_decode(_encoder, step, np.array([1]), start_token=0, end_token=1, max_length=0)
    with pytest.raises(ValueError, match="one state per state input of the decoder step"):
        greedy_decode(
            lambda s, training=False: s[:, None].astype("float32"),
            step,
            np.array([1]),
            start_token=0,
            end_token=1,
            max_length=3,
        )
    with pytest.raises(ValueError, match=r"Expected token ids in \[0, 5\)"):
        greedy_decode(_encoder, step, np.array([1]), start_token=7, end_token=1, max_length=3)


# --- training: a reversal task -------------------------------------------------------


def test_trained_seq2seq_lstm_reverses_sequences():
    """300 sequences of 5 symbols out of 6 (the ``sequences`` data source): greedy decoding
    reverses the 100 unseen ones of its test split.

    Chance is 1/6 (0.17) per token; after 20 epochs (a few seconds on a CPU)
    greedy decoding gets about 0.9 of the tokens of the unseen sequences right.
    """
    from pathlib import Path

    from keras_blueprints.data import SOURCES, SourceContext

    symbols, length = 6, 5
    vocabulary = symbols + 2
    start, end = vocabulary - 2, vocabulary - 1  # the source's token conventions
    keras.utils.set_random_seed(0)
    bp = kb.load(
        "zoo:seq2seq_lstm",
        [
            f"params.vocabulary={vocabulary}",
            f"params.length={length}",
            "params.units=32",
            "compile.optimizer.adam.learning_rate=0.01",
        ],
    )
    models = kb.build_models(bp)
    source = SOURCES.get("sequences").fn
    args = {"task": "reverse", "count": 300, "test_fraction": 1 / 3}
    train = source(SourceContext(bp, Path("."), 0, "train"), **args)
    test = source(SourceContext(bp, Path("."), 0, "test"), **args)
    assert (len(train), len(test)) == (200, 100)
    inputs = [train.x["source"], train.x["target"]]
    models["model"].fit(inputs, train.y, epochs=20, batch_size=16, verbose=0)
    decoded = greedy_decode(
        models["encoder"],
        models["decoder_step"],
        test.x["source"],
        start_token=start,
        end_token=end,
        max_length=length + 1,
    )
    accuracy = (decoded[:, :length] == test.y[:, :length]).mean()
    assert accuracy > 0.7, f"token accuracy {accuracy:.3f} (chance: 0.17)"
    assert (decoded[:, length] == end).mean() > 0.9  # it learned where to stop

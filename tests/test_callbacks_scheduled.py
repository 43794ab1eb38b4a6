"""Scheduled sampling: the ScheduledSampling layer, the teacher_forcing callback, the zoo model."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints.callbacks import CALLBACKS, CallbackContext
from keras_blueprints.callbacks._teacher_forcing import scheduled_ratio
from keras_blueprints.layers.scheduled_sampling import ScheduledSampling

V, START = 6, 5  # vocabulary, start token


def _teacher_forcing(**args):
    context = CallbackContext(blueprint=None, run_dir=".")
    return CALLBACKS.get("teacher_forcing").fn(context, **args)


# --- schedules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "args", "expected"),
    [
        ("linear", {"k": 0.25}, [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]),
        ("linear", {"k": 0.25, "end": 0.4}, [1.0, 0.75, 0.5, 0.4, 0.4, 0.4]),
        ("exponential", {"k": 0.5, "end": 0.2}, [1.0, 0.6, 0.4, 0.3, 0.25, 0.225]),
        # k / (k + exp(e / k)) with k = 5: 5/6, 5/(5 + e^0.2), ...
        ("inverse_sigmoid", {}, [0.833333, 0.803677, 0.770199, 0.73291, 0.69199, 0.647813]),
    ],
)
def test_schedules(schedule, args, expected):
    got = [scheduled_ratio(schedule, e, **args) for e in range(6)]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_schedule_arguments_are_checked():
    with pytest.raises(ValueError, match=r"0 < k < 1 for the exponential schedule. Received: k=2"):
        _teacher_forcing(schedule="exponential", k=2.0)
    with pytest.raises(ValueError, match="k >= 1 for the inverse_sigmoid schedule"):
        _teacher_forcing(k=0.5)
    with pytest.raises(ValueError, match=r"Expected 'start' in \[0, 1\]. Received: start=1.5"):
        _teacher_forcing(start=1.5)
    assert scheduled_ratio("inverse_sigmoid", 10_000, k=5.0) == 0.0  # no overflow


# --- the layer -----------------------------------------------------------------------


def _batch(batch: int = 4, steps: int = 5, seed: int = 0):
    """True decoder inputs (start, y1 .. y_{n-1}) and predictions whose argmax is known."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, START, (batch, steps))
    truth_ids = np.concatenate([np.full((batch, 1), START), labels[:, :-1]], axis=1)
    guesses = rng.integers(0, START, (batch, steps))
    predictions = 0.5 * np.eye(V)[guesses] + 0.1  # argmax = guesses, rows sum to 1.1
    return truth_ids, guesses, predictions.astype("float32")


def test_layer_in_inference_returns_the_ground_truth():
    truth_ids, _, predictions = _batch()
    truth = np.eye(V, dtype="float32")[truth_ids]
    layer = ScheduledSampling(ratio=0.0)
    np.testing.assert_array_equal(layer([truth, predictions]), truth)  # training unset
    np.testing.assert_array_equal(layer([truth, predictions], training=False), truth)


def test_layer_with_ratio_0_feeds_the_shifted_predictions():
    truth_ids, guesses, predictions = _batch()
    truth = np.eye(V, dtype="float32")[truth_ids]
    mixed = np.asarray(ScheduledSampling(ratio=0.0)([truth, predictions], training=True))
    expected = np.concatenate([truth_ids[:, :1], guesses[:, :-1]], axis=1)  # start token kept
    np.testing.assert_array_equal(mixed.argmax(-1), expected)
    np.testing.assert_array_equal(mixed.sum(-1), 1.0)  # still one-hot
    # Token ids (an Embedding decoder): the same, as ids.
    ids = ScheduledSampling(ratio=0.0)([truth_ids.astype("int32"), predictions], training=True)
    np.testing.assert_array_equal(ids, expected)
    assert np.asarray(ids).dtype == np.int32


def test_layer_with_ratio_1_is_teacher_forcing_and_mixes_in_between():
    truth_ids, guesses, predictions = _batch(batch=400, steps=11, seed=1)
    truth = np.eye(V, dtype="float32")[truth_ids]
    layer = ScheduledSampling(ratio=1.0, seed=3)
    np.testing.assert_array_equal(layer([truth, predictions], training=True), truth)
    layer.set_ratio(0.3)
    mixed = np.asarray(layer([truth, predictions], training=True)).argmax(-1)
    shifted = np.concatenate([truth_ids[:, :1], guesses[:, :-1]], axis=1)
    differ = truth_ids[:, 1:] != shifted[:, 1:]  # where keeping the truth is visible
    kept = (mixed[:, 1:] == truth_ids[:, 1:])[differ].mean()
    assert 0.27 < kept < 0.33  # each token kept with probability 0.3 (4,000 draws)
    assert ((mixed == truth_ids) | (mixed == shifted)).all()
    assert (mixed[:, 0] == START).all()


def test_layer_ratio_is_a_checked_non_trainable_variable_in_the_config():
    layer = ScheduledSampling(ratio=0.8, seed=1, name="mix")
    assert layer.ratio == 0.8
    layer.build([(None, None, V), (None, None, V)])
    assert [w.name for w in layer.non_trainable_weights] == [
        "ratio"
    ] and not layer.trainable_weights
    layer.set_ratio(0.25)
    config = layer.get_config()
    assert (config["ratio"], config["seed"], config["name"]) == (0.25, 1, "mix")
    assert ScheduledSampling.from_config(config).ratio == 0.25
    with pytest.raises(ValueError, match=r"Expected 'ratio' in \[0, 1\]. Received: ratio=1.2"):
        layer.set_ratio(1.2)
    with pytest.raises(ValueError, match="two tensors, \\[ground_truth, predictions\\]"):
        ScheduledSampling().build((None, 3, V))
    with pytest.raises(ValueError, match="the same vocabulary"):
        ScheduledSampling().build([(None, 3, V), (None, 3, V + 1)])


# --- the zoo blueprint trained with the callback -------------------------------------


def _reversal_task(n: int = 16, length: int = 4, seed: int = 0):
    """Reverse a sequence: source one-hot, decoder input <start> y1 .. y_{n-1}, labels y."""
    rng = np.random.default_rng(seed)
    source = rng.integers(0, START, (n, length))
    labels = source[:, ::-1]
    decoder_in = np.concatenate([np.full((n, 1), START), labels[:, :-1]], axis=1)
    eye = np.eye(V, dtype="float32")
    return {"source": eye[source], "target": eye[decoder_in]}, labels


class _RatioSeen(keras.callbacks.Callback):
    """Records the layer's ratio during the first batch of each epoch."""

    def __init__(self, layer):
        super().__init__()
        self.layer, self.seen = layer, []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.seen.append(self.layer.ratio)


def test_teacher_forcing_follows_the_schedule_and_the_model_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    model = kb.build(
        "zoo:seq2seq_lstm_scheduled", overrides=["params.vocabulary=6", "params.units=8"]
    )
    mixed = model.get_layer("mixed")
    assert isinstance(mixed, ScheduledSampling) and mixed.ratio == 1.0
    x, y = _reversal_task()
    # Teacher forcing (ratio 1) or inference: the second pass sees the true inputs,
    # so it computes what the first pass computes.
    np.testing.assert_allclose(model(x, training=True), model(x, training=False), atol=1e-6)
    callback = _teacher_forcing(schedule="linear", k=0.25)
    seen = _RatioSeen(mixed)
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[callback, seen])
    assert seen.seen == [1.0, 0.75, 0.5, 0.25]
    assert history.history["teacher_forcing_ratio"] == [1.0, 0.75, 0.5, 0.25]
    assert mixed.ratio == 0.25
    # Below 1, training feeds the model's own guesses: the outputs differ from inference.
    mixed.set_ratio(0.0)
    assert not np.allclose(model(x, training=True), model(x, training=False), atol=1e-4)
    mixed.set_ratio(0.25)
    model.save(tmp_path / "scheduled.keras")
    loaded = keras.models.load_model(tmp_path / "scheduled.keras")
    assert loaded.get_layer("mixed").ratio == 0.25
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_zoo_models_share_the_decoder_between_passes():
    models = kb.build_models("zoo:seq2seq_lstm_scheduled", compile=False)
    model, step = models["model"], models["decoder_step"]
    # seq2seq_lstm's 40,204 weights, used twice, plus the ratio variable.
    assert (model.count_params(), len(model.trainable_weights)) == (40_205, 8)
    assert step.get_layer("decoder") is model.get_layer("decoder")
    assert step.count_params() == 20_492


def test_teacher_forcing_needs_a_scheduled_sampling_layer():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="Expected a ScheduledSampling layer in model"):
        model.fit(np.zeros((2, 3)), np.zeros((2, 1)), verbose=0, callbacks=[_teacher_forcing()])

"""Greedy layer-wise pretraining of a stacked (denoising) autoencoder."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.resolve.schema import PretrainSpec
from keras_blueprints.training.pretrain import pretrain_layerwise

WHERE = Location("ae.yaml", 30, 5)

# 64 -> 32 -> 16 -> 32 -> 64, with a Dropout between the two encoders: in
# pretraining it belongs to "the layers below" pair 2, applied as at inference.
STACKED = """\
name: stacked
inputs:
  pixels: {shape: [64]}
graph:
  - name: enc1
    Dense: {units: 32, activation: sigmoid}
  - name: drop
    Dropout: {rate: 0.5}
  - name: enc2
    Dense: {units: 16, activation: sigmoid}
  - name: dec2
    Dense: {units: 32, activation: sigmoid}
  - name: dec1
    Dense: {units: 64, activation: sigmoid}
compile:
  optimizer: {Adam: {learning_rate: 0.01}}
  loss: mse
"""


def _digits(count: int = 256) -> np.ndarray:
    from sklearn.datasets import load_digits

    return (load_digits().data[:count] / 16.0).astype("float32")  # 8x8 pixels in [0, 1]


def _dataset(x: np.ndarray) -> tf.data.Dataset:
    # The shape data pipelines produce: (x dict keyed by input name, y) batches.
    return tf.data.Dataset.from_tensor_slices(({"pixels": x}, np.zeros(len(x)))).batch(32)


def _mse(a, b) -> float:
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


def _pair_errors(model: keras.Model, x: np.ndarray) -> tuple[float, float]:
    """Each pair's reconstruction error, computed from the model's layers directly."""
    enc1, enc2, dec2, dec1 = (model.get_layer(n) for n in ("enc1", "enc2", "dec2", "dec1"))
    h1 = enc1(x)  # the Dropout between is the identity at inference
    return _mse(dec1(enc1(x)), x), _mse(dec2(enc2(h1)), h1)


class _Flags(keras.callbacks.Callback):
    """Records the layers' trainable flags when each pair's fit begins."""

    def __init__(self, model: keras.Model) -> None:
        super().__init__()
        self.watched = model
        self.seen: list[dict[str, bool]] = []

    def on_train_begin(self, logs=None) -> None:
        self.seen.append({layer.name: layer.trainable for layer in self.watched.layers})


def test_pretraining_trains_each_pair_in_the_model_itself():
    model = kb.build(STACKED)
    model.get_layer("dec1").trainable = False  # frozen in the model: restored afterwards
    x = _digits()
    before_errors = _pair_errors(model, x)
    before = {n: model.get_layer(n).get_weights()[0].copy() for n in ("enc1", "enc2", "dec1")}
    initial = {n: model.get_layer(n).get_weights() for n in ("enc2", "dec2")}
    flags = _Flags(model)
    spec = PretrainSpec(pairs=(("enc1", "dec1"), ("enc2", "dec2")), epochs=6, noise=0.05)

    results = pretrain_layerwise(model, spec, _dataset(x), callbacks=[flags])

    assert [r["name"] for r in results] == ["enc1/dec1", "enc2/dec2"]
    for result in results:
        losses = result["history"]["loss"]
        assert len(losses) == 6
        assert losses[-1] < 0.8 * losses[0], result
    # Measured without noise, on the model's own layers: both errors went down.
    # Pair 2 started from the pretrained enc1 (a different h1 than at the start),
    # so its error before is measured with its initial weights and the final enc1.
    after_errors = _pair_errors(model, x)
    assert after_errors[0] < 0.6 * before_errors[0], (before_errors, after_errors)
    trained = {n: model.get_layer(n).get_weights() for n in ("enc2", "dec2")}
    for name in trained:
        model.get_layer(name).set_weights(initial[name])
    pair2_before = _pair_errors(model, x)[1]
    for name, weights in trained.items():
        model.get_layer(name).set_weights(weights)
    assert after_errors[1] < 0.6 * pair2_before, (pair2_before, after_errors)
    # Shared layers: the model's weights are the pretrained ones.
    for name, kernel in before.items():
        assert not np.allclose(model.get_layer(name).get_weights()[0], kernel), name
    # During each pair, its two layers were trainable (dec1 too); afterwards, as before.
    assert flags.seen[0]["enc1"] and flags.seen[0]["dec1"]
    assert flags.seen[1]["enc2"] and flags.seen[1]["dec2"]
    assert {layer.name: layer.trainable for layer in model.layers} == {
        "pixels": True,
        "enc1": True,
        "drop": True,
        "enc2": True,
        "dec2": True,
        "dec1": False,
    }


def test_fine_tuning_after_pretraining_and_saving(tmp_path):
    model = kb.build(STACKED)
    x = _digits(64)
    spec = PretrainSpec(pairs=(("enc1", "dec1"), ("enc2", "dec2")), epochs=1)
    plain = tf.data.Dataset.from_tensor_slices((x, x)).batch(32)  # x a tensor, not a dict
    results = pretrain_layerwise(model, spec, plain, optimizer="sgd")
    assert [len(r["history"]["loss"]) for r in results] == [1, 1]
    history = model.fit(x, x, epochs=2, batch_size=32, verbose=0)  # the model's own compile
    assert len(history.history["loss"]) == 2
    assert type(model.optimizer).__name__ == "Adam"
    path = tmp_path / "stacked.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_pairs_in_the_wrong_order_are_refused():
    model = kb.build(STACKED, compile=False)
    spec = PretrainSpec(pairs=(("enc2", "dec2"), ("enc1", "dec1")), location=WHERE)
    with pytest.raises(BlueprintError) as info:
        pretrain_layerwise(model, spec, _dataset(_digits(32)))
    assert str(info.value) == (
        "ae.yaml:30:5: error: pretraining pair 2: encoder 'enc1' does not come after "
        "encoder 'enc2' of pair 1 in the model.\n"
        "  Expected pairs listed outermost first (the encoder nearest the input first). "
        "Received: enc2, enc1."
    )


def test_a_decoder_that_does_not_mirror_its_encoder_is_refused():
    model = kb.build(STACKED, compile=False)
    spec = PretrainSpec(pairs=(("enc1", "dec2"), ("enc2", "dec1")), location=WHERE)
    with pytest.raises(BlueprintError) as info:
        pretrain_layerwise(model, spec, _dataset(_digits(32)))
    message = str(info.value)
    assert message.startswith(
        "ae.yaml:30:5: error: pretraining pair 1: decoder 'dec2' cannot take the output of "
        "encoder 'enc1'"
    )
    assert "Each pair is (encoder, its mirror decoder), outermost pair first." in message


def test_a_reconstruction_of_the_wrong_shape_is_refused():
    # enc2 keeps 32 units, so (enc2, dec1) composes, but dec1 gives 64 values, not 32.
    model = kb.build(STACKED, ["graph.enc2.Dense.units=32"], compile=False)
    spec = PretrainSpec(pairs=(("enc2", "dec1"),), location=WHERE)
    with pytest.raises(BlueprintError) as info:
        pretrain_layerwise(model, spec, _dataset(_digits(32)))
    assert str(info.value).startswith(
        "ae.yaml:30:5: error: pretraining pair 1: decoder 'dec1' does not reconstruct the input "
        "of encoder 'enc2'.\n  Expected output shape (32,). Received: output shape (64,)."
    )


def test_unknown_layer_names_suggest_the_closest():
    model = kb.build(STACKED, compile=False)
    spec = PretrainSpec(pairs=(("enc1", "dec_1"),), location=WHERE)
    with pytest.raises(BlueprintError) as info:
        pretrain_layerwise(model, spec, _dataset(_digits(32)))
    assert str(info.value).startswith("ae.yaml:30:5: error: 'dec_1' is not a layer of model")
    assert "Did you mean 'dec1'?" in str(info.value)


def test_the_training_data_must_be_a_dataset():
    model = kb.build(STACKED, compile=False)
    spec = PretrainSpec(pairs=(("enc1", "dec1"),))
    with pytest.raises(TypeError, match=r"needs a tf\.data\.Dataset of \(x, y\) batches"):
        pretrain_layerwise(model, spec, _digits(32))

"""Data augmentation as blueprint nodes: Keras' random preprocessing layers in a small CNN.

Augmentation layers are active only while training (``fit`` calls the model
with ``training=True``); at inference they pass the images through, so the
same model serves for training and prediction.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_blueprints as kb

# One blueprint with every augmentation: 12x12 RGB images in [0, 1] -> a
# random 8x8 crop -> a tiny CNN. Global average pooling takes any height and
# width, which matters for RandomCrop at inference (see below).
AUGMENTED = """\
name: augmented_cnn
inputs:
  image: {shape: [12, 12, 3]}
graph:
  - name: flip
    RandomFlip: {mode: horizontal_and_vertical, seed: 1}
  - name: rotate
    RandomRotation: {factor: 0.2, seed: 2}
  - name: translate
    RandomTranslation: {height_factor: 0.2, width_factor: 0.2, seed: 3}
  - name: zoom
    RandomZoom: {height_factor: 0.2, seed: 4}
  - name: contrast
    RandomContrast: {factor: 0.5, value_range: [0, 1], seed: 5}
  - name: brightness
    RandomBrightness: {factor: 0.3, value_range: [0, 1], seed: 6}
  - name: jitter
    RandomColorJitter:
      value_range: [0, 1]
      brightness_factor: 0.2
      contrast_factor: 0.2
      saturation_factor: 0.2
      hue_factor: 0.1
      seed: 7
  - name: noise
    GaussianNoise: {stddev: 0.1, seed: 8}
  - name: erase
    RandomErasing: {factor: 1.0, value_range: [0, 1], seed: 9}
  - name: crop
    RandomCrop: {height: 8, width: 8, seed: 10}
  - name: conv
    Conv2D: {filters: 4, kernel_size: 3, activation: relu}
  - name: pool
    GlobalAveragePooling2D: {}
  - name: classes
    Dense: {units: 3, activation: softmax}
compile:
  optimizer: adam
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
"""

AUGMENTATIONS = (
    "flip",
    "rotate",
    "translate",
    "zoom",
    "contrast",
    "brightness",
    "jitter",
    "noise",
    "erase",
)


@pytest.fixture(scope="module")
def model():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    yield kb.build(AUGMENTED)
    keras.backend.clear_session()


def _images(count: int = 4) -> np.ndarray:
    return np.random.default_rng(0).random((count, 12, 12, 3)).astype("float32")


def test_augmentations_are_the_identity_at_inference_and_change_images_in_training(model):
    x = _images()
    for name in AUGMENTATIONS:
        layer = model.get_layer(name)
        np.testing.assert_allclose(layer(x, training=False), x, err_msg=name)
        changed = np.asarray(layer(x, training=True))
        assert changed.shape == x.shape, name
        assert not np.allclose(changed, x), f"{name} left the images unchanged while training"
    # The whole chain before the crop, through the model's graph: identity at inference.
    chain = keras.Model(model.input, model.get_layer("erase").output)
    np.testing.assert_allclose(chain(x, training=False), x, rtol=1e-6)


def test_random_crop_crops_a_window_in_training_and_passes_through_at_inference(model):
    crop = model.get_layer("crop")
    x = _images(1)
    window = np.asarray(crop(x, training=True))
    assert window.shape == (1, 8, 8, 3)
    offsets = [
        (i, j)
        for i in range(5)
        for j in range(5)
        if np.allclose(window, x[:, i : i + 8, j : j + 8])
    ]
    assert len(offsets) == 1  # an 8x8 window of the image, not a resize
    # Keras 3.15 documents a centre crop at inference, but RandomCrop returns the
    # image unchanged (keras-team/keras#21868): the declared shape is 8x8, the real
    # one 12x12. Layers after it must take any size (here global pooling). When
    # Keras fixes it this assertion fails: then expect x[:, 2:10, 2:10].
    assert tuple(crop.output.shape) == (None, 8, 8, 3)
    np.testing.assert_allclose(crop(x, training=False), x)


def test_two_training_steps_then_a_round_trip_through_a_keras_file(model, tmp_path):
    x = _images(8)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    kernel = model.get_layer("conv").get_weights()[0].copy()
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 2
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(model.get_layer("conv").get_weights()[0], kernel)
    path = tmp_path / "augmented.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    for name in (*AUGMENTATIONS, "crop"):
        assert loaded.get_layer(name).get_config() == model.get_layer(name).get_config(), name
    # Inference is deterministic: the augmentations are off.
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(x, verbose=0))

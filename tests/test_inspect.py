"""The inspection methods: deconvnet unpooling, occlusion, saliency, Grad-CAM, filters."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_blueprints._core.errors import UsageError
from keras_blueprints.inspect.deconvnet import chain_layers, project, unpool
from keras_blueprints.inspect.figures import grid
from keras_blueprints.inspect.filters import feature_maps, first_kernels
from keras_blueprints.inspect.occlusion import occlusion_map
from keras_blueprints.inspect.saliency import grad_cam, saliency


def _cnn() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(6, 3, padding="same", name="conv2"),
            keras.layers.ReLU(name="relu2"),
            keras.layers.Flatten(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )


def test_unpool_puts_values_at_exactly_the_argmax_positions() -> None:
    x = tf.random.stateless_uniform((2, 6, 6, 3), seed=(1, 2))
    pooled, switches = tf.nn.max_pool_with_argmax(x, 2, 2, "VALID", include_batch_in_index=True)
    back = unpool(pooled, switches, tuple(x.shape)).numpy()
    xs = x.numpy()
    for b in range(2):
        for c in range(3):
            for i in range(3):
                for j in range(3):
                    window = xs[b, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, c]
                    got = back[b, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, c]
                    k = np.unravel_index(np.argmax(window), (2, 2))
                    assert got[k] == window[k]
                    assert np.count_nonzero(got) == 1


def test_deconvnet_projection_has_the_input_shape_and_is_nonzero() -> None:
    model = _cnn()
    image = np.random.default_rng(0).random((16, 16, 1)).astype("float32")
    out = project(model, image, "relu2")
    assert out["projection"].shape == (16, 16, 1)
    assert np.isfinite(out["projection"]).all()
    assert np.abs(out["projection"]).max() > 0
    assert out["activation"] > 0


def test_deconvnet_refuses_a_layer_it_cannot_invert() -> None:
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.AveragePooling2D(2, name="avg"),
            keras.layers.Conv2D(2, 3, name="conv"),
        ]
    )
    with pytest.raises(UsageError, match="'avg'"):
        chain_layers(model)


def test_unknown_layer_lists_the_valid_names() -> None:
    model = _cnn()
    with pytest.raises(UsageError) as info:
        project(model, np.zeros((16, 16, 1), "float32"), "conv9")
    assert "conv1, pool1, conv2, relu2" in str(info.value)


def test_saliency_and_grad_cam_shapes_are_finite() -> None:
    model = _cnn()
    image = np.random.default_rng(1).random((16, 16, 1)).astype("float32")
    sal = saliency(model, image, 1)
    cam = grad_cam(model, image, 1, "relu2")
    assert sal.shape == (16, 16) and np.isfinite(sal).all()
    assert cam.shape == (8, 8) and np.isfinite(cam).all() and (cam >= 0).all()


def test_filters_png_has_one_tile_per_kernel(tmp_path) -> None:
    model = _cnn()
    kernels = first_kernels(model)
    assert kernels.shape == (4, 3, 3, 1)
    assert grid(list(kernels), tmp_path / "f.png") == 4
    assert (tmp_path / "f.png").stat().st_size > 0
    assert feature_maps(model, np.zeros((16, 16, 1), "float32"), "pool1").shape == (8, 8, 4)


@pytest.fixture(scope="module")
def trained() -> tuple[keras.Model, np.ndarray]:
    """A tiny CNN telling a bright square from an empty image, a few epochs."""
    rng = np.random.default_rng(0)
    x = rng.random((256, 16, 16, 1)).astype("float32") * 0.2
    y = np.arange(256) % 2
    for k in np.flatnonzero(y):
        r, c = rng.integers(2, 9, size=2)
        x[k, r : r + 6, c : c + 6] = 1.0
    keras.utils.set_random_seed(0)
    model = _cnn()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    image = np.full((16, 16, 1), 0.1, "float32")
    image[4:10, 4:10] = 1.0
    return model, image


def test_occluding_the_object_lowers_its_probability_more(trained) -> None:
    model, image = trained
    probs = occlusion_map(model, image, 1, size=6, stride=2)
    assert probs.shape == (6, 6)
    on_object = probs[2, 2]  # the square over rows/cols 4..10
    on_background = probs[5, 5]  # rows/cols 10..16, empty
    assert on_object < on_background


def test_saliency_is_larger_on_the_object(trained) -> None:
    model, image = trained
    sal = saliency(model, image, 1)
    assert sal[4:10, 4:10].mean() > sal[11:, 11:].mean()


def test_layer_names_pick_a_node_or_its_last_inner_layer() -> None:
    from keras_blueprints.inspect.layers import pick_layers

    valid = ["pad1", "block1_conv1", "block1_pool", "block2_conv1", "block2_pool"]
    assert pick_layers(None, ["block1", "pad1"], valid) == ["block1_pool", "pad1"]
    assert pick_layers(None, None, valid) == ["block2_pool"]
    with pytest.raises(UsageError) as info:
        pick_layers(None, ["blok2"], valid)
    assert str(info.value).startswith("--layer: error: no layer 'blok2'")
    assert "Expected one of pad1, block1_conv1, block1_pool" in str(info.value)
    assert str(info.value).endswith("Did you mean 'block2_pool'?")


@pytest.mark.parametrize(
    ("method", "png"),
    [
        ("saliency", "saliency.png"),
        ("filters", "filters.png"),
        ("deconvnet", "deconvnet_relu2.png"),
    ],
)
def test_cli_writes_pngs_and_json_from_a_model_file(tmp_path, method, png) -> None:
    import json

    from keras_blueprints.cli import main

    model = _cnn()
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", np.random.default_rng(2).random((3, 16, 16, 1)).astype("float32"))
    out = tmp_path / "out"
    args = ["inspect", method, str(tmp_path / "m.keras"), "--data", str(tmp_path / "x.npy")]
    assert main([*args, "-o", str(out)]) == 0
    assert (out / png).stat().st_size > 0
    summary = json.loads((out / f"{method}.json").read_text())
    assert summary["files"] == [png]


def test_cli_model_file_without_data_is_a_usage_error(tmp_path) -> None:
    from keras_blueprints.cli import main

    _cnn().save(tmp_path / "m.keras")
    assert main(["inspect", "saliency", str(tmp_path / "m.keras")]) == 2

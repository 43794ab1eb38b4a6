"""The deconvnet over a data set: each feature map's top examples (Zeiler & Fergus 2014, Fig. 2)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from keras_blueprints.cli import main
from keras_blueprints.inspect.deconvnet import chain_layers, project
from keras_blueprints.inspect.inputs import load_examples
from keras_blueprints.inspect.top import crop, top_activations, unit_fields
from keras_blueprints.views.receptive import receptive_fields

# conv1 (3x3 same) -> 16x16, pool1 (2) -> 8x8, conv2 (3x3 valid) -> 6x6,
# pool2 (3x3, stride 2, same) -> 3x3: a unit of pool2 sees 12x12 pixels, 4 apart.
TINY_CNN = """\
name: tiny_cnn
inputs:
  image: {shape: [16, 16, 1]}
graph:
  - {name: conv1, Conv2D: {filters: 6, kernel_size: 3, padding: same, activation: relu}}
  - {name: pool1, MaxPooling2D: {pool_size: 2}}
  - {name: conv2, Conv2D: {filters: 8, kernel_size: 3, activation: relu}}
  - {name: pool2, MaxPooling2D: {pool_size: 3, strides: 2, padding: same}}
  - {name: flatten, Flatten: {}}
  - {name: probabilities, Dense: {units: 10, activation: softmax}}
compile:
  optimizer: {adam: {learning_rate: 0.01}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
data:
  source: digits
  batch_size: 64
train: {epochs: 1, seed: 0}
"""
SAMPLES = 150


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny CNN trained one epoch on digits, and its deconvnet --top 9 over 150 examples."""
    from keras_blueprints.training.run import train

    path = tmp_path_factory.mktemp("bp") / "tiny_cnn.yaml"
    path.write_text(TINY_CNN)
    run_dir = train(path, run_dir=tmp_path_factory.mktemp("runs") / "run", verbose=0).run_dir
    out = run_dir / "inspect" / "deconvnet-top"
    args = ["inspect", "deconvnet", str(run_dir), "--top", "9", "--samples", str(SAMPLES)]
    assert main([*args, "--layer", "conv2", "--layer", "pool2"]) == 0
    model, images, labels = load_examples(run_dir, samples=SAMPLES)
    summary = json.loads((out / "deconvnet-top.json").read_text())
    return model, images, labels, summary, out


def _maxima(model, images, name: str) -> np.ndarray:
    """Each example's highest activation in each map of ``name``, computed directly: (n, c)."""
    inner = keras.Model(model.inputs[0], model.get_layer(name).output)
    return np.asarray(inner(images, training=False)).max(axis=(1, 2))


@pytest.mark.parametrize("name", ["conv2", "pool2"])
def test_the_examples_are_the_top_9_of_the_data(run, name) -> None:
    model, images, labels, summary, _ = run
    assert len(images) == summary["examples"] == SAMPLES
    maxima = _maxima(model, images, name)
    rows = summary["layers"][name]
    assert len(rows) == 4
    best = np.sort(maxima.max(axis=0))[::-1][:4]  # the strongest maps are chosen
    got = [maxima[:, row["channel"]].max() for row in rows]
    np.testing.assert_allclose(got, best, rtol=1e-5)
    for row in rows:
        column = maxima[:, row["channel"]]
        found = row["examples"]
        assert len({hit["index"] for hit in found}) == 9
        activations = [hit["activation"] for hit in found]
        np.testing.assert_allclose(activations, np.sort(column)[::-1][:9], rtol=1e-5)
        np.testing.assert_allclose(activations, column[[h["index"] for h in found]], rtol=1e-5)
        assert [hit["label"] for hit in found] == [int(labels[h["index"]]) for h in found]


def test_the_activations_are_sorted(run) -> None:
    for rows in run[3]["layers"].values():
        for row in rows:
            activations = [hit["activation"] for hit in row["examples"]]
            assert activations == sorted(activations, reverse=True)


def test_the_png_is_written_and_not_blank(run) -> None:
    import matplotlib.image

    _, _, _, summary, out = run
    assert summary["files"] == ["deconvnet_top_conv2.png", "deconvnet_top_pool2.png"]
    for name in summary["files"]:
        pixels = matplotlib.image.imread(out / name)[..., :3]
        assert pixels.shape[1] > 2 * pixels.shape[0]  # 4 rows of 9 + 9 tiles
        assert pixels.std() > 0.05


@pytest.mark.parametrize("name", ["conv2", "pool2"])
def test_a_projection_is_zero_outside_the_receptive_field(run, name) -> None:
    model, images, _, summary, _ = run
    size = receptive_fields(model)[name].size
    for row in summary["layers"][name][:2]:
        for hit in row["examples"][:3]:
            back = project(model, images[hit["index"]], name, row["channel"])
            assert back["position"] == hit["position"]
            top, left, bottom, right = hit["box"]
            assert (bottom - top, right - left) == size
            outside = np.abs(back["projection"]).sum(axis=-1) > 0
            outside[max(top, 0) : bottom, max(left, 0) : right] = False
            assert not outside.any()
            assert np.abs(crop(back["projection"], hit["box"])).max() > 0


def test_unit_fields_by_hand() -> None:
    keras.backend.clear_session()
    model = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(2, 3, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool2"),
            keras.layers.ZeroPadding2D(((2, 0), (1, 0)), name="pad"),
            keras.layers.Conv2D(2, 2, name="conv3"),
        ]
    )
    chain = chain_layers(model)
    # conv1: 3 pixels from -1 (same padding 1); pool1: 4, jump 2; conv2: 8, from -1;
    # pool2 (6 -> 3, padding 0 before): 12, jump 4; pad: from -1 - 2*4, -1 - 1*4; conv3: 16.
    assert unit_fields(model, chain, "conv1").box((0, 0)) == (-1, -1, 2, 2)
    assert unit_fields(model, chain, "conv2").box((1, 2)) == (1, 3, 9, 11)
    assert unit_fields(model, chain, "pool2").box((2, 1)) == (7, 3, 19, 15)
    assert unit_fields(model, chain, "conv3").box((0, 0)) == (-9, -5, 7, 11)


def test_batches_do_not_change_the_ranking() -> None:
    keras.backend.clear_session()
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(3, 3, activation="relu", name="conv"),
            keras.layers.MaxPooling2D(2, name="pool"),
        ]
    )
    images = np.random.default_rng(4).random((23, 8, 8, 1)).astype("float32")
    whole = top_activations(model, images, ["conv", "pool"], top=6, batch_size=100)
    assert whole["conv"].values.shape == (6, 3) and whole["pool"].positions.shape == (6, 3, 2)
    for batch_size in (1, 7):
        batched = top_activations(model, images, ["conv", "pool"], top=6, batch_size=batch_size)
        for name in ("conv", "pool"):
            np.testing.assert_allclose(batched[name].values, whole[name].values, rtol=1e-6)
            np.testing.assert_array_equal(batched[name].indices, whole[name].indices)
            np.testing.assert_array_equal(batched[name].positions, whole[name].positions)
    # All equal (zero images, zero biases): the first examples, at the first position.
    ties = top_activations(model, np.zeros_like(images), ["conv"], top=4, batch_size=3)
    assert ties["conv"].indices.T.tolist() == [[0, 1, 2, 3]] * 3
    assert not ties["conv"].positions.any()


def test_top_is_only_for_the_deconvnet(tmp_path) -> None:
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c")])
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", np.zeros((2, 8, 8, 1), "float32"))
    args = ["inspect", "saliency", str(tmp_path / "m.keras"), "--data", str(tmp_path / "x.npy")]
    assert main([*args, "--top", "9"]) == 2
    assert main([*args, "--maps", "2"]) == 2

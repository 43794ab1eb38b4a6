"""What autoencoders, segmenters and sequence models are judged by (issue 15).

The numbers are checked against hand-worked cases or direct computations; the runs are
tiny zoo models trained an epoch or two, whose judgement must have the right kind and
the pictures it promises.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_blueprints.evaluation import reconstruction, segmentation, sequences
from keras_blueprints.evaluation.pictures import as_picture, drawable
from keras_blueprints.training.run import train

# -- the numbers, by hand ------------------------------------------------------------------


def test_iou_and_dice_per_class_by_hand():
    truth = np.array([[[0, 0, 1, 1], [0, 0, 1, 1]]])
    predicted = np.array([[[0, 1, 1, 1], [0, 0, 0, 1]]])
    matrix = segmentation.pixel_confusion(truth, predicted, 2)
    assert matrix.tolist() == [[3, 1], [1, 3]]
    found = segmentation.scores(matrix)
    assert found["iou"] == pytest.approx([3 / 5, 3 / 5])
    assert found["dice"] == pytest.approx([6 / 8, 6 / 8])
    assert found["pixel_accuracy"] == pytest.approx(6 / 8)
    # A class in neither truth nor prediction has no score and stays out of the means.
    absent = segmentation.scores(segmentation.pixel_confusion(truth, truth, 3))
    assert absent["iou"] == [1.0, 1.0, None] and absent["mean_iou"] == 1.0


def test_dice_is_never_below_iou():
    rng = np.random.default_rng(0)
    for _ in range(20):
        matrix = rng.integers(0, 50, size=(3, 3))
        found = segmentation.scores(matrix)
        for iou, dice in zip(found["iou"], found["dice"], strict=True):
            assert dice == pytest.approx(2 * iou / (1 + iou)) and dice >= iou


def test_mask_ids_from_sigmoids_softmaxes_and_ids():
    sigmoid = np.array([[[[0.2], [0.7]]]])
    assert segmentation.mask_ids(sigmoid, 2).tolist() == [[[0, 1]]]
    softmax = np.array([[[[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]]]])
    assert segmentation.mask_ids(softmax, 3).tolist() == [[[2, 0]]]


def test_pca_reconstruction_is_exact_at_full_rank_and_improves_with_components():
    rng = np.random.default_rng(1)
    train_x = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    test_x = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6))
    errors = [
        float(np.mean((reconstruction.pca_reconstruction(train_x, test_x, k) - test_x) ** 2))
        for k in range(1, 7)
    ]
    assert errors[-1] == pytest.approx(0.0, abs=1e-9)
    # On the training data itself, more components never reconstruct worse.
    own = [
        float(np.mean((reconstruction.pca_reconstruction(train_x, train_x, k) - train_x) ** 2))
        for k in range(1, 7)
    ]
    assert own == sorted(own, reverse=True)


def test_codes_in_two_dimensions_and_a_grid_over_them():
    codes = np.random.default_rng(2).normal(size=(100, 5))
    points, how = reconstruction.two_dimensions(codes)
    assert points.shape == (100, 2) and "principal" in how
    # The first principal component carries the most variance.
    assert points[:, 0].var() >= points[:, 1].var()
    grid, first, second = reconstruction.latent_grid(codes, 4)
    assert grid.shape == (16, 5)
    assert grid[0, 0] == pytest.approx(first[0]) and grid[3, 0] == pytest.approx(first[-1])
    assert grid[0, 1] == pytest.approx(second[-1])  # the top row holds the high values
    np.testing.assert_allclose(grid[:, 2:], np.tile(np.median(codes, 0)[2:], (16, 1)), rtol=1e-6)


def test_token_and_sequence_accuracy_by_hand():
    truth = np.array([[1, 2, 3], [4, 5, 6]])
    predicted = np.array([[1, 2, 3], [4, 0, 6]])
    assert sequences.accuracies(truth, predicted) == {
        "token_accuracy": pytest.approx(5 / 6),
        "sequence_accuracy": pytest.approx(0.5),
    }


def test_pictures_of_vectors_and_images():
    assert drawable(np.zeros(64)) and not drawable(np.zeros(10))
    assert drawable(np.zeros((8, 8, 1))) and not drawable(np.zeros((8, 8, 5)))
    assert as_picture(np.arange(4.0)).shape == (2, 2)
    assert as_picture(np.array([-2.0, 2.0, 0.0, 0.0])).max() == 1.0


# -- tiny zoo runs -------------------------------------------------------------------------


def _judged(run_dir):
    return json.loads((run_dir / "evaluation" / "evaluation.json").read_text())


def _png(path) -> bool:
    return path.is_file() and path.read_bytes()[:4] == b"\x89PNG"


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    overrides = ["params.units=[32]", "params.pixels=64", "train.epochs=2"]
    return train("zoo:vae", overrides, run_dir=tmp_path_factory.mktemp("vae") / "run", verbose=0)


def test_a_vae_is_judged_by_reconstructions_codes_a_latent_grid_and_pca(vae_run):
    run_dir = vae_run.run_dir
    judged = _judged(run_dir)
    assert judged["task"] == "reconstruction" and judged["split"] == "test"
    assert judged["code_size"] == 2
    assert judged["pca"]["components"] == 2
    assert judged["pca"]["autoencoder_mse"] == pytest.approx(judged["mse"])
    assert judged["pca"]["mse"] > 0
    for name in ("reconstructions.png", "codes.png", "latent_grid.png"):
        assert _png(run_dir / "evaluation" / name), name


def test_the_codes_are_coloured_by_the_digits_the_targets_hide():
    import keras_blueprints as kb
    from keras_blueprints.data.pipeline import make_datasets

    vae = make_datasets(kb.load("zoo:vae"), seed=0)
    labelled = make_datasets(kb.load("zoo:mlp"), seed=0)
    tags = vae.tags["test"]
    labels = np.concatenate([np.asarray(y) for _, y in labelled.unshuffled("test")])
    # The same test split, in the same order: the class of every test image.
    np.testing.assert_array_equal(tags, labels)


@pytest.fixture(scope="module")
def unet_run(tmp_path_factory):
    overrides = [
        "params.size=32",
        "params.filters=4",
        "params.depth=2",
        "data.source.shapes.count=48",
        "data.test=0.25",
        "train.epochs=1",
    ]
    return train("zoo:unet", overrides, run_dir=tmp_path_factory.mktemp("unet") / "run", verbose=0)


def test_a_segmenter_is_judged_by_iou_and_dice_per_class_and_its_masks(unet_run):
    run_dir = unet_run.run_dir
    judged = _judged(run_dir)
    assert judged["task"] == "segmentation" and judged["split"] == "test"
    assert len(judged["iou"]) == len(judged["dice"]) == 2
    for iou, dice in zip(judged["iou"], judged["dice"], strict=True):
        if iou is not None:
            assert dice >= iou
    # The shape class's IoU is the metric Keras measured on the same test split.
    assert judged["iou"][1] == pytest.approx(unet_run.metrics["test"]["iou"], abs=1e-4)
    assert judged["dice"][1] == pytest.approx(unet_run.metrics["test"]["dice"], abs=1e-4)
    assert _png(run_dir / "evaluation" / "masks.png")


@pytest.fixture(scope="module")
def seq2seq_run(tmp_path_factory):
    overrides = ["params.units=8", "data.source.sequences.count=200", "train.epochs=1"]
    folder = tmp_path_factory.mktemp("seq2seq")
    return train("zoo:seq2seq_lstm", overrides, run_dir=folder / "run", verbose=0)


def test_a_sequence_model_is_judged_by_token_and_sequence_accuracy_and_decoded_samples(
    seq2seq_run,
):
    run_dir = seq2seq_run.run_dir
    judged = _judged(run_dir)
    assert judged["task"] == "sequences"
    assert judged["token_accuracy"] == pytest.approx(
        seq2seq_run.metrics["test"]["accuracy"], abs=1e-4
    )
    assert judged["sequence_accuracy"] <= judged["token_accuracy"]
    assert judged["decoded"]["examples"] == judged["examples"]
    sample = judged["samples"][0]
    assert len(sample["target"]) == len(sample["forced"]) == len(sample["decoded"]) == 11
    text = (run_dir / "evaluation" / "samples.txt").read_text()
    assert text.startswith("sample 0\n  target ") and "  decoded " in text


def test_an_image_autoencoder_is_not_taken_for_a_segmenter(tmp_path):
    import keras
    import tensorflow as tf

    from keras_blueprints.evaluation import judge

    keras.backend.clear_session()
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs))
    rng = np.random.default_rng(0)
    grey = rng.uniform(size=(6, 8, 8, 1)).astype("float32")
    masks = (grey > 0.5).astype("float32")
    batches = tf.data.Dataset.from_tensor_slices((grey, grey)).batch(4)
    assert judge(model, batches, tmp_path / "ae")["task"] == "reconstruction"
    # The input itself as the target is an autoencoder even when its pixels are 0 or 1.
    same = tf.data.Dataset.from_tensor_slices((masks, masks)).batch(4)
    assert judge(model, same, tmp_path / "binary")["task"] == "reconstruction"
    # Class ids of the same size as the image, not the image: a segmenter.
    segmenting = tf.data.Dataset.from_tensor_slices((grey, masks)).batch(4)
    assert judge(model, segmenting, tmp_path / "seg")["task"] == "segmentation"
    assert (tmp_path / "seg" / "masks.png").is_file()


def test_evaluate_judges_a_vae_with_its_encoder_and_decoder_again(vae_run):
    from keras_blueprints.training.run import evaluate

    folder = vae_run.run_dir / "evaluation"
    for picture in folder.iterdir():
        picture.unlink()
    metrics = evaluate(vae_run.run_dir)
    judged = _judged(vae_run.run_dir)
    assert judged["mse"] == pytest.approx(metrics["test"]["mse"], rel=1e-4)
    assert _png(folder / "latent_grid.png") and _png(folder / "codes.png")

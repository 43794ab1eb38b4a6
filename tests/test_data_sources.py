"""Data sources: the built-in data sets and the file formats, read back with their errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.data import SOURCES, SourceContext

MLP = "inputs: {features: [64]}\ngraph: [{name: probabilities, Dense: {units: 10}}]\n"
IMAGE = "inputs: {{image: [{h}, {w}, {c}]}}\ngraph: [{{name: out, Conv2D: {{filters: {f}, kernel_size: 1}}}}]\n"  # noqa: E501


def call(name: str, blueprint: str, split: str = "train", seed: int = 0, base=".", **args):
    bp = kb.load(blueprint)
    return SOURCES.get(name).fn(SourceContext(bp, Path(base), seed, split), **args)


def image_bp(h=8, w=8, c=1, filters=1) -> str:
    return IMAGE.format(h=h, w=w, c=c, f=filters)


# --- digits ---------------------------------------------------------------------------


def test_digits_flat_splits_are_stratified_and_total_1797():
    train, test = call("digits", MLP), call("digits", MLP, "test")
    assert call("digits", MLP, "validation") is None  # no validation_fraction
    assert (len(train), len(test)) == (1438, 359)  # 1,797 in all, 20 % test
    x = train.x["features"]
    assert x.shape == (1438, 64) and x.dtype == np.float32 and train.y.dtype == np.int32
    assert x.min() == 0.0 and x.max() == 1.0
    counts = Counter(test.y.tolist())
    assert sorted(counts) == list(range(10)) and min(counts.values()) >= 35  # ~36 per class
    with_val = [call("digits", MLP, s, validation_fraction=0.1) for s in ("train", "validation")]
    assert [len(e) for e in with_val] == [1258, 180]


def test_digits_are_deterministic_given_the_seed():
    a, b, c = (call("digits", MLP, seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.x["features"], b.x["features"])
    assert not np.array_equal(a.y, c.y)


def test_digits_resized_for_lenet5_and_replicated_to_rgb():
    grey = call("digits", "zoo:lenet5", "test")
    assert grey.x["image"].shape == (359, 32, 32, 1)
    flat = call("digits", MLP, "test")
    # Bilinear 8 -> 32 keeps the mean intensity of each image roughly.
    np.testing.assert_allclose(
        grey.x["image"].mean(axis=(1, 2, 3)), flat.x["features"].mean(axis=1), atol=0.03
    )
    rgb = call("digits", image_bp(8, 8, 3), "test")
    assert rgb.x["image"].shape == (359, 8, 8, 3)
    np.testing.assert_array_equal(rgb.x["image"][..., 0], rgb.x["image"][..., 2])
    np.testing.assert_array_equal(rgb.x["image"][..., 0].reshape(359, 64), flat.x["features"])
    forced = call("digits", image_bp("null", "null", 1), "test", image_size=16)
    assert forced.x["image"].shape == (359, 16, 16, 1)


def test_digits_autoencoder_targets_and_square_vectors():
    ex = call("digits", "zoo:autoencoder_dense", "test", target="inputs")
    assert ex.x["pixels"].shape == (359, 784)  # 28 x 28, flattened
    np.testing.assert_array_equal(ex.y, ex.x["pixels"])


def test_digits_refuses_inputs_it_cannot_fill():
    with pytest.raises(BlueprintError) as info:
        call("digits", MLP.replace("[64]", "[50]"))
    assert info.value.message == "source 'digits' cannot fill input 'features' of shape [50]"
    assert info.value.received == "50 features"
    with pytest.raises(BlueprintError, match="with 2 channels"):
        call("digits", image_bp(8, 8, 2))
    with pytest.raises(BlueprintError, match="must be a fraction in"):
        call("digits", MLP, test_fraction=1.5)


# --- generated data ---------------------------------------------------------------------


def test_spirals_balanced_deterministic_two_arms():
    bp = "inputs: {p: [2]}\ngraph: [{name: o, Dense: {units: 3}}]\n"
    ex = call("spirals", bp, classes=3, points_per_class=50, noise=0.0)
    assert ex.x["p"].shape == (120, 2) and ex.x["p"].dtype == np.float32
    assert Counter(ex.y.tolist()) == {0: 40, 1: 40, 2: 40}  # stratified 80 %
    radius = np.linalg.norm(ex.x["p"], axis=1)
    assert radius.max() <= 1.0 + 1e-6 and radius.min() >= 0.05 - 1e-6  # no noise: on the arms
    again = call("spirals", bp, classes=3, points_per_class=50, noise=0.0)
    np.testing.assert_array_equal(ex.x["p"], again.x["p"])
    with pytest.raises(BlueprintError, match="makes 2-D points"):
        call("spirals", MLP)


def test_shapes_images_and_masks():
    bp = image_bp(16, 16, 3, filters=4)
    ex = call("shapes", bp, count=20, test_fraction=0.25)
    assert ex.x["image"].shape == (15, 16, 16, 3) and ex.y.shape == (15, 16, 16, 1)
    assert ex.y.dtype == np.int32 and set(np.unique(ex.y)) <= {0, 1, 2, 3}
    assert set(np.unique(ex.y)) >= {0, 1, 2}  # background and at least two kinds
    covered = (ex.y > 0).mean()
    assert 0.05 < covered < 0.6
    # Shape pixels are bright (0.6..1 before noise), the background dark (0..0.3).
    image = ex.x["image"]
    assert image[ex.y[..., 0] > 0].mean() > image[ex.y[..., 0] == 0].mean() + 0.4
    binary = call("shapes", image_bp(16, 16, 1, filters=1), count=20)  # auto: one channel
    assert set(np.unique(binary.y)) == {0, 1}
    hot = call("shapes", bp, count=20, mask="one_hot", classes=2)
    assert hot.y.shape == (16, 16, 16, 3) and hot.y.dtype == np.float32
    np.testing.assert_array_equal(hot.y.sum(-1), 1.0)
    again = call("shapes", bp, count=20, test_fraction=0.25)
    np.testing.assert_array_equal(again.x["image"], ex.x["image"])


@pytest.mark.parametrize("task", ["reverse", "sort", "copy"])
def test_sequences_follow_the_seq2seq_zoo_conventions(task):
    ex = call("sequences", "zoo:seq2seq_lstm", "test", count=40, task=task)
    source, target = ex.x["source"], ex.x["target"]
    assert source.shape == (8, 10, 12) and target.shape == (8, 11, 12)  # length 10, V = 12
    tokens, shifted, labels = source.argmax(-1), target.argmax(-1), ex.y
    answer = {"reverse": tokens[:, ::-1], "sort": np.sort(tokens, 1), "copy": tokens}[task]
    assert tokens.max() <= 9  # symbols 0..V-3
    np.testing.assert_array_equal(shifted[:, 0], 10)  # the start token V-2
    np.testing.assert_array_equal(shifted[:, 1:], answer)  # teacher forcing
    np.testing.assert_array_equal(labels[:, :10], answer)
    np.testing.assert_array_equal(labels[:, 10], 11)  # the end token V-1


def test_sequences_token_ids_and_vocabulary_checks():
    ids = (
        "inputs: {source: {shape: [null], dtype: int32}, target: {shape: [null], dtype: int32}}\n"
        "graph:\n"
        "  - {name: e, from: source, Embedding: {input_dim: 7, output_dim: 2}}\n"
        "  - {name: d, from: target, Embedding: {input_dim: 7, output_dim: 2}}\n"
        "  - {name: s, from: [e, d], Concatenate: {axis: 1}}\n"
    )
    ex = call("sequences", ids, count=10, vocabulary=7, length=4)
    assert ex.x["source"].shape == (8, 4) and ex.x["source"].dtype == np.int32
    assert ex.x["target"][:, 0].tolist() == [5] * 8
    with pytest.raises(BlueprintError, match="cannot tell the vocabulary size"):
        call("sequences", ids, count=10)
    with pytest.raises(BlueprintError) as info:
        call("sequences", "zoo:seq2seq_lstm", count=10, vocabulary=9)
    assert info.value.expected == "vocabulary 12 (from the inputs' shapes)"


# --- files ----------------------------------------------------------------------------


def test_npz_by_input_and_output_names_or_x_y(tmp_path):
    x = np.arange(12, dtype="float32").reshape(3, 4)
    np.savez(tmp_path / "named.npz", features=x, probabilities=np.array([0, 1, 2]))
    np.savez(tmp_path / "plain.npz", x=x, y=np.array([2, 1, 0]))
    np.savez(tmp_path / "other.npz", a=x, b=np.array([1, 1, 1]))
    bp = MLP.replace("[64]", "[4]")
    named = call("npz", bp, base=tmp_path, path="named.npz")
    np.testing.assert_array_equal(named.x["features"], x)
    assert named.y.tolist() == [0, 1, 2]
    assert call("npz", bp, base=tmp_path, path="plain.npz").y.tolist() == [2, 1, 0]
    keyed = call("npz", bp, base=tmp_path, path="other.npz", x="a", y="b")
    assert keyed.y.tolist() == [1, 1, 1] and keyed.size == 3
    assert call("npz", bp, "test", base=tmp_path, path="plain.npz") is None
    with pytest.raises(BlueprintError) as info:
        call("npz", bp, base=tmp_path, path="other.npz")
    assert info.value.message == "npz file has no arrays named after the blueprint's inputs"
    assert info.value.received.endswith("other.npz holding a, b")


def test_missing_file_names_the_resolved_path(tmp_path):
    with pytest.raises(BlueprintError) as info:
        call("npz", MLP, base=tmp_path, path="nope.npz")
    assert info.value.message == "the file of source 'npz' does not exist"
    assert info.value.received == str(tmp_path / "nope.npz")


def test_npy_pair(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 64), "float32"))
    np.save(tmp_path / "y.npy", np.arange(5))
    ex = call("npy", MLP, base=tmp_path, x="x.npy", y="y.npy")
    assert ex.x["features"].shape == (5, 64) and ex.y.tolist() == [0, 1, 2, 3, 4]
    np.save(tmp_path / "short.npy", np.arange(4))
    with pytest.raises(BlueprintError, match="different numbers of examples"):
        call("npy", MLP, base=tmp_path, x="x.npy", y="short.npy")


def test_csv_features_labels_and_bad_cells(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,label,c\n1,2,0,3\n4.5,5,1,6\n7,8,1,9\n")
    bp = MLP.replace("[64]", "[3]")
    ex = call("csv", bp, base=tmp_path, path="t.csv")
    np.testing.assert_array_equal(ex.x["features"], [[1, 2, 3], [4.5, 5, 6], [7, 8, 9]])
    assert ex.y.dtype == np.int32 and ex.y.tolist() == [0, 1, 1]
    picked = call("csv", bp, base=tmp_path, path="t.csv", features=["c", "a", "b"])
    assert picked.x["features"][0].tolist() == [3, 1, 2]
    (tmp_path / "bad.csv").write_text("a,b,label,c\n1,2,0,3\n4,five,1,6\n")
    with pytest.raises(BlueprintError) as info:
        call("csv", bp, base=tmp_path, path="bad.csv")
    assert str(info.value).splitlines()[0] == (
        f"{tmp_path / 'bad.csv'}:3:3: error: cell of column 'b' is not a number."
    )
    assert "five" not in str(info.value)  # rows and columns are named, cells never shown
    with pytest.raises(BlueprintError, match=r"'lable' is not a column of t\.csv"):
        call("csv", bp, base=tmp_path, path="t.csv", label="lable")


def test_csv_errors_never_echo_the_files_content(tmp_path):
    secret = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/bin/sh\n"
    (tmp_path / "passwd").write_text(secret)
    bp = MLP.replace("[64]", "[3]")
    for args in ({"delimiter": ":"}, {}, {"delimiter": ":", "label": "root"}):
        with pytest.raises(BlueprintError) as info:
            call("csv", bp, base=tmp_path, path="passwd", **args)
        shown = str(info.value)
        assert not any(word in shown for word in ("bash", "/root", "daemon", "sbin")), shown
        assert info.value.location.file == str(tmp_path / "passwd")
    (tmp_path / "ragged.csv").write_text("a,b,label\n1,2,0\n1,secret,2,3\n")
    with pytest.raises(BlueprintError) as info:
        call("csv", bp, base=tmp_path, path="ragged.csv")
    assert info.value.location.line == 3 and "secret" not in str(info.value)


@pytest.mark.parametrize(
    ("content", "line"),
    [(b"a,b,label\n1,2,0\n\xff\xfe\x00\x01\n", 3), (b"a,b,label\n1,\x002,0\n", 2)],
)
def test_binary_csv_is_a_located_error(tmp_path, content, line):
    (tmp_path / "bin.csv").write_bytes(content)
    with pytest.raises(BlueprintError) as info:
        call("csv", MLP.replace("[64]", "[2]"), base=tmp_path, path="bin.csv")
    assert info.value.location.file == str(tmp_path / "bin.csv")
    assert info.value.location.line == line


@pytest.mark.parametrize("kind", ["npz", "npy"])
def test_numpy_paths_that_are_folders_or_not_numpy_files_are_blueprint_errors(tmp_path, kind):
    (tmp_path / "folder").mkdir()
    (tmp_path / "text.txt").write_text("not numpy\n" * 10)
    np.save(tmp_path / "array.npy", np.ones((2, 64)))
    np.savez(tmp_path / "archive.npz", x=np.ones((2, 64)))
    wrong = {"npz": "array.npy", "npy": "archive.npz"}[kind]
    for path in ("folder", "text.txt", wrong):
        args = {"path": path} if kind == "npz" else {"x": path, "y": path}
        with pytest.raises(BlueprintError) as info:
            call(kind, MLP, base=tmp_path, **args)
        assert f"source '{kind}'" in info.value.message, info.value.message


def test_images_folder_of_class_folders(tmp_path):
    import keras

    rng = np.random.default_rng(0)
    for label, name in enumerate(["cat", "dog"]):
        (tmp_path / "pics" / name).mkdir(parents=True)
        for i in range(2 + label):
            pixels = np.full((6, 6, 3), 60 + 120 * label, "uint8") + rng.integers(0, 5, (6, 6, 3))
            keras.utils.save_img(tmp_path / "pics" / name / f"{i}.png", pixels, scale=False)
    ex = call("images", image_bp(4, 4, 1), base=tmp_path, directory="pics")
    assert ex.size == 5 and not ex.is_arrays
    items = list(ex.dataset.as_numpy_iterator())
    labels = [int(y) for _, y in items]
    assert labels == [0, 0, 1, 1, 1]  # class folders in alphabetical order
    images = np.stack([x["image"] for x, _ in items])
    assert images.shape == (5, 4, 4, 1) and images.max() <= 1.0
    assert images[:2].mean() < 0.3 < 0.6 < images[2:].mean()  # 60/255 vs 180/255


def test_tfrecord_features_by_input_name(tmp_path):
    import tensorflow as tf

    path = tmp_path / "d.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i in range(4):
            feature = {
                "features": tf.train.Feature(float_list=tf.train.FloatList(value=[i, i + 0.5])),
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 2])),
            }
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())
    features = {"features": {"shape": [2], "dtype": "float32"}, "label": {"dtype": "int64"}}
    ex = call("tfrecord", MLP.replace("[64]", "[2]"), base=tmp_path, files="*.tfrecord",
              features=features)  # fmt: skip
    assert ex.size == 4
    items = list(ex.dataset.as_numpy_iterator())
    assert [x["features"].tolist() for x, _ in items][1] == [1.0, 1.5]
    assert [int(y) for _, y in items] == [0, 1, 0, 1]
    with pytest.raises(BlueprintError, match="declares no feature 'features'"):
        call("tfrecord", MLP, base=tmp_path, files="d.tfrecord", features={"label": {}})

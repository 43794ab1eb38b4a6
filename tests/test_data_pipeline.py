"""The data pipeline: batching, seeded shuffling, held-out fractions, label noise, the checks
made before training, and a short fit on every built-in data set."""

from __future__ import annotations

import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.data import Datasets, make_datasets
from keras_blueprints.resolve.schema import DataSpec, SourceSpec, freeze

MLP = (
    "inputs: {features: [64]}\n"
    "graph:\n"
    "  - {name: hidden, Dense: {units: 16, activation: relu}}\n"
    "  - {name: probabilities, Dense: {units: 10, activation: softmax}}\n"
    "compile: {optimizer: {adam: {learning_rate: 0.01}}, loss: sparse_categorical_crossentropy,"
    " metrics: [accuracy]}\n"
)
HERE = Location("train.yaml", 3, 3)


def data(kind="digits", args=None, **fields) -> DataSpec:
    source = SourceSpec(kind, freeze(args or {}), HERE)
    return DataSpec(source=source, location=Location("train.yaml", 2, 1), **fields)


def first(ds):
    x, y = next(iter(ds))
    return x.numpy(), y.numpy()


def epoch_labels(ds) -> np.ndarray:
    return np.concatenate([y.numpy() for _, y in ds])


def test_batches_sizes_and_splits():
    bp = kb.load(MLP)
    sets = make_datasets(bp, data(batch_size=100, validation=0.1), seed=0)
    assert isinstance(sets, Datasets) and sets.batch_size == 100
    # digits: 1,797 -> 359 test (its own split), 1,438 train -> 144 validation, 1,294 train.
    assert sets.sizes == {"train": 1294, "validation": 144, "test": 359}
    assert sets.train_size == 1294
    sizes = [int(y.shape[0]) for _, y in sets.train]
    assert sizes == [100] * 12 + [94]
    x, y = first(sets.validation)
    assert x.shape == (100, 64) and y.shape == (100,)
    assert make_datasets(bp, data(batch_size=100), batch_size=7).batch_size == 7  # argument wins


def test_shuffling_is_seeded_and_reshuffles_each_epoch():
    bp = kb.load(MLP)
    a, b, c = (make_datasets(bp, data(shuffle=2048), seed=s).train for s in (1, 1, 2))
    epoch1, epoch2 = epoch_labels(a), epoch_labels(a)
    np.testing.assert_array_equal(epoch1, epoch_labels(b))  # same seed, same order
    assert not np.array_equal(epoch1, epoch2)  # a new order every epoch
    assert not np.array_equal(epoch1, epoch_labels(c))
    np.testing.assert_array_equal(np.sort(epoch1), np.sort(epoch2))  # the same examples
    unshuffled = make_datasets(bp, data(shuffle=0), seed=1)
    np.testing.assert_array_equal(epoch_labels(unshuffled.train), epoch_labels(unshuffled.train))


def test_fractions_hold_out_disjoint_seeded_shares(tmp_path):
    x = np.arange(200, dtype="float32")[:, None] * np.ones((1, 4), "float32")
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(200) % 10)
    bp = kb.load(MLP.replace("[64]", "[4]"))
    spec = data("npz", {"path": "d.npz"}, validation=0.1, test=0.25, shuffle=0)
    sets = make_datasets(bp, spec, base_dir=tmp_path, seed=3)
    assert sets.sizes == {"train": 130, "validation": 20, "test": 50}
    ids = {
        split: np.concatenate([b[0][:, 0].numpy() for b in getattr(sets, split)])
        for split in ("train", "validation", "test")
    }
    union = np.concatenate(list(ids.values()))
    assert sorted(union.tolist()) == list(range(200))  # disjoint and complete
    again = make_datasets(bp, spec, base_dir=tmp_path, seed=3)
    np.testing.assert_array_equal(epoch_labels(again.test), epoch_labels(sets.test))
    other = make_datasets(bp, spec, base_dir=tmp_path, seed=4)
    assert not np.array_equal(epoch_labels(other.test), epoch_labels(sets.test))
    with pytest.raises(BlueprintError, match="leave no training examples"):
        make_datasets(
            bp, data("npz", {"path": "d.npz"}, validation=0.5, test=0.5), base_dir=tmp_path
        )


def test_label_noise_flips_the_share_asked_to_other_classes():
    bp = kb.load(MLP)
    clean = epoch_labels(make_datasets(bp, data(shuffle=0), seed=5).train)
    noisy = make_datasets(bp, data(shuffle=0, label_noise=0.3), seed=5)
    first_epoch, second_epoch = epoch_labels(noisy.train), epoch_labels(noisy.train)
    rate = (first_epoch != clean).mean()
    assert 0.26 < rate < 0.34, rate  # 1,438 labels: 3 standard deviations is 0.036
    assert first_epoch.min() >= 0 and first_epoch.max() <= 9
    assert not np.array_equal(first_epoch, second_epoch)  # new flips every epoch
    replay = make_datasets(bp, data(shuffle=0, label_noise=0.3), seed=5)
    np.testing.assert_array_equal(epoch_labels(replay.train), first_epoch)  # seeded
    held = epoch_labels(noisy.test)
    np.testing.assert_array_equal(held, epoch_labels(make_datasets(bp, data(), seed=5).test))


def test_label_noise_needs_integer_labels():
    bp = kb.load(MLP.replace("[64]", "[784]"))
    with pytest.raises(BlueprintError) as info:
        make_datasets(bp, data(args={"target": "inputs"}, label_noise=0.1))
    assert str(info.value).startswith(
        "train.yaml:2:1: error: label_noise needs integer class labels."
    )


def test_sample_is_a_fixed_numpy_batch():
    sets = make_datasets(kb.load(MLP), data(batch_size=16, label_noise=0.5))
    x, y = sets.sample("validation")  # no validation: falls back to the training data
    x2, y2 = sets.sample("validation", count=40)
    assert x.shape == (16, 64) and y.shape == (16,) and y2.shape == (40,)
    np.testing.assert_array_equal(y2[:16], y)  # the same first examples, no noise
    np.testing.assert_array_equal(x2[:16], x)
    assert isinstance(x, np.ndarray)
    assert sets.sample("test", 5)[1].shape == (5,)


# --- checks before training -------------------------------------------------------------


def test_no_data_is_an_error():
    bp = kb.load(MLP)
    with pytest.raises(BlueprintError) as info:
        make_datasets(bp)
    assert info.value.message == "no training data: add a data: section or pass --data"


def test_wrong_image_size_names_input_and_shapes():
    bp = kb.load("zoo:lenet5")
    with pytest.raises(BlueprintError) as info:
        make_datasets(bp, data(args={"image_size": 8}))
    err = info.value
    assert err.message == "data for input 'image' has the wrong shape"
    assert (err.expected, err.received) == ("(None, 32, 32, 1)", "(None, 8, 8, 1)")
    assert str(err).startswith("train.yaml:3:3: error:")
    assert "image_size" in err.hint


def test_missing_and_extra_inputs(tmp_path):
    np.savez(tmp_path / "d.npz", featurs=np.ones((4, 64)), y=np.zeros(4, "int32"))
    bp = kb.load(MLP)
    with pytest.raises(BlueprintError) as info:
        make_datasets(bp, data("npz", {"path": "d.npz", "x": {"featurs": "featurs"}}),
                      base_dir=tmp_path)  # fmt: skip
    assert info.value.message == "the train data has nothing for input 'features'"
    assert info.value.hint.startswith("Did you mean 'featurs'?")
    two = kb.load(
        "inputs: {features: [64], extra: [2]}\n"
        "graph: [{name: both, from: [features, extra], Concatenate: {}}]\n"
    )
    np.savez(tmp_path / "e.npz", features=np.ones((4, 64)), extr=np.ones((4, 2)), y=np.zeros(4))
    keys = {"x": {"features": "features", "extr": "extr"}}
    with pytest.raises(BlueprintError) as info:
        make_datasets(two, data("npz", {"path": "e.npz", **keys}), base_dir=tmp_path)
    assert info.value.message == "the train data has nothing for input 'extra'"
    assert info.value.hint.startswith("Did you mean 'extr'?")
    with pytest.raises(BlueprintError) as info:
        make_datasets(bp, data("npz", {"path": "e.npz", **keys}), base_dir=tmp_path)
    assert info.value.message == (
        "the train data has an input the blueprint does not declare: 'extr'"
    )
    assert info.value.hint.startswith("leave them out of the data")


def test_dtype_errors_and_int_to_float_casts(tmp_path):
    np.savez(tmp_path / "ints.npz", x=np.ones((4, 64), "int64"), y=np.zeros(4, "int32"))
    sets = make_datasets(kb.load(MLP), data("npz", {"path": "ints.npz"}), base_dir=tmp_path)
    assert first(sets.train)[0].dtype == np.float32  # cast, not refused
    ids = kb.load(
        "inputs: {tokens: {shape: [3], dtype: int32}}\n"
        "graph: [{name: e, Embedding: {input_dim: 5, output_dim: 2}}]\n"
    )
    np.savez(tmp_path / "floats.npz", x=np.ones((4, 3), "float32"), y=np.zeros(4))
    with pytest.raises(BlueprintError) as info:
        make_datasets(ids, data("npz", {"path": "floats.npz"}), base_dir=tmp_path)
    assert info.value.message == (
        "data for input 'tokens' has dtype float32: float data would be truncated by an integer "
        "input"
    )
    np.savez(tmp_path / "strings.npz", x=np.array([["a"] * 64] * 4), y=np.zeros(4))
    with pytest.raises(BlueprintError, match="strings are not numbers"):
        make_datasets(kb.load(MLP), data("npz", {"path": "strings.npz"}), base_dir=tmp_path)


def test_targets_checked_against_the_model(tmp_path):
    bp = kb.load(MLP)
    model = kb.build(bp)
    np.savez(tmp_path / "d.npz", x=np.ones((4, 64)), y=np.array([0, 3, 12, 1]))
    with pytest.raises(BlueprintError) as info:
        make_datasets(bp, data("npz", {"path": "d.npz"}), base_dir=tmp_path, model=model)
    assert info.value.message == "label 12 for 10 classes in the train data"
    seg = kb.load(
        "inputs: {image: [32, 32, 1]}\n"
        "graph: [{name: mask, Conv2D: {filters: 1, kernel_size: 1, activation: sigmoid}}]\n"
    )
    np.savez(tmp_path / "m.npz", x=np.ones((2, 32, 32, 1)), y=np.ones((2, 64, 64, 1)))
    with pytest.raises(BlueprintError) as info:
        make_datasets(seg, data("npz", {"path": "m.npz"}), base_dir=tmp_path, model=kb.build(seg))
    assert info.value.message == "targets for output 'mask' have the wrong shape"
    assert info.value.received == "(None, 64, 64, 1)"
    np.savez(tmp_path / "nolabels.npz", x=np.ones((2, 64)))
    with pytest.raises(BlueprintError, match="the training data has no targets"):
        make_datasets(bp, data("npz", {"path": "nolabels.npz"}), base_dir=tmp_path, model=model)


def test_source_errors_point_at_the_source_yaml(tmp_path):
    with pytest.raises(BlueprintError) as info:
        make_datasets(kb.load(MLP), data("npz", {"path": "missing.npz"}), base_dir=tmp_path)
    assert str(info.value).splitlines()[0] == (
        "train.yaml:3:3: error: the file of source 'npz' does not exist (in data source 'npz')."
    )


# --- a short fit on every built-in data set ---------------------------------------------

SPIRALS = (
    "inputs: {point: [2]}\n"
    "graph:\n"
    "  - {name: h1, Dense: {units: 32, activation: tanh}}\n"
    "  - {name: h2, Dense: {units: 32, activation: tanh}}\n"
    "  - {name: probabilities, Dense: {units: 2, activation: softmax}}\n"
    "compile: {optimizer: {adam: {learning_rate: 0.02}}, loss: sparse_categorical_crossentropy,"
    " metrics: [accuracy]}\n"
)
SHAPES = (
    "inputs: {image: [16, 16, 1]}\n"
    "graph:\n"
    "  - {name: c1, Conv2D: {filters: 8, kernel_size: 3, padding: same, activation: relu}}\n"
    "  - {name: c2, Conv2D: {filters: 8, kernel_size: 3, padding: same, activation: relu}}\n"
    "  - {name: mask, Conv2D: {filters: 4, kernel_size: 1, activation: softmax}}\n"
    "compile: {optimizer: {adam: {learning_rate: 0.01}}, loss: sparse_categorical_crossentropy}\n"
)

FITS = {
    # name: (blueprint, overrides, source args, epochs)
    "digits": (MLP, [], {}, 3),
    "spirals": (SPIRALS, [], {"points_per_class": 100, "turns": 0.5}, 30),
    "shapes": (SHAPES, [], {"count": 64}, 4),
    "sequences": (
        "zoo:seq2seq_lstm",
        ["params.units=16", "params.length=5", "compile.optimizer.adam.learning_rate=0.02"],
        {"count": 128, "task": "copy"},
        10,
    ),
}


@pytest.mark.parametrize("name", sorted(FITS))
def test_short_fit_on_each_built_in_data_set_learns(name):
    import keras

    text, overrides, args, epochs = FITS[name]
    keras.utils.set_random_seed(0)
    bp = kb.load(text, overrides)
    model = kb.build(bp)
    sets = make_datasets(bp, data(name, args, batch_size=32), model=model)
    history = model.fit(sets.train, epochs=epochs, verbose=0, shuffle=False).history["loss"]
    assert history[-1] < 0.8 * history[0], history
    if name in ("digits", "spirals"):
        accuracy = model.evaluate(sets.test, verbose=0, return_dict=True)["accuracy"]
        assert accuracy > 0.7, accuracy  # chance: 0.1 and 0.5

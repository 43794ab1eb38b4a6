"""Monitors: learning curves, gradient flow (vanishing/exploding), dead ReLU units."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest

from keras_blueprints.callbacks import CALLBACKS, CallbackContext, TrainingWarning
from keras_blueprints.callbacks._curves import LearningCurves, curve_groups
from keras_blueprints.callbacks._dead_units import dead_fractions, is_relu_family
from keras_blueprints.callbacks._gradient_flow import diagnose

PNG = b"\x89PNG\r\n\x1a\n"


class StandInData:
    """What the callbacks may rely on from keras_blueprints.data.Datasets: ``sample``."""

    def __init__(self, x: np.ndarray, y: np.ndarray, input_name: str = "x"):
        self.x, self.y, self.input_name = x, y, input_name
        self.asked: list[tuple[str, int | None]] = []

    def sample(self, split: str = "validation", count: int | None = None):
        self.asked.append((split, count))
        n = len(self.x) if count is None else count
        return {self.input_name: self.x[:n]}, None if self.y is None else self.y[:n]


def _data(n: int = 64, features: int = 8, classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype("float32")
    y = (np.abs(x[:, :classes]).argmax(axis=1)).astype("int64")
    return x, y


def _make(name: str, run_dir, datasets=None, **args):
    context = CallbackContext(blueprint=None, run_dir=run_dir, datasets=datasets)
    return CALLBACKS.get(name).fn(context, **args)


def _mlp(widths, activation, *, init="glorot_uniform", bias=None, lr=0.05, features=8):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((features,), name="x")
    h = inputs
    for i, width in enumerate(widths):
        h = keras.layers.Dense(
            width,
            activation=activation,
            kernel_initializer=init,
            bias_initializer=(bias or {}).get(i, "zeros"),
            name=f"dense_{i + 1}",
        )(h)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# --- learning curves -----------------------------------------------------------------


def test_curve_groups_pair_metrics_with_validation_loss_first():
    names = ["accuracy", "loss", "val_accuracy", "val_loss", "learning_rate"]
    assert curve_groups(names) == [
        ("loss", ["loss", "val_loss"]),
        ("accuracy", ["accuracy", "val_accuracy"]),
        ("learning_rate", ["learning_rate"]),
    ]


def test_learning_curves_plot_every_metric_after_fit(tmp_path):
    x, y = _data()
    model = _mlp([8], "relu")
    curves = _make("learning_curves", tmp_path, every=2)
    history = model.fit(
        x, y, validation_split=0.25, epochs=3, batch_size=16, verbose=0, callbacks=[curves]
    )
    path = tmp_path / "plots" / "learning_curves.png"
    assert path.read_bytes()[:8] == PNG
    assert sorted(p.name for p in path.parent.iterdir()) == ["learning_curves.png"]
    assert curves.epochs == [1, 2, 3]
    for name, values in history.history.items():
        np.testing.assert_allclose(curves.history[name], values, rtol=1e-6)
    axes = [ax for ax in curves.figure().axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    lines = axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["training", "validation"]
    np.testing.assert_allclose(lines[1].get_ydata(), history.history["val_loss"], rtol=1e-6)
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])


def test_learning_curves_cover_the_history_before_a_resume(tmp_path):
    x, y = _data()
    model = _mlp([8], "relu")
    before = {"loss": [2.0, 1.5], "accuracy": [0.3, 0.4]}
    curves = LearningCurves(tmp_path / "curves.png", history=before)
    model.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, verbose=0, callbacks=[curves])
    assert curves.epochs == [1, 2, 3, 4]
    assert curves.history["loss"][:2] == [2.0, 1.5] and len(curves.history["loss"]) == 4
    # A metric that appears only after the resume is padded with NaN before it.
    curves.initial_history = {"loss": [1.0]}
    curves.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.7})
    assert curves.epochs == [1, 2]
    assert curves.history["loss"] == [1.0, 0.5]
    assert math.isnan(curves.history["val_loss"][0]) and curves.history["val_loss"][1] == 0.7
    # Re-running an epoch already seen (resume from an earlier backup) replaces it.
    curves.on_epoch_end(0, {"loss": 0.9})
    assert (curves.epochs, curves.history["loss"]) == ([1], [0.9])
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG


# --- gradient flow -------------------------------------------------------------------


def test_diagnose_vanishing_relative_tiny_and_exploding():
    norms = {"a": 1e-7, "b": 0.5, "c": 1.0, "d": math.nan}
    assert diagnose(norms, 1e-3, 1e3) == (["a"], ["d"])
    assert diagnose({"a": 0.0, "b": 1e-12}, 1e-3, 1e3) == (["a", "b"], [])  # absolutely tiny
    assert diagnose({"a": 2e3, "b": 1.0}, 1e-3, 1e3) == ([], ["a"])


def test_gradient_flow_flags_a_deep_sigmoid_stack(tmp_path):
    x, y = _data()
    data = StandInData(x, y)
    model = _mlp([16] * 14, "sigmoid")
    flow = _make("gradient_flow", tmp_path, data, every=2, count=32)
    assert data.asked == [("train", 32)]
    with pytest.warns(TrainingWarning, match=r"Gradients vanish at step 0 in \d+ of 15 layers: "
                      r"dense_1 \(\d") as caught:  # fmt: skip
        model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[flow])
    assert len(caught) == 1  # warned once, not at every measurement
    message = str(caught[0].message)
    assert "dense_2 (" in message and "residual connections" in message
    report = json.loads((tmp_path / "gradient_flow.json").read_text())
    assert report["steps"] == [0, 2, 4]  # before training, then every 2 of the 4 steps
    assert report["layers"] == [f"dense_{i}" for i in range(1, 15)] + ["out"]
    first = {name: values[0] for name, values in report["norms"].items()}
    # Backpropagation through 13 sigmoids (derivative <= 0.25): orders of magnitude lost.
    assert first["dense_1"] < 1e-6 * first["out"]
    assert first["dense_1"] < first["dense_7"] < first["dense_14"]
    assert report["flags"][0]["vanishing"][:3] == ["dense_1", "dense_2", "dense_3"]
    assert report["flags"][0]["exploding"] == []
    assert (tmp_path / "plots" / "gradient_flow.png").read_bytes()[:8] == PNG
    assert report["tensorboard"] is True  # tensorboard is a dependency
    events = list((tmp_path / "logs" / "gradients").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0
    ax = flow.figure().axes[0]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["dense_1", "dense_2"]
    assert [line.get_label() for line in ax.get_lines()][:2] == ["step 0 (first)", "step 4"]


def test_gradient_flow_is_quiet_on_a_shallow_relu_net(tmp_path):
    x, y = _data()
    model = _mlp([16, 16], "relu")
    flow = _make("gradient_flow", tmp_path, StandInData(x, y), every=1, tensorboard=False)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[flow])  # warnings are errors
    report = json.loads((tmp_path / "gradient_flow.json").read_text())
    assert report["steps"] == [0, 1, 2] and report["flags"] == []
    norms = [values[0] for values in report["norms"].values()]
    assert max(norms) / min(norms) < 100  # the same order of magnitude in every layer
    assert not (tmp_path / "logs").exists()


def test_gradient_flow_flags_exploding_gradients(tmp_path):
    x, y = _data()
    huge = keras.initializers.RandomNormal(stddev=10.0)
    model = _mlp([16] * 4, "relu", init=huge)
    flow = _make("gradient_flow", tmp_path, StandInData(x, y), every=100, tensorboard=False)
    with pytest.warns(TrainingWarning, match=r"Gradients explode at step 0 in 5 of 5 layers"):
        model.fit(x, y, epochs=1, batch_size=64, verbose=0, callbacks=[flow])
    report = json.loads((tmp_path / "gradient_flow.json").read_text())
    assert report["flags"][0]["exploding"] == ["dense_1", "dense_2", "dense_3", "dense_4", "out"]
    assert report["norms"]["dense_1"][0] > 1e3


def test_gradient_flow_needs_data_with_targets(tmp_path):
    with pytest.raises(ValueError, match="Expected the run's data for the 'gradient_flow'"):
        _make("gradient_flow", tmp_path)
    x, _ = _data()
    with pytest.raises(ValueError, match=r"Expected targets .* Received: inputs only"):
        _make("gradient_flow", tmp_path, StandInData(x, None))
    with pytest.raises(ValueError, match="Received: count=0"):
        _make("gradient_flow", tmp_path, StandInData(x, x), count=0)


# --- dead units ----------------------------------------------------------------------


def test_relu_family():
    assert is_relu_family(keras.layers.Dense(2, activation="relu"))
    assert is_relu_family(keras.layers.Conv2D(2, 3, activation="relu6"))
    assert is_relu_family(keras.layers.Activation("relu"))
    assert is_relu_family(keras.layers.ReLU())
    assert not is_relu_family(keras.layers.ReLU(negative_slope=0.1))
    assert not is_relu_family(keras.layers.LeakyReLU())
    assert not is_relu_family(keras.layers.Dense(2, activation="elu"))
    assert not is_relu_family(keras.layers.Dense(2))


def test_dead_units_flags_a_layer_with_a_large_negative_bias(tmp_path):
    x, y = _data()
    dead_bias = keras.initializers.Constant(-10.0)
    model = _mlp([16, 16], "relu", bias={1: dead_bias})
    data = StandInData(x, y)
    monitor = _make("dead_units", tmp_path, data, count=48)
    assert data.asked == [("validation", 48)]
    with pytest.warns(TrainingWarning, match=r"Dead ReLU units before training: dense_2 \(100%: "
                      r"16 of 16\) output 0 for all 48 examples") as caught:  # fmt: skip
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[monitor])
    assert len(caught) == 1 and "dense_1" not in str(caught[0].message)
    report = json.loads((tmp_path / "dead_units.json").read_text())
    assert report["epochs"] == [0, 1, 2] and report["examples"] == 48
    assert report["layers"]["dense_2"]["dead"] == [1.0, 1.0, 1.0]  # dead units never recover
    assert report["layers"]["dense_2"]["dead_units"] == list(range(16))
    assert max(report["layers"]["dense_1"]["dead"]) < 0.5
    assert report["flagged"] == ["dense_2"] and set(report["layers"]) == {"dense_1", "dense_2"}


def test_dead_units_counts_convolution_channels():
    inputs = keras.Input((5, 5, 1), name="image")
    conv = keras.layers.Conv2D(4, 3, name="conv", use_bias=False)
    h = conv(inputs)
    h = keras.layers.ReLU(name="relu")(h)
    model = keras.Model(inputs, keras.layers.Flatten()(h))
    # Channels 0 and 2 see a positive kernel, 1 and 3 a negative one; inputs are >= 0.
    kernel = np.zeros((3, 3, 1, 4), "float32")
    kernel[..., 0], kernel[..., 1], kernel[..., 2], kernel[..., 3] = 1.0, -1.0, 0.5, -0.5
    conv.set_weights([kernel])
    x = np.abs(np.random.default_rng(1).standard_normal((6, 5, 5, 1))).astype("float32")
    found = dead_fractions(model, {"image": x})
    assert found == {"relu": {"units": 4, "dead": 0.5, "dead_units": [1, 3]}}


def test_dead_units_needs_data(tmp_path):
    with pytest.raises(ValueError, match="Expected the run's data for the 'dead_units'"):
        _make("dead_units", tmp_path)

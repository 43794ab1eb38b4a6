"""One fit path for training and tuning, one checkpointer, metric directions from metric objects."""

from __future__ import annotations

import inspect
import math

import keras
import numpy as np
import pytest

from keras_blueprints._compat.keras import metric_direction_of
from keras_blueprints.callbacks._standard import AtomicModelCheckpoint
from keras_blueprints.resolve.directions import default_direction
from keras_blueprints.training import fit as fit_module
from keras_blueprints.training import run as run_module
from keras_blueprints.training.fit import metric_direction
from tests.conftest import spiral_mlp

LOGGED = "train:\n  epochs: 1\n  seed: 1\n  callbacks: [{csv_logger: {filename: fit.csv}}]\n"
SEARCH = spiral_mlp(points=20).replace("units: 16", "units: {choice: [4, 8]}").replace(
    "train: {epochs: 3, seed: 1}\n", LOGGED
) + ("tune: {tuner: random, objective: val_accuracy, max_trials: 1, seed: 1}\n")


@pytest.fixture
def fits(monkeypatch):
    """Every call of the one fit function, by the run directory its callbacks write to."""
    calls = []
    original = fit_module.fit_blueprint

    def spy(model, blueprint, datasets, **kwargs):
        calls.append(kwargs["run_dir"])
        return original(model, blueprint, datasets, **kwargs)

    monkeypatch.setattr(fit_module, "fit_blueprint", spy)
    monkeypatch.setattr(run_module, "fit_blueprint", spy)
    return calls


def test_training_and_every_trial_fit_through_the_one_function(fits, tmp_path):
    from keras_blueprints.tuning import tune

    source = tmp_path / "search.yaml"
    source.write_text(SEARCH)
    result = run_module.train(source, run_dir=tmp_path / "run", verbose=0)
    assert fits == [result.run_dir]
    assert (result.run_dir / "fit.csv").is_file()  # the blueprint's callback, set up by it
    tune(source, run_dir=tmp_path / "search", verbose=0)
    assert len(fits) == 2 and fits[1] != result.run_dir
    assert (fits[1] / "fit.csv").is_file()  # the trial's folder: the same callbacks


def _metric_objects():
    """Every metric Keras ships, as an object (functions wrapped as compile wraps them)."""
    required = {"num_classes": 2, "target_class_ids": [0], "recall": 0.5, "precision": 0.5,
                "specificity": 0.5, "sensitivity": 0.5, "thresholds": 0.5}  # fmt: skip
    for name in sorted(dir(keras.metrics)):
        obj = getattr(keras.metrics, name)
        if name.startswith("_") or name in {"Metric", "MeanMetricWrapper"}:
            continue
        if inspect.isclass(obj) and issubclass(obj, keras.metrics.Metric):
            params = inspect.signature(obj).parameters
            yield obj(**{
                k: v for k, v in required.items()
                if k in params and params[k].default is inspect.Parameter.empty
            })  # fmt: skip
        elif inspect.isfunction(obj) and name not in {"get", "serialize", "deserialize"}:
            yield keras.metrics.MeanMetricWrapper(obj, name=name)


DIRECTED = [(m.name, metric_direction_of(m)) for m in _metric_objects() if metric_direction_of(m)]


def test_keras_ships_metrics_of_both_directions():
    directions = dict(DIRECTED)
    assert directions["auc"] == "max" and directions["mean_squared_error"] == "min"
    assert len(DIRECTED) > 30


@pytest.mark.parametrize(("name", "direction"), DIRECTED)
def test_the_name_alone_agrees_with_the_metric_object(name, direction):
    for logged in (name, f"val_{name}", f"decoder_{name}", f"val_decoder_{name}_1"):
        assert default_direction(logged) == direction, logged


def test_losses_are_minimised_and_custom_names_read_their_words():
    assert default_direction("loss") == default_direction("val_decoder_loss") == "min"
    assert default_direction("val_dice_coefficient") == "max"
    assert default_direction("val_my_error") == "min"


def _tiny_model(metrics):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,), name="x")
    outputs = keras.layers.Dense(1, activation="sigmoid", name="out")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.5), "binary_crossentropy", metrics=metrics)
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    return x, (x[:, :1] > 0).astype("float32")


def test_while_training_the_compiled_metric_object_decides():
    model = _tiny_model([keras.metrics.AUC(name="quality"), keras.metrics.MeanSquaredError()])
    assert default_direction("val_quality") == "min"  # the name alone says nothing
    model.fit(*_data(), epochs=1, verbose=0)
    assert metric_direction("val_quality", model) == "max"
    assert metric_direction("mean_squared_error", model) == "min"
    assert metric_direction("val_loss", model) == "min"
    assert metric_direction("val_unknown_recall", model) == "max"  # no object: the name


def test_the_run_checkpointer_keeps_the_best_by_the_metric_objects_direction(tmp_path):
    model = _tiny_model([keras.metrics.AUC(name="quality")])
    kept = []
    best = AtomicModelCheckpoint(
        str(tmp_path / "best.keras"),
        monitor="quality",
        save_best_only=True,
        on_best=lambda value, epoch: kept.append((epoch, value)),
        unmeasured_skipped=True,
    )
    unmeasured = AtomicModelCheckpoint(
        str(tmp_path / "never.keras"), monitor="absent", save_best_only=True,
        unmeasured_skipped=True,
    )  # fmt: skip
    x, y = _data()
    history = model.fit(x, 1 - y, epochs=4, batch_size=16, verbose=0, callbacks=[best, unmeasured])
    values = history.history["quality"]
    running = [(i + 1, v) for i, v in enumerate(values) if v > max(values[:i], default=-math.inf)]
    assert kept == running and len(kept) >= 2
    assert (tmp_path / "best.keras").is_file() and not (tmp_path / "never.keras").exists()

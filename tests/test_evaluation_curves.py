"""Learning curves mark the best epoch and the epoch early stopping fired."""

from __future__ import annotations

import keras
import numpy as np

from keras_blueprints.callbacks._curves import LearningCurves


def _marker_x(figure, colour: str) -> set[float]:
    from matplotlib.colors import to_rgba

    return {
        float(segment[0][0])
        for marker in figure.axes[0].collections
        if tuple(marker.get_colors()[0]) == to_rgba(colour)
        for segment in marker.get_segments()
    }


def test_the_best_epoch_marker_sits_on_the_lowest_val_loss(tmp_path):
    history = {"loss": [1.0, 0.8, 0.6, 0.5], "val_loss": [1.1, 0.7, 0.9, 0.95]}
    curves = LearningCurves(tmp_path / "c.png", history=history)
    assert curves.best_epoch() == 2
    assert _marker_x(curves.figure(), "green") == {2.0}
    assert LearningCurves(tmp_path / "a.png", history={"loss": [3.0, 2.0]}).best_epoch() == 2
    accuracy = LearningCurves(tmp_path / "b.png", history={"x": [0.1]}, monitor="val_accuracy")
    accuracy.initial_history = {"val_accuracy": [0.5, 0.9, 0.7]}
    assert accuracy.best_epoch() == 2


def test_early_stopping_is_marked_where_it_fired(tmp_path):
    x = np.zeros((8, 2), "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    curves = LearningCurves(tmp_path / "c.png")
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1.0)
    model.fit(x, x[:, :1], epochs=10, verbose=0, callbacks=[stop, curves])
    assert curves.stopped_epoch == curves.epochs[-1] == 2
    assert _marker_x(curves.figure(), "red") == {2.0}
    full = LearningCurves(tmp_path / "d.png")
    model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[full])
    assert full.stopped_epoch is None

"""What the rules share: the layer a rule updates, and what that layer receives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.resolve.schema import Blueprint, TrainSpec


def target_layer(
    model: Any,
    blueprint: Blueprint,
    rule: str,
    name: str | None,
    accepts: Callable[[Any], bool],
    what: str,
) -> Any:
    """The layer ``rule`` updates: the one named ``name``, or the model's only one ``accepts``.

    Raises:
        BlueprintError: No such layer, or several when none is named (located at ``train``).
    """
    spec = blueprint.train or TrainSpec()
    if name is not None:
        names = [layer.name for layer in model.layers]
        if name not in names:
            raise BlueprintError.unknown_name(
                f"a layer of model '{model.name}'", name, names, spec.location
            )
        layer = model.get_layer(name)
        if not accepts(layer):
            raise BlueprintError(
                f"rule '{rule}' updates {what}, but layer '{name}' is a {type(layer).__name__}",
                spec.location,
            )
        return layer
    found = [layer for layer in model.layers if accepts(layer)]
    if len(found) != 1:
        raise BlueprintError(
            f"rule '{rule}' updates one layer: {what}",
            spec.location,
            received=Plain(f"{len(found)} such layers: {[f.name for f in found]}"),
            hint=f"Name it:  rule: {{{rule}: {{layer: NAME}}}}",
        )
    return found[0]


def features_of(model: Any, layer: Any) -> Callable[[Any], np.ndarray]:
    """A function from a batch of the model's inputs to what ``layer`` receives (inference mode)."""
    import keras

    if any(layer.input is t for t in model.inputs):
        return lambda x: np.asarray(next(iter(x.values())) if isinstance(x, dict) else x)
    sub = keras.Model(model.inputs, layer.input)
    return lambda x: np.asarray(sub(x, training=False))


def dense(layer: Any) -> bool:
    """Whether ``layer`` is a Dense layer: what Hebb's and Rosenblatt's rules train."""
    import keras

    return isinstance(layer, keras.layers.Dense)


def agreement(model: Any, batches: Any) -> dict[str, float]:
    """The share of output units equal to their targets (a run without ``compile:``).

    Threshold units, Hebbian memories and Hopfield networks answer in discrete values
    (0/1 or -1/+1), so an answer is right or wrong: this is Keras' ``Accuracy``.

    Args:
        model: The model.
        batches: ``(x, y)`` NumPy pairs.

    Returns:
        ``{"accuracy": share}`` (NaN for no data).
    """
    right = total = 0
    for x, y in batches:
        answer = np.asarray(model(x, training=False)).reshape(-1)
        target = np.asarray(y).reshape(-1)
        right += int(np.sum(answer == target))
        total += target.size
    return {"accuracy": right / total if total else float("nan")}

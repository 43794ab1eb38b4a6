"""Feeding a sample batch (inputs keyed by input name) to a model, whatever its input structure."""

from __future__ import annotations

from typing import Any

from keras_blueprints._compat.keras import input_structure

__all__ = ["as_model_inputs"]


def as_model_inputs(model: Any, x: Any) -> Any:
    """Arranges ``x`` as ``model`` takes it.

    ``Datasets.sample`` gives the inputs as a dict keyed by input name; a
    functional model built on a list of inputs (or one input) wants a list (or
    the array itself).

    Args:
        model: A Keras model.
        x: Its inputs: a dict keyed by input name, or already arranged.

    Returns:
        The inputs, in the model's structure.
    """
    if not isinstance(x, dict) or isinstance(input_structure(model), dict):
        return x
    names = [getattr(t, "name", None) for t in getattr(model, "inputs", None) or []]
    if names and all(n in x for n in names):
        values = [x[n] for n in names]
    elif len(x) == len(names):
        values = list(x.values())
    else:
        return x
    struct = input_structure(model)
    return values if isinstance(struct, list | tuple) or len(values) > 1 else values[0]

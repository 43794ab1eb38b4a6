"""Checking that a blueprint model mirrors a reference model (keras.applications).

Mirroring means: the same parameter count, the same layer names in the same
order, the same layer configurations (a BatchNormalization epsilon, a padding, an
activation), the same output shapes, and the same outputs once the reference's
weights are copied in by layer name (max abs difference under ``atol``).

The configurations are compared because outputs alone can hide a difference: with
random weights a wrong BatchNorm epsilon (1e-5 instead of 1.001e-5) moves the
outputs by about 1e-7, far under any tolerance a deep model's float error allows.
"""

from __future__ import annotations

import numpy as np


def randomize(model, seed: int = 0) -> None:
    """Gives every weight a random value (moving variances stay positive).

    Default initial weights would hide mistakes: zero biases, unit BatchNorm
    statistics and identical kernels make different wirings agree.
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = rng.normal(0.0, 0.05, variable.shape)
        if variable.path.endswith("moving_variance"):
            value = np.abs(value) + 0.5
        variable.assign(value.astype(variable.dtype))


def copy_weights_by_name(source, target) -> int:
    """Copies each layer's weights from ``source`` to the same-named layer of ``target``.

    Returns:
        The number of layers whose weights were copied.
    """
    copied = 0
    for layer in source.layers:
        weights = layer.get_weights()
        if weights:
            target.get_layer(layer.name).set_weights(weights)
            copied += 1
    return copied


IGNORED_CONFIG_KEYS = ("name", "trainable", "dtype")
"""What may differ between mirrored layers' configurations: names are compared on
their own, and dtype policies and trainability are the caller's choice."""


def _normalized(layer, key: str, value):
    """``axis: -1`` and ``axis: 3`` are the same axis of a rank-4 input: compare them as one."""
    if key != "axis" or value is None:
        return value
    inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
    rank = len(inputs[0].shape)
    axes = value if isinstance(value, (list, tuple)) else [value]
    axes = [a % rank if isinstance(a, int) else a for a in axes]
    return axes


def config_differences(model, reference) -> list[str]:
    """Lists the configuration keys that differ between same-named layers.

    Returns:
        ``"LAYER.KEY: ours != theirs"`` lines, empty when every configuration matches.
    """
    differences = []
    for layer in reference.layers:
        theirs = layer.get_config()
        ours = model.get_layer(layer.name).get_config()
        for key in sorted(set(theirs) | set(ours)):
            if key in IGNORED_CONFIG_KEYS:
                continue
            mine = _normalized(model.get_layer(layer.name), key, ours.get(key))
            if mine != _normalized(layer, key, theirs.get(key)):
                differences.append(f"{layer.name}.{key}: {ours.get(key)!r} != {theirs.get(key)!r}")
    return differences


def assert_mirrors(model, reference, batch: np.ndarray, atol: float = 1e-4) -> float:
    """Asserts that ``model`` mirrors ``reference``.

    Returns:
        The maximum absolute difference between the two models' outputs.
    """
    assert model.count_params() == reference.count_params()
    assert [layer.name for layer in model.layers] == [layer.name for layer in reference.layers]
    differences = config_differences(model, reference)
    assert not differences, "\n".join(differences[:20])
    assert [tuple(o.shape) for o in model.outputs] == [tuple(o.shape) for o in reference.outputs]
    randomize(reference)
    assert copy_weights_by_name(reference, model) > 0
    # A direct call, not predict(): no tf.function to trace for a single batch.
    ours = np.asarray(model(batch, training=False))
    theirs = np.asarray(reference(batch, training=False))
    diff = float(np.max(np.abs(ours - theirs)))
    assert diff < atol, f"max abs difference {diff} >= {atol}"
    return diff

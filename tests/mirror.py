"""Checking that a blueprint model mirrors a reference model (keras.applications).

Mirroring means: the same parameter count, the same layer names in the same
order, the same output shapes, and the same outputs once the reference's
weights are copied in by layer name (max abs difference under ``atol``).
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


def assert_mirrors(model, reference, batch: np.ndarray, atol: float = 1e-4) -> float:
    """Asserts that ``model`` mirrors ``reference``.

    Returns:
        The maximum absolute difference between the two models' outputs.
    """
    assert model.count_params() == reference.count_params()
    assert [layer.name for layer in model.layers] == [layer.name for layer in reference.layers]
    assert [tuple(o.shape) for o in model.outputs] == [tuple(o.shape) for o in reference.outputs]
    randomize(reference)
    assert copy_weights_by_name(reference, model) > 0
    # A direct call, not predict(): no tf.function to trace for a single batch.
    ours = np.asarray(model(batch, training=False))
    theirs = np.asarray(reference(batch, training=False))
    diff = float(np.max(np.abs(ours - theirs)))
    assert diff < atol, f"max abs difference {diff} >= {atol}"
    return diff

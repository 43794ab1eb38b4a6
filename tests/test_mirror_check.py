"""The mirror check itself catches what outputs alone would hide."""

from __future__ import annotations

import numpy as np
import pytest
from mirror import assert_mirrors


def _tiny(epsilon: float):
    import keras

    x = keras.Input((8, 8, 3), name="image")
    y = keras.layers.Conv2D(4, 3, name="conv")(x)
    y = keras.layers.BatchNormalization(axis=3, epsilon=epsilon, name="bn")(y)
    y = keras.layers.GlobalAveragePooling2D(name="pool")(y)
    return keras.Model(x, y)


def test_a_mirror_passes_with_an_equal_axis_written_differently():
    import keras

    x = keras.Input((8, 8, 3), name="image")
    y = keras.layers.Conv2D(4, 3, name="conv")(x)
    y = keras.layers.BatchNormalization(axis=-1, epsilon=1.001e-5, name="bn")(y)
    y = keras.layers.GlobalAveragePooling2D(name="pool")(y)
    ours = keras.Model(x, y)
    batch = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    assert assert_mirrors(ours, _tiny(1.001e-5), batch) < 1e-5


def test_a_wrong_batchnorm_epsilon_fails_the_mirror_though_outputs_agree():
    batch = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    with pytest.raises(AssertionError, match=r"bn\.epsilon"):
        assert_mirrors(_tiny(1e-5), _tiny(1.001e-5), batch)

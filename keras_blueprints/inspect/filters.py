"""First-layer kernels as images, and the feature maps of a layer."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

__all__ = ["feature_maps", "first_kernels"]


def first_kernels(model: Any) -> np.ndarray:
    """The first Conv2D's kernels, (count, kh, kw, in_channels), each scaled to [0, 1]."""
    conv = next(layer for layer in model.layers if type(layer).__name__ == "Conv2D")
    k = np.moveaxis(np.asarray(conv.kernel), -1, 0)
    lo = k.min(axis=(1, 2, 3), keepdims=True)
    hi = k.max(axis=(1, 2, 3), keepdims=True)
    return (k - lo) / np.maximum(hi - lo, 1e-12)


def feature_maps(model: Any, image: np.ndarray, layer_name: str) -> np.ndarray:
    """The activations of ``layer_name`` for one image, (h, w, channels)."""
    inner = keras.Model(model.inputs[0], model.get_layer(layer_name).output)
    return np.asarray(inner(image[None].astype("float32"), training=False))[0]

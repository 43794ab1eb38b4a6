"""Saliency (|d class score / d input|) and Grad-CAM (Selvaraju et al. 2017)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

__all__ = ["grad_cam", "saliency"]


def saliency(model: Any, image: np.ndarray, label: int) -> np.ndarray:
    """The largest absolute gradient of the class score over channels, (h, w)."""
    x = tf.convert_to_tensor(image[None], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x, training=False)[:, label]
    grad = tape.gradient(score, x)
    return np.abs(grad.numpy()[0]).max(axis=-1)


def grad_cam(model: Any, image: np.ndarray, label: int, layer_name: str) -> np.ndarray:
    """Grad-CAM of class ``label`` at ``layer_name``: relu(sum_k alpha_k A_k), (h', w')."""
    inner = keras.Model(model.inputs[0], [model.get_layer(layer_name).output, model.outputs[0]])
    x = tf.convert_to_tensor(image[None], tf.float32)
    with tf.GradientTape() as tape:
        fmap, out = inner(x, training=False)
        score = out[:, label]
    grad = tape.gradient(score, fmap)
    alpha = tf.reduce_mean(grad, axis=(1, 2), keepdims=True)
    return tf.nn.relu(tf.reduce_sum(alpha * fmap, axis=-1)).numpy()[0]

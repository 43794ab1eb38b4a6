"""The deconvnet of Zeiler & Fergus (2014): project one activation back to pixel space.

The forward pass records the argmax switches of every max pooling; going back, each
pooling is undone by putting values at exactly those positions (zeros elsewhere), each
ReLU is applied again, and each convolution is undone by a transposed convolution with
the forward kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from keras_blueprints._core.errors import UsageError

__all__ = ["chain_layers", "project", "unpool"]

_PASSED = ("Dropout", "BatchNormalization", "InputLayer", "SpatialDropout2D")


def unpool(values: Any, switches: Any, input_shape: tuple[int, ...]) -> tf.Tensor:
    """Puts pooled ``values`` back at their argmax ``switches``; zeros elsewhere.

    Args:
        values: The pooled tensor (batch, h, w, c).
        switches: Flat indices from ``tf.nn.max_pool_with_argmax`` with
            ``include_batch_in_index=True``.
        input_shape: The pooling's input shape.

    Returns:
        A tensor of ``input_shape``.
    """
    size = int(np.prod(input_shape))
    flat = tf.scatter_nd(
        tf.reshape(tf.cast(switches, tf.int64), (-1, 1)),
        tf.reshape(values, (-1,)),
        (size,),
    )
    return tf.reshape(flat, input_shape)


def chain_layers(model: Any) -> list[Any]:
    """The model's layers in order, refusing any the deconvnet cannot invert.

    Raises:
        UsageError: A layer other than Conv2D, ReLU, MaxPooling2D, BatchNorm or Dropout
            stands before the last convolutional layer.
    """
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    last = max(
        (i for i, layer in enumerate(layers) if type(layer).__name__ == "Conv2D"), default=-1
    )
    if last < 0:
        raise UsageError(
            "the deconvnet needs a convolutional model",
            "METHOD",
            expected="a model with Conv2D layers",
            received="no Conv2D layer",
        )
    for end, layer in enumerate(layers):
        if end > last and not _invertible(layer):
            return layers[:end]
        if not _invertible(layer):
            raise UsageError(
                f"the deconvnet cannot pass back through layer '{layer.name}'",
                "METHOD",
                expected="Conv2D (relu or linear), ReLU, MaxPooling2D, ZeroPadding2D,"
                " BatchNormalization or Dropout",
                received=_describe(layer),
            )
    return layers


def _describe(layer: Any) -> str:
    kind = type(layer).__name__
    return f"{kind} with activation {_activation(layer)}" if kind == "Conv2D" else kind


def _invertible(layer: Any) -> bool:
    kind = type(layer).__name__
    if kind == "Conv2D":
        return _activation(layer) in ("relu", "linear")
    if kind == "Activation":
        return _activation(layer) in ("relu", "linear")
    return kind in ("ReLU", "MaxPooling2D", "ZeroPadding2D", *_PASSED)


def _activation(layer: Any) -> str:
    act = getattr(layer, "activation", None)
    return getattr(act, "__name__", str(act))


def project(model: Any, image: np.ndarray, layer_name: str, channel: int | None = None) -> dict:
    """Projects the top activation of one feature map of ``layer_name`` to pixel space.

    Args:
        model: A sequential convolutional model.
        image: One input (h, w, c).
        layer_name: The Keras layer whose feature map is projected.
        channel: The feature map; the most active one if None.

    Returns:
        ``{"projection": (h, w, c) array, "channel", "position", "activation"}``.
    """
    layers = chain_layers(model)
    names = [layer.name for layer in layers]
    if layer_name not in names:
        raise UsageError(
            f"no layer '{layer_name}' the deconvnet can reach",
            "--layer",
            expected="one of " + ", ".join(names),
            received=layer_name,
        )
    x = tf.convert_to_tensor(image[None], tf.float32)
    record: list[tuple[Any, Any]] = []
    for layer in layers[: names.index(layer_name) + 1]:
        if type(layer).__name__ == "MaxPooling2D":
            out, switches = tf.nn.max_pool_with_argmax(
                x,
                layer.pool_size,
                layer.strides,
                layer.padding.upper(),
                include_batch_in_index=True,
            )
            record.append((layer, (switches, tuple(x.shape))))
            x = out
        else:
            record.append((layer, tuple(x.shape)))
            x = layer(x, training=False)
    fmap = x.numpy()[0]
    if channel is None:
        channel = int(np.argmax(fmap.reshape(-1, fmap.shape[-1]).max(axis=0)))
    pos = np.unravel_index(int(np.argmax(fmap[..., channel])), fmap.shape[:2])
    signal = np.zeros_like(x.numpy())
    signal[0, pos[0], pos[1], channel] = fmap[pos[0], pos[1], channel]
    y = tf.convert_to_tensor(signal)
    for layer, saved in reversed(record):
        kind = type(layer).__name__
        if kind == "MaxPooling2D":
            switches, shape = saved
            y = unpool(y, switches, shape)
        elif kind == "ZeroPadding2D":
            (top, bottom), (left, right) = layer.padding
            y = y[:, top : y.shape[1] - bottom, left : y.shape[2] - right]
        elif kind in ("ReLU", "Activation"):
            y = tf.nn.relu(y) if _activation(layer) != "linear" or kind == "ReLU" else y
        elif kind == "Conv2D":
            if _activation(layer) == "relu":
                y = tf.nn.relu(y)
            y = tf.nn.conv2d_transpose(
                y,
                layer.kernel,
                saved,
                strides=(1, *layer.strides, 1),
                padding=layer.padding.upper(),
                dilations=(1, *layer.dilation_rate, 1),
            )
    return {
        "projection": y.numpy()[0],
        "channel": channel,
        "position": [int(pos[0]), int(pos[1])],
        "activation": float(fmap[pos[0], pos[1], channel]),
    }

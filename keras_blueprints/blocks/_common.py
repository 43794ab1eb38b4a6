"""The layer sequence the block families share: convolution, batch normalization, activation.

Every CNN block here is made of ``conv -> batch norm -> activation`` triples
(Inception's ``conv2d_bn``, ResNet's ``{name}_conv``/``_bn``/``_relu``,
MobileNet's ``_BN``/``_relu`` with ReLU6, U-Net's optional batch norm) or of
their pre-activation half ``batch norm -> activation`` before a convolution
(DenseNet, ResNet v2). :func:`conv_bn_act` writes the sequence once; each
family passes its own layer names, so that the names (and with them weight
loading by name, and the golden tests against ``keras.applications``) stay
those of the reference implementation.

Not a block module (its name starts with ``_``: ``load_builtin_blocks`` skips
it); Keras is imported inside the function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["conv_bn_act"]


def conv_bn_act(
    x: Any,
    conv: Callable[[Any], Any] | None,
    *,
    bn: str | None,
    act: str | None,
    activation: str | Callable[[str], Any] = "relu",
    bn_args: Mapping[str, Any] | None = None,
) -> Any:
    """Applies ``conv``, then a batch normalization, then an activation; each may be left out.

    Example::

        x = conv_bn_act(
            x,
            layers.Conv2D(64, 3, use_bias=False, name=f"{name}_1_conv"),
            bn=f"{name}_1_bn",
            act=f"{name}_1_relu",
            bn_args={"epsilon": 1.001e-5},
        )

    Args:
        x: The input tensor.
        conv: A layer (already named by the caller), or None for the
            pre-activation half ``bn -> activation``.
        bn: The batch normalization's name, or None for none.
        act: The activation layer's name, or None for none (a linear output).
        activation: A Keras activation name (a ``keras.layers.Activation``), or
            ``make(name)`` returning the activation layer (``ReLU(6.0)``).
        bn_args: Other arguments of the batch normalization (``epsilon``,
            ``momentum``, ``scale``, ``axis``).

    Returns:
        The output tensor.
    """
    from keras import layers

    if conv is not None:
        x = conv(x)
    if bn is not None:
        x = layers.BatchNormalization(name=bn, **dict(bn_args or {}))(x)
    if act is not None:
        make = activation if callable(activation) else _activation_layer(activation)
        x = make(act)(x)
    return x


def _activation_layer(activation: str) -> Callable[[str], Any]:
    def make(name: str) -> Any:
        from keras import layers

        return layers.Activation(activation, name=name)

    return make

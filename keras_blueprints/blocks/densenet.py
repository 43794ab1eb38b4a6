"""Dense blocks and transitions: the two building blocks of DenseNet.

DenseNet (Huang et al., "Densely Connected Convolutional Networks", CVPR 2017)
connects every layer of a *dense block* to every layer after it: layer ``l``
receives the concatenation of the block's input and of the feature maps of all
the layers before it, ``x_l = H_l([x_0, x_1, ..., x_{l-1}])``, and adds only
``k`` new maps (the *growth rate*) to that collective knowledge. Features are
reused instead of re-learned, so each layer can be narrow, and every layer has
a short path to the loss, so gradients flow easily.

Between dense blocks, a *transition* (batch normalization, ReLU, 1x1
convolution, 2x2 average pooling) halves the spatial size and multiplies the
number of channels by the *compression* factor theta (DenseNet-BC: 0.5).

Both blocks name their layers exactly as ``keras.applications.densenet`` does
(``conv2_block1_1_conv``, ``pool2_conv``), so pretrained weights load by name.
"""

from __future__ import annotations

from typing import Any

from keras_blueprints.blocks._common import conv_bn_act
from keras_blueprints.catalog.components import register_block
from keras_blueprints.loading.valuetypes import Fraction, PositiveInt

__all__ = ["dense_block", "transition"]

# keras.applications' DenseNets use this batch normalization epsilon throughout.
BN_EPSILON = 1.001e-5

# The bottleneck 1x1 convolution of DenseNet-B produces this many times k maps.
BOTTLENECK_FACTOR = 4


def _bn_relu(x: Any, name: str) -> Any:
    """Batch normalization then ReLU: the pre-activation of every DenseNet convolution."""
    bn_args = {"axis": -1, "epsilon": BN_EPSILON}
    return conv_bn_act(x, None, bn=f"{name}_bn", act=f"{name}_relu", bn_args=bn_args)


def _conv(x: Any, filters: int, kernel_size: int, name: str) -> Any:
    """A bias-free convolution (the batch normalization after it supplies the shift)."""
    from keras import layers

    padding = "same" if kernel_size > 1 else "valid"
    return layers.Conv2D(filters, kernel_size, padding=padding, use_bias=False, name=name)(x)


def _dense_layer(x: Any, growth_rate: int, bottleneck: bool, name: str) -> Any:
    """One layer of a dense block: [BN-ReLU-Conv1x1(4k)]-BN-ReLU-Conv3x3(k), concatenated to x."""
    from keras import layers

    y = _bn_relu(x, f"{name}_0")
    if bottleneck:
        y = _conv(y, BOTTLENECK_FACTOR * growth_rate, 1, f"{name}_1_conv")
        y = _bn_relu(y, f"{name}_1")
    y = _conv(y, growth_rate, 3, f"{name}_2_conv")
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([x, y])


@register_block
def dense_block(
    x: Any,
    *,
    name: str,
    num_layers: PositiveInt,
    growth_rate: PositiveInt = 32,
    bottleneck: bool = True,
) -> Any:
    """A dense block: each layer sees the maps of all the layers before it.

    Layer ``i`` (from 1) computes ``growth_rate`` new feature maps from the
    concatenation of everything before it and appends them, so a block with
    ``c`` input channels outputs ``c + num_layers * growth_rate`` channels at
    the same spatial size. With ``bottleneck`` (DenseNet-B), a 1x1 convolution
    first reduces the growing input to ``4 * growth_rate`` maps, which keeps
    the 3x3 convolution cheap however many channels have accumulated.

    Layers are named as in ``keras.applications.densenet``:
    ``{name}_block{i}_0_bn``, ``_0_relu``, ``_1_conv``, ``_1_bn``, ``_1_relu``,
    ``_2_conv``, ``_concat``. Without the bottleneck, the ``_1_*`` layers are
    left out and the other names stay.

    Example::

        - name: conv2
          dense_block: {num_layers: 6, growth_rate: 32}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer.
        num_layers: How many layers the block has (6, 12, 24, 16 in DenseNet-121).
        growth_rate: ``k``, the number of feature maps each layer adds.
        bottleneck: Put the 1x1 convolution to ``4 * growth_rate`` maps before
            each 3x3 convolution.

    Returns:
        The feature map with ``num_layers * growth_rate`` more channels.

    Raises:
        ValueError: ``num_layers`` or ``growth_rate`` is not a positive integer.
    """
    for i in range(1, num_layers + 1):
        x = _dense_layer(x, growth_rate, bottleneck, f"{name}_block{i}")
    return x


@register_block
def transition(x: Any, *, name: str, compression: Fraction = 0.5) -> Any:
    """A transition between dense blocks: compress the channels, halve the size.

    Batch normalization, ReLU, a 1x1 convolution to
    ``int(channels * compression)`` maps, then 2x2 average pooling with stride
    2. Compression (theta, DenseNet-C) below 1 keeps the model compact: the
    channels a dense block accumulated are cut back before the next block.

    Layers are named as in ``keras.applications.densenet``: ``{name}_bn``,
    ``_relu``, ``_conv``, ``_pool``.

    Example::

        - name: pool2
          transition: {compression: 0.5}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer.
        compression: theta, in (0, 1]: the fraction of the channels kept.

    Returns:
        The feature map with ``int(channels * compression)`` channels and half
        the height and width (rounded down).

    Raises:
        ValueError: ``compression`` is not in (0, 1], or leaves no channel.
    """
    from keras import layers

    channels = int(x.shape[-1] * compression)
    if channels < 1:
        raise ValueError(
            f"Expected 'compression' to keep at least one of the {x.shape[-1]} channels. "
            f"Received: compression={compression!r}"
        )
    x = _bn_relu(x, name)
    x = _conv(x, channels, 1, f"{name}_conv")
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)

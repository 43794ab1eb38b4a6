"""Depthwise-separable blocks: Xception's entry, middle and exit flows, MobileNetV2's bottleneck.

A standard k x k convolution from C_in to C_out channels over an H x W map
mixes space and channels at once: k²·C_in·C_out·H·W multiply-adds. A
depthwise-separable convolution factors it in two:

* a *depthwise* k x k convolution filters each input channel on its own
  (k²·C_in·H·W multiply-adds, k²·C_in weights);
* a *pointwise* 1 x 1 convolution mixes the channels (C_in·C_out·H·W
  multiply-adds, C_in·C_out weights).

The cost ratio is 1/C_out + 1/k²: for k = 3 and C_out = 728 (Xception's
middle flow), 1/728 + 1/9 ≈ 0.112, about 9 times cheaper, with 9 times fewer
weights.

Every block mirrors ``keras.applications`` exactly (same layers, same
arguments, same names), so ImageNet weights load by name. Layers that
``keras.applications`` leaves unnamed (Xception's shortcut ``conv2d_3``,
``batch_normalization_3`` and ``add_11``) are named explicitly from an index
the blueprint computes (``shortcut_index``, ``add_index``): Keras numbers
unnamed layers by creation order in a fresh session, which is a fact about the
*model* (how many shortcuts came before), not about the block, so the
blueprint, which knows the block's position, passes it in. Without an index
the block names those layers from its own name (``block2_shortcut``).
"""

from __future__ import annotations

from typing import Any

from keras_blueprints.blocks._common import conv_bn_act
from keras_blueprints.catalog.components import register_block
from keras_blueprints.loading.valuetypes import NonNegativeInt, Positive, PositiveInt

__all__ = [
    "inverted_residual",
    "make_divisible",
    "xception_entry_block",
    "xception_exit_block",
    "xception_middle_block",
]

# Batch normalization as keras.applications.MobileNetV2 configures it.
_MOBILENET_BN = {"epsilon": 1e-3, "momentum": 0.999}


def make_divisible(value: float, divisor: int = 8) -> int:
    """Rounds a channel count to the nearest multiple of ``divisor``, as MobileNet does.

    The result is at least ``divisor`` and never more than 10% below ``value``
    (``keras.applications.mobilenet_v2._make_divisible``). Hardware runs
    convolutions fastest when channel counts are multiples of 8.

    Args:
        value: The scaled channel count (``filters * alpha``).
        divisor: The multiple to round to.

    Returns:
        The rounded channel count.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _keras_name(base: str, index: int) -> str:
    """The name Keras gives the ``index``-th unnamed layer of a kind: ``conv2d``, ``conv2d_1``..."""
    return base if index == 0 else f"{base}_{index}"


def _separable_unit(x: Any, name: str, filters: int, relu_first: bool) -> Any:
    """Xception's unit: [ReLU] -> SeparableConv2D 3x3 -> BN, named ``{name}_act``, ``{name}``..."""
    from keras import layers

    if relu_first:
        x = conv_bn_act(x, None, bn=None, act=f"{name}_act")
    conv = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)
    return conv_bn_act(x, conv, bn=f"{name}_bn", act=None)


def _downsampling_block(
    x: Any,
    name: str,
    filters: tuple[int, int],
    pre_activation: bool,
    shortcut_index: int | None,
    add_index: int | None,
) -> Any:
    """Two separable units, 3x3 max pooling with stride 2, plus a strided 1x1 projection."""
    from keras import layers

    shortcut_conv, shortcut_bn = (
        (f"{name}_shortcut", f"{name}_shortcut_bn")
        if shortcut_index is None
        else (
            _keras_name("conv2d", shortcut_index),
            _keras_name("batch_normalization", shortcut_index),
        )
    )
    # The shortcut projects the block's input (before its ReLU) to the output
    # width and halves its size, so that it can be added to the pooled branch.
    projection = layers.Conv2D(
        filters[1], 1, strides=2, padding="same", use_bias=False, name=shortcut_conv
    )
    shortcut = conv_bn_act(x, projection, bn=shortcut_bn, act=None)
    for k, width in enumerate(filters):
        x = _separable_unit(x, f"{name}_sepconv{k + 1}", width, relu_first=pre_activation or k > 0)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    return layers.Add(name=_add_name(name, add_index))([x, shortcut])


def _add_name(name: str, add_index: int | None) -> str:
    return f"{name}_add" if add_index is None else _keras_name("add", add_index)


@register_block
def xception_entry_block(
    x: Any,
    *,
    name: str,
    filters: PositiveInt,
    pre_activation: bool = True,
    shortcut_index: NonNegativeInt | None = None,
    add_index: NonNegativeInt | None = None,
) -> Any:
    """Xception entry-flow block: two separable convolutions, max pooling, a strided 1x1 shortcut.

    ``[ReLU] -> SepConv 3x3 -> BN -> ReLU -> SepConv 3x3 -> BN -> MaxPool 3x3/2``,
    added to ``Conv 1x1/2 -> BN`` of the input. It halves the spatial size and
    sets the width to ``filters``. The first entry block of Xception
    (``block2``) follows the stem's own ReLU, so it has ``pre_activation: false``.

    Layers: ``{name}_sepconv1_act`` (when ``pre_activation``), ``{name}_sepconv1``,
    ``{name}_sepconv1_bn``, ``{name}_sepconv2_act``, ``{name}_sepconv2``,
    ``{name}_sepconv2_bn``, ``{name}_pool``; the shortcut ``conv2d[_N]``,
    ``batch_normalization[_N]`` and the sum ``add[_M]`` when the indices are
    given (as in ``keras.applications.Xception``), else ``{name}_shortcut``,
    ``{name}_shortcut_bn``, ``{name}_add``.

    Example::

        - repeat: 3
          name: block${i + 2}
          xception_entry_block:
            filters: "${[128, 256, 728][i]}"
            pre_activation: "${i > 0}"
            shortcut_index: "${i}"
            add_index: "${i}"

    Args:
        x: Input feature map (batch, height, width, channels).
        name: Prefix of the layer names (``block2``).
        filters: Output channels of both separable convolutions and of the shortcut.
        pre_activation: Apply a ReLU before the first separable convolution.
        shortcut_index: Keras' number of the unnamed shortcut convolution and
            batch normalization (0 gives ``conv2d``, 1 ``conv2d_1``), or null.
        add_index: Keras' number of the unnamed ``Add`` (0 gives ``add``), or null.

    Returns:
        The feature map, (batch, ceil(height / 2), ceil(width / 2), filters).
    """
    return _downsampling_block(
        x, name, (filters, filters), pre_activation, shortcut_index, add_index
    )


@register_block
def xception_middle_block(
    x: Any,
    *,
    name: str,
    filters: PositiveInt = 728,
    convs: PositiveInt = 3,
    add_index: NonNegativeInt | None = None,
) -> Any:
    """Xception middle-flow block: ``convs`` x (ReLU, separable convolution, BN) plus the identity.

    The shape does not change, so the shortcut is the input itself: the block
    learns a residual over the identity, which keeps the 8 repeated middle
    blocks trainable.

    Layers: ``{name}_sepconv{k}_act``, ``{name}_sepconv{k}``, ``{name}_sepconv{k}_bn``
    for k = 1..convs, then ``add[_M]`` (``{name}_add`` without ``add_index``).

    Example::

        - repeat: 8
          name: block${i + 5}
          xception_middle_block: {filters: 728, add_index: "${i + 3}"}

    Args:
        x: Input feature map; it must have ``filters`` channels.
        name: Prefix of the layer names (``block5``).
        filters: Channels of every separable convolution (the input's channels).
        convs: Number of separable convolutions.
        add_index: Keras' number of the unnamed ``Add`` (3 gives ``add_3``), or null.

    Returns:
        The feature map, the shape of ``x``.
    """
    from keras import layers

    if x.shape[-1] != filters:
        raise ValueError(
            "Expected an input with 'filters' channels, for the identity shortcut. "
            f"Received: filters={filters} and an input with {x.shape[-1]} channels"
        )
    shortcut = x
    for k in range(convs):
        x = _separable_unit(x, f"{name}_sepconv{k + 1}", filters, relu_first=True)
    return layers.Add(name=_add_name(name, add_index))([x, shortcut])


@register_block
def xception_exit_block(
    x: Any,
    *,
    name: str,
    filters: list = (728, 1024),
    shortcut_index: NonNegativeInt | None = None,
    add_index: NonNegativeInt | None = None,
) -> Any:
    """Xception exit-flow block: the entry block's structure, widening inside (728 then 1024).

    ``ReLU -> SepConv(filters[0]) -> BN -> ReLU -> SepConv(filters[1]) -> BN -> MaxPool 3x3/2``,
    added to ``Conv 1x1/2 (filters[1]) -> BN`` of the input. Layer names as in
    :func:`xception_entry_block`. The exit flow then ends with two separable
    convolutions followed by ReLU (1536 and 2048 channels) and global pooling,
    written in the blueprint.

    Example::

        - name: block13
          xception_exit_block: {filters: [728, 1024], shortcut_index: 3, add_index: 11}

    Args:
        x: Input feature map.
        name: Prefix of the layer names (``block13``).
        filters: Output channels of the two separable convolutions; the
            shortcut has the second.
        shortcut_index: Keras' number of the unnamed shortcut convolution and
            batch normalization (3 gives ``conv2d_3``), or null.
        add_index: Keras' number of the unnamed ``Add`` (11 gives ``add_11``), or null.

    Returns:
        The feature map, (batch, ceil(height / 2), ceil(width / 2), filters[1]).
    """
    if len(filters) != 2:
        raise ValueError(
            f"Expected two channel counts for 'filters'. Received: filters={list(filters)}"
        )
    first, second = filters
    for key, value in (("filters[0]", first), ("filters[1]", second)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Expected a positive integer for '{key}'. Received: {key}={value!r}")
    return _downsampling_block(x, name, (first, second), True, shortcut_index, add_index)


def _correct_pad(size: tuple[int | None, int | None], kernel_size: int) -> tuple:
    """Zero padding for a 'valid' strided convolution, centring the kernel like TensorFlow's 'same'.

    An even size is padded one less on the top/left (``imagenet_utils.correct_pad``).
    """
    half = kernel_size // 2
    return tuple((half - (1 if s is None else 1 - s % 2), half) for s in size)


@register_block
def inverted_residual(
    x: Any,
    *,
    name: str,
    filters: PositiveInt,
    expansion: PositiveInt = 6,
    stride: int = 1,
    alpha: Positive = 1.0,
) -> Any:
    """MobileNetV2 inverted residual block: expand 1x1, depthwise 3x3, linear 1x1 bottleneck.

    ``Conv 1x1 (expansion x C_in) -> BN -> ReLU6 -> DepthwiseConv 3x3/stride -> BN -> ReLU6
    -> Conv 1x1 (filters) -> BN``, plus the input when the stride is 1 and the
    channel counts match. A ResNet bottleneck is wide-narrow-wide and adds the
    wide ends; this one is narrow-wide-narrow (hence "inverted") and adds the
    narrow ends, which keeps the tensors that cross blocks small. The
    projection has no activation (a "linear bottleneck"): a ReLU in a
    low-dimensional space destroys information that cannot be recovered.

    With ``expansion: 1`` there is no expansion convolution (MobileNetV2's first
    block, which keras.applications names ``expanded_conv``). A stride of 2
    pads explicitly (``{name}_pad``) and uses a 'valid' depthwise convolution,
    as keras.applications does.

    Layers: ``{name}_expand``, ``{name}_expand_BN``, ``{name}_expand_relu``,
    ``{name}_pad`` (stride 2), ``{name}_depthwise``, ``{name}_depthwise_BN``,
    ``{name}_depthwise_relu``, ``{name}_project``, ``{name}_project_BN``,
    ``{name}_add`` (residual).

    Example::

        - name: block_1
          inverted_residual: {filters: 24, expansion: 6, stride: 2, alpha: 1.0}

    Args:
        x: Input feature map (batch, height, width, C_in).
        name: Prefix of the layer names (``block_1``).
        filters: Output channels before the width multiplier.
        expansion: Expansion factor t of the hidden width (t x C_in).
        stride: 1, or 2 to halve the spatial size.
        alpha: Width multiplier: the output has ``make_divisible(int(filters * alpha), 8)``
            channels.

    Returns:
        The feature map, (batch, height / stride, width / stride, C_out).
    """
    from keras import layers

    if stride not in (1, 2) or isinstance(stride, bool):
        raise ValueError(f"Expected 1 or 2 for 'stride'. Received: stride={stride!r}")

    in_channels = x.shape[-1]
    out_channels = make_divisible(int(filters * alpha), 8)
    inputs = x
    if expansion != 1:
        x = _conv_bn_relu6(x, f"{name}_expand", expansion * in_channels)
    if stride == 2:
        x = layers.ZeroPadding2D(_correct_pad(x.shape[1:3], 3), name=f"{name}_pad")(x)
    depthwise = layers.DepthwiseConv2D(
        3,
        strides=stride,
        use_bias=False,
        padding="same" if stride == 1 else "valid",
        name=f"{name}_depthwise",
    )
    x = _mobilenet_bn_relu6(x, depthwise, f"{name}_depthwise")
    # The linear bottleneck: projection and batch norm, no activation.
    project = layers.Conv2D(out_channels, 1, padding="same", use_bias=False, name=f"{name}_project")
    x = conv_bn_act(x, project, bn=f"{name}_project_BN", act=None, bn_args=_MOBILENET_BN)
    if stride == 1 and in_channels == out_channels:
        return layers.Add(name=f"{name}_add")([inputs, x])
    return x


def _conv_bn_relu6(x: Any, name: str, filters: int) -> Any:
    """1x1 convolution, batch norm, ReLU6: ``{name}``, ``{name}_BN``, ``{name}_relu``."""
    from keras import layers

    conv = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=name)
    return _mobilenet_bn_relu6(x, conv, name)


def _mobilenet_bn_relu6(x: Any, conv: Any, name: str) -> Any:
    """``conv``, then MobileNetV2's ``{name}_BN`` and ReLU6 ``{name}_relu``."""
    return conv_bn_act(
        x, conv, bn=f"{name}_BN", act=f"{name}_relu", activation=_relu6, bn_args=_MOBILENET_BN
    )


def _relu6(name: str) -> Any:
    from keras import layers

    return layers.ReLU(6.0, name=name)

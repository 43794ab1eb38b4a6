"""Residual blocks (He et al., 2015 and 2016): basic and bottleneck, v1 and v2, and stages.

A residual block adds its input (the *shortcut*) to what a few convolutions
compute from it (the *residual*), ``y = F(x) + x``: the convolutions only have
to learn the difference from the identity, and the identity path carries the
gradient straight through, which is what lets networks of 50 to 150 layers
train. Two orderings are provided, as in ``keras.applications``:

* **v1**, post-activation (ResNet, He et al. 2015): ``conv-BN-ReLU`` layers,
  the sum, then a ReLU. Layer names follow ``residual_block_v1``:
  ``{name}_0_conv`` and ``{name}_0_bn`` (projection shortcut),
  ``{name}_1_conv``, ``{name}_1_bn``, ``{name}_1_relu``, ..., ``{name}_add``,
  ``{name}_out``.
* **v2**, pre-activation (ResNetV2, He et al. 2016, "Identity mappings in deep
  residual networks"): BN and ReLU come *before* each convolution, and nothing
  follows the sum, so the identity path is a pure identity from block to block.
  Layer names follow ``residual_block_v2``: ``{name}_preact_bn``,
  ``{name}_preact_relu``, ``{name}_0_conv``, ``{name}_1_conv``, ...,
  ``{name}_2_pad``, ``{name}_out``.

Bottleneck blocks (1x1 - kxk - 1x1, 4x expansion) mirror keras.applications'
``residual_block_v1``/``residual_block_v2`` exactly; basic blocks (two kxk
convolutions, which keras.applications does not have) use the same naming,
their first, strided convolution padded explicitly (``{name}_1_pad``).

The shortcut is the identity when the input already has the output's shape;
otherwise (more channels, or a stride) a 1x1 convolution *projects* it
(``conv_shortcut``). An identity shortcut with a stride subsamples with a 1x1
max pooling, as ``residual_block_v2`` does.

Keras is imported inside the functions: registering these blocks happens during
validation, which never imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keras_blueprints.blocks._common import conv_bn_act
from keras_blueprints.catalog.components import register_block
from keras_blueprints.loading.valuetypes import PositiveInt

__all__ = ["basic_block", "bottleneck_block", "resnet_stage"]

BN_EPSILON = 1.001e-5
"""BatchNormalization's epsilon in every keras.applications ResNet."""

EXPANSION = {"basic": 1, "bottleneck": 4}
"""Output channels of a block, as a multiple of its ``filters``."""

CONV_BIAS = {1: True, 2: False}
"""keras.applications' choice of bias for the convolutions followed by BN, by version."""

STRIDED_BLOCK: dict[int, Callable[[int], int]] = {
    1: lambda blocks: 1,  # stack_residual_blocks_v1 strides the first block of a stage
    2: lambda blocks: blocks,  # stack_residual_blocks_v2 strides the last one
}
"""Which block of a stage (counted from 1) carries the stage's stride, by version."""


# --- checks ------------------------------------------------------------------------


def _check_args(*, kernel_size: int, version: int) -> None:
    """The checks a type cannot say (sizes are ``PositiveInt`` in the signatures)."""
    if kernel_size % 2 == 0:
        raise ValueError(
            "Expected an odd 'kernel_size' (a residual block keeps the spatial size). "
            f"Received: kernel_size={kernel_size}"
        )
    if version not in STRIDED_BLOCK:
        raise ValueError(
            f"Expected 'version' to be one of {sorted(STRIDED_BLOCK)} (1: post-activation, "
            f"2: pre-activation). Received: version={version!r}"
        )


# --- layer sequences ---------------------------------------------------------------


def _conv(
    x: Any,
    filters: int,
    kernel_size: int,
    *,
    name: str,
    stride: int = 1,
    use_bias: bool = True,
    pad: bool = False,
) -> Any:
    """``{name}_conv``; with ``pad``, explicit symmetric padding ``{name}_pad`` before it.

    Explicit padding, rather than ``padding="same"``, pads a strided convolution
    evenly on both sides, as the papers and torchvision do (with stride 2 on an
    even size, ``same`` pads only the bottom and right).
    """
    from keras import layers

    if pad:
        x = layers.ZeroPadding2D(padding=kernel_size // 2, name=f"{name}_pad")(x)
    padding = "same" if kernel_size > 1 and not pad else "valid"
    return layers.Conv2D(
        filters,
        kernel_size,
        strides=stride,
        padding=padding,
        use_bias=use_bias,
        name=f"{name}_conv",
    )(x)


def _bn(x: Any, *, name: str, relu: bool) -> Any:
    """``{name}_bn``, then ``{name}_relu`` when ``relu``."""
    act = f"{name}_relu" if relu else None
    return conv_bn_act(x, None, bn=f"{name}_bn", act=act, bn_args={"epsilon": BN_EPSILON})


def _conv_bn(
    x: Any,
    filters: int,
    kernel_size: int,
    *,
    name: str,
    stride: int = 1,
    use_bias: bool = True,
    pad: bool = False,
    relu: bool = True,
) -> Any:
    """Convolution, batch normalization and (when ``relu``) ReLU, named ``{name}_*``."""
    x = _conv(x, filters, kernel_size, name=name, stride=stride, use_bias=use_bias, pad=pad)
    return _bn(x, name=name, relu=relu)


def _last_conv(
    x: Any, filters: int, kernel_size: int, *, name: str, version: int, use_bias: bool
) -> Any:
    """The residual's last convolution: with BN in v1; bare (with its bias) in v2."""
    if version == 1:
        return _conv_bn(x, filters, kernel_size, name=name, use_bias=use_bias, relu=False)
    return _conv(x, filters, kernel_size, name=name)


# --- residual branches -------------------------------------------------------------


def _basic_residual(
    x: Any, *, name: str, filters: int, kernel_size: int, stride: int, version: int, use_bias: bool
) -> Any:
    """Two kxk convolutions; the first carries the stride (He et al. 2015, ResNet-18/34)."""
    x = _conv_bn(
        x, filters, kernel_size, name=f"{name}_1", stride=stride, use_bias=use_bias, pad=True
    )
    return _last_conv(x, filters, kernel_size, name=f"{name}_2", version=version, use_bias=use_bias)


def _bottleneck_residual(
    x: Any, *, name: str, filters: int, kernel_size: int, stride: int, version: int, use_bias: bool
) -> Any:
    """1x1 (reduce) - kxk - 1x1 (expand x4), as keras.applications' residual_block_v1/v2.

    v1 strides the first 1x1 convolution; v2 strides the kxk one, after explicit
    padding ``{name}_2_pad``.
    """
    first, middle = (stride, 1) if version == 1 else (1, stride)
    x = _conv_bn(x, filters, 1, name=f"{name}_1", stride=first, use_bias=use_bias)
    x = _conv_bn(
        x,
        filters,
        kernel_size,
        name=f"{name}_2",
        stride=middle,
        use_bias=use_bias,
        pad=version == 2,
    )
    return _last_conv(
        x,
        EXPANSION["bottleneck"] * filters,
        1,
        name=f"{name}_3",
        version=version,
        use_bias=use_bias,
    )


RESIDUALS: dict[str, Callable[..., Any]] = {
    "basic": _basic_residual,
    "bottleneck": _bottleneck_residual,
}


# --- shortcuts and the two orderings -----------------------------------------------


@dataclass(frozen=True)
class _Shortcut:
    """How a block's shortcut is made.

    Attributes:
        projection: A 1x1 convolution (True) or the identity (False).
        channels: The block's output channels.
        stride: The block's stride.
        use_bias: Bias of a v1 projection (followed by BN).
        pool_name: Name of the pooling that subsamples a strided identity.
    """

    projection: bool
    channels: int
    stride: int
    use_bias: bool
    pool_name: str

    def identity(self, x: Any) -> Any:
        """The input itself; subsampled by a 1x1 max pooling when strided."""
        from keras import layers

        if self.stride == 1:
            return x
        return layers.MaxPooling2D(1, strides=self.stride, name=self.pool_name)(x)


def _wants_projection(x: Any, *, channels: int, stride: int, conv_shortcut: bool | None) -> bool:
    """Resolves ``conv_shortcut``: None projects exactly when the shape changes."""
    in_channels = x.shape[-1]
    if conv_shortcut is None:
        return in_channels != channels or stride > 1
    if not conv_shortcut and in_channels != channels:
        raise ValueError(
            "An identity shortcut needs as many input channels as the block outputs; "
            "use conv_shortcut=true (or leave it out to decide automatically). "
            f"Received: conv_shortcut=False with {in_channels} input channels and "
            f"{channels} output channels"
        )
    return conv_shortcut


def _post_activation(
    x: Any, residual: Callable[[Any], Any], shortcut: _Shortcut, *, name: str
) -> Any:
    """v1: ``relu(F(x) + shortcut(x))``, F ending in BN; a projection is conv + BN."""
    from keras import layers

    if shortcut.projection:
        skip = _conv_bn(
            x,
            shortcut.channels,
            1,
            name=f"{name}_0",
            stride=shortcut.stride,
            use_bias=shortcut.use_bias,
            relu=False,
        )
    else:
        skip = shortcut.identity(x)
    x = layers.Add(name=f"{name}_add")([skip, residual(x)])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _pre_activation(
    x: Any, residual: Callable[[Any], Any], shortcut: _Shortcut, *, name: str
) -> Any:
    """v2: ``F(relu(bn(x))) + shortcut(x)``; a projection reads the pre-activated input."""
    from keras import layers

    preact = _bn(x, name=f"{name}_preact", relu=True)
    if shortcut.projection:
        skip = _conv(preact, shortcut.channels, 1, name=f"{name}_0", stride=shortcut.stride)
    else:
        skip = shortcut.identity(x)
    return layers.Add(name=f"{name}_out")([skip, residual(preact)])


ORDERINGS: dict[int, Callable[..., Any]] = {1: _post_activation, 2: _pre_activation}


def _residual_block(
    x: Any,
    kind: str,
    *,
    name: str,
    filters: int,
    kernel_size: int,
    stride: int,
    conv_shortcut: bool | None,
    version: int,
    use_bias: bool | None,
    pool_name: str | None,
) -> Any:
    _check_args(kernel_size=kernel_size, version=version)
    use_bias = CONV_BIAS[version] if use_bias is None else use_bias
    channels = EXPANSION[kind] * filters
    shortcut = _Shortcut(
        projection=_wants_projection(
            x, channels=channels, stride=stride, conv_shortcut=conv_shortcut
        ),
        channels=channels,
        stride=stride,
        use_bias=use_bias,
        pool_name=pool_name or f"{name}_0_pool",
    )

    def residual(inputs: Any) -> Any:
        return RESIDUALS[kind](
            inputs,
            name=name,
            filters=filters,
            kernel_size=kernel_size,
            stride=stride,
            version=version,
            use_bias=use_bias,
        )

    return ORDERINGS[version](x, residual, shortcut, name=name)


# --- registered blocks -------------------------------------------------------------


@register_block
def basic_block(
    x: Any,
    *,
    name: str,
    filters: PositiveInt,
    kernel_size: PositiveInt = 3,
    stride: PositiveInt = 1,
    conv_shortcut: bool | None = None,
    version: int = 1,
    use_bias: bool | None = None,
    pool_name: str | None = None,
) -> Any:
    """Basic residual block: two kxk convolutions and a shortcut (ResNet-18/34).

    The first convolution carries the stride, after explicit symmetric padding
    (``{name}_1_pad``); the block outputs ``filters`` channels.

    Args:
        x: Input tensor, ``(batch, height, width, channels)``.
        name: Prefix of every layer's name.
        filters: Channels of both convolutions and of the output.
        kernel_size: Size of both convolutions (odd).
        stride: Stride of the first convolution (and of the shortcut).
        conv_shortcut: True: a 1x1 projection shortcut; False: the identity
            (subsampled when strided); None: a projection exactly when the
            shape changes.
        version: 1 for post-activation (ResNet), 2 for pre-activation (ResNetV2).
        use_bias: Bias in the convolutions followed by batch normalization;
            None follows keras.applications (v1: true, v2: false).
        pool_name: Name of the subsampling pooling of a strided identity
            shortcut (default ``{name}_0_pool``).

    Returns:
        The block's output: ``(batch, height / stride, width / stride, filters)``.

    Example::

        - name: conv3_block1
          basic_block: {filters: 128, stride: 2, use_bias: false}
    """
    return _residual_block(
        x,
        "basic",
        name=name,
        filters=filters,
        kernel_size=kernel_size,
        stride=stride,
        conv_shortcut=conv_shortcut,
        version=version,
        use_bias=use_bias,
        pool_name=pool_name,
    )


@register_block
def bottleneck_block(
    x: Any,
    *,
    name: str,
    filters: PositiveInt,
    kernel_size: PositiveInt = 3,
    stride: PositiveInt = 1,
    conv_shortcut: bool | None = None,
    version: int = 1,
    use_bias: bool | None = None,
    pool_name: str | None = None,
) -> Any:
    """Bottleneck residual block: 1x1 - kxk - 1x1 convolutions, 4x expansion (ResNet-50+).

    The first 1x1 convolution reduces the channels to ``filters``, the kxk one
    works at that width, the last 1x1 expands to ``4 * filters``: cheaper than
    two kxk convolutions at full width. Mirrors keras.applications'
    ``residual_block_v1`` (version 1, stride on the first 1x1) and
    ``residual_block_v2`` (version 2, stride on the kxk convolution).

    Args:
        x: Input tensor, ``(batch, height, width, channels)``.
        name: Prefix of every layer's name.
        filters: Channels of the bottleneck; the block outputs ``4 * filters``.
        kernel_size: Size of the middle convolution (odd).
        stride: Stride of the block (and of the shortcut).
        conv_shortcut: True: a 1x1 projection shortcut; False: the identity
            (subsampled when strided); None: a projection exactly when the
            shape changes.
        version: 1 for post-activation (ResNet), 2 for pre-activation (ResNetV2).
        use_bias: Bias in the convolutions followed by batch normalization;
            None follows keras.applications (v1: true, v2: false).
        pool_name: Name of the subsampling pooling of a strided identity
            shortcut (default ``{name}_0_pool``).

    Returns:
        The block's output: ``(batch, height / stride, width / stride, 4 * filters)``.

    Example::

        - name: conv3_block1
          bottleneck_block: {filters: 128, stride: 2}
    """
    return _residual_block(
        x,
        "bottleneck",
        name=name,
        filters=filters,
        kernel_size=kernel_size,
        stride=stride,
        conv_shortcut=conv_shortcut,
        version=version,
        use_bias=use_bias,
        pool_name=pool_name,
    )


BLOCKS_BY_KIND: dict[str, Callable[..., Any]] = {
    "basic": basic_block,
    "bottleneck": bottleneck_block,
}


@register_block
def resnet_stage(
    x: Any,
    *,
    name: str,
    filters: PositiveInt,
    blocks: PositiveInt,
    stride: PositiveInt = 2,
    block: str = "bottleneck",
    version: int = 1,
    kernel_size: PositiveInt = 3,
    use_bias: bool | None = None,
    pool_name: str | None = None,
) -> Any:
    """A ResNet stage: ``blocks`` residual blocks at one width, named ``{name}_block1``...

    Mirrors keras.applications' ``stack_residual_blocks_v1`` and
    ``stack_residual_blocks_v2``: the first block projects the shortcut when
    the shape changes, the others use the identity; version 1 puts the stride
    in the first block, version 2 in the last one.

    Args:
        x: Input tensor, ``(batch, height, width, channels)``.
        name: The stage's name (``conv2``); block ``k`` is ``{name}_block{k}``.
        filters: ``filters`` of every block.
        blocks: Number of blocks.
        stride: Stride of the stage (keras.applications' ``stride1``).
        block: ``bottleneck`` (output ``4 * filters`` channels) or ``basic``.
        version: 1 for post-activation (ResNet), 2 for pre-activation (ResNetV2).
        kernel_size: Size of the blocks' kxk convolutions (odd).
        use_bias: Bias in the convolutions followed by batch normalization;
            None follows keras.applications (v1: true, v2: false).
        pool_name: Name of the subsampling pooling of the strided block's
            identity shortcut (version 2); default ``{block name}_0_pool``.

    Returns:
        The stage's output, ``stride`` times smaller in height and width.

    Example::

        - repeat: ${len(stages)}
          name: conv${i + 2}
          resnet_stage:
            filters: "${64 * 2 ** i}"
            blocks: "${stages[i]}"
            stride: "${1 if i == 0 else 2}"
    """
    _check_args(kernel_size=kernel_size, version=version)
    if block not in BLOCKS_BY_KIND:
        raise ValueError(
            f"Expected 'block' to be one of {', '.join(sorted(BLOCKS_BY_KIND))}. "
            f"Received: block={block!r}"
        )
    strided = STRIDED_BLOCK[version](blocks)
    for index in range(1, blocks + 1):
        x = BLOCKS_BY_KIND[block](
            x,
            name=f"{name}_block{index}",
            filters=filters,
            kernel_size=kernel_size,
            stride=stride if index == strided else 1,
            conv_shortcut=None if index == 1 else False,
            version=version,
            use_bias=use_bias,
            pool_name=pool_name if index == strided else None,
        )
    return x

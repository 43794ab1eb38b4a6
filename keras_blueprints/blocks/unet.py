"""U-Net: a contracting path, an expanding path, and skip connections between them.

U-Net (Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for
Biomedical Image Segmentation", MICCAI 2015) labels every pixel of an image.
The *contracting path* (encoder) is a classification-style CNN: at each level
two 3x3 convolutions, then a 2x2 max pooling that halves the size while the
next level doubles the channels. It learns *what* is in the image, but loses
*where*. The *expanding path* (decoder) climbs back: at each level a 2x2
up-convolution doubles the size and halves the channels, the feature map of
the same level of the contracting path is concatenated to it (the *skip
connection*, which brings back the fine location detail), and two 3x3
convolutions merge the two. A final 1x1 convolution gives each pixel its
class scores.

With ``padding: valid`` (the paper), every 3x3 convolution loses a border of
one pixel, so the skip tensor is larger than the upsampled tensor it joins and
is *centre-cropped* to it; the output is then smaller than the input (572x572
gives 388x388), and only valid pixels, whose whole context was seen, are
predicted. With ``padding: same`` the sizes match and the output has the
input's size.

Layers are named from the instance name: ``{name}_1_conv``, ``{name}_1_relu``,
``{name}_2_conv``..., ``{name}_pool`` for an encoder level; ``{name}_up``,
``{name}_crop``, ``{name}_concat`` and the two convolutions for a decoder
level; a whole ``unet`` block prefixes its levels ``{name}_down{l}``,
``{name}_bottom`` and ``{name}_up{l}``.
"""

from __future__ import annotations

from typing import Any, Literal

from keras_blueprints.blocks._common import conv_bn_act
from keras_blueprints.catalog.components import register_block
from keras_blueprints.loading.valuetypes import PositiveInt, Rate

__all__ = ["unet", "unet_conv_block", "unet_decoder_level", "unet_encoder_level"]

PADDINGS = ("same", "valid")

Padding = Literal["same", "valid"]
"""The ``padding`` values: :data:`PADDINGS`."""

UpMode = Literal["transpose", "upsample"]
"""The ``up`` values: the keys of :data:`UPSAMPLERS`."""

# Every 3x3 convolution with padding 'valid' takes one pixel off each side.
SHRINK_PER_CONV = {"same": 0, "valid": 2}

# He initialisation: the paper draws the weights from a Gaussian with standard
# deviation sqrt(2 / N), N the number of inputs of a neuron.
KERNEL_INITIALIZER = "he_normal"


def _spatial(x: Any) -> tuple[Any, Any]:
    if len(x.shape) != 4:
        raise ValueError(
            f"Expected a 4D feature map (batch, height, width, channels). "
            f"Received: input shape {tuple(x.shape)}"
        )
    return x.shape[1], x.shape[2]


# -- the pieces ---------------------------------------------------------------------------


def _conv_relu(x: Any, filters: int, padding: str, batch_norm: bool, name: str) -> Any:
    """3x3 convolution, optional batch normalization, ReLU."""
    from keras import layers

    conv = layers.Conv2D(
        filters,
        3,
        padding=padding,
        use_bias=not batch_norm,
        kernel_initializer=KERNEL_INITIALIZER,
        name=f"{name}_conv",
    )
    bn = f"{name}_bn" if batch_norm else None
    return conv_bn_act(x, conv, bn=bn, act=f"{name}_relu")


def _conv_pair(x: Any, filters: int, padding: str, batch_norm: bool, name: str) -> Any:
    """The two 3x3 convolutions of every U-Net level."""
    x = _conv_relu(x, filters, padding, batch_norm, f"{name}_1")
    return _conv_relu(x, filters, padding, batch_norm, f"{name}_2")


def _check_poolable(x: Any, name: str) -> None:
    """A 2x2 pooling of an odd size drops a row: the skip would not match on the way up."""
    for size in _spatial(x):
        if size is not None and size % 2:
            size_text = "x".join(str(s) for s in x.shape[1:3])
            raise ValueError(
                f"Expected an even feature map size before the 2x2 max pooling of '{name}' "
                f"(an odd size loses a row and column, and the decoder could not join the skip "
                f"tensor). Received: feature map {size_text}; change the input size (with "
                f"same padding, a multiple of 2**depth)"
            )


def _encoder(
    x: Any, filters: int, padding: str, batch_norm: bool, dropout: float, name: str
) -> dict[str, Any]:
    """Two convolutions (the skip tensor), optional dropout, 2x2 max pooling."""
    from keras import layers

    skip = _conv_pair(x, filters, padding, batch_norm, name)
    if dropout:
        skip = layers.Dropout(dropout, name=f"{name}_drop")(skip)
    _check_poolable(skip, name)
    pooled = layers.MaxPooling2D(2, name=f"{name}_pool")(skip)
    return {"skip": skip, "pooled": pooled}


def _up_transpose(x: Any, filters: int, name: str) -> Any:
    """The paper's 2x2 up-convolution: a transposed convolution with stride 2."""
    from keras import layers

    return layers.Conv2DTranspose(
        filters, 2, strides=2, kernel_initializer=KERNEL_INITIALIZER, name=f"{name}_up"
    )(x)


def _up_sample(x: Any, filters: int, name: str) -> Any:
    """Nearest-neighbour upsampling then a 2x2 convolution (no checkerboard artefacts)."""
    from keras import layers

    x = layers.UpSampling2D(2, name=f"{name}_upsample")(x)
    return layers.Conv2D(
        filters, 2, padding="same", kernel_initializer=KERNEL_INITIALIZER, name=f"{name}_up"
    )(x)


UPSAMPLERS = {"transpose": _up_transpose, "upsample": _up_sample}


def _centre_crop(skip: Any, like: Any, name: str) -> Any:
    """Crops ``skip`` around its centre to the height and width of ``like``."""
    from keras import layers

    cropping = []
    for big, small in zip(_spatial(skip), _spatial(like), strict=True):
        if big is None or small is None:
            if big is not small:
                raise ValueError(
                    f"Expected static spatial sizes to crop the skip tensor of '{name}'. "
                    f"Received: skip {tuple(skip.shape)}, upsampled {tuple(like.shape)}"
                )
            cropping.append((0, 0))
            continue
        if big < small:
            raise ValueError(
                f"Expected the skip tensor of '{name}' to be at least as large as the "
                f"upsampled tensor. Received: skip {tuple(skip.shape)}, "
                f"upsampled {tuple(like.shape)}"
            )
        extra = big - small
        cropping.append((extra // 2, extra - extra // 2))
    if not any(top or bottom for top, bottom in cropping):
        return skip
    return layers.Cropping2D(tuple(cropping), name=f"{name}_crop")(skip)


def _decoder(
    x: Any, skip: Any, filters: int, up: str, padding: str, batch_norm: bool, name: str
) -> Any:
    """Upsample x, centre-crop the skip to it, concatenate [skip, up], two convolutions."""
    from keras import layers

    x = UPSAMPLERS[up](x, filters, name)
    skip = _centre_crop(skip, x, name)
    x = layers.Concatenate(name=f"{name}_concat")([skip, x])
    return _conv_pair(x, filters, padding, batch_norm, name)


def _check_batch_norm(batch_norm: Any) -> None:
    if not isinstance(batch_norm, bool):
        raise ValueError(
            f"Expected a boolean for 'batch_norm'. Received: batch_norm={batch_norm!r}"
        )


# -- input-size arithmetic ------------------------------------------------------------------


def output_size(size: int, depth: int, padding: str) -> int | None:
    """Follows one spatial size through a U-Net; None when some level breaks.

    Down: two 3x3 convolutions (each takes 2 with valid padding), then a 2x2
    pooling that needs an even size. Bottom: two convolutions. Up: doubling,
    then two convolutions. Every feature map must keep at least one pixel.

    Args:
        size: The input height (or width).
        depth: The number of poolings.
        padding: ``"same"`` or ``"valid"``.

    Returns:
        The output size, or None when ``size`` does not give whole feature maps.
    """
    shrink = 2 * SHRINK_PER_CONV[padding]
    for _ in range(depth):
        size -= shrink
        if size < 2 or size % 2:
            return None
        size //= 2
    size -= shrink
    for _ in range(depth):
        if size < 1:
            return None
        size = 2 * size - shrink
    return size if size >= 1 else None


def valid_sizes(depth: int, padding: str, up_to: int) -> list[int]:
    """The input sizes up to ``up_to`` that give whole feature maps at every level.

    They are ``2**depth * k - shrink`` for every ``k`` from the smallest that
    works, ``shrink`` being what a level's two convolutions take (4 with valid
    padding, 0 with same): going up from the bottom, each level doubles the
    size and adds ``shrink``.

    Args:
        depth: The number of poolings.
        padding: ``"same"`` or ``"valid"``.
        up_to: The largest size considered.

    Returns:
        The valid sizes, in increasing order (an arithmetic progression of step
        ``2 ** depth``).
    """
    step, shrink = 2**depth, 2 * SHRINK_PER_CONV[padding]
    first = next(
        k for k in range(1, 64) if output_size(step * k - shrink, depth, padding) is not None
    )
    return list(range(step * first - shrink, up_to + 1, step))


def _check_input_size(x: Any, depth: int, padding: str) -> None:
    step = 2**depth
    for size in _spatial(x):
        if size is None:
            if padding == "valid":
                raise ValueError(
                    "Expected a fixed input height and width: a valid-padding U-Net crops its "
                    f"skip tensors by sizes computed from them. Received: input shape "
                    f"{tuple(x.shape)}"
                )
            continue
        if output_size(size, depth, padding) is not None:
            continue
        sizes = valid_sizes(depth, padding, max(size, 64 * step))
        lower = [s for s in sizes if s < size]
        higher = [s for s in sizes if s > size]
        nearest = " and ".join(str(s) for s in [*lower[-1:], *higher[:1]])
        raise ValueError(
            f"input size {size} does not give whole feature maps at every level of a "
            f"{padding}-padding U-Net of depth {depth}. Expected one of "
            f"{', '.join(map(str, sizes[:3]))}, ... (every {step}); the nearest are {nearest}"
        )


# -- the blocks -----------------------------------------------------------------------------


@register_block
def unet_conv_block(
    x: Any, *, name: str, filters: PositiveInt, padding: Padding = "same", batch_norm: bool = False
) -> Any:
    """Two 3x3 convolutions with ReLU: the body of every U-Net level, and its bottom.

    Example::

        - name: bottom
          from: down3.pooled
          unet_conv_block: {filters: 1024, padding: valid}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer (``{name}_1_conv``,
            ``{name}_1_relu``, ``{name}_2_conv``, ``{name}_2_relu``).
        filters: Channels of both convolutions.
        padding: ``"same"`` keeps the size; ``"valid"`` (the paper) takes 2
            pixels off each side in all.
        batch_norm: Insert batch normalization before each ReLU (not in the
            paper; the convolutions then have no bias).

    Returns:
        The feature map with ``filters`` channels.

    Raises:
        ValueError: A non-positive ``filters`` or an unknown ``padding``.
    """
    _check_batch_norm(batch_norm)
    _spatial(x)
    return _conv_pair(x, filters, padding, batch_norm, name)


@register_block
def unet_encoder_level(
    x: Any,
    *,
    name: str,
    filters: PositiveInt,
    padding: Padding = "same",
    batch_norm: bool = False,
    dropout: Rate = 0.0,
) -> dict[str, Any]:
    """One level of the contracting path: two 3x3 convolutions, then 2x2 max pooling.

    It has two outputs: ``skip``, the feature map before pooling, which the
    decoder level of the same depth concatenates (the skip connection), and
    ``pooled``, half its size, which goes down to the next level. Refer to them
    as ``INSTANCE.skip`` and ``INSTANCE.pooled``; the instance alone is
    ambiguous.

    Example::

        - name: down0
          unet_encoder_level: {filters: 64}
        - name: down1
          from: down0.pooled
          unet_encoder_level: {filters: 128}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer (``{name}_1_conv``,
            ``{name}_2_relu``, ``{name}_drop``, ``{name}_pool``).
        filters: Channels of both convolutions.
        padding: ``"same"`` or ``"valid"`` (the paper).
        batch_norm: Insert batch normalization before each ReLU.
        dropout: Dropout rate applied to the skip tensor before pooling (the
            paper drops out at the end of the contracting path); 0 adds no layer.

    Returns:
        ``{"skip": feature map, "pooled": feature map of half its size}``.

    Raises:
        ValueError: A bad argument, or an odd feature map size before the
            pooling (the input size does not suit the depth).
    """
    _check_batch_norm(batch_norm)
    _spatial(x)
    return _encoder(x, filters, padding, batch_norm, dropout, name)


@register_block
def unet_decoder_level(
    inputs: list,
    *,
    name: str,
    filters: PositiveInt,
    up: UpMode = "transpose",
    padding: Padding = "same",
    batch_norm: bool = False,
) -> Any:
    """One level of the expanding path: upsample, join the skip tensor, two 3x3 convolutions.

    The deeper feature map is doubled in size by ``up``: ``transpose``, the
    paper's 2x2 up-convolution (a transposed convolution with stride 2), or
    ``upsample``, nearest-neighbour upsampling then a 2x2 convolution (same
    parameter count, no checkerboard artefacts). Either gives ``filters``
    channels, half the deeper level's. The skip tensor from the contracting
    path is centre-cropped to the upsampled size when it is larger (with
    ``padding: valid``, from the static shapes: layer ``{name}_crop``), then the
    two are concatenated, skip first, and merged by two 3x3 convolutions.

    Example::

        - name: up3
          from: [bottom, down3.skip]
          unet_decoder_level: {filters: 512, up: transpose}

    Args:
        inputs: ``[deeper feature map, skip tensor]``.
        name: The instance name, the prefix of every layer (``{name}_upsample``,
            ``{name}_up``, ``{name}_crop``, ``{name}_concat``, ``{name}_1_conv``...).
        filters: Channels of the up-convolution and of both 3x3 convolutions.
        up: ``"transpose"`` or ``"upsample"``.
        padding: ``"same"`` or ``"valid"`` (the paper).
        batch_norm: Insert batch normalization before each ReLU.

    Returns:
        The feature map with ``filters`` channels at the skip tensor's
        resolution (less the convolutions' borders with valid padding).

    Raises:
        ValueError: A bad argument, not two inputs, or a skip tensor smaller
            than the upsampled one.
    """
    _check_batch_norm(batch_norm)
    if len(inputs) != 2:
        raise ValueError(
            f"Expected two inputs, the deeper feature map and the skip tensor. "
            f"Received: {len(inputs)} input(s)"
        )
    x, skip = inputs
    _spatial(x)
    _spatial(skip)
    return _decoder(x, skip, filters, up, padding, batch_norm, name)


@register_block
def unet(
    x: Any,
    *,
    name: str,
    depth: PositiveInt = 4,
    filters: PositiveInt = 64,
    padding: Padding = "same",
    up: UpMode = "transpose",
    batch_norm: bool = False,
    dropout: Rate = 0.0,
) -> Any:
    """A whole U-Net body: ``depth`` encoder levels, the bottom, ``depth`` decoder levels.

    Level ``l`` (from 0) has ``filters * 2**l`` channels; the bottom, level
    ``depth``, ``filters * 2**depth``. The paper's network is ``depth: 4,
    filters: 64, padding: valid`` (64 to 1024 channels); add the 1x1
    convolution that gives the class scores after it. The input size is
    checked first: with ``same`` padding it must be a multiple of
    ``2**depth``; with ``valid`` padding, of the form ``2**depth * k - 4``
    (572 = 16 * 36 - 4 for the paper) and large enough to keep a pixel at
    every level (188 at least for depth 4); the error lists the valid sizes.

    Layers: ``{name}_down{l}_...`` (see ``unet_encoder_level``),
    ``{name}_bottom_...`` (``unet_conv_block``), ``{name}_up{l}_...``
    (``unet_decoder_level``).

    Example::

        - name: unet
          unet: {depth: 4, filters: 64, padding: valid}
        - name: scores
          Conv2D: {filters: 2, kernel_size: 1, activation: softmax}

    Args:
        x: A 4D image batch, channels last.
        name: The instance name, the prefix of every layer.
        depth: The number of poolings (and of up-convolutions).
        filters: Channels at the first level, doubled at each level down.
        padding: ``"same"`` or ``"valid"`` (the paper).
        up: ``"transpose"`` (the paper) or ``"upsample"``; see ``unet_decoder_level``.
        batch_norm: Insert batch normalization before each ReLU.
        dropout: Dropout rate at the end of the contracting path (after the
            deepest encoder level and the bottom), as in the paper; 0 adds no layer.

    Returns:
        The last decoder feature map, ``filters`` channels.

    Raises:
        ValueError: A bad argument, or an input size that does not give whole
            feature maps at every level (the message lists the valid sizes).
    """
    from keras import layers

    _check_batch_norm(batch_norm)
    _check_input_size(x, depth, padding)
    skips = []
    for level in range(depth):
        rate = dropout if level == depth - 1 else 0.0
        out = _encoder(x, filters * 2**level, padding, batch_norm, rate, f"{name}_down{level}")
        skips.append(out["skip"])
        x = out["pooled"]
    x = _conv_pair(x, filters * 2**depth, padding, batch_norm, f"{name}_bottom")
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_bottom_drop")(x)
    for level in reversed(range(depth)):
        x = _decoder(
            x, skips[level], filters * 2**level, up, padding, batch_norm, f"{name}_up{level}"
        )
    return x

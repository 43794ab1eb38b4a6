"""Convolution stacks: 1D/2D/3D convolutions, batch norm and pooling, and their decoder twins.

A *convolution stack* is the stage every CNN from LeNet to VGG is made of:
``depth`` convolutions (each with its activation, optionally batch
normalization), then a pooling that subsamples the feature maps. A
convolution shares its small kernel across all positions (far fewer weights
than a dense layer, and translation equivariance); stacking small kernels
grows the receptive field: ``n`` stacked 3x3 convolutions see a
``(2n + 1) x (2n + 1)`` patch, as VGG showed.

* ``rank`` picks Conv1D (sequences), Conv2D (images) or Conv3D (volumes, video).
* ``strides`` applies to the first convolution of the stack, which downsamples
  once on entry; the others keep the size. ``padding: causal`` (1D only) pads
  on the left, so that step ``t`` sees no step after ``t`` (WaveNet), and with
  ``dilation_rate`` the receptive field grows exponentially with depth.
* ``up`` makes a decoder stack, the way back up of an autoencoder or U-Net, or
  ZF-Net's "deconvnet": ``transpose`` uses transposed convolutions (learned
  upsampling: ``strides: 2`` doubles the size; overlapping kernels may leave
  checkerboard artifacts), ``upsample`` repeats each value ``strides`` times
  along each axis (nearest-neighbour "unpooling"), then convolves at stride 1.
* ``pool`` ends the stack: ``max``, ``average`` (``pool_size``, ``pool_strides``,
  ``pool_padding``), ``global_max``, ``global_average`` (one value per channel)
  or none.

Layer names, for a stack named ``name``: ``{name}_up`` (upsampling),
``{name}_conv{i}`` (from 1, as ``keras.applications.VGG16`` names
``block1_conv1``), ``{name}_conv{i}_bn``, ``{name}_conv{i}_act``, and
``{name}_pool``.

Keras is imported inside the functions: registering these blocks happens during
validation, which never imports TensorFlow.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

from keras_blueprints.blocks.dense import (
    Activation,
    bn_position,
    layer_sizes,
    linear_bn_act,
    regularizer,
)
from keras_blueprints.catalog.components import register_block
from keras_blueprints.loading.valuetypes import NonNegative, PositiveInt

__all__ = ["POOLS", "RANKS", "UP_MODES", "conv_stack"]

RANKS = (1, 2, 3)
"""Spatial axes of the convolutions: 1 for sequences, 2 for images, 3 for volumes."""

Rank = Literal[1, 2, 3]
"""The ``rank`` values: :data:`RANKS`."""

UpMode = Literal["transpose", "upsample"]
"""The ``up`` values besides null: the keys of :data:`UP_MODES`."""

Pool = Literal["max", "average", "global_max", "global_average", "none"]
"""The ``pool`` values besides null: the keys of :data:`POOLS`."""

Padding = Literal["valid", "same", "causal"]
"""The ``padding`` values; ``causal`` only for plain 1D stacks (checked in the block)."""


# --- how a stack starts: the convolution class and what comes before it ------------


def _enter_plain(x: Any, *, rank: int, strides: Any, name: str) -> tuple[Any, Any]:
    """No layer before the convolutions; the first one takes the stride."""
    return x, strides


def _enter_upsampling(x: Any, *, rank: int, strides: Any, name: str) -> tuple[Any, Any]:
    """``{name}_up`` repeats values ``strides`` times; the convolutions keep the size."""
    from keras import layers

    upsampling = getattr(layers, f"UpSampling{rank}D")
    return upsampling(size=strides, name=f"{name}_up")(x), 1


UP_MODES: dict[str | None, tuple[str, Callable[..., tuple[Any, Any]]]] = {
    None: ("Conv{rank}D", _enter_plain),
    "transpose": ("Conv{rank}DTranspose", _enter_plain),
    "upsample": ("Conv{rank}D", _enter_upsampling),
}
"""By ``up`` value: the convolution class (a template over the rank) and the stack's entry."""


# --- how a stack ends: pooling -------------------------------------------------------


def _window_pooling(kind: str) -> Callable[..., Any]:
    def make(rank: int, *, size: Any, strides: Any, padding: str, name: str) -> Any:
        from keras import layers

        pooling = getattr(layers, f"{kind}Pooling{rank}D")
        return pooling(pool_size=size, strides=strides, padding=padding, name=name)

    return make


def _global_pooling(kind: str) -> Callable[..., Any]:
    def make(rank: int, *, size: Any, strides: Any, padding: str, name: str) -> Any:
        from keras import layers

        return getattr(layers, f"Global{kind}Pooling{rank}D")(name=name)

    return make


POOLS: dict[str | None, Callable[..., Any] | None] = {
    "max": _window_pooling("Max"),
    "average": _window_pooling("Average"),
    "global_max": _global_pooling("Max"),
    "global_average": _global_pooling("Average"),
    "none": None,
    None: None,
}
"""Pooling layer factories by ``pool`` value: ``make(rank, size=, strides=, padding=, name=)``."""


# --- checks ------------------------------------------------------------------------


def _paddings(rank: int, up: str | None) -> tuple[str, ...]:
    """``causal`` pads on the left only: defined for 1D convolutions, not transposed ones."""
    return ("valid", "same", "causal") if rank == 1 and up != "transpose" else ("valid", "same")


def _check_padding(padding: str, rank: int, up: str | None) -> None:
    """The one check that depends on other values: ``causal`` needs a plain 1D stack."""
    choices = _paddings(rank, up)
    if padding not in choices:
        raise ValueError(
            f"Expected 'padding' to be one of: {', '.join(choices)}. Received: padding={padding!r}"
        )


def _groups(groups: int | list, depth: int, up: str | None) -> list[int]:
    """One group count per convolution; transposed convolutions have no groups."""
    counts = list(groups) if isinstance(groups, list | tuple) else [groups] * depth
    if len(counts) != depth:
        raise ValueError(
            f"Expected one 'groups' value per convolution ({depth}). Received: groups={groups!r}"
        )
    if up == "transpose" and any(count != 1 for count in counts):
        raise ValueError(
            f"Expected 'groups' to be 1 with up: transpose. Received: groups={groups!r}"
        )
    return layer_sizes(counts, None, "groups")


# --- the block -----------------------------------------------------------------------


@register_block
def conv_stack(
    x: Any,
    *,
    name: str,
    filters: PositiveInt | list,
    depth: PositiveInt | None = None,
    rank: Rank = 2,
    kernel_size: int | list = 3,
    strides: int | list = 1,
    padding: Padding = "same",
    dilation_rate: int | list = 1,
    activation: Activation = "relu",
    batch_norm: bool | str = False,
    l1: NonNegative = 0.0,
    l2: NonNegative = 0.0,
    up: UpMode | None = None,
    pool: Pool | None = None,
    pool_size: int | list = 2,
    pool_strides: int | list | None = None,
    pool_padding: Literal["valid", "same"] = "valid",
    groups: PositiveInt | list = 1,
) -> Any:
    """A stack of 1D/2D/3D convolutions followed by pooling, or a decoder stack that upsamples.

    ``filters`` gives the number of feature maps of each convolution (a list), or
    of all ``depth`` of them (a number). Layers are named ``{name}_conv{i}``
    (from 1), ``{name}_conv{i}_bn``, ``{name}_conv{i}_act``, ``{name}_up`` and
    ``{name}_pool``, so a VGG block named ``block1`` has the layer names of
    ``keras.applications.VGG16``.

    Example::

        graph:
          - name: block1      # block1_conv1, block1_conv2, block1_pool
            conv_stack: {filters: 64, depth: 2, pool: max}
          - name: block2
            conv_stack: {filters: [128, 128], batch_norm: true, pool: max}
          - name: decode      # 2x upsampling, learned
            conv_stack: {filters: 64, up: transpose, strides: 2}
          - name: tcn         # length kept, no look-ahead
            conv_stack: {rank: 1, filters: 32, padding: causal, dilation_rate: 2}

    Args:
        x: The input tensor, channels last.
        name: The block instance's name, prefix of every layer.
        filters: Feature maps of each convolution (a list), or of every one (a number).
        depth: Number of convolutions when ``filters`` is a number (default 1).
        rank: 1, 2 or 3: Conv1D, Conv2D or Conv3D (and the matching pooling).
        kernel_size: The kernel's size (a number, or one per axis), for every convolution.
        strides: The first convolution's stride; with ``up``, the upsampling factor.
        padding: ``same`` (keeps the size at stride 1), ``valid`` (no padding) or,
            for 1D, ``causal``.
        dilation_rate: Spacing of the kernel's taps, for every convolution.
        activation: One of relu, leaky_relu, elu, selu, gelu, tanh, sigmoid, linear.
        batch_norm: True or ``"before"``: batch normalization between each
            convolution (then without bias) and its activation; ``"after"``:
            after the activation; False: none.
        l1: L1 penalty on every kernel (``kernel_regularizer``).
        l2: L2 penalty on every kernel.
        up: None (a plain stack), ``transpose`` (transposed convolutions, the
            first with ``strides``) or ``upsample`` (``{name}_up`` by ``strides``,
            then convolutions).
        pool: ``max``, ``average``, ``global_max``, ``global_average``, or none.
        pool_size: Window of a max or average pooling.
        pool_strides: Its stride (default: ``pool_size``; smaller overlaps windows).
        pool_padding: ``valid`` or ``same`` (rounds the pooled size up).
        groups: Grouped convolutions: each convolution splits its input and output
            maps into ``groups`` groups, and a group sees only its own input group
            (``groups`` times fewer kernel weights; AlexNet's two GPU towers). One
            number for every convolution or a list with one per convolution; both
            the input and the output maps must divide evenly. Not with ``up: transpose``.

    Returns:
        The output tensor.
    """
    from keras import layers

    sizes = layer_sizes(filters, depth, "filters")
    group_counts = _groups(groups, len(sizes), up)
    _check_padding(padding, rank, up)
    bn_position(batch_norm)
    template, enter = UP_MODES[up]
    conv = getattr(layers, template.format(rank=rank))
    x, first_strides = enter(x, rank=rank, strides=strides, name=name)
    for i, (size, group_count) in enumerate(zip(sizes, group_counts, strict=True), start=1):
        make = functools.partial(
            conv,
            size,
            kernel_size,
            strides=first_strides if i == 1 else 1,
            padding=padding,
            dilation_rate=dilation_rate,
            kernel_regularizer=regularizer(l1, l2),
            **({"groups": group_count} if group_count != 1 else {}),
        )
        x = linear_bn_act(
            x, make, name=f"{name}_conv{i}", activation=activation, batch_norm=batch_norm
        )
    make_pool = POOLS[pool]
    if make_pool is None:
        return x
    return make_pool(
        rank, size=pool_size, strides=pool_strides, padding=pool_padding, name=f"{name}_pool"
    )(x)

"""Dense stacks: fully connected layers with activation, batch norm, dropout and maxout.

A *dense stack* is the hidden part of a multilayer perceptron, or the
classifier that ends a CNN: ``depth`` fully connected layers, each computing
``activation(W x + b)``, with the usual companions:

* **batch normalization**, before the activation (Ioffe & Szegedy's place; the
  layer's bias is then left out, since BN's mean subtraction cancels it and its
  ``beta`` takes its role) or after it;
* **dropout** after each layer (active in training only: ``model(x,
  training=False)`` is deterministic);
* **L1/L2 weight penalties** (``kernel_regularizer``), which add
  ``l1 * sum|W| + l2 * sum W**2`` per layer to the loss (``model.losses``);
* **maxout units** (Goodfellow et al., 2013): each unit outputs the maximum of
  ``k`` linear pieces, a learned piecewise-linear convex activation (ReLU is
  the maxout of ``x`` and ``0``).

Keras 3 has no Maxout layer. It is composed here from standard layers, so a
model with maxout units saves, reloads and deserializes with plain Keras (no
custom class to register before loading, no registry changed during a build):
the Dense layer computes ``units * k`` pieces, a Reshape lays them out as
``(k, units)``, a max pooling of size ``k`` over the pieces axis keeps the
largest, and a Reshape drops the pooled axis.

Layer names, for the ``i``-th layer (from 1) of a stack named ``name``:
``{name}_dense{i}``, then ``{name}_dense{i}_bn``, ``{name}_dense{i}_act``,
``{name}_dense{i}_dropout``; with maxout ``{name}_dense{i}_pieces``,
``{name}_dense{i}_max`` and ``{name}_dense{i}_maxout``.

The helpers shared with the convolution stacks (:func:`linear_bn_act`,
:func:`layer_sizes`, :data:`Activation`, :func:`regularizer`) live here.
Keras is imported inside the functions: registering these blocks happens during
validation, which never imports TensorFlow.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

from keras_blueprints.blocks._common import conv_bn_act
from keras_blueprints.catalog.components import register_block
from keras_blueprints.loading.valuetypes import Bound, NonNegative, PositiveInt, Rate

__all__ = [
    "ACTIVATIONS",
    "bn_position",
    "dense_stack",
    "layer_sizes",
    "linear_bn_act",
    "regularizer",
]

Activation = Literal["relu", "leaky_relu", "elu", "selu", "gelu", "tanh", "sigmoid", "linear"]
"""The activations a stack accepts (Keras names), checked at load time."""

ACTIVATIONS: tuple[str, ...] = typing.get_args(Activation)
"""The same, as a tuple."""

BN_POSITIONS: dict[bool | str, str | None] = {
    False: None,
    "none": None,
    True: "before",
    "before": "before",
    "after": "after",
}
"""Where batch normalization goes, relative to the activation, by ``batch_norm`` value."""

Pieces = Annotated[int, Bound("an integer >= 2 (pieces per unit)", minimum=2)]
"""The number of linear pieces of a maxout unit."""


# --- checks ------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def layer_sizes(value: int | list, depth: int | None, key: str) -> list[int]:
    """Per-layer sizes: a list as given, or one size repeated ``depth`` times.

    Args:
        value: A positive integer, or a list of them (one per layer).
        depth: The number of layers, or None (one layer, or as many as the list).
        key: The parameter's name, for the messages (``units``, ``filters``).

    Returns:
        One size per layer.

    Raises:
        ValueError: A size is not a positive integer, or the depth disagrees
            with the list's length (the blocks annotate ``depth`` as a
            ``PositiveInt``, checked when they are called).
    """
    if isinstance(value, list | tuple):
        sizes = list(value)
        if depth is not None and depth != len(sizes):
            raise ValueError(
                f"Expected 'depth' to be left out or equal to the number of '{key}' "
                f"({len(sizes)}). Received: depth={depth}, {key}={value!r}"
            )
    else:
        sizes = [value] * (depth or 1)
    if not sizes or not all(_is_int(s) and s > 0 for s in sizes):
        raise ValueError(
            f"Expected a positive integer or a non-empty list of them for '{key}'. "
            f"Received: {key}={value!r}"
        )
    return sizes


def bn_position(batch_norm: bool | str) -> str | None:
    """Returns ``"before"``, ``"after"`` (the activation) or None, from ``batch_norm``.

    Raises:
        ValueError: Not one of the accepted values.
    """
    if not isinstance(batch_norm, bool | str) or batch_norm not in BN_POSITIONS:
        raise ValueError(
            "Expected 'batch_norm' to be true or 'before' (batch normalization before the "
            "activation), 'after', or false. "
            f"Received: batch_norm={batch_norm!r}"
        )
    return BN_POSITIONS[batch_norm]


def regularizer(l1: float, l2: float) -> Any:
    """A fresh ``keras.regularizers.L1L2(l1, l2)``, or None when both are 0.

    The penalties are checked (``NonNegative``) where the blocks take them.
    """
    if not (l1 or l2):
        return None
    import keras

    return keras.regularizers.L1L2(l1=float(l1), l2=float(l2))


# --- layer sequences ---------------------------------------------------------------


def linear_bn_act(
    x: Any,
    make_linear: Callable[..., Any],
    *,
    name: str,
    activation: str,
    batch_norm: bool | str = False,
    nonlinearity: Callable[[Any, str], Any] | None = None,
) -> Any:
    """A linear layer (Dense, convolution), batch normalization and a non-linearity.

    The orders, for ``batch_norm`` False, ``"before"`` (or True) and ``"after"``:

    * ``linear(activation)``: the activation inside the layer, as keras.applications writes it;
    * ``linear(no bias) -> {name}_bn -> {name}_act``;
    * ``linear(activation) -> {name}_bn``.

    Args:
        x: The input tensor.
        make_linear: ``make_linear(name=, activation=, use_bias=)`` returns the layer.
        name: The linear layer's name; the others are named from it.
        activation: A Keras activation name, used when ``nonlinearity`` is None.
        batch_norm: False, True or ``"before"``, or ``"after"``.
        nonlinearity: ``f(x, name)`` applying a non-linearity made of layers
            (maxout); the linear layer then has no activation of its own.

    Returns:
        The output tensor.
    """
    position = bn_position(batch_norm)
    inline = nonlinearity is None and position != "before"
    linear = make_linear(
        name=name, activation=activation if inline else None, use_bias=position != "before"
    )
    bn_before = f"{name}_bn" if position == "before" else None
    # The activation as its own layer, {name}_act, when it follows a batch norm (none for linear).
    act = f"{name}_act" if bn_before and nonlinearity is None and activation != "linear" else None
    x = conv_bn_act(x, linear, bn=bn_before, act=act, activation=activation)
    if nonlinearity is not None:
        x = nonlinearity(x, name)
    if position == "after":
        x = conv_bn_act(x, None, bn=f"{name}_bn", act=None)
    return x


MAXOUT_POOLINGS = {1: "MaxPooling1D", 2: "MaxPooling2D", 3: "MaxPooling3D"}
"""The max pooling that reduces the pieces axis, by number of axes pooled over."""


def _maxout(x: Any, name: str, *, units: int, pieces: int) -> Any:
    """Max over ``pieces`` linear pieces: ``(..., pieces * units) -> (..., units)``.

    Piece ``j`` of unit ``u`` is feature ``j * units + u`` of the Dense layer.
    Inner axes (a sequence's steps, an image's rows and columns) are kept; at
    most one of them may be of unknown size.
    """
    from keras import layers

    inner = tuple(x.shape[1:-1])
    if sum(d is None for d in inner) > 1 or len(inner) + 1 not in MAXOUT_POOLINGS:
        raise ValueError(
            "Expected maxout inputs of rank 2 to 4 with at most one axis of unknown size "
            f"besides the batch. Received: input shape {tuple(x.shape)}"
        )
    inner = tuple(-1 if d is None else d for d in inner)
    pool = getattr(layers, MAXOUT_POOLINGS[len(inner) + 1])
    x = layers.Reshape((*inner, pieces, units), name=f"{name}_pieces")(x)
    x = pool(pool_size=(1,) * len(inner) + (pieces,), name=f"{name}_max")(x)
    return layers.Reshape((*inner, units), name=f"{name}_maxout")(x)


def _dense(units: int, *, kernel_regularizer: Any, name: str, activation: Any, use_bias: bool):
    from keras import layers

    return layers.Dense(
        units,
        activation=activation,
        use_bias=use_bias,
        kernel_regularizer=kernel_regularizer,
        name=name,
    )


@register_block
def dense_stack(
    x: Any,
    *,
    name: str,
    units: PositiveInt | list,
    depth: PositiveInt | None = None,
    activation: Activation | None = None,
    dropout: Rate = 0.0,
    batch_norm: bool | str = False,
    l1: NonNegative = 0.0,
    l2: NonNegative = 0.0,
    maxout: Pieces | None = None,
) -> Any:
    """A stack of fully connected layers, with batch norm, dropout, weight penalties or maxout.

    Each layer computes ``activation(W x + b)``; ``units`` gives the width of each
    layer (a list), or of all ``depth`` layers (a number). Layers are named
    ``{name}_dense{i}`` (from 1), their companions ``{name}_dense{i}_bn``,
    ``_act``, ``_dropout``, and with maxout ``_pieces``, ``_max``, ``_maxout``.

    Example::

        graph:
          - Flatten
          - name: hidden
            dense_stack: {units: [512, 256], activation: gelu, dropout: 0.3, batch_norm: true}
          - name: wide
            dense_stack: {units: 256, depth: 3, maxout: 4, l2: 0.0001}
          - Dense: {units: 10, activation: softmax}

    Args:
        x: The input tensor (features on the last axis).
        name: The block instance's name, prefix of every layer.
        units: Units of each layer (a list), or of every layer (a number).
        depth: Number of layers when ``units`` is a number (default 1).
        activation: One of relu, leaky_relu, elu, selu, gelu, tanh, sigmoid,
            linear; default relu. Maxout units take none: the max is their
            non-linearity.
        dropout: Dropout rate after each layer, in [0, 1); 0 for none.
        batch_norm: True or ``"before"``: batch normalization between the
            layer (then without bias) and its activation; ``"after"``: after the
            activation; False: none.
        l1: L1 penalty on every kernel (``kernel_regularizer``).
        l2: L2 penalty on every kernel.
        maxout: Number of linear pieces ``k`` (at least 2) of maxout units:
            each layer computes ``k * units`` pieces and keeps the max of each ``k``.

    Returns:
        The output tensor, of ``units[-1]`` features.
    """
    from keras import layers

    sizes = layer_sizes(units, depth, "units")
    if maxout is not None and activation not in (None, "linear"):
        raise ValueError(
            "Expected no 'activation' with maxout units (the max of the pieces is their "
            f"non-linearity). Received: activation={activation!r}, maxout={maxout}"
        )
    activation = activation or ("linear" if maxout else "relu")
    bn_position(batch_norm)
    for i, size in enumerate(sizes, start=1):
        layer = f"{name}_dense{i}"
        make = functools.partial(
            _dense, size * (maxout or 1), kernel_regularizer=regularizer(l1, l2)
        )
        pieces = functools.partial(_maxout, units=size, pieces=maxout) if maxout else None
        x = linear_bn_act(
            x,
            make,
            name=layer,
            activation=activation,
            batch_norm=batch_norm,
            nonlinearity=pieces,
        )
        if dropout:
            x = layers.Dropout(dropout, name=f"{layer}_dropout")(x)
    return x

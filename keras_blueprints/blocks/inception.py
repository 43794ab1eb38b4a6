"""Inception modules: convolutions of several sizes side by side, concatenated.

GoogLeNet (Szegedy et al., "Going deeper with convolutions", 2014) replaced the
single convolution of a CNN stage by an *Inception module*: 1x1, 3x3 and 5x5
convolutions and a 3x3 max pooling look at the same input in parallel and their
maps are concatenated along the channels, so the next layer can pick, at each
place, detail from the small kernels or context from the large ones.

* :func:`inception_naive`: the plain form (paper figure 2a). Its pooling branch
  passes every input channel through, so channels grow at each module and the
  5x5 convolutions over them become ruinously expensive.
* :func:`inception_v1`: the module of GoogLeNet (figure 2b). 1x1 convolutions
  ("reductions") first shrink the channels the 3x3 and 5x5 convolutions see,
  and project the pooled branch, which keeps the cost in check; each is
  followed by a ReLU, so they add depth too.
* :func:`inception_aux_head`: the auxiliary classifier GoogLeNet attaches to
  two intermediate modules during training, to inject gradient into the middle
  of the network; the model gets it as an extra output with its own loss weight.

Inception-v3 (Szegedy et al., "Rethinking the Inception Architecture", 2015)
factorizes the large kernels: a 5x5 becomes two stacked 3x3 (28% cheaper, same
receptive field), an nxn becomes a 1xn followed by an nx1, and the grid is
shrunk by modules whose strided convolution and pooling branches run in
parallel, so that halving the size never squeezes the representation through a
bottleneck. Every convolution is followed by batch normalization and ReLU
(:func:`inception_conv_bn`). The modules are named as in the Inception-v4 paper
(torchvision's InceptionA..E in brackets):

* :func:`inception_v3_a` (A): 35x35, a 5x5 and a double-3x3 branch (mixed0-2).
* :func:`inception_v3_reduction_a` (B): 35x35 -> 17x17 (mixed3).
* :func:`inception_v3_b` (C): 17x17, 7x7 factorized into 1x7 and 7x1 (mixed4-7).
* :func:`inception_v3_reduction_b` (D): 17x17 -> 8x8 (mixed8).
* :func:`inception_v3_c` (E): 8x8, the expanded filter bank whose last 1x3 and
  3x1 run side by side (mixed9-10).

Naming. Every block names its layers from its instance name
(``{name}_1x1_conv``, ``{name}_5x5_reduce_bn``...) and names its output layer
after the instance itself, so the instance name is also the output's name. To
mirror ``keras.applications.InceptionV3``, whose convolution, batch
normalization, activation and pooling layers are *not* named (Keras numbers
them through the whole model: ``conv2d_5``, ``batch_normalization_5``,
``activation_5``, ``average_pooling2d_1``), the Inception-v3 blocks take the
numbers their layers would get: ``first_index`` for the first of their
convolution + batch normalization + activation triples (the three counters
move together), ``pool_index`` for their pooling layer, and module C
``split_names`` for its two inner concatenations. A blueprint computes the
numbers from the count of triples in the modules before (see
``blueprints/inception_v3.yaml``); left out, the names come from the instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from keras_blueprints.blocks._common import conv_bn_act
from keras_blueprints.catalog.components import register_block, snake_case
from keras_blueprints.loading.valuetypes import NonNegativeInt, PositiveInt, Rate

__all__ = [
    "inception_aux_head",
    "inception_conv_bn",
    "inception_naive",
    "inception_v1",
    "inception_v3_a",
    "inception_v3_b",
    "inception_v3_c",
    "inception_v3_reduction_a",
    "inception_v3_reduction_b",
    "keras_auto_name",
]

# -- argument checks -----------------------------------------------------------------


def _pair(arg: str, value: Any) -> tuple[int, int]:
    """Reads a kernel size or stride: an integer, or a list ``[rows, cols]``."""
    pair = (value, value) if not isinstance(value, list | tuple) else tuple(value)
    if len(pair) != 2 or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair
    ):
        raise ValueError(
            f"Expected a positive integer or a list of two for '{arg}'. Received: {arg}={value!r}"
        )
    return pair


def _check_split_names(split_names: Any) -> None:
    if split_names is not None and (
        not isinstance(split_names, list | tuple)
        or len(split_names) != 2
        or not all(isinstance(s, str) and s for s in split_names)
    ):
        raise ValueError(
            "Expected a list of two layer names or null for 'split_names'. "
            f"Received: split_names={split_names!r}"
        )


# -- naming --------------------------------------------------------------------------


def keras_auto_name(class_name: str, index: int) -> str:
    """The name Keras gives the ``index``-th unnamed layer of a class in a session.

    Args:
        class_name: The layer class, e.g. ``Conv2D``.
        index: 0 for the first such layer.

    Returns:
        ``conv2d`` for index 0, ``conv2d_5`` for index 5.
    """
    prefix = snake_case(class_name)
    return prefix if index == 0 else f"{prefix}_{index}"


class _Namer:
    """Names the layers of one module: from the instance name, or as Keras numbers them.

    ``first_index`` (when not None) is the number of the module's first
    convolution + batch normalization + activation triple, and each call of
    :meth:`conv_bn` takes the next number; ``pool_index`` numbers the pooling
    layer; ``split_names`` names the concatenations of split branches in order.
    """

    def __init__(
        self,
        name: str,
        first_index: int | None = None,
        pool_index: int | None = None,
        split_names: Sequence[str] | None = None,
    ) -> None:
        _check_split_names(split_names)
        self.name = name
        self._next_index = first_index
        self._pool_index = pool_index
        self._split_names = list(split_names) if split_names is not None else None

    def layer(self, role: str) -> str:
        return f"{self.name}_{role}" if role else self.name

    def conv_bn(self, role: str) -> tuple[str, str, str]:
        """Names of a convolution, its batch normalization and its activation."""
        if self._next_index is None:
            prefix = self.layer(role)
            return f"{prefix}_conv", f"{prefix}_bn", prefix
        index = self._next_index
        self._next_index += 1
        return tuple(
            keras_auto_name(cls, index) for cls in ("Conv2D", "BatchNormalization", "Activation")
        )

    def pool(self, role: str, class_name: str) -> str:
        if self._pool_index is None:
            return self.layer(role)
        return keras_auto_name(class_name, self._pool_index)

    def split(self, role: str) -> str:
        if self._split_names is None:
            return self.layer(role)
        return self._split_names.pop(0)


# -- the pieces branches are made of -------------------------------------------------


def _conv_bn(
    x: Any,
    filters: int,
    kernel_size: tuple[int, int],
    names: tuple[str, str, str],
    strides: int | tuple[int, int] = 1,
    padding: str = "same",
) -> Any:
    """Convolution without bias, batch normalization without scale, ReLU (Inception-v3)."""
    from keras import layers

    conv, bn, act = names
    layer = layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, use_bias=False, name=conv
    )
    # scale=False: the ReLU that follows is unchanged by a positive scale.
    return conv_bn_act(x, layer, bn=bn, act=act, bn_args={"axis": -1, "scale": False})


@dataclass(frozen=True)
class _ConvBN:
    """A convolution + batch normalization + ReLU step of a branch."""

    role: str
    filters: int
    kernel: tuple[int, int]
    strides: int = 1
    padding: str = "same"

    def __call__(self, x: Any, namer: _Namer) -> Any:
        names = namer.conv_bn(self.role)
        return _conv_bn(x, self.filters, self.kernel, names, self.strides, self.padding)


@dataclass(frozen=True)
class _ConvReLU:
    """A convolution with bias and ReLU (GoogLeNet has no batch normalization)."""

    role: str
    filters: int
    kernel: int

    def __call__(self, x: Any, namer: _Namer) -> Any:
        from keras import layers

        return layers.Conv2D(
            self.filters,
            self.kernel,
            padding="same",
            activation="relu",
            name=namer.layer(self.role),
        )(x)


@dataclass(frozen=True)
class _Pool:
    """A 3x3 pooling step (``layer``: ``MaxPooling2D`` or ``AveragePooling2D``)."""

    role: str
    layer: str
    strides: int = 1
    padding: str = "same"

    def __call__(self, x: Any, namer: _Namer) -> Any:
        from keras import layers

        pool = getattr(layers, self.layer)
        name = namer.pool(self.role, self.layer)
        return pool(3, strides=self.strides, padding=self.padding, name=name)(x)


@dataclass(frozen=True)
class _Split:
    """Two steps side by side on the same input, concatenated (1x3 next to 3x1)."""

    role: str
    left: _ConvBN
    right: _ConvBN

    def __call__(self, x: Any, namer: _Namer) -> Any:
        from keras import layers

        parts = [self.left(x, namer), self.right(x, namer)]
        return layers.Concatenate(axis=-1, name=namer.split(self.role))(parts)


def _module(x: Any, branches: Sequence[Sequence[Any]], namer: _Namer) -> Any:
    """Runs each branch (a chain of steps) on ``x`` and concatenates them, named ``namer.name``.

    Steps are created branch by branch, in order: the order in which
    keras.applications creates (and so numbers) its layers.
    """
    from keras import layers

    outputs = []
    for branch in branches:
        y = x
        for step in branch:
            y = step(y, namer)
        outputs.append(y)
    return layers.Concatenate(axis=-1, name=namer.name)(outputs)


# -- GoogLeNet -----------------------------------------------------------------------


@register_block
def inception_naive(
    x: Any, *, name: str, f1x1: PositiveInt, f3x3: PositiveInt, f5x5: PositiveInt
) -> Any:
    """The naive Inception module: 1x1, 3x3, 5x5 convolutions and 3x3 max pooling, concatenated.

    Figure 2a of the GoogLeNet paper. Each convolution has "same" padding and
    a ReLU; the pooling has stride 1, so all four branches keep the input's
    height and width and can be concatenated. The pooling branch passes all
    ``c`` input channels through, so the output has
    ``f1x1 + f3x3 + f5x5 + c`` channels: stacking such modules grows the
    channels at every step, which is what the 1x1 reductions of
    :func:`inception_v1` fix.

    Layers: ``{name}_1x1``, ``{name}_3x3``, ``{name}_5x5``, ``{name}_pool``,
    and the concatenation ``{name}``.

    Example::

        - name: naive1
          inception_naive: {f1x1: 64, f3x3: 128, f5x5: 32}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer.
        f1x1: Filters of the 1x1 convolution.
        f3x3: Filters of the 3x3 convolution.
        f5x5: Filters of the 5x5 convolution.

    Returns:
        The concatenated map, same height and width, ``f1x1 + f3x3 + f5x5 + c`` channels.

    Raises:
        ValueError: A filter count is not a positive integer.
    """
    branches = [
        [_ConvReLU("1x1", f1x1, 1)],
        [_ConvReLU("3x3", f3x3, 3)],
        [_ConvReLU("5x5", f5x5, 5)],
        [_Pool("pool", "MaxPooling2D")],
    ]
    return _module(x, branches, _Namer(name))


@register_block
def inception_v1(
    x: Any,
    *,
    name: str,
    f1x1: PositiveInt,
    f3x3_reduce: PositiveInt,
    f3x3: PositiveInt,
    f5x5_reduce: PositiveInt,
    f5x5: PositiveInt,
    pool_proj: PositiveInt,
) -> Any:
    """The GoogLeNet Inception module: four branches, with 1x1 reductions before the large kernels.

    Figure 2b of the GoogLeNet paper, the module of its Table 1: a 1x1
    convolution; a 1x1 reduction to ``f3x3_reduce`` channels then a 3x3; a
    1x1 reduction to ``f5x5_reduce`` then a 5x5; a 3x3 max pooling (stride 1)
    then a 1x1 projection to ``pool_proj``. Every convolution has "same"
    padding and a ReLU, and the four branches are concatenated. With ``c``
    input channels it has::

        c*f1x1 + f1x1                                  (1x1)
        c*f3x3_reduce + f3x3_reduce + 9*f3x3_reduce*f3x3 + f3x3
        c*f5x5_reduce + f5x5_reduce + 25*f5x5_reduce*f5x5 + f5x5
        c*pool_proj + pool_proj                        (pool projection)

    parameters. Layers are named as in the Caffe GoogLeNet: ``{name}_1x1``,
    ``{name}_3x3_reduce``, ``{name}_3x3``, ``{name}_5x5_reduce``,
    ``{name}_5x5``, ``{name}_pool``, ``{name}_pool_proj``, and the
    concatenation ``{name}``.

    Example::

        - name: inception_3a
          inception_v1: {f1x1: 64, f3x3_reduce: 96, f3x3: 128,
                         f5x5_reduce: 16, f5x5: 32, pool_proj: 32}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer.
        f1x1: Filters of the 1x1 branch.
        f3x3_reduce: Filters of the 1x1 reduction before the 3x3.
        f3x3: Filters of the 3x3 convolution.
        f5x5_reduce: Filters of the 1x1 reduction before the 5x5.
        f5x5: Filters of the 5x5 convolution.
        pool_proj: Filters of the 1x1 projection after the max pooling.

    Returns:
        The concatenated map, same height and width,
        ``f1x1 + f3x3 + f5x5 + pool_proj`` channels.

    Raises:
        ValueError: A filter count is not a positive integer.
    """
    branches = [
        [_ConvReLU("1x1", f1x1, 1)],
        [_ConvReLU("3x3_reduce", f3x3_reduce, 1), _ConvReLU("3x3", f3x3, 3)],
        [_ConvReLU("5x5_reduce", f5x5_reduce, 1), _ConvReLU("5x5", f5x5, 5)],
        [_Pool("pool", "MaxPooling2D"), _ConvReLU("pool_proj", pool_proj, 1)],
    ]
    return _module(x, branches, _Namer(name))


@register_block
def inception_aux_head(
    x: Any,
    *,
    name: str,
    classes: PositiveInt = 1000,
    filters: PositiveInt = 128,
    units: PositiveInt = 1024,
    dropout: Rate = 0.7,
    activation: str = "softmax",
) -> Any:
    """An auxiliary classifier: a side output attached to an intermediate feature map.

    GoogLeNet attaches two to intermediate modules (4a and 4d) during
    training. Their losses, added to the main loss with a small weight (0.3
    in the paper), push gradient straight into the middle of the deep
    network and act as a regularizer; at inference they are dropped. The
    head is: 5x5 average pooling with stride 3 (14x14 -> 4x4), a 1x1
    convolution to ``filters`` maps with ReLU, a fully connected layer of
    ``units`` with ReLU, dropout, and a ``classes``-way classifier. Name the
    instance after the output: the classifier layer carries the instance
    name, so ``compile: loss_weights: {aux1: 0.3}`` finds it.

    Layers: ``{name}_pool``, ``{name}_conv``, ``{name}_flatten``,
    ``{name}_fc``, ``{name}_dropout``, and the classifier ``{name}``.

    Example::

        - name: aux1
          from: inception_4a
          inception_aux_head: {classes: 1000}

    Args:
        x: A 4D feature map, channels last, at least 5x5.
        name: The instance name: the classifier layer's, and so the output's.
        classes: Number of classes.
        filters: Maps of the 1x1 convolution.
        units: Units of the fully connected layer.
        dropout: Dropout rate before the classifier, in [0, 1).
        activation: Activation of the classifier (``softmax``, or ``linear``
            for logits).

    Returns:
        The class scores, shape ``(batch, classes)``.

    Raises:
        ValueError: A count is not a positive integer, the rate is outside
            [0, 1), or the map is smaller than the 5x5 pooling window.
    """
    from keras import layers

    height, width = x.shape[1], x.shape[2]
    if height is not None and width is not None and min(height, width) < 5:
        raise ValueError(
            "Expected a feature map of at least 5x5 for the 5x5 average pooling. "
            f"Received: a map of {height}x{width}"
        )
    x = layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)
    x = layers.Conv2D(filters, 1, activation="relu", name=f"{name}_conv")(x)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(units, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return layers.Dense(classes, activation=activation, name=name)(x)


# -- Inception-v3 --------------------------------------------------------------------


@register_block
def inception_conv_bn(
    x: Any,
    *,
    name: str,
    filters: PositiveInt,
    kernel_size: PositiveInt | list = 3,
    strides: PositiveInt | list = 1,
    padding: Literal["same", "valid"] = "same",
    index: NonNegativeInt | None = None,
) -> Any:
    """Convolution, batch normalization, ReLU: the unit every Inception-v3 layer is made of.

    The convolution has no bias and the batch normalization no scale
    (``scale=False``): the normalization's shift replaces the bias, and a
    positive scale before a ReLU could be folded into the next layer.
    This is ``conv2d_bn`` of ``keras.applications.inception_v3``.

    Layers: ``{name}_conv``, ``{name}_bn`` and the activation ``{name}``; with
    ``index``, the names Keras gives the ``index``-th unnamed layers of a
    model instead: ``conv2d_{index}``, ``batch_normalization_{index}``,
    ``activation_{index}`` (no suffix for 0).

    Example::

        - name: stem1
          inception_conv_bn: {filters: 32, kernel_size: 3, strides: 2, padding: valid}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer.
        filters: Number of filters.
        kernel_size: An integer, or ``[rows, cols]`` (``[1, 7]``).
        strides: An integer, or ``[rows, cols]``.
        padding: ``same`` or ``valid``.
        index: Name the layers as Keras numbers unnamed layers, from this number.

    Returns:
        The activated map with ``filters`` channels.

    Raises:
        ValueError: A value is out of range.
    """
    kernel = _pair("kernel_size", kernel_size)
    step = _pair("strides", strides)
    names = _Namer(name, first_index=index).conv_bn("")
    return _conv_bn(x, filters, kernel, names, step, padding)


@register_block
def inception_v3_a(
    x: Any,
    *,
    name: str,
    f1x1: PositiveInt = 64,
    f5x5_reduce: PositiveInt = 48,
    f5x5: PositiveInt = 64,
    f3x3dbl_reduce: PositiveInt = 64,
    f3x3dbl: PositiveInt = 96,
    pool_proj: PositiveInt = 32,
    first_index: NonNegativeInt | None = None,
    pool_index: NonNegativeInt | None = None,
) -> Any:
    """Inception-v3 module A, for the 35x35 grid: a 1x1, a 5x5, a double 3x3 and a pooling branch.

    The "figure 5" module of the Inception-v3 paper: the 5x5 convolution is
    factorized into two stacked 3x3 (``f3x3dbl``), which see the same 5x5
    window with 2 * 9 / 25 = 72% of the weights and an extra ReLU.
    ``keras.applications.InceptionV3`` (like the released TensorFlow model)
    also keeps a 5x5 branch beside it. Branches: 1x1 (``f1x1``); 1x1 reduce
    (``f5x5_reduce``) then 5x5 (``f5x5``); 1x1 reduce (``f3x3dbl_reduce``)
    then 3x3 then 3x3 (``f3x3dbl`` each); 3x3 average pooling (stride 1)
    then a 1x1 projection (``pool_proj``: 32 in mixed0, 64 in mixed1-2).
    Every convolution is an :func:`inception_conv_bn`; seven in all.

    Layers: ``{name}_1x1``, ``{name}_5x5_reduce``, ``{name}_5x5``,
    ``{name}_3x3dbl_reduce``, ``{name}_3x3dbl_1``, ``{name}_3x3dbl_2``,
    ``{name}_pool``, ``{name}_pool_proj`` (each convolution with ``_conv``,
    ``_bn``), the concatenation ``{name}``; with ``first_index`` and
    ``pool_index``, Keras' numbered names instead (see the module doc).

    Example::

        - name: mixed0
          inception_v3_a: {pool_proj: 32}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer.
        f1x1: Filters of the 1x1 branch.
        f5x5_reduce: Filters of the 1x1 before the 5x5.
        f5x5: Filters of the 5x5.
        f3x3dbl_reduce: Filters of the 1x1 before the two 3x3.
        f3x3dbl: Filters of each 3x3 of the double branch.
        pool_proj: Filters of the 1x1 after the average pooling.
        first_index: Number the seven convolution triples from this, as Keras does.
        pool_index: Name the pooling ``average_pooling2d_{pool_index}``.

    Returns:
        The map at the same size with ``f1x1 + f5x5 + f3x3dbl + pool_proj`` channels.

    Raises:
        ValueError: A value is out of range.
    """
    branches = [
        [_ConvBN("1x1", f1x1, (1, 1))],
        [_ConvBN("5x5_reduce", f5x5_reduce, (1, 1)), _ConvBN("5x5", f5x5, (5, 5))],
        [
            _ConvBN("3x3dbl_reduce", f3x3dbl_reduce, (1, 1)),
            _ConvBN("3x3dbl_1", f3x3dbl, (3, 3)),
            _ConvBN("3x3dbl_2", f3x3dbl, (3, 3)),
        ],
        [_Pool("pool", "AveragePooling2D"), _ConvBN("pool_proj", pool_proj, (1, 1))],
    ]
    return _module(x, branches, _Namer(name, first_index, pool_index))


@register_block
def inception_v3_reduction_a(
    x: Any,
    *,
    name: str,
    f3x3: PositiveInt = 384,
    f3x3dbl_reduce: PositiveInt = 64,
    f3x3dbl: PositiveInt = 96,
    first_index: NonNegativeInt | None = None,
    pool_index: NonNegativeInt | None = None,
) -> Any:
    """Inception-v3 grid reduction 35x35 -> 17x17: strided convolutions beside a max pooling.

    Figure 10 of the Inception-v3 paper. Pooling first would squeeze the
    representation through a bottleneck; convolving first at full size would
    cost three times as much. Running a stride-2 convolution branch beside a
    stride-2 pooling branch and concatenating halves the grid while the
    channels grow. Branches: 3x3 stride 2 (``f3x3``); 1x1 (``f3x3dbl_reduce``)
    then 3x3 then 3x3 stride 2 (``f3x3dbl``); 3x3 max pooling stride 2, which
    passes the ``c`` input channels through. Strided layers use "valid"
    padding: 35 -> 17. Four convolution triples in all (mixed3 of
    ``keras.applications.InceptionV3``).

    Layers: ``{name}_3x3``, ``{name}_3x3dbl_reduce``, ``{name}_3x3dbl_1``,
    ``{name}_3x3dbl_2``, ``{name}_pool``, the concatenation ``{name}``.

    Example::

        - name: mixed3
          inception_v3_reduction_a: {}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer.
        f3x3: Filters of the strided 3x3 branch.
        f3x3dbl_reduce: Filters of the 1x1 before the two 3x3.
        f3x3dbl: Filters of each 3x3 of the double branch.
        first_index: Number the four convolution triples from this, as Keras does.
        pool_index: Name the pooling ``max_pooling2d_{pool_index}``.

    Returns:
        The map at ``(size - 3) // 2 + 1`` with ``f3x3 + f3x3dbl + c`` channels.

    Raises:
        ValueError: A value is out of range.
    """
    branches = [
        [_ConvBN("3x3", f3x3, (3, 3), strides=2, padding="valid")],
        [
            _ConvBN("3x3dbl_reduce", f3x3dbl_reduce, (1, 1)),
            _ConvBN("3x3dbl_1", f3x3dbl, (3, 3)),
            _ConvBN("3x3dbl_2", f3x3dbl, (3, 3), strides=2, padding="valid"),
        ],
        [_Pool("pool", "MaxPooling2D", strides=2, padding="valid")],
    ]
    return _module(x, branches, _Namer(name, first_index, pool_index))


@register_block
def inception_v3_b(
    x: Any,
    *,
    name: str,
    f7x7_reduce: PositiveInt = 128,
    f1x1: PositiveInt = 192,
    f7x7: PositiveInt = 192,
    pool_proj: PositiveInt = 192,
    n: PositiveInt = 7,
    first_index: NonNegativeInt | None = None,
    pool_index: NonNegativeInt | None = None,
) -> Any:
    """Inception-v3 module B, for the 17x17 grid: nxn convolutions factorized into 1xn and nx1.

    Figure 6 of the Inception-v3 paper. A 1xn convolution followed by an nx1
    sees an nxn window with 2n instead of n^2 weights per channel pair (for
    n = 7: 14 instead of 49). Branches: 1x1 (``f1x1``); 1x1 reduce
    (``f7x7_reduce``), 1xn, nx1 (the last to ``f7x7``); 1x1 reduce, nx1,
    1xn, nx1, 1xn (the last to ``f7x7``), a factorized double nxn; 3x3
    average pooling (stride 1) then a 1x1 projection (``pool_proj``). In
    ``keras.applications.InceptionV3`` (mixed4-7) ``f7x7_reduce`` is 128,
    160, 160, 192. Ten convolution triples in all.

    Layers: ``{name}_1x1``, ``{name}_7x7_reduce``, ``{name}_7x7_1``,
    ``{name}_7x7_2``, ``{name}_7x7dbl_reduce``, ``{name}_7x7dbl_1`` to
    ``_4``, ``{name}_pool``, ``{name}_pool_proj``, the concatenation
    ``{name}`` (``7`` is ``n``).

    Example::

        - name: mixed4
          inception_v3_b: {f7x7_reduce: 128}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer.
        f7x7_reduce: Filters inside the factorized branches (``c7`` in Keras).
        f1x1: Filters of the 1x1 branch.
        f7x7: Filters of the last convolution of both factorized branches.
        pool_proj: Filters of the 1x1 after the average pooling.
        n: The size of the factorized kernel.
        first_index: Number the ten convolution triples from this, as Keras does.
        pool_index: Name the pooling ``average_pooling2d_{pool_index}``.

    Returns:
        The map at the same size with ``f1x1 + 2 * f7x7 + pool_proj`` channels.

    Raises:
        ValueError: A value is out of range.
    """
    c7, nxn = f7x7_reduce, f"{n}x{n}"
    row, col = (1, n), (n, 1)
    branches = [
        [_ConvBN("1x1", f1x1, (1, 1))],
        [
            _ConvBN(f"{nxn}_reduce", c7, (1, 1)),
            _ConvBN(f"{nxn}_1", c7, row),
            _ConvBN(f"{nxn}_2", f7x7, col),
        ],
        [
            _ConvBN(f"{nxn}dbl_reduce", c7, (1, 1)),
            _ConvBN(f"{nxn}dbl_1", c7, col),
            _ConvBN(f"{nxn}dbl_2", c7, row),
            _ConvBN(f"{nxn}dbl_3", c7, col),
            _ConvBN(f"{nxn}dbl_4", f7x7, row),
        ],
        [_Pool("pool", "AveragePooling2D"), _ConvBN("pool_proj", pool_proj, (1, 1))],
    ]
    return _module(x, branches, _Namer(name, first_index, pool_index))


@register_block
def inception_v3_reduction_b(
    x: Any,
    *,
    name: str,
    f3x3_reduce: PositiveInt = 192,
    f3x3: PositiveInt = 320,
    f7x7x3_reduce: PositiveInt = 192,
    f7x7x3: PositiveInt = 192,
    first_index: NonNegativeInt | None = None,
    pool_index: NonNegativeInt | None = None,
) -> Any:
    """Inception-v3 grid reduction 17x17 -> 8x8, with a factorized 7x7 before the strided 3x3.

    The second grid reduction (mixed8 of ``keras.applications.InceptionV3``):
    branches 1x1 (``f3x3_reduce``) then 3x3 stride 2 (``f3x3``); 1x1, 1x7,
    7x1 (``f7x7x3_reduce``) then 3x3 stride 2 (``f7x7x3``); 3x3 max pooling
    stride 2, which passes the ``c`` input channels through. Strided layers
    use "valid" padding: 17 -> 8. Six convolution triples in all.

    Layers: ``{name}_3x3_reduce``, ``{name}_3x3``, ``{name}_7x7x3_reduce``,
    ``{name}_7x7x3_1`` to ``_3``, ``{name}_pool``, the concatenation ``{name}``.

    Example::

        - name: mixed8
          inception_v3_reduction_b: {}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer.
        f3x3_reduce: Filters of the 1x1 before the strided 3x3.
        f3x3: Filters of the strided 3x3.
        f7x7x3_reduce: Filters of the 1x1, 1x7 and 7x1 of the second branch.
        f7x7x3: Filters of its strided 3x3.
        first_index: Number the six convolution triples from this, as Keras does.
        pool_index: Name the pooling ``max_pooling2d_{pool_index}``.

    Returns:
        The map at ``(size - 3) // 2 + 1`` with ``f3x3 + f7x7x3 + c`` channels.

    Raises:
        ValueError: A value is out of range.
    """
    c7 = f7x7x3_reduce
    branches = [
        [
            _ConvBN("3x3_reduce", f3x3_reduce, (1, 1)),
            _ConvBN("3x3", f3x3, (3, 3), strides=2, padding="valid"),
        ],
        [
            _ConvBN("7x7x3_reduce", c7, (1, 1)),
            _ConvBN("7x7x3_1", c7, (1, 7)),
            _ConvBN("7x7x3_2", c7, (7, 1)),
            _ConvBN("7x7x3_3", f7x7x3, (3, 3), strides=2, padding="valid"),
        ],
        [_Pool("pool", "MaxPooling2D", strides=2, padding="valid")],
    ]
    return _module(x, branches, _Namer(name, first_index, pool_index))


@register_block
def inception_v3_c(
    x: Any,
    *,
    name: str,
    f1x1: PositiveInt = 320,
    f3x3_reduce: PositiveInt = 384,
    f3x3: PositiveInt = 384,
    f3x3dbl_reduce: PositiveInt = 448,
    f3x3dbl: PositiveInt = 384,
    pool_proj: PositiveInt = 192,
    first_index: NonNegativeInt | None = None,
    pool_index: NonNegativeInt | None = None,
    split_names: list | None = None,
) -> Any:
    """Inception-v3 module C, for the 8x8 grid: the expanded filter bank, 1x3 beside 3x1.

    Figure 7 of the Inception-v3 paper. On the coarsest grid the aim is many
    distinct features rather than a large window, so the last 1x3 and 3x1 of
    a factorized 3x3 run *side by side* and both outputs are kept. Branches:
    1x1 (``f1x1``); 1x1 (``f3x3_reduce``) then [1x3, 3x1] (``f3x3`` each,
    concatenated); 1x1 (``f3x3dbl_reduce``), 3x3 (``f3x3dbl``) then [1x3,
    3x1] (``f3x3dbl`` each, concatenated); 3x3 average pooling (stride 1)
    then 1x1 (``pool_proj``). Nine convolution triples in all (mixed9-10 of
    ``keras.applications.InceptionV3``).

    Layers: ``{name}_1x1``, ``{name}_3x3_reduce``, ``{name}_3x3_1x3``,
    ``{name}_3x3_3x1``, the concatenation ``{name}_3x3``,
    ``{name}_3x3dbl_reduce``, ``{name}_3x3dbl_3x3``, ``{name}_3x3dbl_1x3``,
    ``{name}_3x3dbl_3x1``, the concatenation ``{name}_3x3dbl``,
    ``{name}_pool``, ``{name}_pool_proj``, and the concatenation ``{name}``.

    Example::

        - name: mixed9
          inception_v3_c: {}

    Args:
        x: A 4D feature map, channels last.
        name: The instance name, the prefix of every layer.
        f1x1: Filters of the 1x1 branch.
        f3x3_reduce: Filters of the 1x1 of the split 3x3 branch.
        f3x3: Filters of its 1x3 and of its 3x1.
        f3x3dbl_reduce: Filters of the 1x1 of the double branch.
        f3x3dbl: Filters of its 3x3, 1x3 and 3x1.
        pool_proj: Filters of the 1x1 after the average pooling.
        first_index: Number the nine convolution triples from this, as Keras does.
        pool_index: Name the pooling ``average_pooling2d_{pool_index}``.
        split_names: Names of the two split concatenations, instead of
            ``{name}_3x3`` and ``{name}_3x3dbl``.

    Returns:
        The map at the same size with ``f1x1 + 2 * f3x3 + 2 * f3x3dbl + pool_proj`` channels.

    Raises:
        ValueError: A value is out of range.
    """
    branches = [
        [_ConvBN("1x1", f1x1, (1, 1))],
        [
            _ConvBN("3x3_reduce", f3x3_reduce, (1, 1)),
            _Split("3x3", _ConvBN("3x3_1x3", f3x3, (1, 3)), _ConvBN("3x3_3x1", f3x3, (3, 1))),
        ],
        [
            _ConvBN("3x3dbl_reduce", f3x3dbl_reduce, (1, 1)),
            _ConvBN("3x3dbl_3x3", f3x3dbl, (3, 3)),
            _Split(
                "3x3dbl",
                _ConvBN("3x3dbl_1x3", f3x3dbl, (1, 3)),
                _ConvBN("3x3dbl_3x1", f3x3dbl, (3, 1)),
            ),
        ],
        [_Pool("pool", "AveragePooling2D"), _ConvBN("pool_proj", pool_proj, (1, 1))],
    ]
    return _module(x, branches, _Namer(name, first_index, pool_index, split_names))

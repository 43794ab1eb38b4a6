"""Analytic FLOPs of a built functional ``keras.Model``, layer by layer.

``blueprint summary`` prints, for every layer, its output shapes, its parameter
count and the floating-point operations it costs. The cost is computed from the
layer's configuration and the static shapes of its inbound nodes; nothing is
run and no profiler is involved.

Conventions:

* FLOPs are for ONE example: the leading batch axis of every shape is ignored.
* A multiply-add counts as 2 FLOPs, so a dot product of length ``K`` costs
  ``2*K``. Convolutions count every kernel tap, zero padding included (as
  TensorFlow's profiler does).
* A bias add costs 1 per output element.
* Per-element costs (elementary arithmetic, a comparison or select, and a
  transcendental function such as exp, log, tanh or erf each count as 1):

  - activations, fused (``activation=`` of Dense, Conv, RNN cells) or as layers:
    linear 0, relu 1, relu6 2, leaky_relu 2, elu 4, selu 5, sigmoid 4
    (``1/(1+exp(-x))``), hard_sigmoid 4, tanh 1, exponential 1, softplus 3,
    softsign 3, silu/swish 5, hard_silu/hard_swish 5, gelu 5, mish 5,
    softmax 3 and log_softmax 3 (exp, sum, divide; the max subtraction for
    numerical stability is not counted). Any other activation makes the
    layer's cost unknown.
  - ``ReLU`` layer 1, plus 1 with ``max_value``, plus 1 with a negative slope;
    ``LeakyReLU`` and ``PReLU`` 2; ``ELU`` 4; ``Softmax`` 3.
  - ``BatchNormalization`` at inference 2 (scale and shift folded).
    ``LayerNormalization`` and ``GroupNormalization`` 5 for the statistics and
    the normalisation (add for the mean, subtract, square, add for the
    variance, multiply by the reciprocal standard deviation), plus 1 with
    ``scale`` and 1 with ``center``.
  - ``Add``, ``Subtract``, ``Multiply``, ``Maximum``, ``Minimum``:
    ``n_inputs - 1``; ``Average``: ``n_inputs`` (the adds and one divide).
  - ``UpSampling2D``: nearest 0, bilinear 7 (4 multiplies, 3 adds); other
    interpolations are unknown.

* ``Dense``: ``2*in*units`` per output vector, plus bias and activation per
  output element (a Dense on a 3-D input costs that once per position).
* ``Conv1D/2D/3D``: ``2 * (k_prod * in_channels / groups)`` per output
  element. ``DepthwiseConv``: ``2 * k_prod`` per output element.
  ``SeparableConv``: the depthwise part (``2 * k_prod`` for each of the
  ``spatial * in_channels * depth_multiplier`` intermediate elements) plus the
  pointwise part (``2 * in_channels * depth_multiplier`` per output element).
  ``Conv*Transpose``: every input element scatters into the kernel, so
  ``2 * in_spatial * in_channels * k_prod * filters``. Each then adds bias
  and activation per output element.
* Pooling: one op per window element per output element (``MaxPooling``,
  ``AveragePooling``: ``out_elements * pool_prod``; global pooling: the
  number of input elements).
* RNNs, per timestep, with ``u`` units, ``in`` input features and a gate width
  ``G`` (``u`` SimpleRNN, ``4u`` LSTM, ``3u`` GRU): the input and recurrent
  matmuls ``2*in*G + 2*u*G``, ``G`` adds to combine them, the bias, then

  - SimpleRNN: ``u`` activations.
  - LSTM: ``3u`` recurrent activations (input, forget, output gates), ``2u``
    activations (candidate, cell output) and ``4u`` for ``f*c + i*g`` and
    ``o*act(c)``.
  - GRU: ``2u`` recurrent activations, ``u`` activations, ``u`` for the reset
    gating and ``4u`` for ``z*h + (1-z)*h_candidate``; the bias is ``6u``
    with ``reset_after=True`` (input and recurrent biases), else ``3u``.

  All times the number of timesteps. ``Bidirectional`` is the forward plus
  the backward layer, plus the merge (concat 0, sum and mul 1, ave 2 per
  merged output element); ``TimeDistributed`` is the wrapped layer times the
  number of steps.
* Zero cost: ``InputLayer``, ``Embedding`` (a gather), ``Flatten``,
  ``Reshape``, ``Permute``, ``RepeatVector``, ``Concatenate``,
  ``ZeroPadding*``, ``Cropping*``, ``UpSampling1D/3D`` (repeats),
  ``Identity``, and the layers that are identities at inference:
  ``Dropout`` (and its spatial variants), ``GaussianNoise``,
  ``GaussianDropout``, ``AlphaDropout``, ``ActivityRegularization``.
* keras-blueprints' own layers: ``TableConv2D`` as a ``Conv2D`` over all its input
  maps (its kernel is assembled dense, the missing connections as zeros, and
  convolved whole); ``RNN`` of a ``LeakyRNNCell`` as a SimpleRNN (``G = u``),
  plus ``2*u*u + u`` per step for the skip kernel and its add, ``4u`` for the
  leak ``(1 - a) * h + a * candidate`` and, with learned rates, ``4u`` for their
  sigmoid; ``ThresholdUnit`` as a Dense of one unit plus its comparison;
  ``Heaviside`` 1 and ``Sign`` 3 (compare, multiply, subtract) per element;
  ``PositionEmbedding`` 1 per element (the add; 0 with ``add: false``);
  ``CausalMask`` 1 per mask element (the comparison); ``ClassToken`` 0 (a
  concatenation). ``HopfieldNet`` is unknown: its ``sweeps * N`` single-unit
  updates fit no family here.
* Nested models (a functional or Sequential model used as a layer) are
  counted recursively, once per call, with the shapes of their own graph.
* A layer whose cost is unknown (no registered cost, an unknown activation,
  or a needed dimension that is not static) has ``flops=None``; its name is
  listed in :attr:`FlopsReport.unknown` (as ``outer/inner`` inside a nested
  model) and the total counts only the known layers.

A cost is registered for a layer class with :func:`flops_of`; the lookup walks
the layer's MRO, so a subclass inherits its parent's cost unless a more
specific class is registered::

    @flops_of(MyGatedDense)
    def _my_gated_dense(layer, input_shapes, output_shapes):
        return 4 * input_shapes[0][-1] * layer.units
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import keras
from keras import activations, layers

from keras_blueprints._compat.keras import functional_graph, graph_node_ids, inbound_nodes
from keras_blueprints.layers.leaky import LeakyRNNCell
from keras_blueprints.layers.table import TableConv2D
from keras_blueprints.layers.threshold import Heaviside, Sign, ThresholdUnit
from keras_blueprints.layers.transformer import CausalMask, ClassToken, PositionEmbedding

__all__ = [
    "FlopsReport",
    "LayerFlops",
    "flops_of",
    "layer_flops",
    "model_flops",
]

Shape = tuple[int | None, ...]
CostFn = Callable[[Any, Sequence[Shape], Sequence[Shape]], int | None]
_F = TypeVar("_F", bound=CostFn)

_COSTS: dict[type, CostFn] = {}


@dataclass(frozen=True, slots=True)
class LayerFlops:
    """The cost of one layer of a model.

    Attributes:
        name: The layer's name.
        class_name: The layer's class name (``Conv2D``, ``Functional``, ...).
        flops: FLOPs for one example, summed over every call of the layer in
            the model (a shared layer counts once per call); ``None`` when
            unknown.
        output_shapes: The output shape of every call, in call order, batch
            axis included (``((None, 64),)`` for a Dense called once).
        params: The number of weights of the layer (counted once, even when
            the layer is shared).
    """

    name: str
    class_name: str
    flops: int | None
    output_shapes: tuple[Shape, ...]
    params: int


@dataclass(frozen=True, slots=True)
class FlopsReport:
    """The cost of a model, layer by layer.

    Attributes:
        layers: One entry per layer, in the order of ``model.layers``.
        total: The sum of the known layer costs.
        unknown: The names of the layers whose cost is unknown (``outer/inner``
            for a layer inside a nested model); ``total`` leaves them out.
    """

    layers: tuple[LayerFlops, ...]
    total: int
    unknown: tuple[str, ...]


class _Uncountable(Exception):
    """Raised inside a cost function when the cost cannot be known."""


def flops_of(*layer_classes: type) -> Callable[[_F], _F]:
    """Registers a cost function for one or more layer classes.

    The function receives ``(layer, input_shapes, output_shapes)``, shapes with
    the batch axis first, and returns the FLOPs of one call for one example,
    or ``None`` when the cost cannot be known for this configuration.

    Args:
        *layer_classes: The classes the cost applies to; subclasses inherit it.

    Returns:
        A decorator that registers the function and returns it unchanged.

    Raises:
        ValueError: If no class is given, or one of them already has a cost.
    """
    if not layer_classes:
        raise ValueError("flops_of() needs at least one layer class. Received: none")

    def register(fn: _F) -> _F:
        for cls in layer_classes:
            previous = _COSTS.get(cls)
            if previous is not None:
                raise ValueError(
                    f"A FLOPs cost is already registered for {cls.__name__} "
                    f"(by {previous.__qualname__}). Register a subclass instead. "
                    f"Received: a second registration by {fn.__qualname__}"
                )
        for cls in layer_classes:
            _COSTS[cls] = fn
        return fn

    return register


def _cost_function(layer: Any) -> CostFn | None:
    for cls in type(layer).__mro__:
        fn = _COSTS.get(cls)
        if fn is not None:
            return fn
    return None


def layer_flops(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int | None:
    """Returns the FLOPs of one call of ``layer`` for one example.

    For a nested model this is all or nothing: ``None`` if any layer inside is
    unknown (:func:`model_flops` reports the known part and names the rest).

    Args:
        layer: A built Keras layer.
        input_shapes: The shapes of the call's input tensors, batch axis first.
        output_shapes: The shapes of the call's output tensors, batch axis first.

    Returns:
        The FLOPs, or ``None`` when the layer type has no registered cost or
        the cost cannot be known (an unknown activation, a dynamic dimension).
    """
    fn = _cost_function(layer)
    if fn is None:
        return None
    try:
        flops = fn(layer, [tuple(s) for s in input_shapes], [tuple(s) for s in output_shapes])
    except _Uncountable:
        return None
    return None if flops is None else int(flops)


def model_flops(model: keras.Model) -> FlopsReport:
    """Counts the FLOPs of a built functional (or Sequential) model.

    Every layer's calls are read from its inbound nodes that belong to this
    model's graph, so a shared layer counts once per call and a layer also
    used in another model is not counted for that other model's calls.

    Args:
        model: A functional ``keras.Model`` or a built ``keras.Sequential``.

    Returns:
        The per-layer costs, their total and the names of unknown layers.

    Raises:
        TypeError: If ``model`` is a subclassed model or an unbuilt Sequential,
            which have no graph of layer calls to read.
    """
    graph = functional_graph(model)
    if graph is None:
        raise TypeError(
            "model_flops() needs a functional model or a built Sequential model, "
            "whose graph of layer calls can be read. "
            f"Received: {type(model).__name__} '{model.name}'"
        )
    in_graph = graph_node_ids(graph)
    rows: list[LayerFlops] = []
    unknown: list[str] = []
    total = 0
    for layer in model.layers:
        calls = [node for node in inbound_nodes(layer) if id(node) in in_graph]
        flops, inner_unknown = _calls_flops(layer, calls)
        if flops is None:
            unknown.append(layer.name)
        else:
            total += flops
        unknown.extend(f"{layer.name}/{name}" for name in inner_unknown)
        rows.append(
            LayerFlops(
                name=layer.name,
                class_name=type(layer).__name__,
                flops=flops,
                output_shapes=tuple(tuple(t.shape) for node in calls for t in node.output_tensors),
                params=layer.count_params() if layer.built else 0,
            )
        )
    return FlopsReport(layers=tuple(rows), total=total, unknown=tuple(unknown))


def _calls_flops(layer: Any, calls: Sequence[Any]) -> tuple[int | None, tuple[str, ...]]:
    """Returns the FLOPs of all ``calls`` of ``layer`` and the unknown inner names."""
    if isinstance(layer, keras.Model) and functional_graph(layer) is not None:
        inner = model_flops(layer)
        return inner.total * len(calls), inner.unknown
    total = 0
    for node in calls:
        flops = layer_flops(
            layer,
            [tuple(t.shape) for t in node.input_tensors],
            [tuple(t.shape) for t in node.output_tensors],
        )
        if flops is None:
            return None, ()
        total += flops
    return total, ()


# --------------------------------------------------------------------------
# Shape helpers.


def _size(dims: Sequence[int | None]) -> int:
    """Returns the product of ``dims``; raises :class:`_Uncountable` on ``None``."""
    if any(d is None for d in dims):
        raise _Uncountable
    return math.prod(dims)  # type: ignore[arg-type]


def _per_example(shape: Shape) -> int:
    """The number of elements of one example of a batched shape."""
    return _size(shape[1:])


def _dim(shape: Shape, axis: int) -> int:
    d = shape[axis]
    if d is None:
        raise _Uncountable
    return d


def _channel_axis(layer: Any) -> int:
    return 1 if getattr(layer, "data_format", "channels_last") == "channels_first" else -1


def _spatial(layer: Any, shape: Shape) -> int:
    """The number of spatial positions of one example of a conv input or output."""
    return _size(shape[2:] if _channel_axis(layer) == 1 else shape[1:-1])


def _as_shapes(value: Any) -> list[Shape]:
    """Flattens what ``compute_output_shape`` returns into a list of shapes."""
    if isinstance(value, tuple) and all(d is None or isinstance(d, int) for d in value):
        return [value]
    return [shape for item in value for shape in _as_shapes(item)]


# --------------------------------------------------------------------------
# Activations.

_ACTIVATION_NAMES = {
    "linear": 0,
    "relu": 1,
    "relu6": 2,
    "leaky_relu": 2,
    "elu": 4,
    "selu": 5,
    "sigmoid": 4,
    "hard_sigmoid": 4,
    "tanh": 1,
    "exponential": 1,
    "softplus": 3,
    "softsign": 3,
    "silu": 5,
    "swish": 5,
    "hard_silu": 5,
    "hard_swish": 5,
    "gelu": 5,
    "mish": 5,
    "softmax": 3,
    "log_softmax": 3,
}
_ACTIVATION_FLOPS: dict[Callable[..., Any], int] = {
    getattr(activations, name): cost
    for name, cost in _ACTIVATION_NAMES.items()
    if hasattr(activations, name)
}


def _activation(fn: Callable[..., Any] | None) -> int:
    """The per-element cost of an activation function (``None`` is linear)."""
    if fn is None:
        return 0
    cost = _ACTIVATION_FLOPS.get(fn)
    if cost is None:
        raise _Uncountable
    return cost


def _bias_and_activation(layer: Any, out_elements: int) -> int:
    """The per-element cost of a fused bias and activation, times the elements."""
    per_element = int(bool(getattr(layer, "use_bias", False))) + _activation(
        getattr(layer, "activation", None)
    )
    return per_element * out_elements


# --------------------------------------------------------------------------
# Registered costs.


@flops_of(
    layers.InputLayer,
    layers.Embedding,
    layers.Flatten,
    layers.Reshape,
    layers.Permute,
    layers.RepeatVector,
    layers.Concatenate,
    layers.ZeroPadding1D,
    layers.ZeroPadding2D,
    layers.ZeroPadding3D,
    layers.Cropping1D,
    layers.Cropping2D,
    layers.Cropping3D,
    layers.UpSampling1D,
    layers.UpSampling3D,
    layers.Identity,
    layers.Dropout,
    layers.GaussianNoise,
    layers.GaussianDropout,
    layers.AlphaDropout,
    layers.ActivityRegularization,
    ClassToken,
)
def _free(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    return 0


@flops_of(layers.Dense)
def _dense(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    out_elements = _per_example(output_shapes[0])
    fan_in = _dim(input_shapes[0], -1)
    return 2 * fan_in * out_elements + _bias_and_activation(layer, out_elements)


@flops_of(layers.Conv1D, layers.Conv2D, layers.Conv3D)
def _conv(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    out_elements = _per_example(output_shapes[0])
    in_channels = _dim(input_shapes[0], _channel_axis(layer))
    taps = math.prod(layer.kernel_size) * in_channels // layer.groups
    return 2 * taps * out_elements + _bias_and_activation(layer, out_elements)


@flops_of(TableConv2D)
def _table_conv(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    out_elements = _per_example(output_shapes[0])
    taps = math.prod(layer.kernel_size) * _dim(input_shapes[0], -1)  # the dense kernel
    return 2 * taps * out_elements + _bias_and_activation(layer, out_elements)


@flops_of(ThresholdUnit)
def _threshold_unit(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int:
    out_elements = _per_example(output_shapes[0])  # one unit per position
    return (2 * _dim(input_shapes[0], -1) + 1) * out_elements


@flops_of(layers.DepthwiseConv1D, layers.DepthwiseConv2D)
def _depthwise_conv(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int:
    out_elements = _per_example(output_shapes[0])
    return 2 * math.prod(layer.kernel_size) * out_elements + _bias_and_activation(
        layer, out_elements
    )


@flops_of(layers.SeparableConv1D, layers.SeparableConv2D)
def _separable_conv(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int:
    out_elements = _per_example(output_shapes[0])
    positions = _spatial(layer, output_shapes[0])
    middle_channels = _dim(input_shapes[0], _channel_axis(layer)) * layer.depth_multiplier
    depthwise = 2 * math.prod(layer.kernel_size) * positions * middle_channels
    pointwise = 2 * middle_channels * out_elements
    return depthwise + pointwise + _bias_and_activation(layer, out_elements)


@flops_of(layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)
def _conv_transpose(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int:
    axis = _channel_axis(layer)
    in_elements = _spatial(layer, input_shapes[0]) * _dim(input_shapes[0], axis)
    scatter = 2 * in_elements * math.prod(layer.kernel_size) * layer.filters
    return scatter + _bias_and_activation(layer, _per_example(output_shapes[0]))


@flops_of(
    layers.MaxPooling1D,
    layers.MaxPooling2D,
    layers.MaxPooling3D,
    layers.AveragePooling1D,
    layers.AveragePooling2D,
    layers.AveragePooling3D,
)
def _pooling(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    return _per_example(output_shapes[0]) * math.prod(layer.pool_size)


@flops_of(
    layers.GlobalMaxPooling1D,
    layers.GlobalMaxPooling2D,
    layers.GlobalMaxPooling3D,
    layers.GlobalAveragePooling1D,
    layers.GlobalAveragePooling2D,
    layers.GlobalAveragePooling3D,
)
def _global_pooling(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int:
    return _per_example(input_shapes[0])


def _rnn_step(layer: Any, input_shapes: Sequence[Shape], gates: int) -> tuple[int, int, int]:
    """Returns ``(timesteps, units, matmuls + combine)`` for an RNN of ``gates`` gates."""
    timesteps = _dim(input_shapes[0], 1)
    features = _dim(input_shapes[0], -1)
    units = layer.units
    width = gates * units
    return timesteps, units, 2 * features * width + 2 * units * width + width


@flops_of(layers.SimpleRNN)
def _simple_rnn(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    timesteps, units, step = _rnn_step(layer, input_shapes, gates=1)
    step += units * int(layer.use_bias) + units * _activation(layer.activation)
    return timesteps * step


@flops_of(layers.LSTM)
def _lstm(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    timesteps, units, step = _rnn_step(layer, input_shapes, gates=4)
    step += 4 * units * int(layer.use_bias)
    step += 3 * units * _activation(layer.recurrent_activation)
    step += 2 * units * _activation(layer.activation)
    step += 4 * units  # f*c + i*g, o*act(c)
    return timesteps * step


@flops_of(layers.GRU)
def _gru(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    timesteps, units, step = _rnn_step(layer, input_shapes, gates=3)
    biases = 2 if layer.reset_after else 1
    step += 3 * units * biases * int(layer.use_bias)
    step += 2 * units * _activation(layer.recurrent_activation)
    step += units * _activation(layer.activation)
    step += units + 4 * units  # reset gating; z*h + (1-z)*candidate
    return timesteps * step


@flops_of(layers.RNN)
def _rnn_cell(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    cell = layer.cell
    if not isinstance(cell, LeakyRNNCell):  # other cells: no formula here
        raise _Uncountable
    timesteps, units, step = _rnn_step(cell, input_shapes, gates=1)
    step += units * int(cell.use_bias) + units * _activation(cell.activation)
    step += (2 * units * units + units) * int(cell.skip > 1)  # skip kernel, its add
    step += 4 * units + 4 * units * int(cell.learn_alpha)  # the leak; sigmoid of the rates
    return timesteps * step


_BIDIRECTIONAL_MERGE = {"concat": 0, None: 0, "sum": 1, "mul": 1, "ave": 2}


@flops_of(layers.Bidirectional)
def _bidirectional(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int | None:
    merge = _BIDIRECTIONAL_MERGE.get(layer.merge_mode)
    if merge is None:
        raise _Uncountable
    total = merge * _per_example(output_shapes[0]) if merge else 0
    for wrapped in (layer.forward_layer, layer.backward_layer):
        inner_out = _as_shapes(wrapped.compute_output_shape(input_shapes[0]))
        flops = layer_flops(wrapped, input_shapes[:1], inner_out)
        if flops is None:
            return None
        total += flops
    return total


@flops_of(layers.TimeDistributed)
def _time_distributed(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int | None:
    steps = _dim(input_shapes[0], 1)
    per_step = layer_flops(
        layer.layer,
        [shape[:1] + shape[2:] for shape in input_shapes],
        [shape[:1] + shape[2:] for shape in output_shapes],
    )
    return None if per_step is None else steps * per_step


@flops_of(layers.Activation)
def _activation_layer(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int:
    return _activation(layer.activation) * _per_example(output_shapes[0])


@flops_of(layers.ReLU)
def _relu(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    per_element = 1 + int(layer.max_value is not None) + int(bool(layer.negative_slope))
    return per_element * _per_example(output_shapes[0])


def _per_element(cost: int) -> CostFn:
    """A cost function charging ``cost`` FLOPs per output element."""

    def count(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
        return cost * _per_example(output_shapes[0])

    return count


flops_of(layers.LeakyReLU, layers.PReLU)(_per_element(2))
flops_of(Heaviside, CausalMask)(_per_element(1))
flops_of(Sign)(_per_element(3))


@flops_of(PositionEmbedding)
def _position_embedding(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int:
    return int(layer.add) * _per_example(output_shapes[0])


flops_of(layers.ELU)(_per_element(4))
flops_of(layers.Softmax)(_per_element(3))
flops_of(layers.BatchNormalization)(_per_element(2))


@flops_of(layers.LayerNormalization, layers.GroupNormalization)
def _layer_norm(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    per_element = 5 + int(bool(layer.scale)) + int(bool(layer.center))
    return per_element * _per_example(output_shapes[0])


@flops_of(layers.Add, layers.Subtract, layers.Multiply, layers.Maximum, layers.Minimum)
def _elementwise_merge(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int:
    return (len(input_shapes) - 1) * _per_example(output_shapes[0])


@flops_of(layers.Average)
def _average(layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]) -> int:
    return len(input_shapes) * _per_example(output_shapes[0])


_UPSAMPLING_2D = {"nearest": 0, "bilinear": 7}


@flops_of(layers.UpSampling2D)
def _upsampling_2d(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int | None:
    per_element = _UPSAMPLING_2D.get(layer.interpolation)
    return None if per_element is None else per_element * _per_example(output_shapes[0])


@flops_of(keras.Model)
def _nested_model(
    layer: Any, input_shapes: Sequence[Shape], output_shapes: Sequence[Shape]
) -> int | None:
    if functional_graph(layer) is None:  # a subclassed model: no graph to read
        return None
    report = model_flops(layer)
    return None if report.unknown else report.total

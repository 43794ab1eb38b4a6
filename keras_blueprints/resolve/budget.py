"""The model's parameter budget and the size of its examples, checked before anything is built.

Shapes are propagated through the resolved graph without TensorFlow for the
layers whose weights are a formula of their arguments and input shape (Dense,
convolutions, embeddings, recurrent layers and ``RNN`` cells, normalisations,
attention, and keras-blueprints' own layers: PositionEmbedding, ClassToken,
TableConv2D, LeakyRNNCell, HopfieldNet...) and the layers that only move shapes
around (pooling, flattening, merging, dropout...); the states of a recurrent
layer with ``return_state`` have shapes too (``enc.1``). A dimension
that is not known (a ``None`` in an input, a Python block's output, a layer not
listed here) counts as 1, so the count is a lower bound: it never refuses a model
that fits, and a layer whose own arguments ask for too much (``units: 1e12``) is
refused whatever comes before it. The builder checks again with the real shapes
right before each layer is called (:func:`check_layer_params`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints._core.limits import Limits
from keras_blueprints.resolve.schema import InputSpec, Node

__all__ = [
    "check_data", "check_inputs", "check_params", "has_shape_rule", "layer_params",
    "output_shape", "too_many_params",
]  # fmt: skip

Shape = tuple[int | None, ...] | None  # per example (no batch axis); None: unknown
Count = tuple[int, str | None]  # parameters, and the argument that drives them


def _dims(value: Any, rank: int, default: int = 1) -> tuple[int, ...]:
    if value is None:
        return (default,) * rank
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * rank
    if (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == rank
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return tuple(value)
    return (default,) * rank


def _int(args: Mapping[str, Any], key: str, default: int = 1) -> int:
    value = args.get(key, default)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def _channels_first(args: Mapping[str, Any]) -> bool:
    return args.get("data_format") == "channels_first"


def _channels(args: Mapping[str, Any], shape: Shape) -> int:
    if not shape:
        return 1
    dim = shape[0] if _channels_first(args) else shape[-1]
    return dim or 1


def _known(shape: Shape) -> int:
    return math.prod(d or 1 for d in shape) if shape else 1


# -- parameter counts: (layer args, input shapes) -> (count, driving argument) ---------


def _dense(args, shapes) -> Count:
    units = _int(args, "units")
    last = (shapes[0][-1] if shapes and shapes[0] else None) or 1
    return last * units + (units if args.get("use_bias", True) else 0), "units"


def _conv(rank: int, transpose: bool = False) -> Callable[..., Count]:
    def count(args, shapes) -> Count:
        filters = _int(args, "filters")
        k = math.prod(_dims(args.get("kernel_size"), rank))
        groups = 1 if transpose else _int(args, "groups")
        inner = _channels(args, shapes[0] if shapes else None)
        bias = filters if args.get("use_bias", True) else 0
        return k * max(inner // groups, 1) * filters + bias, "filters"

    return count


def _depthwise(rank: int) -> Callable[..., Count]:
    def count(args, shapes) -> Count:
        k = math.prod(_dims(args.get("kernel_size"), rank))
        out = _channels(args, shapes[0] if shapes else None) * _int(args, "depth_multiplier")
        return k * out + (out if args.get("use_bias", True) else 0), "depth_multiplier"

    return count


def _separable(rank: int) -> Callable[..., Count]:
    def count(args, shapes) -> Count:
        filters = _int(args, "filters")
        k = math.prod(_dims(args.get("kernel_size"), rank))
        mid = _channels(args, shapes[0] if shapes else None) * _int(args, "depth_multiplier")
        return k * mid + mid * filters + (filters if args.get("use_bias", True) else 0), "filters"

    return count


def _embedding(args, shapes) -> Count:
    rows, width = _int(args, "input_dim"), _int(args, "output_dim")
    return rows * width, "input_dim" if rows >= width else "output_dim"


def _rnn(gates: int) -> Callable[..., Count]:
    def count(args, shapes) -> Count:
        units = _int(args, "units")
        last = (shapes[0][-1] if shapes and shapes[0] else None) or 1
        biases = 2 if gates == 3 and args.get("reset_after", True) else 1
        bias = biases * gates * units if args.get("use_bias", True) else 0
        return gates * units * (last + units) + bias, "units"

    return count


def _norm(per_channel: int) -> Callable[..., Count]:
    def count(args, shapes) -> Count:
        shape = shapes[0] if shapes else None
        axis = args.get("axis", -1)
        dim = None
        if shape and isinstance(axis, int) and -len(shape) - 1 <= axis <= len(shape) and axis:
            dim = shape[axis] if axis < 0 else shape[axis - 1]  # axis 0 is the batch
        return per_channel * (dim or 1), None

    return count


def _nested(args: Mapping[str, Any]) -> Any:
    inner = args.get("layer")
    return inner if hasattr(inner, "type") and hasattr(inner, "args") else None


def _bidirectional(args, shapes) -> Count:
    inner = _nested(args)
    if inner is None:
        return 0, None
    count, _ = layer_params(inner.type, inner.args, shapes)
    return 2 * count, "layer"  # forward and backward copies


def _time_distributed(args, shapes) -> Count:
    inner, shape = _nested(args), shapes[0] if shapes else None
    if inner is None:
        return 0, None
    return layer_params(inner.type, inner.args, [shape[1:] if shape else None])[0], "layer"


def _last_dim(shapes: Sequence[Shape], i: int = 0) -> int:
    shape = shapes[i] if len(shapes) > i else None
    return (shape[-1] if shape else None) or 1


def _multi_head_attention(args, shapes, calls=None) -> Count:
    calls = calls or {}
    heads, key_dim = _int(args, "num_heads"), _int(args, "key_dim")
    value_dim = _int(args, "value_dim", key_dim) if args.get("value_dim") else key_dim
    query = _last_dim(shapes)
    value = _last_dim([calls.get("value")])
    key = _last_dim([calls.get("key", calls.get("value"))])
    out = args.get("output_shape")  # None: the query's width; a tuple: counted as 1
    out = query if out is None else out if isinstance(out, int) and out > 0 else 1
    bias = args.get("use_bias", True)
    projections = heads * (key_dim * (query + key) + value_dim * value)
    biases = heads * (2 * key_dim + value_dim) + out if bias else 0
    return projections + heads * value_dim * out + biases, "num_heads"


def _attention(args, shapes) -> Count:  # a scalar scale, a scalar concat-score weight
    return int(bool(args.get("use_scale"))) + int(args.get("score_mode") == "concat"), None


def _additive_attention(args, shapes) -> Count:  # one scale per query feature
    return (_last_dim(shapes) if args.get("use_scale", True) else 0), None


def _position_embedding(args, shapes) -> Count:
    # keras_blueprints.layers.transformer.PositionEmbedding: (sequence_length, width).
    shape = shapes[0] if shapes else None
    length = args.get("sequence_length")
    if not (isinstance(length, int) and not isinstance(length, bool) and length > 0):
        length = (shape[0] if shape and len(shape) == 2 else None) or 1
    return length * _last_dim(shapes), "sequence_length"


def _class_token(args, shapes) -> Count:  # ClassToken: one (1, 1, width) vector
    return _last_dim(shapes), None


_LENET5_TABLE = (16, 60)
"""Rows and connections of LeNet-5's C3 table (``layers.table.LENET5_C3_TABLE``, which
imports Keras; tests/test_budget.py checks the two agree)."""


def _table(args: Mapping[str, Any]) -> tuple[int, int]:
    """``(filters, connections)`` of a TableConv2D's ``table``."""
    table = args.get("table", "lenet5")
    if table == "lenet5":
        return _LENET5_TABLE
    if isinstance(table, str) or not isinstance(table, Sequence):
        raise TypeError(table)
    return len(table), sum(len(row) for row in table)


def _table_conv(args, shapes) -> Count:  # TableConv2D: only the connected kernels
    filters, connections = _table(args)
    k = math.prod(_dims(args.get("kernel_size", 5), 2))
    return k * connections + (filters if args.get("use_bias", True) else 0), "table"


def _hopfield(args, shapes) -> Count:  # HopfieldNet: an N x N memory (not trained by backprop)
    units = _last_dim(shapes)
    return units * units, None


def _cell_params(cell: Any, last: int) -> tuple[int, int] | None:
    """``(parameters, output width)`` of a recurrent cell on ``last`` input features."""
    args, units = cell.args, _int(cell.args, "units")
    bias = args.get("use_bias", True)
    if cell.type == "LeakyRNNCell":  # W, U, b; a skip kernel; learned rates
        skip = args.get("skip", 1)
        count = units * (last + units + int(bool(bias)))
        count += units * units if isinstance(skip, int) and skip > 1 else 0
        return count + (units if args.get("learn_alpha") else 0), units
    gates = {"SimpleRNNCell": 1, "GRUCell": 3, "LSTMCell": 4, "PeepholeLSTMCell": 4}.get(cell.type)
    if gates is None:
        return None
    biases = 2 if gates == 3 and args.get("reset_after", True) else 1
    count = gates * units * (last + units) + (biases * gates * units if bias else 0)
    return count + (3 * units if cell.type == "PeepholeLSTMCell" else 0), units


def _cells(args: Mapping[str, Any]) -> list[Any] | None:
    cell = args.get("cell")
    cells = list(cell) if isinstance(cell, Sequence) and not isinstance(cell, str) else [cell]
    if not cells or not all(hasattr(c, "type") and hasattr(c, "args") for c in cells):
        return None
    return cells


def _rnn_cells(args, shapes) -> Count:
    """``RNN: {cell: ...}``: each cell (stacked cells chain) on the one before's output."""
    cells, last, total = _cells(args), _last_dim(shapes), 0
    for cell in cells or ():
        counted = _cell_params(cell, last)
        if counted is None:
            return total, "cell"
        count, last = counted
        total += count
    return total, "cell"


_PARAMS: dict[str, Callable[..., Count]] = {
    "AdditiveAttention": _additive_attention,
    "Attention": _attention,
    "ClassToken": _class_token,
    "HopfieldNet": _hopfield,
    "PositionEmbedding": _position_embedding,
    "RNN": _rnn_cells,
    "TableConv2D": _table_conv,
    "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed,
    "Dense": _dense,
    "Embedding": _embedding,
    "SimpleRNN": _rnn(1),
    "GRU": _rnn(3),
    "LSTM": _rnn(4),
    "BatchNormalization": _norm(4),
    "LayerNormalization": _norm(2),
}
for _rank in (1, 2, 3):
    _PARAMS[f"Conv{_rank}D"] = _conv(_rank)
    _PARAMS[f"Conv{_rank}DTranspose"] = _conv(_rank, transpose=True)
for _rank in (1, 2):
    _PARAMS[f"DepthwiseConv{_rank}D"] = _depthwise(_rank)
    _PARAMS[f"SeparableConv{_rank}D"] = _separable(_rank)


def layer_params(
    type_name: str,
    args: Mapping[str, Any],
    shapes: Sequence[Shape],
    call_shapes: Mapping[str, Shape] | None = None,
) -> Count:
    """A lower bound of the parameters a layer creates, and the argument that drives them.

    Args:
        type_name: The canonical layer name (``Dense``, ``Conv2D``...).
        args: The layer's arguments.
        shapes: Its input shapes, per example (unknown dimensions: None).
        call_shapes: The shapes of its keyword tensor inputs (``value`` and ``key``
            of ``MultiHeadAttention``); a missing one counts as unknown.

    Returns:
        ``(count, argument)``: 0 and None for a layer without a formula here.
    """
    if type_name == "MultiHeadAttention":
        try:
            return _multi_head_attention(args, list(shapes), call_shapes)
        except (TypeError, ValueError, IndexError):
            return 0, None
    fn = _PARAMS.get(type_name)
    if fn is None:
        return 0, None
    try:
        return fn(args, list(shapes))
    except (TypeError, ValueError, IndexError, ZeroDivisionError):  # checked elsewhere
        return 0, None


# -- output shapes ---------------------------------------------------------------------

_SAME = {
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU",
    "Softmax", "ActivityRegularization", "Identity", "Rescaling", "BatchNormalization",
    "LayerNormalization", "UnitNormalization", "Masking",
    "PositionEmbedding", "Heaviside", "Sign", "HopfieldNet",
}  # fmt: skip
_CALL_INPUTS_KEEP_SHAPE = {"MultiHeadAttention", "LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional"}
"""Layers whose keyword inputs (value, key; initial_state, mask) leave the output shape as it is."""
_MERGE = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}


def _spatial_out(n, k, s, d, padding, transpose):
    if n is None:
        return None
    if transpose:  # as Keras computes it (without output_padding)
        return n * s + (max(d * (k - 1) + 1 - s, 0) if padding == "valid" else 0)
    if padding == "same":
        return -(-n // s)
    span = d * (k - 1) + 1
    return max((n - span) // s + 1, 0)


def _windowed(rank: int, kind: str) -> Callable[[Mapping[str, Any], list[Shape]], Shape]:
    def shape_of(args, shapes) -> Shape:
        shape = shapes[0]
        if shape is None or len(shape) != rank + 1:
            return None
        first = _channels_first(args)
        spatial = shape[1:] if first else shape[:-1]
        channels = shape[0] if first else shape[-1]
        if kind == "pool":
            k = _dims(args.get("pool_size"), rank, 2)
            s = _dims(args.get("strides"), rank, 0) if args.get("strides") else k
            d = (1,) * rank
        else:
            k = _dims(args.get("kernel_size"), rank)
            s = _dims(args.get("strides"), rank)
            d = _dims(args.get("dilation_rate"), rank)
        padding = args.get("padding", "valid")
        out = tuple(
            _spatial_out(n, k[i], s[i], d[i], padding, kind == "transpose")
            for i, n in enumerate(spatial)
        )
        if kind == "pool":
            width = channels
        elif kind == "depthwise":
            width = None if channels is None else channels * _int(args, "depth_multiplier")
        else:
            width = _int(args, "filters")
        return (width, *out) if first else (*out, width)

    return shape_of


def _flatten(args, shapes) -> Shape:
    shape = shapes[0]
    if shape is None:
        return None
    return (math.prod(shape),) if all(d is not None for d in shape) else (None,)


def _last(width_key: str) -> Callable[[Mapping[str, Any], list[Shape]], Shape]:
    def shape_of(args, shapes) -> Shape:
        shape = shapes[0]
        return None if shape is None else (*shape[:-1], _int(args, width_key))

    return shape_of


_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1, "LSTMCell": 2, "PeepholeLSTMCell": 2}
_STATES.update(GRUCell=1, SimpleRNNCell=1, LeakyRNNCell=1)


def _recurrent_outputs(type_name: str, args: Mapping[str, Any], shape: Shape) -> list[Shape] | None:
    """The sequence (or last) output, then the states (``return_state``), of a recurrent layer.

    ``RNN: {cell: ...}`` outputs its last cell's width and every cell's states;
    a LeakyRNNCell with ``skip: d`` keeps ``d`` steps of its state in one.
    """
    if type_name == "RNN":
        cells = _cells(args)
        if cells is None or any(cell.type not in _STATES for cell in cells):
            return None
        states: list[Shape] = []
        for cell in cells:
            units = _int(cell.args, "units")
            width = units * _int(cell.args, "skip") if cell.type == "LeakyRNNCell" else units
            states += [(width,)] * _STATES[cell.type]
    elif type_name in _STATES:
        units = _int(args, "units")
        states = [(units,)] * _STATES[type_name]
    else:
        return None
    if shape is None:
        return None
    out = (*shape[:-1], units) if args.get("return_sequences") else (units,)
    return [out, *states] if args.get("return_state") else [out]


def _recurrent(type_name: str) -> Callable[[Mapping[str, Any], list[Shape]], Shape]:
    def shape_of(args, shapes) -> Shape:
        outs = _recurrent_outputs(type_name, args, shapes[0])
        return None if outs is None or args.get("return_state") else outs[0]

    return shape_of


def _embedded(args, shapes) -> Shape:
    shape = shapes[0]
    return None if shape is None else (*shape, _int(args, "output_dim"))


def _global(rank: int) -> Callable[[Mapping[str, Any], list[Shape]], Shape]:
    def shape_of(args, shapes) -> Shape:
        shape = shapes[0]
        if shape is None or len(shape) != rank + 1 or args.get("keepdims"):
            return None
        return (shape[0] if _channels_first(args) else shape[-1],)

    return shape_of


def _concatenate(args, shapes) -> Shape:
    if any(s is None for s in shapes) or len({len(s) for s in shapes}) != 1 or not shapes:
        return None
    axis = args.get("axis", -1)
    if axis != -1:
        return None
    last = [s[-1] for s in shapes]
    return (*shapes[0][:-1], None if None in last else sum(last))


def _reshape(args, shapes) -> Shape:
    target = args.get("target_shape")
    if not isinstance(target, Sequence) or isinstance(target, str):
        return None
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in target):
        return None
    if -1 in target:
        shape = shapes[0]
        if shape is None or None in shape:
            return None
        rest = math.prod(d for d in target if d != -1) or 1
        return tuple(math.prod(shape) // rest if d == -1 else d for d in target)
    return tuple(target)


def _bidirectional_outputs(args: Mapping[str, Any], shape: Shape) -> list[Shape] | None:
    """The merged output, then the forward and the backward layer's states."""
    inner = _nested(args)
    if inner is None:
        return None
    outs = _recurrent_outputs(inner.type, inner.args, shape)
    merge = args.get("merge_mode", "concat")
    if outs is None or merge not in ("concat", "sum", "mul", "ave"):
        return None
    out = outs[0]
    merged = (*out[:-1], 2 * out[-1]) if merge == "concat" else out
    return [merged, *outs[1:], *outs[1:]]


def _bidirectional_shape(args, shapes) -> Shape:
    inner = _nested(args)
    if inner is None or inner.args.get("return_state"):
        return None
    outs = _bidirectional_outputs(args, shapes[0])
    return None if outs is None else outs[0]


def _cropping1d(args, shapes) -> Shape:
    shape = shapes[0]
    crop = args.get("cropping", 1)
    before, after = _dims(crop, 2, default=-1) if not isinstance(crop, int) else (crop, crop)
    if shape is None or len(shape) != 2 or min(before, after) < 0:
        return None
    return (None if shape[0] is None else shape[0] - before - after, shape[1])


def _attended(args, shapes) -> Shape:  # Attention, AdditiveAttention: [query, value(, key)]
    if len(shapes) < 2 or shapes[0] is None or shapes[1] is None:
        return None
    return (*shapes[0][:-1], shapes[1][-1])


def _multi_head_attended(args, shapes) -> Shape:  # the query's shape, output_shape wide
    width = args.get("output_shape")
    if shapes[0] is None or not (width is None or isinstance(width, int)):
        return None
    return shapes[0] if width is None else (*shapes[0][:-1], width)


def _class_token_shape(args, shapes) -> Shape:  # one more position
    shape = shapes[0]
    if shape is None or len(shape) != 2:
        return None
    return (None if shape[0] is None else shape[0] + 1, shape[1])


def _causal_mask(args, shapes) -> Shape:  # (length, length)
    shape = shapes[0]
    return None if shape is None or len(shape) < 1 else (shape[0], shape[0])


def _table_conv_shape(args, shapes) -> Shape:  # channels last, stride 1
    shape = shapes[0]
    if shape is None or len(shape) != 3:
        return None
    filters, _ = _table(args)
    padding = args.get("padding", "valid")
    k = _dims(args.get("kernel_size", 5), 2)
    spatial = (_spatial_out(n, k[i], 1, 1, padding, False) for i, n in enumerate(shape[:2]))
    return (*spatial, filters)


def _threshold_unit(args, shapes) -> Shape:  # one unit last
    shape = shapes[0]
    return None if shape is None else (*shape[:-1], 1)


_SHAPES: dict[str, Callable[[Mapping[str, Any], list[Shape]], Shape]] = {
    "Bidirectional": _bidirectional_shape,
    "Dense": _last("units"),
    "Embedding": _embedded,
    "Flatten": _flatten,
    "SimpleRNN": _recurrent("SimpleRNN"),
    "GRU": _recurrent("GRU"),
    "LSTM": _recurrent("LSTM"),
    "RNN": _recurrent("RNN"),
    "Concatenate": _concatenate,
    "Reshape": _reshape,
    "Cropping1D": _cropping1d,
    "Attention": _attended,
    "AdditiveAttention": _attended,
    "MultiHeadAttention": _multi_head_attended,
    "ClassToken": _class_token_shape,
    "CausalMask": _causal_mask,
    "TableConv2D": _table_conv_shape,
    "ThresholdUnit": _threshold_unit,
}
for _rank in (1, 2, 3):
    _SHAPES[f"Conv{_rank}D"] = _windowed(_rank, "conv")
    _SHAPES[f"Conv{_rank}DTranspose"] = _windowed(_rank, "transpose")
    _SHAPES[f"MaxPooling{_rank}D"] = _windowed(_rank, "pool")
    _SHAPES[f"AveragePooling{_rank}D"] = _windowed(_rank, "pool")
    _SHAPES[f"GlobalMaxPooling{_rank}D"] = _global(_rank)
    _SHAPES[f"GlobalAveragePooling{_rank}D"] = _global(_rank)
for _rank in (1, 2):
    _SHAPES[f"DepthwiseConv{_rank}D"] = _windowed(_rank, "depthwise")
    _SHAPES[f"SeparableConv{_rank}D"] = _windowed(_rank, "conv")


def has_shape_rule(type_name: str) -> bool:
    """Whether the output shape of layer ``type_name`` can be worked out without TensorFlow."""
    return type_name in _SAME or type_name in _MERGE or type_name in _SHAPES


def output_shape(
    kind: str,
    type_name: str,
    args: Mapping[str, Any],
    shapes: Sequence[Shape],
    *,
    call_inputs: bool = False,
) -> Shape:
    """The per-example output shape of a node, worked out without TensorFlow.

    Args:
        kind: The node's kind (only ``layer`` nodes have a rule; a Python block's
            output is known only when it is built).
        type_name: The canonical layer name (``Dense``, ``Conv2D``...).
        args: The layer's arguments.
        shapes: Its input shapes, per example (unknown dimensions: None).
        call_inputs: Whether the node also takes keyword (call) inputs.

    Returns:
        The shape (None for an unknown dimension), or None when it is not known:
        a layer without a rule (:func:`has_shape_rule`), an input not known, keyword
        inputs, or arguments the rule cannot read.
    """
    if kind != "layer" or not shapes or (call_inputs and type_name not in _CALL_INPUTS_KEEP_SHAPE):
        return None
    shapes = list(shapes)
    if type_name in _SAME or (type_name in _MERGE and len(set(shapes)) == 1):
        return shapes[0]
    fn = _SHAPES.get(type_name)
    if fn is None:
        return None
    try:
        return fn(args, shapes)
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return None


def _output_shape(node: Node, shapes: list[Shape]) -> Shape:
    return output_shape(node.kind, node.type, node.args, shapes, call_inputs=bool(node.call_inputs))


def _several_outputs(node: Node, shapes: list[Shape]) -> list[Shape] | None:
    """Every output of a recurrent node with ``return_state`` (``enc.0``, ``enc.1``...)."""
    if node.kind != "layer" or not shapes or not isinstance(node.args, Mapping):
        return None
    try:
        if node.type == "Bidirectional":
            inner = _nested(node.args)
            if inner is None or not inner.args.get("return_state"):
                return None
            return _bidirectional_outputs(node.args, shapes[0])
        if not node.args.get("return_state"):
            return None
        return _recurrent_outputs(node.type, node.args, shapes[0])
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return None


def _ref_shape(ref: Any, shapes: Mapping[str, Shape], several: Mapping[str, list[Shape]]) -> Shape:
    if ref.index is None:
        return shapes.get(ref.node)
    outs = several.get(ref.node)
    if outs is None or not isinstance(ref.index, int) or not 0 <= ref.index < len(outs):
        return None
    return outs[ref.index]


# -- the checks ------------------------------------------------------------------------


def check_inputs(inputs: Sequence[InputSpec], limits: Limits) -> None:
    """Refuses an input whose one example holds more than ``limits.max_data`` elements.

    Raises:
        BlueprintError: At the input's shape.
    """
    for spec in inputs:
        size = _known(spec.shape)
        if size > limits.max_data:
            raise BlueprintError(
                f"one example of input '{spec.name}' would hold {size:,} elements",
                spec.location,
                expected=f"at most {limits.max_data:,} elements per example",
                received=Plain(str(list(spec.shape))),
                hint=limits.how_to_raise("max_data"),
            )


def too_many_params(
    node: Node, count: int, total: int, shapes: Sequence[Shape], arg: str | None, limit: int
) -> BlueprintError:
    """The error for a layer that takes the model past its parameter budget."""
    location = node.arg_locations.get(arg, node.location) if arg else node.location
    shown = ", ".join(str(list(s)) if s is not None else "unknown" for s in shapes)
    kind = "block" if node.kind == "block" else "layer"
    return BlueprintError(
        f"{kind} '{node.name}' ({node.type}) would bring the model to {total:,} parameters",
        location,
        expected=f"at most {limit:,} parameters",
        received=Plain(f"{count:,} in this {kind}, on input shape {shown or 'unknown'}"),
        hint=Limits().how_to_raise("max_params"),
        context=node.context,
    )


def check_params(
    nodes: Sequence[Node], inputs: Sequence[InputSpec], limits: Limits
) -> dict[str, Shape]:
    """Counts the model's parameters from the resolved graph; refuses past the budget.

    Args:
        nodes: The nodes in build order.
        inputs: The model inputs.
        limits: The budget.

    Returns:
        The inferred output shape of each node (None: unknown).

    Raises:
        BlueprintError: At the argument of the first node that takes the total past
            ``limits.max_params``.
    """
    shapes: dict[str, Shape] = {spec.name: tuple(spec.shape) for spec in inputs}
    several: dict[str, list[Shape]] = {}
    total = 0
    for node in nodes:
        ins = [_ref_shape(ref, shapes, several) for ref in node.inputs]
        if node.kind == "layer":
            calls = {
                key: _ref_shape(ref, shapes, several)
                for key, ref in node.call_inputs.items()
                if not isinstance(ref, tuple)
            }
            count, arg = layer_params(node.type, node.args, ins, calls)
            total += count
            if total > limits.max_params:
                raise too_many_params(node, count, total, ins, arg, limits.max_params)
        shapes[node.name] = _output_shape(node, ins)
        outs = _several_outputs(node, ins)
        if outs is not None:
            several[node.name] = outs
    return shapes


# -- data ------------------------------------------------------------------------------

_DIGITS = 1_797  # scikit-learn's digits


def _examples(kind: str, args: Mapping[str, Any], per_example: int) -> tuple[int, int, str | None]:
    """``(examples, elements per example, driving argument)`` of a built-in source."""
    if kind == "spirals":
        classes, points = _int(args, "classes", 2), _int(args, "points_per_class", 200)
        return classes * points, 2, "points_per_class" if points >= classes else "classes"
    if kind == "shapes":  # images and as large masks or labels
        return _int(args, "count", 512), 2 * per_example, "count"
    if kind == "ambiguous_shapes":  # each image once per annotator, with its mask
        count, annotators = _int(args, "count", 400), _int(args, "annotators", 4)
        return count * annotators, 2 * per_example, "count" if count >= annotators else "annotators"
    if kind == "digits":
        side = args.get("image_size")
        side = side if isinstance(side, int) and not isinstance(side, bool) else 0
        return _DIGITS, max(per_example, side * side), "image_size" if side else None
    if kind == "sequences":  # source, decoder input and targets, one-hot
        length, vocabulary = _int(args, "length"), _int(args, "vocabulary")
        return _int(args, "count", 1000), 3 * max(per_example, length * vocabulary), "count"
    if kind == "blobs":
        return 2 * _int(args, "points_per_class", 100), 3, "points_per_class"
    if kind == "logic":  # two inputs, a column per gate
        return 4 * _int(args, "copies", 1), 8, "copies"
    if kind == "pattern_pairs":
        pairs, values = _int(args, "pairs", 8), _int(args, "value_units", 8)
        return pairs, per_example + values, "pairs" if pairs >= values else "value_units"
    if kind == "memories":  # the stored patterns, then their corrupted copies
        count, copies = _int(args, "count", 4), _int(args, "copies", 10)
        return count * (1 + copies), 2 * per_example, "count" if count >= copies else "copies"
    return 0, per_example, None


def check_data(spec: Any, inputs: Sequence[InputSpec], root: Any, limits: Limits) -> None:
    """Refuses generated data, a shuffle buffer or a batch past ``limits.max_data`` elements.

    Args:
        spec: The ``data:`` section (:class:`~keras_blueprints.resolve.schema.DataSpec`).
        inputs: The model inputs (the size of one example).
        root: The document's root (a :class:`~keras_blueprints.resolve.values.Where`).
        limits: The budget.

    Raises:
        BlueprintError: At the argument that asks for too much.
    """
    per_example = max(sum(_known(s.shape) for s in inputs), 1)
    hint = limits.how_to_raise("max_data")
    w = root / "data"
    for key in ("source", "validation", "test"):
        source = getattr(spec, key)
        if source is None or isinstance(source, float):
            continue
        count, each, arg = _examples(source.kind, source.args, per_example)
        if count * each > limits.max_data:
            place = w / key / source.kind / arg if arg else w / key
            raise BlueprintError(
                f"data source '{source.kind}' would make {count * each:,} elements"
                f" ({count:,} examples of {each:,})",
                place.loc,
                expected=f"at most {limits.max_data:,} elements",
                hint=hint,
            )
    for key, what in (("shuffle", "the shuffle buffer"), ("batch_size", "one batch")):
        size = getattr(spec, key) * per_example
        if size > limits.max_data:
            raise BlueprintError(
                f"{what} would hold {size:,} elements"
                f" ({getattr(spec, key):,} examples of {per_example:,})",
                (w / key).loc,
                expected=f"at most {limits.max_data:,} elements",
                hint=hint,
            )

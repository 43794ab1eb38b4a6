"""The model's parameter budget and the size of its examples, checked before anything is built.

Shapes are propagated through the resolved graph without TensorFlow for the
layers whose weights are a formula of their arguments and input shape (Dense,
convolutions, embeddings, recurrent layers, normalisations) and the layers that
only move shapes around (pooling, flattening, merging, dropout...). A dimension
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


_PARAMS: dict[str, Callable[..., Count]] = {
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


def layer_params(type_name: str, args: Mapping[str, Any], shapes: Sequence[Shape]) -> Count:
    """A lower bound of the parameters a layer creates, and the argument that drives them.

    Args:
        type_name: The canonical layer name (``Dense``, ``Conv2D``...).
        args: The layer's arguments.
        shapes: Its input shapes, per example (unknown dimensions: None).

    Returns:
        ``(count, argument)``: 0 and None for a layer without a formula here.
    """
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
}  # fmt: skip
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


def _recurrent(args, shapes) -> Shape:
    shape = shapes[0]
    if shape is None or args.get("return_state"):
        return None
    units = _int(args, "units")
    return (*shape[:-1], units) if args.get("return_sequences") else (units,)


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


def _bidirectional_shape(args, shapes) -> Shape:
    inner = _nested(args)
    if inner is None or inner.type not in ("LSTM", "GRU", "SimpleRNN"):
        return None
    out = _recurrent(inner.args, shapes)
    merge = args.get("merge_mode", "concat")
    if out is None or merge not in ("concat", "sum", "mul", "ave"):
        return None
    return (*out[:-1], 2 * out[-1]) if merge == "concat" else out


_SHAPES: dict[str, Callable[[Mapping[str, Any], list[Shape]], Shape]] = {
    "Bidirectional": _bidirectional_shape,
    "Dense": _last("units"),
    "Embedding": _embedded,
    "Flatten": _flatten,
    "SimpleRNN": _recurrent,
    "GRU": _recurrent,
    "LSTM": _recurrent,
    "Concatenate": _concatenate,
    "Reshape": _reshape,
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
    if kind != "layer" or not shapes or call_inputs:
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
    total = 0
    for node in nodes:
        ins = [shapes.get(ref.node) if ref.index is None else None for ref in node.inputs]
        if node.kind == "layer":
            count, arg = layer_params(node.type, node.args, ins)
            total += count
            if total > limits.max_params:
                raise too_many_params(node, count, total, ins, arg, limits.max_params)
        shapes[node.name] = _output_shape(node, ins)
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

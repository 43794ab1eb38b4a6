"""The core builder: a resolved :class:`Blueprint` in, a functional ``keras.Model`` out.

A pure function: no global state is changed and the only global setting read
is Keras' dtype policy (every layer gets an explicit name, so names do not depend
on Keras' session counters). Under a mixed policy (``runtime.mixed_precision``)
the model's outputs are computed in float32: output nodes' layers are created
with ``dtype="float32"``, and a block's output that is not float32 is cast by a
float32 ``Activation("linear")`` layer named ``NODE_float32`` (softmax and losses
in float16 or bfloat16 lose too much). Errors that
Keras raises while constructing or calling a layer (bad argument values,
incompatible shapes) are re-raised as :class:`BlueprintError` at the YAML node
that caused them, with the input shapes the layer received.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import keras

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints._core.limits import Limits
from keras_blueprints.builders.compile import compile_model
from keras_blueprints.catalog.components import BLOCKS, LAYERS
from keras_blueprints.resolve.budget import layer_params, too_many_params
from keras_blueprints.resolve.schema import Blueprint, NestedLayer, Node, Ref, thaw

__all__ = ["build_model", "build_models", "build_tensors", "tensor_of"]


def build_model(blueprint: Blueprint, *, compile: bool = True) -> keras.Model:
    """Builds the Keras functional model a blueprint describes.

    Args:
        blueprint: A resolved blueprint (from :func:`keras_blueprints.load`).
        compile: Apply the blueprint's ``compile:`` section, if it has one.

    Returns:
        The model, named after the blueprint, with the blueprint's inputs and
        outputs (outputs named after their nodes).

    Raises:
        BlueprintError: Keras refused a layer's arguments or shapes; the error
            points at the node.
    """
    return _build(blueprint, compile)[0]


def build_models(blueprint: Blueprint, *, compile: bool = True) -> dict[str, keras.Model]:
    """Builds the main model and the further models of the blueprint's ``models:`` section.

    The further models share the main model's layers (and so its weights): an
    encoder and a decoder trained inside an autoencoder, or the one-step
    decoder of a sequence-to-sequence model.

    Args:
        blueprint: A resolved blueprint.
        compile: Apply the ``compile:`` section to the main model.

    Returns:
        ``{"model": main, NAME: model, ...}`` in the order of the ``models:`` section.

    Raises:
        BlueprintError: Keras refused a layer's arguments or shapes.
    """
    model, tensors, layers = _build(blueprint, compile)
    models = {"model": model}
    by_name = {node.name: node for node in blueprint.nodes}
    for sub in blueprint.models:
        if not sub.nodes:  # fed by the main model's inputs: a cut of the main graph
            fresh = [tensors[ref.node] for _, ref in sub.inputs]
            outputs = [_tensor(ref, tensors) for ref in sub.outputs]
            models[sub.name] = keras.Model(
                inputs=fresh if len(fresh) > 1 else fresh[0],
                outputs=outputs if len(outputs) > 1 else outputs[0],
                name=sub.name,
            )
            continue
        replayed: dict[str, Any] = {}
        fresh = []
        for input_name, ref in sub.inputs:
            source = _tensor(ref, tensors)
            tensor = keras.Input(shape=source.shape[1:], dtype=source.dtype, name=input_name)
            replayed[str(ref)] = tensor  # read before any node output by _tensor
            fresh.append(tensor)
        for name in sub.nodes:
            replayed[name] = _build_node(by_name[name], replayed, layers, reuse=True)
        outputs = [_tensor(ref, replayed) for ref in sub.outputs]
        models[sub.name] = keras.Model(
            inputs=fresh if len(fresh) > 1 else fresh[0],
            outputs=outputs if len(outputs) > 1 else outputs[0],
            name=sub.name,
        )
    return models


def _build(blueprint: Blueprint, compile: bool) -> tuple[keras.Model, dict, dict]:
    tensors, layers = _build_graph(blueprint)
    inputs = [tensors[spec.name] for spec in blueprint.inputs]
    outputs = [_tensor(ref, tensors) for ref in blueprint.outputs]
    try:
        model = keras.Model(
            inputs=inputs if len(inputs) > 1 else inputs[0],
            outputs=outputs if len(outputs) > 1 else outputs[0],
            name=blueprint.name,
        )
    except (ValueError, TypeError) as exc:
        raise BlueprintError(
            f"Keras could not assemble the model: {_keras_reason(exc)}", blueprint.location
        ) from exc
    if compile and blueprint.compile is not None:
        compile_model(model, blueprint.compile, blueprint.output_names)
    return model, tensors, layers


def build_tensors(blueprint: Blueprint) -> dict[str, Any]:
    """Creates the blueprint's input tensors and calls every node, in order.

    Args:
        blueprint: A resolved blueprint.

    Returns:
        The symbolic output of every input and node, by name (a list or a
        mapping for nodes with several outputs).

    Raises:
        BlueprintError: Keras refused a layer's arguments or input shapes.
    """
    return _build_graph(blueprint)[0]


def _build_graph(blueprint: Blueprint) -> tuple[dict[str, Any], dict[str, keras.layers.Layer]]:
    tensors: dict[str, Any] = {}
    layers: dict[str, keras.layers.Layer] = {}
    for spec in blueprint.inputs:
        tensors[spec.name] = keras.Input(
            shape=spec.shape,
            dtype=spec.dtype,
            batch_size=spec.batch_size,
            sparse=spec.sparse,
            name=spec.name,
        )
    outputs = _float32_outputs(blueprint)
    limit = (blueprint.limits or Limits.from_environment()).max_params
    total = 0
    for node in blueprint.nodes:
        float32 = node.name in outputs
        if node.kind == "block" or _wraps_layers(node):  # no formula: count what it creates
            tensors[node.name], count = _build_counted(
                node,
                tensors,
                total,
                limit,
                lambda n=node, f=float32: _build_node(n, tensors, layers, float32=f),
            )
            total += count
            continue
        if node.kind == "layer":  # before Keras allocates the layer's weights
            total += _check_params(node, tensors, total, limit)
        tensors[node.name] = _build_node(node, tensors, layers, float32=float32)
    return tensors, layers


def _wraps_layers(node: Node) -> bool:
    """A layer built around other layers (Bidirectional, TimeDistributed...)."""
    return node.kind == "layer" and any(
        isinstance(v, NestedLayer)
        or (isinstance(v, tuple | list) and any(isinstance(i, NestedLayer) for i in v))
        for v in node.args.values()
    )


def _build_counted(
    node: Node, tensors: Mapping[str, Any], total: int, limit: int, build: Any
) -> tuple[Any, int]:
    """Builds a node whose weights have no formula, counting them before they are allocated.

    Inside ``keras.StatelessScope(initialize_variables=False)`` the layers a block
    (or a wrapper) creates get their variables' shapes but no memory; their count is
    read from a model spanning the node, and the variables are initialised only when
    the total stays within ``limit``.

    Returns:
        The node's output and the parameters it created.

    Raises:
        BlueprintError: The node takes the model past ``limit`` parameters.
    """
    ins = [_tensor(ref, tensors) for ref in node.inputs]
    extra = [
        _tensor(r, tensors)
        for value in node.call_inputs.values()
        for r in (value if isinstance(value, tuple) else (value,))
    ]  # a mask or a state fed by keyword is an input of the span too
    span = ins + [t for t in extra if all(t is not i for i in ins)]
    with keras.StatelessScope(initialize_variables=False):
        out = build()
        try:
            count = keras.Model(span if len(span) != 1 else span[0], out).count_params()
        except Exception:  # the output does not span from the inputs alone: not counted
            count = 0
    if total + count > limit:
        # Forget the variables before anything initialises them (they hold no memory yet).
        keras.backend.clear_session()
        shapes = [tuple(t.shape)[1:] for t in ins]
        raise too_many_params(node, count, total + count, shapes, None, limit)
    with keras.StatelessScope():  # leaving it initialises the variables just created
        pass
    return out, count


def _check_params(node: Node, tensors: Mapping[str, Any], total: int, limit: int) -> int:
    """The parameters a layer node will create, from its real input shapes.

    The second line of defence behind the count made at load: here every shape is
    known (a block's output included), and nothing is allocated yet.

    Raises:
        BlueprintError: The layer takes the model past ``limit`` parameters.
    """
    shapes = []
    for ref in node.inputs:
        try:
            shape = getattr(_tensor(ref, tensors), "shape", None)
        except BlueprintError:
            shape = None
        shapes.append(tuple(shape)[1:] if shape is not None else None)
    count, arg = layer_params(node.type, node.args, shapes)
    if total + count > limit:
        raise too_many_params(node, count, total + count, shapes, arg, limit)
    return count


def _float32_outputs(blueprint: Blueprint) -> frozenset[str]:
    """The output nodes to compute in float32: all of them under a mixed dtype policy."""
    policy = keras.config.dtype_policy()
    if policy.compute_dtype == policy.variable_dtype:
        return frozenset()
    return frozenset(ref.node for ref in blueprint.outputs)


def _build_node(
    node: Node,
    tensors: Mapping[str, Any],
    layers: dict[str, Any],
    reuse: bool = False,
    float32: bool = False,
) -> Any:
    """Calls one node on its inputs; with ``reuse``, calls the layer built before.

    With ``float32`` (a model output under a mixed dtype policy) the node's layer
    computes in float32, unless the blueprint gives it a ``dtype`` itself; a block's
    output is cast to float32.
    """
    args = [_tensor(ref, tensors) for ref in node.inputs]
    call_kwargs = {
        key: tuple(_tensor(r, tensors) for r in value)
        if isinstance(value, tuple)
        else _tensor(value, tensors)
        for key, value in node.call_inputs.items()
    }
    call_kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in call_kwargs.items()}
    x = args[0] if len(args) == 1 else args
    if node.kind == "block":
        entry = BLOCKS.lookup(node.type, node.location)
        x = args if entry.many_inputs else args[0]
        out = _keras_step(
            node, args, lambda: entry.fn(x, name=node.name, **thaw(node.args), **call_kwargs)
        )
        return _cast_float32(out, node.name) if float32 else out
    if node.kind == "share" or reuse:
        layer = layers[node.share or node.name]
    else:
        layer_args = thaw(node.args)
        if float32:
            layer_args.setdefault("dtype", "float32")
        layer = _keras_step(node, None, lambda: _make_layer(node.type, layer_args, node.name))
        layers[node.name] = layer
    out = _keras_step(node, args, lambda: layer(x, **call_kwargs))
    return _cast_float32(out, node.name) if float32 and node.kind == "share" else out


def _cast_float32(tensor: Any, name: str) -> Any:
    """Casts a floating output that is not float32 (a block's, under a mixed policy)."""
    dtype = getattr(tensor, "dtype", None)
    if dtype is None or dtype == "float32" or not keras.backend.is_float_dtype(dtype):
        return tensor
    return keras.layers.Activation("linear", dtype="float32", name=f"{name}_float32")(tensor)


def _make_layer(type_name: str, args: dict[str, Any], name: str) -> keras.layers.Layer:
    cls = LAYERS.lookup(type_name).resolve()
    for key, value in list(args.items()):
        if isinstance(value, NestedLayer):
            args[key] = _make_layer(value.type, thaw(value.args), f"{name}_{key}")
        elif isinstance(value, list) and value and all(isinstance(v, NestedLayer) for v in value):
            args[key] = [
                _make_layer(v.type, thaw(v.args), f"{name}_{key}_{i}") for i, v in enumerate(value)
            ]
    return cls(name=name, **args)


def _keras_step(node: Node, args: list[Any] | None, step):
    try:
        return step()
    except BlueprintError:
        raise
    except (
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        NotImplementedError,
        AttributeError,
    ) as exc:
        what = "call" if args is not None else "create"
        received = None
        if args is not None:
            shapes = ", ".join(str(tuple(a.shape)) for a in args)
            received = Plain(f"input shape{'s' if len(args) > 1 else ''} {shapes}")
        if node.kind == "block":  # the block's own checks, or a layer inside it
            message = f"{node.type} block '{node.name}' could not be built: {_keras_reason(exc)}"
        else:
            label = (
                f"{node.type} '{node.name}'"
                if node.kind != "share"
                else f"shared layer '{node.name}'"
            )
            message = f"Keras could not {what} {label}: {_keras_reason(exc)}"
        raise BlueprintError(
            message,
            node.location,
            received=received,
            context=node.context,
        ) from exc


def tensor_of(ref: Ref, tensors: Mapping[str, Any]) -> Any:
    """The tensor a reference names among the outputs of :func:`build_tensors`.

    Args:
        ref: A reference to an input or node output (``enc``, ``enc.1``, ``enc.skip``).
        tensors: The outputs of :func:`build_tensors`.

    Returns:
        The symbolic tensor.

    Raises:
        BlueprintError: The reference names no output of that node.
    """
    return _tensor(ref, tensors)


def _tensor(ref: Ref, tensors: Mapping[str, Any]) -> Any:
    if ref.index is not None and str(ref) in tensors:  # one output fed by a model input
        return tensors[str(ref)]
    value = tensors[ref.node]
    if ref.index is None:
        if isinstance(value, list | tuple):
            raise BlueprintError(
                f"'{ref.node}' has {len(value)} outputs; say which one",
                ref.location,
                expected=", ".join(f"{ref.node}.{i}" for i in range(len(value))),
            )
        if isinstance(value, dict):
            raise BlueprintError(
                f"'{ref.node}' has several outputs; say which one",
                ref.location,
                expected=", ".join(f"{ref.node}.{k}" for k in value),
            )
        return value
    if isinstance(value, dict):
        if isinstance(ref.index, int) and 0 <= ref.index < len(value):  # by position
            return list(value.values())[ref.index]
        if ref.index not in value and str(ref.index) not in value:
            raise BlueprintError.unknown_name(
                f"an output of '{ref.node}'", str(ref.index), list(value), ref.location
            )
        return value.get(ref.index, value.get(str(ref.index)))
    if not isinstance(value, list | tuple):
        raise BlueprintError(
            f"'{ref.node}' has a single output; '{ref}' does not exist",
            ref.location,
            hint=f"Refer to it as '{ref.node}'.",
        )
    if not isinstance(ref.index, int) or not 0 <= ref.index < len(value):
        raise BlueprintError(
            f"'{ref.node}' has no output '{ref.index}'",
            ref.location,
            expected=f"an index from 0 to {len(value) - 1}",
        )
    return value[ref.index]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_BOILERPLATE = ("Exception encountered when calling",)
_ARGUMENTS_RECEIVED = "Arguments received by"
MAX_REASON = 1000
"""The most characters of Keras' reason kept in a message."""


def _keras_reason(exc: BaseException) -> str:
    """Keras' whole reason for ``exc``, on one line, without its boilerplate.

    Keras wraps a layer's error in lines that only say where it was raised
    (``Exception encountered when calling Reshape.call().``) and lists the call's
    arguments (``Arguments received by Reshape.call(): ...``, tensors the error
    formula shows as input shapes); those are dropped, terminal colours too, and
    every other line is kept, in order.

    Args:
        exc: What Keras (or a block's own code) raised.

    Returns:
        The reason, at most :data:`MAX_REASON` characters; the first line of the
        message when nothing but boilerplate is left.
    """
    text = _ANSI.sub("", str(exc)).strip() or type(exc).__name__
    kept = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(_ARGUMENTS_RECEIVED):
            break  # the rest lists the call's arguments
        if line and not line.startswith(_BOILERPLATE):
            kept.append(line)
    reason = " ".join(kept) or text.splitlines()[0].strip()
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 3] + "..."

"""What the built model says about each node: output shape, parameters, and a block's layers.

``blueprint plot`` draws a blueprint from its YAML; the built model adds what only
Keras knows: the output shape of every node, the parameters each node holds, and
the layers a Python block (``unet_encoder_level``, ``residual_block``...) created
when it was called. :func:`built_view` builds the tensors once, as the builder does,
and reads each node's share of the graph from a model spanning the node (its
inputs to its outputs), so a block's layers are found by the graph itself, not by
their names. Imports Keras (and TensorFlow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keras_blueprints.resolve.schema import Blueprint, Node, Ref
from keras_blueprints.views.diagram import BlockContents, InnerLayer, shape_text

__all__ = ["BuiltView", "built_view"]


@dataclass(frozen=True)
class BuiltView:
    """What the built model says about a blueprint's inputs and nodes.

    Attributes:
        shapes: Output shape text per input and node name.
        params: Parameters per input and node: a layer's weights, the sum of a
            block's layers', 0 for inputs and for a node reusing another's layer.
            A node whose span Keras cannot isolate is left out.
        blocks: What each Python block built, by node name, for
            ``to_dot(..., expand=...)``.
    """

    shapes: dict[str, str]
    params: dict[str, int]
    blocks: dict[str, BlockContents]


def built_view(blueprint: Blueprint) -> BuiltView:
    """Builds the blueprint's tensors and reads shapes, parameters and block contents.

    Args:
        blueprint: A resolved blueprint.

    Returns:
        The :class:`BuiltView`.

    Raises:
        BlueprintError: Keras refused a layer's arguments or input shapes.
    """
    from keras_blueprints.builders.model import build_tensors

    tensors = build_tensors(blueprint)
    shapes = {name: shape_text(value) for name, value in tensors.items()}
    params = {spec.name: 0 for spec in blueprint.inputs}
    blocks: dict[str, BlockContents] = {}
    for node in blueprint.nodes:
        span = _span(node, tensors)
        if span is None:
            continue
        params[node.name] = 0 if node.kind == "share" else span.params()
        if node.kind == "block" and (contents := span.contents()).layers:
            blocks[node.name] = contents
    return BuiltView(shapes, params, blocks)


@dataclass
class _Span:
    """The graph of one node: a functional model from its inputs to its outputs."""

    calls: list[Any]  # graph nodes with inputs (layer calls), inputs first
    inputs: dict[int, Ref]  # id of a span input tensor -> the reference feeding it
    outputs: list[tuple[int | str | None, Any]]  # (index, tensor of the span model)

    def params(self) -> int:
        layers = {id(call.operation): call.operation for call in self.calls}
        return sum(_count(layer) for layer in layers.values())

    def contents(self) -> BlockContents:
        producer: dict[int, str] = {}  # id of a tensor -> the call computing it
        ids: list[str] = []
        calls_of: dict[int, int] = {}
        layers = []
        for call in self.calls:
            op = call.operation
            calls_of[id(op)] = calls_of.get(id(op), 0) + 1
            call_id = op.name if calls_of[id(op)] == 1 else f"{op.name} (call {calls_of[id(op)]})"
            ids.append(call_id)
            for tensor in call.output_tensors:
                producer[id(tensor)] = call_id
            out = call.output_tensors
            shape = shape_text(out[0]) if len(out) == 1 else shape_text(list(out))
            layers.append(InnerLayer(call_id, op.name, type(op).__name__, shape))
        edges: list[tuple[str, str]] = []
        entries: list[tuple[Ref, str]] = []
        for call, call_id in zip(self.calls, ids, strict=True):
            for tensor in call.input_tensors:
                if id(tensor) in producer:
                    edges.append((producer[id(tensor)], call_id))
                elif id(tensor) in self.inputs:
                    entries.append((self.inputs[id(tensor)], call_id))
        exits: list[tuple[int | str | None, str | Ref]] = []
        for index, tensor in self.outputs:
            if id(tensor) in producer:
                exits.append((index, producer[id(tensor)]))
            elif id(tensor) in self.inputs:
                exits.append((index, self.inputs[id(tensor)]))
        return BlockContents(
            tuple(layers),
            tuple(dict.fromkeys(edges)),  # a layer reading one tensor twice: one edge
            tuple(dict.fromkeys(entries)),
            tuple(exits),
        )


def _count(layer: Any) -> int:
    try:
        return int(layer.count_params())
    except (ValueError, AttributeError):  # a layer never built; an operation (no weights)
        return 0


def _refs(node: Node) -> list[Ref]:
    refs = list(node.inputs)
    for value in node.call_inputs.values():
        refs.extend(value if isinstance(value, tuple) else (value,))
    return refs


def _outputs(value: Any) -> list[tuple[int | str | None, Any]]:
    """A node's output tensors, each with every index a reference may name it by."""
    if isinstance(value, Mapping):
        items = list(value.items())
        return [*items, *((i, t) for i, (_, t) in enumerate(items))]
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    return [(None, value)]


def _span(node: Node, tensors: Mapping[str, Any]) -> _Span | None:
    """The functional model from a node's input tensors to its outputs, or None.

    Keras rebuilds the calls between intermediate tensors on fresh inputs
    (the same layer objects, new graph nodes), as it does for any model cut from
    another; a node whose outputs do not depend on its inputs alone has no span.
    """
    import keras

    from keras_blueprints._compat.keras import functional_graph, nodes_in_order
    from keras_blueprints.builders.model import tensor_of

    span: list[Any] = []
    feeds: list[Ref] = []
    for ref in _refs(node):
        tensor = tensor_of(ref, tensors)
        if all(tensor is not seen for seen in span):
            span.append(tensor)
            feeds.append(ref)
    outputs = _outputs(tensors[node.name])
    flat = list({id(t): t for _, t in outputs}.values())
    try:
        model = keras.Model(
            span if len(span) != 1 else span[0], flat if len(flat) != 1 else flat[0]
        )
    except Exception:  # a graph Keras cannot cut at the node's inputs: left out
        return None
    graph = functional_graph(model)
    if graph is None:
        return None
    cut = dict(zip((id(t) for t in flat), model.outputs, strict=True))
    return _Span(
        calls=[call for call in nodes_in_order(graph) if call.input_tensors],
        inputs={id(t): ref for t, ref in zip(model.inputs, feeds, strict=True)},
        outputs=[(index, cut[id(t)]) for index, t in outputs],
    )

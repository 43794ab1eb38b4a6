"""Architecture diagrams: a resolved :class:`Blueprint` as Graphviz DOT text.

:func:`to_dot` is a pure function of the blueprint (and, optionally, of the
output shape of each node), so it needs neither TensorFlow nor Graphviz; only
:func:`output_shapes` builds the model, and only ``blueprint plot`` runs the
``dot`` program to render the text.

What the diagram shows:

* inputs as ellipses, graph nodes as boxes labelled with name, type and
  (when known) output shape; Python blocks are drawn as 3-D boxes, nodes that
  reuse another node's layer (``share:``) with a dashed outline;
* one edge per reference: positional inputs plain (labelled with the output
  index for ``node.1``), keyword call inputs labelled with the keyword, and a
  dashed ``shares`` edge from a layer to each node reusing it;
* the model's outputs with a double outline;
* the nodes of each YAML block instance inside a cluster named after the
  instance, nested as the instances are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keras_blueprints.resolve.schema import Blueprint, InputSpec, Node, Ref

__all__ = ["block_path", "format_shape", "output_shapes", "to_dot"]

FONT = "Helvetica"
_BLOCK_CONTEXT = re.compile(r"in block '([^']+)'")

# Node styles by kind; inputs have their own.
_STYLES: Mapping[str, str] = {
    "input": 'shape=ellipse, style=filled, fillcolor="#dbe8fb"',
    "layer": 'shape=box, style="rounded,filled", fillcolor="#ffffff"',
    "block": 'shape=box3d, style=filled, fillcolor="#fdecd2"',
    "share": 'shape=box, style="rounded,filled,dashed", fillcolor="#f3f3f3"',
}


def _quote(text: str) -> str:
    r"""Returns ``text`` as a double-quoted DOT string (``"`` and ``\`` escaped).

    Args:
        text: Any text; a newline becomes DOT's centred line break ``\n``.

    Returns:
        The quoted string.
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def format_shape(shape: Sequence[int | None]) -> str:
    """Formats a tensor shape as Keras prints it: ``(None, 28, 28, 6)``, ``(None,)``.

    Args:
        shape: Dimensions, None for an unknown one.

    Returns:
        The shape in parentheses.
    """
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def block_path(node: Node) -> tuple[str, ...]:
    """Returns the YAML block instances a node belongs to, outermost first.

    The resolver records them in ``Node.context``, innermost first:
    ``"in block 'res_deeper', in block 'res'"`` gives ``('res', 'res_deeper')``.

    Args:
        node: A resolved node.

    Returns:
        Full instance names (each also the prefix of the names of its nodes).
    """
    if not node.context:
        return ()
    return tuple(reversed(_BLOCK_CONTEXT.findall(node.context)))


@dataclass
class _Cluster:
    name: str
    label: str
    members: list[str] = field(default_factory=list)
    children: dict[str, _Cluster] = field(default_factory=dict)


RANKDIRS = ("TB", "LR", "BT", "RL")
"""Graphviz's layout directions: top to bottom, left to right, and their reverses."""


def to_dot(
    blueprint: Blueprint,
    shapes: Mapping[str, str] | None = None,
    *,
    rankdir: str = "TB",
    dpi: int | None = None,
    arguments: bool = False,
) -> str:
    """Returns the Graphviz DOT text of a blueprint's architecture.

    Args:
        blueprint: A resolved blueprint.
        shapes: Output shape text per input and node name (see
            :func:`output_shapes`); None leaves shapes out of the labels.
        rankdir: The layout direction, one of :data:`RANKDIRS`.
        dpi: Dots per inch of rendered bitmaps; None keeps Graphviz's default.
        arguments: Whether node labels show the :data:`KEY_ARGUMENTS` they set.

    Raises:
        ValueError: ``rankdir`` is not one of :data:`RANKDIRS`, or ``dpi`` is not positive.

    Returns:
        A ``digraph`` named after the blueprint, ending with a newline.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(
            f"Expected rankdir in {', '.join(RANKDIRS)}. Received: rankdir={rankdir!r}"
        )
    if dpi is not None and dpi <= 0:
        raise ValueError(f"Expected a positive integer for 'dpi'. Received: dpi={dpi}")
    dpi_attr = "" if dpi is None else f", dpi={dpi}"
    lines = [
        f"digraph {_quote(blueprint.name)} {{",
        f'  graph [rankdir={rankdir}{dpi_attr}, fontname="{FONT}", label={_quote(blueprint.name)}, '
        "labelloc=t, fontsize=14, nodesep=0.3, ranksep=0.35];",
        f'  node [fontname="{FONT}", fontsize=11, margin="0.15,0.06"];',
        f'  edge [fontname="{FONT}", fontsize=9, color="#555555"];',
    ]
    outputs = {ref.node for ref in blueprint.outputs}
    for spec in blueprint.inputs:
        lines.append(f"  {_input_stmt(spec, shapes, spec.name in outputs)}")
    root = _Cluster("", "")
    for node in blueprint.nodes:
        cluster = root
        for instance in block_path(node):
            if instance not in cluster.children:
                label = instance.removeprefix(f"{cluster.name}_") if cluster.name else instance
                cluster.children[instance] = _Cluster(instance, label)
            cluster = cluster.children[instance]
        cluster.members.append(_node_stmt(node, shapes, node.name in outputs, arguments))
    lines.extend(f"  {stmt}" for stmt in root.members)
    for child in root.children.values():
        lines.extend(_cluster_lines(child, "  "))
    for node in blueprint.nodes:
        lines.extend(f"  {edge}" for edge in _edges(node))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _cluster_lines(cluster: _Cluster, indent: str) -> list[str]:
    inner = indent + "  "
    lines = [
        f"{indent}subgraph {_quote('cluster_' + cluster.name)} {{",
        f'{inner}label={_quote(cluster.label)}; style="rounded,dashed"; color="#999999"; '
        "fontsize=11; labeljust=l;",
    ]
    lines.extend(f"{inner}{stmt}" for stmt in cluster.members)
    for child in cluster.children.values():
        lines.extend(_cluster_lines(child, inner))
    lines.append(f"{indent}}}")
    return lines


def _attrs(label: str, kind: str, is_output: bool) -> str:
    extra = ", peripheries=2" if is_output else ""
    return f"[label={_quote(label)}, {_STYLES[kind]}{extra}]"


def _input_stmt(spec: InputSpec, shapes: Mapping[str, str] | None, is_output: bool) -> str:
    label = f"{spec.name}\nInput"
    if shapes is not None:
        label += f"\n{shapes.get(spec.name, '?')}"
    return f"{_quote(spec.name)} {_attrs(label, 'input', is_output)};"


KEY_ARGUMENTS = ("filters", "units", "kernel_size", "strides", "pool_size", "activation")
"""The arguments ``to_dot(..., arguments=True)`` shows in a node, in this order."""


def key_arguments(node: Node) -> str:
    """Returns the node's key arguments as ``name=value`` text, ``", "``-separated.

    Args:
        node: A resolved node.

    Returns:
        The :data:`KEY_ARGUMENTS` the node sets (None values left out), or ``""``.
    """
    shown = [
        f"{name}={_compact(node.args[name])}"
        for name in KEY_ARGUMENTS
        if node.args.get(name) is not None
    ]
    return ", ".join(shown)


def _compact(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "x".join(str(item) for item in value)
    return str(value)


def _node_stmt(
    node: Node, shapes: Mapping[str, str] | None, is_output: bool, arguments: bool = False
) -> str:
    kind = node.kind if node.kind in _STYLES else "layer"
    label = f"{node.name}\n{node.type}"
    if node.kind == "share":
        label += f" (shared with {node.share})"
    if arguments and (text := key_arguments(node)):
        label += f"\n{text}"
    if shapes is not None:
        label += f"\n{shapes.get(node.name, '?')}"
    return f"{_quote(node.name)} {_attrs(label, kind, is_output)};"


def _edge(ref: Ref, target: str, label: str | None = None, style: str | None = None) -> str:
    attrs = []
    text = label if label is not None else (None if ref.index is None else str(ref.index))
    if text is not None:
        attrs.append(f"label={_quote(text)}")
    if style:
        attrs.append(style)
    tail = f" [{', '.join(attrs)}]" if attrs else ""
    return f"{_quote(ref.node)} -> {_quote(target)}{tail};"


def _edges(node: Node) -> list[str]:
    edges = [_edge(ref, node.name) for ref in node.inputs]
    for keyword, value in node.call_inputs.items():
        for ref in value if isinstance(value, tuple) else (value,):
            suffix = "" if ref.index is None else f" ({ref.index})"
            edges.append(_edge(ref, node.name, f"{keyword}{suffix}", "style=bold"))
    if node.kind == "share" and node.share is not None:
        style = 'style=dashed, color="#999999", arrowhead=empty'
        edges.append(_edge(Ref(node.share), node.name, "shares", style))
    return edges


def output_shapes(blueprint: Blueprint) -> dict[str, str]:
    """Builds the blueprint's tensors and returns the output shape of every input and node.

    The tensors are built node by node with the same code as
    :func:`keras_blueprints.builders.model.build_model`, so the shapes are
    those of the built model; this also gives the shape of nodes that have no
    layer of their own name: Python blocks and nodes reusing a shared layer.
    Imports Keras (and TensorFlow).

    Args:
        blueprint: A resolved blueprint.

    Returns:
        Shape text per name, e.g. ``{"c1": "(None, 28, 28, 6)"}``; a node with
        several outputs gets a bracketed list of shapes.

    Raises:
        BlueprintError: Keras refused a layer's arguments or input shapes.
    """
    from keras_blueprints.builders.model import build_tensors

    tensors = build_tensors(blueprint)
    return {name: _shape_text(value) for name, value in tensors.items()}


def _shape_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_shape_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shape_text(v) for v in value) + "]"
    return format_shape(tuple(value.shape))

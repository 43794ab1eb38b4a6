"""Architecture diagrams: a resolved :class:`Blueprint` as Graphviz DOT text.

:func:`to_dot` is a pure function of the blueprint (and, optionally, of the
output shape of each node and of what each Python block built), so it needs
neither TensorFlow nor Graphviz; only :func:`output_shapes` and
:func:`keras_blueprints.views.built.built_view` build the model, and only
``blueprint plot`` runs the ``dot`` program to render the text.

What the diagram shows:

* inputs as ellipses, graph nodes as boxes labelled with name, type and
  (when known) output shape; Python blocks are drawn as 3-D boxes, nodes that
  reuse another node's layer (``share:``) with a dashed outline;
* one edge per reference: positional inputs plain (labelled with the output
  index for ``node.1``), keyword call inputs labelled with the keyword, and a
  dashed ``shares`` edge from a layer to each node reusing it;
* the model's outputs with a double outline;
* the nodes of each YAML block instance inside a cluster named after the
  instance, nested as the instances are;
* with ``expand`` (``blueprint plot --expand``), each Python block as a cluster
  of the Keras layers it built, with the edges between them: an edge into the
  block goes to the layers that read that input, an edge out of it leaves from
  the layer that computed that output. The layers are read from the built model
  by :func:`keras_blueprints.views.built.built_view`; :func:`to_dot` only gets
  the result (:class:`BlockContents`), so it stays pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keras_blueprints.resolve.schema import Blueprint, InputSpec, Node, Ref

__all__ = [
    "BlockContents",
    "InnerLayer",
    "block_path",
    "format_shape",
    "output_shapes",
    "shape_text",
    "to_dot",
]

FONT = "Helvetica"
_BLOCK_CONTEXT = re.compile(r"in block '([^']+)'")

# Node styles by kind; inputs have their own.
_STYLES: Mapping[str, str] = {
    "input": 'shape=ellipse, style=filled, fillcolor="#dbe8fb"',
    "layer": 'shape=box, style="rounded,filled", fillcolor="#ffffff"',
    "block": 'shape=box3d, style=filled, fillcolor="#fdecd2"',
    "share": 'shape=box, style="rounded,filled,dashed", fillcolor="#f3f3f3"',
}
_EXPANDED_CLUSTER = 'style="rounded,filled"; fillcolor="#fff7ec"; color="#d9a35b"'
_TABLE = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'


@dataclass(frozen=True)
class InnerLayer:
    """One call of a Keras layer inside a Python block.

    Attributes:
        id: Unique within the block: the layer's name, with `` (call N)`` added
            for the second and later calls of a layer the block calls again.
        name: The Keras layer's name (the block's node name is its prefix).
        type: The layer's class name.
        shape: Its output shape text, or None when unknown.
    """

    id: str
    name: str
    type: str
    shape: str | None = None


@dataclass(frozen=True)
class BlockContents:
    """What one Python block built, as :func:`to_dot` draws it expanded.

    Attributes:
        layers: The block's layer calls, inputs first.
        edges: ``(from, to)`` between :attr:`InnerLayer.id` of this block.
        entries: ``(ref, layer id)``: the block's input ``ref`` is read by that layer.
        exits: ``(index, source)`` for every output: ``index`` as a reference to
            the block names it (None for a single output, a position, a key), and
            ``source`` the id of the layer computing it, or the block's input
            :class:`Ref` that the output passes on unchanged.
    """

    layers: tuple[InnerLayer, ...]
    edges: tuple[tuple[str, str], ...] = ()
    entries: tuple[tuple[Ref, str], ...] = ()
    exits: tuple[tuple[int | str | None, str | Ref], ...] = ()

    def exit(self, index: int | str | None) -> str | Ref | None:
        """The layer id (or the passed-on input) of output ``index``; None if unknown."""
        for key, source in self.exits:
            if key == index or (index is not None and str(key) == str(index)):
                return source
        return None


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
    members: list[list[str]] = field(default_factory=list)  # statements, each its lines
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
    expand: Mapping[str, BlockContents] | None = None,
) -> str:
    """Returns the Graphviz DOT text of a blueprint's architecture.

    Args:
        blueprint: A resolved blueprint.
        shapes: Output shape text per input and node name (see
            :func:`output_shapes`); None leaves shapes out of the labels.
        rankdir: The layout direction, one of :data:`RANKDIRS`.
        dpi: Dots per inch of rendered bitmaps; None keeps Graphviz's default.
        arguments: Whether node labels show the :data:`KEY_ARGUMENTS` they set.
        expand: What each Python block built, by node name (see
            :func:`keras_blueprints.views.built.built_view`): those blocks are
            drawn as clusters of their layers, named ``NODE/LAYER``. None (or a
            block left out) draws a block as one box.

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
    expand = {
        node.name: expand[node.name]
        for node in blueprint.nodes
        if expand and node.kind == "block" and node.name in expand and expand[node.name].layers
    }
    dpi_attr = "" if dpi is None else f", dpi={dpi}"
    lines = [
        f"digraph {_quote(blueprint.name)} {{",
        f'  graph [rankdir={rankdir}{dpi_attr}, fontname="{FONT}", label={_quote(blueprint.name)}, '
        "labelloc=t, fontsize=14, nodesep=0.3, ranksep=0.35];",
        f'  node [fontname="{FONT}", fontsize=11, margin="0.15,0.06"];',
        f'  edge [fontname="{FONT}", fontsize=9, color="#555555"];',
    ]
    outputs = {_source(ref, expand)[0] for ref in blueprint.outputs}
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
        if node.name in expand:
            cluster.members.append(_expanded_lines(node, expand[node.name], outputs))
        else:
            cluster.members.append([_node_stmt(node, shapes, node.name in outputs, arguments)])
    lines.extend(f"  {line}" for stmt in root.members for line in stmt)
    for child in root.children.values():
        lines.extend(_cluster_lines(child, "  "))
    for node in blueprint.nodes:
        lines.extend(f"  {edge}" for edge in _edges(node, expand))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _cluster_lines(cluster: _Cluster, indent: str) -> list[str]:
    inner = indent + "  "
    lines = [
        f"{indent}subgraph {_quote('cluster_' + cluster.name)} {{",
        f'{inner}label={_quote(cluster.label)}; style="rounded,dashed"; color="#999999"; '
        "fontsize=11; labeljust=l;",
    ]
    lines.extend(f"{inner}{line}" for stmt in cluster.members for line in stmt)
    for child in cluster.children.values():
        lines.extend(_cluster_lines(child, inner))
    lines.append(f"{indent}}}")
    return lines


def _inner_id(node: str, layer: str) -> str:
    """The DOT name of a layer drawn inside an expanded block: ``NODE/LAYER``."""
    return f"{node}/{layer}"


def _expanded_lines(node: Node, contents: BlockContents, outputs: set[str]) -> list[str]:
    """The cluster of a Python block drawn with the layers it built."""
    lines = [
        f"subgraph {_quote('cluster_' + node.name)} {{",
        f"  label={_quote(f'{node.name}: {node.type}')}; {_EXPANDED_CLUSTER}; "
        "fontsize=11; labeljust=l;",
    ]
    for layer in contents.layers:
        dot_id = _inner_id(node.name, layer.id)
        label = [layer.id.removeprefix(node.name + "_"), layer.type]
        if layer.shape is not None:
            label.append(layer.shape)
        lines.append(f"  {_quote(dot_id)} {_attrs(label, 'layer', dot_id in outputs)};")
    lines.extend(
        f"  {_quote(_inner_id(node.name, a))} -> {_quote(_inner_id(node.name, b))};"
        for a, b in contents.edges
    )
    lines.append("}")
    return lines


def _html(text: str) -> str:
    """Escapes text for a Graphviz HTML-like label: ``&``, ``<``, ``>`` and ``"`` as entities."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _html_label(lines: Sequence[str]) -> str:
    """A node label of lines, as a Graphviz HTML-like label: a table, one row a line.

    A plain label's lines are set one font height apart, so the underscores of a
    name (``res_block_1_conv``) touch the line under it; a table row is as tall as
    its text plus its padding. The first line (the name) is in the node's font,
    the others a point smaller. Every line is escaped (:func:`_html`): a name
    cannot add markup or leave the label.

    Args:
        lines: The label's lines, the node's name first.

    Returns:
        ``<<TABLE ...>...</TABLE>>``, to stand after ``label=`` unquoted.
    """
    rows = [f"<TR><TD>{_html(lines[0])}</TD></TR>"]
    rows += [f'<TR><TD><FONT POINT-SIZE="10">{_html(line)}</FONT></TD></TR>' for line in lines[1:]]
    return f"<{_TABLE}{''.join(rows)}</TABLE>>"


def _attrs(lines: Sequence[str], kind: str, is_output: bool) -> str:
    extra = ", peripheries=2" if is_output else ""
    return f"[label={_html_label(lines)}, {_STYLES[kind]}{extra}]"


def _input_stmt(spec: InputSpec, shapes: Mapping[str, str] | None, is_output: bool) -> str:
    lines = [spec.name, "Input"]
    if shapes is not None:
        lines.append(shapes.get(spec.name, "?"))
    return f"{_quote(spec.name)} {_attrs(lines, 'input', is_output)};"


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
    kind_text = node.type if node.kind != "share" else f"{node.type} (shared with {node.share})"
    lines = [node.name, kind_text]
    if arguments and (text := key_arguments(node)):
        lines.append(text)
    if shapes is not None:
        lines.append(shapes.get(node.name, "?"))
    return f"{_quote(node.name)} {_attrs(lines, kind, is_output)};"


def _source(ref: Ref, expand: Mapping[str, BlockContents]) -> tuple[str, str | None]:
    """The DOT node an edge for ``ref`` leaves from, and its output index label.

    A reference to an expanded block leaves from the layer computing that
    output (no index label: the layer says which output it is); an output the
    block passes on unchanged leaves from where that input came from.
    """
    seen: set[str] = set()
    while ref.node in expand and ref.node not in seen:
        seen.add(ref.node)
        found = expand[ref.node].exit(ref.index)
        if found is None:
            break
        if isinstance(found, str):
            return _inner_id(ref.node, found), None
        ref = found
    return ref.node, None if ref.index is None else str(ref.index)


def _edge(
    ref: Ref,
    target: str,
    expand: Mapping[str, BlockContents],
    label: str | None = None,
    style: str | None = None,
) -> str:
    source, index = _source(ref, expand)
    attrs = []
    text = label if label is not None else index
    if text is not None:
        attrs.append(f"label={_quote(text)}")
    if style:
        attrs.append(style)
    tail = f" [{', '.join(attrs)}]" if attrs else ""
    return f"{_quote(source)} -> {_quote(target)}{tail};"


def _edges(node: Node, expand: Mapping[str, BlockContents]) -> list[str]:
    contents = expand.get(node.name)

    def targets(ref: Ref) -> list[str]:
        if contents is None:
            return [node.name]
        return [_inner_id(node.name, layer) for entry, layer in contents.entries if entry == ref]

    edges = [_edge(ref, target, expand) for ref in node.inputs for target in targets(ref)]
    for keyword, value in node.call_inputs.items():
        for ref in value if isinstance(value, tuple) else (value,):
            suffix = "" if ref.index is None else f" ({ref.index})"
            edges.extend(
                _edge(ref, target, expand, f"{keyword}{suffix}", "style=bold")
                for target in targets(ref)
            )
    if node.kind == "share" and node.share is not None:
        style = 'style=dashed, color="#999999", arrowhead=empty'
        edges.append(_edge(Ref(node.share), node.name, expand, "shares", style))
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
    return {name: shape_text(value) for name, value in tensors.items()}


def shape_text(value: Any) -> str:
    """The shape text of a tensor, or of a list or mapping of tensors.

    Args:
        value: A tensor (anything with ``shape``), or a list, tuple or mapping of them.

    Returns:
        ``(None, 8)``; ``[(None, 4), (None, 4)]``; ``{skip: (None, 8), pooled: (None, 4)}``.
    """
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {shape_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(shape_text(v) for v in value) + "]"
    return format_shape(tuple(value.shape))

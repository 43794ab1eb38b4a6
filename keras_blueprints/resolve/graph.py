"""The graph being resolved: pending nodes and scopes, and the checks on the whole graph.

Nodes are collected as :class:`PendingNode` while the YAML graph is expanded;
once every name is known, their references are linked, and :func:`check_graph`
orders them topologically (forward references are allowed), reports cycles,
unused nodes and unused inputs, and freezes them into
:class:`~keras_blueprints.resolve.schema.Node`.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from keras_blueprints._core.errors import BlueprintError, ErrorCollector, Location, Plain
from keras_blueprints.catalog.components import LAYERS, BlockParam, LayerEntry
from keras_blueprints.resolve.schema import InputSpec, Node, Ref, freeze
from keras_blueprints.resolve.values import Where

__all__ = [
    "POISONED",
    "BlockDef",
    "NodeInput",
    "PendingNode",
    "Scope",
    "Skip",
    "check_call_keys",
    "check_graph",
]

POISONED = Ref("<error>")
"""Stands for the output of a node that failed to resolve (its error is already reported)."""


class Skip(Exception):
    """Raised for a node that only depends on a node whose error is already reported."""


class NodeInput(NamedTuple):
    """One input of a node: the reference as written, or the known previous node."""

    text: str
    where: Where
    ref: Ref | None = None  # set for the implicit input (the previous node)


@dataclass
class BlockDef:
    """A block declared in YAML."""

    name: str
    params: dict[str, BlockParam]
    inputs: tuple[str, ...]
    graph: list[Any]
    outputs: Any
    where: Where


@dataclass
class PendingNode:
    """A node whose references are not resolved yet."""

    name: str
    kind: str
    type: str
    args: dict[str, Any]
    inputs: list[NodeInput]
    call_inputs: dict[str, NodeInput | list[NodeInput]]
    share: tuple[str, Where] | None
    where: Where
    arg_locs: dict[str, Location]
    scope: Scope
    context: str | None
    resolved_inputs: tuple[Ref, ...] = ()
    resolved_call: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scope:
    """Names visible in one graph: the top level, or one block instance."""

    prefix: str
    names: dict[str, Ref | dict[str, Ref]]
    context: str | None
    members: list[PendingNode] = field(default_factory=list)


def check_call_keys(entry: LayerEntry, call_inputs: Mapping[str, Any], fw: Where, context) -> None:
    """Refuses keyword inputs (``from: {initial_state: ...}``) that the layer's call lacks."""
    for key in call_inputs:
        if key not in entry.call_params:
            raise BlueprintError.unknown_name(
                f"a call input of {entry.name}",
                key,
                ["inputs", *entry.call_params],
                (fw / key).key_loc,
                context=context,
                ordered=True,
            )


def check_graph(
    pending: list[PendingNode],
    inputs: tuple[InputSpec, ...],
    outputs: list[Ref],
    errors: ErrorCollector,
) -> tuple[Node, ...]:
    """Orders the nodes, finds cycles, unused nodes and unused inputs; freezes the nodes.

    Args:
        pending: Every node, references linked.
        inputs: The model inputs.
        outputs: The model outputs.
        errors: Where independent errors go (raised at the end).

    Returns:
        The nodes in a valid build order.

    Raises:
        BlueprintError: Every problem found.
    """
    by_name = {p.name: p for p in pending}
    for p in pending:
        if p.kind == "share":
            target_name, sw = p.share
            target = by_name.get(target_name)
            if target is None or target.kind != "layer":
                errors.add(
                    BlueprintError(
                        f"'share' must name a layer node; '{target_name}' is "
                        + ("an input" if target is None else f"a {target.kind}"),
                        sw.loc,
                    )
                )
                continue
            p.type = target.type
            try:
                check_call_keys(LAYERS.lookup(p.type), p.call_inputs, p.where / "from", p.context)
            except BlueprintError as err:
                errors.add(err)
    errors.raise_if_any()
    # Topological order (Kahn), so forward references are allowed and cycles are found.
    known = by_name.keys()  # not a set per node: that made 100k nodes take minutes
    deps = {
        p.name: {r.node for r in (*p.resolved_inputs, *flat_refs(p.resolved_call))} & known
        for p in pending
    }
    for p in pending:
        if p.kind == "share":
            deps[p.name].add(p.share[0])
    order: list[str] = []
    ready = collections.deque(p.name for p in pending if not deps[p.name])
    remaining = {k: set(v) for k, v in deps.items()}
    users: dict[str, list[str]] = {}
    for k, v in deps.items():
        for d in v:
            users.setdefault(d, []).append(k)
    while ready:
        n = ready.popleft()
        order.append(n)
        for u in users.get(n, []):
            remaining[u].discard(n)
            if not remaining[u]:
                ready.append(u)
    if len(order) < len(pending):
        ordered = set(order)
        stuck = [p for p in pending if p.name not in ordered]
        cycle = find_cycle({p.name: remaining[p.name] for p in stuck})
        cycle = [cycle[0], *reversed(cycle[1:])]  # show it in data-flow order
        first = by_name[cycle[0]]
        raise BlueprintError(
            "the graph has a cycle",
            first.where.loc,
            received=Plain(" -> ".join([*cycle, cycle[0]])),
            hint="A node cannot take its input, directly or not, from itself.",
        )
    # Unused nodes and inputs: everything must flow to an output.
    needed: set[str] = set()
    stack = [r.node for r in outputs]
    while stack:
        n = stack.pop()
        if n in needed:
            continue
        needed.add(n)
        stack.extend(deps.get(n, ()))
        node = by_name.get(n)
        if node is not None:
            stack.extend(r.node for r in (*node.resolved_inputs, *flat_refs(node.resolved_call)))
    for p in pending:
        if p.name not in needed:
            errors.add(
                BlueprintError(
                    f"node '{p.name}' is not used",
                    p.where.loc,
                    context=p.context,
                    hint="Nothing takes its output and it is not a model output: list it under"
                    " 'outputs' (or a 'models:' entry's outputs) or remove it.",
                )
            )
    for spec in inputs:
        if spec.name not in needed:
            errors.add(
                BlueprintError(
                    f"input '{spec.name}' is not used",
                    spec.location,
                    hint="Remove it, or take it with  from: " + spec.name,
                )
            )
    return tuple(freeze_node(by_name[n]) for n in order)


def freeze_node(p: PendingNode) -> Node:
    return Node(
        name=p.name,
        kind=p.kind,
        type=p.type,
        args=freeze(p.args),
        inputs=p.resolved_inputs,
        call_inputs=freeze(p.resolved_call),
        share=p.share[0] if p.share else None,
        location=p.where.loc,
        arg_locations=freeze(p.arg_locs),
        context=p.context,
    )


def flat_refs(call: Mapping[str, Any]) -> list[Ref]:
    out = []
    for v in call.values():
        out.extend(v if isinstance(v, tuple | list) else [v])
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    start = next(iter(graph))
    path, seen = [start], {start}
    while True:
        nxt = next(iter(sorted(graph[path[-1]] & set(graph))))
        if nxt in seen:
            return path[path.index(nxt) :]
        path.append(nxt)
        seen.add(nxt)

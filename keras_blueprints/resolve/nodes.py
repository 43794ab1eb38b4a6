"""Graph entries: nodes, groups, ``when:`` and ``repeat:``, and the names nodes get.

:class:`Expansion` walks a YAML graph (the blueprint's, or a block's body) and
collects :class:`~keras_blueprints.resolve.graph.PendingNode`: a layer node, a
Python block node, a ``share:`` node, or a YAML block instance expanded in
place (:mod:`.blocks`). Every node gets a unique name (:class:`NodeNames`):
its own, or ``dense``, ``dense_1``... like Keras. Errors in one node are
collected and the walk goes on: a node that fails is *poisoned* (its name stands
for the failure, ``POISONED``), and a node fed by it still has its own arguments
checked, while its input adds no knock-on error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keras_blueprints._core.errors import (
    BlueprintError,
    ErrorCollector,
    Location,
    Plain,
    did_you_mean,
)
from keras_blueprints.catalog.components import BLOCKS, LAYERS, refused_layer_reason, snake_case
from keras_blueprints.loading.document import CONTROL_KEYS, ComposedDocument
from keras_blueprints.loading.expressions import ShapeOf
from keras_blueprints.resolve.arguments import layer_arguments
from keras_blueprints.resolve.blocks import expand_block, python_block_node
from keras_blueprints.resolve.conditions import conditions_of
from keras_blueprints.resolve.graph import (
    POISONED,
    BlockDef,
    PendingNode,
    Scope,
    Skip,
    check_call_keys,
)
from keras_blueprints.resolve.references import input_ref, node_inputs, read_refs
from keras_blueprints.resolve.schema import Ref
from keras_blueprints.resolve.shapes import LoadShapes
from keras_blueprints.resolve.spaces import Condition
from keras_blueprints.resolve.values import NAME_RE, Where, substitute_at

__all__ = ["MAX_NODES", "MAX_REPEAT", "Expansion", "NodeNames"]

MAX_REPEAT = 10_000
# A node's own name in a block instance: its full name (prefixed) must match NAME_RE.
LOCAL_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
MAX_NODES = 100_000


@dataclass
class NodeNames:
    """The node names given so far, and the next automatic suffix of each base name.

    Attributes:
        taken: Full name -> where it was given.
        suffixes: Automatic base name -> the last suffix given.
    """

    taken: dict[str, Location] = field(default_factory=dict)
    suffixes: dict[str, int] = field(default_factory=dict)

    def claim(self, explicit: Any, type_name: str, w: Where, scope: Scope) -> str:
        """Gives the node at ``w`` its name, and names it in ``scope``.

        Args:
            explicit: The name written (``name:``), or None for an automatic one.
            type_name: The layer or block, for an automatic name (``dense_2``).
            w: Where the node stands.
            scope: Its scope (the name is prefixed with the scope's).

        Returns:
            The full name.

        Raises:
            BlueprintError: An invalid or duplicate name.
        """
        if explicit is not None:
            # Inside a block instance the layer's name is the prefixed one: check that, so
            # ``0_conv`` in ``conv2_block1`` gives ``conv2_block1_0_conv`` (as Keras names).
            if not isinstance(explicit, str) or not _valid_local(scope.prefix, explicit):
                raise BlueprintError(
                    "a node name must be letters, digits, '_' or '-', not starting with a digit",
                    (w / "name").loc,
                    received=explicit,
                    hint="Inside a block, the full name (the instance's prefix, then the"
                    " node's name) must not start with a digit."
                    if scope.prefix
                    else None,
                )
            local = explicit
            full = scope.prefix + explicit
            if full in self.taken or local in scope.names:
                first = self.taken.get(full) or Location("<unknown>")
                raise BlueprintError(
                    f"duplicate node name '{full}'",
                    (w / "name").loc,
                    hint=f"It is already used at {first}. Names must be unique; inside a"
                    " repeat, make them differ with ${i}.",
                )
        else:
            base = scope.prefix + snake_case(type_name)
            # The first free suffix only grows (names are never given back): start from the
            # last one found, or naming 100k nodes of one type probes 10**10 names.
            full, n = base, self.suffixes.get(base, 0)
            if n:
                full = f"{base}_{n}"
            while full in self.taken:
                n += 1
                full = f"{base}_{n}"
            self.suffixes[base] = n
            local = full[len(scope.prefix) :]
        self.taken[full] = w.loc
        scope.names[local] = Ref(full, location=w.loc)
        return full


@dataclass
class Expansion:
    """One expansion of a blueprint's graph: what it knows, and what it collects.

    Attributes:
        doc: The composed document.
        env: The blueprint's parameters (a block's body sees them, and its arguments).
        blocks: The YAML blocks by name.
        errors: Where independent errors go.
        pending: Every node so far, in the order met.
        names: The names given so far.
        expanding: The YAML blocks being expanded (to refuse recursion).
        shapes: The shapes ``shape("NAME")`` reads (model inputs, then nodes as met).
    """

    doc: ComposedDocument
    env: Mapping[str, Any]
    blocks: Mapping[str, BlockDef]
    errors: ErrorCollector
    pending: list[PendingNode] = field(default_factory=list)
    names: NodeNames = field(default_factory=NodeNames)
    expanding: list[str] = field(default_factory=list)
    shapes: LoadShapes = field(default_factory=LoadShapes)

    def sequence(
        self,
        items: list[Any],
        where: Where,
        env: Mapping[str, Any],
        scope: Scope,
        previous: Ref | None,
    ) -> Ref | None:
        """Expands a list of graph entries, each fed by the one before by default.

        Args:
            items: The entries as written.
            where: Where the list stands (its context holds for every entry).
            env: The values in scope.
            scope: The scope the nodes are named in.
            previous: What feeds the first entry (None: nothing; ``POISONED``: a failure).

        Returns:
            The last node, ``POISONED`` if it failed, or None for an empty list.
        """
        for i, item in enumerate(items):
            try:
                previous = self.item(item, where / i, env, scope, previous)
            except Skip:
                previous = POISONED
            except BlueprintError as err:
                self.errors.add(err)
                if isinstance(item, dict):  # its 'when:' or 'repeat:' failed: so did its name
                    self.poison(item, where / i, env, scope)
                previous = POISONED  # the next node's input is unknown: do not report it too
        return previous

    def item(
        self, item: Any, w: Where, env: Mapping[str, Any], scope: Scope, previous: Ref | None
    ) -> Ref | None:
        """Expands one entry: applies its ``when:`` and ``repeat:``, then the node or group."""
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict):
            raise BlueprintError(
                "a graph node must be a layer or block name, or a mapping",
                w.loc,
                received=item if not isinstance(item, list) else Plain("a list"),
                hint="For example:  - Dense: {units: 64}",
            )
        conditions: list[Condition] = []
        if "when" in item:
            cond = substitute_at(item["when"], env, w / "when", self.shape_of(scope, w))
            if not isinstance(cond, bool):
                raise BlueprintError(
                    "'when' must be true or false", (w / "when").loc, received=cond
                )
            if not cond:
                return previous
            conditions += conditions_of(item["when"], env, w / "when", lambda v: v is True)
        count = 1
        if "repeat" in item:
            count = substitute_at(item["repeat"], env, w / "repeat", self.shape_of(scope, w))
            if (
                not isinstance(count, int)
                or isinstance(count, bool)
                or not 0 <= count <= MAX_REPEAT
            ):
                raise BlueprintError(
                    "'repeat' must be a whole number",
                    (w / "repeat").loc,
                    expected=f"an integer from 0 to {MAX_REPEAT}",
                    received=count,
                )
        var = item.get("as", "i")
        if not isinstance(var, str) or not NAME_RE.match(var):
            raise BlueprintError(
                "'as' must be a name for the repeat index", (w / "as").loc, received=var
            )
        if "as" in item and "repeat" not in item:
            raise BlueprintError(
                "'as' names the index of a 'repeat'", (w / "as").key_loc, hint="Add 'repeat: N'."
            )
        w = w.within(w.ctx.under(conditions))
        for index in range(count):
            local = {**env, var: index} if "repeat" in item else env
            more = (
                conditions_of(item["repeat"], env, w / "repeat", lambda n, i=index: n > i)
                if "repeat" in item
                else []
            )
            iw = w.within(w.ctx.under(more))
            if "graph" in item:
                try:
                    previous = self.group(item, iw, local, scope, previous)
                except (BlueprintError, Skip):
                    self.poison(item, iw, local, scope)  # a group may not be named: an error
                    raise
            else:
                previous = self.node(item, iw, local, scope, previous)
        return previous

    def group(
        self,
        item: dict[str, Any],
        w: Where,
        env: Mapping[str, Any],
        scope: Scope,
        previous: Ref | None,
    ) -> Ref | None:
        """Expands a group (an entry with its own ``graph:``) in the enclosing scope."""
        extra = [k for k in item if k not in ("graph", "repeat", "as", "when", "from", "doc")]
        if extra:  # reported, and the group's own nodes are still checked
            self.errors.add(
                BlueprintError(
                    f"a group (a node with 'graph') takes no '{extra[0]}'",
                    (w / extra[0]).key_loc,
                    expected="'graph' with optional 'repeat', 'as', 'when', 'from'",
                    hint="Groups have no name of their own: name the nodes inside."
                    if extra[0] in ("name", "share")
                    else "Put the layer inside the group's graph.",
                )
            )
        if not isinstance(item["graph"], list):
            raise BlueprintError("a group's 'graph' must be a list", (w / "graph").loc)
        if "from" in item:
            refs = read_refs(substitute_at(item["from"], env, w / "from"), w / "from")
            if len(refs) != 1:
                raise BlueprintError(
                    "a group's 'from' takes one reference", (w / "from").loc, received=item["from"]
                )
            # Unlike a node's 'from', it must name something defined above: it feeds
            # the group's first node now. A failed one still lets the group be checked.
            try:
                previous = input_ref(scope, refs[0])
            except Skip:
                previous = POISONED
        last = self.sequence(item["graph"], w / "graph", env, scope, previous)
        if extra:  # after its nodes, which may take the name the group was wrongly given
            self.poison(item, w, env, scope)
        return last

    def node(
        self,
        item: dict[str, Any],
        w: Where,
        env: Mapping[str, Any],
        scope: Scope,
        previous: Ref | None,
    ) -> Ref | None:
        """Expands one node: a layer, a Python block, a YAML block instance, or a share.

        A node that fails is *poisoned*: its name (when it has one) stands for the
        failure, so that the nodes and outputs that name it add no knock-on error.
        """
        try:
            return self._node(item, w, env, scope, previous)
        except (BlueprintError, Skip):
            self.poison(item, w, env, scope)
            raise

    def _node(
        self,
        item: dict[str, Any],
        w: Where,
        env: Mapping[str, Any],
        scope: Scope,
        previous: Ref | None,
    ) -> Ref | None:
        type_keys = [k for k in item if k not in CONTROL_KEYS]
        if "share" in item:
            if type_keys:
                raise BlueprintError(
                    "a node with 'share' reuses another node's layer and takes no layer of its own",
                    (w / type_keys[0]).key_loc,
                    received=type_keys[0],
                )
            return self.share(item, w, env, scope, previous)
        if len(type_keys) != 1:
            if not type_keys:
                raise BlueprintError(
                    "this node names no layer or block",
                    w.loc,
                    expected="one key naming a layer or block, e.g.  - Dense: {units: 64}",
                    received=Plain("only " + ", ".join(item))
                    if item
                    else Plain("an empty mapping"),
                )
            misspelt = [k for k in type_keys if did_you_mean(k, CONTROL_KEYS)]
            hint = (
                f"'{misspelt[0]}' is not a node key: {did_you_mean(misspelt[0], CONTROL_KEYS)}"
                if misspelt
                else "Write one node per list item."
            )
            raise BlueprintError(
                "a node names exactly one layer or block",
                (w / type_keys[1]).key_loc,
                expected="one of its keys to be a layer or block name",
                received=Plain(", ".join(type_keys)),
                hint=hint,
            )
        type_name = type_keys[0]
        args_raw = item[type_name]
        tw = w / type_name
        if "${" in type_name:
            raise BlueprintError(
                "a node's layer or block cannot be chosen by an expression",
                tw.key_loc,
                received=type_name,
                hint="Keys are never evaluated, only values: name the layer, and choose"
                " between layers with 'when:' on one node for each",
            )
        if args_raw is None:
            args_raw = {}
        if not isinstance(args_raw, dict):
            raise BlueprintError(
                f"the arguments of '{type_name}' must be a mapping",
                tw.loc,
                received=args_raw,
                hint=f"For example:  - {type_name}: {{...}}",
            )
        explicit = substitute_at(item["name"], env, w / "name") if "name" in item else None
        scope_name = scope.prefix + explicit if isinstance(explicit, str) else None
        named = tw.within(tw.ctx.naming(scope_name, tw.path)) if scope_name else tw
        args = substitute_at(args_raw, env, named, self.shape_of(scope, w))
        if "name" in args and isinstance(args.get("name"), str):
            if explicit is not None and explicit != args["name"]:
                raise BlueprintError(
                    "the node's 'name' and its layer's 'name' argument differ",
                    (tw / "name").loc,
                    received=args["name"],
                    expected=f"'{explicit}' or no 'name' argument",
                )
            explicit = args.pop("name")
        block = self.blocks.get(type_name)
        entry = None
        if block is None:
            py_block = BLOCKS.get(type_name)
            if py_block is None:
                reason = refused_layer_reason(type_name)
                if reason is not None:
                    raise BlueprintError(
                        f"'{type_name}' is not allowed in blueprints", tw.key_loc, hint=reason
                    )
                entry = LAYERS.lookup(
                    type_name,
                    tw.key_loc,
                    path=tw.path,
                    context=scope.context,
                    also=[*self.blocks, *BLOCKS.names()],
                )
        inputs, call_inputs = node_inputs(item, w, env, previous)
        if block is not None:
            return expand_block(self, block, args, explicit, inputs, w, scope)
        name = self.names.claim(explicit, type_name if entry is None else entry.name, w, scope)
        if entry is None:
            py = BLOCKS.lookup(type_name)
            node = python_block_node(self.doc, py, name, args, inputs, call_inputs, w, tw, scope)
        else:
            check_call_keys(entry, call_inputs, w / "from", scope.context)
            checked, locs = layer_arguments(
                entry, args, tw, scope.context, w.ctx.reads, self.errors
            )
            node = PendingNode(
                name, "layer", entry.name, checked, inputs, call_inputs, None, w, locs, scope,
                scope.context,
            )  # fmt: skip
        self.add(node, scope)
        return Ref(name, location=w.loc)

    def share(
        self,
        item: dict[str, Any],
        w: Where,
        env: Mapping[str, Any],
        scope: Scope,
        previous: Ref | None,
    ) -> Ref:
        """A node that calls another node's layer again (``share: NODE``)."""
        target = substitute_at(item["share"], env, w / "share")
        if not isinstance(target, str) or not _valid_local(scope.prefix, target):  # 0_conv
            raise BlueprintError(
                "'share' takes the name of another layer node",
                (w / "share").loc,
                expected="a node name: letters, digits, '_' or '-', not starting with a digit",
                received=target,
            )
        explicit = substitute_at(item["name"], env, w / "name") if "name" in item else None
        inputs, call_inputs = node_inputs(item, w, env, previous)
        name = self.names.claim(explicit, f"{target}_shared", w, scope)
        node = PendingNode(
            name, "share", "", {}, inputs, call_inputs, (target, w / "share"), w, {}, scope,
            scope.context,
        )  # fmt: skip
        self.add(node, scope)
        return Ref(name, location=w.loc)

    def shape_of(self, scope: Scope, w: Where) -> ShapeOf:
        """What ``shape("NAME")`` asks in the expressions of the node at ``w``, in ``scope``."""
        return self.shapes.lookup(self.pending, scope, w)

    def add(self, node: PendingNode, scope: Scope) -> None:
        """Collects ``node`` as a member of ``scope``.

        Raises:
            BlueprintError: The graph has grown past :data:`MAX_NODES`.
        """
        if len(self.pending) >= MAX_NODES:
            raise BlueprintError(
                "the graph expands to too many nodes",
                node.where.loc,
                expected=f"at most {MAX_NODES}",
            )
        self.pending.append(node)
        scope.members.append(node)

    def poison(self, item: dict[str, Any], w: Where, env: Mapping[str, Any], scope: Scope) -> None:
        """Names the failed entry ``item`` in ``scope`` as ``POISONED``, if its name is free.

        The name counts as given (at ``w``): a later node of the same name is a duplicate.
        """
        name = _written_name(item, w, env)
        if name is None or name in scope.names or scope.prefix + name in self.names.taken:
            return
        scope.names[name] = POISONED
        self.names.taken[scope.prefix + name] = w.loc


def _valid_local(prefix: str, name: str) -> bool:
    """Whether ``name``, given in a scope of ``prefix``, makes a valid full layer name."""
    return bool(LOCAL_NAME_RE.match(name)) and bool(NAME_RE.match(prefix + name))


def _written_name(item: dict[str, Any], w: Where, env: Mapping[str, Any]) -> str | None:
    """The name a node is given as written (``name:``, or its layer's ``name`` argument).

    Returns:
        The name, or None when it has none, or none that can be worked out.
    """
    if "name" in item:
        raw, nw = item["name"], w / "name"
    else:
        key = next((k for k in item if k not in CONTROL_KEYS), None)
        args = item.get(key) if key is not None else None
        if not isinstance(args, dict) or "name" not in args:
            return None
        raw, nw = args["name"], w / key / "name"
    try:
        name = substitute_at(raw, env, nw)
    except BlueprintError:
        return None
    return name if isinstance(name, str) and LOCAL_NAME_RE.match(name) else None

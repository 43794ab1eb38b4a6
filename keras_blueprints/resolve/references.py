"""References between nodes: ``from:``, ``share:`` and ``outputs:``.

A node's inputs are read as written (:func:`node_inputs`) while the graph is
expanded, and looked up (:func:`lookup`) once every name of their scope is
known (:func:`link`), so a node may name one defined below it. A reference is
``NAME`` or ``NAME.INDEX`` (one output of a multi-output node, or a named output
of a block instance).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from keras_blueprints._core.errors import BlueprintError, ErrorCollector, Location
from keras_blueprints.resolve.graph import POISONED, NodeInput, Scope, Skip
from keras_blueprints.resolve.schema import Ref
from keras_blueprints.resolve.values import REF_RE, Where, substitute_at

__all__ = [
    "indexed_hint",
    "input_ref",
    "is_poisoned",
    "link",
    "lookup",
    "node_inputs",
    "read_outputs",
    "read_refs",
    "ref_at",
]


_INDEXED = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*\[\s*['\"]?([A-Za-z0-9_\-]+)['\"]?\s*\]\s*$"
)


def indexed_hint(value: Any) -> str | None:
    """For a reference written like Python (``enc[1]``), the way to write it (``enc.1``)."""
    m = _INDEXED.match(value) if isinstance(value, str) else None
    if m is None:
        return None
    return (
        f"Write '{m.group(1)}.{m.group(2)}': one output of a node is NAME.INDEX, not NAME[INDEX]."
    )


def is_poisoned(ref: object) -> bool:
    """Whether ``ref`` stands for a node that failed (its error is already reported)."""
    return isinstance(ref, Ref) and ref.node == POISONED.node


def node_inputs(
    item: Mapping[str, Any], w: Where, env: Mapping[str, Any], previous: Ref | None
) -> tuple[list[NodeInput], dict[str, NodeInput | list[NodeInput]]]:
    """Reads a node's ``from:`` (the previous node when there is none).

    Args:
        item: The node as written.
        w: Where the node stands.
        env: The values in scope.
        previous: The node before it (None: none gives its input; ``POISONED``: it failed).

    Returns:
        The positional inputs, and the keyword (call) inputs by name.

    Raises:
        BlueprintError: No input can be found, or ``from:`` is malformed.

    A node fed by a failed one (``previous`` is ``POISONED``) still has its own
    arguments checked: its input is looked up as ``POISONED``, which :func:`input_ref`
    skips without a knock-on error.
    """
    if "from" not in item and is_poisoned(previous):
        return [NodeInput(POISONED.node, w, POISONED)], {}
    if "from" not in item:
        if previous is None:
            raise BlueprintError(
                "this node needs 'from': no single previous node gives its input",
                w.loc,
                hint="The model has several inputs, or this node follows an error; name its"
                " input with  from: INPUT_OR_NODE",
            )
        return [NodeInput(str(previous), w, previous)], {}
    value = substitute_at(item["from"], env, w / "from")
    fw = w / "from"
    if isinstance(value, dict):
        positional = value.get("inputs")
        inputs = read_refs(positional, fw / "inputs") if positional is not None else []
        if not inputs:
            if previous is None:
                raise BlueprintError("'from' needs 'inputs' here", fw.loc)
            inputs = [NodeInput(str(previous), fw, previous)]
        call = {}
        for key, v in value.items():
            if key == "inputs":
                continue
            refs = read_refs(v, fw / key)
            call[key] = refs if isinstance(v, list) else refs[0]
        return inputs, call
    return read_refs(value, fw), {}


def read_refs(value: Any, w: Where) -> list[NodeInput]:
    """Reads one reference or a list of them, as written (not looked up yet).

    Raises:
        BlueprintError: A value that is not a reference, or an empty list.
    """
    items = value if isinstance(value, list) else [value]
    out = []
    for i, v in enumerate(items):
        iw = w / i if isinstance(value, list) else w
        if not isinstance(v, str) or not REF_RE.match(v):
            raise BlueprintError(
                "'from' takes node or input names",
                iw.loc,
                expected="a name, NAME.INDEX for one output of a multi-output node, or a list",
                received=v,
                hint=indexed_hint(v),
            )
        out.append(NodeInput(v, iw))
    if not out:
        raise BlueprintError("'from' is empty", w.loc, expected="at least one node or input name")
    return out


def lookup(scope: Scope, text: str, where: Where) -> Ref:
    """Finds what reference ``text`` names in ``scope``.

    Raises:
        Skip: The name is that of a node that failed (its error is already reported).
        BlueprintError: An unknown name, or an output its target does not have.
    """
    m = REF_RE.match(text) if isinstance(text, str) else None
    if m is None:  # callers check the syntax where they read it; never crash here
        raise BlueprintError(
            "a reference must name a node or an input",
            where.loc,
            expected="a name, or NAME.INDEX for one output of a multi-output node",
            received=text,
        )
    base, index = m.group(1), m.group(2)
    target = scope.names.get(base)
    if is_poisoned(target):
        raise Skip
    if target is None:
        raise BlueprintError.unknown_name(
            "a node or input defined here",
            base,
            list(scope.names),
            where.loc,
            path=where.path,
            context=scope.context,
            extra_hint=_private_hint(scope, base),
        )
    if isinstance(target, dict):  # a block instance: its first or its named output
        key = index if index is not None else next(iter(target))
        if key not in target and key.isdigit() and int(key) < len(target):
            key = list(target)[int(key)]
        if key not in target:
            raise BlueprintError.unknown_name(
                f"an output of block instance '{base}'",
                key,
                list(target),
                where.loc,
                extra_hint=_outputs_hint(base, target),
            )
        return Ref(target[key].node, target[key].index, where.loc)
    if index is None:
        return Ref(target.node, target.index, where.loc)
    if target.index is not None:
        raise BlueprintError(
            f"'{base}' is already one output; it has no output '{index}'", where.loc
        )
    return Ref(target.node, int(index) if index.isdigit() else index, where.loc)


def _outputs_hint(instance: str, outputs: Mapping[str, Ref]) -> str:
    """Says a block instance's internals are private, and how to name its outputs."""
    names = ", ".join(f"{instance}.{key}" for key in outputs)
    return (
        f"The nodes inside block instance '{instance}' are private: refer to '{instance}'"
        f" (its first output) or to one of its outputs: {names}."
    )


def _private_hint(scope: Scope, name: str) -> str | None:
    """For ``INSTANCE_NODE`` naming a node inside a block instance, the outputs to name."""
    instances = [
        (key, target)
        for key, target in scope.names.items()
        if isinstance(target, dict) and name.startswith(f"{key}_")
    ]
    if not instances:
        return None
    key, outputs = max(instances, key=lambda item: len(item[0]))
    return _outputs_hint(key, outputs)


def ref_at(scope: Scope, value: Any, where: Where) -> Ref:
    """Checks one reference as written and resolves it in ``scope``."""
    (inp,) = read_refs(value, where)
    return lookup(scope, inp.text, where)


def input_ref(scope: Scope, inp: NodeInput) -> Ref:
    """The node an input names (the previous node, already known, or a lookup).

    Raises:
        Skip: The input is a node that failed (its error is already reported).
        BlueprintError: An unknown name.
    """
    if inp.ref is not None:
        if is_poisoned(inp.ref):
            raise Skip
        return inp.ref
    return lookup(scope, inp.text, inp.where)


def link(scope: Scope, errors: ErrorCollector) -> None:
    """Looks up the inputs and ``share:`` of every node of ``scope``, collecting errors.

    Every reference is looked up, so each wrong one is reported; one that names a
    node that failed adds no error (that node's error is reported).
    """
    for node in scope.members:
        failed = False

        def find(inp: NodeInput) -> Ref:
            nonlocal failed
            try:
                return input_ref(scope, inp)
            except Skip:
                failed = True
            except BlueprintError as err:
                errors.add(err)
                failed = True
            return POISONED

        inputs = tuple(find(i) for i in node.inputs)
        call = {
            key: tuple(find(i) for i in value) if isinstance(value, list) else find(value)
            for key, value in node.call_inputs.items()
        }
        if node.share is not None:
            text, sw = node.share
            try:
                if isinstance(scope.names.get(text), dict):
                    raise BlueprintError(
                        f"'share' must name a layer node; '{text}' is a block instance",
                        sw.loc,
                        hint=f"Share one of its layers by its full name, e.g. '{text}_...'.",
                    )
                node.share = (lookup(scope, text, sw).node, sw)
            except Skip:
                failed = True
            except BlueprintError as err:
                errors.add(err)
                failed = True
        if not failed:
            node.resolved_inputs = inputs
            node.resolved_call = call


def read_outputs(
    raw: Any,
    top: Scope,
    last: Ref | None,
    root: Where,
    env: Mapping[str, Any],
    errors: ErrorCollector,
) -> list[Ref]:
    """Reads the model's ``outputs:`` (default: the last node of the graph).

    Args:
        raw: The section as written, or None.
        top: The top-level scope, every name known.
        last: The graph's last node, or None.
        root: The document's root.
        env: Parameter values.
        errors: Where independent errors go.

    Returns:
        The outputs.

    Raises:
        BlueprintError: Every problem found (with the errors collected before).
    """
    w = root / "outputs"
    if raw is None:
        if last is None:
            raise BlueprintError("the graph has no output", Location(root.doc.file, 1, 1))
        return [last]
    raw = substitute_at(raw, env, w)
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, text in enumerate(items):
        iw = w / i if isinstance(raw, list) else w
        if not isinstance(text, str) or not REF_RE.match(text):
            errors.add(
                BlueprintError(
                    "'outputs' takes node names", iw.loc, received=text, hint=indexed_hint(text)
                )
            )
            continue
        try:
            out.append(lookup(top, text, iw))
        except Skip:  # a node that failed: its error is reported
            continue
        except BlueprintError as err:
            errors.add(err)
    if not out and not errors.errors:
        errors.add(BlueprintError("'outputs' is empty", w.loc, expected="at least one node name"))
    errors.raise_if_any()
    return out

"""Blocks: the ``blocks:`` a blueprint declares in YAML, and block instances in its graph.

A YAML block instance is expanded in place: its graph becomes nodes named
``INSTANCE_...`` in a scope of their own, whose inputs are the block's inputs
and whose outputs the instance gives (``INSTANCE`` or ``INSTANCE.OUTPUT``). A
Python block instance stays one node, built by the registered function.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import (
    BlueprintError,
    BlueprintErrors,
    ErrorCollector,
    Location,
    Plain,
)
from keras_blueprints.catalog.components import LAYERS, MISSING, BlockEntry, BlockParam
from keras_blueprints.loading.document import ComposedDocument
from keras_blueprints.loading.valuetypes import ValueType
from keras_blueprints.resolve.arguments import check_arguments, overrides_behind
from keras_blueprints.resolve.graph import POISONED, BlockDef, NodeInput, PendingNode, Scope, Skip
from keras_blueprints.resolve.identifiers import check_layer_value
from keras_blueprints.resolve.references import input_ref, is_poisoned, link, lookup
from keras_blueprints.resolve.schema import Ref
from keras_blueprints.resolve.values import NAME_RE, REF_RE, Where

if TYPE_CHECKING:
    from keras_blueprints.resolve.nodes import Expansion

__all__ = ["block_arguments", "expand_block", "python_block_node", "read_blocks"]


def read_blocks(doc: ComposedDocument, root: Where, errors: ErrorCollector) -> dict[str, BlockDef]:
    """Reads the blocks a blueprint imports and declares.

    Args:
        doc: The composed document.
        root: Its root.
        errors: Where the errors of single blocks go.

    Returns:
        The valid blocks by name, imported ones first.

    Raises:
        BlueprintError: ``blocks:`` is not a mapping.
    """
    sources: list[tuple[str, Any, Where]] = []
    for name, (body, other) in doc.imported_blocks.items():
        sources.append((name, body, Where(other, ("blocks", name), root.ctx)))
    raw = doc.data.get("blocks")
    if raw is not None:
        where = root / "blocks"
        if not isinstance(raw, dict):
            raise BlueprintError(
                "'blocks' must be a mapping of block names to definitions", where.loc
            )
        sources += [(name, body, where / name) for name, body in raw.items()]
    blocks: dict[str, BlockDef] = {}
    for name, body, w in sources:
        try:
            blocks[name] = block_def(name, body, w)
        except BlueprintError as err:
            errors.add(err)
    return blocks


def block_def(name: str, body: Any, w: Where) -> BlockDef:
    """Reads and checks one block declared in YAML.

    Raises:
        BlueprintError: A bad name, an unknown field, a missing graph, bad params,
            inputs or outputs.
    """
    if not NAME_RE.match(name):
        raise BlueprintError(f"'{name}' is not a valid block name", w.key_loc)
    if name in LAYERS:
        raise BlueprintError(
            f"block name '{name}' is already the name of a layer",
            w.key_loc,
            hint="Choose another name so that nodes are not ambiguous.",
        )
    if not isinstance(body, dict):
        raise BlueprintError(
            f"block '{name}' must be a mapping with 'graph'",
            w.loc,
            received=Plain(ValueType.name_of(body)),
        )
    allowed = ("params", "inputs", "graph", "outputs", "doc")
    for key in body:
        if key not in allowed:
            raise BlueprintError.unknown_name(
                f"a field of block '{name}'", key, allowed, (w / key).key_loc
            )
    if not isinstance(body.get("graph"), list) or not body["graph"]:
        raise BlueprintError(
            f"block '{name}' needs a non-empty 'graph' list",
            (w / "graph").loc if "graph" in body else w.loc,
        )
    raw_params = body.get("params") or {}
    if not isinstance(raw_params, dict):
        raise BlueprintError(
            f"'params' of block '{name}' must map parameter names to types",
            (w / "params").loc,
            expected="e.g.  params: {filters: int, kernel_size: {type: int, default: 3}}",
            received=raw_params,
        )
    params = {
        pname: block_param(pname, spec, w / "params" / pname) for pname, spec in raw_params.items()
    }
    outputs = body.get("outputs")
    listed = outputs if isinstance(outputs, list) else [outputs]
    if outputs is not None and (
        not listed or not all(isinstance(o, str) and REF_RE.match(o) for o in listed)
    ):
        raise BlueprintError(
            f"'outputs' of block '{name}' must name nodes of its graph",
            (w / "outputs").loc,
            expected="a node name or a non-empty list of node names",
            received=outputs,
        )
    inputs = body.get("inputs", ["x"])
    if isinstance(inputs, str):
        inputs = [inputs]
    if (
        not isinstance(inputs, list)
        or not inputs
        or not all(isinstance(i, str) and NAME_RE.match(i) for i in inputs)
    ):
        raise BlueprintError(
            f"'inputs' of block '{name}' must be a list of names",
            (w / "inputs").loc,
            received=inputs,
        )
    return BlockDef(name, params, tuple(inputs), body["graph"], body.get("outputs"), w)


def block_param(name: str, spec: Any, w: Where) -> BlockParam:
    """Reads one parameter of a YAML block (a type name, or ``{type:, default:, ...}``).

    Raises:
        BlueprintError: A malformed parameter, an unknown field or type.
    """
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise BlueprintError(
            f"parameter '{name}' must be a type name or a mapping",
            w.loc,
            expected="a type (int, float, str, bool, list, dict, any) or {type:, default:}",
            received=spec,
        )
    allowed = ("type", "default", "choices", "doc")
    for key in spec:
        if key not in allowed:
            raise BlueprintError.unknown_name(
                f"a field of parameter '{name}'", key, allowed, (w / key).key_loc
            )
    try:
        vt = ValueType.parse(str(spec.get("type", "any")))
    except ValueError as exc:
        raise BlueprintError.unknown_name(
            "a parameter type",
            str(exc),
            ("int", "float", "str", "bool", "list", "dict", "null", "any"),
            (w / "type").loc,
        ) from None
    choices = spec.get("choices", [])
    if not isinstance(choices, list):
        raise BlueprintError("'choices' must be a list", (w / "choices").loc, received=choices)
    default = spec.get("default", MISSING)
    return BlockParam(name, vt, default, tuple(choices), str(spec.get("doc", "")))


def block_arguments(
    doc: ComposedDocument,
    block: str,
    params: Mapping[str, BlockParam],
    args: dict,
    tw: Where,
    context: str | None,
) -> dict:
    """Checks a block's arguments, raising all their errors at once (no expansion).

    An unknown argument given where a required parameter is missing is most likely
    that parameter misspelt: one mistake, reported once, at the name written, whose
    hint names the parameters left without a value.

    Raises:
        BlueprintError: Every problem of the arguments, together.
    """
    unknown = [k for k in args if k not in params]
    missing = [p.name for p in params.values() if p.required and p.name not in args]
    checked = params
    if unknown and missing:  # an unknown argument always fails the check below
        checked = {
            n: dataclasses.replace(p, default=None) if n in missing else p
            for n, p in params.items()
        }
    try:
        return check_arguments(
            f"block '{block}'",
            checked,
            args,
            tw,
            context=context,
            origin=functools.partial(overrides_behind, doc),
        )
    except BlueprintError as err:
        if checked is params:
            raise
        raise _naming_missing(err, [(tw / k).key_loc for k in unknown], missing) from None


def _naming_missing(
    err: BlueprintError, unknown_at: list[Location], missing: list[str]
) -> BlueprintError:
    """``err`` with the hint of each unknown-argument error naming the ``missing`` parameters."""
    named = ", ".join(repr(m) for m in missing)
    out = []
    for e in err.errors if isinstance(err, BlueprintErrors) else [err]:
        if e.location in unknown_at:
            more = (
                f"Parameter {named} has no value."
                if len(missing) == 1
                else f"Parameters {named} have no value."
            )
            e = BlueprintError(
                e.message,
                e.location,
                path=e.path,
                expected=e.expected,
                received=e.received,
                hint=f"{e.hint} {more}" if e.hint else more,
                context=e.context,
            )
        out.append(e)
    return out[0] if len(out) == 1 else BlueprintErrors(out)


def identifier_errors(
    block: str,
    params: Mapping[str, BlockParam],
    args: Mapping[str, Any],
    tw: Where,
    context: str | None,
) -> list[BlueprintError]:
    """Checks the Keras names a Python block's arguments give, as a layer's are checked.

    A parameter named like a layer argument that takes an identifier (``activation``,
    ``kernel_initializer``, ``*_regularizer``, ``*_constraint``) or an enumerated
    value (``padding``, ``data_format``, ``interpolation``...), and that has no choices
    of its own, is checked against the same vocabulary, located at the value. A value
    of the wrong type is left to the parameter's own check (one error each).

    Args:
        block: The block's name.
        params: Its typed parameters.
        args: The arguments written (substituted).
        tw: Where the arguments mapping stands.
        context: Where in the structure, for messages.

    Returns:
        The errors, each at its value.
    """
    errors = []
    for key, value in args.items():
        spec = params.get(key)
        if spec is None or spec.choices or not spec.type.accepts(value):
            continue
        error = check_layer_value(f"block '{block}'", key, value, tw / key, context)
        if error is not None:
            errors.append(error)
    return errors


def expand_block(
    expansion: Expansion,
    block: BlockDef,
    args: dict,
    explicit: Any,
    inputs: list[NodeInput],
    w: Where,
    scope: Scope,
) -> Ref:
    """Expands a YAML block instance in place: its graph becomes nodes ``INSTANCE_...``.

    Args:
        expansion: The graph expansion in progress (it walks the block's graph).
        block: The block.
        args: The instance's arguments (substituted, not checked yet).
        explicit: The instance's ``name:``, or None for an automatic one.
        inputs: The instance's inputs as written.
        w: Where the instance stands; its context (conditions) holds in the body.
        scope: The scope the instance is in.

    Returns:
        The instance's first output; all of them are named in ``scope``.

    Raises:
        BlueprintError: Bad arguments, the wrong number of inputs, a recursive
            block, a block without output.
    """
    tw = w / block.name
    values = block_arguments(expansion.doc, block.name, block.params, args, tw, scope.context)
    name = expansion.names.claim(explicit, block.name, w, scope)  # it prefixes the layers
    if len(inputs) != len(block.inputs):
        raise BlueprintError(
            f"block '{block.name}' takes {len(block.inputs)} input(s)",
            (w / "from").loc if w.doc.sources.values.get((*w.path, "from")) else w.loc,
            expected=", ".join(block.inputs),
            received=Plain(f"{len(inputs)} input(s)"),
        )
    if block.name in expansion.expanding:
        chain = " -> ".join([*expansion.expanding, block.name])
        raise BlueprintError(
            f"block '{block.name}' uses itself",
            tw.key_loc,
            received=Plain(chain),
            hint="Blocks cannot be recursive; use 'repeat' for a chain of copies.",
        )
    outer = [_outer_ref(scope, i) for i in inputs]  # defined above the block
    context = f"in block '{name}'" + (f", {scope.context}" if scope.context else "")
    inner = Scope(f"{name}_", dict(zip(block.inputs, outer, strict=True)), context)
    body_env = {**expansion.env, **values}
    body = block.where.within(w.ctx)  # the instance's conditions hold in its body
    expansion.expanding.append(block.name)
    try:
        last = expansion.sequence(
            block.graph,
            body / "graph",
            body_env,
            inner,
            outer[0] if len(outer) == 1 else None,
        )
    finally:
        expansion.expanding.pop()
    link(inner, expansion.errors)
    out_spec = block.outputs
    if out_spec is None and is_poisoned(last):  # its last node failed: so did the instance
        scope.names[name[len(scope.prefix) :]] = POISONED
        return POISONED
    if out_spec is None:
        if last is None:
            raise BlueprintError(f"block '{block.name}' has no output", block.where.loc)
        result = {last.node.removeprefix(inner.prefix): last}
    elif isinstance(out_spec, str):
        result = {out_spec: lookup(inner, out_spec, body / "outputs")}
    else:  # a non-empty list of names, checked with the block's definition
        result = {n: lookup(inner, n, body / "outputs" / i) for i, n in enumerate(out_spec)}
    scope.names[name[len(scope.prefix) :]] = result  # INSTANCE or INSTANCE.OUTPUT
    return next(iter(result.values()))


def _outer_ref(scope: Scope, inp: NodeInput) -> Ref:
    """What feeds one input of a block instance; ``POISONED`` for a node that failed.

    The body of an instance fed by a failed node is still expanded, so that its own
    errors are reported; the nodes it feeds are skipped when linked.
    """
    try:
        return input_ref(scope, inp)
    except Skip:
        return POISONED


def python_block_node(
    doc: ComposedDocument,
    py: BlockEntry,
    name: str,
    args: dict,
    inputs: list[NodeInput],
    call_inputs: dict[str, Any],
    w: Where,
    tw: Where,
    scope: Scope,
) -> PendingNode:
    """A Python block instance: one node, built by the registered function.

    Args:
        doc: The composed document (for hints about overrides).
        py: The registered block.
        name: The node's full name.
        args: The instance's arguments (substituted, not checked yet).
        inputs: Its positional inputs as written.
        call_inputs: Its keyword inputs (a Python block takes none).
        w: Where the instance stands.
        tw: Where its arguments stand (under the block's name as written).
        scope: The scope it is in.

    Returns:
        The pending node.

    Raises:
        BlueprintError: Several inputs to a one-input block, keyword inputs, bad arguments.
    """
    if len(inputs) > 1 and not py.many_inputs:
        raise BlueprintError(
            f"block '{py.name}' takes one input",
            (w / "from").loc,
            received=Plain(f"{len(inputs)} inputs"),
            hint="A Python block takes several when its first parameter is annotated as a list.",
        )
    if call_inputs:
        raise BlueprintError(
            f"block '{py.name}' takes its inputs positionally",
            (w / "from").loc,
            received=Plain(", ".join(call_inputs)),
            hint="Write  from: [a, b]  and annotate the first parameter as a list.",
        )
    refused = identifier_errors(py.name, py.params, args, tw, scope.context)
    try:
        checked = block_arguments(doc, py.name, py.params, args, tw, scope.context)
    except BlueprintError as err:
        raise BlueprintErrors([*refused, err]) from None
    if refused:
        raise refused[0] if len(refused) == 1 else BlueprintErrors(refused)
    return PendingNode(
        name, "block", py.name, checked, inputs, call_inputs, None, w, {}, scope,
        scope.context,
    )  # fmt: skip

"""The ``models:`` section: further models that share the main model's layers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from keras_blueprints._core.errors import BlueprintError, ErrorCollector, Plain
from keras_blueprints.loading.valuetypes import ValueType
from keras_blueprints.resolve.schema import InputSpec, Node, Ref, SubModel
from keras_blueprints.resolve.values import NAME_RE, Where, substitute_at

__all__ = ["resolve_models"]

Lookup = Callable[[Any, Where], Ref]
"""Checks a reference as written (``enc.1``) and resolves it among the top-level names."""


def resolve_models(
    raw: Any,
    root: Where,
    env: Mapping[str, Any],
    lookup: Lookup,
    nodes: tuple[Node, ...],
    inputs: tuple[InputSpec, ...],
    errors: ErrorCollector,
) -> tuple[SubModel, ...]:
    """Reads ``models:`` and works out which nodes each model replays.

    Args:
        raw: The section (None when absent).
        root: The document's root.
        env: Parameter values.
        lookup: Resolves a reference among the graph's names.
        nodes: The graph's nodes, in build order.
        inputs: The model inputs.
        errors: Where independent errors go.

    Returns:
        The further models.

    Raises:
        BlueprintError: Every problem found.
    """
    if raw is None:
        return ()
    w = root / "models"
    if not isinstance(raw, dict):
        raise BlueprintError(
            "'models' must be a mapping of model names to {inputs, outputs}",
            w.loc,
            received=Plain(ValueType.name_of(raw)),
        )
    by_name = {n.name: n for n in nodes}
    models = []
    for name, spec in raw.items():
        try:
            models.append(_model(name, spec, w / name, env, lookup, by_name, inputs))
        except BlueprintError as err:
            errors.add(err)
    errors.raise_if_any()
    return tuple(models)


def model_outputs(raw: Any, root: Where, env: Mapping[str, Any], lookup: Lookup) -> list[Ref]:
    """The nodes the ``models:`` section's outputs name, as far as they can be read.

    The graph's unused-node check counts them as used: a node that only a further
    model reads (a sampler's branch) flows to an output. What cannot be read here is
    left out; :func:`resolve_models` reports it.

    Args:
        raw: The section (None when absent).
        root: The document's root.
        env: Parameter values.
        lookup: Resolves a reference among the graph's names.

    Returns:
        The references found.
    """
    found: list[Ref] = []
    if not isinstance(raw, dict):
        return found
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not spec.get("outputs"):
            continue
        ow = root / "models" / name / "outputs"
        try:
            items = substitute_at(spec["outputs"], env, ow)
            for i, text in enumerate(items if isinstance(items, list) else [items]):
                found.append(lookup(text, ow / i if isinstance(items, list) else ow))
        except BlueprintError:
            continue
    return found


def _model(name, spec, mw: Where, env, lookup: Lookup, by_name, inputs) -> SubModel:
    if not NAME_RE.match(name) or name == "model":
        raise BlueprintError(
            f"'{name}' cannot name a model",
            mw.key_loc,
            hint="'model' is the main model's key; use letters, digits and '_'.",
        )
    if not isinstance(spec, dict):
        raise BlueprintError(
            f"model '{name}' must be a mapping with 'inputs' and 'outputs'", mw.loc
        )
    for key in spec:
        if key not in ("inputs", "outputs", "doc"):
            raise BlueprintError.unknown_name(
                f"a field of model '{name}'",
                key,
                ("inputs", "outputs", "doc"),
                (mw / key).key_loc,
            )
    for key in ("inputs", "outputs"):
        if not spec.get(key):
            raise BlueprintError(f"model '{name}' needs '{key}'", mw.key_loc)
    raw_inputs = substitute_at(spec["inputs"], env, mw / "inputs")
    if isinstance(raw_inputs, dict):  # {new_input_name: node}
        pairs = [(k, v, mw / "inputs" / k) for k, v in raw_inputs.items()]
    else:
        items = raw_inputs if isinstance(raw_inputs, list) else [raw_inputs]
        pairs = [(None, v, mw / "inputs" / i) for i, v in enumerate(items)]
    sub_inputs = []
    for input_name, text, iw in pairs:
        ref = lookup(text, iw)
        sub_inputs.append((input_name or str(ref).replace(".", "_"), ref))
    raw_outputs = substitute_at(spec["outputs"], env, mw / "outputs")
    items = raw_outputs if isinstance(raw_outputs, list) else [raw_outputs]
    outputs = []
    for i, text in enumerate(items):
        ow = mw / "outputs" / i if isinstance(raw_outputs, list) else mw / "outputs"
        outputs.append(lookup(text, ow))
    input_names = {i.name for i in inputs}
    # Fed by the main model's own inputs, the model is a cut of the main graph and
    # replays nothing (Python blocks allowed); fed by inner nodes, it replays.
    direct = all(r.index is None and r.node in input_names and n == r.node for n, r in sub_inputs)
    replay = _replay_set(name, sub_inputs, outputs, by_name, input_names, mw, direct)
    order = () if direct else tuple(n for n in by_name if n in replay)
    return SubModel(name, tuple(sub_inputs), tuple(outputs), order, mw.key_loc)


def _replay_set(model, sub_inputs, outputs, by_name, input_names, mw, direct: bool) -> set[str]:
    """The nodes between a model's inputs and outputs (replayed unless ``direct``)."""
    fresh = {str(ref) for _, ref in sub_inputs}
    used: set[str] = set()
    needed: set[str] = set()
    stack = list(outputs)
    while stack:
        ref = stack.pop()
        if str(ref) in fresh:
            used.add(str(ref))
            continue
        if ref.node in input_names:
            raise BlueprintError(
                f"model '{model}' needs the input '{ref.node}', which is not among its inputs",
                (mw / "inputs").loc,
                hint=f"Add '{ref.node}' (or a node that leads to it) to its inputs.",
            )
        node = by_name[ref.node]
        if node.name in needed:
            continue
        needed.add(node.name)
        if node.kind == "block" and not direct:
            raise BlueprintError(
                f"model '{model}' would rebuild the Python block '{node.name}'",
                (mw / "outputs").loc,
                hint="A model shares the main model's layers, and a Python block creates"
                " new ones each call: start the model after the block, or end it before.",
            )
        stack.extend(node.refs())
    unused = [name for name, ref in sub_inputs if str(ref) not in used]
    if unused:
        raise BlueprintError(
            f"input '{unused[0]}' of model '{model}' does not lead to its outputs",
            (mw / "inputs").loc,
        )
    return needed

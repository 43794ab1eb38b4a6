"""Resolution: a composed document becomes a typed, frozen :class:`Blueprint`.

In order: parameters are evaluated (``${}`` expressions may use earlier
parameters), ``when:`` and ``repeat:`` are applied, YAML blocks are expanded
into nodes named ``INSTANCE_...``, every node gets a unique name (explicit, or
``dense``, ``dense_1``... like Keras), references (``from:``, ``share:``,
``outputs:``) are checked, layer arguments are checked against the layer's
signature, and the graph is checked for cycles and unused nodes. Independent
errors are collected and reported together.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .components import (
    BLOCKS,
    LAYERS,
    MISSING,
    BlockParam,
    LayerEntry,
    refused_layer_reason,
    snake_case,
)
from .document import CONTROL_KEYS, ComposedDocument
from .errors import BlueprintError, ErrorCollector, Location, Plain, closest, did_you_mean
from .expressions import ExpressionError, has_expression, names_used, substitute
from .schema import Blueprint, CompileSpec, InputSpec, NestedLayer, Node, Ref, SubModel, freeze
from .source import Document, Path_
from .valuetypes import ValueType

__all__ = ["TOP_LEVEL_KEYS", "resolve"]

TOP_LEVEL_KEYS = (
    "name",
    "description",
    "params",
    "inputs",
    "graph",
    "outputs",
    "blocks",
    "compile",
    "models",
)
"""Sections of a composed blueprint (``extends``, ``imports`` and ``set`` are consumed earlier)."""

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
REF_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)(?:\.([A-Za-z0-9_\-]+))?$")
DTYPES = (
    "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool", "string",
)  # fmt: skip
COMPILE_EXTRA = (
    "jit_compile",
    "steps_per_execution",
    "run_eagerly",
    "weighted_metrics",
    "auto_scale_loss",
)
MAX_REPEAT = 10_000
MAX_NODES = 100_000
UNSAFE_CLASS_NAMES = ("Lambda", "function", "__lambda__", "__typespec__")


_POISONED = Ref("<error>")
"""Stands for the output of a node that failed to resolve (its error is already reported)."""


class _Skip(Exception):
    """Raised for a node that only depends on a node whose error is already reported."""


@dataclass
class _Where:
    """A value's place: the document it came from and its key path there."""

    doc: Document
    path: Path_

    def __truediv__(self, key: str | int) -> _Where:
        return _Where(self.doc, (*self.path, key))

    @property
    def loc(self) -> Location:
        return self.doc.sources.value(self.path, Location(self.doc.file))

    @property
    def key_loc(self) -> Location:
        return self.doc.sources.key(self.path, Location(self.doc.file))

    @property
    def text_loc(self) -> Location:
        return self.doc.sources.text_location(self.path, Location(self.doc.file))


class _Input(NamedTuple):
    """One input of a node: the reference as written, or the known previous node."""

    text: str
    where: _Where
    ref: Ref | None = None  # set for the implicit input (the previous node)


@dataclass
class _BlockDef:
    """A block declared in YAML."""

    name: str
    params: dict[str, BlockParam]
    inputs: tuple[str, ...]
    graph: list[Any]
    outputs: Any
    where: _Where


@dataclass
class _Pending:
    """A node whose references are not resolved yet."""

    name: str
    kind: str
    type: str
    args: dict[str, Any]
    inputs: list[_Input]
    call_inputs: dict[str, _Input | list[_Input]]
    share: tuple[str, _Where] | None
    where: _Where
    arg_locs: dict[str, Location]
    scope: _Scope
    context: str | None
    resolved_inputs: tuple[Ref, ...] = ()
    resolved_call: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Scope:
    """Names visible in one graph: the top level, or one block instance."""

    prefix: str
    names: dict[str, Ref | dict[str, Ref]]
    context: str | None
    members: list[_Pending] = field(default_factory=list)


def resolve(doc: ComposedDocument) -> Blueprint:
    """Resolves a composed document into a :class:`Blueprint`.

    Args:
        doc: The document after extends and overrides.

    Returns:
        The blueprint.

    Raises:
        BlueprintError: Every independent problem found, together.
    """
    return _Resolver(doc).run()


class _Resolver:
    def __init__(self, doc: ComposedDocument) -> None:
        self.doc = doc
        self.errors = ErrorCollector()
        self.env: dict[str, Any] = {}
        self.blocks: dict[str, _BlockDef] = {}
        self.pending: list[_Pending] = []
        self.taken: dict[str, Location] = {}
        self.expanding: list[str] = []  # YAML blocks being expanded (to refuse recursion)
        self.root = _Where(doc, ())

    # -- entry point -------------------------------------------------------------------
    def run(self) -> Blueprint:
        data = self.doc.data
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                self.errors.add(
                    BlueprintError.unknown_name(
                        "a blueprint section",
                        key,
                        (*TOP_LEVEL_KEYS, "extends", "imports", "set"),
                        (self.root / key).key_loc,
                        path=(key,),
                    )
                )
        name = self._string(data.get("name", _default_name(self.doc)), self.root / "name")
        description = self._string(data.get("description", ""), self.root / "description")
        self.env = self._guard(self._params, {}) or {}
        self._guard(self._blocks)
        inputs = self._guard(self._inputs, ()) or ()
        top = _Scope("", {i.name: Ref(i.name) for i in inputs}, None)
        for spec in inputs:
            self.taken[spec.name] = spec.location
        last = None
        graph = data.get("graph")
        if graph is None:
            self.errors.add(
                BlueprintError(
                    "a blueprint needs a 'graph'",
                    Location(self.doc.file, 1, 1),
                    expected="a list of layer nodes under 'graph:'",
                )
            )
        elif not isinstance(graph, list):
            self.errors.add(
                BlueprintError(
                    "'graph' must be a list of nodes",
                    (self.root / "graph").loc,
                    received=Plain(f"a {ValueType.name_of(graph)}"),
                )
            )
        else:
            previous = Ref(inputs[0].name) if len(inputs) == 1 else None
            last = self._guard(
                self._sequence, None, graph, self.root / "graph", self.env, top, previous
            )
            self._guard(self._link, None, top)
        self.errors.raise_if_any()
        outputs = self._outputs(data.get("outputs"), top, last)
        compile_spec = self._guard(self._compile, None, data.get("compile"), outputs)
        self.errors.raise_if_any()
        nodes = self._check_graph(inputs, outputs)
        self.errors.raise_if_any()
        models = self._models(data.get("models"), top, nodes, inputs)
        return Blueprint(
            name=name,
            description=description,
            inputs=tuple(inputs),
            nodes=nodes,
            outputs=tuple(outputs),
            output_names=tuple(_output_name(r) for r in outputs),
            compile=compile_spec,
            models=models,
            params=freeze(self.env),
            source=self.doc.file,
            document=self.doc,
        )

    def _guard(self, fn, default=None, *args):
        try:
            return fn(*args)
        except BlueprintError as err:
            self.errors.add(err)
            return default

    # -- values ------------------------------------------------------------------------
    def _subst(self, value: Any, env: Mapping[str, Any], where: _Where) -> Any:
        if isinstance(value, str):
            if not has_expression(value):
                return value
            try:
                return substitute(value, env)
            except ExpressionError as exc:
                raise BlueprintError(
                    exc.message,
                    where.text_loc.shifted(exc.offset),
                    path=where.path,
                    expected=exc.expected,
                    received=exc.received,
                    hint=exc.hint,
                ) from None
        if isinstance(value, dict):
            return {k: self._subst(v, env, where / k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._subst(v, env, where / i) for i, v in enumerate(value)]
        return value

    def _string(self, value: Any, where: _Where) -> str:
        if not isinstance(value, str):
            raise BlueprintError(
                f"'{where.path[-1]}' must be a string", where.loc, path=where.path, received=value
            )
        return value

    # -- params ------------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        raw = self.doc.data.get("params")
        if raw is None:
            return {}
        where = self.root / "params"
        if not isinstance(raw, dict):
            raise BlueprintError(
                "'params' must be a mapping of names to values",
                where.loc,
                received=Plain(ValueType.name_of(raw)),
            )
        for key in raw:
            if not NAME_RE.match(key) or "-" in key:
                raise BlueprintError(
                    f"'{key}' is not a valid parameter name",
                    (where / key).key_loc,
                    expected="letters, digits and underscores, not starting with a digit",
                )
        deps: dict[str, set[str]] = {}
        for key, value in raw.items():
            deps[key] = self._names_in(value, where / key) & set(raw)
        values: dict[str, Any] = {}
        visiting: list[str] = []

        def visit(key: str) -> None:
            if key in values:
                return
            if key in visiting:
                cycle = " -> ".join([*visiting[visiting.index(key) :], key])
                raise BlueprintError(
                    "parameters refer to each other in a cycle",
                    (where / key).loc,
                    received=Plain(cycle),
                )
            visiting.append(key)
            for dep in sorted(deps[key]):
                visit(dep)
            visiting.pop()
            values[key] = self._subst(raw[key], values, where / key)

        for key in raw:
            visit(key)
        return {k: values[k] for k in raw}

    def _names_in(self, value: Any, where: _Where) -> set[str]:
        if isinstance(value, str) and has_expression(value):
            try:
                return names_used(value)
            except ExpressionError as exc:
                raise BlueprintError(
                    exc.message, where.text_loc.shifted(exc.offset), hint=exc.hint
                ) from None
        if isinstance(value, dict):
            return set().union(*(self._names_in(v, where / k) for k, v in value.items()))
        if isinstance(value, list):
            return set().union(*(self._names_in(v, where / i) for i, v in enumerate(value)))
        return set()

    # -- inputs ------------------------------------------------------------------------
    def _inputs(self) -> tuple[InputSpec, ...]:
        raw = self.doc.data.get("inputs")
        where = self.root / "inputs"
        if raw is None:
            raise BlueprintError(
                "a blueprint needs 'inputs'",
                Location(self.doc.file, 1, 1),
                expected="a mapping such as  inputs: {image: {shape: [28, 28, 1]}}",
            )
        if not isinstance(raw, dict) or not raw:
            raise BlueprintError(
                "'inputs' must be a non-empty mapping of input names to shapes",
                where.loc,
                received=raw if not isinstance(raw, dict) else Plain("an empty mapping"),
                hint="For example:  inputs: {image: {shape: [28, 28, 1], dtype: float32}}",
            )
        specs = []
        for name, spec in raw.items():
            w = where / name
            if not NAME_RE.match(name):
                self.errors.add(BlueprintError(f"'{name}' is not a valid input name", w.key_loc))
                continue
            try:
                specs.append(self._input(name, self._subst(spec, self.env, w), w))
            except BlueprintError as err:
                self.errors.add(err)
        return tuple(specs)

    def _input(self, name: str, spec: Any, w: _Where) -> InputSpec:
        if isinstance(spec, list):
            spec = {"shape": spec}
        if not isinstance(spec, dict):
            raise BlueprintError(
                f"input '{name}' must be a shape list or a mapping",
                w.loc,
                received=spec,
                hint="For example:  {shape: [28, 28, 1], dtype: float32}",
            )
        allowed = ("shape", "dtype", "batch_size", "sparse", "doc")
        for key in spec:
            if key not in allowed:
                raise BlueprintError.unknown_name(
                    f"a field of input '{name}'", key, allowed, (w / key).key_loc
                )
        shape = spec.get("shape")
        if not isinstance(shape, list) or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in shape
        ):
            raise BlueprintError(
                f"the shape of input '{name}' is not valid",
                (w / "shape").loc if "shape" in spec else w.loc,
                expected="a list of positive integers or null (batch dimension excluded)",
                received=shape if "shape" in spec else Plain("no shape"),
            )
        dtype = spec.get("dtype", "float32")
        if dtype not in DTYPES:
            raise BlueprintError.unknown_name("a dtype", str(dtype), DTYPES, (w / "dtype").loc)
        batch = spec.get("batch_size")
        if batch is not None and (
            not isinstance(batch, int) or isinstance(batch, bool) or batch < 1
        ):
            raise BlueprintError(
                "'batch_size' must be a positive integer", (w / "batch_size").loc, received=batch
            )
        sparse = spec.get("sparse", False)
        if not isinstance(sparse, bool):
            raise BlueprintError(
                "'sparse' must be true or false", (w / "sparse").loc, received=sparse
            )
        return InputSpec(name, tuple(shape), dtype, batch, sparse, w.key_loc)

    # -- blocks ------------------------------------------------------------------------
    def _blocks(self) -> None:
        sources: list[tuple[str, Any, _Where]] = []
        for name, (body, other) in self.doc.imported_blocks.items():
            sources.append((name, body, _Where(other, ("blocks", name))))
        raw = self.doc.data.get("blocks")
        if raw is not None:
            where = self.root / "blocks"
            if not isinstance(raw, dict):
                raise BlueprintError(
                    "'blocks' must be a mapping of block names to definitions", where.loc
                )
            sources += [(name, body, where / name) for name, body in raw.items()]
        for name, body, w in sources:
            try:
                self.blocks[name] = self._block_def(name, body, w)
            except BlueprintError as err:
                self.errors.add(err)

    def _block_def(self, name: str, body: Any, w: _Where) -> _BlockDef:
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
            pname: self._block_param(pname, spec, w / "params" / pname)
            for pname, spec in raw_params.items()
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
        return _BlockDef(name, params, tuple(inputs), body["graph"], body.get("outputs"), w)

    def _block_param(self, name: str, spec: Any, w: _Where) -> BlockParam:
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

    # -- graph -------------------------------------------------------------------------
    def _sequence(
        self,
        items: list[Any],
        where: _Where,
        env: Mapping[str, Any],
        scope: _Scope,
        previous: Ref | None,
    ) -> Ref | None:
        for i, item in enumerate(items):
            try:
                previous = self._item(item, where / i, env, scope, previous)
            except _Skip:
                previous = _POISONED
            except BlueprintError as err:
                self.errors.add(err)
                previous = _POISONED  # the next node's input is unknown: do not report it too
        return previous

    def _item(
        self, item: Any, w: _Where, env: Mapping[str, Any], scope: _Scope, previous: Ref | None
    ) -> Ref | None:
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict):
            raise BlueprintError(
                "a graph node must be a layer or block name, or a mapping",
                w.loc,
                received=item if not isinstance(item, list) else Plain("a list"),
                hint="For example:  - Dense: {units: 64}",
            )
        if "when" in item:
            cond = self._subst(item["when"], env, w / "when")
            if not isinstance(cond, bool):
                raise BlueprintError(
                    "'when' must be true or false", (w / "when").loc, received=cond
                )
            if not cond:
                return previous
        count = 1
        if "repeat" in item:
            count = self._subst(item["repeat"], env, w / "repeat")
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
        for index in range(count):
            local = {**env, var: index} if "repeat" in item else env
            if "graph" in item:
                previous = self._group(item, w, local, scope, previous)
            else:
                previous = self._node(item, w, local, scope, previous)
        return previous

    def _group(
        self,
        item: dict[str, Any],
        w: _Where,
        env: Mapping[str, Any],
        scope: _Scope,
        previous: Ref | None,
    ) -> Ref | None:
        extra = [k for k in item if k not in ("graph", "repeat", "as", "when", "from", "doc")]
        if extra:
            raise BlueprintError(
                f"a group (a node with 'graph') takes no '{extra[0]}'",
                (w / extra[0]).key_loc,
                expected="'graph' with optional 'repeat', 'as', 'when', 'from'",
                hint="Groups have no name of their own: name the nodes inside."
                if extra[0] in ("name", "share")
                else "Put the layer inside the group's graph.",
            )
        if not isinstance(item["graph"], list):
            raise BlueprintError("a group's 'graph' must be a list", (w / "graph").loc)
        if "from" in item:
            refs = self._from_positional(self._subst(item["from"], env, w / "from"), w / "from")
            if len(refs) != 1:
                raise BlueprintError(
                    "a group's 'from' takes one reference", (w / "from").loc, received=item["from"]
                )
            # Unlike a node's 'from', it must name something defined above: it feeds
            # the group's first node now.
            previous = self._input_ref(scope, refs[0])
        return self._sequence(item["graph"], w / "graph", env, scope, previous)

    def _node(
        self,
        item: dict[str, Any],
        w: _Where,
        env: Mapping[str, Any],
        scope: _Scope,
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
            return self._share(item, w, env, scope, previous)
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
        if args_raw is None:
            args_raw = {}
        if not isinstance(args_raw, dict):
            raise BlueprintError(
                f"the arguments of '{type_name}' must be a mapping",
                tw.loc,
                received=args_raw,
                hint=f"For example:  - {type_name}: {{...}}",
            )
        args = self._subst(args_raw, env, tw)
        explicit = self._subst(item["name"], env, w / "name") if "name" in item else None
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
        inputs, call_inputs = self._from(item, w, env, previous)
        if block is not None:
            return self._expand_block(block, args, explicit, inputs, w, env, scope)
        name = self._name(explicit, type_name if entry is None else entry.name, w, scope)
        if entry is None:
            py = BLOCKS.lookup(type_name)
            if len(inputs) > 1 and not py.many_inputs:
                raise BlueprintError(
                    f"block '{py.name}' takes one input",
                    (w / "from").loc,
                    received=Plain(f"{len(inputs)} inputs"),
                    hint="A Python block takes several when its first parameter is annotated"
                    " as a list.",
                )
            if call_inputs:
                raise BlueprintError(
                    f"block '{py.name}' takes its inputs positionally",
                    (w / "from").loc,
                    received=Plain(", ".join(call_inputs)),
                    hint="Write  from: [a, b]  and annotate the first parameter as a list.",
                )
            checked = self._block_args(py.name, py.params, args, tw, scope.context)
            node = _Pending(
                name,
                "block",
                py.name,
                checked,
                inputs,
                call_inputs,
                None,
                w,
                {},
                scope,
                scope.context,
            )
        else:
            self._check_call_keys(entry, call_inputs, w / "from", scope.context)
            checked, locs = self._layer_args(entry, args, tw, scope.context)
            node = _Pending(
                name,
                "layer",
                entry.name,
                checked,
                inputs,
                call_inputs,
                None,
                w,
                locs,
                scope,
                scope.context,
            )
        self._add(node, scope)
        return Ref(name, location=w.loc)

    def _share(self, item, w, env, scope, previous) -> Ref:
        target = self._subst(item["share"], env, w / "share")
        if not isinstance(target, str):
            raise BlueprintError(
                "'share' takes the name of another layer node", (w / "share").loc, received=target
            )
        explicit = self._subst(item["name"], env, w / "name") if "name" in item else None
        inputs, call_inputs = self._from(item, w, env, previous)
        name = self._name(explicit, f"{target}_shared", w, scope)
        node = _Pending(
            name,
            "share",
            "",
            {},
            inputs,
            call_inputs,
            (target, w / "share"),
            w,
            {},
            scope,
            scope.context,
        )
        self._add(node, scope)
        return Ref(name, location=w.loc)

    def _add(self, node: _Pending, scope: _Scope) -> None:
        if len(self.pending) >= MAX_NODES:
            raise BlueprintError(
                "the graph expands to too many nodes",
                node.where.loc,
                expected=f"at most {MAX_NODES}",
            )
        self.pending.append(node)
        scope.members.append(node)

    def _name(self, explicit: Any, type_name: str, w: _Where, scope: _Scope) -> str:
        if explicit is not None:
            if not isinstance(explicit, str) or not NAME_RE.match(explicit):
                raise BlueprintError(
                    "a node name must be letters, digits, '_' or '-', not starting with a digit",
                    (w / "name").loc,
                    received=explicit,
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
            full, n = base, 0
            while full in self.taken:
                n += 1
                full = f"{base}_{n}"
            local = full[len(scope.prefix) :]
        self.taken[full] = w.loc
        scope.names[local] = Ref(full, location=w.loc)
        return full

    # -- references --------------------------------------------------------------------
    def _from(self, item, w, env, previous: Ref | None):
        if "from" not in item and previous is _POISONED:
            raise _Skip
        if "from" not in item:
            if previous is None:
                raise BlueprintError(
                    "this node needs 'from': no single previous node gives its input",
                    w.loc,
                    hint="The model has several inputs, or this node follows an error; name its"
                    " input with  from: INPUT_OR_NODE",
                )
            return [_Input(str(previous), w, previous)], {}
        value = self._subst(item["from"], env, w / "from")
        fw = w / "from"
        if isinstance(value, dict):
            positional = value.get("inputs")
            inputs = (
                self._from_positional(positional, fw / "inputs") if positional is not None else []
            )
            if not inputs:
                if previous is None:
                    raise BlueprintError("'from' needs 'inputs' here", fw.loc)
                inputs = [_Input(str(previous), fw, previous)]
            call = {}
            for key, v in value.items():
                if key == "inputs":
                    continue
                refs = self._from_positional(v, fw / key)
                call[key] = refs if isinstance(v, list) else refs[0]
            return inputs, call
        return self._from_positional(value, fw), {}

    def _check_call_keys(
        self, entry: LayerEntry, call_inputs: Mapping[str, Any], fw: _Where, context
    ) -> None:
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

    def _from_positional(self, value: Any, w: _Where) -> list[_Input]:
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
                )
            out.append(_Input(v, iw))
        if not out:
            raise BlueprintError(
                "'from' is empty", w.loc, expected="at least one node or input name"
            )
        return out

    def _lookup_ref(self, scope: _Scope, text: str, where: _Where) -> Ref:
        m = REF_RE.match(text)
        base, index = m.group(1), m.group(2)
        target = scope.names.get(base)
        if target is None:
            raise BlueprintError.unknown_name(
                "a node or input defined here",
                base,
                list(scope.names),
                where.loc,
                path=where.path,
                context=scope.context,
            )
        if isinstance(target, dict):  # a block instance: its first or its named output
            key = index if index is not None else next(iter(target))
            if key not in target and key.isdigit() and int(key) < len(target):
                key = list(target)[int(key)]
            if key not in target:
                raise BlueprintError.unknown_name(
                    f"an output of block instance '{base}'", key, list(target), where.loc
                )
            return Ref(target[key].node, target[key].index, where.loc)
        if index is None:
            return Ref(target.node, target.index, where.loc)
        if target.index is not None:
            raise BlueprintError(
                f"'{base}' is already one output; it has no output '{index}'", where.loc
            )
        return Ref(target.node, int(index) if index.isdigit() else index, where.loc)

    def _input_ref(self, scope: _Scope, inp: _Input) -> Ref:
        return inp.ref if inp.ref is not None else self._lookup_ref(scope, inp.text, inp.where)

    def _link(self, scope: _Scope) -> None:
        for node in scope.members:
            try:
                node.resolved_inputs = tuple(self._input_ref(scope, i) for i in node.inputs)
                node.resolved_call = {
                    key: tuple(self._input_ref(scope, i) for i in value)
                    if isinstance(value, list)
                    else self._input_ref(scope, value)
                    for key, value in node.call_inputs.items()
                }
                if node.share is not None:
                    text, sw = node.share
                    if isinstance(scope.names.get(text), dict):
                        raise BlueprintError(
                            f"'share' must name a layer node; '{text}' is a block instance",
                            sw.loc,
                            hint=f"Share one of its layers by its full name, e.g. '{text}_...'.",
                        )
                    ref = self._lookup_ref(scope, text, sw)
                    node.share = (ref.node, sw)
            except BlueprintError as err:
                self.errors.add(err)

    # -- blocks ------------------------------------------------------------------------
    def _expand_block(
        self, block: _BlockDef, args, explicit, inputs, w: _Where, env, scope: _Scope
    ) -> Ref:
        tw = w / block.name
        values = self._block_args(block.name, block.params, args, tw, scope.context)
        name = self._name(explicit, block.name, w, scope)  # reserved: it prefixes the layers
        if len(inputs) != len(block.inputs):
            raise BlueprintError(
                f"block '{block.name}' takes {len(block.inputs)} input(s)",
                (w / "from").loc if w.doc.sources.values.get((*w.path, "from")) else w.loc,
                expected=", ".join(block.inputs),
                received=Plain(f"{len(inputs)} input(s)"),
            )
        if block.name in self.expanding:
            chain = " -> ".join([*self.expanding, block.name])
            raise BlueprintError(
                f"block '{block.name}' uses itself",
                tw.key_loc,
                received=Plain(chain),
                hint="Blocks cannot be recursive; use 'repeat' for a chain of copies.",
            )
        outer = [self._input_ref(scope, i) for i in inputs]  # defined above the block
        context = f"in block '{name}'" + (f", {scope.context}" if scope.context else "")
        inner = _Scope(f"{name}_", dict(zip(block.inputs, outer, strict=True)), context)
        body_env = {**self.env, **values}
        self.expanding.append(block.name)
        try:
            last = self._sequence(
                block.graph,
                block.where / "graph",
                body_env,
                inner,
                outer[0] if len(outer) == 1 else None,
            )
        finally:
            self.expanding.pop()
        self._link(inner)
        out_spec = block.outputs
        if out_spec is None:
            if last is None:
                raise BlueprintError(f"block '{block.name}' has no output", block.where.loc)
            result = {last.node.removeprefix(inner.prefix): last}
        elif isinstance(out_spec, str):
            result = {out_spec: self._lookup_ref(inner, out_spec, block.where / "outputs")}
        else:  # a non-empty list of names, checked with the block's definition
            result = {
                n: self._lookup_ref(inner, n, block.where / "outputs" / i)
                for i, n in enumerate(out_spec)
            }
        scope.names[name[len(scope.prefix) :]] = result  # INSTANCE or INSTANCE.OUTPUT
        return next(iter(result.values()))

    def _block_args(
        self, block: str, params: Mapping[str, BlockParam], args: dict, tw: _Where, context
    ) -> dict:
        """Checks a block's arguments, raising all their errors at once (no expansion)."""
        out = {}
        errors = ErrorCollector()
        for key, value in args.items():
            spec = params.get(key)
            if spec is None:
                errors.add(
                    BlueprintError.unknown_name(
                        f"a parameter of block '{block}'",
                        key,
                        list(params),
                        (tw / key).key_loc,
                        context=context,
                    )
                )
                continue
            if not spec.type.accepts(value):
                errors.add(
                    BlueprintError(
                        f"parameter '{key}' of block '{block}' has the wrong type",
                        (tw / key).loc,
                        expected=f"a value of type {spec.type}",
                        received=value,
                        context=context,
                    )
                )
                continue
            if spec.choices and value not in spec.choices:
                errors.add(
                    BlueprintError(
                        f"parameter '{key}' of block '{block}' is not one of its choices",
                        (tw / key).loc,
                        expected="one of: " + ", ".join(map(str, spec.choices)),
                        received=value,
                        hint=did_you_mean(str(value), map(str, spec.choices)) or None,
                    )
                )
                continue
            out[key] = value
        missing = [p.name for p in params.values() if p.required and p.name not in args]
        if missing:
            errors.add(
                BlueprintError(
                    f"block '{block}' needs {', '.join(repr(m) for m in missing)}",
                    tw.key_loc,
                    expected="values for: " + ", ".join(missing),
                    context=context,
                )
            )
        errors.raise_if_any()
        return {**{p.name: p.default for p in params.values() if not p.required}, **out}

    # -- layers ------------------------------------------------------------------------
    def _layer_args(self, entry: LayerEntry, args: dict, tw: _Where, context) -> tuple[dict, dict]:
        out, locs = {}, {}
        misspelt: set[str] = set()
        for key, value in args.items():
            aw = tw / key
            if key not in entry.params:
                misspelt.update(closest(key, entry.params))
                self.errors.add(
                    BlueprintError.unknown_name(
                        f"an argument of {entry.name}",
                        key,
                        list(entry.params),
                        aw.key_loc,
                        path=aw.path,
                        context=context,
                        ordered=True,
                    )
                )
                continue
            nested = entry.nested(key)
            try:
                if nested == "layer" and value is not None:
                    value = self._nested_layer(value, aw, context)
                elif nested == "layers":
                    if not isinstance(value, list):
                        raise BlueprintError(
                            f"'{key}' takes a list of layers", aw.loc, received=value
                        )
                    value = [self._nested_layer(v, aw / i, context) for i, v in enumerate(value)]
                else:
                    _check_safe(value, aw)
            except BlueprintError as err:
                self.errors.add(err)
                continue
            out[key] = value
            locs[key] = aw.loc
        missing = [p for p in entry.required if p not in args and p not in misspelt]
        if missing:
            raise BlueprintError(
                f"{entry.name} needs {', '.join(repr(m) for m in missing)}",
                tw.key_loc,
                expected="required arguments: " + ", ".join(entry.required),
                context=context,
            )
        return out, locs

    def _nested_layer(self, value: Any, w: _Where, context) -> NestedLayer:
        if isinstance(value, str):
            value = {value: {}}
        if not isinstance(value, dict) or len(value) != 1:
            raise BlueprintError(
                "a nested layer is written as a one-key mapping",
                w.loc,
                expected="e.g.  layer: {LSTM: {units: 32}}",
                received=value,
            )
        ((type_name, args),) = value.items()
        tw = w / type_name
        reason = refused_layer_reason(type_name)
        if reason is not None:
            raise BlueprintError(
                f"'{type_name}' is not allowed in blueprints", tw.key_loc, hint=reason
            )
        entry = LAYERS.lookup(type_name, tw.key_loc, path=tw.path, context=context)
        if not isinstance(args, dict | None):
            raise BlueprintError(
                f"the arguments of '{type_name}' must be a mapping",
                tw.loc,
                received=args,
                hint=f"For example:  {{{type_name}: {{...}}}}",
            )
        checked, _ = self._layer_args(entry, args or {}, tw, context)
        return NestedLayer(entry.name, freeze(checked), tw.key_loc)

    # -- outputs and compile -----------------------------------------------------------
    def _outputs(self, raw: Any, top: _Scope, last: Ref | None) -> list[Ref]:
        w = self.root / "outputs"
        if raw is None:
            if last is None:
                raise BlueprintError("the graph has no output", Location(self.doc.file, 1, 1))
            return [last]
        raw = self._subst(raw, self.env, w)
        items = raw if isinstance(raw, list) else [raw]
        out = []
        for i, text in enumerate(items):
            iw = w / i if isinstance(raw, list) else w
            if not isinstance(text, str) or not REF_RE.match(text):
                self.errors.add(BlueprintError("'outputs' takes node names", iw.loc, received=text))
                continue
            try:
                out.append(self._lookup_ref(top, text, iw))
            except BlueprintError as err:
                self.errors.add(err)
        if not out and not self.errors.errors:
            self.errors.add(
                BlueprintError("'outputs' is empty", w.loc, expected="at least one node name")
            )
        self.errors.raise_if_any()
        return out

    def _compile(self, raw: Any, outputs: list[Ref]) -> CompileSpec | None:
        if raw is None:
            return None
        w = self.root / "compile"
        if not isinstance(raw, dict):
            raise BlueprintError("'compile' must be a mapping", w.loc, received=raw)
        raw = self._subst(raw, self.env, w)
        allowed = ("optimizer", "loss", "metrics", "loss_weights", *COMPILE_EXTRA)
        for key in raw:
            if key not in allowed:
                raise BlueprintError.unknown_name(
                    "a compile setting", key, allowed, (w / key).key_loc
                )
        optimizer, opt_args = "rmsprop", {}
        if "optimizer" in raw:
            optimizer, opt_args = _named_with_args(
                raw["optimizer"], w / "optimizer", "an optimizer"
            )
        names = [_output_name(r) for r in outputs]
        for key in ("loss", "metrics", "loss_weights"):
            value = raw.get(key)
            if isinstance(value, dict) and not _is_named_object(value):
                for out_name in value:
                    if out_name not in names:
                        raise BlueprintError.unknown_name(
                            "a model output",
                            out_name,
                            names,
                            (w / key / out_name).key_loc,
                            extra_hint=f"'{key}' may map output names to values.",
                        )
            flat = isinstance(value, str) or (
                isinstance(value, list) and any(not isinstance(v, list) for v in value)
            )
            if key == "metrics" and len(names) > 1 and flat:
                raise BlueprintError(
                    "with several outputs, 'metrics' says which output each metric is for",
                    (w / key).loc,
                    expected=f"a mapping such as {{{names[0]}: [accuracy]}} or one list per output",
                    received=value,
                )
            if (
                isinstance(value, list)
                and key in ("loss", "loss_weights")
                and len(value) != len(names)
            ):
                raise BlueprintError(
                    f"'{key}' gives one value per output",
                    (w / key).loc,
                    expected=f"{len(names)} values ({', '.join(names)})",
                    received=Plain(f"{len(value)} values"),
                )
        _check_safe(raw, w)
        return CompileSpec(
            optimizer=optimizer,
            optimizer_args=freeze(opt_args),
            loss=freeze(raw.get("loss")),
            metrics=freeze(raw.get("metrics")),
            loss_weights=freeze(raw.get("loss_weights")),
            extra=freeze({k: raw[k] for k in COMPILE_EXTRA if k in raw}),
            location=w.loc,
        )

    # -- further models ----------------------------------------------------------------
    def _models(
        self, raw: Any, top: _Scope, nodes: tuple[Node, ...], inputs: tuple[InputSpec, ...]
    ) -> tuple[SubModel, ...]:
        if raw is None:
            return ()
        w = self.root / "models"
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
                models.append(self._model(name, spec, w / name, top, by_name, inputs))
            except BlueprintError as err:
                self.errors.add(err)
        self.errors.raise_if_any()
        return tuple(models)

    def _model(self, name, spec, mw: _Where, top: _Scope, by_name, inputs) -> SubModel:
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
        raw_inputs = self._subst(spec["inputs"], self.env, mw / "inputs")
        if isinstance(raw_inputs, dict):  # {new_input_name: node}
            pairs = [(k, v, mw / "inputs" / k) for k, v in raw_inputs.items()]
        else:
            items = raw_inputs if isinstance(raw_inputs, list) else [raw_inputs]
            pairs = [(None, v, mw / "inputs" / i) for i, v in enumerate(items)]
        sub_inputs = []
        for input_name, text, iw in pairs:
            (inp,) = self._from_positional(text, iw)
            ref = self._lookup_ref(top, inp.text, iw)
            sub_inputs.append((input_name or str(ref).replace(".", "_"), ref))
        raw_outputs = self._subst(spec["outputs"], self.env, mw / "outputs")
        items = raw_outputs if isinstance(raw_outputs, list) else [raw_outputs]
        outputs = []
        for i, text in enumerate(items):
            ow = mw / "outputs" / i if isinstance(raw_outputs, list) else mw / "outputs"
            (inp,) = self._from_positional(text, ow)
            outputs.append(self._lookup_ref(top, inp.text, ow))
        input_names = {i.name for i in inputs}
        # Fed by the main model's own inputs, the model is a cut of the main graph and
        # replays nothing (Python blocks allowed); fed by inner nodes, it replays.
        direct = all(
            r.index is None and r.node in input_names and n == r.node for n, r in sub_inputs
        )
        replay = self._replay_set(name, sub_inputs, outputs, by_name, input_names, mw, direct)
        order = () if direct else tuple(n for n in by_name if n in replay)
        return SubModel(name, tuple(sub_inputs), tuple(outputs), order, mw.key_loc)

    def _replay_set(
        self, model, sub_inputs, outputs, by_name, input_names, mw, direct: bool
    ) -> set[str]:
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

    # -- graph checks ------------------------------------------------------------------
    def _check_graph(self, inputs: tuple[InputSpec, ...], outputs: list[Ref]) -> tuple[Node, ...]:
        by_name = {p.name: p for p in self.pending}
        for p in self.pending:
            if p.kind == "share":
                target_name, sw = p.share
                target = by_name.get(target_name)
                if target is None or target.kind != "layer":
                    self.errors.add(
                        BlueprintError(
                            f"'share' must name a layer node; '{target_name}' is "
                            + ("an input" if target is None else f"a {target.kind}"),
                            sw.loc,
                        )
                    )
                    continue
                p.type = target.type
                try:
                    self._check_call_keys(
                        LAYERS.lookup(p.type), p.call_inputs, p.where / "from", p.context
                    )
                except BlueprintError as err:
                    self.errors.add(err)
        self.errors.raise_if_any()
        # Topological order (Kahn), so forward references are allowed and cycles are found.
        deps = {
            p.name: {r.node for r in (*p.resolved_inputs, *_flat(p.resolved_call))} & set(by_name)
            for p in self.pending
        }
        for p in self.pending:
            if p.kind == "share":
                deps[p.name].add(p.share[0])
        order: list[str] = []
        ready = [p.name for p in self.pending if not deps[p.name]]
        remaining = {k: set(v) for k, v in deps.items()}
        users: dict[str, list[str]] = {}
        for k, v in deps.items():
            for d in v:
                users.setdefault(d, []).append(k)
        while ready:
            n = ready.pop(0)
            order.append(n)
            for u in users.get(n, []):
                remaining[u].discard(n)
                if not remaining[u]:
                    ready.append(u)
        if len(order) < len(self.pending):
            stuck = [p for p in self.pending if p.name not in set(order)]
            cycle = _find_cycle({p.name: remaining[p.name] for p in stuck})
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
                stack.extend(r.node for r in (*node.resolved_inputs, *_flat(node.resolved_call)))
        for p in self.pending:
            if p.name not in needed:
                self.errors.add(
                    BlueprintError(
                        f"node '{p.name}' is not used",
                        p.where.loc,
                        context=p.context,
                        hint="Nothing takes its output and it is not a model output: list it under"
                        " 'outputs' or remove it.",
                    )
                )
        for spec in inputs:
            if spec.name not in needed:
                self.errors.add(
                    BlueprintError(
                        f"input '{spec.name}' is not used",
                        spec.location,
                        hint="Remove it, or take it with  from: " + spec.name,
                    )
                )
        return tuple(_freeze_node(by_name[n]) for n in order)


def _freeze_node(p: _Pending) -> Node:
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


def _flat(call: Mapping[str, Any]) -> list[Ref]:
    out = []
    for v in call.values():
        out.extend(v if isinstance(v, tuple | list) else [v])
    return out


def _find_cycle(graph: dict[str, set[str]]) -> list[str]:
    start = next(iter(graph))
    path, seen = [start], {start}
    while True:
        nxt = next(iter(sorted(graph[path[-1]] & set(graph))))
        if nxt in seen:
            return path[path.index(nxt) :]
        path.append(nxt)
        seen.add(nxt)


def _output_name(ref: Ref) -> str:
    return ref.node  # Keras names a model output after the layer that produced it


def _default_name(doc: Document) -> str:
    if doc.path is not None:
        return doc.path.stem
    return "blueprint"


def _is_named_object(value: dict) -> bool:
    """True for ``{ClassName: {args}}`` (one key, CamelCase), as opposed to a per-output mapping."""
    if len(value) != 1:
        return False
    (key,) = value
    return key[:1].isupper()


def _named_with_args(value: Any, w: _Where, what: str) -> tuple[str, dict]:
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict) and len(value) == 1:
        ((name, args),) = value.items()
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise BlueprintError(
                f"the arguments of {what} must be a mapping", (w / name).loc, received=args
            )
        return name, args
    raise BlueprintError(
        f"{what} is a name or a one-key mapping of name to arguments",
        w.loc,
        expected="e.g.  adam  or  {adam: {learning_rate: 0.001}}",
        received=value,
    )


def _check_safe(value: Any, w: _Where) -> None:
    """Refuses serialized-object configs that could make Keras import or run code."""
    if isinstance(value, dict):
        module = value.get("module")
        if isinstance(module, str) and not module.startswith("keras"):
            raise BlueprintError(
                "a 'module' outside Keras is not allowed in a blueprint",
                (w / "module").loc,
                received=module,
                hint="Blueprints cannot import code; register custom objects from Python.",
            )
        if value.get("class_name") in UNSAFE_CLASS_NAMES:
            raise BlueprintError(
                f"'{value['class_name']}' objects are not allowed in a blueprint",
                (w / "class_name").loc,
                hint="Blueprints cannot contain code.",
            )
        for k, v in value.items():
            _check_safe(v, w / k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_safe(v, w / i)

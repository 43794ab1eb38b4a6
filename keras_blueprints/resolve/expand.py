"""Expanding the graph: the core of resolution, and :func:`resolve`, which runs it all.

In order: parameters are evaluated (:mod:`.sections`), ``when:`` and
``repeat:`` are applied, YAML blocks are expanded into nodes named
``INSTANCE_...``, every node gets a unique name (explicit, or ``dense``,
``dense_1``... like Keras), references (``from:``, ``share:``, ``outputs:``)
are resolved, layer arguments are checked against the layer's signature, and
the whole graph is checked (:mod:`.graph`). Independent errors are collected
and reported together. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keras_blueprints._core.errors import (
    BlueprintError,
    ErrorCollector,
    Location,
    Plain,
    closest,
    did_you_mean,
)
from keras_blueprints._core.limits import Limits
from keras_blueprints._core.paths import ReadRoots, check_read_path
from keras_blueprints.catalog.components import (
    BLOCKS,
    LAYERS,
    MISSING,
    BlockParam,
    LayerEntry,
    refused_layer_reason,
    snake_case,
)
from keras_blueprints.loading.document import CONTROL_KEYS, ComposedDocument
from keras_blueprints.loading.expressions import ExpressionError, has_expression, names_used
from keras_blueprints.loading.source import Document
from keras_blueprints.loading.valuetypes import ValueType
from keras_blueprints.resolve.arguments import check_arguments
from keras_blueprints.resolve.budget import check_data, check_inputs, check_params
from keras_blueprints.resolve.conditions import conditions_of
from keras_blueprints.resolve.context import ResolveContext
from keras_blueprints.resolve.graph import (
    POISONED,
    BlockDef,
    NodeInput,
    PendingNode,
    Scope,
    Skip,
    check_call_keys,
    check_graph,
)
from keras_blueprints.resolve.models import resolve_models
from keras_blueprints.resolve.schema import Blueprint, NestedLayer, Ref, freeze
from keras_blueprints.resolve.sections import (
    output_name,
    resolve_compile,
    resolve_inputs,
    resolve_params,
)
from keras_blueprints.resolve.spaces import Condition, DefaultProvider, SpaceProvider
from keras_blueprints.resolve.training import (
    resolve_data,
    resolve_runtime,
    resolve_train,
    resolve_tune,
)
from keras_blueprints.resolve.values import NAME_RE, REF_RE, Where, check_safe, substitute_at

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
    "data",
    "train",
    "tune",
    "runtime",
)
"""Sections of a composed blueprint (``extends``, ``imports`` and ``set`` are consumed earlier)."""

FILE_ARGUMENTS = {
    "StringLookup": ("vocabulary",),
    "IntegerLookup": ("vocabulary",),
    "TextVectorization": ("vocabulary",),
}
"""Keras layer arguments that Keras reads as a file path when given a string: the file is
read when the model is built and stored inside the saved model, so it is held to the
blueprint's read rule (:mod:`keras_blueprints._core.paths`)."""

MAX_VOCABULARY_BYTES = 256 * 1024 * 1024
"""Largest vocabulary file a layer may name (256 MiB; Keras reads it whole)."""

MAX_REPEAT = 10_000
MAX_NODES = 100_000


def resolve(
    doc: ComposedDocument,
    provider: SpaceProvider | None = None,
    reads: ReadRoots | None = None,
    limits: Limits | None = None,
) -> Blueprint:
    """Resolves a composed document into a :class:`Blueprint`.

    Args:
        doc: The document after extends and overrides.
        provider: Chooses the values of search spaces (default: each space's default).
        reads: The folders the blueprint's data and vocabulary paths may be read below
            (default: its own folder and the current directory).
        limits: The parameter and data budgets (default: ``Limits.from_environment()``).

    Returns:
        The blueprint.

    Raises:
        BlueprintError: Every independent problem found, together.
    """
    ctx = ResolveContext(
        provider=provider if provider is not None else DefaultProvider(),
        reads=reads or ReadRoots.of(doc.path),
        limits=limits or Limits.from_environment(),
    )
    return _Resolver(doc, ctx).run()


class _Resolver:
    def __init__(self, doc: ComposedDocument, ctx: ResolveContext) -> None:
        self.doc = doc
        self.reads = ctx.reads
        self.limits = ctx.limits
        self.errors = ErrorCollector()
        self.env: dict[str, Any] = {}
        self.blocks: dict[str, BlockDef] = {}
        self.pending: list[PendingNode] = []
        self.taken: dict[str, Location] = {}
        self.suffixes: dict[str, int] = {}  # automatic name -> last suffix given
        self.expanding: list[str] = []  # YAML blocks being expanded (to refuse recursion)
        self.root = Where(doc, (), ctx)

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
        if "name" in data:
            self._guard(_check_run_name, None, name, self.root / "name")
        description = self._string(data.get("description", ""), self.root / "description")
        self.env = self._guard(resolve_params, {}, self.root) or {}
        self._guard(self._blocks)
        inputs = self._guard(resolve_inputs, (), self.root, self.env, self.errors) or ()
        top = Scope("", {i.name: Ref(i.name) for i in inputs}, None)
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
        compile_spec = self._guard(
            resolve_compile, None, data.get("compile"), outputs, self.root, self.env
        )
        self.errors.raise_if_any()
        nodes = check_graph(self.pending, inputs, outputs, self.errors)
        self.errors.raise_if_any()
        check_inputs(inputs, self.limits)
        check_params(nodes, inputs, self.limits)  # before anything is built
        models = resolve_models(
            data.get("models"),
            self.root,
            self.env,
            lambda text, where: self._ref_at(top, text, where),
            nodes,
            inputs,
            self.errors,
        )
        data_spec = self._guard(
            resolve_data, None, data.get("data"), self.root, self.env, self.reads
        )
        if data_spec is not None:
            self._guard(check_data, None, data_spec, inputs, self.root, self.limits)
        train_spec = self._guard(
            resolve_train, None, data.get("train"), self.root, self.env, [n.name for n in nodes]
        )
        tune_spec = self._guard(resolve_tune, None, data.get("tune"), self.root, self.env)
        runtime_spec = self._guard(resolve_runtime, None, data.get("runtime"), self.root, self.env)
        self.errors.raise_if_any()
        return Blueprint(
            name=name,
            description=description,
            inputs=tuple(inputs),
            nodes=nodes,
            outputs=tuple(outputs),
            output_names=tuple(output_name(r) for r in outputs),
            compile=compile_spec,
            models=models,
            data=data_spec,
            train=train_spec,
            tune=tune_spec,
            runtime=runtime_spec,
            params=freeze(self.env),
            source=self.doc.file,
            document=self.doc,
            limits=self.limits,
        )

    def _guard(self, fn, default=None, *args):
        try:
            return fn(*args)
        except BlueprintError as err:
            self.errors.add(err)
            return default

    # -- values ------------------------------------------------------------------------
    def _string(self, value: Any, where: Where) -> str:
        if not isinstance(value, str):
            raise BlueprintError(
                f"'{where.path[-1]}' must be a string", where.loc, path=where.path, received=value
            )
        return value

    # -- blocks ------------------------------------------------------------------------
    def _blocks(self) -> None:
        sources: list[tuple[str, Any, Where]] = []
        for name, (body, other) in self.doc.imported_blocks.items():
            sources.append((name, body, Where(other, ("blocks", name), self.root.ctx)))
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

    def _block_def(self, name: str, body: Any, w: Where) -> BlockDef:
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
        return BlockDef(name, params, tuple(inputs), body["graph"], body.get("outputs"), w)

    def _block_param(self, name: str, spec: Any, w: Where) -> BlockParam:
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
        where: Where,
        env: Mapping[str, Any],
        scope: Scope,
        previous: Ref | None,
    ) -> Ref | None:
        for i, item in enumerate(items):
            try:
                previous = self._item(item, where / i, env, scope, previous)
            except Skip:
                previous = POISONED
            except BlueprintError as err:
                self.errors.add(err)
                previous = POISONED  # the next node's input is unknown: do not report it too
        return previous

    def _item(
        self, item: Any, w: Where, env: Mapping[str, Any], scope: Scope, previous: Ref | None
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
        conditions: list[Condition] = []
        if "when" in item:
            cond = substitute_at(item["when"], env, w / "when")
            if not isinstance(cond, bool):
                raise BlueprintError(
                    "'when' must be true or false", (w / "when").loc, received=cond
                )
            if not cond:
                return previous
            conditions += conditions_of(item["when"], env, w / "when", lambda v: v is True)
        count = 1
        if "repeat" in item:
            count = substitute_at(item["repeat"], env, w / "repeat")
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
                previous = self._group(item, iw, local, scope, previous)
            else:
                previous = self._node(item, iw, local, scope, previous)
        return previous

    def _group(
        self,
        item: dict[str, Any],
        w: Where,
        env: Mapping[str, Any],
        scope: Scope,
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
            refs = self._from_positional(substitute_at(item["from"], env, w / "from"), w / "from")
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
        explicit = substitute_at(item["name"], env, w / "name") if "name" in item else None
        scope_name = scope.prefix + explicit if isinstance(explicit, str) else None
        named = tw.within(tw.ctx.naming(scope_name, tw.path)) if scope_name else tw
        args = substitute_at(args_raw, env, named)
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
            node = PendingNode(
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
            check_call_keys(entry, call_inputs, w / "from", scope.context)
            checked, locs = self._layer_args(entry, args, tw, scope.context)
            node = PendingNode(
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
        target = substitute_at(item["share"], env, w / "share")
        if not isinstance(target, str) or not NAME_RE.match(target):
            raise BlueprintError(
                "'share' takes the name of another layer node",
                (w / "share").loc,
                expected="a node name: letters, digits, '_' or '-', not starting with a digit",
                received=target,
            )
        explicit = substitute_at(item["name"], env, w / "name") if "name" in item else None
        inputs, call_inputs = self._from(item, w, env, previous)
        name = self._name(explicit, f"{target}_shared", w, scope)
        node = PendingNode(
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

    def _add(self, node: PendingNode, scope: Scope) -> None:
        if len(self.pending) >= MAX_NODES:
            raise BlueprintError(
                "the graph expands to too many nodes",
                node.where.loc,
                expected=f"at most {MAX_NODES}",
            )
        self.pending.append(node)
        scope.members.append(node)

    def _name(self, explicit: Any, type_name: str, w: Where, scope: Scope) -> str:
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

    # -- references --------------------------------------------------------------------
    def _from(self, item, w, env, previous: Ref | None):
        if "from" not in item and previous is POISONED:
            raise Skip
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
            inputs = (
                self._from_positional(positional, fw / "inputs") if positional is not None else []
            )
            if not inputs:
                if previous is None:
                    raise BlueprintError("'from' needs 'inputs' here", fw.loc)
                inputs = [NodeInput(str(previous), fw, previous)]
            call = {}
            for key, v in value.items():
                if key == "inputs":
                    continue
                refs = self._from_positional(v, fw / key)
                call[key] = refs if isinstance(v, list) else refs[0]
            return inputs, call
        return self._from_positional(value, fw), {}

    def _from_positional(self, value: Any, w: Where) -> list[NodeInput]:
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
            out.append(NodeInput(v, iw))
        if not out:
            raise BlueprintError(
                "'from' is empty", w.loc, expected="at least one node or input name"
            )
        return out

    def _lookup_ref(self, scope: Scope, text: str, where: Where) -> Ref:
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

    def _ref_at(self, scope: Scope, value: Any, where: Where) -> Ref:
        """Checks one reference as written and resolves it in ``scope``."""
        (inp,) = self._from_positional(value, where)
        return self._lookup_ref(scope, inp.text, where)

    def _input_ref(self, scope: Scope, inp: NodeInput) -> Ref:
        return inp.ref if inp.ref is not None else self._lookup_ref(scope, inp.text, inp.where)

    def _link(self, scope: Scope) -> None:
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
        self, block: BlockDef, args, explicit, inputs, w: Where, env, scope: Scope
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
        inner = Scope(f"{name}_", dict(zip(block.inputs, outer, strict=True)), context)
        body_env = {**self.env, **values}
        body = block.where.within(w.ctx)  # the instance's conditions hold in its body
        self.expanding.append(block.name)
        try:
            last = self._sequence(
                block.graph,
                body / "graph",
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
            result = {out_spec: self._lookup_ref(inner, out_spec, body / "outputs")}
        else:  # a non-empty list of names, checked with the block's definition
            result = {
                n: self._lookup_ref(inner, n, body / "outputs" / i) for i, n in enumerate(out_spec)
            }
        scope.names[name[len(scope.prefix) :]] = result  # INSTANCE or INSTANCE.OUTPUT
        return next(iter(result.values()))

    def _origin(self, where: Where) -> str | None:
        """Names the overrides behind a ``${}`` value, so an error leads back to them."""
        raw: Any = where.doc.data
        for part in where.path:
            try:
                raw = raw[part]
            except (KeyError, IndexError, TypeError):
                return None
        if not isinstance(raw, str) or not has_expression(raw):
            return None
        try:
            names = sorted(names_used(raw))
        except ExpressionError:
            return None
        found = []
        for name in names:
            setters = self.doc.provenance.why(("params", name))
            if setters and setters[0].line == 0:  # an override, not a file position
                found.append(f"'{name}' comes from {setters[0]}")
        return (
            ("The value is computed from parameters: " + "; ".join(found) + ".") if found else None
        )

    def _block_args(
        self, block: str, params: Mapping[str, BlockParam], args: dict, tw: Where, context
    ) -> dict:
        """Checks a block's arguments, raising all their errors at once (no expansion)."""
        return check_arguments(
            f"block '{block}'", params, args, tw, context=context, origin=self._origin
        )

    # -- layers ------------------------------------------------------------------------
    def _layer_args(self, entry: LayerEntry, args: dict, tw: Where, context) -> tuple[dict, dict]:
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
                    check_safe(value, aw)
                    if key in FILE_ARGUMENTS.get(entry.name, ()) and isinstance(value, str):
                        check_read_path(
                            value,
                            self.reads,
                            aw.loc,
                            f"the file of {entry.name}'s '{key}'",
                            max_bytes=MAX_VOCABULARY_BYTES,
                        )
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

    def _nested_layer(self, value: Any, w: Where, context) -> NestedLayer:
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
    def _outputs(self, raw: Any, top: Scope, last: Ref | None) -> list[Ref]:
        w = self.root / "outputs"
        if raw is None:
            if last is None:
                raise BlueprintError("the graph has no output", Location(self.doc.file, 1, 1))
            return [last]
        raw = substitute_at(raw, self.env, w)
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


def _check_run_name(name: str, where: Where) -> None:
    """Refuses a blueprint name that would lead a run directory (``runs/NAME-...``) elsewhere."""
    if any(ch in name for ch in "/\\\0") or name in ("", ".", ".."):
        raise BlueprintError(
            "a blueprint's name cannot hold a path",
            where.loc,
            expected="a plain name without '/' or '\\' (it names the run directories)",
            received=name,
            hint="Choose where a run goes with --run-dir",
        )


def _default_name(doc: Document) -> str:
    if doc.path is not None:
        return doc.path.stem
    return "blueprint"

"""Resolution in order: :func:`resolve` runs every step and collects their errors.

In order: the name and parameters (:mod:`.sections`), the YAML blocks
(:mod:`.blocks`), the inputs, the graph (:mod:`.nodes`: ``when:``, ``repeat:``,
block instances, names; layer arguments are checked by :mod:`.arguments`),
references (:mod:`.references`), the outputs and ``compile:``, the whole graph
(:mod:`.graph`), budgets (:mod:`.budget`), ``models:`` (:mod:`.models`) and the
training sections (:mod:`.training`); a blueprint without errors then gets the
warnings of :mod:`.unused` (parameters nothing uses). One :class:`~.context.ResolveContext`
is made per call and travels with every place read. Independent errors are
collected and reported together: when the graph has errors, the sections around
it are still read and checked, leaving out only what needs the graph (the
outputs' names, node names, the logged metrics), so that no error is a knock-on
of another. A parameter or an input that fails is reported once and poisoned: what
uses it fails as an unreported :class:`~keras_blueprints._core.errors.KnockOn`.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

from typing import Any

from keras_blueprints._core.errors import (
    BlueprintError,
    BlueprintErrors,
    ErrorCollector,
    Location,
    Plain,
)
from keras_blueprints._core.limits import Limits
from keras_blueprints._core.paths import ReadRoots
from keras_blueprints.loading.document import ComposedDocument
from keras_blueprints.loading.source import Document
from keras_blueprints.loading.valuetypes import ValueType
from keras_blueprints.resolve.blocks import read_blocks
from keras_blueprints.resolve.budget import check_data, check_inputs, check_params
from keras_blueprints.resolve.context import ResolveContext
from keras_blueprints.resolve.graph import (
    POISONED,
    Scope,
    check_graph,
)
from keras_blueprints.resolve.models import model_outputs, resolve_models
from keras_blueprints.resolve.monitors import certain_outputs, check_monitors
from keras_blueprints.resolve.nodes import Expansion
from keras_blueprints.resolve.references import link, read_outputs, ref_at
from keras_blueprints.resolve.schema import Blueprint, InputSpec, Node, Ref, SubModel, freeze
from keras_blueprints.resolve.sections import (
    output_name,
    resolve_compile,
    resolve_inputs,
    resolve_params,
)
from keras_blueprints.resolve.spaces import DefaultProvider, SpaceProvider
from keras_blueprints.resolve.training import (
    resolve_data,
    resolve_runtime,
    resolve_train,
    resolve_tune,
)
from keras_blueprints.resolve.unused import unused_parameters
from keras_blueprints.resolve.values import Where

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
    """One resolution: runs the steps in order, collecting their errors."""

    def __init__(self, doc: ComposedDocument, ctx: ResolveContext) -> None:
        self.doc = doc
        self.ctx = ctx
        self.errors = ErrorCollector()
        self.env: dict[str, Any] = {}
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
        env = self._guard(resolve_params, None, self.root, self.errors)
        self.env = env or {}
        graph_from = self.errors.failures
        blocks = self._guard(read_blocks, {}, self.doc, self.root, self.errors)
        inputs_from = self.errors.failures
        inputs = self._guard(resolve_inputs, (), self.root, self.env, self.errors) or ()
        inputs_ok = env is not None and self._clean(inputs_from)
        top = Scope("", {i.name: Ref(i.name) for i in inputs}, None)
        expansion = Expansion(self.doc, self.env, blocks, self.errors)
        for spec in inputs:
            expansion.names.taken[spec.name] = spec.location
            expansion.shapes.inputs[spec.name] = tuple(spec.shape)
        for failed in _failed_inputs(data.get("inputs"), inputs):  # no knock-on where used
            top.names[failed] = POISONED
            expansion.names.taken[failed] = (self.root / "inputs" / failed).key_loc
        last = self._graph(expansion, data.get("graph"), top, inputs)
        if env is None:  # every section may use the parameters: no knock-on errors
            self.errors.raise_if_any()
        # The graph's own checks only when it expanded cleanly; the sections around it
        # are read anyway, leaving out what needs the graph (outputs, node names).
        outputs: list[Ref] | None = None
        nodes: tuple[Node, ...] = ()
        if self._clean(graph_from):
            read = self._apart(
                read_outputs, [], data.get("outputs"), top, last, self.root, self.env
            )
            outputs = read if self._clean(graph_from) else None
        if outputs is not None:
            # What only a further model (models:) reads is used too.
            def lookup(text, where):
                return ref_at(top, text, where)

            further = model_outputs(data.get("models"), self.root, self.env, lookup)
            nodes = self._apart(check_graph, (), expansion.pending, inputs, [*outputs, *further])
        graph_ok = outputs is not None and self._clean(graph_from)
        compile_spec = self._guard(
            resolve_compile, None, data.get("compile"), outputs, self.root, self.env
        )
        budget_from = self.errors.failures
        if inputs_ok:
            self._guard(check_inputs, None, inputs, self.ctx.limits)
        inputs_fit = inputs_ok and self._clean(budget_from)  # else their data is too big too
        models: tuple[SubModel, ...] = ()
        if graph_ok:
            if inputs_fit:
                self._guard(check_params, None, nodes, inputs, self.ctx.limits)  # before building
            models = self._apart(
                resolve_models,
                (),
                data.get("models"),
                self.root,
                self.env,
                lambda text, where: ref_at(top, text, where),
                nodes,
                inputs,
            )
        data_spec = self._guard(
            resolve_data, None, data.get("data"), self.root, self.env, self.ctx.reads
        )
        if data_spec is not None and inputs_fit:
            self._guard(check_data, None, data_spec, inputs, self.root, self.ctx.limits)
        node_names = [n.name for n in nodes] if graph_ok else None
        train_spec = self._guard(
            resolve_train, None, data.get("train"), self.root, self.env, node_names
        )
        tune_spec = self._guard(resolve_tune, None, data.get("tune"), self.root, self.env)
        runtime_spec = self._guard(resolve_runtime, None, data.get("runtime"), self.root, self.env)
        # The logged metric names need the number of outputs: from the graph, or when
        # it failed, from what is written (one output, certainly, without 'outputs:').
        monitored = [output_name(r) for r in outputs or ()] if graph_ok else certain_outputs(data)
        if monitored is not None:
            self._guard(
                check_monitors,
                None,
                data,
                compile_spec,
                monitored,
                train_spec,
                tune_spec,
                self.root,
            )
        self.errors.raise_if_any()
        return Blueprint(
            name=name,
            description=description,
            inputs=tuple(inputs),
            nodes=nodes,
            outputs=tuple(outputs or ()),
            output_names=tuple(output_name(r) for r in outputs or ()),
            compile=compile_spec,
            models=models,
            data=data_spec,
            train=train_spec,
            tune=tune_spec,
            runtime=runtime_spec,
            params=freeze(self.env),
            source=self.doc.file,
            document=self.doc,
            limits=self.ctx.limits,
            warnings=tuple(unused_parameters(self.root, blocks or {})),
        )

    def _graph(
        self, expansion: Expansion, graph: Any, top: Scope, inputs: tuple[InputSpec, ...]
    ) -> Ref | None:
        """Expands the blueprint's ``graph:`` and links its references; its last node."""
        if graph is None:
            self.errors.add(
                BlueprintError(
                    "a blueprint needs a 'graph'",
                    Location(self.doc.file, 1, 1),
                    expected="a list of layer nodes under 'graph:'",
                )
            )
            return None
        if not isinstance(graph, list):
            self.errors.add(
                BlueprintError(
                    "'graph' must be a list of nodes",
                    (self.root / "graph").loc,
                    received=Plain(f"a {ValueType.name_of(graph)}"),
                )
            )
            return None
        # One input written feeds the first node (POISONED when that input failed).
        previous = next(iter(top.names.values())) if len(top.names) == 1 else None
        last = self._guard(
            expansion.sequence, None, graph, self.root / "graph", self.env, top, previous
        )
        self._guard(link, None, top, self.errors)
        return last

    def _guard(self, fn, default=None, *args):
        try:
            return fn(*args)
        except BlueprintError as err:
            self.errors.add(err)
            return default

    def _apart(self, fn, default, *args):
        """Runs a step that collects its errors in an ``errors`` collector of its own.

        Such a step may raise everything its collector holds: given this resolution's
        collector, it would raise the errors of earlier steps too and stop the rest.
        What it collects, raised or not, joins this resolution's errors.
        """
        errors = ErrorCollector()
        raised: list[BlueprintError] = []
        result = default
        try:
            result = fn(*args, errors=errors)
        except BlueprintError as err:
            raised = list(err.errors) if isinstance(err, BlueprintErrors) else [err]
        kept = [*errors.errors, *errors.knock_ons]
        for error in [*raised, *(e for e in kept if all(e is not r for r in raised))]:
            self.errors.add(error)
        return default if raised else result

    def _clean(self, since: int) -> bool:
        """Whether no error was collected since the collector held ``since`` errors."""
        return self.errors.failures == since

    # -- values ------------------------------------------------------------------------
    def _string(self, value: Any, where: Where) -> str:
        if not isinstance(value, str):
            raise BlueprintError(
                f"'{where.path[-1]}' must be a string", where.loc, path=where.path, received=value
            )
        return value


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


def _failed_inputs(raw: Any, inputs: tuple[InputSpec, ...]) -> list[str]:
    """The names of the inputs written in ``raw`` that failed (their errors are reported)."""
    if not isinstance(raw, dict):
        return []
    read = {spec.name for spec in inputs}
    return [name for name in raw if isinstance(name, str) and name not in read]


def _default_name(doc: Document) -> str:
    if doc.path is not None:
        return doc.path.stem
    return "blueprint"

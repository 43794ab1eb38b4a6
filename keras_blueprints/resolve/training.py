"""Resolving the training sections: ``data:``, ``train:``, ``tune:`` and ``runtime:``.

Each section is declared once, as a validated model in
:mod:`keras_blueprints.resolve.specs`; :func:`read_section` reads a YAML mapping into
it, every refused value located where it was written. Data sources and callbacks are
registered functions with typed keyword parameters
(:mod:`keras_blueprints.catalog.configurable`); their names and arguments are checked
here, at load time, without importing TensorFlow.

The models (and pydantic) are imported when a blueprint has one of these sections,
not before: most blueprints load without them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from keras_blueprints._core.errors import BlueprintError, ErrorCollector, Plain
from keras_blueprints._core.paths import ReadRoots, check_read_path, check_write_path
from keras_blueprints._core.registry import Registry
from keras_blueprints.callbacks.registry import CALLBACKS
from keras_blueprints.data.registry import SOURCES
from keras_blueprints.loading.valuetypes import ValueType
from keras_blueprints.resolve.arguments import check_arguments
from keras_blueprints.resolve.schema import CallbackSpec, SourceSpec, freeze
from keras_blueprints.resolve.values import Where, check_safe, substitute_at

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic.fields import FieldInfo

    from keras_blueprints.resolve.specs import (
        DataSpec,
        PretrainSpec,
        RuleSpec,
        RuntimeSpec,
        Says,
        SectionSpec,
        TrainSpec,
        TuneSpec,
    )

__all__ = [
    "FILE_SUFFIXES",
    "read_section",
    "resolve_data",
    "resolve_runtime",
    "resolve_train",
    "resolve_tune",
]  # fmt: skip


FILE_SUFFIXES = {".npz": ("npz", "path"), ".npy": ("npy", "x"), ".csv": ("csv", "path")}
"""A source written as a file name: suffix -> (source, the argument the name fills)."""

S = TypeVar("S", bound="SectionSpec")

Reader = Callable[[Any, Where], Any]
"""Reads one key's YAML value (substituted) standing at a place; raises BlueprintError."""


def read_section(
    spec: type[S],
    raw: Any,
    w: Where,
    *,
    example: str,
    env: Mapping[str, Any] | None = None,
    readers: Mapping[str, Reader] | None = None,
    alternative: str | None = None,
) -> S:
    """Reads a section's YAML mapping into its model, every error located and collected.

    Values are resolved first (``${...}`` expressions, search spaces, parameters), then
    read: a key with a reader (a data source, callbacks: what a registry checks) goes
    through it, a list becomes a tuple, a null stands for the default. The model then
    validates the whole; each value it refuses is told at its YAML location, in the
    words of the field's :class:`~keras_blueprints.resolve.specs.Says`.

    Args:
        spec: The section's model.
        raw: The section's YAML value.
        w: Where the section stands.
        example: A valid section, shown when it is not a mapping.
        env: Parameter values to substitute, or None when ``raw`` already is.
        readers: Readers for the keys that need more than the model's checks.
        alternative: What else the section may be (``a source name``), for the message.

    Returns:
        The section's spec.

    Raises:
        BlueprintError: Not a mapping, unknown keys, refused values (all together).
    """
    from pydantic import ValidationError

    name = w.path[-1]
    if not isinstance(raw, dict):
        raise BlueprintError(
            f"'{name}' must be a mapping" + (f" (or {alternative})" if alternative else ""),
            w.loc,
            received=Plain(f"a {ValueType.name_of(raw)}"),
            hint=f"For example:  {name}: {example}",
        )
    errors = ErrorCollector()
    failed: set[Any] = set()
    if env is not None:  # key by key: a bad expression in one leaves the others checked
        raw = _substituted(raw, env, w, errors, failed)
        check_safe(raw, w)
    keys = spec.yaml_keys()
    readers = readers or {}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in keys:
            errors.add(
                BlueprintError.unknown_name(f"a {name} setting", key, keys, (w / key).key_loc)
            )
            failed.add(key)
        elif value is not None:  # null: the default
            try:
                values[key] = readers[key](value, w / key) if key in readers else _tuples(value)
            except BlueprintError as err:
                errors.add(err)
                failed.add(key)
    try:
        out = spec(**values, location=w.loc)
    except ValidationError as exc:
        for err in _refusals(spec, exc, raw, w, failed):
            errors.add(err)
        errors.raise_if_any()
        raise  # pydantic refused a value the reader could not place: never expected
    errors.raise_if_any()
    return out


def _tuples(value: Any) -> Any:
    """YAML lists as tuples (the specs are frozen)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _substituted(
    raw: dict[Any, Any], env: Mapping[str, Any], w: Where, errors: ErrorCollector, failed: set
) -> dict[Any, Any]:
    """``raw`` with each value's ``${}`` evaluated; a key whose value fails is left out.

    Its error goes to ``errors`` and the key to ``failed`` (so the model's refusal of
    a missing value is not told again).
    """
    out = {}
    for key, value in raw.items():
        try:
            out[key] = substitute_at(value, env, w / key)
        except BlueprintError as err:
            errors.add(err)
            failed.add(key)
    return out


def _refusals(
    spec: type[SectionSpec], exc: ValidationError, raw: Mapping[str, Any], w: Where, failed: set
) -> list[BlueprintError]:
    """The model's refusals as located errors: one per key, none for keys already told."""
    from keras_blueprints.resolve.specs import Refusal

    out: list[BlueprintError] = []
    told = set(failed)
    for error in exc.errors():
        refusal = (error.get("ctx") or {}).get("error")
        if isinstance(refusal, Refusal):
            kw = w / refusal.key
            out.append(
                BlueprintError(
                    refusal.message,
                    kw.key_loc if refusal.at_key else kw.loc,
                    received=refusal.received,
                    hint=refusal.hint,
                )
            )
            continue
        key = error["loc"][0] if error["loc"] else None
        if key in told:
            continue
        told.add(key)
        if key not in spec.model_fields:  # not expected: told in pydantic's words
            out.append(BlueprintError(f"'{w.path[-1]}': {error['msg']}", w.loc))
        elif key in raw:
            out.append(_refused(spec.model_fields[key], key, raw[key], w / key))
        else:
            out.append(_refused(spec.model_fields[key], key, Plain(f"no {key}"), w))
    return out


def _refused(field: FieldInfo, key: str, value: Any, w: Where) -> BlueprintError:
    """A refused value in the words of its field's ``Says`` (a choice: did you mean)."""
    says = _says(field)
    if says is not None and not says.message:  # a choice
        choices = get_args(field.annotation)
        return BlueprintError.unknown_name(f"a {key}", str(value), choices, w.loc)
    message = says.message.format(key=key) if says else f"'{key}' has the wrong type"
    expected = says.expected if says else None
    return BlueprintError(message, w.loc, expected=expected, received=value)


def _says(field: FieldInfo) -> Says | None:
    from keras_blueprints.resolve.specs import Says

    return next((m for m in field.metadata if isinstance(m, Says)), None)


def resolve_data(
    raw: Any, root: Where, env: Mapping[str, Any], reads: ReadRoots | None = None
) -> DataSpec | None:
    """Reads ``data:``.

    Args:
        raw: The section (None when absent).
        root: The document's root.
        env: Parameter values.
        reads: The folders the sources' files may be read below (default: the
            blueprint's folder and the current directory).

    Returns:
        The data specification, or None.

    Raises:
        BlueprintError: Unknown keys or sources, bad arguments or values (all together).
    """
    if raw is None:
        return None
    from keras_blueprints.resolve.specs import DataSpec

    reads = reads or ReadRoots.of(root.doc.path)
    w = root / "data"
    w_source = w if isinstance(raw, str) else w / "source"  # data: digits  (a source alone)
    if isinstance(raw, str):
        raw = {"source": raw}

    def split(value: Any, where: Where) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value  # a fraction: the model checks it
        return resolve_source(value, where, reads)

    return read_section(
        DataSpec,
        raw,
        w,
        env=env,
        readers={
            "source": lambda value, _: resolve_source(value, w_source, reads),
            "validation": split,
            "test": split,
        },
        example="{source: digits, validation: 0.1, batch_size: 64}",
        alternative="a source name",
    )


def resolve_source(value: Any, w: Where, reads: ReadRoots | None = None) -> SourceSpec:
    """Reads a data source: ``name``, ``{name: {args}}`` or a file name (``train.npz``).

    The arguments the source declares it reads (``reads=`` when registered) are held
    to :func:`keras_blueprints._core.paths.check_read_path`: below the blueprint's folder,
    the current directory or an allowed folder, unless the command line gave them.

    Args:
        value: The YAML value (substituted).
        w: Where it stands.
        reads: The folders its files may be read below (default: the blueprint's
            folder and the current directory).

    Returns:
        The source, its arguments checked and defaults filled.

    Raises:
        BlueprintError: Unknown source, bad arguments.
    """
    if isinstance(value, str) and value not in SOURCES:
        for suffix, (kind, arg) in FILE_SUFFIXES.items():
            if value.lower().endswith(suffix):
                value = {kind: {arg: value}}
                break
        else:
            if value.endswith("/"):
                value = {"images": {"directory": value}}
    kind, args, aw = _named(value, w, "a data source", "digits  or  {npz: {path: train.npz}}")
    entry = SOURCES.lookup(kind, (w / kind).key_loc if isinstance(value, dict) else w.loc)
    checked = check_arguments(f"data source '{kind}'", entry.params, args, aw)
    canonical = SOURCES.canonical(kind) or kind
    reads = reads or ReadRoots.of(w.doc.path)
    for param in getattr(entry, "reads", ()):
        if param not in args:
            continue
        pw = aw / param  # data: train.npz  stands for {npz: {path: ...}}: located at the name
        given = [(pw, args[param])]
        if isinstance(args[param], list):
            given = [(pw / i, item) for i, item in enumerate(args[param])]
        for where, item in given:
            if isinstance(item, str):
                what = f"the '{param}' of data source '{canonical}'"
                check_read_path(item, reads, where.loc, what)
    return SourceSpec(canonical, freeze(checked), w.loc)


def _named(value: Any, w: Where, what: str, example: str) -> tuple[str, dict, Where]:
    """Reads ``name`` or ``{name: {args}}``; returns the name, arguments and their place."""
    if isinstance(value, str):
        return value, {}, w
    if isinstance(value, dict) and len(value) == 1:
        ((name, args),) = value.items()
        if args is None:
            args = {}
        if isinstance(name, str) and isinstance(args, dict):
            return name, args, w / name
        if isinstance(name, str):
            raise BlueprintError(
                f"the arguments of {what} '{name}' must be a mapping",
                (w / name).loc,
                received=args,
                hint=f"For example:  {example}",
            )
    raise BlueprintError(
        f"{what} is a name or a one-key mapping of name to arguments",
        w.loc,
        expected=f"e.g.  {example}",
        received=value,
    )


def resolve_train(
    raw: Any, root: Where, env: Mapping[str, Any], node_names: Collection[str] | None
) -> TrainSpec | None:
    """Reads ``train:``.

    Args:
        raw: The section (None when absent).
        root: The document's root.
        env: Parameter values.
        node_names: The graph's node names (``pretrain.pairs`` refers to them), or
            None when the graph has errors: the pairs' names are then not checked.

    Returns:
        The training specification, or None.

    Raises:
        BlueprintError: Unknown keys or callbacks, bad arguments or values (all together).
    """
    if raw is None:
        return None
    from keras_blueprints.resolve.specs import TrainSpec

    return read_section(
        TrainSpec,
        raw,
        root / "train",
        env=env,
        readers={
            "callbacks": resolve_callbacks,
            "pretrain": lambda value, w: _pretrain(value, w, node_names),
            "rule": resolve_rule,
        },
        example="{epochs: 10, seed: 0}",
    )


def resolve_callbacks(value: Any, w: Where) -> tuple[CallbackSpec, ...]:
    """Reads ``train.callbacks``: a list of names or ``{name: {args}}``.

    Raises:
        BlueprintError: Unknown callbacks or bad arguments (all together).
    """
    if not isinstance(value, list):
        raise BlueprintError(
            "'callbacks' must be a list",
            w.loc,
            received=Plain(f"a {ValueType.name_of(value)}"),
            hint="For example:  callbacks: [learning_curves, {early_stopping: {patience: 3}}]",
        )
    return _entries(CALLBACKS, "a callback", value, w, "early_stopping: {patience: 3}")


def resolve_rule(value: Any, w: Where) -> RuleSpec:
    """Reads ``train.rule``: a training rule's name or ``{name: {args}}``, checked by its registry.

    Returns:
        The rule's canonical name and its checked arguments (defaults filled in).

    Raises:
        BlueprintError: An unknown rule (with the closest names) or bad arguments.
    """
    from keras_blueprints.resolve.specs import RuleSpec
    from keras_blueprints.training.rules.registry import RULES

    name, args, aw = _named(value, w, "a training rule", "perceptron: {rate: 1.0}")
    key_loc = (w / name).key_loc if isinstance(value, dict) else w.loc
    entry = RULES.lookup(name, key_loc)
    canonical = RULES.canonical(name) or name
    checked = check_arguments(f"training rule '{canonical}'", entry.params, args, aw)
    return RuleSpec(canonical, freeze(checked))


def _entries(
    registry: Registry, what: str, items: list, w: Where, example: str
) -> tuple[CallbackSpec, ...]:
    errors = ErrorCollector()
    out = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        iw = w / i
        try:
            name, args, aw = _named(item, iw, what, example)
            key_loc = (iw / name).key_loc if isinstance(item, dict) else iw.loc
            entry = registry.lookup(name, key_loc)
            canonical = registry.canonical(name) or name
            if canonical in seen:
                raise BlueprintError(
                    f"callback '{canonical}' is listed twice",
                    key_loc,
                    hint=f"The first one is item {seen[canonical] + 1}; keep one.",
                )
            seen[canonical] = i
            owner = f"{registry.kind} '{canonical}'"
            checked = check_arguments(owner, entry.params, args, aw)
            for param in getattr(entry, "writes", ()):
                if param in args:
                    check_write_path(args[param], (aw / param).loc, f"'{param}' of {owner}")
            out.append(CallbackSpec(canonical, freeze(checked), key_loc))
        except BlueprintError as err:
            errors.add(err)
    errors.raise_if_any()
    return tuple(out)


def _pretrain(value: Any, w: Where, node_names: Collection[str] | None) -> PretrainSpec:
    from keras_blueprints.resolve.specs import PretrainSpec

    def pairs(value: Any, pw: Where) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, list) or not value:
            raise BlueprintError(
                "'pretrain' needs 'pairs': (encoder layer, decoder layer) node names,"
                " outermost first",
                pw.loc,
                expected="e.g.  pairs: [[enc1, dec1], [enc2, dec2]]",
                received=value,
            )
        out = []
        for i, pair in enumerate(value):
            if not (
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            ):
                raise BlueprintError(
                    "each pretraining pair is [encoder layer, decoder layer]",
                    (pw / i).loc,
                    received=pair,
                )
            for j, name in enumerate(pair):
                if node_names is not None and name not in node_names:
                    raise BlueprintError.unknown_name(
                        "a node of the graph", name, node_names, (pw / i / j).loc
                    )
            out.append((pair[0], pair[1]))
        return tuple(out)

    return read_section(
        PretrainSpec,
        value,
        w,
        readers={"pairs": pairs},
        example="{pairs: [[enc1, dec1], [enc2, dec2]], epochs: 5}",
    )


def resolve_tune(raw: Any, root: Where, env: Mapping[str, Any]) -> TuneSpec | None:
    """Reads ``tune:``.

    Args:
        raw: The section (None when absent).
        root: The document's root.
        env: Parameter values.

    Returns:
        The search specification, or None.

    Raises:
        BlueprintError: Unknown keys or tuners, bad values (all together).
    """
    if raw is None:
        return None
    from keras_blueprints.resolve.specs import TuneSpec

    return read_section(
        TuneSpec,
        raw,
        root / "tune",
        env=env,
        example="{tuner: bayesian, objective: val_accuracy, max_trials: 20}",
    )


def resolve_runtime(raw: Any, root: Where, env: Mapping[str, Any]) -> RuntimeSpec | None:
    """Reads ``runtime:``.

    Args:
        raw: The section (None when absent).
        root: The document's root.
        env: Parameter values.

    Returns:
        The runtime specification, or None.

    Raises:
        BlueprintError: Unknown keys or strategies, bad values (all together).
    """
    if raw is None:
        return None
    from keras_blueprints.resolve.specs import RuntimeSpec

    if isinstance(raw, str):  # runtime: mirrored
        raw = {"strategy": raw}
    return read_section(
        RuntimeSpec,
        raw,
        root / "runtime",
        env=env,
        readers={"devices": lambda value, _: _tuples([value] if isinstance(value, str) else value)},
        example="{strategy: mirrored, mixed_precision: true}",
        alternative="a strategy name",
    )

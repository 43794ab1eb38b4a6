"""Resolving the sections around the graph: ``params``, ``inputs`` and ``compile``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import BlueprintError, ErrorCollector, Location, Plain
from keras_blueprints.loading.valuetypes import ValueType
from keras_blueprints.resolve.identifiers import check_compile_value, check_optimizer
from keras_blueprints.resolve.schema import InputSpec, Ref
from keras_blueprints.resolve.values import NAME_RE, Where, names_in, substitute_at

if TYPE_CHECKING:
    from keras_blueprints.resolve.specs import CompileSpec

__all__ = ["DTYPES", "resolve_compile", "resolve_inputs", "resolve_params"]

DTYPES = (
    "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool", "string",
)  # fmt: skip


def resolve_params(root: Where, errors: ErrorCollector) -> dict[str, Any]:
    """Evaluates ``params:`` in dependency order (a parameter may use others).

    A parameter whose expression fails is reported in ``errors`` and left out of the
    values, named in the context's ``failed_params``: a value using it (another
    parameter's included) then fails silently, as a knock-on of that one error.

    Args:
        root: The document's root.
        errors: Where the errors of single parameters go.

    Returns:
        The values of the parameters that could be worked out, in the order written.

    Raises:
        BlueprintError: Not a mapping, a bad name, or a cycle.
    """
    raw = root.doc.data.get("params")
    if raw is None:
        return {}
    where = root / "params"
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
    declared = set(raw)  # once: a set per parameter made 30k parameters take minutes
    failed = root.ctx.failed_params
    for key, value in raw.items():
        try:
            deps[key] = names_in(value, where / key) & declared
        except BlueprintError as err:  # a syntax error: this parameter fails
            errors.add(err)
            failed.add(key)
            deps[key] = set()
    values: dict[str, Any] = {}
    visiting: list[str] = []

    def visit(key: str) -> None:
        if key in values or key in failed:
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
        try:
            values[key] = substitute_at(raw[key], values, where / key)
        except BlueprintError as err:  # a knock-on of a failed dependency adds nothing
            errors.add(err)
            failed.add(key)

    for key in raw:
        visit(key)
    return {k: values[k] for k in raw if k in values}


def resolve_inputs(
    root: Where, env: Mapping[str, Any], errors: ErrorCollector
) -> tuple[InputSpec, ...]:
    """Reads ``inputs:``; errors in single inputs are collected, not raised.

    Args:
        root: The document's root.
        env: Parameter values.
        errors: Where independent errors go.

    Returns:
        The valid inputs.

    Raises:
        BlueprintError: The section is missing or not a mapping.
    """
    raw = root.doc.data.get("inputs")
    where = root / "inputs"
    if raw is None:
        raise BlueprintError(
            "a blueprint needs 'inputs'",
            Location(root.doc.file, 1, 1),
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
            errors.add(BlueprintError(f"'{name}' is not a valid input name", w.key_loc))
            continue
        try:
            specs.append(resolve_input(name, substitute_at(spec, env, w), w))
        except BlueprintError as err:
            errors.add(err)
    return tuple(specs)


def resolve_input(name: str, spec: Any, w: Where) -> InputSpec:
    """Reads one input: a shape list, or ``{shape, dtype, batch_size, sparse}``."""
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
    if batch is not None and (not isinstance(batch, int) or isinstance(batch, bool) or batch < 1):
        raise BlueprintError(
            "'batch_size' must be a positive integer", (w / "batch_size").loc, received=batch
        )
    sparse = spec.get("sparse", False)
    if not isinstance(sparse, bool):
        raise BlueprintError("'sparse' must be true or false", (w / "sparse").loc, received=sparse)
    return InputSpec(name, tuple(shape), dtype, batch, sparse, w.key_loc)


def output_name(ref: Ref) -> str:
    """The name of a model output: Keras names it after the layer that produced it."""
    return ref.node


def resolve_compile(
    raw: Any, outputs: list[Ref] | None, root: Where, env: Mapping[str, Any]
) -> CompileSpec | None:
    """Reads ``compile:`` into its model, checking per-output settings against the outputs.

    The section is read by the generic reader
    (:func:`keras_blueprints.resolve.training.read_section`): values resolved first,
    unknown settings told with the closest name, refused values located. The
    optimizer's form and the per-output settings (``loss``, ``metrics``,
    ``loss_weights``) are checked here, where the outputs are known.

    Args:
        raw: The section (None when absent).
        outputs: The model outputs, or None when the graph has errors: the names
            written are then still checked, their outputs not.
        root: The document's root.
        env: Parameter values.

    Returns:
        The compile specification, or None.

    Raises:
        BlueprintError: Unknown settings or outputs, inconsistent per-output values,
            refused values (all together).
    """
    if raw is None:
        return None
    from keras_blueprints.resolve.specs import CompileSpec
    from keras_blueprints.resolve.training import read_section

    names = None if outputs is None else [output_name(r) for r in outputs]

    def optimizer(value: Any, w: Where) -> Any:
        name, args = named_with_args(value, w, "an optimizer")
        _raise_all(check_optimizer(value, w))
        return {name: args}

    def per_output(key: str) -> Callable[[Any, Where], Any]:
        def read(value: Any, w: Where) -> Any:
            checked = value if names is None else _per_output(key, value, names, w)
            if key in IDENTIFIER_KINDS:
                _raise_all(check_compile_value(IDENTIFIER_KINDS[key], value, w))
            return checked

        return read

    def weighted_metrics(value: Any, w: Where) -> Any:
        _raise_all(check_compile_value("metrics", value, w))
        return value

    spec = read_section(
        CompileSpec,
        raw,
        root / "compile",
        env=env,
        readers={
            "optimizer": optimizer,
            **{key: per_output(key) for key in ("loss", "metrics", "loss_weights")},
            "weighted_metrics": weighted_metrics,
        },
        example="{optimizer: adam, loss: sparse_categorical_crossentropy, metrics: [accuracy]}",
    )
    _check_label_form(spec, root / "compile")
    return spec


SPARSE_TWINS = {
    "categorical_accuracy": "sparse_categorical_accuracy",
    "top_k_categorical_accuracy": "sparse_top_k_categorical_accuracy",
    "categorical_crossentropy": "sparse_categorical_crossentropy",
    "CategoricalAccuracy": "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy": "SparseTopKCategoricalAccuracy",
    "CategoricalCrossentropy": "SparseCategoricalCrossentropy",
}
"""Metrics that read one-hot labels, and their twins that read class ids."""


def _check_label_form(spec: Any, w: Where) -> None:
    """Refuses a metric that reads labels in the other form than the loss does.

    A sparse loss (class ids) beside ``top_k_categorical_accuracy`` (one-hot labels), or
    the reverse, is not a mistake Keras reports before training: its first step fails
    deep in TensorFlow with a shape error. Only one loss for all outputs and a list of
    metrics are checked.
    """
    loss = getattr(spec, "loss", None)
    metrics = getattr(spec, "metrics", None)
    if not isinstance(loss, str) or not isinstance(metrics, list | tuple):
        return
    sparse = loss in SPARSE_TWINS.values()
    dense = loss in SPARSE_TWINS
    if not (sparse or dense):
        return
    twins = SPARSE_TWINS if sparse else {v: k for k, v in SPARSE_TWINS.items()}
    errors = []
    for i, metric in enumerate(metrics):
        if isinstance(metric, str) and metric in twins:
            errors.append(
                BlueprintError(
                    f"metric '{metric}' reads {'one-hot labels' if sparse else 'class ids'},"
                    f" but the loss '{loss}' takes {'class ids' if sparse else 'one-hot labels'}",
                    (w / "metrics" / i).loc,
                    expected=f"'{twins[metric]}'",
                    hint=f"Did you mean '{twins[metric]}'?",
                )
            )
    _raise_all(errors)


IDENTIFIER_KINDS = {"loss": "losses", "metrics": "metrics"}
"""The ``compile:`` keys that name Keras objects, and the vocabulary each is checked against."""


def _raise_all(errors: list[BlueprintError]) -> None:
    collected = ErrorCollector()
    for error in errors:
        collected.add(error)
    collected.raise_if_any()


def _per_output(key: str, value: Any, names: list[str], w: Where) -> Any:
    """Checks ``loss``, ``metrics`` or ``loss_weights`` against the model's outputs."""
    if isinstance(value, dict) and not is_named_object(value):
        for out_name in value:
            if out_name not in names:
                raise BlueprintError.unknown_name(
                    "a model output",
                    out_name,
                    names,
                    (w / out_name).key_loc,
                    extra_hint=f"'{key}' may map output names to values.",
                )
    flat = isinstance(value, str) or (
        isinstance(value, list) and any(not isinstance(v, list) for v in value)
    )
    if key == "metrics" and len(names) > 1 and flat:
        raise BlueprintError(
            "with several outputs, 'metrics' says which output each metric is for",
            w.loc,
            expected=f"a mapping such as {{{names[0]}: [accuracy]}} or one list per output",
            received=value,
        )
    if isinstance(value, list) and key in ("loss", "loss_weights") and len(value) != len(names):
        raise BlueprintError(
            f"'{key}' gives one value per output",
            w.loc,
            expected=f"{len(names)} values ({', '.join(names)})",
            received=Plain(f"{len(value)} values"),
        )
    return value


def is_named_object(value: dict) -> bool:
    """True for ``{ClassName: {args}}`` (one key, CamelCase), as opposed to a per-output mapping."""
    if len(value) != 1:
        return False
    (key,) = value
    return key[:1].isupper()


def named_with_args(value: Any, w: Where, what: str) -> tuple[str, dict]:
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

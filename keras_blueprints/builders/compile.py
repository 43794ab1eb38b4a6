"""Applying a blueprint's ``compile:`` section to a model.

Optimizers, losses and metrics are named as Keras names them: identifiers
(``adam``, ``sparse_categorical_crossentropy``, ``accuracy``) or class names
with arguments (``{Adam: {learning_rate: 0.001}}``). Unknown names are
reported at the ``compile:`` section with the closest valid name.

An optimizer's ``learning_rate`` may be a number or a learning-rate schedule
written the same way, ``{ScheduleName: {arguments}}``: any class of
``keras.optimizers.schedules`` or of :mod:`keras_blueprints.training.schedules`,
by class name or snake_case name (``cosine_decay_restarts``)::

    optimizer:
      SGD:
        learning_rate: {CosineDecayRestarts: {initial_learning_rate: 0.1, first_decay_steps: 100}}
        momentum: 0.9
        nesterov: true
        clipnorm: 1.0

Gradient clipping (``clipnorm``, ``clipvalue`` or ``global_clipnorm``) is an
optimizer argument; at most one of the three may be given. Optimizers that
wrap others take them the same way: ``{LossScaleOptimizer: {inner_optimizer:
sgd}}``, and ``MultiOptimizer`` maps regular expressions over variable paths to
optimizers (``{MultiOptimizer: {optimizer_map: {default: adam, "enc.*": sgd}}}``).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import keras

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.resolve.schema import CompileSpec, thaw
from keras_blueprints.training.schedules import CUSTOM_SCHEDULES

__all__ = [
    "CLIPPING_ARGS",
    "compile_model",
    "make_optimizer",
    "make_schedule",
    "optimizer_classes",
    "schedule_classes",
]

_SPECIAL_METRICS = ("accuracy", "acc", "crossentropy", "ce")

#: The optimizer arguments that clip gradients; Keras accepts at most one of them.
CLIPPING_ARGS = ("clipnorm", "clipvalue", "global_clipnorm")

_Schedule = keras.optimizers.schedules.LearningRateSchedule


def _classes(module: Any, base: type) -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, base) and not name.startswith("_")
    }


def _normalized(name: str) -> str:
    """``cosine_decay_restarts``, ``CosineDecayRestarts`` -> ``cosinedecayrestarts``."""
    return name.replace("_", "").replace("-", "").lower()


def _lookup(name: str, classes: Mapping[str, type]) -> type | None:
    if name in classes:
        return classes[name]
    by_key = {_normalized(k): v for k, v in classes.items()}
    return by_key.get(_normalized(name))


def optimizer_classes() -> dict[str, type[keras.optimizers.Optimizer]]:
    """Returns the optimizers a blueprint can name: every class of ``keras.optimizers``.

    Returns:
        Class name -> class, without the abstract base ``Optimizer``.
    """
    classes = _classes(keras.optimizers, keras.optimizers.Optimizer)
    classes.pop("Optimizer", None)
    return classes


def schedule_classes() -> dict[str, type[_Schedule]]:
    """Returns the learning-rate schedules a blueprint can name.

    Returns:
        Class name -> class: every class of ``keras.optimizers.schedules``
        (without the abstract base) and ours (:mod:`keras_blueprints.training.schedules`).
    """
    classes = _classes(keras.optimizers.schedules, _Schedule)
    classes.pop("LearningRateSchedule", None)
    return {**classes, **CUSTOM_SCHEDULES}


def make_schedule(value: Any, spec: CompileSpec) -> Any:
    """Turns a ``learning_rate`` value into a number or a schedule object.

    Args:
        value: A number (returned as is; a string such as ``1e-3``, which YAML
            does not read as a number, is converted), a schedule name, or a one-key mapping
            ``{ScheduleName: {arguments}}``. An argument that is itself a one-key
            mapping is a nested schedule (``LinearWarmup``'s ``after``).
        spec: The compile section (for error locations).

    Returns:
        The value, or the ``LearningRateSchedule`` it describes.

    Raises:
        BlueprintError: An unknown schedule (with the closest name), arguments the
            schedule refuses, or a value that is neither a number nor a schedule.
    """
    if isinstance(value, _Schedule) or (
        isinstance(value, int | float) and not isinstance(value, bool)
    ):
        return value
    if isinstance(value, str):
        try:  # YAML reads 1e-3 (no dot) as a string
            return float(value)
        except ValueError:
            name, args = value, {}
    elif isinstance(value, Mapping) and len(value) == 1:
        ((name, args),) = value.items()
        args = thaw(args) if args is not None else {}
        if not isinstance(args, Mapping):
            raise BlueprintError(
                f"the arguments of schedule {name} must be a mapping",
                spec.location,
                received=args,
            )
    else:
        raise BlueprintError(
            "a learning rate is a number or a schedule",
            spec.location,
            expected="e.g.  0.001  or  {ExponentialDecay: {initial_learning_rate: 0.1, "
            "decay_steps: 1000, decay_rate: 0.5}}",
            received=value,
        )
    classes = schedule_classes()
    cls = _lookup(str(name), classes)
    if cls is None:
        raise BlueprintError.unknown_name(
            "a learning-rate schedule",
            str(name),
            classes,
            spec.location,
            extra_hint="Schedules are classes of keras.optimizers.schedules or of "
            "keras_blueprints.training.schedules.",
        )
    args = {
        k: make_schedule(v, spec) if isinstance(v, Mapping) and len(v) == 1 else v
        for k, v in args.items()
    }
    try:
        schedule = cls(**args)
        float(schedule(0))  # arguments that only fail when computing (wrong types)
    except (TypeError, ValueError) as exc:
        raise BlueprintError(
            f"Keras refused the arguments of schedule {cls.__name__}: {exc}", spec.location
        ) from exc
    return schedule


def _check_clipping(args: Mapping[str, Any], spec: CompileSpec) -> None:
    given = {k: args[k] for k in CLIPPING_ARGS if args.get(k) is not None}
    if len(given) > 1:
        raise BlueprintError(
            f"an optimizer clips gradients one way only, but {' and '.join(given)} are both given",
            spec.location,
            expected="one of clipnorm (each gradient's norm), clipvalue (each component) "
            "or global_clipnorm (the norm of all gradients together)",
            received=Plain(", ".join(f"{k}={v}" for k, v in given.items())),
            hint="keep one of them; global_clipnorm keeps the gradient's direction",
        )


def _optimizer_map(value: Any, spec: CompileSpec) -> Any:
    """``{default: adam, "enc.*": sgd}`` -> ``keras.optimizers.OptimizerMap``."""
    if not isinstance(value, Mapping) or "default" not in value:
        raise BlueprintError(
            "MultiOptimizer's optimizer_map maps regular expressions over variable paths "
            "to optimizers, with a 'default' for the other variables",
            spec.location,
            expected='e.g.  {default: adam, "encoder.*": {SGD: {learning_rate: 0.01}}}',
            received=value,
        )
    optimizers = {k: _optimizer_value(v, spec) for k, v in value.items()}
    default = optimizers.pop("default")
    return keras.optimizers.OptimizerMap(default, optimizers)


def _optimizer_value(value: Any, spec: CompileSpec) -> keras.optimizers.Optimizer:
    """An optimizer written as a name or ``{name: {args}}`` (inside a wrapper)."""
    if isinstance(value, keras.optimizers.Optimizer):
        return value
    if isinstance(value, str):
        return make_optimizer(value, {}, spec)
    if isinstance(value, Mapping) and len(value) == 1:
        ((name, args),) = value.items()
        return make_optimizer(str(name), args or {}, spec)
    raise BlueprintError(
        "an optimizer is a name or a one-key mapping of name to arguments",
        spec.location,
        expected="e.g.  adam  or  {adam: {learning_rate: 0.001}}",
        received=value,
    )


def make_optimizer(
    name: str, args: Mapping[str, Any], spec: CompileSpec
) -> keras.optimizers.Optimizer:
    """Creates an optimizer from its name (``adam``, ``Adam``, ``schedule_free_adamw``).

    ``learning_rate`` may be a schedule (see :func:`make_schedule`); wrapper
    optimizers take the optimizers they wrap as names or mappings
    (``inner_optimizer`` of ``LossScaleOptimizer``, ``optimizer_map`` of
    ``MultiOptimizer``).

    Args:
        name: Keras identifier, class name or snake_case class name.
        args: Constructor arguments.
        spec: The compile section (for error locations).

    Returns:
        The optimizer.

    Raises:
        BlueprintError: Unknown optimizer or schedule, two ways of clipping
            gradients, or arguments Keras refuses.
    """
    classes = optimizer_classes()
    cls = _lookup(name, classes)
    if cls is None:
        raise BlueprintError.unknown_name("a Keras optimizer", name, sorted(classes), spec.location)
    args = thaw(args)
    _check_clipping(args, spec)
    if "learning_rate" in args:
        args["learning_rate"] = make_schedule(args["learning_rate"], spec)
    for key, value in args.items():
        if key.endswith("optimizer") and value is not None:
            args[key] = _optimizer_value(value, spec)
    if issubclass(cls, keras.optimizers.MultiOptimizer) and "optimizer_map" in args:
        args["optimizer_map"] = _optimizer_map(args["optimizer_map"], spec)
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        raise BlueprintError(
            f"Keras refused the arguments of optimizer {cls.__name__}: {exc}", spec.location
        ) from exc


def _make(kind: str, module: Any, base: type, value: Any, spec: CompileSpec) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping) and len(value) == 1 and next(iter(value))[:1].isupper():
        ((name, args),) = value.items()
        classes = _classes(module, base)
        if kind == "metric":
            from keras_blueprints.builders.metrics import project_metrics

            classes.update(project_metrics())
        cls = classes.get(name)
        if cls is None:
            raise BlueprintError.unknown_name(
                f"a Keras {kind} class", name, sorted(classes), spec.location
            )
        try:
            return cls(**thaw(args or {}))
        except (TypeError, ValueError) as exc:
            raise BlueprintError(
                f"Keras refused the arguments of {kind} {name}: {exc}", spec.location
            ) from exc
    if isinstance(value, str):
        if kind == "metric" and value in _SPECIAL_METRICS:
            return value
        try:
            module.get(value)
        except (ValueError, TypeError):
            names = [n for n in dir(module) if not n.startswith("_") and n[:1].islower()]
            raise BlueprintError.unknown_name(
                f"a Keras {kind}", value, names, spec.location
            ) from None
        return value
    if isinstance(value, Mapping):
        return {k: _make(kind, module, base, v, spec) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_make(kind, module, base, v, spec) for v in value]
    raise BlueprintError(f"a {kind} must be a name or a mapping", spec.location, received=value)


def compile_model(model: keras.Model, spec: CompileSpec, output_names: Sequence[str]) -> None:
    """Compiles ``model`` as the blueprint's ``compile:`` section says.

    Args:
        model: The model built from the blueprint.
        spec: The compile section.
        output_names: The model's output names (keys of per-output settings).

    Raises:
        BlueprintError: Unknown optimizer, schedule, loss or metric, or settings Keras refuses.
    """
    optimizer = make_optimizer(spec.optimizer, spec.optimizer_args, spec)
    loss = _make("loss", keras.losses, keras.losses.Loss, spec.loss, spec)
    metrics = _make("metric", keras.metrics, keras.metrics.Metric, spec.metrics, spec)
    if isinstance(metrics, str):
        metrics = [metrics]
    loss_weights = thaw(spec.loss_weights)
    try:
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            loss_weights=loss_weights,
            **thaw(spec.extra),
        )
    except (TypeError, ValueError) as exc:
        raise BlueprintError(f"Keras could not compile the model: {exc}", spec.location) from exc

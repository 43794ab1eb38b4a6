"""Applying a blueprint's ``compile:`` section to a model.

Optimizers, losses and metrics are named as Keras names them: identifiers
(``adam``, ``sparse_categorical_crossentropy``, ``accuracy``) or class names
with arguments (``{Adam: {learning_rate: 0.001}}``). Unknown names are
reported at the ``compile:`` section with the closest valid name.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import keras

from ..errors import BlueprintError
from ..schema import CompileSpec, thaw

__all__ = ["compile_model", "make_optimizer"]

_SPECIAL_METRICS = ("accuracy", "acc", "crossentropy", "ce")


def _classes(module: Any, base: type) -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, base) and not name.startswith("_")
    }


def make_optimizer(
    name: str, args: Mapping[str, Any], spec: CompileSpec
) -> keras.optimizers.Optimizer:
    """Creates an optimizer from its name (``adam`` or ``Adam``) and arguments.

    Args:
        name: Keras identifier or class name.
        args: Constructor arguments.
        spec: The compile section (for error locations).

    Returns:
        The optimizer.

    Raises:
        BlueprintError: Unknown optimizer or arguments Keras refuses.
    """
    classes = _classes(keras.optimizers, keras.optimizers.Optimizer)
    classes.pop("Optimizer", None)
    lowered = {k.lower(): v for k, v in classes.items()}
    cls = classes.get(name) or lowered.get(name.lower())
    if cls is None:
        raise BlueprintError.unknown_name("a Keras optimizer", name, sorted(classes), spec.location)
    try:
        return cls(**thaw(args))
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
        BlueprintError: Unknown optimizer, loss or metric, or settings Keras refuses.
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

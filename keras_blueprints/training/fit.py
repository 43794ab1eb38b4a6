"""The one way a blueprint's model is fitted: :func:`fit_blueprint`.

``blueprint train`` (:mod:`keras_blueprints.training.run`) and every trial of
``blueprint tune`` (:class:`keras_blueprints.tuning.engine.BlueprintHyperModel`) call
it: the blueprint's ``train.callbacks`` are set up by :func:`blueprint_callbacks`
and ``model.fit`` runs with the ``train:`` section's settings (steps per epoch,
validation data, no Keras shuffling: the tf.data pipeline shuffles, seeded). Each
caller passes what is its own (the run's checkpoints and recorder, the tuner's
divergence guard and keras-tuner's callbacks) around the blueprint's callbacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.resolve.directions import default_direction
from keras_blueprints.resolve.schema import Blueprint, CallbackSpec, TrainSpec, thaw
from keras_blueprints.training.rules.registry import BACKPROP

if TYPE_CHECKING:
    import keras

__all__ = ["DEFAULT_CALLBACKS", "blueprint_callbacks", "fit_blueprint", "metric_direction"]

DEFAULT_CALLBACKS = ("learning_curves",)
"""Callbacks every training run gets unless the blueprint lists them itself."""


def blueprint_callbacks(
    blueprint: Blueprint,
    datasets: Any,
    *,
    run_dir: Path,
    defaults: Sequence[str] = (),
    models: Mapping[str, keras.Model] | None = None,
    history: Mapping[str, Sequence[float]] | None = None,
) -> list[keras.callbacks.Callback]:
    """Sets up the callbacks the blueprint's ``train.callbacks`` lists, in its order.

    Args:
        blueprint: The resolved blueprint.
        datasets: Its data (``keras_blueprints.data.Datasets``).
        run_dir: Where the callbacks write (plots, logs, checkpoints).
        defaults: Registered callbacks added after the listed ones unless listed.
        models: Every model built from the blueprint, by name (``"model"`` is the
            one fitted; the others are given to the callbacks).
        history: The history so far (a resumed run): given to the callbacks that
            take an ``initial_history``.

    Returns:
        The Keras callbacks.

    Raises:
        BlueprintError: A callback refused its arguments (located at its entry).
    """
    from keras_blueprints.callbacks.registry import CALLBACKS, CallbackContext

    spec = blueprint.train or TrainSpec()
    context = CallbackContext(
        blueprint=blueprint,
        run_dir=run_dir,
        datasets=datasets,
        seed=spec.seed,
        models={k: v for k, v in (models or {}).items() if k != "model"},
    )
    listed = {c.name for c in spec.callbacks}
    specs = [*spec.callbacks] + [
        CallbackSpec(name) for name in defaults if name in CALLBACKS and name not in listed
    ]
    out = []
    for cb in specs:
        entry = CALLBACKS.lookup(cb.name, cb.location)
        args = {p.name: p.default for p in entry.params.values() if not p.required}
        args.update(thaw(cb.args))
        try:
            callback = entry.fn(context, **args)
        except (TypeError, ValueError) as exc:
            raise BlueprintError(
                f"callback '{cb.name}' could not be set up: {exc}", cb.location
            ) from exc
        if history and hasattr(callback, "initial_history"):
            callback.initial_history = {k: list(v) for k, v in history.items()}
        out.append(callback)
    return out


def fit_blueprint(
    model: keras.Model,
    blueprint: Blueprint,
    datasets: Any,
    *,
    run_dir: Path,
    epochs: int | None = None,
    initial_epoch: int = 0,
    callbacks_before: Iterable[keras.callbacks.Callback] = (),
    callbacks_extra: Iterable[keras.callbacks.Callback] = (),
    default_callbacks: Sequence[str] = (),
    models: Mapping[str, keras.Model] | None = None,
    history: Mapping[str, Sequence[float]] | None = None,
    verbose: int | str = "auto",
    **fit_kwargs: Any,
) -> keras.callbacks.History:
    """Fits a compiled model on the blueprint's data as its ``train:`` section says.

    The callbacks run in this order: ``callbacks_before``, the blueprint's own
    (:func:`blueprint_callbacks`), ``callbacks_extra``. A blueprint whose ``train.rule``
    is not ``backprop`` is trained by that rule instead of ``model.fit``
    (:func:`keras_blueprints.training.rules.fit_by_rule`), with the same callbacks
    (``fit_kwargs`` are Keras' ``fit``'s, and unused then).

    Args:
        model: The compiled model built from ``blueprint``.
        blueprint: The resolved blueprint.
        datasets: Its data (``keras_blueprints.data.Datasets``): ``train`` and
            ``validation`` are fitted on.
        run_dir: Where the blueprint's callbacks write.
        epochs: The epoch to stop after (default ``train.epochs``).
        initial_epoch: The epoch to start from (a resumed run, a Hyperband round).
        callbacks_before: The caller's callbacks that run before the blueprint's.
        callbacks_extra: The caller's callbacks that run after the blueprint's.
        default_callbacks: Registered callbacks added unless the blueprint lists them.
        models: Every model built from the blueprint, by name.
        history: The history so far, for callbacks that draw all of it.
        verbose: Keras' ``fit`` verbosity.
        **fit_kwargs: Further ``model.fit`` arguments (keras-tuner passes some).

    Returns:
        Keras' ``History`` of this fit.

    Raises:
        BlueprintError: A callback of the blueprint could not be set up (before any
            epoch runs).
    """
    spec = blueprint.train or TrainSpec()
    callbacks = [
        *callbacks_before,
        *blueprint_callbacks(
            blueprint,
            datasets,
            run_dir=run_dir,
            defaults=default_callbacks,
            models=models,
            history=history,
        ),
        *callbacks_extra,
    ]
    if spec.rule.name != BACKPROP:  # a rule of its own (Hebb, Rosenblatt...), same callbacks
        from keras_blueprints.training.rules import fit_by_rule

        return fit_by_rule(
            model,
            blueprint,
            datasets,
            callbacks=callbacks,
            epochs=spec.epochs if epochs is None else epochs,
            initial_epoch=initial_epoch,
            verbose=verbose,
        )
    # With a fixed number of steps an epoch is not a pass over the data: repeat it.
    train_data = datasets.train.repeat() if spec.steps_per_epoch else datasets.train
    return model.fit(
        train_data,
        validation_data=datasets.validation,
        initial_epoch=initial_epoch,
        epochs=spec.epochs if epochs is None else epochs,
        steps_per_epoch=spec.steps_per_epoch,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the tf.data pipeline shuffles (seeded)
        **fit_kwargs,
    )


def metric_direction(monitor: str, model: keras.Model | None = None) -> str:
    """Whether a logged metric improves upwards (``"max"``) or downwards (``"min"``).

    As Keras' monitoring callbacks do, the compiled metric object of that name
    says (once the model has been fitted a step, when Keras builds its compiled
    metrics); a metric without an object, or whose object declares no direction,
    falls back to its name (:func:`keras_blueprints.resolve.directions.default_direction`,
    which agrees with the objects of every metric Keras ships).

    Args:
        monitor: The name as training logs it (``val_accuracy``...).
        model: The compiled model, if any.

    Returns:
        ``"max"`` or ``"min"``.
    """
    from keras_blueprints._compat.keras import metric_direction_of

    name = monitor.removeprefix("val_")
    if model is not None and name != "loss":
        for metric in _metrics(getattr(model, "metrics", ())):
            if metric.name == name:
                direction = metric_direction_of(metric)
                if direction is not None:
                    return direction
    return default_direction(monitor)


def _metrics(metrics: Iterable[Any]) -> Iterator[Any]:
    """Every metric object, inside Keras' containers of compiled metrics too."""
    for metric in metrics:
        yield metric
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, list | tuple):
            yield from _metrics(inner)

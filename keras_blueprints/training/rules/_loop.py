"""The epochs of a rule: the fit path's callbacks and metrics around the rule's updates."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.resolve.schema import Blueprint, TrainSpec, thaw
from keras_blueprints.training.rules.registry import BACKPROP, MEASURE, RULES, RuleContext

if TYPE_CHECKING:
    import keras

__all__ = ["fit_by_rule", "measure"]


def _numpy(dataset: Any) -> Iterator[tuple[Any, Any]]:
    yield from dataset.as_numpy_iterator()


def fit_by_rule(
    model: keras.Model,
    blueprint: Blueprint,
    datasets: Any,
    *,
    callbacks: Iterable[keras.callbacks.Callback],
    epochs: int,
    initial_epoch: int = 0,
    verbose: int | str = "auto",
) -> keras.callbacks.History:
    """Trains ``model`` with the rule ``train.rule`` names, epoch by epoch, as ``fit`` would.

    Each epoch the rule updates the weights on one pass over the training data
    (``train.steps_per_epoch`` batches when set); then the compiled loss and metrics
    are measured on the training data (and ``val_`` ones on the validation data);
    a model with no ``compile:`` is measured by the rule's own ``measure`` on the
    validation data (its training logs are what the rule's epoch logged). The
    callbacks' ``on_epoch_end`` receive them with what the rule logged: the run's
    backup and checkpoints, the blueprint's callbacks. A rule that reports
    ``converged`` ends training after that epoch (as early stopping would).

    Args:
        model: The built model (compiled for metrics, or judged by the rule's measure).
        blueprint: The resolved blueprint.
        datasets: Its data (``keras_blueprints.data.Datasets``).
        callbacks: The Keras callbacks, in order.
        epochs: The epoch to stop after.
        initial_epoch: The epoch to start from (a resumed run).
        verbose: 0 prints nothing; otherwise one line per epoch.

    Returns:
        A Keras ``History`` of these epochs.

    Raises:
        BlueprintError: The rule refused the model (located at ``train``).
    """
    import keras

    spec = blueprint.train or TrainSpec()
    name = spec.rule.name
    rule = _rule(model, blueprint)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        # Unused by the rule, but saved with the weights as a fit saves it: a resumed run
        # builds it before loading its backup (training.backup.restore).
        optimizer.build(model.trainable_variables)
    history = keras.callbacks.History()
    hooks = keras.callbacks.CallbackList([*callbacks, history], model=model)
    model.stop_training = False
    hooks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        hooks.on_epoch_begin(epoch)
        data = datasets.train
        if spec.steps_per_epoch:
            data = data.repeat().take(spec.steps_per_epoch)
        logs = {k: float(v) for k, v in rule.epoch(_numpy(data)).items()}
        converged = logs.pop("converged", 0.0) > 0
        if getattr(model, "compiled", False):  # an uncompiled model: the rule's own logs
            logs.update(_measured(model, rule, data, ""))
        if datasets.validation is not None:
            logs.update(_measured(model, rule, datasets.validation, "val_"))
        if verbose != 0:
            shown = " - ".join(f"{k}: {v:.4g}" for k, v in logs.items())
            print(f"Epoch {epoch + 1}/{epochs} ({name}) - {shown}", flush=True)
        hooks.on_epoch_end(epoch, logs)
        if converged:
            model.stop_training = True
        if model.stop_training:
            break
    hooks.on_train_end()
    return history


def _rule(model: Any, blueprint: Blueprint) -> Any:
    """The rule ``train.rule`` names, set up for ``model``."""
    spec = blueprint.train or TrainSpec()
    name = spec.rule.name
    entry = RULES.lookup(name, spec.location)
    args = {p.name: p.default for p in entry.params.values() if not p.required}
    args.update(thaw(spec.rule.args))
    try:
        return entry.fn(RuleContext(blueprint, model, spec.seed), **args)
    except (TypeError, ValueError) as exc:
        raise BlueprintError(
            f"training rule '{name}' could not be set up: {exc}", spec.location
        ) from exc


def measure(
    model: keras.Model, blueprint: Blueprint, data: Any, verbose: int | str = 0
) -> dict[str, float]:
    """What ``model`` is judged by on ``data``: its compiled metrics, or its rule's.

    A compiled model is evaluated by Keras; a model with no ``compile:`` section (a
    machine trained only by a rule, an RBM by ``cd``) by its rule's ``measure``, and by
    nothing when the rule has none.

    Args:
        model: The trained model.
        blueprint: Its resolved blueprint.
        data: A batched dataset of ``(x, y)``.
        verbose: Keras' verbosity (compiled models).

    Returns:
        Metric name to value.
    """
    if getattr(model, "compiled", False):
        result = model.evaluate(data, verbose=verbose, return_dict=True)
        return {k: float(v) for k, v in result.items()}
    if (blueprint.train or TrainSpec()).rule.name == BACKPROP:
        return {}
    return _measured(model, _rule(model, blueprint), data, "")


def _measured(model: Any, rule: Any, data: Any, prefix: str) -> dict[str, float]:
    if getattr(model, "compiled", False):
        result = model.evaluate(data, verbose=0, return_dict=True)
    elif callable(getattr(rule, MEASURE, None)):
        result = getattr(rule, MEASURE)(_numpy(data))
    else:
        return {}
    return {f"{prefix}{k}": float(v) for k, v in result.items()}

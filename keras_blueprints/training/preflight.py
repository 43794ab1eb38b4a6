"""What would stop training before its first step, checked without TensorFlow."""

from __future__ import annotations

from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.resolve.schema import Blueprint, TrainSpec
from keras_blueprints.training.rules.registry import BACKPROP

__all__ = ["check_trainable"]


def check_trainable(bp: Blueprint, what: str = "training", *, compiled: bool = False) -> None:
    """Refuses what would stop training before its first step (no compile, no data).

    Backpropagation (the default rule) and pretraining's fine-tuning minimise the compiled
    loss, so they need ``compile:``; a model trained only by another rule (Hebb, the
    perceptron, Hopfield storage, contrastive divergence) does not, and is then judged by
    its rule's own measure (``Rule.measure``: an RBM's reconstruction error, a threshold
    unit's share of right answers).

    Training checks it before its run directory exists, a search before its first trial.

    Args:
        bp: The blueprint.
        what: What would train, for the message (``training``, ``a search``).
        compiled: Whether a compiled model is needed whatever the rule (a search:
            keras-tuner checkpoints each trial with its optimizer).

    Raises:
        BlueprintError: No ``compile:`` section, or no training data.
    """
    train = bp.train or TrainSpec()
    by_rule = train.rule.name != BACKPROP and train.pretrain is None
    if bp.compile is None and (compiled or not by_rule):
        why = (
            f" (its trials are compiled models, even with rule '{train.rule.name}')"
            if by_rule
            else ""
        )
        raise BlueprintError(
            f"{what} needs a 'compile:' section (optimizer, loss, metrics){why}",
            Location(bp.source, 1, 1),
            hint="For example:  compile: {loss: mse, metrics: [binary_accuracy]} (the rule"
            " still trains; the loss and metrics measure it)"
            if by_rule
            else "For example:  compile: {optimizer: adam, loss: sparse_categorical_crossentropy,"
            " metrics: [accuracy]}",
        )
    if bp.data is None or bp.data.source is None:
        raise BlueprintError(
            "no training data: add a data: section or pass --data",
            bp.data.location if bp.data is not None else Location(bp.source, 1, 1),
            expected="data: {source: digits} (or npz, csv, images...)",
        )

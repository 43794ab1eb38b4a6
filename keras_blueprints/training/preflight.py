"""What would stop training before its first step, checked without TensorFlow."""

from __future__ import annotations

from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.resolve.schema import Blueprint
from keras_blueprints.training.rules.registry import BACKPROP

__all__ = ["check_trainable"]


def check_trainable(bp: Blueprint, what: str = "training") -> None:
    """Refuses what would stop training before its first step (no compile, no data).

    Backpropagation (the default rule) and pretraining's fine-tuning minimise the compiled
    loss, so they need ``compile:``; a model trained only by another rule (Hebb, the
    perceptron, Hopfield storage, contrastive divergence) does not, and is then judged by
    its rule's own measure (an RBM's reconstruction error).

    Training checks it before its run directory exists, a search before its first trial.

    Args:
        bp: The blueprint.
        what: What would train, for the message (``training``, ``a search``).

    Raises:
        BlueprintError: No ``compile:`` section, or no training data.
    """
    train = bp.train
    needs_compile = train is None or train.rule.name == BACKPROP or train.pretrain is not None
    if bp.compile is None and needs_compile:
        raise BlueprintError(
            f"{what} needs a 'compile:' section (optimizer, loss, metrics)",
            Location(bp.source, 1, 1),
            hint="For example:  compile: {optimizer: adam, loss: sparse_categorical_crossentropy,"
            " metrics: [accuracy]}",
        )
    if bp.data is None or bp.data.source is None:
        raise BlueprintError(
            "no training data: add a data: section or pass --data",
            bp.data.location if bp.data is not None else Location(bp.source, 1, 1),
            expected="data: {source: digits} (or npz, csv, images...)",
        )

"""Metrics Keras lacks, usable in ``compile.metrics`` by class name like Keras' own.

``BinaryDice`` is the Dice coefficient (the F1 score of the pixels) of a binary
segmentation, accumulated over an epoch like Keras' ``BinaryIoU``: both read the
same confusion matrix, and for each class Dice = 2 TP / (2 TP + FP + FN) =
2 IoU / (1 + IoU). Registered as Keras-serializable, so a saved model that was
compiled with it loads again.

The names are listed, without importing Keras, in
:data:`keras_blueprints.catalog.vocabulary.PROJECT_METRICS`.
"""

from __future__ import annotations

from typing import Any

import keras

__all__ = ["BinaryDice", "project_metrics"]


@keras.saving.register_keras_serializable(package="keras_blueprints")
class BinaryDice(keras.metrics.BinaryIoU):
    """The Dice coefficient of a binary mask, averaged over ``target_class_ids``.

    Args:
        target_class_ids: The classes (0 background, 1 foreground) whose Dice is
            averaged; default ``[0, 1]``.
        threshold: Scores above it count as class 1.
        name: The metric's name (``dice`` in the zoo).
        dtype: The result's dtype.
    """

    def __init__(
        self,
        target_class_ids: Any = (0, 1),
        threshold: float = 0.5,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            target_class_ids=target_class_ids, threshold=threshold, name=name, dtype=dtype
        )

    def result(self) -> Any:
        """Dice from the accumulated confusion matrix, as BinaryIoU reads IoU from it."""
        from keras import ops

        matrix = ops.cast(self.total_cm, "float32")
        true_positives = ops.diagonal(matrix)
        predicted = ops.sum(matrix, axis=0)
        actual = ops.sum(matrix, axis=1)
        denominator = predicted + actual  # 2 TP + FP + FN
        ids = list(self.target_class_ids)
        true_positives = ops.take(true_positives, ids)
        denominator = ops.take(denominator, ids)
        present = ops.sum(ops.cast(ops.greater(denominator, 0.0), "float32"))
        dice = ops.divide_no_nan(2.0 * true_positives, denominator)
        return ops.divide_no_nan(ops.sum(dice), present)


def project_metrics() -> dict[str, type]:
    """The project's metric classes by name."""
    return {"BinaryDice": BinaryDice}

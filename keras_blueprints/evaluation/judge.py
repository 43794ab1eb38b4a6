"""Choosing the judgement from the task and writing it to ``RUN_DIR/evaluation/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from keras_blueprints._core.files import atomic_write_json
from keras_blueprints.evaluation import classification

__all__ = ["EVALUATION_FILE", "judge"]

EVALUATION_FILE = "evaluation.json"


def judge(model: Any, dataset: Any, out_dir: str | Path, split: str = "test") -> dict | None:
    """Judges ``model`` on ``dataset`` and writes the pictures and ``evaluation.json``.

    Args:
        model: A trained single-output ``keras.Model``.
        dataset: Batches of ``(inputs, targets)``.
        out_dir: The folder to write to (``RUN_DIR/evaluation``).
        split: The name of the data split, recorded in the JSON.

    Returns:
        What ``evaluation.json`` holds, or None when no judgement fits the task
        (nothing is written then).
    """
    targets, predictions = [], []
    for batch in dataset:
        if not isinstance(batch, tuple | list) or len(batch) < 2:
            return None
        x, y = batch[0], batch[1]
        if isinstance(y, dict | list | tuple):
            return None
        # A plain call, not predict_on_batch: under a tf.distribute strategy that one
        # returns every replica's outputs for the batch.
        predicted = model(x, training=False)
        if isinstance(predicted, dict | list | tuple):
            return None
        targets.append(np.asarray(y))
        predictions.append(np.asarray(predicted))
    if not targets or sum(map(len, targets)) != sum(map(len, predictions)):
        return None
    y_true, y_prob = np.concatenate(targets), np.concatenate(predictions)
    labels = _class_labels(y_true, y_prob)
    if labels is None:
        return None
    classes = y_prob.shape[-1] if y_prob.shape[-1] > 1 else 2
    y_pred = y_prob.argmax(-1) if y_prob.shape[-1] > 1 else (y_prob[:, 0] > 0.5).astype(int)
    matrix = classification.confusion_matrix(labels, y_pred, classes)
    out = Path(out_dir)
    classification.plot_confusion(
        matrix, out / classification.CONFUSION_PNG, f"Confusion matrix ({split})"
    )
    result = {
        "task": "classification",
        "split": split,
        "confusion_matrix": matrix.tolist(),
        **classification.per_class_scores(matrix),
    }
    atomic_write_json(out / EVALUATION_FILE, result)
    return result


def _class_labels(y_true: np.ndarray, y_prob: np.ndarray) -> np.ndarray | None:
    """Integer labels when the task is classification (one label per example), else None."""
    if y_prob.ndim != 2:
        return None
    if y_true.ndim == 2 and y_true.shape == y_prob.shape and y_prob.shape[-1] > 1:
        if not np.all((y_true == 0) | (y_true == 1)) or not np.all(y_true.sum(-1) == 1):
            return None
        return y_true.argmax(-1)
    flat = y_true.reshape(len(y_true), -1)
    if flat.shape[1] != 1:
        return None
    labels = flat[:, 0]
    if not np.all(labels == np.round(labels)):
        return None
    labels = labels.astype(int)
    limit = y_prob.shape[-1] if y_prob.shape[-1] > 1 else 2
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= limit:
        return None
    return labels

"""Classification: the confusion matrix and per-class precision, recall and F1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CONFUSION_PNG", "confusion_matrix", "per_class_scores", "plot_confusion"]

CONFUSION_PNG = "confusion_matrix.png"


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_pred: Predicted integer labels, shape ``(n,)``.
        classes: Number of classes.

    Returns:
        An integer ``(classes, classes)`` array: row = true class, column = prediction.
    """
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return matrix


def per_class_scores(matrix: np.ndarray) -> dict[str, Any]:
    """Precision, recall, F1 and support per class, and accuracy, from a confusion matrix.

    Args:
        matrix: A confusion matrix (rows = true classes).

    Returns:
        ``{"accuracy", "precision", "recall", "f1", "support"}``; a class never
        predicted (or never present) scores 0.
    """
    tp = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    support = matrix.sum(axis=1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    total = matrix.sum()
    return {
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.astype(int).tolist(),
    }


def plot_confusion(
    matrix: np.ndarray,
    path: Path,
    title: str = "Confusion matrix",
    names: list[str] | None = None,
) -> Path:
    """Draws the confusion matrix with its counts to ``path`` (PNG, atomically).

    Args:
        matrix: The confusion matrix (rows = true classes).
        path: The PNG.
        title: The figure's title.
        names: The classes' names for the ticks (default: their ids).

    Returns:
        The path.
    """
    from keras_blueprints.callbacks._plots import new_figure, save_figure

    n = matrix.shape[0]
    size = min(3 + 0.45 * n, 14)
    figure = new_figure(size + 1, size)
    ax = figure.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=ax)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    if names is not None:
        ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(n), names, fontsize=8)
    else:
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
    if n <= 20:
        peak = matrix.max() or 1
        for i in range(n):
            for j in range(n):
                colour = "white" if matrix[i, j] > peak / 2 else "black"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=colour, fontsize=8)
    return save_figure(figure, path)

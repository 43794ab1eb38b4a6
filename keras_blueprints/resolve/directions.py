"""Whether a logged metric is maximised or minimised, from its name alone (no TensorFlow).

At load time there is no metric object to ask (``tune.direction``'s default is read
before anything imports Keras), so the names Keras logs are listed here with the
direction their metric objects declare; ``tests/test_fit_path.py`` checks that the
two agree for every metric in the installed ``keras.metrics``. While training, the
compiled metric objects themselves decide (:func:`keras_blueprints.training.fit.metric_direction`).
"""

from __future__ import annotations

import re

__all__ = ["MAXIMIZED", "MINIMIZED", "default_direction"]

MAXIMIZED = frozenset({
    "accuracy", "auc", "binary_accuracy", "binary_io_u", "categorical_accuracy",
    "concordance_correlation", "cosine_similarity", "f1_score", "fbeta_score", "io_u",
    "mean_io_u", "one_hot_io_u", "one_hot_mean_io_u", "pearson_correlation", "precision",
    "precision_at_recall", "r2_score", "recall", "recall_at_precision",
    "sensitivity_at_specificity", "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "specificity_at_sensitivity",
    "top_k_categorical_accuracy", "acc",
})  # fmt: skip
"""Names Keras logs for metrics whose objects improve upwards (``_direction == "up"``)."""

MINIMIZED = frozenset({
    "loss", "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "hinge", "huber", "kl_divergence",
    "logcosh", "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_error", "mean_squared_logarithmic_error", "poisson",
    "root_mean_squared_error", "sparse_categorical_crossentropy", "squared_hinge",
    "crossentropy", "ce", "mae", "mse", "mape", "msle",
})  # fmt: skip
"""Names Keras logs for losses and metrics whose objects improve downwards."""

_CUSTOM_MAXIMIZED_WORDS = ("acc", "auc", "precision", "recall", "f1", "iou", "dice")
"""For a name Keras does not log (a custom metric): words that say "higher is better"."""

_NUMBERED = re.compile(r"_\d+$")


def default_direction(metric: str) -> str:
    """``"max"`` or ``"min"`` for a logged metric name, as its Keras metric object says.

    ``val_`` and an output's prefix (``decoder_accuracy``) are read through, as is the
    number Keras appends to a second instance (``auc_1``). A name Keras does not
    log (a custom metric) is maximised when it says accuracy, AUC, precision, recall,
    F1, IoU or Dice, else minimised.

    Args:
        metric: The name as training logs it (``val_accuracy``, ``loss``...).

    Returns:
        ``"max"`` or ``"min"``.
    """
    name = _NUMBERED.sub("", metric.removeprefix("val_"))
    for known, direction in ((MINIMIZED, "min"), (MAXIMIZED, "max")):
        if name in known:
            return direction
    for known, direction in ((MAXIMIZED, "max"), (MINIMIZED, "min")):
        if any(name.endswith(f"_{k}") for k in known):
            return direction
    return "max" if any(word in name for word in _CUSTOM_MAXIMIZED_WORDS) else "min"

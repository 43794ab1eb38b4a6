"""Keras internals the project reads (checked with Keras 3.3 to 3.15).

Only this module may touch them; everything else uses :mod:`keras`' public API.
"""

from __future__ import annotations

from typing import Any

__all__ = ["metric_direction_of"]

_DIRECTIONS = {"up": "max", "down": "min"}


def metric_direction_of(metric: Any) -> str | None:
    """Whether a Keras metric object improves upwards: ``"max"``, ``"min"`` or None.

    Keras' own monitoring callbacks (``EarlyStopping``, ``ModelCheckpoint`` in
    ``mode="auto"``) read the metric's private ``_direction`` (``"up"`` or ``"down"``);
    this is that same reading, behind one door.

    Args:
        metric: A ``keras.metrics.Metric`` (or anything else: then None).

    Returns:
        ``"max"``, ``"min"``, or None when the metric says nothing (``Mean``, counts).
    """
    return _DIRECTIONS.get(getattr(metric, "_direction", None))

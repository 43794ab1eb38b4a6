"""The ``teacher_forcing`` callback class (imports Keras)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import keras

from keras_blueprints.layers.scheduled_sampling import ScheduledSampling

__all__ = ["DEFAULT_K", "TeacherForcing", "scheduled_ratio", "scheduled_sampling_layers"]

DEFAULT_K = {"linear": 0.1, "exponential": 0.9, "inverse_sigmoid": 5.0}
"""``k`` of each schedule when the blueprint leaves it out."""


def scheduled_ratio(
    schedule: str, epoch: int, *, start: float = 1.0, end: float = 0.0, k: float | None = None
) -> float:
    """The teacher forcing ratio of an epoch (Bengio et al., 2015, section 2.4).

    With ``e`` the epoch (from 0):

    * ``linear``: ``max(end, start - k e)``, ``k`` the decrease per epoch;
    * ``exponential``: ``end + (start - end) k^e``, ``0 < k < 1``;
    * ``inverse_sigmoid``: ``end + (start - end) k / (k + exp(e / k))``,
      ``k >= 1``: flat at first, then a smooth fall around ``e = k ln k``.

    Args:
        schedule: ``linear``, ``exponential`` or ``inverse_sigmoid``.
        epoch: The epoch, from 0.
        start: The ratio the decay starts from.
        end: The ratio it decays towards (never below).
        k: The schedule's rate (default :data:`DEFAULT_K`).

    Returns:
        The ratio, in [min(start, end), max(start, end)].

    Raises:
        ValueError: An unknown schedule, or ``k`` out of its range.
    """
    if schedule not in DEFAULT_K:
        raise ValueError(
            f"Expected 'schedule' to be one of: {', '.join(DEFAULT_K)}. "
            f"Received: schedule={schedule!r}"
        )
    k = DEFAULT_K[schedule] if k is None else float(k)
    if schedule == "linear":
        if k < 0:
            raise ValueError(f"Expected k >= 0 for the linear schedule. Received: k={k}")
        return max(end, start - k * epoch) if start >= end else min(end, start + k * epoch)
    if schedule == "exponential":
        if not 0 < k < 1:
            raise ValueError(f"Expected 0 < k < 1 for the exponential schedule. Received: k={k}")
        return end + (start - end) * k**epoch
    if k < 1:
        raise ValueError(f"Expected k >= 1 for the inverse_sigmoid schedule. Received: k={k}")
    exponent = epoch / k
    share = 0.0 if exponent > 700 else k / (k + math.exp(exponent))
    return end + (start - end) * share


def scheduled_sampling_layers(model: keras.layers.Layer) -> Iterator[ScheduledSampling]:
    """Yields every ScheduledSampling layer of ``model``, nested models included."""
    seen: set[int] = set()
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, ScheduledSampling):
            yield layer
        stack.extend(getattr(layer, "layers", []))


class TeacherForcing(keras.callbacks.Callback):
    """Sets the teacher forcing ratio of every ScheduledSampling layer at each epoch start.

    The ratio is added to the epoch's logs as ``teacher_forcing_ratio`` (so the
    history, ``csv_logger`` and ``learning_curves`` placed after this callback
    show it).

    Args:
        schedule: ``linear``, ``exponential`` or ``inverse_sigmoid``.
        start: The ratio at epoch 0 (before the decay).
        end: The ratio it decays towards.
        k: The schedule's rate (see :func:`scheduled_ratio`).
    """

    def __init__(
        self, schedule: str, *, start: float = 1.0, end: float = 0.0, k: float | None = None
    ) -> None:
        super().__init__()
        for what, value in (("start", start), ("end", end)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Expected '{what}' in [0, 1]. Received: {what}={value!r}")
        scheduled_ratio(schedule, 0, start=start, end=end, k=k)  # checks schedule and k
        self.schedule, self.start, self.end, self.k = schedule, start, end, k
        self.ratios: dict[int, float] = {}
        self._layers: list[ScheduledSampling] = []

    def ratio(self, epoch: int) -> float:
        """The ratio of ``epoch`` (from 0)."""
        return scheduled_ratio(self.schedule, epoch, start=self.start, end=self.end, k=self.k)

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Finds the model's ScheduledSampling layers.

        Raises:
            ValueError: The model has none.
        """
        self._layers = list(scheduled_sampling_layers(self.model))
        if not self._layers:
            raise ValueError(
                f"Expected a ScheduledSampling layer in model '{self.model.name}' for the "
                "teacher_forcing callback. Received: none. Feed a second pass of the decoder "
                "through one (see blueprints/seq2seq_lstm_scheduled.yaml), or remove the callback."
            )

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Sets the epoch's ratio on every ScheduledSampling layer."""
        ratio = self.ratio(epoch)
        for layer in self._layers:
            layer.set_ratio(ratio)
        self.ratios[epoch] = ratio

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Adds ``teacher_forcing_ratio`` to the epoch's logs."""
        if logs is not None and epoch in self.ratios:
            logs["teacher_forcing_ratio"] = self.ratios[epoch]

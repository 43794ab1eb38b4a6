"""Scheduled sampling: the teacher forcing ratio of an encoder-decoder, decayed over epochs."""

from __future__ import annotations

from typing import Any, Literal

from keras_blueprints.callbacks.registry import CallbackContext, register_callback

__all__ = ["teacher_forcing"]


@register_callback("teacher_forcing", aliases=("TeacherForcing", "scheduled_sampling"))
def teacher_forcing(
    context: CallbackContext,
    *,
    schedule: Literal["linear", "exponential", "inverse_sigmoid"] = "inverse_sigmoid",
    start: float = 1.0,
    end: float = 0.0,
    k: float | None = None,
) -> Any:
    """Decays the share of true decoder inputs over epochs (scheduled sampling, Bengio et al. 2015).

    A decoder trained only on true previous tokens (teacher forcing) never
    sees its own mistakes, yet at inference it reads nothing else (*exposure
    bias*). Scheduled sampling starts with teacher forcing and replaces more and
    more true tokens with the model's own predictions as it improves. At the
    start of each epoch ``e`` (from 0) this callback sets the ratio (the
    probability of keeping each true token) on every ``ScheduledSampling`` layer
    of the model, and logs it as ``teacher_forcing_ratio`` (place it before
    ``learning_curves`` and ``csv_logger`` so they record it):

    * ``linear``: ``max(end, start - k e)`` (default k = 0.1 per epoch);
    * ``exponential``: ``end + (start - end) k^e`` (0 < k < 1, default 0.9);
    * ``inverse_sigmoid``: ``end + (start - end) k / (k + exp(e / k))``
      (k >= 1, default 5: slow at first, then a smooth fall).

    The blueprint feeds the decoder twice (parallel scheduled sampling,
    Duckworth et al. 2019): once on the true inputs, then, through a
    ``ScheduledSampling`` layer mixing those with the first pass's shifted
    predictions, again with the same (``share:``) layers; see
    ``blueprints/seq2seq_lstm_scheduled.yaml``.

    Args:
        context: The callback context.
        schedule: How the ratio decays.
        start: The ratio the decay starts from, in [0, 1].
        end: The ratio it decays towards, in [0, 1].
        k: The schedule's rate (see above); None for its default.

    Returns:
        A ``TeacherForcing`` callback.

    Raises:
        ValueError: ``start``/``end`` outside [0, 1] or ``k`` out of the schedule's range.
    """
    from keras_blueprints.callbacks._teacher_forcing import TeacherForcing

    return TeacherForcing(schedule, start=start, end=end, k=k)

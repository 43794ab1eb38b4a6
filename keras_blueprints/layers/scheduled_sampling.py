"""Scheduled sampling for teacher-forced decoders (Bengio et al., 2015).

A sequence decoder is trained with *teacher forcing*: at step t it reads the
true previous token y_{t-1} and learns to predict y_t. At inference it reads
its own previous prediction instead, which may be wrong, and it never learned
to recover from its own mistakes: this training/inference mismatch is
*exposure bias*. Scheduled sampling closes the gap gradually: at each step the
decoder input is the true token with probability ``ratio`` (the *teacher
forcing ratio*) and the model's own prediction otherwise; ``ratio`` starts at
1 (pure teacher forcing, fast and stable early training) and decays during
training (the ``teacher_forcing`` callback sets it at each epoch).

Bengio et al. feed back predictions step by step, which forbids computing all
decoder steps at once. *Parallel scheduled sampling* (Duckworth et al., 2019)
keeps the decoder parallel with two passes through the SAME decoder layers:

1. a teacher-forced pass on the true inputs ``<start> y1 ... y_{n-1}`` gives a
   prediction for every step;
2. :class:`ScheduledSampling` shifts those predictions right by one step (the
   prediction made at step t is the model's guess for the input of step t + 1;
   the start token stays) and mixes them, token by token, with the true inputs:
   the true token with probability ``ratio``, the predicted one otherwise;
3. a second pass of the shared decoder on the mixed inputs gives the outputs the
   loss is computed on.

In a blueprint the second pass reuses the decoder's layers with ``share:``.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_blueprints.layers import builtin_layer

__all__ = ["ScheduledSampling"]


def _check_ratio(value: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise ValueError(f"Expected 'ratio' in [0, 1]. Received: ratio={value!r}")
    return float(value)


def _shapes(input_shape) -> tuple[tuple, tuple]:
    shapes = list(input_shape) if isinstance(input_shape, list | tuple) else [input_shape]
    if len(shapes) != 2 or not all(isinstance(s, list | tuple) for s in shapes):
        raise ValueError(
            "Expected ScheduledSampling to receive two tensors, [ground_truth, predictions]. "
            f"Received: input_shape={input_shape}"
        )
    truth, predicted = tuple(shapes[0]), tuple(shapes[1])
    one_hot = len(truth) == len(predicted)
    ids = len(truth) == len(predicted) - 1
    if len(truth) < 2 or not (one_hot or ids):
        raise ValueError(
            "Expected ground truth (batch, steps, vocabulary) one-hot, or (batch, steps) token "
            "ids, and predictions (batch, steps, vocabulary). Received: shapes "
            f"{truth} and {predicted}"
        )
    if one_hot and None not in (truth[-1], predicted[-1]) and truth[-1] != predicted[-1]:
        raise ValueError(
            "Expected one-hot ground truth and predictions over the same vocabulary. "
            f"Received: shapes {truth} and {predicted}"
        )
    return truth, predicted


@builtin_layer
class ScheduledSampling(keras.layers.Layer):
    """Mixes true decoder inputs with the model's shifted predictions (parallel scheduled sampling).

    Given the true decoder inputs ``<start> y1 ... y_{n-1}`` and the
    teacher-forced pass's predictions ``p1 ... pn`` (``p_t`` predicts ``y_t``),
    the *sampled* inputs are ``<start> ŷ1 ... ŷ_{n-1}`` with ``ŷ_t = argmax p_t``,
    and the output takes, for every example and step independently, the true
    token with probability ``ratio`` and the sampled one otherwise. The first
    step always keeps the true (start) token. No gradient flows back through
    the predictions (an argmax has none; Duckworth et al. also stop it).

    At inference (``training`` false or unset) the layer returns the ground
    truth unchanged, so the second decoder pass equals the teacher-forced one.

    ``ratio`` is a non-trainable variable (``set_ratio`` changes it without
    retracing a compiled training step); its current value is also the
    ``ratio`` of ``get_config``, so a saved model resumes where it stopped.

    Args:
        ratio: Probability of keeping each true token, in [0, 1]: 1 is pure
            teacher forcing, 0 feeds the model's own predictions only.
        seed: Seed of the per-token draws; ``None`` draws a fresh seed.
        **kwargs: Arguments of ``keras.layers.Layer`` (``name``, ``dtype``...).

    Call arguments:
        inputs: ``[ground_truth, predictions]``: the true decoder inputs, one-hot
            ``(batch, steps, vocabulary)`` or token ids ``(batch, steps)``, and
            the predicted distributions ``(batch, steps, vocabulary)``.
        training: Mix when true; return the ground truth otherwise.

    Example::

        - name: mixed
          from: [target, first_pass]
          ScheduledSampling: {ratio: 1.0, seed: 0}
    """

    def __init__(self, ratio=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._initial_ratio = _check_ratio(ratio)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.ratio_variable = None

    def build(self, input_shape):
        """Checks the input shapes and creates the ``ratio`` variable."""
        _shapes(input_shape)
        self.ratio_variable = self.add_weight(
            name="ratio",
            shape=(),
            initializer=keras.initializers.Constant(self._initial_ratio),
            trainable=False,
        )
        self.built = True

    @property
    def ratio(self) -> float:
        """The current probability of keeping a true token."""
        if self.ratio_variable is None:
            return self._initial_ratio
        return float(self.ratio_variable.numpy())

    def set_ratio(self, value: float) -> None:
        """Sets the probability of keeping a true token.

        Args:
            value: The new ratio, in [0, 1].

        Raises:
            ValueError: ``value`` is outside [0, 1].
        """
        value = _check_ratio(value)
        self._initial_ratio = value
        if self.ratio_variable is not None:
            self.ratio_variable.assign(value)

    def call(self, inputs, training=None):
        """Returns the mixed decoder inputs when training, the ground truth otherwise."""
        truth, predictions = inputs
        if not training:
            return truth
        predictions = ops.stop_gradient(predictions)
        one_hot = len(truth.shape) == len(predictions.shape)
        guessed = ops.argmax(predictions[:, :-1], axis=-1)  # the guess for steps 2 ... n
        if one_hot:
            guessed = ops.one_hot(guessed, ops.shape(predictions)[-1], dtype=truth.dtype)
            steps_shape = ops.shape(truth)[:2]
        else:
            guessed = ops.cast(guessed, truth.dtype)
            steps_shape = ops.shape(truth)
        sampled = ops.concatenate([truth[:, :1], guessed], axis=1)  # the start token stays
        draws = keras.random.uniform(steps_shape, seed=self.seed_generator)
        keep = ops.logical_or(
            draws < ops.cast(self.ratio_variable, draws.dtype),
            ops.expand_dims(ops.arange(ops.shape(truth)[1]) == 0, 0),
        )
        if one_hot:
            keep = ops.expand_dims(keep, -1)
        return ops.where(keep, truth, sampled)

    def compute_output_shape(self, input_shape):
        """The ground truth's shape."""
        return _shapes(input_shape)[0]

    def get_config(self):
        """The layer configuration plus the current ``ratio`` and ``seed``."""
        return {**super().get_config(), "ratio": self.ratio, "seed": self.seed}

"""Learning-rate schedules of our own, beside those of ``keras.optimizers.schedules``.

A learning-rate schedule is a function of the optimizer's step counter (the
number of batches seen, not epochs) that gives the step size of the next
update. A blueprint declares one as its optimizer's ``learning_rate``::

    compile:
      optimizer:
        SGD:
          momentum: 0.9
          learning_rate:
            LinearWarmup:
              warmup_steps: 100
              after: {CosineDecayRestarts: {initial_learning_rate: 0.1, first_decay_steps: 500}}

Every class of ``keras.optimizers.schedules`` is available by its class name
(or snake_case name: ``cosine_decay_restarts``), and so are the three defined
here:

- :class:`StepDecay`: the classic "divide by 10 every 30 epochs" staircase.
- :class:`TriangularCyclic`: cyclical learning rates (Smith, 2017), bouncing
  between a lower and an upper bound instead of decaying monotonically.
- :class:`LinearWarmup`: a linear ramp from a small rate to the wrapped
  schedule's starting value, which then takes over. Large rates at the very
  start, when the weights are random and adaptive optimizers' moment
  estimates are based on a handful of gradients, can throw training into a
  bad region; the warm-up avoids that (Goyal et al., 2017).

They are registered with ``keras.saving.register_keras_serializable`` (package
``keras_blueprints``), so a trained ``.keras`` file that uses one reloads once
this module has been imported (``import keras_blueprints.training.schedules``).

This module imports Keras: it is imported at build time (by
:mod:`keras_blueprints.builders.compile`), never by the resolver.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

__all__ = ["CUSTOM_SCHEDULES", "LinearWarmup", "StepDecay", "TriangularCyclic"]

_PACKAGE = "keras_blueprints"
_MODES = ("triangular", "triangular2")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"Expected a positive integer for '{name}'. Received: {name}={value!r}")
    return value


def _number(name: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"Expected a number for '{name}'. Received: {name}={value!r}")
    if positive and value <= 0:
        raise ValueError(f"Expected a positive number for '{name}'. Received: {name}={value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Multiplies the learning rate by ``factor`` every ``step_size`` steps.

    ``lr(step) = initial_learning_rate * factor ** floor(step / step_size)``: a
    staircase. The large early steps cross the loss surface quickly; each drop
    lets the optimizer settle into the basin it has reached (the loss
    typically falls sharply just after a drop). It is
    ``ExponentialDecay(staircase=True)`` with the rate per step written directly.

    Args:
        initial_learning_rate: The rate for the first ``step_size`` steps.
        step_size: Steps between two drops (batches, not epochs: multiply the
            epochs by the steps per epoch).
        factor: The multiplier at each drop, in (0, 1] for a decay (default 0.1).
        name: Name scope of the ops.

    Raises:
        ValueError: A non-positive ``step_size`` or ``initial_learning_rate``, or
            a non-positive ``factor``.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        step_size: int,
        factor: float = 0.1,
        name: str = "StepDecay",
    ) -> None:
        super().__init__()
        self.initial_learning_rate = _number(
            "initial_learning_rate", initial_learning_rate, positive=True
        )
        self.step_size = _positive_int("step_size", step_size)
        self.factor = _number("factor", factor, positive=True)
        self.name = name

    def __call__(self, step: Any) -> Any:
        """Returns the learning rate at ``step`` (a tensor)."""
        with keras.name_scope(self.name):
            lr = ops.convert_to_tensor(self.initial_learning_rate)
            dtype = lr.dtype
            drops = ops.floor(ops.cast(step, dtype) / ops.cast(self.step_size, dtype))
            return lr * ops.power(ops.cast(self.factor, dtype), drops)

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments (``from_config`` inverts it)."""
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "step_size": self.step_size,
            "factor": self.factor,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class TriangularCyclic(keras.optimizers.schedules.LearningRateSchedule):
    """Cyclical learning rate (Smith, 2017): a triangle wave between two bounds.

    The rate climbs linearly from ``base_learning_rate`` to ``max_learning_rate``
    over ``step_size`` steps, then falls back over as many: one cycle is
    ``2 * step_size`` steps. With ``cycle = floor(1 + step / (2 * step_size))``
    and ``x = |step / step_size - 2 * cycle + 1|``::

        lr = base + (max - base) * max(0, 1 - x) * scale(cycle)

    where ``scale`` is 1 (``triangular``) or ``1 / 2 ** (cycle - 1)``
    (``triangular2``: the amplitude halves every cycle). The periods of large
    rates help escape saddle points and sharp minima; the periods of small
    rates make progress within a basin. Smith suggests a ``step_size`` of 2 to
    10 epochs' worth of steps, and bounds found by a short "LR range test".

    Args:
        base_learning_rate: The lower bound (reached at the start of each cycle).
        max_learning_rate: The upper bound (reached mid-cycle), at least the lower one.
        step_size: Steps of half a cycle.
        mode: ``triangular`` (constant amplitude) or ``triangular2`` (halved every cycle).
        name: Name scope of the ops.

    Raises:
        ValueError: Bounds in the wrong order, a non-positive ``step_size`` or an
            unknown ``mode``.
    """

    def __init__(
        self,
        base_learning_rate: float,
        max_learning_rate: float,
        step_size: int,
        mode: str = "triangular",
        name: str = "TriangularCyclic",
    ) -> None:
        super().__init__()
        self.base_learning_rate = _number("base_learning_rate", base_learning_rate)
        self.max_learning_rate = _number("max_learning_rate", max_learning_rate)
        if self.base_learning_rate < 0 or self.max_learning_rate < self.base_learning_rate:
            raise ValueError(
                "Expected 0 <= base_learning_rate <= max_learning_rate. Received: "
                f"base_learning_rate={base_learning_rate}, max_learning_rate={max_learning_rate}"
            )
        self.step_size = _positive_int("step_size", step_size)
        if mode not in _MODES:
            raise ValueError(f"Expected 'mode' to be one of {', '.join(_MODES)}. Received: {mode=}")
        self.mode = mode
        self.name = name

    def __call__(self, step: Any) -> Any:
        """Returns the learning rate at ``step`` (a tensor)."""
        with keras.name_scope(self.name):
            base = ops.convert_to_tensor(self.base_learning_rate)
            dtype = base.dtype
            t = ops.cast(step, dtype) / ops.cast(self.step_size, dtype)
            cycle = ops.floor(1.0 + t / 2.0)
            x = ops.abs(t - 2.0 * cycle + 1.0)
            height = ops.maximum(ops.cast(0.0, dtype), 1.0 - x)
            if self.mode == "triangular2":
                height = height / ops.power(ops.cast(2.0, dtype), cycle - 1.0)
            return base + (self.max_learning_rate - self.base_learning_rate) * height

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments (``from_config`` inverts it)."""
        return {
            "base_learning_rate": self.base_learning_rate,
            "max_learning_rate": self.max_learning_rate,
            "step_size": self.step_size,
            "mode": self.mode,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """A linear ramp over ``warmup_steps`` steps, then the wrapped schedule.

    For ``step < warmup_steps`` the rate goes linearly from ``start`` to
    ``after``'s first value (``after(0)``, or the constant); from then on it is
    ``after(step - warmup_steps)``: the wrapped schedule starts its own clock
    when the warm-up ends, so a ``CosineDecay`` of ``decay_steps`` still decays
    over that many steps, and the curve is continuous at the hand-over.

    Args:
        warmup_steps: Length of the ramp, in steps.
        after: A constant learning rate, or the schedule that follows the warm-up.
        start: The rate at step 0 (default 0).
        name: Name scope of the ops.

    Raises:
        ValueError: A non-positive ``warmup_steps``, a negative ``start``, or an
            ``after`` that is neither a number nor a schedule.
    """

    def __init__(
        self,
        warmup_steps: int,
        after: float | keras.optimizers.schedules.LearningRateSchedule,
        start: float = 0.0,
        name: str = "LinearWarmup",
    ) -> None:
        super().__init__()
        self.warmup_steps = _positive_int("warmup_steps", warmup_steps)
        if isinstance(after, dict):  # a serialized schedule, as in a saved config
            after = keras.optimizers.schedules.deserialize(after)
        if not isinstance(after, keras.optimizers.schedules.LearningRateSchedule):
            after = _number("after", after, positive=True)
        self.after = after
        self.start = _number("start", start)
        if self.start < 0:
            raise ValueError(f"Expected a non-negative number for 'start'. Received: {start=}")
        self.name = name

    def __call__(self, step: Any) -> Any:
        """Returns the learning rate at ``step`` (a tensor)."""
        with keras.name_scope(self.name):
            step = ops.cast(step, "float32")
            warmup = ops.cast(self.warmup_steps, "float32")
            if isinstance(self.after, keras.optimizers.schedules.LearningRateSchedule):
                target = ops.cast(self.after(ops.cast(0.0, "float32")), "float32")
                later = ops.cast(self.after(ops.maximum(step - warmup, 0.0)), "float32")
            else:
                target = later = ops.cast(self.after, "float32")
            ramp = self.start + (target - self.start) * ops.minimum(step / warmup, 1.0)
            return ops.where(step < warmup, ramp, later)

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments (``from_config`` inverts it)."""
        after = self.after
        if isinstance(after, keras.optimizers.schedules.LearningRateSchedule):
            after = keras.optimizers.schedules.serialize(after)
        return {
            "warmup_steps": self.warmup_steps,
            "after": after,
            "start": self.start,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LinearWarmup:
        """Rebuilds the schedule, deserializing the wrapped one."""
        config = dict(config)
        if isinstance(config.get("after"), dict):
            config["after"] = keras.optimizers.schedules.deserialize(config["after"])
        return cls(**config)


#: Our schedules by class name (Keras' own come from ``keras.optimizers.schedules``).
CUSTOM_SCHEDULES: dict[str, type[keras.optimizers.schedules.LearningRateSchedule]] = {
    "LinearWarmup": LinearWarmup,
    "StepDecay": StepDecay,
    "TriangularCyclic": TriangularCyclic,
}

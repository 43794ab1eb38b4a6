"""The numerical side of the ``cd`` rule (:mod:`keras_blueprints.training.rules.cd`).

Kept apart so that validating a blueprint, which reads the rule registry, never
imports NumPy: this module is imported only when a rule or a pretraining runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np

from keras_blueprints.training.rules.registry import RuleContext

__all__ = ["ContrastiveDivergence", "StackOfRBMs", "reconstruction_error"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # stable for large |x|


def reconstruction_error(
    v: np.ndarray, kernel: np.ndarray, hidden_bias: np.ndarray, visible_bias: np.ndarray
) -> float:
    """Mean squared error of the deterministic up-down pass ``p(v | p(h | v))``.

    Args:
        v: The visible data, one example per row.
        kernel: ``W`` (visible x hidden).
        hidden_bias: ``b_h``.
        visible_bias: ``b_v``.

    Returns:
        The mean over examples and units of ``(v - reconstruction)^2``.
    """
    h = _sigmoid(v @ kernel + hidden_bias)
    return float(np.mean((v - _sigmoid(h @ kernel.T + visible_bias)) ** 2))


class ContrastiveDivergence:
    """CD-k updates of one RBM's weights, held as float64 NumPy arrays.

    Args:
        kernel: ``W`` (visible x hidden), copied.
        hidden_bias: ``b_h``, copied.
        visible_bias: ``b_v``, copied.
        k: Gibbs steps per update.
        rate: The learning rate.
        momentum: The share of the previous update added to the next, in [0, 1).
        seed: Seeds the sampling of the hidden states.
        hidden: ``binary`` hidden units, or ``linear`` ones (Gaussian of unit variance
            around their input, Hinton and Salakhutdinov's code layer).
    """

    def __init__(
        self,
        kernel: Any,
        hidden_bias: Any,
        visible_bias: Any,
        *,
        k: int = 1,
        rate: float = 0.1,
        momentum: float = 0.0,
        seed: int = 0,
        hidden: Literal["binary", "linear"] = "binary",
    ) -> None:
        self.kernel = np.array(kernel, dtype="float64")
        self.hidden_bias = np.array(hidden_bias, dtype="float64")
        self.visible_bias = np.array(visible_bias, dtype="float64")
        self.k, self.rate, self.momentum, self.hidden = k, rate, momentum, hidden
        self.rng = np.random.default_rng(seed)
        self._velocity = [np.zeros_like(w) for w in self.weights]

    @property
    def weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(W, b_h, b_v)``."""
        return self.kernel, self.hidden_bias, self.visible_bias

    def _up(self, v: np.ndarray) -> np.ndarray:
        a = v @ self.kernel + self.hidden_bias
        return a if self.hidden == "linear" else _sigmoid(a)

    def _sample(self, p: np.ndarray) -> np.ndarray:
        if self.hidden == "linear":
            return p + self.rng.standard_normal(p.shape)
        return (self.rng.random(p.shape) < p).astype(p.dtype)

    def update(self, v0: np.ndarray) -> float:
        """One CD-k update on a batch; returns its reconstruction error before the update.

        Args:
            v0: The batch of visible data, one example per row, values in [0, 1].

        Returns:
            The mean squared error of the batch's first reconstruction ``p(v | h0)``.
        """
        v0 = np.asarray(v0, dtype="float64").reshape(len(v0), -1)
        ph0 = self._up(v0)
        h = self._sample(ph0)
        first = None
        for step in range(self.k):
            v = _sigmoid(h @ self.kernel.T + self.visible_bias)
            first = v if first is None else first
            ph = self._up(v)
            if step < self.k - 1:
                h = self._sample(ph)
        n = len(v0)
        grads = ((v0.T @ ph0 - v.T @ ph) / n, (ph0 - ph).mean(0), (v0 - v).mean(0))
        for weight, velocity, grad in zip(self.weights, self._velocity, grads, strict=True):
            velocity *= self.momentum
            velocity += self.rate * grad
            weight += velocity
        return float(np.mean((v0 - first) ** 2))

    def epoch(self, batches: Iterable[np.ndarray]) -> float:
        """One pass of updates; returns the mean of the batches' reconstruction errors."""
        errors = [self.update(v) for v in batches]
        return float(np.mean(errors)) if errors else float("nan")


def _features(model: Any, layer: Any) -> Any:
    """A function from a batch of the model's (single) input to what ``layer`` receives."""
    import keras

    def plain(x: Any) -> Any:
        return next(iter(x.values())) if isinstance(x, dict) else x

    if any(layer.input is t for t in model.inputs):
        return lambda x: np.asarray(plain(x))
    sub = keras.Model(model.inputs[0] if len(model.inputs) == 1 else model.inputs, layer.input)
    return lambda x: np.asarray(sub(plain(x) if len(model.inputs) == 1 else x, training=False))


class StackOfRBMs:
    """Trains every RBM layer of a model, in graph order, on what each receives."""

    def __init__(
        self,
        context: RuleContext,
        k: int,
        rate: float,
        momentum: float,
        epochs_per_layer: int | None,
    ) -> None:
        from keras_blueprints._core.errors import BlueprintError
        from keras_blueprints.layers.rbm import RBM
        from keras_blueprints.resolve.schema import TrainSpec

        self.layers = [layer for layer in context.model.layers if isinstance(layer, RBM)]
        if not self.layers:
            raise BlueprintError(
                "rule 'cd' trains the model's RBM layers, and it has none",
                (context.blueprint.train or TrainSpec()).location,
                hint="Add one:  - RBM: {units: 32}",
            )
        self.features = [_features(context.model, layer) for layer in self.layers]
        self.settings = {"k": k, "rate": rate, "momentum": momentum}
        self.seed = context.seed
        self.epochs_per_layer = epochs_per_layer
        self.trainers: dict[str, ContrastiveDivergence] = {}

    def _schedule(self) -> list[Any]:
        """The RBMs this epoch trains: all of them, or (greedy) the lowest not yet done."""
        if self.epochs_per_layer is None:
            return self.layers
        for layer in self.layers:
            if int(layer.epochs_trained.numpy()) < self.epochs_per_layer:
                return [layer]
        return []

    def epoch(self, batches: Any) -> Mapping[str, float]:
        """One pass per RBM trained, bottom first, each on the hidden probabilities below."""
        inputs = [x for x, _ in batches]
        if not self.trainers:  # the weights as built (or as a resumed run restored them)
            self.trainers = {
                layer.name: ContrastiveDivergence(
                    *(w.numpy() for w in (layer.kernel, layer.hidden_bias, layer.visible_bias)),
                    seed=self.seed + i,
                    **self.settings,
                )
                for i, layer in enumerate(self.layers)
            }
        logs = {}
        for layer in self._schedule():
            trainer = self.trainers[layer.name]
            features = self.features[self.layers.index(layer)]
            error = trainer.epoch(features(x) for x in inputs)
            for variable, value in zip(
                (layer.kernel, layer.hidden_bias, layer.visible_bias), trainer.weights, strict=True
            ):
                variable.assign(value.astype(variable.dtype))
            layer.epochs_trained.assign(layer.epochs_trained + 1)
            logs[f"reconstruction_{layer.name}"] = error
        if self.epochs_per_layer is not None and not self._schedule():
            logs["converged"] = 1.0  # every RBM has had its epochs: the DBN is trained
        return logs

    def measure(self, batches: Any) -> Mapping[str, float]:
        """Each RBM's reconstruction error on ``batches``, the weights left as they are.

        What a model with no ``compile:`` is judged by after every epoch and at the end
        of a run: ``reconstruction_NAME``, the mean squared error of the deterministic
        up-down pass of each RBM on what it receives (example-weighted over batches).
        """
        inputs = [x for x, _ in batches]
        logs = {}
        for layer, features in zip(self.layers, self.features, strict=True):
            weights = [w.numpy() for w in (layer.kernel, layer.hidden_bias, layer.visible_bias)]
            total, count = 0.0, 0
            for x in inputs:
                v = features(x)
                v = v.reshape(len(v), -1)
                total += reconstruction_error(v, *weights) * len(v)
                count += len(v)
            logs[f"reconstruction_{layer.name}"] = total / max(count, 1)
        return logs

"""The ``gradient_flow`` callback class (imports TensorFlow, Keras and matplotlib)."""

from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from keras_blueprints._core.files import atomic_write_json
from keras_blueprints.callbacks import TrainingWarning
from keras_blueprints.callbacks._inputs import as_model_inputs
from keras_blueprints.callbacks._plots import new_figure, positive_or_nan, save_figure

__all__ = ["TINY", "GradientFlow", "diagnose", "gradient_norms"]

TINY = 1e-10
"""A gradient norm below this is vanishing whatever the other layers do."""


def _weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if layer.trainable_weights]


def gradient_norms(model: keras.Model, x: Any, y: Any) -> dict[str, float]:
    """Computes each layer's gradient norm on one batch, with the model's compiled loss.

    The norm is that of all the layer's trainable weights together (kernel and
    bias...: ``sqrt(sum of squares)``). The model runs in inference mode
    (dropout off, batch normalization on its moving statistics): measurements
    are comparable from one step to the next and the model's state is untouched.

    Args:
        model: A compiled model.
        x: Its inputs for one batch.
        y: The targets.

    Returns:
        Layer name -> gradient norm, layers in the model's (depth) order.
    """
    layers = _weighted_layers(model)
    x = as_model_inputs(model, x)
    with tf.GradientTape() as tape:
        predictions = model(x, training=False)
        loss = model.compute_loss(x=x, y=y, y_pred=predictions, training=False)
    variables = [v for layer in layers for v in layer.trainable_weights]
    grads = tape.gradient(loss, [getattr(v, "value", v) for v in variables])
    norms: dict[str, float] = {}
    index = 0
    for layer in layers:
        total = 0.0
        for _ in layer.trainable_weights:
            grad = grads[index]
            index += 1
            if grad is not None:
                total += float(tf.reduce_sum(tf.square(tf.cast(grad, "float64"))))
        norms[layer.name] = math.sqrt(total) if math.isfinite(total) else math.inf
    return norms


def diagnose(norms: dict[str, float], vanish: float, explode: float) -> tuple[list[str], list[str]]:
    """Names the layers whose gradients vanish or explode.

    Args:
        norms: Layer name -> gradient norm.
        vanish: A norm below ``vanish`` x the largest norm of the layers that do
            not explode vanishes (as does one below :data:`TINY`).
        explode: A norm above this, or not finite, explodes.

    Returns:
        ``(vanishing, exploding)`` layer names, in depth order.
    """
    exploding = [k for k, n in norms.items() if not math.isfinite(n) or n > explode]
    largest = max((n for k, n in norms.items() if k not in exploding), default=0.0)
    vanishing = [
        k for k, n in norms.items() if k not in exploding and (n < TINY or n < vanish * largest)
    ]
    return vanishing, exploding


def _listing(names: list[str], norms: dict[str, float], limit: int = 6) -> str:
    shown = ", ".join(f"{k} ({norms[k]:.2g})" for k in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


class GradientFlow(keras.callbacks.Callback):
    """Measures each layer's gradient norm every ``every`` steps; warns when they vanish or explode.

    See :func:`keras_blueprints.callbacks.monitors.gradient_flow` for what it
    teaches and how to read the plot.

    Args:
        sample: ``(x, y)``: the fixed batch gradients are measured on.
        every: Training steps between measurements (one is also taken before
            the first step).
        vanish: Relative threshold (see :func:`diagnose`).
        explode: Absolute threshold (see :func:`diagnose`).
        json_path: Where the series are written.
        plot_path: Where the plot is written.
        log_dir: TensorBoard directory for ``gradient_norm/<layer>`` scalars, or None.
    """

    def __init__(
        self,
        sample: tuple[Any, Any],
        *,
        every: int,
        vanish: float,
        explode: float,
        json_path: Path,
        plot_path: Path,
        log_dir: Path | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"Expected a positive integer for 'every'. Received: every={every!r}")
        self.x, self.y = sample
        self.every = every
        self.vanish = vanish
        self.explode = explode
        self.json_path = Path(json_path)
        self.plot_path = Path(plot_path)
        self.log_dir = None if log_dir is None else Path(log_dir)
        if self.log_dir is not None and importlib.util.find_spec("tensorboard") is None:
            self.log_dir = None  # tf.summary needs the tensorboard package
            self.tensorboard = "not installed"
        else:
            self.tensorboard = self.log_dir is not None
        self.steps: list[int] = []
        self.norms: dict[str, list[float]] = {}
        self.flags: list[dict[str, Any]] = []
        self._warned: set[str] = set()
        self._writer: Any = None

    # --- Keras hooks -----------------------------------------------------------------

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Opens the TensorBoard writer and takes the first measurement."""
        if self.log_dir is not None and self._writer is None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._writer = tf.summary.create_file_writer(str(self.log_dir))
        step = self._step()
        if step not in self.steps:
            self.measure(step)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Measures every ``every`` optimizer steps."""
        step = self._step()
        if step % self.every == 0 and step not in self.steps:
            self.measure(step)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Writes the series and the plot."""
        self.write()

    def on_train_end(self, logs: dict | None = None) -> None:
        """Writes the series and the plot; closes the TensorBoard writer."""
        self.write()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # --- measuring and reporting -----------------------------------------------------

    def _step(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return len(self.steps) * self.every
        return int(optimizer.iterations.numpy())

    def measure(self, step: int) -> dict[str, float]:
        """Takes one measurement, records it, sends it to TensorBoard and diagnoses it.

        Args:
            step: The training step it is recorded at.

        Returns:
            Layer name -> gradient norm.
        """
        norms = gradient_norms(self.model, self.x, self.y)
        known = len(self.steps)
        self.steps.append(step)
        for name, value in norms.items():
            self.norms.setdefault(name, [math.nan] * known).append(value)
        if self._writer is not None:
            with self._writer.as_default():
                for name, value in norms.items():
                    tf.summary.scalar(f"gradient_norm/{name}", value, step=step)
            self._writer.flush()
        vanishing, exploding = diagnose(norms, self.vanish, self.explode)
        if vanishing or exploding:
            self.flags.append({"step": step, "vanishing": vanishing, "exploding": exploding})
        self._warn(step, norms, vanishing, exploding)
        return norms

    def _warn(
        self, step: int, norms: dict[str, float], vanishing: list[str], exploding: list[str]
    ) -> None:
        finite = {k: v for k, v in norms.items() if k not in exploding}
        if vanishing and "vanishing" not in self._warned:
            self._warned.add("vanishing")
            top = max(finite, key=finite.get) if finite else "?"
            warnings.warn(
                f"Gradients vanish at step {step} in {len(vanishing)} of {len(norms)} layers: "
                f"{_listing(vanishing, norms)}; their gradient norm is below {self.vanish:g} x "
                f"the largest ({top}: {norms.get(top, math.nan):.2g}), so they barely learn. "
                "Try ReLU-family activations instead of sigmoid/tanh, He or Glorot "
                "initialisation, batch normalization, or residual connections.",
                TrainingWarning,
                stacklevel=2,
            )
        if exploding and "exploding" not in self._warned:
            self._warned.add("exploding")
            warnings.warn(
                f"Gradients explode at step {step} in {len(exploding)} of {len(norms)} layers: "
                f"{_listing(exploding, norms)}; above {self.explode:g} or not finite. Try a "
                "smaller learning rate, gradient clipping (clipnorm on the optimizer), a "
                "smaller weight initialisation, or batch normalization.",
                TrainingWarning,
                stacklevel=2,
            )

    def write(self) -> None:
        """Writes ``gradient_flow.json`` and the plot (atomically)."""
        if not self.steps:
            return
        atomic_write_json(
            self.json_path,
            {
                "every": self.every,
                "vanish": self.vanish,
                "explode": self.explode,
                "tensorboard": self.tensorboard,
                "layers": list(self.norms),
                "steps": self.steps,
                "norms": self.norms,
                "flags": self.flags,
            },
        )
        self.draw()

    def draw(self) -> Path:
        """Writes the plot now and returns its path."""
        return save_figure(self.figure(), self.plot_path)

    def figure(self) -> Figure:
        """Plots the gradient norm per layer (depth order): first and latest measurement."""
        layers = list(self.norms)
        first = [self.norms[k][0] for k in layers]
        latest = [self.norms[k][-1] for k in layers]
        figure = new_figure(max(6.0, 0.35 * len(layers) + 2.0), 4.2)
        ax = figure.subplots()
        positions = np.arange(len(layers))
        ax.plot(positions, positive_or_nan(first), "o--", label=f"step {self.steps[0]} (first)")
        if len(self.steps) > 1:
            ax.plot(positions, positive_or_nan(latest), "o-", label=f"step {self.steps[-1]}")
        shown = [v for v in positive_or_nan(first + latest) if not math.isnan(v)]
        if shown:
            ax.set_yscale("log")
            finite = [v for v in latest if math.isfinite(v)]
            if finite and max(finite) * self.vanish > 0:
                ax.axhline(
                    max(finite) * self.vanish,
                    color="grey",
                    linestyle=":",
                    label=f"vanishing ({self.vanish:g} x largest)",
                )
            if self.explode <= max(shown) * 10:
                ax.axhline(self.explode, color="red", linestyle=":", label="exploding")
        for index in range(len(layers)):  # mark layers whose norm is 0 or not finite
            if not (math.isfinite(latest[index]) and latest[index] > 0):
                ax.annotate(
                    "0" if latest[index] == 0 else "inf/nan",
                    (index, 0),
                    fontsize=7,
                    xycoords=("data", "axes fraction"),
                    ha="center",
                    va="bottom",
                )
        ax.set_xticks(positions, layers, rotation=60, ha="right", fontsize=8)
        ax.set_xlabel("layer (input side on the left)")
        ax.set_ylabel("gradient norm")
        ax.set_title("Gradient flow")
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="best", fontsize="small")
        return figure

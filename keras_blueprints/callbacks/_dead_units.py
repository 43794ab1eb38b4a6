"""The ``dead_units`` callback class (imports Keras and NumPy)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_blueprints._core.files import atomic_write_json
from keras_blueprints.callbacks import TrainingWarning
from keras_blueprints.callbacks._inputs import as_model_inputs

__all__ = ["RELU_FAMILY", "DeadUnits", "dead_fractions", "is_relu_family"]

RELU_FAMILY = ("relu", "relu6")
"""Activations whose output and gradient are exactly 0 for every negative input."""


def is_relu_family(layer: keras.layers.Layer) -> bool:
    """True for layers whose output can be *dead*: exactly 0, with zero gradient.

    The family: any layer whose ``activation`` is ``relu`` or ``relu6`` (Dense,
    convolutions, ``Activation``), and ``ReLU`` layers without a negative
    slope. Leaky ReLU, ELU, SELU, GELU and swish keep a gradient for negative
    inputs, so their units cannot die.
    """
    if isinstance(layer, keras.layers.ReLU):
        return not float(getattr(layer, "negative_slope", 0.0) or 0.0)
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) in RELU_FAMILY


def dead_fractions(model: keras.Model, x: Any) -> dict[str, dict[str, Any]]:
    """Finds the ReLU-family units that output 0 for every example of ``x``.

    A *unit* is a position of the layer's last axis: a neuron of a Dense layer,
    a filter (channel) of a convolution, dead when it is 0 at every position of
    every example.

    Args:
        model: A functional (or Sequential) model.
        x: A batch of its inputs.

    Returns:
        Layer name -> ``{"units": N, "dead": fraction, "dead_units": [indices]}``,
        in the model's layer order. Layers called more than once (shared) are left out.
    """
    layers, outputs = [], []
    for layer in model.layers:
        if not is_relu_family(layer):
            continue
        try:
            output = layer.output
        except (AttributeError, ValueError):  # shared: several outputs
            continue
        layers.append(layer)
        outputs.append(output)
    if not layers:
        return {}
    # One input as a bare tensor, as the model is fed (a one-item list would make Keras
    # warn at every check that the inputs' structure does not match).
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, outputs)
    values = probe(as_model_inputs(probe, x), training=False)
    values = values if isinstance(values, list | tuple) else [values]
    found: dict[str, dict[str, Any]] = {}
    for layer, value in zip(layers, values, strict=True):
        value = keras.ops.convert_to_numpy(value)
        alive = (value > 0).reshape(-1, value.shape[-1]).any(axis=0)
        dead = np.flatnonzero(~alive)
        found[layer.name] = {
            "units": int(alive.size),
            "dead": float(dead.size / alive.size),
            "dead_units": dead.tolist(),
        }
    return found


class DeadUnits(keras.callbacks.Callback):
    """Measures the share of dead ReLU units per layer; warns when one exceeds ``threshold``.

    Args:
        x: The batch of inputs units are checked on.
        path: Where ``dead_units.json`` is written (atomically).
        threshold: A layer with a larger share of dead units is reported.
        every: Epochs between checks (one is also made before training).
    """

    def __init__(self, x: Any, *, path: Path, threshold: float = 0.5, every: int = 1) -> None:
        super().__init__()
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"Expected a positive integer for 'every'. Received: every={every!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"Expected 'threshold' in [0, 1]. Received: threshold={threshold!r}")
        self.x = x
        self.path = Path(path)
        self.threshold = threshold
        self.every = every
        self.epochs: list[int] = []
        self.layers: dict[str, dict[str, Any]] = {}
        self._warned: set[str] = set()
        self._examples = _count(x)

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Checks the initial weights (epoch 0)."""
        self.check(0)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Checks every ``every`` epochs."""
        if (epoch + 1) % self.every == 0:
            self.check(epoch + 1)

    def check(self, epoch: int) -> dict[str, dict[str, Any]]:
        """Measures now, records it as ``epoch``, writes the file, warns about new dead layers.

        Args:
            epoch: Epochs completed (0: before training).

        Returns:
            What :func:`dead_fractions` found.
        """
        found = dead_fractions(self.model, self.x)
        known = len(self.epochs)
        self.epochs.append(epoch)
        for name, info in found.items():
            entry = self.layers.setdefault(name, {"units": info["units"], "dead": [None] * known})
            entry["dead"].append(info["dead"])
            entry["dead_units"] = info["dead_units"]
        flagged = [k for k, v in found.items() if v["dead"] > self.threshold]
        atomic_write_json(
            self.path,
            {
                "threshold": self.threshold,
                "examples": self._examples,
                "epochs": self.epochs,
                "layers": self.layers,
                "flagged": flagged,
            },
        )
        new = [k for k in flagged if k not in self._warned]
        if new:
            self._warned.update(new)
            shown = ", ".join(
                f"{k} ({found[k]['dead']:.0%}: {len(found[k]['dead_units'])} of "
                f"{found[k]['units']})"
                for k in new
            )
            when = "before training" if epoch == 0 else f"after epoch {epoch}"
            warnings.warn(
                f"Dead ReLU units {when}: {shown} output 0 for all {self._examples} examples "
                f"checked (more than {self.threshold:.0%} of the layer). A dead unit gets no "
                "gradient and never recovers. Try a lower learning rate, He initialisation, "
                "a bias initialiser that is not negative, batch normalization, or LeakyReLU/ELU.",
                TrainingWarning,
                stacklevel=2,
            )
        return found


def _count(x: Any) -> int:
    first = (
        next(iter(x.values()))
        if isinstance(x, dict)
        else (x[0] if isinstance(x, list | tuple) else x)
    )
    return int(np.shape(first)[0])

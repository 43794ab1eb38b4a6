"""The ``learning_curves`` callback class (imports Keras and matplotlib)."""

from __future__ import annotations

import math
from pathlib import Path

import keras
from matplotlib.figure import Figure

from keras_blueprints.callbacks._plots import new_figure, save_figure

__all__ = ["LearningCurves", "curve_groups"]


def curve_groups(names: list[str]) -> list[tuple[str, list[str]]]:
    """Groups logged names into subplots: each metric with its ``val_`` counterpart.

    Args:
        names: The logged names, in order of appearance.

    Returns:
        ``(title, [names on that subplot])``, the loss first.
    """
    groups: dict[str, list[str]] = {}
    for name in names:
        base = name[4:] if name.startswith("val_") else name
        groups.setdefault(base, [])
        if name not in groups[base]:
            groups[base].append(name)
    for members in groups.values():
        members.sort(key=lambda n: n.startswith("val_"))  # training, then validation
    order = sorted(groups, key=lambda b: (b != "loss", list(groups).index(b)))
    return [(base, groups[base]) for base in order]


class LearningCurves(keras.callbacks.Callback):
    """Plots the loss and every metric against epochs, training and validation together.

    Args:
        path: The PNG file to write (atomically).
        every: Redraw every this many epochs (and always at the end of training).
        history: Metrics of epochs run before this training started (a resumed
            run), ``{name: [value per epoch]}``, so that the plot covers the
            whole run. The runner may also set ``initial_history`` before ``fit``.
    """

    def __init__(
        self,
        path: Path,
        every: int = 1,
        history: dict[str, list[float]] | None = None,
        monitor: str = "val_loss",
        mode: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"Expected a positive integer for 'every'. Received: every={every!r}")
        self.path = Path(path)
        self.every = every
        self.epochs: list[int] = []
        self.history: dict[str, list[float]] = {}
        self.initial_history = history
        self.monitor = monitor
        self.mode = mode
        self.stopped_epoch: int | None = None

    @property
    def initial_history(self) -> dict[str, list[float]] | None:
        """The history the curves start from (epochs before this training)."""
        return self._initial

    @initial_history.setter
    def initial_history(self, history: dict[str, list[float]] | None) -> None:
        self._initial = {k: [float(v) for v in vs] for k, vs in (history or {}).items()}
        length = max((len(v) for v in self._initial.values()), default=0)
        self.epochs = list(range(1, length + 1))
        # Pad shorter series (a metric added on resume) at the front with NaN.
        self.history = {k: [math.nan] * (length - len(v)) + v for k, v in self._initial.items()}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Records the epoch's logs and redraws every ``every`` epochs."""
        number = epoch + 1
        if self.epochs and number <= self.epochs[-1]:  # resumed before the last epoch seen
            keep = sum(1 for e in self.epochs if e < number)
            self.epochs = self.epochs[:keep]
            self.history = {k: v[:keep] for k, v in self.history.items()}
        self.epochs.append(number)
        for name, value in (logs or {}).items():
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            series = self.history.setdefault(name, [math.nan] * (len(self.epochs) - 1))
            series.append(value)
        for series in self.history.values():  # a metric missing this epoch
            if len(series) < len(self.epochs):
                series.append(math.nan)
        if number % self.every == 0:
            self.draw()

    def on_train_end(self, logs: dict | None = None) -> None:
        """Draws the final curves, marking the epoch where training stopped early."""
        planned = (self.params or {}).get("epochs")
        model = getattr(self, "_model", None)
        if (
            self.epochs
            and model is not None
            and getattr(model, "stop_training", False)
            and planned
            and self.epochs[-1] < planned
        ):
            self.stopped_epoch = self.epochs[-1]
        if self.epochs:
            self.draw()

    def best_epoch(self) -> int | None:
        """The epoch with the best value of the monitored metric (``loss`` without validation)."""
        name = self.monitor if self.monitor in self.history else self.monitor.removeprefix("val_")
        values = self.history.get(name, [])
        mode = self.mode or ("max" if any(k in name for k in ("acc", "auc")) else "min")
        finite = [(v, e) for v, e in zip(values, self.epochs, strict=False) if math.isfinite(v)]
        if not finite:
            return None
        return (max if mode == "max" else min)(finite, key=lambda p: p[0])[1]

    def draw(self) -> Path:
        """Writes the plot now and returns its path."""
        return save_figure(self.figure(), self.path)

    def figure(self) -> Figure:
        """Draws the curves: one subplot per metric, the loss first."""
        groups = curve_groups(list(self.history))
        columns = min(len(groups), 3) or 1
        rows = max(1, math.ceil(len(groups) / columns))
        figure = new_figure(4.5 * columns, 3.2 * rows)
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        best = self.best_epoch()
        for ax, (title, names) in zip(axes, groups, strict=False):
            for name in names:
                validation = name.startswith("val_")
                ax.plot(
                    self.epochs,
                    self.history[name],
                    marker="o" if len(self.epochs) < 30 else None,
                    markersize=3,
                    linestyle="--" if validation else "-",
                    label="validation" if validation else "training",
                )
            _mark(ax, best, "green", ":", f"best epoch ({best})")
            _mark(ax, self.stopped_epoch, "red", "--", f"stopped early ({self.stopped_epoch})")
            ax.set_title(title)
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize="small")
        for ax in axes[len(groups) :]:
            ax.set_visible(False)
        return figure


def _mark(ax, epoch: int | None, colour: str, style: str, label: str) -> None:
    """A vertical line at ``epoch`` across the subplot (a collection, apart from the curves)."""
    if epoch is not None:
        ax.vlines(
            epoch,
            0,
            1,
            transform=ax.get_xaxis_transform(),
            colors=colour,
            linestyles=style,
            label=label,
        )

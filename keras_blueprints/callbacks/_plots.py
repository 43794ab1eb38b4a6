"""Drawing PNG files without pyplot: a ``Figure`` on its own Agg canvas, saved atomically.

pyplot keeps global state (the current figure, a GUI backend chosen at import);
a training run must not touch it. A ``matplotlib.figure.Figure`` with a
``FigureCanvasAgg`` renders off-screen, and nothing outlives the call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from keras_blueprints._core.files import atomic_path

__all__ = ["new_figure", "save_figure"]


def new_figure(width: float, height: float) -> Figure:
    """Returns a figure of ``width`` x ``height`` inches drawn on its own Agg canvas."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: Path, dpi: int = 100) -> Path:
    """Writes ``figure`` to ``path`` (PNG) atomically and returns the path."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
    return Path(path)


def positive_or_nan(values: Any) -> list[float]:
    """The values, with zeros, negatives and non-finite ones as NaN (skipped on a log axis)."""
    import math

    return [
        v if isinstance(v, float | int) and math.isfinite(v) and v > 0 else math.nan for v in values
    ]

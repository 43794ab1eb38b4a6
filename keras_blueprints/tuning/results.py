"""The results of a search: ``trials.csv``, the printed table and ``plots/objective.png``.

Each is rebuilt from keras-tuner's trials after every trial and written
atomically, so a search killed at any moment leaves complete files that
describe every finished trial.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keras_blueprints._core.files import atomic_write_text

__all__ = ["TrialRow", "best_so_far", "format_table", "plot_objective", "write_csv"]

FIXED_COLUMNS = ("trial", "status")
TAIL_COLUMNS = ("objective", "seconds", "reason")


@dataclass(frozen=True)
class TrialRow:
    """One trial of a search, as the results show it.

    Attributes:
        trial: keras-tuner's trial id (its folder is ``search/trial_ID``).
        status: ``COMPLETED``, ``FAILED``, ``RUNNING``...
        values: The value of every hyperparameter active in the trial, as the
            blueprint uses it (inactive ones are absent).
        objective: The trial's best objective value (None unless completed).
        seconds: How long the trial ran, when known.
        reason: Why it failed (empty otherwise).
    """

    trial: str
    status: str
    values: dict[str, Any] = field(default_factory=dict)
    objective: float | None = None
    seconds: float | None = None
    reason: str = ""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def columns(rows: Iterable[TrialRow], names: Sequence[str] = ()) -> list[str]:
    """The hyperparameter columns: ``names`` first, then any other value, in order met."""
    out = dict.fromkeys(names)
    for row in rows:
        out.update(dict.fromkeys(row.values))
    return [n for n in out if not n.startswith("tuner/")]


def write_csv(rows: Sequence[TrialRow], path: Path, names: Sequence[str] = ()) -> Path:
    """Writes ``trials.csv``: trial, status, every hyperparameter, objective, seconds, reason.

    A hyperparameter inactive in a trial has an empty cell.

    Args:
        rows: The trials.
        path: The CSV file.
        names: Hyperparameter names in their preferred order.

    Returns:
        The path.
    """
    hp_names = columns(rows, names)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*FIXED_COLUMNS, *hp_names, *TAIL_COLUMNS])
    for row in rows:
        writer.writerow(
            [
                row.trial,
                row.status,
                *(_csv_value(row.values.get(n)) for n in hp_names),
                "" if row.objective is None else repr(float(row.objective)),
                "" if row.seconds is None else f"{row.seconds:.2f}",
                row.reason,
            ]
        )
    return atomic_write_text(path, out.getvalue())


def _csv_value(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return _cell(value)


def format_table(rows: Sequence[TrialRow], names: Sequence[str] = (), width: int = 60) -> str:
    """The trials as an aligned text table (reasons cut to ``width`` characters)."""
    hp_names = columns(rows, names)
    header = ["trial", "status", *hp_names, "objective", "seconds", "reason"]
    table = [header]
    for row in rows:
        reason = row.reason if len(row.reason) <= width else row.reason[: width - 3] + "..."
        table.append(
            [
                row.trial,
                row.status,
                *(_cell(row.values.get(n)) for n in hp_names),
                "" if row.objective is None else f"{row.objective:.4f}",
                "" if row.seconds is None else f"{row.seconds:.1f}",
                reason,
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    return "\n".join(lines)


def best_so_far(values: Sequence[float | None], direction: str) -> list[float]:
    """The best objective up to each trial (NaN before the first finished one)."""
    out, best = [], math.nan
    for v in values:
        if v is not None and math.isfinite(v):
            better = v > best if direction == "max" else v < best
            if math.isnan(best) or better:
                best = v
        out.append(best)
    return out


def plot_objective(
    rows: Sequence[TrialRow], objective: str, direction: str, path: Path
) -> Path | None:
    """Plots the objective against the trial, with the best-so-far line; failed trials as x.

    Args:
        rows: The trials, in order.
        objective: The objective's name (the y label).
        direction: ``min`` or ``max``.
        path: The PNG file.

    Returns:
        The path, or None when no trial has finished yet.
    """
    from keras_blueprints.callbacks._plots import new_figure, save_figure

    if not rows:
        return None
    numbers = list(range(1, len(rows) + 1))
    values = [r.objective if r.status == "COMPLETED" else None for r in rows]
    figure = new_figure(6.4, 4.0)
    ax = figure.add_subplot()
    done = [(n, v) for n, v in zip(numbers, values, strict=True) if v is not None]
    if done:
        ax.plot(*zip(*done, strict=True), "o", color="tab:blue", label="trial")
    best = best_so_far(values, direction)
    ax.step(numbers, best, where="post", color="tab:orange", label=f"best so far ({direction})")
    failed = [n for n, r in zip(numbers, rows, strict=True) if r.status == "FAILED"]
    if failed:
        finite = [v for v in values if v is not None and math.isfinite(v)]
        y = min(finite) if finite else 0.0
        ax.plot(failed, [y] * len(failed), "x", color="tab:red", label="failed")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.set_title(f"{objective} per trial")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    return save_figure(figure, path)

"""What ``blueprint train`` tells the user before the first epoch and after the last.

Before: the model's size, the data's splits, where it runs and where the run is
written, so a user sees at once what is about to take their time. After: whether
early stopping ended the run, at which epoch, and which epoch's weights the model
holds. Plain text (no escape codes): the same lines read well in a terminal and in
a log file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from keras_blueprints.resolve.schema import Blueprint, TrainSpec

__all__ = [
    "announce",
    "duration",
    "early_estimate_line",
    "early_stopping_outcome",
    "estimate_line",
    "stopping_line",
]


def announce(
    bp: Blueprint,
    params: tuple[int, int],
    sizes: Mapping[str, int | None],
    batch_size: int,
    runtime: Mapping[str, Any],
    run_dir: Path,
    epochs: int,
) -> str:
    """The lines printed before training starts.

    Args:
        bp: The blueprint.
        params: ``(all, trainable)`` parameter counts.
        sizes: Examples per split (``train``, ``validation``, ``test``; None: unknown).
        batch_size: The global batch size.
        runtime: ``run.json``'s runtime record (strategy, replicas, devices, policy).
        run_dir: The run directory.
        epochs: The epochs to run.

    Returns:
        Several lines, no trailing newline.
    """
    total, trainable = params
    frozen = f" ({trainable:,} trainable)" if trainable != total else ""
    splits = ", ".join(
        f"{'?' if n is None else f'{n:,}'} {name}" for name, n in sizes.items() if name
    )
    devices = runtime.get("devices") or []
    where = ", ".join(devices) if devices else "the default device"
    rule = (bp.train or TrainSpec()).rule.name
    lines = [
        f"model {bp.name}: {total:,} parameters{frozen}",
        f"data: {splits} examples; batches of {batch_size}",
        f"runtime: {runtime.get('strategy', 'default')} strategy, {runtime.get('replicas', 1)}"
        f" replica(s) on {where}; {runtime.get('policy', 'float32')}",
        f"training: {epochs} epoch(s) by {rule}",
        f"run directory: {run_dir}",
    ]
    if not any(sizes.get(split) for split in ("validation", "test")):
        lines.append(
            "note: no validation or test data, so every metric is measured on the training"
            " examples; hold some out with --set data.validation=0.1 --set data.test=0.2"
        )
    return "\n".join(lines)


def early_stopping_outcome(
    bp: Blueprint, history: Mapping[str, Sequence[float]], epochs: int
) -> dict[str, Any] | None:
    """Whether an ``early_stopping`` callback ended the run, and which weights it kept.

    Worked out from the history as Keras' ``EarlyStopping`` decides: the run stopped
    before ``epochs`` because the monitored value had not improved for ``patience``
    epochs; with ``restore_best_weights`` the model holds the best epoch's weights.

    Args:
        bp: The blueprint (its ``train.callbacks``).
        history: Loss and metrics per epoch, the whole run.
        epochs: The epochs the run was asked for.

    Returns:
        ``{"epoch", "monitor", "patience", "restored_epoch", "best"}`` (epochs counted
        from 1; ``restored_epoch`` None when the last epoch's weights were kept), or
        None when early stopping did not end the run.
    """
    spec = next(
        (c for c in (bp.train or TrainSpec()).callbacks if c.name == "early_stopping"), None
    )
    ran = max((len(v) for v in history.values()), default=0)
    if spec is None or ran == 0 or ran >= epochs:
        return None
    args = dict(spec.args)
    monitor = args.get("monitor", "val_loss")
    values = list(history.get(monitor) or [])
    if not values:
        return None
    mode = args.get("mode", "auto")
    lower = mode == "min" or (mode == "auto" and not _higher_is_better(monitor))
    best_value, best_index = None, None
    for i, value in enumerate(values):  # the first best, as Keras keeps it
        if not (isinstance(value, int | float) and math.isfinite(value)):
            continue
        if best_value is None or (value < best_value if lower else value > best_value):
            best_value, best_index = value, i
    kept = args.get("restore_best_weights") and best_index is not None
    restored = best_index + 1 if kept else None
    return {
        "epoch": ran,
        "monitor": monitor,
        "patience": args.get("patience", 0),
        "restored_epoch": restored,
        "best": best_value,
    }


def stopping_line(outcome: Mapping[str, Any] | None) -> str | None:
    """The line printed at the end when early stopping ended the run (else None)."""
    if not outcome:
        return None
    line = (
        f"early stopping: {outcome['monitor']} did not improve for {outcome['patience']}"
        f" epoch(s); stopped after epoch {outcome['epoch']}"
    )
    if outcome.get("restored_epoch"):
        line += (
            f"; restored the weights of epoch {outcome['restored_epoch']}"
            f" ({outcome['monitor']} {outcome['best']:.4g})"
        )
    else:
        line += "; the model holds the last epoch's weights"
    return line


def _higher_is_better(monitor: str) -> bool:
    name = monitor.removeprefix("val_")
    return any(word in name for word in ("acc", "auc", "precision", "recall", "f1", "iou"))


def duration(seconds: float) -> str:
    """``42 s``, ``7.5 min`` or ``2.4 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_line(first_epoch_seconds: float, epochs_left: int, early_stopping: bool) -> str:
    """What the first epoch says of the whole run's time, printed once it is done.

    Args:
        first_epoch_seconds: How long the first epoch of this process took (tracing
            included, so the estimate errs long).
        epochs_left: Epochs still to run after it.
        early_stopping: Whether an early stopping callback may end the run sooner.

    Returns:
        One line.
    """
    total = first_epoch_seconds * epochs_left
    line = f"timing: the first epoch took {duration(first_epoch_seconds)}"
    if epochs_left <= 0:
        return line
    line += f"; the {epochs_left} left take about {duration(total)} more"
    if early_stopping:
        line += " at most (early stopping may end sooner)"
    if total > LONG_RUN_SECONDS:
        line += f"; {SHORTEN_HINT}"
    return line


LONG_RUN_SECONDS = 10 * 60
"""A run projected past this is told how to shorten itself (issue 16: ten minutes)."""

SHORTEN_HINT = "to shorten: --epochs N, a smaller --set, or Ctrl-C and --resume later"


def early_estimate_line(
    seconds_per_step: float, steps_per_epoch: int, epochs_left: int, early_stopping: bool
) -> str | None:
    """What the first few batches say of a long run, before its first epoch ends.

    A run whose first epoch alone takes minutes (zoo:unet's takes seven on two cores)
    would otherwise say nothing until then. The steps measured exclude the first, which
    traces the model.

    Args:
        seconds_per_step: Mean time of the measured training steps.
        steps_per_epoch: Batches in one epoch.
        epochs_left: Epochs this process runs, the current one included.
        early_stopping: Whether an early stopping callback may end the run sooner.

    Returns:
        One line when the run is projected past ``LONG_RUN_SECONDS``, else None.
    """
    epoch = seconds_per_step * steps_per_epoch
    total = epoch * epochs_left
    if total <= LONG_RUN_SECONDS:
        return None
    line = (
        f"timing: at {seconds_per_step:.2f} s a batch, an epoch takes about {duration(epoch)}"
        f" and the {epochs_left} epochs about {duration(total)}"
    )
    if early_stopping:
        line += " at most"
    return f"{line}; {SHORTEN_HINT}"

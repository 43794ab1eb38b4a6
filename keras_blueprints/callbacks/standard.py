"""Keras' own callbacks, with their files placed in the run directory.

Each factory takes the same parameters as the Keras class it builds (same
names, same defaults, so the Keras documentation applies; a test keeps them in
step), except the ones Keras takes as Python callables, which YAML cannot
express, and except the paths, which default to places in the run directory:

* ``model_checkpoint``: ``filepath`` under ``run_dir/checkpoints`` (default
  ``best.keras``, kept only when ``monitor`` improves), written atomically;
* ``tensorboard``: ``log_dir`` default ``run_dir/logs``;
* ``csv_logger``: ``filename`` under ``run_dir`` (default ``training_log.csv``);
* ``backup_and_restore``: ``backup_dir`` default ``run_dir/backup/keras`` (inside
  the folder where every run keeps its own backup, removed with it), written atomically.

A path is relative to those directories and must stay inside the run
directory: an absolute or ``~`` path, or one climbing out with ``..``, is
refused when the blueprint loads, and a symbolic link leading out when the run
starts (:mod:`keras_blueprints._core.paths`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from keras_blueprints._core.paths import inside
from keras_blueprints.callbacks.registry import CallbackContext, register_callback

__all__ = [
    "backup_and_restore",
    "csv_logger",
    "early_stopping",
    "model_checkpoint",
    "reduce_lr_on_plateau",
    "run_path",
    "tensorboard",
    "terminate_on_nan",
]

Mode = Literal["auto", "min", "max"]


def run_path(context: CallbackContext, path: str | None, folder: str = "") -> Path:
    """Resolves a path a callback writes to: inside the run directory, always.

    Args:
        context: The callback context (its ``run_dir``).
        path: The path as written in the blueprint, relative to ``folder``; None or
            empty means ``folder`` itself.
        folder: The folder of the run directory relative paths are relative to.

    Returns:
        The resolved path, inside the run directory.

    Raises:
        BlueprintError: The path leads out of the run directory (absolute, ``~``,
            ``..``, or through a symbolic link).
    """
    base = Path(context.run_dir) / folder if folder else Path(context.run_dir)
    joined = base / path if path else base
    return inside(joined, Path(context.run_dir), f"the path {path or folder!r} of a callback")


@register_callback("early_stopping", aliases=("EarlyStopping",))
def early_stopping(
    context: CallbackContext,
    *,
    monitor: str = "val_loss",
    min_delta: float = 0,
    patience: int = 0,
    verbose: int = 0,
    mode: Mode = "auto",
    baseline: float | None = None,
    restore_best_weights: bool = False,
    start_from_epoch: int = 0,
) -> Any:
    """Stops training when ``monitor`` has stopped improving for ``patience`` epochs.

    Early stopping is a regulariser: the validation loss of an over-parameterised
    model typically falls, flattens, then rises while the training loss keeps
    falling (overfitting); stopping at the minimum keeps the model that
    generalises best. ``restore_best_weights: true`` rolls back to that epoch.

    Args:
        context: The callback context.
        monitor: The quantity watched (``val_loss``, ``val_accuracy``...).
        min_delta: The smallest change counted as an improvement.
        patience: Epochs without improvement before stopping.
        verbose: 1 prints a message when stopping.
        mode: ``min``, ``max``, or ``auto`` (from the metric's name).
        baseline: Stop if the metric does not beat this value.
        restore_best_weights: Restore the weights of the best epoch on stopping.
        start_from_epoch: Epochs of warm-up before watching.

    Returns:
        A ``keras.callbacks.EarlyStopping``.
    """
    import keras

    return keras.callbacks.EarlyStopping(
        monitor=monitor,
        min_delta=min_delta,
        patience=patience,
        verbose=verbose,
        mode=mode,
        baseline=baseline,
        restore_best_weights=restore_best_weights,
        start_from_epoch=start_from_epoch,
    )


@register_callback("model_checkpoint", aliases=("ModelCheckpoint",), writes=("filepath",))
def model_checkpoint(
    context: CallbackContext,
    *,
    filepath: str = "best.keras",
    monitor: str = "val_loss",
    verbose: int = 0,
    save_best_only: bool = True,
    save_weights_only: bool = False,
    mode: Mode = "auto",
    save_freq: str | int = "epoch",
    initial_value_threshold: float | None = None,
) -> Any:
    """Saves the model (or its weights) during training, atomically, under ``run_dir/checkpoints``.

    ``filepath`` may hold ``{epoch:02d}`` and ``{val_loss:.3f}``-style fields
    (Keras formats them); it must end in ``.keras`` (whole model) or
    ``.weights.h5`` (with ``save_weights_only``). Each file is written beside
    its final name and moved into place, so a run killed mid-save never leaves
    a truncated checkpoint.

    Args:
        context: The callback context.
        filepath: Relative to ``run_dir/checkpoints``, inside the run directory.
        monitor: The quantity that decides the best model.
        verbose: 1 prints a message at each save.
        save_best_only: Keep only the best model so far (Keras' default is
            false; here the default is the best model, ``best.keras``).
        save_weights_only: Save the weights only.
        mode: ``min``, ``max``, or ``auto``.
        save_freq: ``epoch``, or a number of batches.
        initial_value_threshold: Save only once the metric beats this value.

    Returns:
        A ``keras.callbacks.ModelCheckpoint`` writing atomically.
    """
    from keras_blueprints.callbacks._standard import AtomicModelCheckpoint

    return AtomicModelCheckpoint(
        filepath=str(run_path(context, filepath, "checkpoints")),
        monitor=monitor,
        verbose=verbose,
        save_best_only=save_best_only,
        save_weights_only=save_weights_only,
        mode=mode,
        save_freq=save_freq,
        initial_value_threshold=initial_value_threshold,
    )


@register_callback("reduce_lr_on_plateau", aliases=("ReduceLROnPlateau",))
def reduce_lr_on_plateau(
    context: CallbackContext,
    *,
    monitor: str = "val_loss",
    factor: float = 0.1,
    patience: int = 10,
    verbose: int = 0,
    mode: Mode = "auto",
    min_delta: float = 0.0001,
    cooldown: int = 0,
    min_lr: float = 0.0,
) -> Any:
    """Multiplies the learning rate by ``factor`` when ``monitor`` stops improving.

    A plateau often means the steps are too large to go down a narrow valley of
    the loss: a smaller learning rate lets the optimiser descend further. (It
    needs an optimizer with a plain number as learning rate, not a schedule.)

    Args:
        context: The callback context.
        monitor: The quantity watched.
        factor: New rate = rate x factor (below 1).
        patience: Epochs without improvement before reducing.
        verbose: 1 prints a message at each reduction.
        mode: ``min``, ``max``, or ``auto``.
        min_delta: The smallest change counted as an improvement.
        cooldown: Epochs to wait after a reduction before watching again.
        min_lr: The rate is never reduced below this.

    Returns:
        A ``keras.callbacks.ReduceLROnPlateau``.
    """
    import keras

    return keras.callbacks.ReduceLROnPlateau(
        monitor=monitor,
        factor=factor,
        patience=patience,
        verbose=verbose,
        mode=mode,
        min_delta=min_delta,
        cooldown=cooldown,
        min_lr=min_lr,
    )


@register_callback("tensorboard", aliases=("TensorBoard",), writes=("log_dir",))
def tensorboard(
    context: CallbackContext,
    *,
    log_dir: str = "logs",
    histogram_freq: int = 0,
    write_graph: bool = True,
    write_images: bool = False,
    write_steps_per_second: bool = False,
    update_freq: str | int = "epoch",
    profile_batch: int | list = 0,
    embeddings_freq: int = 0,
    embeddings_metadata: dict | None = None,
) -> Any:
    """Writes TensorBoard logs (metrics, weight histograms, graph) under ``run_dir/logs``.

    View them with ``tensorboard --logdir RUN_DIR/logs``; ``gradient_flow``
    writes its gradient norms beside them (``logs/gradients``).

    Args:
        context: The callback context.
        log_dir: Relative to the run directory, inside it.
        histogram_freq: Epochs between weight histograms (0: none).
        write_graph: Write the model graph.
        write_images: Write weights as images.
        write_steps_per_second: Log the training speed.
        update_freq: ``epoch``, ``batch``, or a number of batches.
        profile_batch: Batch (or ``[start, stop]`` range) to profile; 0: none.
        embeddings_freq: Epochs between embedding visualisations (0: none).
        embeddings_metadata: Embedding layer name -> metadata file.

    Returns:
        A ``keras.callbacks.TensorBoard``.
    """
    import keras

    return keras.callbacks.TensorBoard(
        log_dir=str(run_path(context, log_dir)),
        histogram_freq=histogram_freq,
        write_graph=write_graph,
        write_images=write_images,
        write_steps_per_second=write_steps_per_second,
        update_freq=update_freq,
        profile_batch=tuple(profile_batch) if isinstance(profile_batch, list) else profile_batch,
        embeddings_freq=embeddings_freq,
        embeddings_metadata=embeddings_metadata,
    )


@register_callback("csv_logger", aliases=("CSVLogger",), writes=("filename",))
def csv_logger(
    context: CallbackContext,
    *,
    filename: str = "training_log.csv",
    separator: str = ",",
    append: bool = False,
) -> Any:
    """Appends each epoch's metrics to a CSV file in the run directory.

    Args:
        context: The callback context.
        filename: Relative to the run directory, inside it.
        separator: The field separator.
        append: Append to an existing file (when resuming) instead of overwriting it.

    Returns:
        A ``keras.callbacks.CSVLogger``.
    """
    import keras

    path = run_path(context, filename)
    path.parent.mkdir(parents=True, exist_ok=True)
    return keras.callbacks.CSVLogger(str(path), separator=separator, append=append)


@register_callback("backup_and_restore", aliases=("BackupAndRestore",), writes=("backup_dir",))
def backup_and_restore(
    context: CallbackContext,
    *,
    backup_dir: str = "backup/keras",
    save_freq: str | int = "epoch",
    double_checkpoint: bool = False,
    delete_checkpoint: bool = True,
) -> Any:
    """Backs up the training state so an interrupted run resumes where it stopped.

    Every run already keeps such a backup of its own (``run_dir/backup``, see
    :mod:`keras_blueprints.training.backup`); this callback is for a ``save_freq``
    in batches. Its files are written atomically, so a kill mid-save leaves the
    previous complete state.

    Args:
        context: The callback context.
        backup_dir: Relative to the run directory, inside it (not ``backup`` itself:
            the run's own backup lives there).
        save_freq: ``epoch``, or a number of batches.
        double_checkpoint: Keep the previous backup too (a crash while writing
            one then still leaves a good one).
        delete_checkpoint: Delete the backup when training finishes.

    Returns:
        A ``keras.callbacks.BackupAndRestore`` writing atomically.
    """
    from keras_blueprints.callbacks._standard import AtomicBackupAndRestore

    return AtomicBackupAndRestore(
        backup_dir=str(run_path(context, backup_dir)),
        save_freq=save_freq,
        double_checkpoint=double_checkpoint,
        delete_checkpoint=delete_checkpoint,
    )


@register_callback("terminate_on_nan", aliases=("TerminateOnNaN",))
def terminate_on_nan(context: CallbackContext, *, raise_error: bool = False) -> Any:
    """Stops training as soon as the loss becomes NaN or infinite.

    A non-finite loss means the weights already overflowed (exploding
    gradients, a learning rate far too large, a log of zero); nothing after it
    is meaningful. Try a smaller learning rate or gradient clipping
    (``clipnorm`` on the optimizer), and ``gradient_flow`` to see where.

    Args:
        context: The callback context.
        raise_error: Raise an error instead of stopping quietly.

    Returns:
        A ``keras.callbacks.TerminateOnNaN``.
    """
    import keras

    return keras.callbacks.TerminateOnNaN(raise_error=raise_error)

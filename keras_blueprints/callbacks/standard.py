"""Keras' own callbacks, with their files placed in the run directory.

Each factory takes the same parameters as the Keras class it builds, in the
same order, with the same defaults, so the Keras documentation applies: they
are not written here but read from ``catalog/keras_callbacks.json``, generated
from the installed Keras by ``tools/gen_layer_catalog.py`` (a test fails when
it drifts). Written here are only the YAML types that a Keras default does not
tell (:data:`TYPES`) and the paths, which default to places in the run
directory:

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

import functools
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from keras_blueprints._core.paths import inside
from keras_blueprints.callbacks.registry import CallbackContext, register_callback
from keras_blueprints.catalog import OBJECT_DEFAULT, keras_callbacks

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

# The YAML type of each Keras keyword whose default does not tell it (None,
# an int where a float is accepted, a string where a number is too).
TYPES: dict[str, Any] = {
    "mode": Mode,
    "min_delta": float,
    "baseline": float | None,
    "initial_value_threshold": float | None,
    "save_freq": str | int,
    "update_freq": str | int,
    "profile_batch": int | list,
    "embeddings_metadata": dict | None,
}

# The type of every other keyword, from its default.
_TYPE_OF_DEFAULT: dict[type, Any] = {bool: bool, int: int, float: float, str: str}


def keras_signature(
    class_name: str, defaults: Mapping[str, Any] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Gives a factory the keyword parameters of a Keras callback, from the shipped catalog.

    The factory is written ``fn(context, **params)``; the decorated function has
    the signature ``(context, *, <every Keras keyword>=<default>)``, typed from
    :data:`TYPES` or the default, and calls it with every keyword filled in.

    Args:
        class_name: The ``keras.callbacks`` class, e.g. ``"EarlyStopping"``.
        defaults: Our defaults where they differ from Keras' (the run directory's
            paths), and for the keywords Keras requires.

    Returns:
        The decorator.

    Raises:
        TypeError: A keyword has no default usable in YAML, or no known type.
    """
    ours = dict(defaults or {})

    def decorate(body: Callable[..., Any]) -> Callable[..., Any]:
        parameters = [
            inspect.Parameter(
                "context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=CallbackContext
            )
        ]
        for info in keras_callbacks()[class_name]:
            default = ours.pop(info.name, None if info.required else info.default)
            if info.name not in TYPES and type(default) not in _TYPE_OF_DEFAULT:
                raise TypeError(f"{class_name}.{info.name}: give it a default and a YAML type")
            if default == OBJECT_DEFAULT:
                raise TypeError(f"{class_name}.{info.name}: its Keras default is not YAML data")
            annotation = TYPES.get(info.name) or _TYPE_OF_DEFAULT[type(default)]
            parameters.append(
                inspect.Parameter(
                    info.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=default,
                    annotation=annotation,
                )
            )
        if ours:
            raise TypeError(f"{class_name} has no keywords {sorted(ours)}")
        signature = inspect.Signature(parameters, return_annotation=Any)

        @functools.wraps(body)
        def factory(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return body(*bound.args, **bound.kwargs)

        factory.__signature__ = signature  # type: ignore[attr-defined]
        factory.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": Any}
        return factory

    return decorate


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
@keras_signature("EarlyStopping")
def early_stopping(context: CallbackContext, **params: Any) -> Any:
    """Stops training when ``monitor`` has stopped improving for ``patience`` epochs.

    Early stopping is a regulariser: the validation loss of an over-parameterised
    model typically falls, flattens, then rises while the training loss keeps
    falling (overfitting); stopping at the minimum keeps the model that
    generalises best. ``restore_best_weights: true`` rolls back to that epoch.

    Args:
        context: The callback context.
        **params: The Keras keywords, each filled in with its default if not given:
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

    return keras.callbacks.EarlyStopping(**params)


@register_callback("model_checkpoint", aliases=("ModelCheckpoint",), writes=("filepath",))
@keras_signature("ModelCheckpoint", {"filepath": "best.keras", "save_best_only": True})
def model_checkpoint(context: CallbackContext, **params: Any) -> Any:
    """Saves the model (or its weights) during training, atomically, under ``run_dir/checkpoints``.

    ``filepath`` may hold ``{epoch:02d}`` and ``{val_loss:.3f}``-style fields
    (Keras formats them); it must end in ``.keras`` (whole model) or
    ``.weights.h5`` (with ``save_weights_only``). Each file is written beside
    its final name and moved into place, so a run killed mid-save never leaves
    a truncated checkpoint.

    Args:
        context: The callback context.
        **params: The Keras keywords, each filled in with its default if not given:
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

    filepath = run_path(context, params["filepath"], "checkpoints")
    return AtomicModelCheckpoint(**{**params, "filepath": str(filepath)})


@register_callback("reduce_lr_on_plateau", aliases=("ReduceLROnPlateau",))
@keras_signature("ReduceLROnPlateau")
def reduce_lr_on_plateau(context: CallbackContext, **params: Any) -> Any:
    """Multiplies the learning rate by ``factor`` when ``monitor`` stops improving.

    A plateau often means the steps are too large to go down a narrow valley of
    the loss: a smaller learning rate lets the optimiser descend further. (It
    needs an optimizer with a plain number as learning rate, not a schedule.)

    Args:
        context: The callback context.
        **params: The Keras keywords, each filled in with its default if not given:
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

    return keras.callbacks.ReduceLROnPlateau(**params)


@register_callback("tensorboard", aliases=("TensorBoard",), writes=("log_dir",))
@keras_signature("TensorBoard")
def tensorboard(context: CallbackContext, **params: Any) -> Any:
    """Writes TensorBoard logs (metrics, weight histograms, graph) under ``run_dir/logs``.

    View them with ``tensorboard --logdir RUN_DIR/logs``; ``gradient_flow``
    writes its gradient norms beside them (``logs/gradients``).

    Args:
        context: The callback context.
        **params: The Keras keywords, each filled in with its default if not given:
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

    log_dir, profile_batch = run_path(context, params["log_dir"]), params["profile_batch"]
    if isinstance(profile_batch, list):
        profile_batch = tuple(profile_batch)
    return keras.callbacks.TensorBoard(
        **{**params, "log_dir": str(log_dir), "profile_batch": profile_batch}
    )


@register_callback("csv_logger", aliases=("CSVLogger",), writes=("filename",))
@keras_signature("CSVLogger", {"filename": "training_log.csv"})
def csv_logger(context: CallbackContext, **params: Any) -> Any:
    """Appends each epoch's metrics to a CSV file in the run directory.

    Args:
        context: The callback context.
        **params: The Keras keywords, each filled in with its default if not given:
            filename: Relative to the run directory, inside it.
            separator: The field separator.
            append: Append to an existing file (when resuming) instead of overwriting it.

    Returns:
        A ``keras.callbacks.CSVLogger``.
    """
    import keras

    path = run_path(context, params["filename"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return keras.callbacks.CSVLogger(**{**params, "filename": str(path)})


@register_callback("backup_and_restore", aliases=("BackupAndRestore",), writes=("backup_dir",))
@keras_signature("BackupAndRestore", {"backup_dir": "backup/keras"})
def backup_and_restore(context: CallbackContext, **params: Any) -> Any:
    """Backs up the training state so an interrupted run resumes where it stopped.

    Every run already keeps such a backup of its own (``run_dir/backup``, see
    :mod:`keras_blueprints.training.backup`); this callback is for a ``save_freq``
    in batches. Its files are written atomically, so a kill mid-save leaves the
    previous complete state.

    Args:
        context: The callback context.
        **params: The Keras keywords, each filled in with its default if not given:
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

    backup_dir = run_path(context, params["backup_dir"])
    return AtomicBackupAndRestore(**{**params, "backup_dir": str(backup_dir)})


@register_callback("terminate_on_nan", aliases=("TerminateOnNaN",))
@keras_signature("TerminateOnNaN")
def terminate_on_nan(context: CallbackContext, **params: Any) -> Any:
    """Stops training as soon as the loss becomes NaN or infinite.

    A non-finite loss means the weights already overflowed (exploding
    gradients, a learning rate far too large, a log of zero); nothing after it
    is meaningful. Try a smaller learning rate or gradient clipping
    (``clipnorm`` on the optimizer), and ``gradient_flow`` to see where.

    Args:
        context: The callback context.
        **params: The Keras keywords, each filled in with its default if not given:
            raise_error: Raise an error instead of stopping quietly.

    Returns:
        A ``keras.callbacks.TerminateOnNaN``.
    """
    import keras

    return keras.callbacks.TerminateOnNaN(**params)

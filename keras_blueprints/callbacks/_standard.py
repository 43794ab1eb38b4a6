"""Keras callback classes behind the standard factories (imports Keras)."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keras_blueprints._compat.keras import (
    BackupFiles,
    HookedBackupAndRestore,
    HookedModelCheckpoint,
)
from keras_blueprints._core.files import atomic_path, atomic_write_json

__all__ = ["AtomicBackupAndRestore", "AtomicModelCheckpoint"]


class AtomicModelCheckpoint(HookedModelCheckpoint):
    """``ModelCheckpoint`` that writes each file beside its target and moves it into place.

    A run killed while saving leaves the previous complete checkpoint, never a
    truncated one. Everything else (``save_best_only``, ``monitor``, formatted
    file names) is Keras' own behaviour.

    The one checkpointer of the project: the ``model_checkpoint`` callback a blueprint
    lists, and a run's own ``checkpoints/last.keras`` and ``best.keras``
    (:mod:`keras_blueprints.training.run`), which also pass the two arguments below.

    Args:
        *args: ``keras.callbacks.ModelCheckpoint``'s.
        on_best: Called with the new best value and the epoch (counted from 1) each
            time ``save_best_only`` keeps a better model.
        unmeasured_skipped: With ``save_best_only``, an epoch whose monitored value is
            missing or not finite saves nothing (Keras warns and saves), and
            ``mode="auto"`` reads the direction from the compiled metric objects,
            else from the name (:func:`keras_blueprints.training.fit.metric_direction`)
            where Keras would refuse a metric whose object declares none.
        **kwargs: ``keras.callbacks.ModelCheckpoint``'s.
    """

    def __init__(
        self,
        *args: Any,
        on_best: Callable[[float, int], None] | None = None,
        unmeasured_skipped: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_best = on_best
        self.unmeasured_skipped = unmeasured_skipped

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.unmeasured_skipped and self.save_best_only:
            value = (logs or {}).get(self.monitor)
            if value is None or not math.isfinite(float(value)):
                return
            if self.mode == "auto":
                from keras_blueprints.training.fit import metric_direction

                self.mode = metric_direction(self.monitor, self.model)
        best = self.best
        super().on_epoch_end(epoch, logs)
        if self.on_best is not None and self.best is not best:
            self.on_best(float(self.best), epoch + 1)

    def write_checkpoint(self, filepath: str) -> None:
        """Writes the checkpoint beside ``filepath``, then moves it into place.

        Args:
            filepath: The checkpoint's file.
        """
        suffix = ".weights.h5" if self.save_weights_only else None
        with atomic_path(filepath, suffix=suffix) as tmp:
            if self.save_weights_only:
                self.model.save_weights(tmp, overwrite=True)
            else:
                self.model.save(tmp, overwrite=True)


class AtomicBackupAndRestore(HookedBackupAndRestore):
    """``BackupAndRestore`` whose every file is written beside its target and moved into place.

    Keras rewrites ``latest.weights.h5`` in place: a process killed during that
    write leaves a file that makes every later restore fail. Here the weights,
    then the epoch counter, are each replaced atomically (and with
    ``double_checkpoint`` the previous pair is copied the same way first), so a
    kill leaves complete files only. Restoring is Keras' own behaviour.
    """

    def write_backup(self, files: BackupFiles) -> None:
        """Writes the weights and the epoch counter, each atomically.

        Args:
            files: Where to write, and the epoch and batch to record.
        """
        Path(self.backup_dir).mkdir(parents=True, exist_ok=True)
        weights, metadata = Path(files.weights), Path(files.metadata)
        if self.double_checkpoint:
            for current, previous in (
                (weights, Path(files.previous_weights)),
                (metadata, Path(files.previous_metadata)),
            ):
                if current.exists():
                    with atomic_path(previous) as tmp:
                        shutil.copyfile(current, tmp)
        with atomic_path(weights, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp, overwrite=True)
        atomic_write_json(metadata, {"epoch": files.epoch, "batch": files.batch})

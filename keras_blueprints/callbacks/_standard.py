"""Keras callback classes behind the standard factories (imports Keras)."""

from __future__ import annotations

import keras

from ..files import atomic_path

__all__ = ["AtomicModelCheckpoint"]


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` that writes each file beside its target and moves it into place.

    A run killed while saving leaves the previous complete checkpoint, never a
    truncated one. Everything else (``save_best_only``, ``monitor``, formatted
    file names) is Keras' own behaviour.
    """

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        suffix = ".weights.h5" if self.save_weights_only else None
        with atomic_path(filepath, suffix=suffix) as tmp:
            if self.save_weights_only:
                self.model.save_weights(tmp, overwrite=True)
            else:
                self.model.save(tmp, overwrite=True)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

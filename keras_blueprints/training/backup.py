"""The state a run resumes from: written atomically every epoch, the previous one kept.

Keras' ``BackupAndRestore`` rewrites one weights file in place, so a process
killed during that write leaves a file no later ``--resume`` can load. A run
uses :class:`RunBackup` instead, built on public Keras API only::

    RUN_DIR/backup/
      epoch-000004.weights.h5   weights and optimizer state after epoch 4
      epoch-000004.json         the commit record: epoch, the weights' size and
                                SHA-256, the history and best value so far
      epoch-000003.weights.h5   the previous state, kept until the next one is complete
      epoch-000003.json

A state is written in two steps, each atomic (a temporary file moved into place
with :func:`os.replace`): the weights, then the record naming their checksum.
The record is the commit: a state without one, or whose weights do not match
it, is ignored and :func:`restore` falls back to the newest state that is whole.
Only then are states older than the previous one removed.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import RunError
from keras_blueprints._core.files import atomic_path, atomic_write_json, file_sha256

if TYPE_CHECKING:
    import keras

__all__ = ["BackupState", "RunBackup", "remove_partial", "restore", "states"]

KEEP = 2
"""States kept: the newest and the one before it."""

_RECORD = re.compile(r"^epoch-(\d{6,})\.json$")
_WEIGHTS = re.compile(r"^epoch-(\d{6,})\.weights\.h5$")
_FORMAT = 1


@dataclass(frozen=True)
class BackupState:
    """One committed state of a run.

    Attributes:
        epoch: Epochs finished when it was written.
        weights: The weights file (model and optimizer variables).
        record: The record file.
        history: Loss and metrics per epoch, ``epoch`` entries each.
        best: The best checkpoint's monitor, value and epoch so far (or None).
        problem: Why the state cannot be used (None when it is whole).
    """

    epoch: int
    weights: Path
    record: Path
    history: dict[str, list[float]]
    best: dict[str, Any] | None
    problem: str | None = None


def _name(epoch: int, suffix: str) -> str:
    return f"epoch-{epoch:06d}{suffix}"


def _read_state(record: Path) -> BackupState:
    match = _RECORD.match(record.name)
    epoch = int(match.group(1)) if match else -1
    weights = record.with_name(_name(epoch, ".weights.h5"))

    def broken(problem: str) -> BackupState:
        return BackupState(epoch, weights, record, {}, None, problem)

    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return broken(f"its record cannot be read ({type(exc).__name__})")
    if not isinstance(data, dict) or data.get("epoch") != epoch or data.get("format") != _FORMAT:
        return broken("its record is not one this version writes")
    history = data.get("history")
    if not isinstance(history, dict) or not all(
        isinstance(v, list) and len(v) == epoch for v in history.values()
    ):
        return broken("its record's history does not cover its epochs")
    try:
        size = weights.stat().st_size
    except OSError:
        return broken(f"{weights.name} is missing")
    if size != data.get("bytes") or file_sha256(weights) != data.get("sha256"):
        return broken(f"{weights.name} is damaged (its size or checksum differs from the record)")
    best = data.get("best")
    return BackupState(epoch, weights, record, history, best if isinstance(best, dict) else None)


def states(folder: str | Path) -> list[BackupState]:
    """Every committed state in a backup folder, newest first (damaged ones included)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [folder / p.name for p in folder.iterdir() if _RECORD.match(p.name)]
    return sorted((_read_state(r) for r in found), key=lambda s: s.epoch, reverse=True)


def restore(model: keras.Model, folder: str | Path, *, run_dir: str | Path) -> BackupState | None:
    """Loads the newest whole state into ``model`` (weights and optimizer state).

    A damaged newest state is reported on stderr and the previous one used.

    Args:
        model: The compiled model, rebuilt from the run's blueprint.
        folder: The backup folder.
        run_dir: The run directory (for messages).

    Returns:
        The state loaded, or None when the folder holds no state (a run killed
        before its first epoch ended).

    Raises:
        RunError: States exist but none is whole, or a whole one does not fit
            the model (the run's blueprint was changed).
    """
    found = states(folder)
    for state in found:
        if state.problem is not None:
            print(
                f"{state.record}: warning: backup state of epoch {state.epoch} cannot be used: "
                f"{state.problem}; trying the previous one",
                file=sys.stderr,
            )
            continue
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        try:
            model.load_weights(state.weights)
        except (ValueError, KeyError, OSError) as exc:
            raise RunError(
                f"the backup state of epoch {state.epoch} does not fit the model rebuilt from "
                f"the run's blueprint: {exc}",
                state.weights,
                hint=f"Was {Path(run_dir) / 'blueprint.yaml'} edited? Restore it, or start a new "
                "run.",
            ) from exc
        return state
    if not found:
        return _restore_legacy(model, Path(folder), Path(run_dir))
    raise RunError(
        f"run '{run_dir}' cannot be resumed: no backup state is whole "
        f"({'; '.join(f'epoch {s.epoch}: {s.problem}' for s in found)})",
        found[0].record,
        hint=f"Start a new run: blueprint train {Path(run_dir) / 'blueprint.yaml'}.",
    )


def _restore_legacy(model: keras.Model, folder: Path, run_dir: Path) -> BackupState | None:
    """Restores the state of a run started by an earlier version (Keras' BackupAndRestore).

    Its ``latest.weights.h5`` and ``training_metadata.json`` hold the weights and the
    epoch; the history comes from the run's ``history.json``.
    """
    weights, metadata = folder / "latest.weights.h5", folder / "training_metadata.json"
    if not (weights.is_file() and metadata.is_file()):
        return None
    try:
        epoch = int(json.loads(metadata.read_text(encoding="utf-8"))["epoch"])
        history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(weights)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunError(
            f"run '{run_dir}' cannot be resumed: its backup (written by an earlier version, "
            f"in place) cannot be read: {type(exc).__name__}",
            weights,
            hint=f"Start a new run: blueprint train {run_dir / 'blueprint.yaml'}.",
        ) from exc
    history = {k: list(v)[:epoch] for k, v in history.items()}
    return BackupState(epoch, weights, metadata, history, None)


def remove_partial(folder: str | Path) -> None:
    """Removes weights files no record commits (a write killed before its record)."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        match = _WEIGHTS.match(path.name)
        if match and not (folder / _name(int(match.group(1)), ".json")).exists():
            path.unlink(missing_ok=True)


class RunBackup:
    """Writes a run's state at the end of every epoch (see the module); keeps the previous one.

    Args:
        folder: The backup folder.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def save(
        self,
        model: keras.Model,
        epoch: int,
        history: Mapping[str, list[float]],
        best: Mapping[str, Any] | None,
    ) -> None:
        """Writes the state after ``epoch`` finished epochs, then prunes older states.

        Args:
            model: The model being trained.
            epoch: Epochs finished.
            history: Loss and metrics per epoch (``epoch`` entries each).
            best: The best checkpoint's record so far.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        weights = self.folder / _name(epoch, ".weights.h5")
        with atomic_path(weights, suffix=".weights.h5") as tmp:  # Keras wants that ending
            model.save_weights(tmp)
        record = {
            "format": _FORMAT,
            "epoch": epoch,
            "bytes": weights.stat().st_size,
            "sha256": file_sha256(weights),
            "history": {k: list(v) for k, v in history.items()},
            "best": dict(best) if best else None,
        }
        atomic_write_json(self.folder / _name(epoch, ".json"), record)
        older = sorted(
            int(m.group(1)) for p in self.folder.iterdir() if (m := _RECORD.match(p.name))
        )
        older = [e for e in older if e < epoch]
        for old in older[: max(len(older) - (KEEP - 1), 0)]:
            for suffix in (".json", ".weights.h5"):  # the record first: it commits the state
                (self.folder / _name(old, suffix)).unlink(missing_ok=True)

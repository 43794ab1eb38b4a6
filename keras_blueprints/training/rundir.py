"""The run directory: what ``blueprint train`` leaves behind, and how it is read back.

::

    RUN_DIR/
      blueprint.yaml     the fully resolved blueprint (plain YAML that rebuilds the model)
      run.json           how the run was started (with the modules of --import, which
                         resuming, evaluating and exporting ask for again), its status
                         and progress
      history.json       loss and metrics per epoch (also history.csv)
      metrics.json       final train / validation / test metrics
      pretrain.json      per-pair losses of layer-wise pretraining (when train.pretrain is set)
      model.keras        the trained model
      checkpoints/       best.keras (by the monitored metric) and last.keras
      backup/            the state to resume from, while a run is unfinished
                         (:mod:`keras_blueprints.training.backup`)
      plots/             learning curves and monitor plots
      evaluation/        what the trained model is judged by: PNGs and evaluation.json
                         (:mod:`keras_blueprints.evaluation`)
      run.lock           held (flock) by the process writing the run

Every file is written atomically (:mod:`keras_blueprints._core.files`), so a run
killed at any moment leaves complete files only; ``blueprint train --resume``
continues from the last finished epoch. One process at a time writes a run
(:mod:`keras_blueprints.training.lock`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import Plain, RunError
from keras_blueprints._core.files import atomic_write_json, atomic_write_text, cannot_write

if TYPE_CHECKING:
    from keras_blueprints.api import Overrides
    from keras_blueprints.resolve.schema import Blueprint

__all__ = [
    "BACKUP_DIR",
    "BLUEPRINT_FILE",
    "CHECKPOINT_DIR",
    "CLASSES_FILE",
    "EVALUATION_DIR",
    "HISTORY_CSV",
    "HISTORY_JSON",
    "IMPORTS_KEY",
    "METRICS_FILE",
    "MODEL_FILE",
    "PLOTS_DIR",
    "PRETRAIN_FILE",
    "RUN_FILE",
    "RUN_LOCK",
    "STATE_FILES",
    "TABLE_FILE",
    "RunDir",
    "default_run_dir",
    "load_run_blueprint",
    "recorded_imports",
    "refuse_dangling_link",
]

BLUEPRINT_FILE = "blueprint.yaml"
RUN_FILE = "run.json"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"
CLASSES_FILE = "classes.json"
TABLE_FILE = "table.json"
PRETRAIN_FILE = "pretrain.json"
CHECKPOINT_DIR = "checkpoints"
BACKUP_DIR = "backup"
PLOTS_DIR = "plots"
EVALUATION_DIR = "evaluation"
RUN_LOCK = "run.lock"
IMPORTS_KEY = "imports"
"""The key of ``run.json`` (and a search's ``search.json``) listing the modules the command
line imported (``--import``)."""
STATE_FILES = (RUN_FILE, "search.json")
"""Where a run (``run.json``) or a search (``search.json``, :data:`SEARCH_FILE` of
:mod:`keras_blueprints.tuning.search`) records how it was started."""


def default_run_dir(name: str, root: str | Path = "runs") -> Path:
    """A fresh directory name ``runs/NAME-YYYYmmdd-HHMMSS`` (suffixed if taken)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    plain = name.replace("/", "_").replace("\\", "_").replace("\0", "_")  # stays under root
    base = Path(root) / f"{plain}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def refuse_dangling_link(path: Path, what: str) -> None:
    """Refuses a symbolic link to nothing where a new directory is to be made.

    ``Path.exists()`` is false for it, yet ``mkdir`` fails on it, and following it
    would create a directory wherever the link points.

    Args:
        path: Where the directory is to be made.
        what: What it is, for the message (``"run directory"``).

    Raises:
        RunError: ``path`` is a dangling symbolic link.
    """
    if path.is_symlink() and not path.exists():
        raise RunError(
            f"the {what} '{path}' is a symbolic link to nothing",
            path,
            expected="a new or empty directory",
            received=Plain(f"a link to '{os.readlink(path)}', which does not exist"),
            hint="Remove the link, or choose another place: a directory is never created "
            "through a link.",
        )


def recorded_imports(path: str | Path) -> list[str]:
    """The modules a run or a search was started with (``--import``), as it lists them.

    They are only read, never imported: a run directory may come from someone else,
    and reading one must not run code; the command line asks for them instead.

    Args:
        path: A run or search directory (or any folder).

    Returns:
        The module names and ``.py`` paths; empty when there are none, or when ``path``
        holds no readable run.json or search.json (the command reading it says what is
        wrong).
    """
    file = next((Path(path) / f for f in STATE_FILES if (Path(path) / f).is_file()), None)
    try:
        data = json.loads(file.read_text(encoding="utf-8")) if file is not None else {}
    except (OSError, ValueError):
        return []
    imports = data.get(IMPORTS_KEY) if isinstance(data, dict) else None
    if not isinstance(imports, list):
        return []
    return [m for m in imports if isinstance(m, str) and m]


class RunDir:
    """Reads and writes the files of one run directory.

    Args:
        path: The directory.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # -- creating and opening -------------------------------------------------------------
    def create(self) -> None:
        """Creates the directory for a new run; refuses one that already holds files.

        Raises:
            RunError: The directory exists and is not empty (nothing is overwritten).
        """
        refuse_dangling_link(self.path, "run directory")
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise RunError(
                f"run directory '{self.path}' already exists and is not empty",
                self.path,
                hint="Choose another --run-dir, or continue that run with --resume.",
            )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a parent that is a file or a dangling link, no permission
            raise cannot_write(
                self.path,
                exc,
                what=f"cannot create the run directory '{self.path}'",
                expected="a new or empty directory in a writable place",
            ) from exc

    def read_run(self) -> dict[str, Any]:
        """Reads ``run.json`` of an existing run.

        Raises:
            RunError: The directory is not a run directory, or its run.json is damaged.
        """
        file = self.path / RUN_FILE
        if not file.is_file():
            raise RunError(
                f"'{self.path}' is not a run directory",
                self.path,
                expected=f"a directory written by 'blueprint train' (with {RUN_FILE})",
                received="no such directory" if not self.path.exists() else "no run.json in it",
            )
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunError(f"cannot read {file}: {exc}", file) from exc
        if not isinstance(data, dict):
            raise RunError(f"{file} is damaged", file)
        return data

    # -- files ----------------------------------------------------------------------------
    def write_run(self, data: Mapping[str, Any]) -> None:
        """Writes ``run.json``."""
        atomic_write_json(self.path / RUN_FILE, dict(data))

    def write_blueprint(self, text: str) -> None:
        """Writes the resolved blueprint."""
        atomic_write_text(self.path / BLUEPRINT_FILE, text)

    def read_history(self) -> dict[str, list[float]]:
        """The history written so far (empty when there is none)."""
        file = self.path / HISTORY_JSON
        if not file.is_file():
            return {}
        return {k: list(v) for k, v in json.loads(file.read_text(encoding="utf-8")).items()}

    def write_history(self, history: Mapping[str, Sequence[float]]) -> None:
        """Writes ``history.json`` and ``history.csv`` (one row per epoch)."""
        atomic_write_json(self.path / HISTORY_JSON, {k: list(v) for k, v in history.items()})
        keys = list(history)
        rows = max((len(v) for v in history.values()), default=0)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["epoch", *keys])
        for i in range(rows):
            writer.writerow(
                [i + 1, *(repr(history[k][i]) if i < len(history[k]) else "" for k in keys)]
            )
        atomic_write_text(self.path / HISTORY_CSV, out.getvalue())

    def write_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Writes ``metrics.json``."""
        atomic_write_json(self.path / METRICS_FILE, dict(metrics))

    def backup_epoch(self) -> int:
        """Epochs completed according to the newest whole backup state (0 when none)."""
        from keras_blueprints.training.backup import states

        return next((s.epoch for s in states(self.path / BACKUP_DIR) if s.problem is None), 0)


def load_run_blueprint(
    run_dir: str | Path, overrides: Overrides = (), allow_read: Iterable[str | Path] = ()
) -> Blueprint:
    """Loads a run's own ``blueprint.yaml`` as it was trained: paths from its first folder.

    The stored blueprint's relative data paths start from the folder of the blueprint
    the run was trained from, and the folders allowed then are allowed again
    (``base_dir`` and ``allow_read`` in ``run.json``).

    Args:
        run_dir: The run directory.
        overrides: Overrides of the blueprint.
        allow_read: Further folders its paths may be read below.

    Returns:
        The blueprint.

    Raises:
        RunError: Not a run directory.
        BlueprintError: A problem in the blueprint.
    """
    run = RunDir(Path(run_dir))
    info = run.read_run() if (run.path / RUN_FILE).is_file() else {}
    from keras_blueprints.api import load

    return load(
        run.path / BLUEPRINT_FILE,
        overrides,
        allow_read=[*info.get("allow_read", ()), *allow_read],
        base_dir=info.get("base_dir"),
    )

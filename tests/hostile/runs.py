"""Hostile cases: runs and run directories in states a command must survive.

A run directory here is what ``blueprint train`` leaves when it is stopped: a
blueprint, a run.json saying ``running``, and (some of) its backup states, made by
the setup with the product's own :class:`~keras_blueprints.training.backup.RunBackup`
and then damaged. Resuming such a run either continues from the newest whole state
(exit 0), or says in one located line why it cannot (exit 2); never a traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import case

RUN = "runs/r"

BLUEPRINT = (
    "name: spiral_mlp\n"
    "inputs: {point: [2]}\n"
    "graph:\n"
    "  - {name: hidden, Dense: {units: 8, activation: relu}}\n"
    "  - {name: probabilities, Dense: {units: 2, activation: softmax}}\n"
    "compile: {optimizer: adam, loss: sparse_categorical_crossentropy, metrics: [accuracy]}\n"
    "data: {source: {spirals: {points_per_class: 20}}, validation: 0.25, batch_size: 16}\n"
    "train: {epochs: 2, seed: 1, callbacks: []}\n"
)


def _run_json(epochs_done: int) -> str:
    info = {
        "status": "running",
        "blueprint": "bp.yaml",
        "overrides": [],
        "base_dir": "{work}",
        "seed": 1,
        "epochs": 2,
        "batch_size": 16,
        "epochs_done": epochs_done,
    }
    return json.dumps(info)


def _run_files(epochs_done: int, **extra: str | bytes) -> dict[str, str | bytes]:
    return {
        f"{RUN}/blueprint.yaml": BLUEPRINT,
        f"{RUN}/run.json": _run_json(epochs_done),
        **{f"{RUN}/{name}": content for name, content in extra.items()},
    }


_HELD: list = []
"""Locks the setups hold for the rest of the session (as another process would)."""


def _hold_lock(root: Path) -> None:
    from keras_blueprints.training.lock import DirectoryLock

    lock = DirectoryLock(root / "work" / RUN, "run.lock", "run")
    lock.acquire()  # never released: the case's child finds the run in use
    _HELD.append(lock)


def _backup(*damage: str):
    """A setup writing whole states for epochs 1 and 2, then damaging those named."""

    def setup(root: Path) -> None:
        import keras

        from keras_blueprints.api import load
        from keras_blueprints.builders.model import build_models
        from keras_blueprints.training.backup import RunBackup

        run = root / "work" / RUN
        keras.backend.clear_session()
        model = build_models(load(run / "blueprint.yaml"), compile=True)["model"]
        model.optimizer.build(model.trainable_variables)
        history = {"loss": [0.7, 0.6], "accuracy": [0.5, 0.6]}
        backup = RunBackup(run / "backup")
        for epoch in (1, 2):
            backup.save(model, epoch, {k: v[:epoch] for k, v in history.items()}, None)
        keras.backend.clear_session()
        for what in damage:
            epoch, kind = what.split(":")
            weights = run / "backup" / f"epoch-00000{epoch}.weights.h5"
            if kind == "truncated":  # what a SIGKILL during an in-place write leaves
                weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
            elif kind == "garbage":
                weights.write_bytes(os.urandom(weights.stat().st_size))

    return setup


TRAINING = {"tensorflow": True, "memory_mb": 3000, "seconds": 120}

case(
    "resume-locked-run",
    "train",
    "--resume",
    RUN,
    files=_run_files(0),
    setup=_hold_lock,
    where=RUN,
    **TRAINING,
)

# Exit 0: the newest state is damaged, the previous one (kept for this) is whole; a state
# without its record (killed between the two writes) is tests/test_run_durability.py's.
case(
    "resume-truncated-backup",
    "train",
    "--resume",
    RUN,
    "--quiet",
    files=_run_files(2),
    setup=_backup("2:truncated"),
    exit=0,
    **TRAINING,
)
# Exit 2: no state is whole: resuming cannot continue where the run stopped, and silently
# starting over would throw away the epochs run.json says were done.
case(
    "resume-every-backup-damaged",
    "train",
    "--resume",
    RUN,
    files=_run_files(2),
    setup=_backup("1:garbage", "2:truncated"),
    where=rf"{RUN}/backup/epoch-000002\.json",
    **TRAINING,
)
case(
    "resume-running-without-backup",
    "train",
    "--resume",
    RUN,
    files=_run_files(2),
    where=rf"{RUN}/backup",
    **TRAINING,
)

# Exit 0: killed before its first epoch ended (no backup yet), with what killed writers left.
case(
    "resume-before-first-epoch-with-leftovers",
    "train",
    "--resume",
    RUN,
    "--quiet",
    files=_run_files(
        0,
        **{
            "checkpoints/.last.keras.k2j4_x9q.keras": b"\0" * 4096,
            ".run.json.ab12cd34.json": '{"status": "runn',
            "backup/epoch-000001.weights.h5": b"\0" * 512,
        },
    ),
    exit=0,
    **TRAINING,
)

"""Hostile cases: a blueprint that reads or writes where it has no business."""

from __future__ import annotations

from . import case, make_fifo

case(
    "extends-fifo",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": "extends: pipe.yaml\n"},
    setup=make_fifo("pipe.yaml"),
    where=r"bp\.yaml:1:\d+",
    seconds=30,
)

case(
    "imports-fifo",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": "name: x\nimports: [blocks.yaml]\n"},
    setup=make_fifo("blocks.yaml"),
    where=r"bp\.yaml:2:\d+",
    seconds=30,
)

case(
    "extends-dev-zero",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": "name: x\nextends: /dev/zero\n"},
    where=r"bp\.yaml:2:10",
    seconds=30,
)

# Callbacks write only inside the run directory: every path-valued argument, refused at
# load time (validate --no-build), located at the value.
_MODEL = "inputs: {x: [2]}\ngraph: [{Dense: {units: 1}}]\ntrain:\n  callbacks:\n"
for _id, _callback in [
    ("callback-backup-dir-up", "backup_and_restore: {backup_dir: ../outside/keep}"),
    ("callback-csv-absolute", "csv_logger: {filename: '{outside}/secret.txt'}"),
    ("callback-csv-home", "csv_logger: {filename: ~/.bashrc}"),
    ("callback-checkpoint-up", "model_checkpoint: {filepath: ../../m.keras}"),
    ("callback-tensorboard-absolute", "tensorboard: {log_dir: /tmp/logs}"),
    ("callback-curves-up", "learning_curves: {filename: ../../../curves.png}"),
]:
    case(
        _id,
        "validate",
        "--no-build",
        "bp.yaml",
        files={"bp.yaml": _MODEL + f"    - {_callback}\n"},
        where=rf"bp\.yaml:5:{7 + _callback.index(': ', _callback.index('{')) + 2}",
        seconds=30,
    )

# A serialized object names only the Keras modules Keras serializes layers, losses...
# from: keras.config's functions change global state (set_floatx, unsafe deserialization).
case(
    "serialized-module-keras-config",
    "validate",
    "--no-build",
    "bp.yaml",
    files={
        "bp.yaml": "inputs: {x: [2]}\ngraph:\n  - Dense:\n      units: 1\n"
        "      kernel_initializer: {module: keras.config, class_name: set_floatx,"
        " config: {}}\n"
    },
    where=r"bp\.yaml:5:\d+",
    seconds=30,
)

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

# A blueprint reads only below its folder or the current directory (--allow-read DIR
# lets it read elsewhere; tests/test_paths.py covers that), and only regular files.
_TEXT = "inputs: {x: {shape: [1], dtype: string}}\ngraph:\n  - StringLookup:\n"
case(
    "vocabulary-outside",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": _TEXT + "      vocabulary: /etc/passwd\n"},
    where=r"bp\.yaml:4:19",
    seconds=30,
)
case(
    "vocabulary-outside-up",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": _TEXT + "      vocabulary: ../outside/secret.txt\n"},
    where=r"bp\.yaml:4:19",
    seconds=30,
)
_MLP = "inputs: {x: [2]}\ngraph: [{Dense: {units: 1}}]\n"
for _id, _data in [
    ("data-npz-outside", "data: '{outside}/keep/data.npz'\n"),
    ("data-csv-outside", "data: {source: {csv: {path: /etc/passwd, delimiter: ':'}}}\n"),
    ("data-csv-outside-up", "data: {source: {csv: {path: ../outside/keep/data.txt}}}\n"),
    ("data-test-split-outside", "data: {source: digits, test: {npz: {path: ~/t.npz}}}\n"),
    ("data-dev-zero", "data: {source: {csv: {path: /dev/zero}}}\n"),
]:
    case(
        _id,
        "validate",
        "--no-build",
        "bp.yaml",
        files={"bp.yaml": _MLP + _data},
        where=r"bp\.yaml:3:\d+",
        seconds=30,
    )
case(
    "data-fifo",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": _MLP + "data: {source: {csv: {path: pipe.csv}}}\n"},
    setup=make_fifo("pipe.csv"),
    where=r"bp\.yaml:3:\d+",
    seconds=30,
)
case(
    "data-fifo-command-line",
    "validate",
    "--no-build",
    "bp.yaml",
    "--set",
    "data.source={csv: {path: pipe.csv}}",
    files={"bp.yaml": _MLP},
    setup=make_fifo("pipe.csv"),
    seconds=30,
)

# A data file that is not a table: the error names rows and columns, never the content.
case(
    "csv-error-echoes-no-content",
    "train",
    "bp.yaml",
    "--epochs",
    "1",
    "--run-dir",
    "runs/r",
    files={
        "bp.yaml": _MLP
        + "compile: {optimizer: adam, loss: mse}\n"
        + "data: {source: {csv: {path: users.csv, delimiter: ':'}}}\n",
        "users.csv": "root:x:0:0:root:/root:/bin/bash\nsecret:x:1:1:TOPSECRET:/home/s:/bin/sh\n",
        "runs/.keep": "",  # the runs folder exists, as after any earlier run
    },
    where=r".*users\.csv:1:1",
    hidden=("TOPSECRET", "/bin/bash", "/home/s"),
    seconds=120,
    memory_mb=2000,
    tensorflow=True,
)

# The blueprint's name makes the default run directory (runs/NAME-STAMP).
case(
    "name-leads-run-dir-out",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": "name: ../../outside/run\n" + _MLP},
    where=r"bp\.yaml:1:7",
    seconds=30,
)

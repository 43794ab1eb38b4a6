"""How long does each trainable zoo entry's default run take, and what does it reach?

For every zoo entry that names its data (``data:``), run ``blueprint train zoo:NAME`` at
its defaults in a fresh subprocess (the way a user runs it), with the wall-clock time of
the whole command (start-up, data, build, training, evaluation) measured around it, and
read the result the run wrote (``metrics.json``: the test split when there is one, else
validation, else training). Entries without data (the ``keras.applications`` mirrors)
build only and are listed as such.

The goal of issue 16: every default run finishes in under ``--goal`` minutes (10) on two
CPU cores, or its blueprint says how long it takes and how to make it shorter. The goal is
reported, never asserted; the script exits 1 only when a run fails.

Run it on a quiet machine, pinned to two cores as CI is::

    taskset -c 0,1 python benchmarks/bench_zoo_budgets.py --markdown zoo_budgets.md

``--only NAME`` (repeatable) runs some entries; ``--timeout`` stops a run that takes too
long (reported as such, with the time spent, and the whole run's time estimated from the
epochs it finished); ``--runs DIR`` keeps the run directories (their pictures and
``evaluation/``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras_blueprints as kb
from keras_blueprints.loading import zoo

RESULT_KEYS = (
    "iou",
    "mean_io_u",
    "dice",
    "accuracy",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
    "token_accuracy",
    "mse",
    "mae",
    "loss",
)
"""Which metric stands for the result, in order of preference (the first one present): a
segmenter's IoU before its pixel accuracy, which a mask of background alone flatters."""


def _trainable(name: str) -> bool:
    blueprint = kb.load(f"zoo:{name}")
    return blueprint.data is not None and blueprint.data.source is not None


def _result(run_dir: Path) -> tuple[str, str, float] | None:
    """The (split, metric, value) that stands for the run's result, or None."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text())
    for split in ("test", "validation", "train"):
        values = metrics.get(split) or {}
        flat = {key.split("/")[-1].lower(): value for key, value in values.items()}
        for key in RESULT_KEYS:
            for found, value in flat.items():
                if (found == key or found.endswith("_" + key)) and isinstance(value, int | float):
                    return split, found, float(value)
    return None


def _epochs_done(run_dir: Path) -> int | None:
    """Epochs the run recorded in history.json (written after every epoch)."""
    history = run_dir / "history.json"
    if not history.is_file():
        return None
    series = json.loads(history.read_text())
    if not isinstance(series, dict) or not series:
        return None
    return max((len(v) for v in series.values() if isinstance(v, list)), default=None)


def _epochs_planned(name: str) -> int:
    blueprint = kb.load(f"zoo:{name}")
    return blueprint.train.epochs if blueprint.train is not None else 1


def _run(name: str, root: Path, timeout: float) -> dict:
    run_dir = root / name
    command = [sys.executable, "-m", "keras_blueprints", "train", f"zoo:{name}"]
    command += ["--run-dir", str(run_dir), "--quiet"]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        code: int | None = done.returncode
        tail = (done.stderr or "").strip().splitlines()[-3:]
    except subprocess.TimeoutExpired:
        code, tail = None, []
    seconds = time.perf_counter() - start
    epochs = _epochs_done(run_dir)
    planned = _epochs_planned(name)
    estimate = None
    if code is None and epochs:
        # Stopped: the whole run's time from the epochs it finished (start-up included
        # in the first, so it errs long), for the planned epochs at most.
        estimate = round(seconds / epochs * planned, 1)
    return {
        "name": name,
        "seconds": round(seconds, 1),
        "exit": code,
        "epochs": epochs,
        "planned_epochs": planned,
        "estimated_seconds": estimate,
        "result": _result(run_dir),
        "error": tail if code not in (0, None) else [],
    }


def _minutes(minutes: float) -> str:
    return f"{minutes / 60:.1f} h" if minutes >= 90 else f"{minutes:.0f} min"


def _markdown(rows: list[dict], goal_min: float) -> str:
    lines = [
        "| zoo entry | time (2 CPU cores) | epochs | result | under goal |",
        "|---|---:|---:|---|:---:|",
    ]
    for row in rows:
        minutes = row["seconds"] / 60
        if row["exit"] is None:
            time_text, result = f"> {minutes:.1f} min (stopped)", "-"
            if row.get("estimated_seconds"):
                estimate = row["estimated_seconds"] / 60
                done, planned = row["epochs"], row["planned_epochs"]
                time_text = (
                    f"about {_minutes(estimate)} (stopped at {minutes:.0f} min after "
                    f"{done} of {planned} epochs)"
                )
        else:
            time_text = f"{minutes:.1f} min"
            found = row["result"]
            result = f"{found[2]:.3f} {found[0]} {found[1]}" if found else "-"
        if row["exit"] not in (0, None):
            result = "failed"
        ok = "yes" if row["exit"] == 0 and minutes < goal_min else "no"
        epochs = row["epochs"] or "-"
        lines.append(f"| `{row['name']}` | {time_text} | {epochs} | {result} | {ok} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the zoo's default trainings and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="entry to run (repeatable)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--goal", type=float, default=10.0, help="minutes a default run may take")
    parser.add_argument("--json", type=Path, help="write the measurements here")
    parser.add_argument("--markdown", type=Path, help="write the table here")
    parser.add_argument(
        "--runs", type=Path, help="keep the run directories here (default: a temporary folder)"
    )
    args = parser.parse_args(argv)

    names = args.only or [name for name in zoo.names() if _trainable(name)]
    print(f"{len(names)} entries on {os.cpu_count()} CPUs: {', '.join(names)}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-budgets-") as tmp:
        root = args.runs or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for name in names:
            row = _run(name, root, args.timeout)
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = _markdown(rows, args.goal)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(table)
    return 1 if any(row["exit"] not in (0, None) for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

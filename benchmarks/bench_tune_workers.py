"""Trials per hour of a distributed search: one worker against two on the same machine.

The same search (a digits MLP, width and learning rate searched, random tuner,
``TRIALS`` trials of ``EPOCHS`` epochs) runs twice through
:func:`keras_blueprints.tuning.distributed.run_chief` and ``run_worker``: once
with one worker, once with two, every process pinned to one TensorFlow thread
(``threads=1``). Each process is this script started again with a role. The
time is the chief's serving time from ``distributed.json`` (from the moment it
serves the oracle until it stops, so it includes the workers' start-up);
trials per hour = trials / that time. Goal: two workers >= 1.6 x one.

Run: ``python benchmarks/bench_tune_workers.py [--trials 12] [--epochs 4]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from _common import describe, machine, table

BLUEPRINT = textwrap.dedent(
    """\
    name: digits_search
    params:
      width: {int: [32, 256], step: 32, default: 64}
    inputs: {pixels: [64]}
    graph:
      - {name: hidden1, Dense: {units: "${width}", activation: relu}}
      - {name: hidden2, Dense: {units: "${width}", activation: relu}}
      - {name: probabilities, Dense: {units: 10, activation: softmax}}
    compile:
      optimizer: {adam: {learning_rate: {float: [1.0e-4, 1.0e-2], sampling: log, name: lr}}}
      loss: sparse_categorical_crossentropy
      metrics: [accuracy]
    data:
      source: digits
      validation: 0.2
      batch_size: 32
    train: {epochs: 1, seed: 1}
    tune: {tuner: random, objective: val_accuracy, max_trials: 12, epochs: 4, seed: 5}
    """
)


def _role(args: argparse.Namespace) -> int:
    from keras_blueprints.tuning import distributed, tune

    def search():
        return tune(
            args.file,
            run_dir=args.run_dir,
            resume=True,
            max_trials=args.trials,
            epochs=args.epochs,
            verbose=0,
        )

    if args.role == "chief":
        return distributed.run_chief(args.address, search, threads=1)
    return distributed.run_worker(args.role, args.address, search, threads=1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _search(workers: int, file: Path, root: Path, trials: int, epochs: int) -> dict:
    run_dir = root / f"workers{workers}"
    address = f"127.0.0.1:{_free_port()}"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    common = ["--file", str(file), "--run-dir", str(run_dir), "--address", address]
    common += ["--trials", str(trials), "--epochs", str(epochs)]
    me = [sys.executable, __file__]
    log_path = root / f"chief{workers}.log"
    log = log_path.open("w")
    chief = subprocess.Popen([*me, "--role", "chief", *common], env=env, stdout=log, stderr=log)
    # Workers wait (up to run_worker's connect_timeout) for the chief to serve.
    procs = [
        subprocess.Popen(
            [*me, "--role", str(i), *common], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        for i in range(1, workers + 1)
    ]
    codes = [p.wait() for p in procs] + [chief.wait()]
    if any(codes):
        raise SystemExit(f"exit statuses {codes}:\n{log_path.read_text()}")
    results = json.loads((run_dir / "distributed.json").read_text())
    rows = (run_dir / "trials.csv").read_text().splitlines()[1:]
    trial_seconds = [float(r.split(",")[-2]) for r in rows]
    return {
        "workers": workers,
        "trials": len(rows),
        "seconds": results["seconds"],
        "per_hour": 3600 * len(rows) / results["seconds"],
        "mean_trial_s": sum(trial_seconds) / len(trial_seconds),
        "by_worker": results["workers"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role")
    parser.add_argument("--file")
    parser.add_argument("--run-dir")
    parser.add_argument("--address")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    if args.role:
        sys.exit(_role(args))

    info = machine()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        file = root / "digits_search.yaml"
        file.write_text(BLUEPRINT)
        runs = [_search(n, file, root, args.trials, args.epochs) for n in (1, 2)]
    print(describe(info))
    print(
        table(
            ["workers", "trials", "search s", "trials/hour", "mean trial s", "trials by worker"],
            [
                [
                    str(r["workers"]),
                    str(r["trials"]),
                    f"{r['seconds']:.1f}",
                    f"{r['per_hour']:.0f}",
                    f"{r['mean_trial_s']:.2f}",
                    ", ".join(f"{k}: {v}" for k, v in r["by_worker"].items()),
                ]
                for r in runs
            ],
        )
    )
    print(f"speed-up, two workers over one: {runs[1]['per_hour'] / runs[0]['per_hour']:.2f}x")


if __name__ == "__main__":
    main()

"""A search killed (SIGKILL) during its third trial resumes: finished trials are kept, not rerun."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("keras_tuner")
keras = pytest.importorskip("keras")

from keras_blueprints.tuning import resume_search  # noqa: E402

BLUEPRINT = """
params:
  width: {int: [4, 32], step: 4}
inputs: {xy: [2]}
graph:
  - {name: hidden, Dense: {units: "${width}", activation: relu}}
  - {name: out, Dense: {units: 2, activation: softmax}}
compile:
  optimizer: {adam: {learning_rate: {float: [1.0e-3, 1.0e-1], sampling: log, name: lr}}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
data: {source: {spirals: {points_per_class: 40}}, validation: 0.25, batch_size: 16}
train: {epochs: 1}
tune: {tuner: random, objective: val_loss, max_trials: 4, seed: 3}
"""

KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import keras
    from keras_blueprints.tuning import tune

    class KillAtThirdTrial(keras.callbacks.Callback):
        started = 0

        def on_train_begin(self, logs=None):
            KillAtThirdTrial.started += 1
            if KillAtThirdTrial.started == 3:
                os.kill(os.getpid(), signal.SIGKILL)

    tune(sys.argv[1], run_dir=sys.argv[2], verbose=0, extra_callbacks=[KillAtThirdTrial()])
    """
)


class _Count(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.trials = 0

    def on_train_begin(self, logs=None) -> None:
        self.trials += 1


def _rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_a_killed_search_resumes_and_keeps_its_finished_trials(tmp_path):
    source = tmp_path / "search.yaml"
    source.write_text(BLUEPRINT)
    run = tmp_path / "run"
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(source), str(run)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    before = _rows(run / "trials.csv")
    assert [(r["trial"], r["status"]) for r in before] == [("0", "COMPLETED"), ("1", "COMPLETED")]
    assert json.loads((run / "search.json").read_text())["status"] == "running"
    assert not (run / "best.yaml").exists()
    outcomes = {t: (run / "search" / f"trial_{t}" / "outcome.json").read_text() for t in "01"}

    count = _Count()
    result = resume_search(run, verbose=0, extra_callbacks=[count])
    assert count.trials == 2  # the interrupted trial again, then the fourth: nothing rerun
    after = _rows(run / "trials.csv")
    assert [(r["trial"], r["status"]) for r in after] == [(str(i), "COMPLETED") for i in range(4)]
    assert after[:2] == before  # same values, objectives and times
    for t in "01":  # the finished trials did not run again
        assert (run / "search" / f"trial_{t}" / "outcome.json").read_text() == outcomes[t]
    state = json.loads((run / "search.json").read_text())
    assert state["status"] == "completed" and len(state["resumed"]) == 1
    assert result.best_objective == min(float(r["objective"]) for r in after)
    assert (run / "best.yaml").is_file() and (run / "best.keras").is_file()


def test_a_search_in_use_is_refused_with_the_holders_pid(tmp_path, capsys):
    from keras_blueprints.cli import main
    from keras_blueprints.training.lock import DirectoryLock

    run = tmp_path / "search"
    run.mkdir()
    state = {"status": "running", "source": "x.yaml", "overrides": [], "base_dir": "."}
    (run / "search.json").write_text(json.dumps(state))
    lock = DirectoryLock(run, "search.lock", "search")
    lock.acquire()
    try:
        assert main(["tune", "--resume", str(run)]) == 2
    finally:
        lock.release()
    err = capsys.readouterr().err
    assert f"{run}: error: the search in '{run}' is in use by another process (PID " in err
    assert json.loads((run / "search.json").read_text()) == state  # untouched


def test_keras_tuner_state_files_are_replaced_whole(tmp_path, monkeypatch):
    from keras_blueprints._core import files
    from keras_blueprints.api import load
    from keras_blueprints.tuning.engine import BlueprintHyperModel, make_tuner

    source = tmp_path / "search.yaml"
    source.write_text(BLUEPRINT)
    spec = load(source).tune
    hypermodel = BlueprintHyperModel(str(source), [], tune=spec, base_dir=tmp_path)
    tuner = make_tuner(hypermodel, spec, tmp_path / "run", "search")
    tuner.save()
    project = tmp_path / "run" / "search"
    before = (project / "oracle.json").read_bytes()
    real_replace = files.os.replace

    def killed(src, dst):  # SIGKILL at the moment the new file would take the old one's place
        if Path(dst).name in ("oracle.json", "trial.json"):
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        tuner.oracle.create_trial("tuner0")  # writes trial.json, then oracle.json
    monkeypatch.undo()
    assert (project / "oracle.json").read_bytes() == before  # the previous state, whole
    assert not list(project.glob("trial_*/trial.json"))  # none half-written
    assert not list(project.glob("**/.*"))  # and no temporary left
    tuner.oracle.create_trial("tuner1")  # (tuner0's trial is taken: it is still ongoing)
    json.loads((project / "oracle.json").read_text())  # the state files are whole JSON
    assert [json.loads(p.read_text())["status"] for p in project.glob("trial_*/trial.json")] == [
        "RUNNING"
    ]

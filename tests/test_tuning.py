"""Hyperparameter search: spaces as keras-tuner hyperparameters, the tuners, failed trials,
best.yaml rebuilding the best trial's model, the results directory and the command."""

from __future__ import annotations

import csv
import json

import keras
import keras_tuner as kt
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints.resolve.spaces import Condition, Space
from keras_blueprints.tuning import HyperParametersProvider, tune

SPACES = """
params:
  width: {int: [8, 32], step: 8, default: 16}
  depth: {int: [1, 3]}
  kind: {choice: [plain, wide]}
inputs: {xy: [2]}
graph:
  - repeat: ${depth}
    graph:
      - name: hidden${i + 1}
        Dense: {units: "${width}", activation: relu}
      - name: drop${i + 1}
        Dropout: {rate: {float: [0.0, 0.5], step: 0.1}}
  - name: extra
    when: ${kind == 'wide'}
    Dense: {units: {choice: [4, 8]}}
  - {name: out, Dense: {units: 2, activation: softmax}}
compile:
  optimizer: {adam: {learning_rate: {float: [1.0e-3, 1.0e-1], sampling: log, name: lr}}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
data: {source: {spirals: {points_per_class: 40}}, validation: 0.25, batch_size: 16}
train: {epochs: 1}
tune: {tuner: random, objective: val_accuracy, max_trials: 3, seed: 1}
"""


def _resolve(text: str, hp):
    provider = HyperParametersProvider(hp)
    return kb.load(text, provider=provider), provider


def _rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# -- the provider ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("space", "kt_type", "set_to", "expected"),
    [
        (Space("choice", ("relu", "tanh"), default="relu"), "Choice", "tanh", "tanh"),
        (Space("choice", (32, 64), default=32), "Choice", 64, 64),
        (Space("choice", (0.5, 0.25), default=0.5), "Choice", 0.25, 0.25),
        # Mixed types, null and booleans: declared by index, translated back.
        (Space("choice", (None, 3, "same"), default=3), "Choice", 2, "same"),
        (Space("choice", (None, 3, "same"), default=3), "Choice", 0, None),
        (Space("choice", (True, False), default=False), "Choice", 0, True),
        (Space("int", low=1, high=9, step=2, default=3), "Int", 7, 7),
        (Space("int", low=2, high=32, step=2, sampling="log", default=2), "Int", 16, 16),
        (Space("float", low=1e-4, high=1e-1, sampling="log", default=1e-3), "Float", 0.02, 0.02),
        (
            Space("float", low=0.0, high=0.5, step=0.1, default=0.0),
            "Float",
            0.30000000000000004,
            0.3,
        ),
        (Space("boolean", default=True), "Boolean", False, False),
        (Space("fixed", (7,), default=7), "Fixed", 7, 7),
        (Space("fixed", ([1, 2],), default=[1, 2]), "Fixed", "[1, 2]", [1, 2]),
    ],
)
def test_every_space_kind_becomes_a_keras_tuner_hyperparameter(space, kt_type, set_to, expected):
    hp = kt.HyperParameters()
    provider = HyperParametersProvider(hp)
    default = provider.value(space, "x", ())
    assert default == space.default and type(default) is type(space.default)
    (declared,) = hp.space
    assert type(declared).__name__ == kt_type
    if kt_type in ("Int", "Float"):
        assert (declared.min_value, declared.max_value) == (space.low, space.high)
        assert (declared.step, declared.sampling) == (space.step, space.sampling)
    hp.values["x"] = set_to
    value = HyperParametersProvider(hp).value(space, "x", ())
    assert value == expected and type(value) is type(expected)


def test_conditional_spaces_are_inactive_when_their_parent_says_so():
    hp = kt.HyperParameters()
    bp, provider = _resolve(SPACES, hp)
    assert [n.name for n in bp.nodes] == ["hidden1", "drop1", "out"]  # defaults: depth 1, plain
    hp.values.update(depth=3, kind="wide", width=24, lr=0.01)
    bp, provider = _resolve(SPACES, hp)
    assert [n.name for n in bp.nodes] == [
        "hidden1", "drop1", "hidden2", "drop2", "hidden3", "drop3", "extra", "out",
    ]  # fmt: skip
    assert bp.node("hidden3").args["units"] == 24
    assert provider.spaces["drop3/rate"][1] == (Condition("depth", (3,)),)
    assert provider.spaces["extra/units"][1] == (Condition("kind", ("wide",)),)
    assert {n: hp.is_active(n) for n in ("drop2/rate", "drop3/rate", "extra/units")} == {
        "drop2/rate": True, "drop3/rate": True, "extra/units": True,
    }  # fmt: skip
    hp.values.update(depth=1, kind="plain")
    assert [hp.is_active(n) for n in ("drop1/rate", "drop2/rate", "drop3/rate", "extra/units")] == [
        True, False, False, False,
    ]  # fmt: skip
    # keras-tuner drops inactive values, so they never reach the oracle's history.
    hp.ensure_active_values()
    assert not {"drop2/rate", "drop3/rate", "extra/units"} & set(hp.values)


def test_nested_conditions_hold_together():
    text = """
    params:
      depth: {int: [1, 2]}
      kind: {choice: [plain, wide]}
    inputs: {xy: [2]}
    graph:
      - repeat: ${depth}
        graph:
          - name: extra${i + 1}
            when: ${kind == 'wide'}
            Dense: {units: {choice: [4, 8]}}
      - {name: out, Dense: {units: 2}}
    """
    hp = kt.HyperParameters()
    hp.values.update(depth=2, kind="wide")
    _resolve(text, hp)
    hp.values.update(depth=2, kind="wide")
    _, provider = _resolve(text, hp)
    assert provider.spaces["extra2/units"][1] == (
        Condition("depth", (2,)),
        Condition("kind", ("wide",)),
    )
    assert hp.is_active("extra2/units")
    for depth, kind, active in [(1, "wide", False), (2, "plain", False), (2, "wide", True)]:
        hp.values.update(depth=depth, kind=kind)
        assert hp.is_active("extra2/units") is active


def test_a_condition_on_a_choice_declared_by_index():
    text = """
    params:
      norm: {choice: [null, batch]}
    inputs: {xy: [2]}
    graph:
      - name: norm
        when: "${norm == 'batch'}"
        BatchNormalization: {momentum: {choice: [0.9, 0.99]}}
      - {name: out, Dense: {units: 2}}
    """
    hp = kt.HyperParameters()
    bp, _ = _resolve(text, hp)
    assert [n.name for n in bp.nodes] == ["out"]
    assert hp.values["norm"] == 0
    hp.values["norm"] = 1
    bp, provider = _resolve(text, hp)
    assert provider.chosen["norm"] == "batch" and [n.name for n in bp.nodes] == ["norm", "out"]
    assert hp.is_active("norm/momentum")
    hp.values["norm"] = 0
    assert not hp.is_active("norm/momentum")


# -- searches ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """One random search of SPACES, shared by the tests that read its directory."""
    run_dir = tmp_path_factory.mktemp("search") / "run"
    return tune(SPACES, run_dir=run_dir, verbose=0)


def test_a_search_writes_its_results(searched):
    run = searched.run_dir
    rows = _rows(run / "trials.csv")
    assert [r["trial"] for r in rows] == ["0", "1", "2"]
    assert {r["status"] for r in rows} == {"COMPLETED"}
    assert list(rows[0])[:2] == ["trial", "status"]
    assert list(rows[0])[-3:] == ["objective", "seconds", "reason"]
    for row, trial in zip(rows, searched.trials, strict=True):
        assert float(row["objective"]) == pytest.approx(trial.objective)
        assert float(row["seconds"]) > 0
        depth = int(row["depth"])
        # A hyperparameter is empty exactly where it is inactive.
        assert [row.get(f"drop{k}/rate", "") != "" for k in (1, 2, 3)] == [
            k <= depth for k in (1, 2, 3)
        ]
        assert (row.get("extra/units", "") != "") == (row["kind"] == "wide")
    best = max(searched.trials, key=lambda t: t.objective)
    assert searched.best_trial == best.trial and searched.best_values == best.values
    state = json.loads((run / "search.json").read_text())
    assert state["status"] == "completed"
    assert state["counts"] == {"trials": 3, "completed": 3, "failed": 0}
    assert state["best"]["objective"] == pytest.approx(searched.best_objective)
    assert set(searched.metrics) == {"validation", "test"}
    assert searched.metrics["validation"]["accuracy"] == pytest.approx(searched.best_objective)
    png = (run / "plots" / "objective.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_best_yaml_rebuilds_the_best_trials_model_exactly(searched):
    from keras_tuner.engine.trial import Trial

    from keras_blueprints.builders.model import build_model

    run = searched.run_dir
    text = (run / "best.yaml").read_text()
    assert "choice" not in text and "sampling" not in text  # no search space left
    trial = Trial.load(str(run / "search" / f"trial_{searched.best_trial}" / "trial.json"))
    bp, _ = _resolve(SPACES, trial.hyperparameters.copy())
    from_trial = build_model(bp, compile=True)
    from_trial.optimizer.build(from_trial.trainable_variables)  # the checkpoint has its state
    from_trial.load_weights(
        run / "search" / f"trial_{searched.best_trial}" / "checkpoint.weights.h5"
    )
    rebuilt = kb.build(run / "best.yaml")
    assert rebuilt.count_params() == from_trial.count_params()
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in from_trial.layers]
    assert [layer.get_config() for layer in rebuilt.layers] == [
        layer.get_config() for layer in from_trial.layers
    ]
    unnamed = [{**m.optimizer.get_config(), "name": None} for m in (rebuilt, from_trial)]
    assert unnamed[0] == unnamed[1]  # the optimizer's name counts instances in the session
    best = keras.saving.load_model(run / "best.keras")
    x = np.random.default_rng(0).standard_normal((5, 2)).astype("float32")
    np.testing.assert_allclose(
        best.predict(x, verbose=0), from_trial.predict(x, verbose=0), atol=1e-6
    )


FAILING = """
inputs: {xy: [2]}
params:
  width: {choice: [8, 16]}
graph:
  - {name: a, Dense: {units: "${width}", activation: relu}}
  - {name: b, Dense: {units: 8}, from: xy}
  - {name: sum, Add: {}, from: [a, b]}
  - {name: out, Dense: {units: 2, activation: softmax}}
compile:
  optimizer: {sgd: {learning_rate: {choice: [0.01, 1.0e+6], name: lr}}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
data: {source: {spirals: {points_per_class: 40}}, validation: 0.25, batch_size: 16}
train: {epochs: 2}
tune: {tuner: grid, objective: val_accuracy, max_trials: 4}
"""


def test_failed_trials_are_recorded_with_their_reason_and_the_search_goes_on(tmp_path):
    result = tune(FAILING, run_dir=tmp_path / "run", verbose=0)
    by_values = {(r.values["width"], r.values["lr"]): r for r in result.trials}
    assert len(result.trials) == 4  # grid: every combination, failures included
    ok = by_values[(8, 0.01)]
    assert ok.status == "COMPLETED" and ok.reason == ""
    diverged = by_values[(8, 1e6)]
    assert diverged.status == "FAILED"
    assert diverged.reason.startswith("diverged: the loss became nan")
    for lr in (0.01, 1e6):
        broken = by_values[(16, lr)]
        assert broken.status == "FAILED"
        assert "build failed" in broken.reason and "Add 'sum'" in broken.reason
        assert "(None, 16), (None, 8)" in broken.reason
    assert result.best_values == {"width": 8, "lr": 0.01}
    rows = _rows(tmp_path / "run" / "trials.csv")
    assert [r["status"] for r in rows].count("FAILED") == 3
    assert all(r["reason"] for r in rows if r["status"] == "FAILED")
    assert all(r["objective"] == "" for r in rows if r["status"] == "FAILED")


@pytest.mark.parametrize(
    ("tuner", "extra", "trials"),
    [("bayesian", [], 3), ("hyperband", ["tune.max_epochs=2", "tune.factor=2"], None)],
)
def test_bayesian_and_hyperband_search(tuner, extra, trials, tmp_path):
    result = tune(
        SPACES, ["tune.max_trials=3", *extra], run_dir=tmp_path / "run", tuner=tuner, verbose=0
    )
    state = json.loads((tmp_path / "run" / "search.json").read_text())
    assert state["spec"]["tuner"] == tuner
    if trials is not None:
        assert len(result.trials) == trials
    else:  # Hyperband: brackets of 1 then 2 epochs
        assert len(result.trials) >= 2
    assert all(t.status == "COMPLETED" for t in result.trials)
    assert result.best_objective == max(t.objective for t in result.trials)
    assert (tmp_path / "run" / "best.keras").is_file()


def test_a_search_needs_data_and_a_new_directory(tmp_path):
    from keras_blueprints._core.errors import BlueprintError, RunError

    with pytest.raises(BlueprintError, match="no training data"):
        tune(SPACES, ["data=null"], run_dir=tmp_path / "a", verbose=0)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("taken")
    with pytest.raises(RunError, match="already exists and is not empty"):
        tune(SPACES, run_dir=tmp_path / "b", verbose=0)


def test_the_tune_command(tmp_path, capsys):
    from keras_blueprints.cli import main

    file = tmp_path / "space.yaml"
    file.write_text(SPACES)
    run = tmp_path / "run"
    argv = ["tune", str(file), "--max-trials", "2", "--tuner", "grid", "--run-dir", str(run)]
    assert main([*argv, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "best trial:" in out and f"search directory: {run}" in out
    assert out.splitlines()[0].split()[:4] == ["trial", "status", "width", "depth"]  # the table
    assert len(_rows(run / "trials.csv")) == 2
    assert main(["tune", "--resume", str(run)]) == 2
    assert "already complete" in capsys.readouterr().err
    assert main(["tune", str(file), "--resume", str(run)]) == 2
    assert main(["tune", "--resume", str(tmp_path / "nothing")]) == 2
    assert "is not a search directory" in capsys.readouterr().err

"""``train.rule``: training rules other than backpropagation, run by ``blueprint train``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import keras
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints._core.registry import DuplicateNameError
from keras_blueprints.cli import main
from keras_blueprints.resolve.schema import TrainSpec
from keras_blueprints.resolve.specs import RuleSpec
from keras_blueprints.training.rules import RULES, register_rule
from keras_blueprints.training.run import RunInterrupted, evaluate, resume, train
from keras_blueprints.views import plain

HEAD = """\
inputs: {x: [2]}
graph:
  - {name: unit, Dense: {units: 1, kernel_initializer: zeros}}
  - {name: answer, Heaviside: {}}
compile: {loss: mse, metrics: [binary_accuracy]}
"""


def load(text: str, overrides=()) -> kb.Blueprint:
    return kb.load(HEAD + textwrap.dedent(text).lstrip("\n"), overrides)


def test_the_default_rule_is_backprop_and_the_registry_lists_every_rule():
    assert TrainSpec().rule == RuleSpec("backprop") and dict(TrainSpec().rule.args) == {}
    assert {"backprop", "fixed", "hebbian", "perceptron", "hopfield"} <= set(RULES.names())
    bp = load("train: {rule: {perceptron: {rate: 0.5}}}")
    assert (bp.train.rule.name, bp.train.rule.args["rate"]) == ("perceptron", 0.5)
    assert bp.train.rule.args["stop_when_converged"] is True  # defaults filled in
    assert hash(bp.train) == hash(load("train: {rule: {perceptron: {rate: 0.5}}}").train)
    assert TrainSpec(rule="hopfield").rule == RuleSpec("hopfield")  # from Python too


def test_an_unknown_rule_is_located_with_the_closest_name():
    with pytest.raises(BlueprintError) as info:
        load("train: {epochs: 3, rule: perceptrn}")
    err = info.value
    assert (err.location.line, err.location.col) == (6, 26), err.format()
    assert "Did you mean 'perceptron'?" in err.format()


def test_a_rule_argument_is_checked_at_its_key():
    with pytest.raises(BlueprintError) as info:
        load("train:\n  rule: {hebbian: {rat: 0.1}}\n")
    err = info.value
    assert (err.location.line, err.location.col) == (7, 20), err.format()
    assert "Did you mean 'rate'?" in err.format()


def test_a_rule_is_a_name_or_one_name_with_arguments():
    with pytest.raises(BlueprintError) as info:
        load("train:\n  rule: {hebbian: {}, perceptron: {}}\n")
    assert info.value.location.line == 7


def test_a_rule_name_registered_twice_is_refused():
    with pytest.raises(DuplicateNameError):
        register_rule("hebbian")(lambda context: None)


def test_the_plain_blueprint_keeps_the_rule_and_its_arguments():
    bp = load("train: {rule: {perceptron: {rate: 0.5}}}")
    again = kb.load(plain.dump(bp))
    assert again.train.rule == bp.train.rule and again.train.rule.name == "perceptron"
    assert "rule" not in plain.dump(load("train: {epochs: 2}"))  # backprop stays unwritten


def test_validating_a_rule_imports_no_tensorflow():
    code = (
        "import sys, keras_blueprints as kb\n"
        "for n in ('perceptron', 'hebbian_memory', 'hopfield', 'mcculloch_pitts'):\n"
        "    kb.load(f'zoo:{n}')\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr[-2000:]


class _StopAfter(keras.callbacks.Callback):
    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


SPIRALS = [
    "data.source={spirals: {points_per_class: 50}}",
    "train.rule={perceptron: {stop_when_converged: false}}",
    "train.epochs=4",
]


def test_a_rule_run_is_interrupted_resumed_and_evaluated_like_a_fit(tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(RunInterrupted):
        train(
            "zoo:perceptron", SPIRALS, run_dir=run_dir, verbose=0, extra_callbacks=[_StopAfter(2)]
        )
    info = json.loads((run_dir / "run.json").read_text())
    assert (info["status"], info["epochs_done"]) == ("interrupted", 2)
    first_two = json.loads((run_dir / "history.json").read_text())
    assert len(first_two["updates"]) == 2 and (run_dir / "checkpoints" / "last.keras").is_file()
    result = resume(run_dir, verbose=0)
    info = json.loads((run_dir / "run.json").read_text())
    assert (info["status"], info["epochs_done"]) == ("completed", 4)
    history = json.loads((run_dir / "history.json").read_text())
    assert history["updates"][:2] == first_two["updates"] and len(history["updates"]) == 4
    assert all(n > 0 for n in history["updates"])  # spirals: never without a mistake
    kernel = result.model.get_layer("unit").kernel.numpy()
    assert abs(kernel).sum() > 0  # the rule, not backprop, moved the zero weights
    measured = evaluate(run_dir)
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert measured["test"] == pytest.approx(saved["test"])


def test_cli_trains_and_evaluates_a_rule_blueprint(tmp_path, capsys):
    run_dir = tmp_path / "mp"
    assert main(["train", "zoo:mcculloch_pitts", "--run-dir", str(run_dir), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["train"]["binary_accuracy"] == 1.0 and metrics["train"]["loss"] == 0.0


def test_a_search_over_a_rules_arguments_trains_each_trial_by_the_rule(tmp_path, capsys):
    # The perceptron's rate is searched like any value: each trial trains by the
    # perceptron rule (not backprop), and the best trial comes back as a plain blueprint.
    blueprint = tmp_path / "search.yaml"
    blueprint.write_text(
        textwrap.dedent("""\
            extends: zoo:perceptron
            data: {validation: 0.2}
            train:
              rule: {perceptron: {rate: {choice: [0.1, 1.0]}}}
              epochs: 3
            tune: {tuner: grid, objective: val_binary_accuracy, max_trials: 2}
            """)
    )
    search = tmp_path / "search"
    assert main(["tune", str(blueprint), "--run-dir", str(search), "--quiet"]) == 0
    best = kb.load(search / "best.yaml")
    assert best.train.rule.name == "perceptron"
    assert best.train.rule.args["rate"] in (0.1, 1.0)
    trials = sorted((search / "trials").glob("*/trial.json")) or sorted(search.rglob("trial.json"))
    rates = set()
    for path in trials:
        values = json.loads(path.read_text())["hyperparameters"]["values"]
        rates.add(values["train/rule/perceptron/rate"])
    assert rates == {0.1, 1.0}


@pytest.mark.parametrize(
    ("data", "at"),
    [
        ("{blobs: {points_per_class: 10000000000}}", "10000000000"),
        ("{logic: {gates: xor, copies: 10000000000}}", "10000000000"),
        ("{pattern_pairs: {pairs: 1000000000, keys: random}}", "1000000000"),
        ("{memories: {patterns: random, count: 1000000000}}", "1000000000"),
    ],
)
def test_the_first_networks_sources_are_bounded_at_load(data, at):
    line = f"data: {{source: {data}}}"
    with pytest.raises(BlueprintError) as info:
        load(line + "\n")
    err = info.value
    assert (err.location.line, err.location.col) == (6, line.index(at) + 1), err.format()
    assert "--max-data" in err.hint

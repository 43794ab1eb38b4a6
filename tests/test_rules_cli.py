"""Training rules through the CLI: a rule of its own needs no ``compile:``, backprop does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from keras_blueprints.cli import main

ZOO = Path(__file__).resolve().parents[1] / "blueprints"

RBM_ALONE = """\
inputs:
  pixels: {shape: [64]}
graph:
  - name: rbm
    RBM: {units: 16}
data:
  source: digits
  batch_size: 64
train:
  rule: {cd: {rate: 0.05}}
  epochs: 2
  seed: 0
"""


def without_compile(name: str, tmp_path: Path) -> Path:
    """The zoo blueprint ``name`` with its ``compile:`` section taken out."""
    text = (ZOO / f"{name}.yaml").read_text()
    stripped = re.sub(r"^compile:\n(?:[ \t]+.*\n|[ \t]*#.*\n)*", "", text, flags=re.M)
    assert "compile:" not in stripped
    path = tmp_path / f"{name}.yaml"
    path.write_text(stripped)
    return path


def train_and_evaluate(path: Path, tmp_path: Path, capsys) -> dict:
    run_dir = tmp_path / "run"
    assert main(["train", str(path), "--run-dir", str(run_dir), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_an_rbm_alone_trains_by_cd_and_evaluates_without_compile(tmp_path, capsys):
    path = tmp_path / "rbm.yaml"
    path.write_text(RBM_ALONE)
    metrics = train_and_evaluate(path, tmp_path, capsys)
    assert set(metrics) == {"test"} and set(metrics["test"]) == {"reconstruction_rbm"}
    assert metrics["test"]["reconstruction_rbm"] == pytest.approx(0.07547, abs=2e-4)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["test"] == pytest.approx(metrics["test"])
    assert saved["train"]["reconstruction_rbm"] < 0.0798  # below the first epoch's


@pytest.mark.parametrize(
    ("name", "accuracy"),
    [
        ("mcculloch_pitts", 1.0),  # fixed: the truth tables exactly
        ("hebbian_memory", 1.0),  # hebbian: orthogonal keys recall every value
        ("perceptron", 1.0),  # perceptron: separable blobs
        ("hopfield", None),  # hopfield: measured, recall below 1 on corrupted copies
    ],
)
def test_every_rule_trains_and_evaluates_through_the_cli_without_compile(
    name, accuracy, tmp_path, capsys
):
    metrics = train_and_evaluate(without_compile(name, tmp_path), tmp_path, capsys)
    assert metrics  # test data, or else the validation and training data
    for measured in metrics.values():
        assert set(measured) == {"accuracy"}
        if accuracy is None:
            assert 0.5 < measured["accuracy"] <= 1.0
        else:
            assert measured["accuracy"] == accuracy


def test_backprop_without_compile_is_refused_where_the_blueprint_starts(tmp_path, capsys):
    path = tmp_path / "mlp.yaml"
    path.write_text(
        RBM_ALONE.replace("RBM: {units: 16}", "Dense: {units: 10}").replace(
            "  rule: {cd: {rate: 0.05}}\n", ""
        )
    )
    assert main(["train", str(path), "--run-dir", str(tmp_path / "run"), "--quiet"]) != 0
    err = capsys.readouterr().err
    assert f"{path}:1:1: error: training needs a 'compile:' section" in err
    assert not (tmp_path / "run").exists()


PERCEPTRON = """\
inputs:
  x: {shape: [2]}
graph:
  - name: unit
    Dense: {units: 1, kernel_initializer: zeros, bias_initializer: zeros}
  - name: answer
    Heaviside: {}
outputs: [answer]
compile:
  loss: mse
  metrics: [binary_accuracy]
data:
  source: {blobs: {points_per_class: 50, margin: 0.2}}
  batch_size: 32
  validation: 0.2
train:
  rule: {perceptron: {rate: {choice: [0.5, 1.0]}}}
  epochs: {int: [1, 2]}
  seed: 0
tune:
  tuner: grid
  max_trials: 4
"""


def test_a_rule_without_compile_is_not_searched_and_the_error_says_why(tmp_path, capsys):
    file = tmp_path / "bare.yaml"
    file.write_text(PERCEPTRON.replace("compile:\n  loss: mse\n  metrics: [binary_accuracy]\n", ""))
    run = tmp_path / "run"
    assert main(["tune", str(file), "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{file}:1:1: error: a search needs a 'compile:' section" in err
    assert "even with rule 'perceptron'" in err and "compile: {loss: mse" in err
    assert not run.exists()

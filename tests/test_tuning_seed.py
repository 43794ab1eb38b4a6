"""The same ``tune.seed`` proposes the same trials, for every tuner, seed 0 included."""

from __future__ import annotations

from pathlib import Path

import pytest

from keras_blueprints.resolve.schema import TuneSpec
from keras_blueprints.tuning.engine import (
    ZERO_SEED,
    BlueprintHyperModel,
    make_tuner,
    oracle_seed,
)

SPACES = """
inputs: {xy: [2]}
graph:
  - name: hidden
    Dense: {units: {int: [4, 64]}, activation: {choice: [relu, tanh, elu]}}
  - name: drop
    Dropout: {rate: {float: [0.0, 0.5]}}
  - {name: out, Dense: {units: 2, activation: softmax}}
compile:
  optimizer: {adam: {learning_rate: {float: [1.0e-4, 1.0e-1], sampling: log, name: lr}}}
  loss: sparse_categorical_crossentropy
"""


def proposals(tuner: str, seed: int, folder: Path, count: int = 3) -> list[dict]:
    """The values the tuner's oracle proposes for its first trials (nothing is trained)."""
    spec = TuneSpec(tuner=tuner, max_trials=count, max_epochs=4, factor=2, seed=seed)
    hypermodel = BlueprintHyperModel(SPACES, [], tune=spec, base_dir=folder)
    tuner_obj = make_tuner(hypermodel, spec, folder, "search")
    trials = [tuner_obj.oracle.create_trial(f"worker{i}") for i in range(count)]
    return [dict(t.hyperparameters.values) for t in trials]


@pytest.mark.parametrize("tuner", ["random", "grid", "bayesian", "hyperband"])
@pytest.mark.parametrize("seed", [0, 7])
def test_the_same_seed_proposes_the_same_trials(tuner, seed, tmp_path):
    first = proposals(tuner, seed, tmp_path / "a")
    again = proposals(tuner, seed, tmp_path / "b")
    assert first == again
    assert len(first) == 3
    assert set(first[0]) >= {"lr", "hidden/units", "drop/rate"}, first  # a real proposal


def test_zero_becomes_a_fixed_seed_and_others_pass_unchanged():
    assert oracle_seed(0) == ZERO_SEED
    assert [oracle_seed(s) for s in (1, 7, 2**32 - 2)] == [1, 7, 2**32 - 2]
    assert 0 < oracle_seed(10**12) < 2**32

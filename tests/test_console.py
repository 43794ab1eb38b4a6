"""What ``blueprint train`` prints: what is about to run, then how it ended; plain text."""

from __future__ import annotations

import json

import pytest

from keras_blueprints.cli import main

EARLY = (
    "train.callbacks=[{early_stopping:"
    " {monitor: val_loss, patience: 1, restore_best_weights: true}}]"
)


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """zoo:mlp with an impatient early stopping: it stops long before its 60 epochs."""
    run_dir = tmp_path_factory.mktemp("console") / "run"
    args = ["train", "zoo:mlp", "--run-dir", str(run_dir), "--epochs", "60", "--set", EARLY]
    return run_dir, args


def test_the_run_is_announced_before_the_first_epoch_and_its_end_explained(stopped_run, capsys):
    run_dir, args = stopped_run
    assert main(args) == 0
    out = capsys.readouterr().out
    head = out[: out.index("Epoch 1/")]
    assert "model mlp: 17,226 parameters" in head  # tests/golden/mlp.json
    sizes = json.loads((run_dir / "run.json").read_text())
    assert f"run directory: {run_dir}" in head
    # The digits' 1,797 images, split: the three sizes printed add up to all of them.
    data_line = next(line for line in head.splitlines() if line.startswith("data: "))
    numbers = [
        int(part.split()[0].replace(",", "")) for part in data_line[6:].split(";")[0].split(", ")
    ]
    assert sum(numbers) == 1797 and len(numbers) == 3
    assert "1 replica(s)" in head and "training: 60 epoch(s) by backprop" in head
    # The end: which epoch stopped the run, and which epoch's weights the model holds.
    history = json.loads((run_dir / "history.json").read_text())
    losses = history["val_loss"]
    best = losses.index(min(losses)) + 1
    assert len(losses) < 60
    recorded = sizes["early_stopping"]
    assert (recorded["epoch"], recorded["restored_epoch"]) == (len(losses), best)
    assert f"stopped after epoch {len(losses)}; restored the weights of epoch {best}" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["validation"]["loss"] == pytest.approx(min(losses), rel=1e-4)
    # Not a terminal: no escape codes, one line per epoch.
    assert "\x1b" not in out
    assert out.count("Epoch ") == len(losses)


def test_a_run_that_uses_all_its_epochs_says_nothing_of_early_stopping(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "zoo:perceptron", "--run-dir", str(run_dir), "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "early stopping" not in out
    assert "early_stopping" not in json.loads((run_dir / "run.json").read_text())
    assert "training: 1 epoch(s) by perceptron" in out


def test_the_first_epoch_says_how_long_the_rest_will_take(tmp_path, capsys):
    other = tmp_path / "timed"
    assert main(["train", "zoo:mlp", "--run-dir", str(other), "--epochs", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    timing = [i for i, line in enumerate(lines) if line.startswith("timing: ")]
    assert len(timing) == 1
    first, second = lines.index("Epoch 1/3"), lines.index("Epoch 2/3")
    assert first < timing[0] < second  # after the first epoch's own line
    assert "the 2 left take about" in lines[timing[0]]


def test_a_long_run_is_told_how_to_shorten_it():
    from keras_blueprints.training.console import estimate_line

    long = estimate_line(7 * 60, 19, early_stopping=True)
    assert "2.2 h" in long and "at most" in long and "--epochs" in long
    assert "--epochs" not in estimate_line(2.0, 10, early_stopping=False)


def test_a_long_run_says_so_after_a_few_batches():
    from keras_blueprints.training.console import early_estimate_line

    # zoo:unet's first epoch: 29 batches of about 14.5 s each, 20 epochs.
    line = early_estimate_line(14.5, 29, 20, early_stopping=True)
    assert line is not None
    assert "7.0 min" in line and "2.3 h" in line and "at most" in line and "--epochs" in line
    assert early_estimate_line(0.01, 29, 20, early_stopping=False) is None


def test_the_early_estimate_is_printed_once_from_the_measured_batches(monkeypatch, capsys):
    from keras_blueprints import load
    from keras_blueprints.training import run as run_module

    # The epoch starts at 0 s, batch 0 ends at 100 s, batch 5 at 130 s: 6 s a batch.
    clock = iter([0.0, 100.0, 130.0])
    monkeypatch.setattr(run_module.time, "monotonic", lambda: next(clock, 130.0))
    estimate = run_module._Estimate(20, load("zoo:unet"))
    estimate.set_params({"steps": 29, "epochs": 20})
    estimate.on_epoch_begin(0)
    for batch in range(10):
        estimate.on_train_batch_end(batch)
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) == 1
    assert "6.00 s a batch" in lines[0] and "2.9 min" in lines[0] and "58.0 min" in lines[0]

"""``blueprint train``: the run directory, determinism, resuming a killed run, evaluate, predict."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import spiral_mlp

import keras_blueprints as kb
from keras_blueprints._core.errors import RunError
from keras_blueprints.cli import main
from keras_blueprints.training.run import evaluate, load_trained, resume, train

SPIRALS = spiral_mlp(points=60, epochs=3)


@pytest.fixture(scope="module")
def blueprint_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bp") / "spiral.yaml"
    path.write_text(SPIRALS)
    return path


@pytest.fixture(scope="module")
def finished(blueprint_file, tmp_path_factory):
    """One completed 3-epoch run, shared by the tests that only read it."""
    run_dir = tmp_path_factory.mktemp("runs") / "run"
    return train(blueprint_file, run_dir=run_dir, verbose=0)


def test_a_run_leaves_every_file(finished):
    run = finished.run_dir
    names = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    assert names == [
        "blueprint.yaml",
        "checkpoints/best.keras",
        "checkpoints/last.keras",
        "evaluation/confusion_matrix.png",
        "evaluation/evaluation.json",
        "history.csv",
        "history.json",
        "metrics.json",
        "model.keras",
        "plots/learning_curves.png",
        "run.json",
        "run.lock",  # kept: removing a lock file races with the next process taking it
    ]
    assert (run / "run.lock").read_text() == ""  # released: no holder's PID left in it
    info = json.loads((run / "run.json").read_text())
    assert (info["status"], info["epochs_done"], info["seed"]) == ("completed", 3, 1)
    assert info["best"]["monitor"] == "val_loss"
    history = json.loads((run / "history.json").read_text())
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.values())
    assert history == finished.history
    csv_rows = (run / "history.csv").read_text().splitlines()
    assert csv_rows[0].split(",")[0] == "epoch" and len(csv_rows) == 4
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics) == {"train", "validation", "test"}
    assert set(metrics["test"]) == {"loss", "accuracy"}
    assert not list(run.glob("**/.*"))  # no temporary files left behind


def test_the_saved_model_and_blueprint_rebuild_the_trained_model(finished):
    model = load_trained(finished.run_dir / "model.keras")
    x = np.random.default_rng(0).normal(size=(5, 2)).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), finished.model.predict(x, verbose=0))
    rebuilt = kb.build(finished.run_dir / "blueprint.yaml")
    assert rebuilt.count_params() == finished.model.count_params()
    assert [w.name for w in rebuilt.layers] == [w.name for w in finished.model.layers]


def test_the_same_seed_gives_the_same_metrics(blueprint_file, finished, tmp_path):
    again = train(blueprint_file, run_dir=tmp_path / "again", verbose=0)
    assert again.metrics == finished.metrics
    assert again.history == finished.history
    other = train(blueprint_file, ["train.seed=2"], run_dir=tmp_path / "other", verbose=0)
    assert other.history["loss"] != finished.history["loss"]


def test_a_new_run_never_overwrites_a_directory(blueprint_file, finished):
    before = (finished.run_dir / "metrics.json").read_bytes()
    with pytest.raises(RunError, match="already exists and is not empty"):
        train(blueprint_file, run_dir=finished.run_dir, verbose=0)
    assert (finished.run_dir / "metrics.json").read_bytes() == before


def test_resume_refuses_a_complete_run_and_a_non_run(finished, tmp_path):
    with pytest.raises(RunError, match="is already complete"):
        resume(finished.run_dir)
    with pytest.raises(RunError, match="is not a run directory"):
        resume(tmp_path)


KILLER = textwrap.dedent(
    """\
    import os, signal, sys
    import keras
    from keras_blueprints.callbacks.registry import register_callback
    from keras_blueprints.cli import main

    @register_callback("die_after")
    def die_after(context, *, epochs: int = 2):
        class Die(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch + 1 == epochs:
                    os.kill(os.getpid(), signal.SIGKILL)
        return Die()

    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.slow
def test_a_killed_run_resumes_where_it_stopped(blueprint_file, tmp_path):
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    run_dir = tmp_path / "run"
    args = [
        "train", str(blueprint_file), "--run-dir", str(run_dir), "--quiet",
        "--set", "train.epochs=4", "--set", "train.callbacks=[die_after]",
    ]  # fmt: skip
    killed = subprocess.run([sys.executable, str(script), *args], capture_output=True, timeout=300)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    info = json.loads((run_dir / "run.json").read_text())
    assert (info["status"], info["epochs_done"]) == ("running", 2)
    assert not (run_dir / "model.keras").exists()
    first_two = json.loads((run_dir / "history.json").read_text())
    # The killer would strike again at epoch 2 of a fresh count; resuming starts at epoch 3.
    resumed = subprocess.run(
        [sys.executable, str(script), "train", "--resume", str(run_dir), "--quiet"],
        capture_output=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    out = resumed.stdout.decode()
    assert "Epoch 3/4" in out and "Epoch 1/4" not in out
    info = json.loads((run_dir / "run.json").read_text())
    assert (info["status"], info["epochs_done"]) == ("completed", 4)
    assert info["resumed"][0]["from_epoch"] == 2
    history = json.loads((run_dir / "history.json").read_text())
    assert all(len(v) == 4 for v in history.values())
    assert {k: v[:2] for k, v in history.items()} == first_two
    assert (run_dir / "model.keras").is_file() and not (run_dir / "backup").exists()


def test_cli_train_evaluate_predict(blueprint_file, tmp_path, capsys):
    run_dir = tmp_path / "cli"
    status = main(["train", str(blueprint_file), "--run-dir", str(run_dir), "--epochs", "1",
                   "--batch-size", "32", "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    assert f"run directory: {run_dir}" in out
    assert json.loads((run_dir / "run.json").read_text())["epochs"] == 1
    plain = kb.load(run_dir / "blueprint.yaml")
    assert (plain.train.epochs, plain.data.batch_size) == (1, 32)

    assert main(["evaluate", str(run_dir), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test"] == pytest.approx(saved["test"])

    x = np.random.default_rng(1).normal(size=(7, 2)).astype("float32")
    np.save(tmp_path / "in.npy", x)
    assert (
        main(["predict", str(run_dir), str(tmp_path / "in.npy"), "-o", str(tmp_path / "out.npy")])
        == 0
    )
    out = np.load(tmp_path / "out.npy")
    expected = load_trained(run_dir / "model.keras").predict(x, verbose=0)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_cli_errors_exit_2_without_traceback(blueprint_file, tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros((3, 5), "float32"))
    assert main(["train", str(blueprint_file), "--data", "digits", "--run-dir",
                 str(tmp_path / "r")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "error:" in err and "point" in err and "Traceback" not in err
    assert main(["evaluate", str(tmp_path / "missing")]) == 2
    assert "is not a run directory" in capsys.readouterr().err
    assert main(["train"]) == 2
    assert "which blueprint should be trained?" in capsys.readouterr().err


def test_evaluate_on_other_data(finished, tmp_path):
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "other.npz", point=rng.normal(size=(20, 2)).astype("float32"),
             probabilities=rng.integers(0, 2, size=20))  # fmt: skip
    metrics = evaluate(finished.run_dir, data=str(tmp_path / "other.npz"))
    assert set(metrics) == {"data"}
    model = load_trained(finished.run_dir / "model.keras")
    with np.load(tmp_path / "other.npz") as f:
        expected = model.evaluate(f["point"], f["probabilities"], verbose=0, return_dict=True)
    assert metrics["data"] == pytest.approx(expected)


def test_predict_refuses_wrong_shapes(finished, tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros((3, 5), "float32"))
    status = main(["predict", str(finished.run_dir), str(tmp_path / "bad.npy"), "-o",
                   str(tmp_path / "o.npy")])  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err
    assert "the array for input 'point' has the wrong shape" in err
    assert not (tmp_path / "o.npy").exists()


def test_cli_data_paths_are_relative_to_the_current_directory(
    blueprint_file, tmp_path, monkeypatch, capsys
):
    rng = np.random.default_rng(4)
    np.savez(tmp_path / "mine.npz", point=rng.normal(size=(40, 2)).astype("float32"),
             probabilities=rng.integers(0, 2, size=40))  # fmt: skip
    monkeypatch.chdir(tmp_path)  # the blueprint lives elsewhere
    for i, data in enumerate(["mine.npz", "{npz: {path: mine.npz}}"]):
        run_dir = tmp_path / f"run{i}"
        argv = ["train", str(blueprint_file), "--data", data, "--epochs", "1", "--quiet"]
        assert main([*argv, "--run-dir", str(run_dir)]) == 0, capsys.readouterr().err
        source = kb.load(run_dir / "blueprint.yaml").data.source
        assert source.kind == "npz" and source.args["path"] == str(tmp_path / "mine.npz")
        info = json.loads((run_dir / "run.json").read_text())
        assert info["overrides"][-2].startswith("data.source=")

"""A run survives being stopped at any moment: its backup, status, lock and leftovers.

One run interrupted (Ctrl-C) after 2 of its 3 epochs is made once; each test damages a
copy of it the way a killed process or a second process would, then resumes it.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import spiral_mlp

from keras_blueprints._core.errors import BlueprintError, RunError
from keras_blueprints.callbacks.registry import register_callback
from keras_blueprints.cli import main
from keras_blueprints.training import run as run_module
from keras_blueprints.training.lock import DirectoryLock
from keras_blueprints.training.run import RunInterrupted, load_trained, resume, train

SPIRALS = spiral_mlp(points=40, epochs=3)


class _StopAfter(keras.callbacks.Callback):
    """Raises ``exception`` at the end of epoch ``epochs`` (after the run recorded it)."""

    def __init__(self, epochs: int, exception: BaseException | None = None) -> None:
        super().__init__()
        self.epochs = epochs
        self.exception = exception or KeyboardInterrupt()

    def on_epoch_end(self, epoch, logs=None) -> None:
        if epoch + 1 == self.epochs:
            raise self.exception


class _Epochs(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.started: list[int] = []

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.started.append(epoch)


@register_callback("sigterm_after_test")
def _sigterm_after(context, *, epochs: int = 1):
    """Sends this process SIGTERM at the end of epoch ``epochs`` (a test's callback)."""

    class Term(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == epochs:
                os.kill(os.getpid(), signal.SIGTERM)

    return Term()


@pytest.fixture(scope="module")
def blueprint_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bp") / "spiral.yaml"
    path.write_text(SPIRALS)
    return path


@pytest.fixture(scope="module")
def interrupted(blueprint_file, tmp_path_factory) -> Path:
    """A run stopped by Ctrl-C at the end of its second epoch (of 3)."""
    run_dir = tmp_path_factory.mktemp("runs") / "run"
    with pytest.raises(RunInterrupted) as stop:
        train(blueprint_file, run_dir=run_dir, verbose=0, extra_callbacks=[_StopAfter(2)])
    assert stop.value.status == 130
    assert f"blueprint train --resume {run_dir}" in stop.value.message
    return run_dir


@pytest.fixture
def copy(interrupted, tmp_path) -> Path:
    return Path(shutil.copytree(interrupted, tmp_path / "run"))


def _info(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def _history(run_dir: Path) -> dict:
    return json.loads((run_dir / "history.json").read_text())


def test_ctrl_c_marks_the_run_interrupted_with_two_backup_states(interrupted):
    info = _info(interrupted)
    assert (info["status"], info["epochs_done"]) == ("interrupted", 2)
    names = sorted(p.name for p in (interrupted / "backup").iterdir())
    assert names == [
        "epoch-000001.json",
        "epoch-000001.weights.h5",
        "epoch-000002.json",
        "epoch-000002.weights.h5",
    ]
    assert (interrupted / "run.lock").read_text() == ""  # released


def test_resume_continues_from_the_last_epoch(copy):
    before = _history(copy)
    epochs = _Epochs()
    result = resume(copy, verbose=0, extra_callbacks=[epochs])
    assert epochs.started == [2]
    info = _info(copy)
    assert (info["status"], info["epochs_done"]) == ("completed", 3)
    assert info["resumed"][-1]["from_epoch"] == 2 and "stopped" not in info
    assert {k: v[:2] for k, v in result.history.items()} == before
    assert all(len(v) == 3 for v in result.history.values())
    assert not (copy / "backup").exists()


@pytest.mark.parametrize("damage", ["garbage", "no_record"])  # truncated: tests/hostile/runs.py
def test_a_damaged_newest_state_falls_back_to_the_previous_one(copy, damage, capsys):
    before = _history(copy)
    weights = copy / "backup" / "epoch-000002.weights.h5"
    if damage == "garbage":
        weights.write_bytes(os.urandom(weights.stat().st_size))
    else:  # killed between the weights and their record
        (copy / "backup" / "epoch-000002.json").unlink()
    epochs = _Epochs()
    result = resume(copy, verbose=0, extra_callbacks=[epochs])
    assert epochs.started == [1, 2]
    assert _info(copy)["resumed"][-1]["from_epoch"] == 1
    assert {k: v[:1] for k, v in result.history.items()} == {k: v[:1] for k, v in before.items()}
    assert all(len(v) == 3 for v in result.history.values())
    if damage != "no_record":
        assert "backup state of epoch 2 cannot be used" in capsys.readouterr().err


def test_no_whole_state_is_a_located_error_and_nothing_is_lost(copy):
    for n in (1, 2):
        (copy / "backup" / f"epoch-00000{n}.weights.h5").write_bytes(b"\0" * 100)
    history = _history(copy)
    with pytest.raises(RunError, match="no backup state is whole") as err:
        resume(copy, verbose=0)
    assert err.value.location.file == str(copy / "backup" / "epoch-000002.json")
    assert _history(copy) == history
    assert _info(copy)["status"] == "failed" and "no backup state" in _info(copy)["error"]


def test_a_run_of_an_earlier_version_resumes_from_keras_backup(copy, capsys):
    backup = copy / "backup"
    (backup / "epoch-000002.weights.h5").rename(backup / "latest.weights.h5")
    for path in backup.glob("epoch-*"):
        path.unlink()
    (backup / "training_metadata.json").write_text('{"epoch": 2, "batch": 0}')
    weights = (backup / "latest.weights.h5").read_bytes()
    (backup / "latest.weights.h5").write_bytes(weights[:2000])  # what a kill mid-write left
    assert main(["train", "--resume", str(copy), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{backup / 'latest.weights.h5'}: error: run '{copy}' cannot be resumed" in err
    (backup / "latest.weights.h5").write_bytes(weights)
    before = _history(copy)
    epochs = _Epochs()
    result = resume(copy, verbose=0, extra_callbacks=[epochs])
    assert epochs.started == [2]
    assert {k: v[:2] for k, v in result.history.items()} == before


@pytest.mark.parametrize("model_written", [True, False])
def test_a_run_killed_while_finishing_trains_no_epoch_again(copy, monkeypatch, model_written):
    def killed(*args, **kwargs):  # as if SIGKILLed after model.keras, before the metrics
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "_evaluate", killed)
    with pytest.raises(RunInterrupted):
        resume(copy, verbose=0)
    monkeypatch.undo()
    info = _info(copy)
    assert (info["status"], info["phase"], info["epochs_done"]) == ("interrupted", "finishing", 3)
    trained = load_trained(copy / "model.keras")
    if not model_written:  # killed between the phase and the model
        (copy / "model.keras").unlink()
    history = _history(copy)
    epochs = _Epochs()
    result = resume(copy, verbose=0, extra_callbacks=[epochs])
    assert epochs.started == []  # the old code restarted at epoch 0 here
    assert result.history == history and all(len(v) == 3 for v in history.values())
    info = _info(copy)
    assert (info["status"], info["epochs_done"]) == ("completed", 3) and "phase" not in info
    x = np.random.default_rng(0).normal(size=(4, 2)).astype("float32")
    np.testing.assert_array_equal(result.model.predict(x, verbose=0), trained.predict(x, verbose=0))


def test_a_locked_run_is_refused_with_the_holders_pid(copy, capsys):
    info = (copy / "run.json").read_bytes()
    lock = DirectoryLock(copy, "run.lock", "run")
    lock.acquire()
    try:
        assert main(["train", "--resume", str(copy)]) == 2
    finally:
        lock.release()
    err = capsys.readouterr().err
    holder = f"is in use by another process (PID {os.getpid()})"
    assert f"{copy}: error: the run in '{copy}' {holder}" in err
    assert (copy / "run.json").read_bytes() == info  # untouched
    assert (copy / "run.lock").read_text() == ""  # released


def test_resume_removes_what_killed_writers_left_and_nothing_else(copy):
    leftovers = [
        copy / "checkpoints" / ".last.keras.k2j4_x9q.keras",  # a killed model.save
        copy / "backup" / ".epoch-000003.weights.h5.ab12cd34.weights.h5",
        copy / "backup" / "epoch-000003.weights.h5",  # killed before its record
        copy / ".run.json.zz99yy88.json",
    ]
    for path in leftovers:
        path.write_bytes(b"\0" * 64)
    mine = [copy / "checkpoints" / "notes.txt", copy / ".keep", copy / "plots" / ".x.abcdefgh.png"]
    for path in mine:
        path.write_text("the user's\n")
    epochs = _Epochs()
    resume(copy, verbose=0, extra_callbacks=[epochs])
    assert epochs.started == [2]
    assert not [p for p in leftovers if p.exists()]
    assert all(p.read_text() == "the user's\n" for p in mine)


def test_a_failed_run_says_so_in_run_json(blueprint_file, tmp_path):
    run_dir = tmp_path / "bad-data"
    with pytest.raises(BlueprintError):  # digits do not fit the 2-feature input
        train(blueprint_file, ["data.source=digits"], run_dir=run_dir, verbose=0)
    info = _info(run_dir)
    assert info["status"] == "failed" and ": error: " in info["error"]


def test_what_fails_before_training_leaves_no_run_directory(tmp_path, capsys):
    for name, text in {
        "no-compile": SPIRALS.split("compile:")[0] + "data: {source: spirals}\n",
        "no-data": SPIRALS.split("data:")[0],
    }.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        assert main(["train", str(path), "--run-dir", str(tmp_path / name)]) == 2
        assert f"{path}:" in capsys.readouterr().err
        assert not (tmp_path / name).exists()


def test_sigterm_marks_the_run_interrupted_and_prints_the_resume_command(
    blueprint_file, tmp_path, capsys
):
    run_dir = tmp_path / "term"
    argv = ["train", str(blueprint_file), "--run-dir", str(run_dir), "--quiet",
            "--set", "train.callbacks=[sigterm_after_test]"]  # fmt: skip
    assert main(argv) == 143
    err = capsys.readouterr().err
    assert f"blueprint train --resume {run_dir}" in err and "Traceback" not in err
    assert _info(run_dir)["status"] == "interrupted"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is restored


# -- SIGKILL at any moment ---------------------------------------------------------------------


def _temporary_in(folder: str, prefix: str):
    """Ready when a temporary file ``prefix...`` (atomic_path's name) appears in the folder."""

    def ready(run_dir: Path) -> bool:
        try:
            with os.scandir(run_dir / folder) as entries:
                return any(e.name.startswith(prefix) for e in entries)
        except OSError:
            return False

    return ready


def _run_json_says(text: str):
    def ready(run_dir: Path) -> bool:
        try:
            return text in (run_dir / "run.json").read_text()
        except OSError:
            return False

    return ready


KILL_POINTS = [  # in the order a run meets them; "delay" draws its moment from a seeded RNG
    ("inside the backup write", _temporary_in("backup", ".epoch-")),
    ("delay", None),
    ("inside the last checkpoint write", _temporary_in("checkpoints", ".last.keras.")),
    ("delay", None),
    ("inside the backup write of epoch 4", _temporary_in("backup", ".epoch-000004.")),
    ("inside the model.keras write", _temporary_in(".", ".model.keras.")),
    ("after training, before the metrics", _run_json_says('"finishing"')),
]


def _kill_when(process, ready, run_dir: Path) -> bool:
    """SIGKILLs the process as soon as ``ready(run_dir)``; False if it ended first."""
    while process.poll() is None:
        if ready(run_dir):
            process.kill()
            process.wait()
            return True
        time.sleep(0.0005)
    return False


@pytest.mark.slow
def test_sigkill_at_any_moment_loses_nothing(blueprint_file, tmp_path):
    rng = random.Random(10)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "keras_blueprints.cli", "train"]
    argv = [*command, str(blueprint_file), "--run-dir", str(run_dir), "--quiet", "--epochs", "6"]
    seen: list[tuple[str, dict, int]] = []  # what each kill left: history, epochs done
    for name, ready in KILL_POINTS:
        if ready is None:  # a moment drawn at random once this process has started training
            delay = rng.uniform(0.0, 1.5)
            started = (run_dir / "run.json").stat().st_mtime_ns if run_dir.exists() else 0

            since: list[float] = []

            def ready(run_dir, started=started, delay=delay, since=since):
                if not since:
                    try:
                        if (run_dir / "run.json").stat().st_mtime_ns == started:
                            return False
                    except OSError:
                        return False
                    since.append(time.monotonic())
                return time.monotonic() - since[0] >= delay

        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not _kill_when(process, ready, run_dir):
            err = process.communicate()[1].decode()
            assert process.returncode == 0, f"{name}: exit {process.returncode}\n{err[-2000:]}"
            break  # finished before this kill point: nothing left to interrupt
        process.stderr.close()
        info = _info(run_dir)
        history = _history(run_dir) if (run_dir / "history.json").exists() else {}
        seen.append((name, history, int(info.get("epochs_done", 0))))
        if info["status"] == "completed":
            break  # killed while exiting, the run complete: nothing left to interrupt
        argv = [*command, "--resume", str(run_dir), "--quiet"]
    else:
        done = subprocess.run(argv, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert len(seen) >= 5, [s[0] for s in seen]  # the moments before the last epoch
    print("kills (point, epochs done):", [(s[0], s[2]) for s in seen])
    info = _info(run_dir)
    assert (info["status"], info["epochs_done"]) == ("completed", 6)
    final = _history(run_dir)
    assert set(final) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 6 and all(math.isfinite(x) for x in v) for v in final.values())
    for name, history, _ in seen:  # every epoch recorded before a kill is kept as it was
        assert {k: final[k][: len(v)] for k, v in history.items()} == history, name
    # No resumption restarted behind an epoch run.json had recorded before it.
    for resumed, (name, _, done) in zip(info["resumed"], seen, strict=False):
        assert resumed.get("from_epoch", done) >= done, (name, resumed, done)
    assert not list(run_dir.glob("**/.*"))
    assert (run_dir / "model.keras").is_file() and (run_dir / "metrics.json").is_file()


def test_a_file_system_without_flock_warns_and_goes_on(tmp_path, monkeypatch, capsys):
    import errno

    from keras_blueprints.training import lock as lock_module

    def no_flock(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(lock_module.fcntl, "flock", no_flock)
    with lock_module.holding(tmp_path, "run.lock", "run"):
        pass
    assert f"{tmp_path}: warning: cannot lock the run directory" in capsys.readouterr().err

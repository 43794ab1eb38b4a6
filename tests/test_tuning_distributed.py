"""Distributed search: a chief and workers as separate processes on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from keras_blueprints._core.errors import UsageError
from keras_blueprints.tuning.distributed import (
    EXIT_INCOMPLETE,
    EXIT_NO_CHIEF,
    ChiefSearch,
    is_worker,
    parse_address,
    pin_threads,
    run_worker,
    trial_workers,
)

BLUEPRINT = textwrap.dedent(
    """\
    name: spiral_search
    params:
      width: {int: [4, 32], step: 4, default: 8}
    inputs: {point: [2]}
    graph:
      - {name: hidden, Dense: {units: "${width}", activation: relu}}
      - {name: probabilities, Dense: {units: 2, activation: softmax}}
    compile:
      optimizer: {adam: {learning_rate: {float: [1.0e-3, 1.0e-1], sampling: log, name: lr}}}
      loss: sparse_categorical_crossentropy
      metrics: [accuracy]
    data:
      source: {spirals: {points_per_class: 40}}
      validation: 0.25
      batch_size: 16
    train: {epochs: 1, seed: 1}
    tune: {tuner: random, objective: val_accuracy, max_trials: 6, epochs: 1, seed: 3}
    """
)

# A search of our own (a keras-tuner tuner with ChiefSearch mixed in, no blueprint) whose
# trials last as long as TOY_SLEEP says: to kill a chief or a worker in the middle of a
# trial. A worker
# writes the marker ROLE.in-trial when its trial's epoch begins and ROLE.trial-ended
# when the epoch (and its nap) ends, so that tests wait for those events, not a clock.
TOY = textwrap.dedent(
    """\
    import os, sys, time
    from pathlib import Path
    from keras_blueprints.tuning.distributed import ChiefSearch, run_chief, run_worker

    role, directory, address = sys.argv[1:4]

    def search():
        import keras, keras_tuner, numpy as np

        def build(hp):
            keras.backend.clear_session()
            model = keras.Sequential([
                keras.Input((4,)),
                keras.layers.Dense(hp.Int("units", 2, 32), activation="relu"),
                keras.layers.Dense(1),
            ])
            model.compile("adam", "mse")
            return model

        x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        y = x.sum(axis=1, keepdims=True)
        def end(*_):
            time.sleep(float(os.environ["TOY_SLEEP"]))
            Path(f"{role}.trial-ended").touch()

        nap = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda *_: Path(f"{role}.in-trial").touch(), on_epoch_end=end
        )
        class Toy(ChiefSearch, keras_tuner.RandomSearch):
            pass

        tuner = Toy(
            build, objective="val_loss", max_trials=int(os.environ["TOY_TRIALS"]),
            directory=directory, project_name="toy", overwrite=False, seed=1,
        )
        tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0, callbacks=[nap])

    if role == "chief":
        sys.exit(run_chief(address, search, timeout=float(os.environ.get("TOY_TIMEOUT", 120)),
                           worker_timeout=3.0, grace=5.0))
    sys.exit(run_worker(role, address, search, connect_timeout=float(os.environ["TOY_CONNECT"]),
                        threads=1))
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    for key in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(key, None)
    env.update(extra)
    return env


def _start(args: list[str], cwd: Path, log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(path: Path, text: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.is_file() and text in path.read_text():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"'{text}' not in {path.name}:\n{path.read_text()}")


def _wait_for_files(paths: list[Path], procs: list[subprocess.Popen], seconds: float) -> None:
    """Waits until every path exists; the deadline only guards against a hang."""
    deadline = time.monotonic() + seconds
    while not all(path.exists() for path in paths):
        dead = [proc.args for proc in procs if proc.poll() is not None]
        if dead or time.monotonic() > deadline:
            missing = [path.name for path in paths if not path.exists()]
            raise AssertionError(f"never written: {missing} (exited: {dead})")
        time.sleep(0.1)


def _finish(proc: subprocess.Popen, log: Path, seconds: float) -> tuple[int, float]:
    start = time.monotonic()
    try:
        rc = proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"still running after {seconds} s:\n{log.read_text()}") from None
    return rc, time.monotonic() - start


# -- addresses and options --------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:8470", ("127.0.0.1", 8470)),
        (" chief-host.local:1 ", ("chief-host.local", 1)),
        ("[::1]:65535", ("[::1]", 65535)),
    ],
)
def test_parse_address(address, expected):
    assert parse_address(address) == expected


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "host:0", "host:65536", ":80", "a b:80", "::1:80", "[]:80"]
)
def test_bad_address_is_a_usage_error(address):
    with pytest.raises(UsageError) as info:
        parse_address(address)
    message = info.value.format()
    assert message.startswith("<command line>: error:")
    assert "HOST:PORT" in message and f"Received: '{address}'" in message


@pytest.mark.parametrize("worker_id", ["chief", "mychief2", "", "a/b"])
def test_bad_worker_id_is_refused_before_any_connection(worker_id):
    called = []
    with pytest.raises(UsageError, match="is not a worker id"):
        run_worker(worker_id, "127.0.0.1:1", lambda: called.append(1))
    assert called == []


def test_pin_threads_refuses_nonsense_and_a_started_runtime(monkeypatch):
    import tensorflow as tf

    tf.constant(1.0) + 1.0  # the runtime has started in this process
    for key in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.setenv(key, "7")
    with pytest.raises(UsageError, match="positive integer"):
        pin_threads(0)
    with pytest.raises(RuntimeError, match="already started"):
        pin_threads(3)
    pin_threads(7)  # what the environment already asked for: nothing to change
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "7"


def test_pin_threads_before_the_runtime_starts():
    code = (
        "import tensorflow as tf\n"
        "from keras_blueprints.tuning.distributed import pin_threads\n"
        "pin_threads(1)\n"
        "tf.constant(1.0) + 1.0\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1"]


def test_chief_search_outside_a_chief_is_keras_tuners_own_search(tmp_path):
    import keras_tuner as kt

    class Scoring(ChiefSearch, kt.engine.base_tuner.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            return float(trial.hyperparameters.get("a"))

    oracle = kt.oracles.RandomSearchOracle(
        objective=kt.Objective("score", "min"), max_trials=2, seed=1
    )
    tuner = Scoring(oracle=oracle, hypermodel=lambda hp: hp.Int("a", 0, 3), directory=str(tmp_path))
    tuner.search()  # runs its trials here: nothing serves, nothing waits for workers
    assert sorted(tuner.oracle.trials) == ["0", "1"]
    assert {t.status for t in tuner.oracle.trials.values()} == {"COMPLETED"}
    assert not (tmp_path / "distributed.json").exists()


def test_is_worker_when_the_environment_names_a_chief(tmp_path, monkeypatch):
    import keras_tuner as kt

    def tuner(name: str):
        oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("score", "min"))
        return kt.engine.base_tuner.BaseTuner(
            oracle, lambda hp: hp.Int("a", 0, 3), directory=str(tmp_path), project_name=name
        )

    assert not is_worker(tuner("local"))
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "9")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert not is_worker(tuner("chief"))
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
    assert is_worker(tuner("worker"))


# -- the real command: a chief and two workers ------------------------------------------


def test_chief_and_two_workers_finish_and_merge_results(tmp_path):
    (tmp_path / "search.yaml").write_text(BLUEPRINT)
    address = f"127.0.0.1:{_free_port()}"
    cmd = [sys.executable, "-m", "keras_blueprints", "tune", "search.yaml", "--run-dir", "run"]
    env = _env()
    chief_log = tmp_path / "chief.log"
    chief = _start([*cmd, "--chief", address], tmp_path, chief_log, env)
    _wait_for(chief_log, "chief: serving the oracle", chief, 120)
    workers = {
        i: _start([*cmd, "--worker", str(i), "--chief", address], tmp_path, tmp_path / f"w{i}", env)
        for i in (1, 2)
    }
    try:
        for i, proc in workers.items():
            rc, _ = _finish(proc, tmp_path / f"w{i}", 180)
            assert rc == 0, (tmp_path / f"w{i}").read_text()
        rc, after_workers = _finish(chief, chief_log, 60)
    finally:  # on a failure, leave no process behind
        for proc in (chief, *workers.values()):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert rc == 0, chief_log.read_text()
    assert after_workers < 30  # the chief does not hang once the workers are done
    assert "every trial is finished" in chief_log.read_text()

    with (tmp_path / "run" / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [row["trial"] for row in rows] == ["0", "1", "2", "3", "4", "5"]
    assert {row["status"] for row in rows} == {"COMPLETED"}
    ran_by = trial_workers(tmp_path / "run")
    assert sorted(ran_by) == ["0", "1", "2", "3", "4", "5"]
    assert set(ran_by.values()) == {"tuner1", "tuner2"}  # both workers ran trials
    results = json.loads((tmp_path / "run" / "distributed.json").read_text())
    assert results["status"] == "finished" and results["lost"] == {}
    assert sum(results["workers"].values()) == 6
    assert (tmp_path / "run" / "best.yaml").is_file()


# -- chiefs and workers that go away ---------------------------------------------------


def test_worker_without_a_chief_exits_with_a_clear_message(tmp_path):
    (tmp_path / "toy.py").write_text(TOY)
    address = f"127.0.0.1:{_free_port()}"
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, "toy.py", "1", "d", address],
        cwd=tmp_path,
        env=_env(TOY_SLEEP="0", TOY_TRIALS="2", TOY_CONNECT="2"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == EXIT_NO_CHIEF
    assert f"worker 1: no chief answers at {address} after 2 s" in out.stderr
    assert "Traceback" not in out.stderr
    assert time.monotonic() - start < 30  # the connect timeout plus Python's start-up


def test_killing_the_chief_makes_workers_exit(tmp_path):
    (tmp_path / "toy.py").write_text(TOY)
    address = f"127.0.0.1:{_free_port()}"
    env = _env(TOY_SLEEP="120", TOY_TRIALS="4", TOY_CONNECT="60")
    chief_log = tmp_path / "chief.log"
    chief = _start([sys.executable, "toy.py", "chief", "d", address], tmp_path, chief_log, env)
    _wait_for(chief_log, "chief: serving the oracle", chief, 120)
    logs = {i: tmp_path / f"w{i}.log" for i in (1, 2)}
    workers = {
        i: _start([sys.executable, "toy.py", str(i), "d", address], tmp_path, logs[i], env)
        for i in (1, 2)
    }
    # Both workers are inside a 120 s trial.
    _wait_for_files([tmp_path / f"{i}.in-trial" for i in workers], list(workers.values()), 120)
    chief.send_signal(signal.SIGKILL)
    chief.wait()
    for i, proc in workers.items():
        rc, _ = _finish(proc, logs[i], 100)
        assert rc == EXIT_NO_CHIEF, logs[i].read_text()
        # It left in the middle of its trial (three missed heartbeats), not at its end
        # nor after keras-tuner's hour of waiting for an answer.
        assert not (tmp_path / f"{i}.trial-ended").exists()
        log = logs[i].read_text()
        assert f"worker {i}: the chief at {address} stopped answering" in log
        assert "Traceback" not in log


def test_chief_fails_the_trial_of_a_dead_worker_and_finishes(tmp_path):
    (tmp_path / "toy.py").write_text(TOY)
    address = f"127.0.0.1:{_free_port()}"
    env = _env(TOY_SLEEP="1.5", TOY_TRIALS="4", TOY_CONNECT="60")
    chief_log = tmp_path / "chief.log"
    chief = _start([sys.executable, "toy.py", "chief", "d", address], tmp_path, chief_log, env)
    _wait_for(chief_log, "chief: serving the oracle", chief, 120)
    held = {**env, "TOY_SLEEP": "600"}  # its first trial lasts until it is killed
    victim = _start([sys.executable, "toy.py", "1", "d", address], tmp_path, tmp_path / "w1", held)
    trials = tmp_path / "d" / "toy"
    _wait_for_files([tmp_path / "1.in-trial"], [victim, chief], 120)
    victim.send_signal(signal.SIGKILL)  # in the middle of its first trial
    victim.wait()
    assert not (tmp_path / "1.trial-ended").exists()
    survivor = _start([sys.executable, "toy.py", "2", "d", address], tmp_path, tmp_path / "w2", env)
    rc, _ = _finish(survivor, tmp_path / "w2", 120)
    assert rc == 0, (tmp_path / "w2").read_text()
    rc, _ = _finish(chief, chief_log, 30)
    assert rc == 0, chief_log.read_text()
    assert "worker tuner1 stopped answering; trial 0 recorded as failed" in chief_log.read_text()

    statuses = {}
    for path in trials.glob("trial_*/trial.json"):
        trial = json.loads(path.read_text())
        statuses[trial["trial_id"]] = (trial["status"], trial["message"] or "")
    assert sorted(statuses) == ["0", "1", "2", "3"]
    assert statuses["0"] == ("FAILED", "worker tuner1 stopped answering (no heartbeat for 3 s)")
    assert {statuses[t][0] for t in ("1", "2", "3")} == {"COMPLETED"}
    results = json.loads((tmp_path / "d" / "distributed.json").read_text())
    assert results["lost"] == {"tuner1": "0"}
    assert results["workers"] == {"tuner1": 1, "tuner2": 3}


def test_chief_stops_at_its_timeout(tmp_path):
    # No worker ever connects, so nothing races the 1 s: the timeout is the event under test.
    (tmp_path / "toy.py").write_text(TOY)
    address = f"127.0.0.1:{_free_port()}"
    out = subprocess.run(
        [sys.executable, "toy.py", "chief", "d", address],
        cwd=tmp_path,
        env=_env(TOY_SLEEP="0", TOY_TRIALS="2", TOY_TIMEOUT="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == EXIT_INCOMPLETE, out.stdout + out.stderr
    assert "stopping at the 1 s timeout; 0 trial(s) created" in out.stdout
    results = json.loads((tmp_path / "d" / "distributed.json").read_text())
    assert results["status"] == "timed out" and results["trials"] == {}

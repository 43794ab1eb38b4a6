"""Upstream internals go through keras_blueprints/_compat only, and work where installed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grpc
import keras
import keras_tuner as kt
import numpy as np
import pytest

from keras_blueprints._compat import keras as compat_keras
from keras_blueprints._compat import keras_tuner as compat_kt

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "keras_blueprints"
COMPAT = PACKAGE / "_compat"
BANNED = ("keras.src", "keras_tuner.src", "tensorflow.python")


# ---------------------------------------------------------------- the door is the only way in


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _banned(name: str) -> bool:
    return any(name == b or name.startswith(b + ".") for b in BANNED)


def private_uses(source: str) -> list[tuple[int, str]]:
    """Lines that import, reach or name a banned upstream module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute):
            names = [_dotted(node) or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value.strip()]  # importlib.import_module("keras.src....")
        found += [(node.lineno, name) for name in names if _banned(name)]
    return found


def test_the_scan_finds_every_way_in():
    source = (
        "import keras.src.ops\n"
        "from keras_tuner.src import config\n"
        "from tensorflow.python.framework import device\n"
        "import keras\n"
        "x = keras.src.backend\n"
        "m = importlib.import_module('keras_tuner.src.engine.oracle')\n"
        "fine = keras.layers.Dense, 'keras.srcery', keras.source\n"
    )
    assert sorted({line for line, _ in private_uses(source)}) == [1, 2, 3, 5, 6]


def test_no_private_upstream_use_outside_compat():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if COMPAT not in path.parents
        for line, name in private_uses(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_ruff_banned_api_passes_on_the_package_and_tests():
    result = _ruff("keras_blueprints", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_banned_api_refuses_a_private_import(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("from keras.src import ops\nfrom keras_tuner.src import config\n")
    result = _ruff("--config", str(ROOT / "pyproject.toml"), str(planted))
    assert result.returncode == 1
    assert result.stdout.count("TID251") == 2


def test_only_the_compat_modules_may_import_internals():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lint = config["tool"]["ruff"]["lint"]
    assert "TID" in lint["select"]
    assert set(lint["flake8-tidy-imports"]["banned-api"]) == set(BANNED)
    excused = {path for path, rules in lint["per-file-ignores"].items() if "TID251" in rules}
    modules = {str(p.relative_to(ROOT)) for p in COMPAT.glob("*.py") if p.name != "__init__.py"}
    assert excused == modules
    for path in excused:
        assert private_uses((ROOT / path).read_text(encoding="utf-8"))  # each one needs it


# ---------------------------------------------------------------- Keras (installed version)


def _tiny_model() -> keras.Model:
    inputs = keras.Input((2,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(1, name="out")(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 2)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")


def test_model_checkpoint_hook_gets_each_formatted_file(tmp_path):
    written = []

    class Recording(compat_keras.HookedModelCheckpoint):
        def write_checkpoint(self, filepath: str) -> None:
            written.append(filepath)
            super().write_checkpoint(filepath)

    pattern = str(tmp_path / "ckpt_{epoch}.weights.h5")
    cb = Recording(pattern, save_weights_only=True, verbose=0)
    _tiny_model().fit(*_data(), epochs=2, verbose=0, callbacks=[cb])
    assert written == [pattern.format(epoch=1), pattern.format(epoch=2)]
    assert all(Path(p).is_file() for p in written)


def test_model_checkpoint_hook_keeps_save_best_only(tmp_path):
    written = []

    class Recording(compat_keras.HookedModelCheckpoint):
        def write_checkpoint(self, filepath: str) -> None:
            written.append(filepath)

    cb = Recording(str(tmp_path / "best.keras"), monitor="loss", mode="max", save_best_only=True)
    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = model.fit(*_data(), epochs=3, verbose=0, callbacks=[cb])
    losses = history.history["loss"]
    assert losses == sorted(losses, reverse=True)  # full-batch descent: the loss only falls
    assert len(written) == 1  # so with mode="max" the first epoch is the best one


def test_backup_hook_gets_keras_own_files_and_position(tmp_path):
    backups = []

    class Recording(compat_keras.HookedBackupAndRestore):
        def write_backup(self, files: compat_keras.BackupFiles) -> None:
            backups.append(files)
            super().write_backup(files)

    cb = Recording(str(tmp_path / "backup"), delete_checkpoint=False)
    _tiny_model().fit(*_data(), epochs=2, verbose=0, callbacks=[cb])
    assert [b.epoch for b in backups] == [1, 2]
    last = backups[-1]
    assert Path(last.weights).is_file() and Path(last.metadata).is_file()
    assert Path(last.weights).parent == tmp_path / "backup"
    assert last.previous_weights != last.weights


def test_sublayers_lists_nested_layers_parents_first():
    class Block(keras.layers.Layer):  # a plain layer: no public list of its sub-layers
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.a = keras.layers.Dense(2, name="a")
            self.b = keras.Sequential([keras.layers.Dense(2, name="c")], name="b")

        def call(self, x):
            return self.b(self.a(x))

    block = Block(name="block")
    block(np.zeros((1, 2), "float32"))
    names = [layer.name for layer in compat_keras.sublayers(block)]
    assert names[:3] == ["block", "a", "b"] and "c" in names[3:]


def test_functional_graph_and_layer_calls():
    inputs = keras.Input((3,))
    shared = keras.layers.Dense(3, name="shared")
    model = keras.Model(inputs, shared(shared(inputs)))
    graph = compat_keras.functional_graph(model)
    assert graph is model
    in_graph = compat_keras.graph_node_ids(graph)
    calls = [n for n in compat_keras.inbound_nodes(shared) if id(n) in in_graph]
    assert len(calls) == 2
    assert [tuple(t.shape) for t in calls[0].output_tensors] == [(None, 3)]

    seq = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert compat_keras.functional_graph(seq) is not None

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    assert compat_keras.functional_graph(Subclassed()) is None


def test_input_structure():
    a, b = keras.Input((1,), name="a"), keras.Input((1,), name="b")
    as_dict = keras.Model({"a": a, "b": b}, keras.layers.Add()([a, b]))
    as_list = keras.Model([a, b], keras.layers.Add()([a, b]))
    assert isinstance(compat_keras.input_structure(as_dict), dict)
    assert isinstance(compat_keras.input_structure(as_list), list)
    assert compat_keras.input_structure(object()) is None


def test_multi_worker_fit_trains_and_undoes_its_changes():
    x, y = _data()
    keras.utils.set_random_seed(1)
    plain = _tiny_model().fit(x, y, epochs=2, verbose=0, shuffle=False).history["loss"]
    keras.utils.set_random_seed(1)
    model = _tiny_model()
    with compat_keras.multi_worker_fit(model, __import__("tensorflow").distribute.get_strategy()):
        assert "_maybe_symbolic_build" in vars(model)  # the model's own build is replaced
        patched = model.fit(x, y, epochs=2, verbose=0, shuffle=False).history["loss"]
    assert "_maybe_symbolic_build" not in vars(model)
    assert patched == pytest.approx(plain)


# ---------------------------------------------------------------- keras-tuner (installed version)


class _Scoring(kt.engine.base_tuner.BaseTuner):
    fail = False

    def run_trial(self, trial, *args, **kwargs):
        if self.fail:
            raise kt.errors.FailedTrialError("planted failure")
        return float(trial.hyperparameters.get("a"))


def _tuner(directory: Path, **kwargs) -> _Scoring:
    oracle = kt.oracles.RandomSearchOracle(
        objective=kt.Objective("score", "min"), max_trials=1, seed=1
    )
    return _Scoring(
        oracle=oracle,
        hypermodel=lambda hp: hp.Int("a", 0, 3),
        directory=str(directory),
        project_name="p",
        **kwargs,
    )


def test_state_files_and_replaced_writers(tmp_path):
    tuner = _tuner(tmp_path)
    assert Path(compat_kt.tuner_state_file(tuner)).parent == Path(tuner.project_dir)
    assert Path(compat_kt.oracle_state_file(tuner.oracle)).parent == Path(tuner.project_dir)
    saved, trials = [], []
    assert compat_kt.replace_oracle_writers(tuner.oracle, lambda: saved.append(1), trials.append)
    tuner.search()
    assert saved and [t.trial_id for t in trials][-1] == "0"


def test_tracebacks_shown_decides_whether_a_failed_trial_prints_one(tmp_path, capfd):
    for shown in (False, True):
        tuner = _tuner(tmp_path / str(shown))
        tuner.fail = True
        with compat_kt.tracebacks_shown(shown):
            tuner.search()
        assert ("planted failure" in capfd.readouterr().err) is shown


def test_nested_condition_activates_under_a_parent_declared_elsewhere():
    hp = kt.HyperParameters()
    hp.Int("depth", 1, 3, default=2)
    hp.Choice("kind", ["wide", "deep"], default="wide")
    with hp.conditional_scope("kind", ["wide"]):
        with pytest.raises(ValueError):  # what keras-tuner's own scope refuses
            hp.conditional_scope("depth", [2]).__enter__()
        with compat_kt.nested_condition(hp, "depth", [2]):
            hp.Int("width", 1, 4)
    assert hp.is_active("width")
    hp.values["depth"] = 3
    assert not hp.is_active("width")
    hp.values["depth"], hp.values["kind"] = 2, "deep"
    assert not hp.is_active("width")


def test_oracle_servicer_registers_on_a_grpc_server(tmp_path):
    tuner = _tuner(tmp_path)
    servicer = compat_kt.oracle_servicer_class()(tuner.oracle)
    server = grpc.server(__import__("concurrent.futures").futures.ThreadPoolExecutor(1))
    compat_kt.add_oracle_servicer(servicer, server)  # registers without error
    server.stop(None)


def test_worker_client_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "9")  # nothing answers there
    tuner = _tuner(tmp_path)
    with compat_kt.client_timeout(0.5), pytest.raises(grpc.RpcError) as raised:
        tuner.oracle.get_space()  # waits for a chief, at most the timeout
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

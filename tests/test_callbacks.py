"""The callback registry and the standard Keras callbacks (paths in the run directory)."""

from __future__ import annotations

import importlib.util
import inspect
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints import catalog
from keras_blueprints._core.errors import BlueprintError, RunError
from keras_blueprints.callbacks import CALLBACKS, CallbackContext, TrainingWarning
from keras_blueprints.callbacks.standard import keras_signature
from keras_blueprints.catalog.components import MISSING

STANDARD = {
    "early_stopping": "EarlyStopping",
    "model_checkpoint": "ModelCheckpoint",
    "reduce_lr_on_plateau": "ReduceLROnPlateau",
    "tensorboard": "TensorBoard",
    "csv_logger": "CSVLogger",
    "backup_and_restore": "BackupAndRestore",
    "terminate_on_nan": "TerminateOnNaN",
}

# Deliberate differences from Keras' defaults: the files go in the run directory,
# and a checkpoint keeps the best model.
OUR_DEFAULTS = {
    ("model_checkpoint", "filepath"): "best.keras",
    ("model_checkpoint", "save_best_only"): True,
    ("csv_logger", "filename"): "training_log.csv",
    ("backup_and_restore", "backup_dir"): "backup/keras",  # the run's own backup is backup/
}


REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR = REPO_ROOT / "tools" / "gen_layer_catalog.py"
SHIPPED = REPO_ROOT / "keras_blueprints" / "catalog" / catalog.CALLBACKS_FILE


def make(name: str, run_dir: Path, datasets=None, **args):
    entry = CALLBACKS.get(name)
    return entry.fn(CallbackContext(blueprint=None, run_dir=run_dir, datasets=datasets), **args)


def test_registering_callbacks_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from keras_blueprints.callbacks.registry import CALLBACKS\n"
        "names = CALLBACKS.names()\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'numpy', 'matplotlib') "
        "if m in sys.modules)\n"
        "print(len(names), heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split(maxsplit=1)[1].strip() == "[]"
    assert int(out.stdout.split()[0]) >= 11


def test_builtin_callbacks_are_registered_documented_and_aliased():
    names = set(CALLBACKS.names())
    assert {*STANDARD, "learning_curves", "gradient_flow", "dead_units", "teacher_forcing"} <= names
    for name in names:
        assert CALLBACKS.get(name).doc, f"callback '{name}' has no docstring"
    for snake, camel in STANDARD.items():
        assert CALLBACKS.get(camel) is CALLBACKS.get(snake)


def test_parameters_are_typed_for_load_time_checks():
    params = CALLBACKS.get("early_stopping").params
    assert params["mode"].choices == ("auto", "min", "max")
    assert str(params["patience"].type) == "int"
    assert str(params["baseline"].type) == "float | null"
    assert params["patience"].type.accepts(3) and not params["patience"].type.accepts("3")
    flow = CALLBACKS.get("gradient_flow").params
    assert (flow["every"].default, str(flow["tensorboard"].type)) == (50, "bool")
    assert CALLBACKS.get("teacher_forcing").params["schedule"].choices == (
        "linear",
        "exponential",
        "inverse_sigmoid",
    )


@pytest.mark.parametrize("name", sorted(STANDARD))
def test_standard_factory_mirrors_the_keras_signature(name):
    theirs = {
        p.name: p
        for p in inspect.signature(getattr(keras.callbacks, STANDARD[name])).parameters.values()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }
    ours = CALLBACKS.get(name).params
    assert list(ours) == list(theirs)  # same names, same order
    for param, info in ours.items():
        expected = OUR_DEFAULTS.get((name, param), theirs[param].default)
        assert expected is not inspect.Parameter.empty, f"{name}.{param} needs our default"
        assert info.default is not MISSING
        assert info.default == expected and type(info.default) is type(expected), (name, param)


def test_shipped_callback_signatures_match_the_installed_keras():
    spec = importlib.util.spec_from_file_location("gen_layer_catalog", GENERATOR)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    text = SHIPPED.read_text(encoding="utf-8")
    shipped, fresh = json.loads(text), generator.collect_callbacks()
    changed = sorted(
        name
        for name in shipped["callbacks"].keys() | fresh["callbacks"].keys()
        if shipped["callbacks"].get(name) != fresh["callbacks"].get(name)
    )
    assert shipped == fresh, (
        f"keras_blueprints/catalog/{catalog.CALLBACKS_FILE} is out of date with the installed "
        f"Keras {fresh['keras_version']} (changed: {', '.join(changed) or 'version or format'}): "
        "run `python tools/gen_layer_catalog.py` and commit the result."
    )
    assert text == generator.render(shipped), "hand-edited callback catalog"


def test_a_keras_keyword_without_a_yaml_type_is_refused():
    # RemoteMonitor's `headers` defaults to None: nothing says what YAML may give it.
    with pytest.raises(TypeError, match=r"RemoteMonitor\.headers"):
        keras_signature("RemoteMonitor")(lambda context, **params: None)


def test_our_default_for_a_keyword_keras_does_not_have_is_refused():
    with pytest.raises(TypeError, match="no_such_keyword"):
        keras_signature("TerminateOnNaN", {"no_such_keyword": 1})(lambda context, **params: None)


def test_a_factory_receives_every_keyword_filled_in():
    seen = {}

    @keras_signature("CSVLogger", {"filename": "log.csv"})
    def factory(context, **params):
        seen.update(params)

    factory(None, append=True)
    assert seen == {"filename": "log.csv", "separator": ",", "append": True}
    with pytest.raises(TypeError):
        factory(None, not_a_keyword=1)


def test_relative_paths_resolve_under_the_run_directory(tmp_path):
    run = tmp_path / "run"
    assert make("model_checkpoint", run).filepath == str(run / "checkpoints" / "best.keras")
    assert make("tensorboard", run).log_dir == str(run / "logs")
    assert make("backup_and_restore", run).backup_dir == str(run / "backup" / "keras")
    assert make("csv_logger", run, filename="log/h.csv").filename == str(run / "log" / "h.csv")


@pytest.mark.parametrize(
    ("name", "param"),
    [
        ("model_checkpoint", "filepath"),
        ("tensorboard", "log_dir"),
        ("csv_logger", "filename"),
        ("backup_and_restore", "backup_dir"),
        ("learning_curves", "filename"),
    ],
)
@pytest.mark.parametrize("where", ["../../outside", "{abs}", "~/x", "a/../../../b"])
def test_written_paths_outside_the_run_are_refused_at_load(tmp_path, name, param, where):
    where = where.replace("{abs}", str(tmp_path / "outside"))
    text = (
        "inputs: {x: [2]}\ngraph: [{Dense: {units: 1}}]\n"
        f"train:\n  callbacks:\n    - {name}: {{{param}: '{where}'}}\n"
    )
    with pytest.raises(BlueprintError) as info:
        kb.load(text)
    assert (info.value.location.line, info.value.location.col) == (5, len(name) + len(param) + 12)
    assert "inside the run directory" in info.value.message


def test_callback_paths_through_a_symbolic_link_out_of_the_run_are_refused(tmp_path):
    run, outside = tmp_path / "run", tmp_path / "outside"
    run.mkdir()
    outside.mkdir()
    (run / "logs").symlink_to(outside)
    with pytest.raises(RunError) as info:  # found when the run starts: the path is named
        make("csv_logger", run, filename="logs/h.csv")
    assert info.value.location.file == str(run / "logs" / "h.csv")
    with pytest.raises(RunError):
        make("backup_and_restore", run, backup_dir="logs")
    assert list(outside.iterdir()) == []


def test_standard_factories_pass_their_arguments(tmp_path):
    stop = make("early_stopping", tmp_path, monitor="loss", patience=4, mode="min")
    assert (stop.monitor, stop.patience, stop.mode) == ("loss", 4, "min")
    plateau = make("reduce_lr_on_plateau", tmp_path, factor=0.5, min_lr=1e-5)
    assert (plateau.factor, plateau.min_lr) == (0.5, 1e-5)
    board = make("tensorboard", tmp_path, profile_batch=[2, 4], update_freq=10)
    assert (board.update_freq, board._start_batch, board._stop_batch) == (10, 2, 4)
    assert make("terminate_on_nan", tmp_path, raise_error=True).raise_error is True


def _tiny_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,), name="x")
    outputs = keras.layers.Dense(2, activation="softmax", name="out")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    return model


def test_model_checkpoint_writes_the_best_model_atomically(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = _tiny_model()
    best = make("model_checkpoint", tmp_path, monitor="loss")
    every = make("model_checkpoint", tmp_path, filepath="e{epoch}.weights.h5",
                 save_best_only=False, save_weights_only=True)  # fmt: skip
    logger = make("csv_logger", tmp_path)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[best, every, logger])
    folder = tmp_path / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == [
        "best.keras",
        "e1.weights.h5",
        "e2.weights.h5",
        "e3.weights.h5",
    ]  # no temporary file left behind
    losses = history.history["loss"]
    assert losses[-1] < losses[0]  # the loss fell, so the best model is the last one
    loaded = keras.models.load_model(folder / "best.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    rows = (tmp_path / "training_log.csv").read_text().splitlines()
    assert rows[0] == "epoch,loss,val_loss" and len(rows) == 4  # Keras adds val_ columns
    assert float(rows[3].split(",")[1]) == pytest.approx(losses[-1], rel=1e-5)


def test_backup_and_restore_replaces_its_files_atomically(tmp_path, monkeypatch):
    x = np.zeros((8, 4), "float32")
    y = np.zeros(8, "int64")
    model = _tiny_model()
    backup = make("backup_and_restore", tmp_path, double_checkpoint=True)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[backup, _StopAt(2)])
    trained = [w.numpy() for w in model.weights]
    folder = tmp_path / "backup" / "keras"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert sorted(before) == [
        "latest.weights.h5",
        "latest.weights.h5.bkp",
        "training_metadata.json",
        "training_metadata.json.bkp",
    ]

    def killed(path, overwrite=True):  # a SIGKILL halfway through writing the weights
        with open(path, "wb") as f:
            f.write(b"\x89HDF half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "save_weights", killed)
    with pytest.raises(KeyboardInterrupt):
        backup.on_epoch_end(2)
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after["latest.weights.h5"] == before["latest.weights.h5"]  # still whole
    assert set(after) == set(before)  # the half-written temporary is gone
    monkeypatch.undo()
    restored = make("backup_and_restore", tmp_path)
    restored.set_model(_tiny_model())
    restored.on_train_begin()  # Keras' restore reads it back
    for got, expected in zip(restored.model.weights, trained, strict=True):
        np.testing.assert_array_equal(got.numpy(), expected)


class _StopAt(keras.callbacks.Callback):
    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None) -> None:
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt  # interrupted: the backup stays (Keras deletes it at the end)


def test_training_warning_is_a_user_warning():
    assert issubclass(TrainingWarning, UserWarning)
    import keras_blueprints.callbacks as package

    assert "TrainingWarning" in package.__all__

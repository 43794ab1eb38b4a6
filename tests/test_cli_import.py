"""``--import MODULE``: the user's own components from the command line, for every command.

The module is imported before the blueprint loads (its layers, blocks and callbacks
register themselves), only from the command line (never from a blueprint), and a run
records it so that resuming, evaluating and exporting ask for it again.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import keras
import pytest
from conftest import run_cli_isolated

from keras_blueprints._core.errors import UsageError
from keras_blueprints.callbacks.registry import CALLBACKS
from keras_blueprints.catalog.components import BLOCKS, LAYERS
from keras_blueprints.cli import main

MODULE = "kb_test_user_layers"
LIGHT = "kb_test_light_blocks"

MODULE_TEXT = textwrap.dedent(
    """\
    import pathlib

    import keras

    import keras_blueprints as kb
    from keras_blueprints.callbacks.registry import register_callback

    pathlib.Path("imported.flag").write_text("imported")
    interrupted = []


    @kb.register_layer
    class Twice(keras.layers.Layer):
        def __init__(self, factor: float = 2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}


    @register_callback("interrupt_once")
    def interrupt_once(context, *, epoch: int = 1):
        class Interrupt(keras.callbacks.Callback):
            def on_epoch_begin(self, index, logs=None):
                if index == epoch and not interrupted:
                    interrupted.append(index)
                    raise KeyboardInterrupt

        return Interrupt()
    """
)

LIGHT_TEXT = textwrap.dedent(
    """\
    import keras_blueprints as kb


    @kb.register_block
    def doubled_dense(x, *, name: str, units: int = 4):
        import keras

        x = keras.layers.Dense(units, name=f"{name}_a")(x)
        return keras.layers.Dense(units, name=f"{name}_b")(x)
    """
)

BLUEPRINT = textwrap.dedent(
    """\
    name: twice
    inputs: {point: [2]}
    graph:
      - {name: scaled, Twice: {factor: 3.0}}
      - {name: hidden, Dense: {units: 8, activation: relu}}
      - {name: probabilities, Dense: {units: 2, activation: softmax}}
    compile:
      optimizer: adam
      loss: sparse_categorical_crossentropy
      metrics: [accuracy]
    data:
      source: {spirals: {points_per_class: 16}}
      validation: 0.25
      test: 0.25
      batch_size: 16
    train: {epochs: 2, seed: 1, callbacks: [interrupt_once]}
    """
)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A working folder holding the user's modules and a blueprint naming their components.

    Whatever the modules register is unregistered afterwards, and they are forgotten.
    """
    monkeypatch.chdir(tmp_path)
    (tmp_path / f"{MODULE}.py").write_text(MODULE_TEXT)
    (tmp_path / f"{LIGHT}.py").write_text(LIGHT_TEXT)
    (tmp_path / "net.yaml").write_text(BLUEPRINT)
    importlib.invalidate_caches()
    before = {r: set(r.names()) for r in (LAYERS, BLOCKS, CALLBACKS)}
    custom_before = set(keras.saving.get_custom_objects())
    path_before = list(sys.path)
    try:
        yield tmp_path
    finally:
        for registry, names in before.items():
            for name in set(registry.names()) - names:
                registry.unregister(name)
        custom = keras.saving.get_custom_objects()
        for key in set(custom) - custom_before:
            del custom[key]
        for name in (MODULE, LIGHT):
            sys.modules.pop(name, None)
        assert sys.path == path_before  # the current directory was on it only meanwhile


def _forget_the_module() -> None:
    LAYERS.unregister("Twice")
    CALLBACKS.unregister("interrupt_once")
    keras.saving.get_custom_objects().pop("keras_blueprints>Twice")
    sys.modules.pop(MODULE)


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": error: " in line]


def test_without_the_module_the_layer_is_unknown_and_the_hint_says_how(folder, capsys):
    assert main(["validate", "--no-build", "net.yaml"]) == 2
    err = capsys.readouterr().err
    assert "(a module of yours: blueprint --import MODULE)" in err
    assert _errors(err) == [
        "net.yaml:4:20: error: 'Twice' is not a known layer.",
        "net.yaml:16:41: error: 'interrupt_once' is not a known callback.",
    ]
    assert not (folder / "imported.flag").exists()


def test_before_or_after_the_command_the_module_is_imported_first(folder, capsys):
    assert main(["--import", MODULE, "validate", "--no-build", "net.yaml"]) == 0
    assert capsys.readouterr().out == "net.yaml: ok (3 nodes)\n"
    assert (folder / "imported.flag").read_text() == "imported"
    _forget_the_module()
    assert main(["validate", "net.yaml", "--import", MODULE]) == 0
    assert capsys.readouterr().out == "net.yaml: ok (3 nodes, 42 parameters)\n"


def test_both_places_and_a_file_path_combine(folder, capsys):
    text = BLUEPRINT.replace("{name: hidden, Dense: {units: 8, activation: relu}}", "doubled_dense")
    (folder / "blocks.yaml").write_text(text)
    argv = ["--import", f"./{LIGHT}.py", "summary", "blocks.yaml", "--import", MODULE]
    argv += ["--import", f"{MODULE}.py", "--import", LIGHT]  # the same modules: imported once
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "doubled_dense_a" in out and "doubled_dense_b" in out and "scaled" in out
    assert "Total params: 42" in out  # 2*4+4 + 4*4+4 + 4*2+2
    assert sys.modules[LIGHT].__file__ == str(folder / f"{LIGHT}.py")


def test_validate_no_build_imports_no_tensorflow_by_itself(folder):
    text = "inputs: {x: [3]}\ngraph:\n  - doubled_dense: {units: 2}\n"
    (folder / "light.yaml").write_text(text)
    path = str(folder / f"{LIGHT}.py")  # a path: the child's current directory is not this one
    status, heavy, out = run_cli_isolated(
        ["validate", "--no-build", str(folder / "light.yaml"), "--import", path]
    )
    assert (status, out) == (0, f"{folder / 'light.yaml'}: ok (1 nodes)")
    assert "tensorflow" not in heavy and "keras" not in heavy


def test_a_missing_module_is_a_usage_error(folder, capsys):
    assert main(["validate", "--no-build", "net.yaml", "--import", "kb_no_such_module"]) == 2
    err = capsys.readouterr().err
    assert _errors(err) == ["--import kb_no_such_module: error: cannot import 'kb_no_such_module'."]
    assert "Received: ModuleNotFoundError: " in err
    assert "Run blueprint in the folder that holds kb_no_such_module.py" in err
    assert "Traceback" not in err
    assert main(["validate", "--no-build", "net.yaml", "--import", "nowhere/layers.py"]) == 2
    assert _errors(capsys.readouterr().err) == [
        "--import nowhere/layers.py: error: no Python file 'nowhere/layers.py'."
    ]


def test_a_module_that_raises_is_a_usage_error_naming_where(folder, capsys):
    (folder / "broken_layers.py").write_text("VALUE = 1\nraise ValueError('no GPU here')\n")
    assert main(["--import", "broken_layers", "validate", "--no-build", "net.yaml"]) == 2
    err = capsys.readouterr().err
    assert _errors(err) == ["--import broken_layers: error: cannot import 'broken_layers'."]
    assert "Received: ValueError: no GPU here." in err
    assert f"It was raised at {folder / 'broken_layers.py'}:2;" in err
    assert "Traceback" not in err
    assert "broken_layers" not in sys.modules
    with pytest.raises(UsageError) as raised:
        main(["--debug", "--import", "broken_layers", "validate", "--no-build", "net.yaml"])
    assert isinstance(raised.value.__cause__, ValueError)


def test_a_name_registered_twice_points_at_the_users_line(folder, capsys):
    (folder / "again.py").write_text(
        "import keras_blueprints as kb\n\n\n@kb.register_block\ndef dense(x, *, name):\n"
        "    return x\n"
    )
    assert main(["validate", "--no-build", "net.yaml", "--import", "again"]) == 2
    err = capsys.readouterr().err
    assert _errors(err) == ["--import again: error: cannot import 'again'."]
    assert "Received: DuplicateNameError: " in err
    assert f"It was raised at {folder / 'again.py'}:4;" in err


@pytest.mark.parametrize(
    ("yaml_text", "error"),
    [
        (
            f"--import: {MODULE}\n",
            "net.yaml:1:1: error: '--import' is not a blueprint section.",
        ),
        (
            f"import: {MODULE}\n",
            "net.yaml:1:1: error: 'import' is not a blueprint section.",
        ),
    ],
    ids=["--import", "import"],
)
def test_a_blueprint_cannot_import_a_module(folder, capsys, yaml_text, error):
    (folder / "net.yaml").write_text(yaml_text + BLUEPRINT)
    assert main(["validate", "--no-build", "net.yaml"]) == 2
    errors = _errors(capsys.readouterr().err)
    assert errors[0] == error
    assert not (folder / "imported.flag").exists() and MODULE not in sys.modules


def test_imports_of_a_blueprint_are_blueprints_not_modules(folder, capsys):
    (folder / "net.yaml").write_text(f"imports: [{MODULE}]\n" + BLUEPRINT)
    assert main(["validate", "--no-build", "net.yaml"]) == 2
    assert _errors(capsys.readouterr().err)[0].startswith("net.yaml:1:")
    assert not (folder / "imported.flag").exists() and MODULE not in sys.modules


def test_a_run_records_the_modules_and_asks_for_them_again(folder, capsys):
    argv = ["--import", MODULE, "train", "net.yaml", "--run-dir", "run", "--quiet"]
    assert main(argv) == 130  # interrupt_once stops the first run after its first epoch
    info = json.loads((folder / "run" / "run.json").read_text())
    assert (info["status"], info["epochs_done"], info["imports"]) == ("interrupted", 1, [MODULE])
    capsys.readouterr()

    wanted = (
        f"--import: error: run 'run' was started with components imported by --import {MODULE}."
    )
    for command in (["train", "--resume", "run"], ["evaluate", "run"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert _errors(err) == [wanted], command
        assert "Received: no --import." in err

    assert main(["train", "--resume", "run", "--quiet", "--import", MODULE]) == 0
    info = json.loads((folder / "run" / "run.json").read_text())
    assert (info["status"], info["epochs_done"], info["imports"]) == ("completed", 2, [MODULE])
    assert info["resumed"][0]["from_epoch"] == 1
    capsys.readouterr()

    assert main(["evaluate", "run", "--json", "--import", MODULE]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) == {"test"} and set(metrics["test"]) == {"loss", "accuracy"}

    assert main(["export", "run", "--out", "exported", "--format", "keras"]) == 2
    assert _errors(capsys.readouterr().err) == [wanted]
    assert not (folder / "exported").exists()
    assert main(["predict", "run/model.keras", "x.npy", "-o", "y.npy"]) == 2
    assert _errors(capsys.readouterr().err) == [wanted]


def test_a_search_records_the_modules_and_asks_for_them_again(folder, capsys):
    space = "graph.hidden.units={choice: [4, 8]}"
    argv = ["tune", "net.yaml", "--max-trials", "1", "--epochs", "1", "--run-dir", "search"]
    assert main([*argv, "--quiet", "--set", space, "--import", MODULE]) == 0
    state = json.loads((folder / "search" / "search.json").read_text())
    assert (state["status"], state["imports"]) == ("completed", [MODULE])
    capsys.readouterr()
    wanted = (
        f"--import: error: search 'search' was started with components imported by --import"
        f" {MODULE}."
    )
    assert main(["tune", "--resume", "search"]) == 2
    assert _errors(capsys.readouterr().err) == [wanted]
    assert main(["export", "search/best.keras", "--out", "exported", "--format", "keras"]) == 2
    assert _errors(capsys.readouterr().err) == [wanted]


def test_the_state_files_are_those_runs_and_searches_write():
    from keras_blueprints.training.rundir import RUN_FILE, STATE_FILES
    from keras_blueprints.tuning.search import SEARCH_FILE

    assert STATE_FILES == (RUN_FILE, SEARCH_FILE)

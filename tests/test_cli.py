"""The `blueprint` command line: output format, exit codes, no TensorFlow when not needed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import yaml
from conftest import run_cli_isolated

import keras_blueprints as kb
from keras_blueprints import zoo
from keras_blueprints.cli import main

BAD = textwrap.dedent(
    """\
    inputs: {x: [4]}
    graph:
      - Dense: {unitz: 2}
      - Dropout: {rate: 0.1}
      - Dense: {units: 2, activaton: relu}
    """
)


@pytest.fixture
def bad_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    return path


def test_validate_ok(capsys):
    assert main(["validate", "zoo:lenet5", "zoo:mlp"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "zoo:lenet5: ok (8 nodes, 61,706 parameters)",
        "zoo:mlp: ok (5 nodes, 17,226 parameters)",
    ]


def test_validate_reports_every_error_with_location_and_exits_2(bad_file, capsys):
    assert main(["validate", "--no-build", str(bad_file), "zoo:mlp"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "zoo:mlp: ok (5 nodes)\n"
    lines = [line for line in captured.err.splitlines() if ": error: " in line]
    assert lines == [
        f"{bad_file}:3:13: error: 'unitz' is not an argument of Dense.",
        f"{bad_file}:5:23: error: 'activaton' is not an argument of Dense.",
    ]
    assert "Did you mean 'units'?" in captured.err
    assert "Traceback" not in captured.err


def test_debug_shows_the_traceback(bad_file):
    with pytest.raises(kb.BlueprintError):
        main(["--debug", "validate", "--no-build", str(bad_file)])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_blueprints.cli",
            "validate",
            "--no-build",
            "--debug",
            str(bad_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1  # the interpreter's status for an uncaught exception
    assert "Traceback (most recent call last)" in result.stderr
    assert "keras_blueprints._core.errors.BlueprintErrors: " in result.stderr


@pytest.mark.parametrize("module", ["keras_blueprints", "keras_blueprints.cli"])
def test_python_dash_m_runs_the_cli(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "validate", "--no-build", "zoo:mlp"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "zoo:mlp: ok (5 nodes)\n")


def test_missing_file_is_a_clean_error(capsys, tmp_path):
    assert main(["validate", "--no-build", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / 'nope.yaml'}: error: file not found.")


def test_unknown_zoo_name(capsys):
    assert main(["validate", "--no-build", "zoo:lenet"]) == 2
    err = capsys.readouterr().err
    assert "'lenet' is not a zoo blueprint" in err and "Did you mean 'lenet5'?" in err


def test_bad_override_is_a_clean_error(capsys):
    assert main(["validate", "--no-build", "zoo:mlp", "--set", "params.width"]) == 2
    assert "an override must look like KEY=VALUE" in capsys.readouterr().err


def test_internal_error_without_traceback(monkeypatch, capsys):
    from keras_blueprints.commands import zoo as zoo_command

    def boom(args):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(zoo_command, "run", boom)
    assert main(["zoo"]) == 70
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaboom" in err and "Traceback" not in err


def test_validate_no_build_never_imports_tensorflow():
    status, heavy, out = run_cli_isolated(
        ["validate", "--no-build", *(f"zoo:{name}" for name in zoo.names())]
    )
    assert (status, heavy) == (0, [])
    assert out.count(": ok (") == len(zoo.names())


def test_load_never_imports_tensorflow():
    # resolve = import + load + print: the whole path of a validation without a build
    status, heavy, out = run_cli_isolated(["resolve", "zoo:lenet5"])
    assert (status, heavy) == (0, [])
    assert out.startswith("name: lenet5")


def test_console_script_is_installed():
    result = subprocess.run(["blueprint", "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == f"keras-blueprints {kb.__version__}"


def test_zoo_lists_every_blueprint(capsys):
    assert main(["zoo"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines()]
    assert listed == [f"zoo:{name}" for name in zoo.names()]
    assert "LeNet-5 (LeCun 1998)" in out


def test_summary_table(capsys):
    assert main(["summary", "zoo:lenet5"]) == 0
    out = capsys.readouterr().out
    assert 'Model: "lenet5"' in out
    assert "c1 (Conv2D)" in out and "(None, 28, 28, 6)" in out
    assert "Total params: 61,706 (trainable: 61,706, non-trainable: 0)" in out
    # 2*25*6*28*28 + 6*28*28 (tanh) ... summed by the FLOPs counter; pinned.
    assert "FLOPs per example: 852,400 (852.40K)" in out


@pytest.mark.parametrize("name", zoo.names())
def test_resolve_prints_a_blueprint_that_rebuilds_the_same_graph(name, capsys):
    assert main(["resolve", f"zoo:{name}"]) == 0
    text = capsys.readouterr().out
    again = kb.load(text)
    original = kb.load(f"zoo:{name}")
    assert again.nodes == original.nodes
    assert again.inputs == original.inputs
    assert again.outputs == original.outputs
    assert again.compile == original.compile
    assert "${" not in text and "repeat" not in text


def test_resolve_why_names_the_override_and_the_file(capsys):
    assert main(["resolve", "zoo:mlp", "--why", "params.width", "--set", "params.width=32"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "params.width = 32"
    assert out[1] == "  set by --set params.width=32"
    assert out[2].startswith("  overriding ") and out[2].endswith("mlp.yaml:28:10")


def test_resolve_why_through_extends(tmp_path, capsys):
    (tmp_path / "base.yaml").write_text(
        "params: {width: 8}\ninputs: {x: [2]}\ngraph: [{Dense: {units: '${width}'}}]\n"
    )
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nparams: {width: 16}\n")
    assert main(["resolve", str(tmp_path / "child.yaml"), "--why", "params.width"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "params.width = 16",
        f"  set by {tmp_path / 'child.yaml'}:2:17",
        f"  overriding {tmp_path / 'base.yaml'}:1:17",
    ]


def test_resolve_output_is_plain_yaml(capsys):
    assert main(["resolve", "zoo:lenet5", "--set", "params.activation=relu"]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert data["graph"][0] == {
        "name": "c1",
        "Conv2D": {"filters": 6, "kernel_size": 5, "activation": "relu"},
        "from": "image",
    }

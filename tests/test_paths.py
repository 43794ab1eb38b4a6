"""Where a blueprint may read and write (keras_blueprints._core.paths), checked at load time."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, Location, RunError
from keras_blueprints._core.paths import ReadRoots, check_write_path, inside, read_bounded
from keras_blueprints.cli import main

MLP = "inputs: {x: [2]}\ngraph: [{Dense: {units: 1}}]\n"
TEXT = "inputs: {x: {shape: [1], dtype: string}}\ngraph: [{StringLookup: {vocabulary: VOCAB}}]\n"


@pytest.fixture
def world(tmp_path, monkeypatch):
    """project/ holds the blueprint, outside/ a file it must not read; cwd is project/."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (outside / "secret.csv").write_text("a,label\n1,0\n")
    (outside / "vocab.txt").write_text("a\nb\n")
    (project / "vocab.txt").write_text("a\nb\n")
    monkeypatch.chdir(project)
    return project, outside


def _write(folder: Path, text: str) -> Path:
    path = folder / "bp.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    "data",
    [
        "{source: {csv: {path: OUT/secret.csv}}}",
        "{source: {npz: {path: ../outside/x.npz}}}",
        "OUT/x.npz",
        "{source: digits, test: {npy: {x: a.npy, y: OUT/y.npy}}}",
        "{source: {tfrecord: {files: [a.tfrecord, 'OUT/*.tfrecord'], features: {}}}}",
        "{source: {images: {directory: OUT}}}",
    ],
)
def test_data_paths_outside_the_blueprints_folder_are_refused_at_the_value(world, data):
    project, outside = world
    text = MLP + "data: " + data.replace("OUT", str(outside)) + "\n"
    bp = _write(project, text)
    with pytest.raises(BlueprintError) as info:
        kb.load(bp)
    err = info.value
    assert err.location.file == str(bp) and err.location.line == 3
    line = text.splitlines()[2]
    assert err.location.col > line.index("{" if "{" in line else "/")  # at the path, not the key
    assert "outside the blueprint's folder" in err.message
    # the same blueprint is accepted once the folder is allowed
    assert kb.load(bp, allow_read=[outside]).data is not None


def test_paths_inside_the_folder_or_the_working_directory_are_read(world, tmp_path):
    project, _ = world
    sub = project / "configs"
    sub.mkdir()
    bp = _write(sub, MLP + "data: {source: {csv: {path: ../vocab.txt}}}\n")
    assert kb.load(bp).data.source.args["path"] == "../vocab.txt"  # below the cwd


def test_command_line_paths_are_the_users(world):
    project, outside = world
    bp = _write(project, MLP)
    loaded = kb.load(bp, [("data.source", {"csv": {"path": str(outside / "secret.csv")}})])
    assert loaded.data.source.args["path"] == str(outside / "secret.csv")
    assert main(["validate", "--no-build", str(bp), "--set", f"data.source={outside}/x.npz"]) == 0


def test_a_link_inside_the_folder_pointing_out_is_refused(world):
    project, outside = world
    (project / "data").symlink_to(outside)
    bp = _write(project, MLP + "data: {source: {csv: {path: data/secret.csv}}}\n")
    with pytest.raises(BlueprintError, match="outside the blueprint's folder"):
        kb.load(bp)


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_files_are_refused_as_data(world, special):
    project, _ = world
    if special == "fifo":
        os.mkfifo(project / "pipe.csv")
        special = "pipe.csv"
    elif not Path(special).exists():
        pytest.skip("no /dev/zero")
    bp = _write(project, MLP + f"data: {{source: {{csv: {{path: {special}}}}}}}\n")
    with pytest.raises(BlueprintError) as info:
        kb.load(bp, allow_read=["/dev"])
    assert "not a regular file" in info.value.message and info.value.location.line == 3


def test_vocabulary_files_are_held_to_the_same_rule(world):
    project, outside = world
    inner = _write(project, TEXT.replace("VOCAB", "vocab.txt"))
    assert kb.load(inner).nodes[0].args["vocabulary"] == "vocab.txt"
    outer = _write(project, TEXT.replace("VOCAB", str(outside / "vocab.txt")))
    with pytest.raises(BlueprintError) as info:
        kb.load(outer)
    assert (info.value.location.line, info.value.location.col) == (2, 37)
    assert kb.load(outer, allow_read=[str(outside)]).nodes[0].args["vocabulary"]


def test_allow_read_on_the_command_line(world, capsys):
    project, outside = world
    bp = _write(project, MLP + f"data: {{source: {{csv: {{path: {outside}/secret.csv}}}}}}\n")
    assert main(["validate", "--no-build", str(bp)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{bp}:3:") and "--allow-read" in err
    assert main(["validate", "--no-build", str(bp), "--allow-read", str(outside)]) == 0


def test_roots_are_resolved_and_allow_only_below_them(tmp_path):
    roots = ReadRoots.of(tmp_path / "a" / "bp.yaml", [tmp_path / "b"])
    assert roots.allows(tmp_path / "a" / "x") and roots.allows(tmp_path / "b" / "c" / "d")
    assert not roots.allows(tmp_path / "ab") and not roots.allows(tmp_path / "a" / ".." / "c")


@pytest.mark.parametrize("text", ["../x", "/abs", "~/x", "a/../../b", "~"])
def test_written_paths_that_leave_the_run_are_refused(text):
    with pytest.raises(BlueprintError):
        check_write_path(text, Location("bp.yaml", 1, 1), "the path")


@pytest.mark.parametrize("text", ["x.csv", "logs/a/../b.csv", "./x", "a/b/c"])
def test_written_paths_inside_the_run_are_accepted(text):
    check_write_path(text, Location("bp.yaml", 1, 1), "the path")


def test_inside_follows_links(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "out").symlink_to(tmp_path)
    assert inside(run / "logs" / "x", run) == (run / "logs" / "x").resolve()
    with pytest.raises(RunError):
        inside(run / "out" / "x", run)


def test_read_bounded_refuses_fifos_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe")  # nothing ever writes it: a blocking open would hang
    with pytest.raises(BlueprintError, match="not a regular file"):
        read_bounded(tmp_path / "pipe", Location("bp.yaml", 1, 1), 100)


@pytest.mark.parametrize("name", ["../../outside/x", "/tmp/x", "a\\\\b", "..", "''"])
def test_a_blueprint_name_cannot_lead_its_run_directory_elsewhere(name):
    with pytest.raises(BlueprintError) as info:
        kb.load(f"name: {name}\n" + MLP)
    assert (info.value.location.line, info.value.location.col) == (1, 7)


def test_default_run_dirs_stay_under_their_root(tmp_path):
    from keras_blueprints.training.rundir import default_run_dir

    made = default_run_dir("../../x/y", root=tmp_path)
    assert made.parent == tmp_path


def test_data_given_on_the_command_line_must_still_be_a_regular_file(world):
    from keras_blueprints.commands.train import data_override

    project, _ = world
    os.mkfifo(project / "pipe.csv")  # --data pipe.csv: the user's path, but it would block
    bp = _write(project, MLP)
    with pytest.raises(BlueprintError, match="not a regular file"):
        kb.load(bp, [data_override("pipe.csv")])

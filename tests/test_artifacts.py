"""Damaged, foreign and unsafe model files and input arrays: located errors, never a crash."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from keras_blueprints._core.errors import BlueprintError, RunError, is_out_of_memory
from keras_blueprints.cli import EXIT_BLUEPRINT, EXIT_INTERNAL, main
from keras_blueprints.training.modelfile import (
    MAX_CONFIG_BYTES,
    check_keras_file,
    load_keras_model,
)
from keras_blueprints.training.predict import check_input_file, read_inputs
from keras_blueprints.training.rundir import RunDir


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """A tiny good model and one with a Python-lambda layer, saved as .keras files."""
    import keras

    folder = tmp_path_factory.mktemp("models")
    keras.backend.clear_session()
    x = keras.Input((4,), name="x")
    keras.Model(x, keras.layers.Dense(2, name="d")(x)).save(folder / "good.keras")
    keras.Model(x, keras.layers.Lambda(lambda t: t * 2, name="double")(x)).save(
        folder / "lambda.keras"
    )
    ids = keras.Input((3,), dtype="int32", name="ids")
    keras.Model(ids, keras.layers.Embedding(5, 2, name="emb")(ids)).save(folder / "emb.keras")
    keras.backend.clear_session()
    return folder


def _zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _damaged(kind: str, models: Path, folder: Path) -> Path:
    good = (models / "good.keras").read_bytes()
    path = folder / f"{kind}.keras"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "not-a-zip":
        path.write_text("name: a blueprint, not a model\n")
    elif kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "no-config":
        _zip(path, {"metadata.json": "{}"})
    elif kind == "bad-json":
        _zip(path, {"config.json": "{not json", "metadata.json": "{}"})
    elif kind == "huge-config":  # a zip bomb: compresses to a few kilobytes
        _zip(path, {"config.json": b" " * (MAX_CONFIG_BYTES + 1), "metadata.json": "{}"})
    elif kind == "lambda":
        path = models / "lambda.keras"
    return path


@pytest.mark.parametrize(
    "kind",
    [
        "empty",
        "truncated",
        "not-a-zip",
        "directory",
        "fifo",
        "no-config",
        "bad-json",
        "huge-config",
        "lambda",
    ],
)
def test_a_bad_model_file_is_refused_at_the_file_before_keras(kind, models, tmp_path):
    path = _damaged(kind, models, tmp_path)
    with pytest.raises(RunError) as info:
        check_keras_file(path)
    assert info.value.location.file == str(path)
    assert info.value.location.line == 0
    assert info.value.expected


def test_the_lambda_layer_is_named(models):
    with pytest.raises(RunError) as info:
        load_keras_model(models / "lambda.keras")
    assert "'double'" in info.value.message


def test_what_keras_cannot_load_is_located_at_the_file(models, tmp_path):
    with zipfile.ZipFile(models / "good.keras") as good:
        members = {n: good.read(n) for n in ("config.json", "metadata.json")}
    path = _zip(tmp_path / "no-weights.keras", members)  # passes the cheap checks
    check_keras_file(path)
    with pytest.raises(RunError) as info:
        load_keras_model(path)
    assert info.value.location.file == str(path)
    assert info.value.received  # Keras' own reason, briefly


def test_a_good_model_file_loads(models):
    model = load_keras_model(models / "good.keras")
    assert tuple(model.outputs[0].shape) == (None, 2)


def _npy_with_header(path: Path, shape: tuple[int, ...], data: bytes) -> Path:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    path.write_bytes(header.getvalue() + data)
    return path


def _bad_input(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.npy"
    if kind == "text":
        np.save(path, np.array([["a"] * 4] * 3))
    elif kind == "objects":
        np.save(path, np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    elif kind == "no-rows":
        np.save(path, np.zeros((0, 4), "float32"))
    elif kind == "scalar":
        np.save(path, np.float32(1.0))
    elif kind == "truncated":
        np.save(path, np.zeros((3, 4), "float32"))
        path.write_bytes(path.read_bytes()[:-10])
    elif kind == "lying-header":  # claims 160 GB, holds 64 bytes
        _npy_with_header(path, (10**7, 4000), b"\0" * 64)
    elif kind == "not-numpy":
        path.write_text("1,2,3,4\n")
    elif kind == "rows-differ":
        path = folder / "rows.npz"
        np.savez(path, a=np.zeros((3, 4), "float32"), b=np.zeros((2, 4), "float32"))
    return path


@pytest.mark.parametrize(
    "kind",
    [
        "text",
        "objects",
        "no-rows",
        "scalar",
        "truncated",
        "lying-header",
        "not-numpy",
        "rows-differ",
    ],
)
def test_a_bad_input_file_is_refused_from_its_headers(kind, tmp_path):
    path = _bad_input(kind, tmp_path)
    with pytest.raises(BlueprintError) as info:
        check_input_file(path)
    assert info.value.location.file == str(path)
    assert info.value.expected


def test_read_inputs_checks_the_file_then_the_shapes(tmp_path):
    class Spec:
        name, shape, dtype = "x", (None, 4), "float32"

    good = tmp_path / "x.npy"
    np.save(good, np.ones((3, 4), "float32"))
    assert read_inputs(good, [Spec()])["x"].shape == (3, 4)
    with pytest.raises(BlueprintError, match="does not hold numbers"):
        read_inputs(_bad_input("text", tmp_path), [Spec()])
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.ones((3, 5), "float32"))
    with pytest.raises(BlueprintError, match="wrong shape"):
        read_inputs(wrong, [Spec()])


def test_floats_for_an_integer_input_are_refused(tmp_path):
    class Ids:
        name, shape, dtype = "ids", (None, 3), "int32"

    path = tmp_path / "ids.npy"
    np.save(path, np.full((2, 3), 1.5, "float32"))
    with pytest.raises(BlueprintError, match="holds floats") as info:
        read_inputs(path, [Ids()])
    assert info.value.location.file == str(path)


def test_an_input_the_model_cannot_take_is_located_at_the_input_file(models, tmp_path):
    from keras_blueprints.training.predict import predict_file

    ids = tmp_path / "ids.npy"
    np.save(ids, np.array([[1, 2, 9]] * 2, "int32"))  # 9 is past the vocabulary of 5
    with pytest.raises(BlueprintError) as info:
        predict_file(models / "emb.keras", ids, tmp_path / "out.npy")
    assert info.value.location.file == str(ids)
    assert not (tmp_path / "out.npy").exists()


def test_an_output_that_cannot_be_written_is_located_at_the_output(models, tmp_path):
    from keras_blueprints.training.predict import predict_file

    np.save(tmp_path / "x.npy", np.zeros((2, 4), "float32"))
    (tmp_path / "afile").write_text("")
    out = tmp_path / "afile" / "out.npy"
    with pytest.raises(RunError) as info:
        predict_file(models / "good.keras", tmp_path / "x.npy", out)
    assert info.value.location.file == str(out)


def test_a_batch_size_below_one_is_a_usage_error(models, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((2, 4), "float32"))
    with pytest.raises(SystemExit) as info:
        main(["predict", str(models / "good.keras"), str(tmp_path / "x.npy"), "-o", "o.npy",
              "--batch-size", "-3"])  # fmt: skip
    assert info.value.code == 2
    assert "--batch-size" in capsys.readouterr().err


def test_a_run_directory_is_never_made_through_a_dangling_link(tmp_path):
    link = tmp_path / "run"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RunError) as info:
        RunDir(link).create()
    assert info.value.location.file == str(link)
    assert not (tmp_path / "elsewhere").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(RunError) as info:
        RunDir(tmp_path / "file" / "run").create()
    assert info.value.location.file == str(tmp_path / "file" / "run")


@pytest.fixture
def raising_validate(monkeypatch, tmp_path):
    """``blueprint validate`` made to raise the given exception from its run."""
    import keras_blueprints.commands.validate as validate

    (tmp_path / "bp.yaml").write_text("inputs: {x: [2]}\ngraph: [{Dense: {units: 1}}]\n")
    monkeypatch.chdir(tmp_path)

    def make(exc: BaseException) -> None:
        def run(args):
            raise exc

        monkeypatch.setattr(validate, "run", run)

    return make


def test_out_of_memory_is_a_located_error_with_a_hint(raising_validate, capsys):
    import tensorflow as tf

    for exc, memory in (
        (MemoryError("Unable to allocate 8.00 GiB for an array"), "host memory"),
        (tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor"), "memory"),
    ):
        assert is_out_of_memory(exc)
        raising_validate(exc)
        assert main(["validate", "--no-build", "bp.yaml"]) == EXIT_BLUEPRINT
        first, detail = capsys.readouterr().err.splitlines()[:2]
        assert first.startswith(f"bp.yaml: error: 'validate' ran out of {memory}")
        assert "--batch-size" in detail


def test_other_exceptions_are_still_internal_errors(raising_validate, capsys):
    raising_validate(RuntimeError("a bug"))
    assert not is_out_of_memory(RuntimeError("a bug"))
    assert main(["validate", "--no-build", "bp.yaml"]) == EXIT_INTERNAL
    assert "internal error" in capsys.readouterr().err


def test_the_checks_run_before_tensorflow_is_imported(tmp_path):
    from conftest import run_cli_isolated

    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"PK\x03\x04 truncated")
    np.save(tmp_path / "x.npy", np.zeros((1, 4), "float32"))
    for argv in (
        ["predict", str(bad), str(tmp_path / "x.npy"), "-o", str(tmp_path / "o.npy")],
        ["export", str(bad), "--out", str(tmp_path / "out")],
    ):
        status, heavy, _ = run_cli_isolated(argv)
        assert status == EXIT_BLUEPRINT
        assert "tensorflow" not in heavy
    assert not (tmp_path / "out").exists() and not (tmp_path / "o.npy").exists()


def test_evaluate_takes_a_smaller_batch(tmp_path, monkeypatch):
    from conftest import spiral_mlp

    import keras_blueprints.data as data
    from keras_blueprints.training.run import evaluate, train

    bp = tmp_path / "spiral.yaml"
    bp.write_text(spiral_mlp(points=20, epochs=1))
    run = train(bp, run_dir=tmp_path / "run", verbose=0).run_dir
    seen = []
    real = data.make_datasets

    def spy(*args, **kwargs):
        seen.append(kwargs["batch_size"])
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "make_datasets", spy)
    default = evaluate(run)
    smaller = evaluate(run, batch_size=3)
    assert seen == [16, 3]
    assert smaller.keys() == default.keys()
    for split, metrics in default.items():
        assert smaller[split]["loss"] == pytest.approx(metrics["loss"], rel=1e-4)

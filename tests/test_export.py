"""``blueprint export``: verified SavedModel, .keras, TFLite exports; predict from a SavedModel."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_blueprints._core.errors import RunError
from keras_blueprints.cli import main
from keras_blueprints.export import (
    DEFAULT_TOLERANCE,
    SavedModelRunner,
    core,
    export_model,
    is_saved_model,
)
from keras_blueprints.training.run import load_trained, train

SPIRALS = textwrap.dedent(
    """\
    name: spiral_mlp
    inputs: {point: [2]}
    graph:
      - {name: hidden, Dense: {units: 8, activation: relu}}
      - {name: probabilities, Dense: {units: 2, activation: softmax}}
    compile: {optimizer: adam, loss: sparse_categorical_crossentropy, metrics: [accuracy]}
    data: {source: {spirals: {points_per_class: 40}}, validation: 0.25, batch_size: 16}
    train: {epochs: 1, seed: 2, callbacks: []}
    """
)
SEQ2SEQ = [
    "data.source.sequences.count=120",
    "data.source.sequences.length=6",
    "params.units=8",
    "train.callbacks=[]",
]


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mlp")
    (folder / "spiral.yaml").write_text(SPIRALS)
    return train(folder / "spiral.yaml", run_dir=folder / "run", verbose=0).run_dir


@pytest.fixture(scope="module")
def seq2seq_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("s2s")
    return train("zoo:seq2seq_lstm", SEQ2SEQ, run_dir=folder / "run", epochs=1, verbose=0).run_dir


@pytest.fixture(scope="module")
def mlp_export(mlp_run, tmp_path_factory) -> tuple[Path, str]:
    """The MLP run exported through the command line, and what the command printed."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("exports") / "mlp" / "1"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["export", str(mlp_run), "--out", str(out)])
    assert status == 0, printed.getvalue()
    return out, printed.getvalue()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- SavedModel ------------------------------------------------------------------------------


def test_saved_model_signature_carries_the_blueprint_names(mlp_run, mlp_export):
    out, printed = mlp_export
    assert is_saved_model(out)
    assert "serving_default: max |export - Keras| = " in printed
    assert "signature serving_default: point float32[N, 2] -> probabilities float32[N, 2]" in (
        printed
    )
    shown = subprocess.run(
        ["saved_model_cli", "show", "--dir", str(out), "--tag_set", "serve",
         "--signature_def", "serving_default"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    inputs, outputs = shown.split("output(s):")
    assert "inputs['point']" in inputs and "dtype: DT_FLOAT" in inputs
    assert "shape: (-1, 2)" in inputs
    assert "outputs['probabilities']" in outputs and "shape: (-1, 2)" in outputs
    record = json.loads((out / "export.json").read_text())
    blueprint_hash = hashlib.sha256((mlp_run / "blueprint.yaml").read_bytes()).hexdigest()
    assert record["blueprint_sha256"] == blueprint_hash
    assert (record["format"], record["blueprint"]) == ("saved_model", "spiral_mlp")
    assert record["signatures"]["serving_default"] == {
        "inputs": {"point": {"shape": [None, 2], "dtype": "float32"}},
        "outputs": {"probabilities": {"shape": [None, 2], "dtype": "float32"}},
    }
    check = record["verification"]
    assert check["passed"] is True and check["tolerance"] == DEFAULT_TOLERANCE["saved_model"]
    assert check["sample"] == "16 validation examples of the run's data"
    assert 0 <= check["max_abs_diff"]["serving_default"] <= 1e-4
    assert set(record["versions"]) >= {"tensorflow", "keras", "keras_blueprints"}
    assert not _leftovers(out.parent)


def test_the_saved_model_reproduces_the_keras_model(mlp_run, mlp_export):
    out, _ = mlp_export
    x = np.random.default_rng(5).normal(size=(300, 2)).astype("float32")
    served = tf.saved_model.load(str(out)).signatures["serving_default"](point=tf.constant(x))
    expected = load_trained(mlp_run / "model.keras").predict(x, verbose=0)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)


def test_predict_serves_a_saved_model_without_the_blueprint(mlp_run, mlp_export, tmp_path):
    out, _ = mlp_export
    served = tmp_path / "served"
    shutil.copytree(out, served)  # away from the run: only the SavedModel is there
    x = np.random.default_rng(6).normal(size=(70, 2))  # float64: cast to the signature's dtype
    np.save(tmp_path / "in.npy", x)
    argv = ["predict", str(served), str(tmp_path / "in.npy"), "-o", str(tmp_path / "out.npy")]
    assert main([*argv, "--batch-size", "32"]) == 0
    expected = load_trained(mlp_run / "model.keras").predict(x.astype("float32"), verbose=0)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-5)
    runner = SavedModelRunner(served)
    assert [(i.name, i.shape, i.dtype) for i in runner.inputs] == [("point", (None, 2), "float32")]
    assert runner.output_names == ["probabilities"]


# -- encoder-decoders: the inference path ------------------------------------------------------


def test_seq2seq_export_holds_the_inference_path(seq2seq_run, tmp_path):
    import keras

    import keras_blueprints as kb
    from keras_blueprints.builders.model import build_models
    from keras_blueprints.export.decode import greedy_decode

    out = tmp_path / "s2s"
    result = export_model(seq2seq_run, out)
    assert set(result.max_abs_diff) == {"serving_default", "encoder", "decoder_step", "decode"}
    assert all(d <= 1e-4 for d in result.max_abs_diff.values())
    record = result.record
    assert record["decode"] == {"max_length": 7, "start_token": 10, "end_token": 11}
    assert record["signatures"]["decoder_step"]["inputs"] == {
        "c": {"shape": [None, 8], "dtype": "float32"},
        "h": {"shape": [None, 8], "dtype": "float32"},
        "token": {"shape": [None, None, 12], "dtype": "float32"},
    }
    assert set(record["signatures"]["decoder_step"]["outputs"]) == {
        "probabilities", "decoder_1", "decoder_2"
    }  # fmt: skip
    assert record["signatures"]["decode"]["outputs"] == {
        "tokens": {"shape": [None, 7], "dtype": "int64"}
    }

    keras.backend.clear_session()
    models = build_models(kb.load(seq2seq_run / "blueprint.yaml"), compile=False)
    models["model"].load_weights(seq2seq_run / "model.keras")
    rng = np.random.default_rng(7)
    source = np.eye(12, dtype="float32")[rng.integers(0, 10, (5, 6))]
    served = tf.saved_model.load(str(out)).signatures
    tokens = served["decode"](source=tf.constant(source))["tokens"].numpy()
    expected = greedy_decode(
        models["encoder"], models["decoder_step"], source,
        start_token=10, end_token=11, max_length=7,
    )  # fmt: skip
    np.testing.assert_array_equal(tokens, expected)
    # A target length other than the batch size: Keras' TimeDistributed, traced with an
    # unknown time axis, maps over the batch instead (the export works around it).
    target = np.eye(12, dtype="float32")[rng.integers(0, 12, (5, 3))]
    got = served["serving_default"](source=tf.constant(source), target=tf.constant(target))
    want = models["model"]([source, target])
    assert got["probabilities"].shape == (5, 3, 12)
    np.testing.assert_allclose(got["probabilities"].numpy(), np.asarray(want), atol=1e-5)


# -- verification, --out and --overwrite ------------------------------------------------------


def _corrupting(monkeypatch):
    """Makes every SavedModel written carry a damaged weight (after the reference ran)."""
    original = core.write_saved_model

    def write(path, models, endpoints):
        weight = models[0].weights[0]
        weight.assign(weight + 1.0)
        try:
            original(path, models, endpoints)
        finally:
            weight.assign(weight - 1.0)

    monkeypatch.setattr(core, "write_saved_model", write)


def test_a_failed_verification_leaves_out_untouched(mlp_run, tmp_path, monkeypatch, capsys):
    _corrupting(monkeypatch)
    fresh = tmp_path / "fresh"
    assert main(["export", str(mlp_run), "--out", str(fresh)]) == 2
    err = capsys.readouterr().err
    assert "verification failed for serving_default" in err and "Traceback" not in err
    assert not fresh.exists() and not _leftovers(tmp_path)

    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("the user's")
    assert main(["export", str(mlp_run), "--out", str(kept), "--overwrite"]) == 2
    assert [p.name for p in kept.iterdir()] == ["mine.txt"]
    assert (kept / "mine.txt").read_text() == "the user's"
    assert not _leftovers(tmp_path)


def test_overwrite_replaces_only_when_asked(mlp_run, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    assert main(["export", str(mlp_run), "--out", str(out)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert (out / "old.txt").is_file()
    assert main(["export", str(mlp_run), "--out", str(out), "--overwrite"]) == 0
    assert not (out / "old.txt").exists() and is_saved_model(out)
    assert not _leftovers(tmp_path)


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    }


@pytest.mark.parametrize("where", ["same", "inside", "parent"])
def test_out_overlapping_the_source_run_is_refused(mlp_run, where, capsys):
    before = _tree(mlp_run)
    out = {"same": mlp_run, "inside": mlp_run / "export", "parent": mlp_run.parent}[where]
    assert main(["export", str(mlp_run), "--out", str(out), "--overwrite"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and errors[0].startswith(f"{out}: error: ")
    assert _tree(mlp_run) == before


def test_out_overlapping_the_source_through_a_link_is_refused(mlp_run, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(mlp_run)
    before = _tree(mlp_run)
    assert main(["export", str(mlp_run / "model.keras"), "--out", str(link), "--overwrite"]) == 2
    assert _tree(mlp_run) == before


def test_export_files_get_the_users_umask(mlp_run, tmp_path):
    out = tmp_path / "exports" / "1"
    saved = os.umask(0o027)
    try:
        assert main(["export", str(mlp_run), "--out", str(out), "--format", "keras"]) == 0
    finally:
        os.umask(saved)
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [out, *out.rglob("*")]}
    assert modes[out] == 0o750
    assert all(m == (0o750 if p.is_dir() else 0o640) for p, m in modes.items()), modes


def test_max_abs_diff_sees_shapes_names_and_nans():
    a = {"y": np.array([[1.0, np.nan]])}
    assert core.max_abs_diff(a, {"y": np.array([[1.5, np.nan]])}) == 0.5
    assert core.max_abs_diff(a, {"y": np.array([[1.0, 2.0]])}) == float("inf")
    assert core.max_abs_diff(a, {"y": np.zeros((2, 2))}) == float("inf")
    assert core.max_abs_diff(a, {"z": a["y"]}) == float("inf")


# -- other formats -----------------------------------------------------------------------------


def test_keras_and_tflite_exports_are_verified(mlp_run, tmp_path):
    keras_out = export_model(mlp_run, tmp_path / "k", format="keras")
    assert sorted(p.name for p in keras_out.out.iterdir()) == ["export.json", "model.keras"]
    assert keras_out.max_abs_diff["model"] <= 1e-6

    lite = export_model(mlp_run / "model.keras", tmp_path / "t", format="tflite")
    assert sorted(p.name for p in lite.out.iterdir()) == ["export.json", "model.tflite"]
    assert 0 <= lite.max_abs_diff["serving_default"] <= DEFAULT_TOLERANCE["tflite"]
    assert lite.record["signatures"]["serving_default"]["inputs"] == {
        "point": {"shape": [None, 2], "dtype": "float32"}
    }
    assert lite.record["verification"]["tolerance"] == 1e-3
    assert not _leftovers(tmp_path)


def test_a_bare_keras_file_is_verified_on_random_data(mlp_run, tmp_path):
    alone = tmp_path / "alone.keras"
    shutil.copy(mlp_run / "model.keras", alone)
    result = export_model(alone, tmp_path / "sm", samples=9)
    assert result.record["verification"]["sample"] == "9 random examples"
    assert result.record["blueprint_sha256"] is None and result.record["blueprint"] == "spiral_mlp"


def test_tflite_refuses_an_unknown_sequence_length(seq2seq_run, tmp_path, capsys):
    out = tmp_path / "lite"
    assert main(["export", str(seq2seq_run), "--out", str(out), "--format", "tflite"]) == 2
    err = capsys.readouterr().err
    assert "the TFLite converter refused the model" in err and "fixed length" in err
    assert not out.exists() and not _leftovers(tmp_path)


# -- bad arguments -------------------------------------------------------------------------------


def test_bad_arguments_exit_2_with_a_clear_error(mlp_run, mlp_export, tmp_path, capsys):
    assert (
        main(["export", str(mlp_run), "--out", str(tmp_path / "o"), "--format", "savedmodel"]) == 2
    )
    err = capsys.readouterr().err
    assert "'savedmodel' is not an export format" in err
    assert "Did you mean 'saved_model'?" in err

    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "no run directory or model at" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "is not a run directory" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()

    np.save(tmp_path / "in.npy", np.zeros((2, 2), "float32"))
    for not_a_model in (tmp_path / "empty", tmp_path / "in.npy"):
        argv = [
            "predict",
            str(not_a_model),
            str(tmp_path / "in.npy"),
            "-o",
            str(tmp_path / "o.npy"),
        ]
        assert main(argv) == 2
        assert "no trained model at" in capsys.readouterr().err
    out, _ = mlp_export
    argv = ["predict", str(out), str(tmp_path / "in.npy"), "-o", str(tmp_path / "o.npy")]
    assert main([*argv, "--signature", "serve"]) == 2
    assert "'serve' is not a signature of the SavedModel" in capsys.readouterr().err
    np.save(tmp_path / "wrong.npy", np.zeros((2, 3), "float32"))
    assert (
        main(["predict", str(out), str(tmp_path / "wrong.npy"), "-o", str(tmp_path / "o.npy")]) == 2
    )
    assert "the array for input 'point' has the wrong shape" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()
    with pytest.raises(RunError, match="is not a SavedModel"):
        SavedModelRunner(tmp_path / "empty")


def test_an_export_removes_only_what_killed_exports_left(mlp_run, tmp_path):
    import os

    from keras_blueprints.training.lock import try_lock

    out = tmp_path / "out"
    stale = [tmp_path / ".out.export-k1ll3d_a", tmp_path / ".out.saved-k1ll3d_b"]
    for folder in stale:  # what a SIGKILLed export leaves: its staging directories
        (folder / "variables").mkdir(parents=True)
        (folder / "saved_model.pb").write_bytes(b"\0" * 64)
    live = tmp_path / ".out.export-alive_12"  # a concurrent export, still writing
    live.mkdir()
    others = [tmp_path / ".other.export-abcdefgh", tmp_path / ".out.export-mine", live]
    for folder in others[:2]:
        folder.mkdir()
    held = try_lock(live)
    assert held is not None
    try:
        export_model(mlp_run, out, format="keras")
    finally:
        os.close(held)
    assert not [p for p in stale if p.exists()]
    assert all(p.is_dir() for p in others)
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "model.keras"]

"""TFLite: post-training quantization verified against Keras; ``predict`` on a ``.tflite`` file."""

from __future__ import annotations

import contextlib
import io
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from keras_blueprints.cli import main
from keras_blueprints.export.tflite import QUANTIZATIONS, TFLiteRunner
from keras_blueprints.training.run import load_trained, train

# Wide enough hidden layers that quantizing the weights shows in the file size (the converter
# leaves tensors under 1024 values in float32).
SPIRALS = textwrap.dedent(
    """\
    name: spiral_wide
    inputs: {point: [2]}
    graph:
      - {name: hidden, Dense: {units: 64, activation: relu}}
      - {name: wider, Dense: {units: 64, activation: relu}}
      - {name: probabilities, Dense: {units: 2, activation: softmax}}
    compile: {optimizer: adam, loss: sparse_categorical_crossentropy, metrics: [accuracy]}
    data:
      source: {spirals: {points_per_class: 60}}
      validation: 0.2
      test: 0.25
      batch_size: 16
    train: {epochs: 2, seed: 2, callbacks: []}
    """
)
# Largest |TFLite - Keras| on the probabilities, and the least argmax agreement, per mode.
BOUNDS = {"none": (1e-5, 1.0), "float16": (5e-3, 1.0), "dynamic": (0.05, 0.95), "int8": (0.1, 0.9)}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lite")
    (folder / "spiral.yaml").write_text(SPIRALS)
    return train(folder / "spiral.yaml", run_dir=folder / "run", verbose=0).run_dir


@pytest.fixture(scope="module")
def exports(run, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """Each quantization exported through the command line, with what it printed."""
    root = tmp_path_factory.mktemp("exports")
    found = {}
    for mode in QUANTIZATIONS:
        printed = io.StringIO()
        argv = ["export", str(run), "--out", str(root / mode), "--format", "tflite"]
        with contextlib.redirect_stdout(printed):
            status = main([*argv, "--quantize", mode, "--representative", "40"])
        assert status == 0, printed.getvalue()
        found[mode] = root / mode, printed.getvalue()
    return found


def _test_inputs(run: Path, tmp_path: Path) -> np.ndarray:
    """The run's test inputs (int8 is calibrated for the data's range), saved as in.npy."""
    from keras_blueprints.export import core
    from keras_blueprints.training.run import load_run_blueprint

    data = core._tflite_data(core._Source(run / "model.keras", run), load_run_blueprint(run), 1)
    x = data.x["point"] if isinstance(data.x, dict) else data.x
    np.save(tmp_path / "in.npy", x)
    return x


@pytest.mark.parametrize("mode", QUANTIZATIONS)
def test_predict_on_each_quantization_is_close_to_keras(run, exports, mode, tmp_path):
    out, printed = exports[mode]
    assert f"quantization {mode}: " in printed
    x = _test_inputs(run, tmp_path)
    argv = ["predict", str(out / "model.tflite"), str(tmp_path / "in.npy")]
    assert main([*argv, "-o", str(tmp_path / "out.npy"), "--batch-size", "16"]) == 0
    got = np.load(tmp_path / "out.npy")
    want = load_trained(run / "model.keras").predict(x, verbose=0)
    assert got.shape == want.shape == (24, 2) and got.dtype == np.float32
    worst, agreement = BOUNDS[mode]
    assert np.abs(got - want).max() <= worst
    assert np.mean(got.argmax(-1) == want.argmax(-1)) >= agreement


@pytest.mark.parametrize("mode", QUANTIZATIONS)
def test_export_json_records_the_quantization(exports, mode):
    out, _ = exports[mode]
    record = json.loads((out / "export.json").read_text())
    q = record["quantization"]
    assert q["mode"] == mode
    assert q["file_bytes"] == (out / "model.tflite").stat().st_size
    assert q["metric"] == "accuracy" and q["data"] == "24 test examples"
    assert 0 <= q["keras"] <= 1 and 0 <= q["tflite"] <= 1
    assert q["difference"] == pytest.approx(q["tflite"] - q["keras"])
    assert abs(q["difference"]) <= 1 - BOUNDS[mode][1] + 1e-9
    assert q["max_abs_diff"] == record["verification"]["max_abs_diff"]["serving_default"]
    assert q["max_abs_diff"] <= BOUNDS[mode][0]
    assert q["representative"] == ("40 training examples" if mode == "int8" else None)
    assert record["signatures"]["serving_default"]["inputs"] == {
        "point": {"shape": [None, 2], "dtype": "float32"}
    }
    stored = q["stored"]["inputs"]["point"]
    assert stored["dtype"] == ("int8" if mode == "int8" else "float32")
    assert (stored["scale"] > 0) == (mode == "int8")


def test_file_sizes_order_by_quantization(exports):
    size = {m: (out / "model.tflite").stat().st_size for m, (out, _) in exports.items()}
    assert size["int8"] < size["float16"] < size["none"]
    assert size["dynamic"] < size["float16"]


def test_the_runner_quantizes_inputs_and_dequantizes_outputs(run, exports, tmp_path):
    runner = TFLiteRunner(exports["int8"][0] / "model.tflite")
    assert [(t.name, t.shape, t.dtype) for t in runner.inputs] == [("point", (None, 2), "float32")]
    x = _test_inputs(run, tmp_path)
    got = runner({"point": x}, batch_size=7)["probabilities"]
    assert got.dtype == np.float32 and got.shape == (24, 2)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=0.05)  # dequantized probabilities


def test_bad_quantization_arguments_exit_2(run, exports, tmp_path, capsys):
    argv = ["export", str(run), "--out", str(tmp_path / "o")]
    assert main([*argv, "--format", "tflite", "--quantize", "int9"]) == 2
    err = capsys.readouterr().err
    assert "'int9' is not a TFLite quantization" in err and "Did you mean 'int8'?" in err
    assert main([*argv, "--quantize", "int8"]) == 2
    assert "--quantize applies to TFLite exports only" in capsys.readouterr().err
    assert main([*argv, "--format", "tflite", "--quantize", "int8", "--representative", "0"]) == 2
    assert "representative examples must be a positive integer" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()

    np.save(tmp_path / "in.npy", np.zeros((2, 2), "float32"))
    predict = ["predict", str(tmp_path / "missing.tflite"), str(tmp_path / "in.npy")]
    assert main([*predict, "-o", str(tmp_path / "o.npy")]) == 2
    assert "no TFLite model at" in capsys.readouterr().err
    lite = str(exports["none"][0] / "model.tflite")
    predict = ["predict", lite, str(tmp_path / "in.npy"), "-o", str(tmp_path / "o.npy")]
    assert main([*predict, "--signature", "decode"]) == 2
    assert "a TFLite model has no signature 'decode'" in capsys.readouterr().err
    np.save(tmp_path / "wrong.npy", np.zeros((2, 3), "float32"))
    assert main(["predict", lite, str(tmp_path / "wrong.npy"), "-o", str(tmp_path / "o.npy")]) == 2
    assert "the array for input 'point' has the wrong shape" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()

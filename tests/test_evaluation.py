"""What a trained model is judged by: RUN_DIR/evaluation/ (confusion matrix, per-class scores)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import spiral_mlp

from keras_blueprints.evaluation.classification import confusion_matrix, per_class_scores
from keras_blueprints.training.run import evaluate, train


def test_per_class_scores_by_hand():
    matrix = confusion_matrix(np.array([0, 0, 0, 1, 1, 2]), np.array([0, 0, 1, 1, 2, 2]), 3)
    assert matrix.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    scores = per_class_scores(matrix)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["precision"] == pytest.approx([1.0, 0.5, 0.5])
    assert scores["recall"] == pytest.approx([2 / 3, 0.5, 1.0])
    assert scores["f1"] == pytest.approx([0.8, 0.5, 2 / 3])
    assert scores["support"] == [3, 2, 1]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    path = tmp_path_factory.mktemp("bp") / "spiral.yaml"
    path.write_text(spiral_mlp(points=60, epochs=2))
    return train(path, run_dir=tmp_path_factory.mktemp("runs") / "run", verbose=0)


def test_confusion_matrix_agrees_with_the_metrics(finished):
    run = finished.run_dir
    judged = json.loads((run / "evaluation" / "evaluation.json").read_text())
    assert (judged["task"], judged["split"]) == ("classification", "test")
    matrix = np.array(judged["confusion_matrix"])
    assert matrix.sum(axis=1).tolist() == judged["support"] == [12, 12]  # test points per arm
    accuracy = finished.metrics["test"]["accuracy"]
    assert np.trace(matrix) == round(accuracy * matrix.sum())
    assert judged["accuracy"] == pytest.approx(accuracy)
    assert (run / "evaluation" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_writes_the_judgement_too(finished):
    target = finished.run_dir / "evaluation" / "evaluation.json"
    target.unlink()
    metrics = evaluate(finished.run_dir)
    judged = json.loads(target.read_text())
    (split,) = metrics
    assert judged["split"] == split
    assert judged["accuracy"] == pytest.approx(metrics[split]["accuracy"])


def test_zoo_unet_reports_iou_and_dice_on_its_masks():
    import keras_blueprints as kb

    model = kb.build(kb.load("zoo:unet", overrides=["params.size=32", "params.depth=2"]))
    y = np.zeros((1, 32, 32, 1), "float32")
    y[:, :16] = 1  # half the image is the shape
    assert "iou" in model.evaluate(y, y, verbose=0, return_dict=True)
    metric = next(m for m in model.metrics[-1].metrics if m.name == "iou")
    metric.reset_state()
    prediction = np.zeros_like(y)
    prediction[:, :8] = 0.9  # a quarter predicted, inside the truth: IoU 1/2
    metric.update_state(y, prediction)
    assert float(metric.result()) == pytest.approx(0.5, abs=1e-6)
    dice = next(m for m in model.metrics[-1].metrics if m.name == "dice")
    dice.reset_state()
    dice.update_state(y, prediction)
    # TP = 256 pixels, FN = 256, FP = 0: Dice = 2 * 256 / (2 * 256 + 256) = 2/3 = 2 IoU / (1 + IoU)
    assert float(dice.result()) == pytest.approx(2 / 3, abs=1e-6)
    dice.update_state(y, y)  # accumulated over the epoch, like IoU: 2 * 768 / (2 * 768 + 256)
    assert float(dice.result()) == pytest.approx(1536 / 1792, abs=1e-6)


def test_a_failing_judgement_never_fails_a_finished_run(tmp_path, monkeypatch, capsys):
    import keras_blueprints.evaluation as evaluation
    from keras_blueprints.cli import main

    def broken(*args, **kwargs):
        raise RuntimeError("no pictures today")

    monkeypatch.setattr(evaluation, "judge", broken)
    run_dir = tmp_path / "run"
    assert main(["train", "zoo:perceptron", "--run-dir", str(run_dir), "--epochs", "1"]) == 0
    assert "no pictures today" in capsys.readouterr().err
    assert (run_dir / "model.keras").is_file()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"

"""``blueprint predict`` on a CSV table, writing a CSV table (issue 16), as Ludwig's does."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import FLOWERS, SPECIES

from keras_blueprints._core.errors import BlueprintError, RunError
from keras_blueprints.cli import main
from keras_blueprints.export.signatures import TensorInfo
from keras_blueprints.training.predict import (
    TableLayout,
    check_output_path,
    read_inputs,
    write_outputs,
)

# The flowers classifier, trained for two epochs on its own table, 20 % held out.
BLUEPRINT = FLOWERS.replace(
    "train: {epochs: 1}",
    "data: {source: {csv: {path: flowers.csv, label: species}}, validation: 0.2}\n"
    "train: {epochs: 2}",
)
HEADER = "sepal_length,sepal_width,petal_length,petal_width,species"


def _rows(count: int) -> list[str]:
    return [
        f"{5 + i % 3},{3 + i % 2},{1 + i % 5},{i % 4 / 2},{SPECIES[i % 3]}" for i in range(count)
    ]


@pytest.fixture(scope="module")
def flowers_run(tmp_path_factory):
    """A run trained on a CSV table whose labels are species names."""
    folder = tmp_path_factory.mktemp("flowers")
    (folder / "flowers.csv").write_text("\n".join([HEADER, *_rows(30)]) + "\n")
    (folder / "flowers.yaml").write_text(BLUEPRINT)
    run_dir = folder / "run"
    assert main(["train", str(folder / "flowers.yaml"), "--run-dir", str(run_dir), "--quiet"]) == 0
    return folder, run_dir


def _read(path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_the_run_keeps_the_class_names_in_sorted_order(flowers_run):
    _, run_dir = flowers_run
    assert json.loads((run_dir / "classes.json").read_text()) == sorted(SPECIES)


def test_predict_reads_the_training_columns_and_writes_names_and_probabilities(flowers_run, capsys):
    folder, run_dir = flowers_run
    # New rows, the columns in another order, and no label column.
    fresh = folder / "fresh.csv"
    order = ["petal_width", "sepal_length", "petal_length", "sepal_width"]
    lines = [",".join(order)]
    features = []
    for i in range(7):
        row = {"sepal_length": 4 + i, "sepal_width": 3, "petal_length": i % 5, "petal_width": 0.5}
        features.append([row[c] for c in HEADER.split(",")[:4]])
        lines.append(",".join(str(row[c]) for c in order))
    fresh.write_text("\n".join(lines) + "\n")
    out = folder / "fresh_predictions.csv"
    assert main(["predict", str(run_dir), str(fresh), "-o", str(out)]) == 0
    rows = _read(out)
    names = sorted(SPECIES)
    assert list(rows[0]) == [
        "probabilities_prediction",
        "probabilities_probability",
        *(f"probabilities_probability_{n}" for n in names),
    ]
    assert len(rows) == 7
    # The same numbers as the model on the same features, in the training column order.
    np.save(folder / "fresh.npy", np.array(features, "float32"))
    npy = ["predict", str(run_dir), str(folder / "fresh.npy"), "-o", str(folder / "p.npy")]
    assert main(npy) == 0
    capsys.readouterr()
    expected = np.load(folder / "p.npy")
    table = np.array([[float(r[f"probabilities_probability_{n}"]) for n in names] for r in rows])
    np.testing.assert_allclose(table, expected, atol=1e-5)
    assert [r["probabilities_prediction"] for r in rows] == [names[i] for i in expected.argmax(1)]
    best = [float(r["probabilities_probability"]) for r in rows]
    np.testing.assert_allclose(best, expected.max(1), atol=1e-5)


def test_predict_skips_the_label_column_of_a_training_file(flowers_run, capsys):
    folder, run_dir = flowers_run
    out = folder / "again.csv"
    assert main(["predict", str(run_dir), str(folder / "flowers.csv"), "-o", str(out)]) == 0
    assert len(_read(out)) == 30
    assert "wrote" in capsys.readouterr().out


def test_a_missing_feature_column_is_located_with_the_closest_name(flowers_run, capsys):
    folder, run_dir = flowers_run
    bad = folder / "bad.csv"
    bad.write_text("sepal_length,sepal_width,petal_lenght,petal_width\n1,2,3,4\n")
    assert main(["predict", str(run_dir), str(bad), "-o", str(folder / "x.csv")]) != 0
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:1:1: error: ")
    assert "petal_length" in err and "petal_lenght" in err
    assert not (folder / "x.csv").exists()


def test_a_cell_that_is_not_a_number_is_located(flowers_run, capsys):
    folder, run_dir = flowers_run
    bad = folder / "cell.csv"
    bad.write_text(HEADER[: HEADER.rindex(",")] + "\n1,2,3,4\n1,2,x,4\n")
    assert main(["predict", str(run_dir), str(bad), "-o", str(folder / "y.csv")]) != 0
    assert capsys.readouterr().err.startswith(f"{bad}:3:5: error: ")


VECTOR = [TensorInfo("features", (None, 4), "float32")]


def test_a_table_with_another_number_of_features_is_refused(tmp_path):
    table = tmp_path / "three.csv"
    table.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(BlueprintError) as caught:
        read_inputs(table, VECTOR)
    assert (caught.value.location.line, caught.value.location.col) == (1, 1)
    assert "4" in str(caught.value.expected) and "3" in str(caught.value.received)


def test_a_table_feeds_only_a_model_of_one_vector_input(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n")
    image = [TensorInfo("image", (None, 8, 8, 1), "float32")]
    with pytest.raises(BlueprintError) as caught:
        read_inputs(table, image)
    assert "image" in str(caught.value.received)
    default = read_inputs(tmp_path / "t.csv", [TensorInfo("x", (None, 2), "float32")])
    np.testing.assert_array_equal(default["x"], [[1.0, 2.0]])
    skipped = tmp_path / "labelled.csv"
    skipped.write_text("a,label,b\n1,9,2\n")
    got = read_inputs(skipped, [TensorInfo("x", (None, 2), "float32")], TableLayout())
    np.testing.assert_array_equal(got["x"], [[1.0, 2.0]])


def test_outputs_of_images_do_not_fit_a_table_and_are_refused_before_predicting(tmp_path):
    with pytest.raises(RunError):
        check_output_path(tmp_path / "masks.csv", ["mask"], [(None, 16, 16, 1)])
    assert check_output_path(tmp_path / "p.csv", ["p"], [(None, 3)]).suffix == ".csv"
    with pytest.raises(RunError):
        check_output_path(tmp_path / "p.txt", ["p"], [(None, 3)])
    assert check_output_path(tmp_path / "P.CSV", ["p"], [(None, 3)]).name == "P.CSV"
    with pytest.raises(RunError):  # NumPy would write P.NPY.npy
        check_output_path(tmp_path / "P.NPY", ["p"], [(None, 3)])


def test_table_columns_for_sigmoids_regressions_and_vectors(tmp_path):
    out = tmp_path / "o.csv"
    outputs = {
        "spam": np.array([[0.2], [0.9]]),
        "price": np.array([1.5, 2.0]),
        "embedding": np.array([[1.0, 2.0], [3.0, -4.0]]),
    }
    write_outputs(out, outputs, classes=("ham", "spam"))
    rows = _read(out)
    assert list(rows[0]) == [
        "spam_prediction",
        "spam_probability",
        "spam_probability_ham",
        "spam_probability_spam",
        "price",
        "embedding_0",
        "embedding_1",
    ]
    assert [r["spam_prediction"] for r in rows] == ["ham", "spam"]
    assert [float(r["spam_probability"]) for r in rows] == [0.8, 0.9]
    assert [r["embedding_1"] for r in rows] == ["2", "-4"]
    write_outputs(out, {"spam": np.array([[0.2], [0.9]])})  # no names: the value itself
    assert [r["spam"] for r in _read(out)] == ["0.2", "0.9"]


def test_an_export_keeps_the_names_and_the_columns(flowers_run, capsys):
    folder, run_dir = flowers_run
    export = folder / "served"
    assert main(["export", str(run_dir), "--out", str(export)]) == 0
    assert (export / "classes.json").is_file() and (export / "table.json").is_file()
    out = folder / "served.csv"
    assert main(["predict", str(export), str(folder / "flowers.csv"), "-o", str(out)]) == 0
    capsys.readouterr()
    rows = _read(out)
    assert len(rows) == 30
    assert {r["probabilities_prediction"] for r in rows} <= set(SPECIES)

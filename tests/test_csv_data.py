"""Your own data, as a new user meets it (issue 16): a CSV file, its label, its splits."""

from __future__ import annotations

import json

import pytest
from conftest import FLOWERS, SPECIES

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.cli import main

BLUEPRINT = FLOWERS


@pytest.fixture
def flowers(tmp_path):
    rows = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for i in range(30):
        rows.append(f"{5 + i % 3},{3 + i % 2},{1 + i % 5},{i % 4 / 2},{SPECIES[i % 3]}")
    (tmp_path / "flowers.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "flowers.yaml").write_text(BLUEPRINT)
    return tmp_path


def test_a_missing_label_column_lists_the_columns_and_how_to_name_it(flowers, capsys):
    args = ["train", str(flowers / "flowers.yaml"), "--data", str(flowers / "flowers.csv")]
    assert main([*args, "--run-dir", str(flowers / "run")]) != 0
    err = capsys.readouterr().err
    assert err.startswith(f"{flowers / 'flowers.csv'}:1:1: error: 'label' is not a column")
    assert "sepal_length, sepal_width, petal_length, petal_width, species" in err
    assert "label: COLUMN" in err and "--data" in err


def test_a_misspelt_feature_gets_the_closest_column(flowers):
    source = {"csv": {"path": str(flowers / "flowers.csv"), "label": "species"}}
    bp = kb.load(flowers / "flowers.yaml", [("data.source", source)])
    from keras_blueprints.data.pipeline import make_datasets

    bp = kb.load(
        flowers / "flowers.yaml",
        [("data.source", {"csv": {**source["csv"], "features": ["sepal_lenght"]}})],
    )
    with pytest.raises(BlueprintError) as caught:
        make_datasets(bp, seed=0)
    assert "sepal_length" in (caught.value.hint or "")


def test_text_labels_become_class_ids_in_sorted_order(flowers, capsys):
    data = f"{{csv: {{path: {flowers / 'flowers.csv'}, label: species}}}}"
    run_dir = flowers / "run"
    assert (
        main(["train", str(flowers / "flowers.yaml"), "--data", data, "--run-dir", str(run_dir)])
        == 0
    )
    out = capsys.readouterr().out
    # No split was asked for: the run says that every metric is on the training data.
    assert "note: no validation or test data" in out
    # The report draws the architecture from the run's blueprint, whose data lies outside
    # the run directory: loaded as the run allowed it, not refused.
    assert "<svg" in (run_dir / "report.html").read_text()
    from keras_blueprints.data.pipeline import make_datasets
    from keras_blueprints.training.run import load_run_blueprint

    bp = load_run_blueprint(run_dir)

    ids = [int(y) for _, ys in make_datasets(bp, seed=0).unshuffled("train") for y in ys]
    names = sorted(SPECIES)
    assert ids == [names.index(SPECIES[i % 3]) for i in range(30)]


def test_evaluate_measures_the_metrics_set_on_its_command_line(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "zoo:mlp", "--epochs", "1", "--run-dir", str(run_dir), "--quiet"]) == 0
    capsys.readouterr()
    extra = "compile.metrics=[accuracy, sparse_top_k_categorical_accuracy]"
    assert main(["evaluate", str(run_dir), "--json", "--set", extra]) == 0
    measured = json.loads(capsys.readouterr().out)["test"]
    assert set(measured) == {"loss", "accuracy", "sparse_top_k_categorical_accuracy"}
    assert measured["sparse_top_k_categorical_accuracy"] >= measured["accuracy"]


def test_a_metric_for_the_other_label_form_is_refused_at_its_place(capsys):
    bad = "compile.metrics=[accuracy, top_k_categorical_accuracy]"
    assert main(["validate", "zoo:mlp", "--no-build", "--set", bad]) != 0
    err = capsys.readouterr().err
    assert "sparse_top_k_categorical_accuracy" in err
    text = BLUEPRINT.replace("metrics: [accuracy]", "metrics: [accuracy, categorical_accuracy]")
    with pytest.raises(BlueprintError) as caught:
        kb.load(text)
    line = text.splitlines()[6]
    where = caught.value.location
    assert (where.line, where.col) == (7, line.index("categorical_accuracy]") + 1)

"""NaN, infinities and values that overflow float32 are refused before training, located."""

from __future__ import annotations

import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.data import pipeline
from keras_blueprints.data.examples import Examples
from keras_blueprints.data.pipeline import check_finite, load_examples
from keras_blueprints.resolve.schema import DataSpec, SourceSpec, freeze

HERE = Location("train.yaml", 6, 11)


def blueprint(dtype: str = "float32"):
    return kb.load(
        f"inputs: {{x: {{shape: [3], dtype: {dtype}}}}}\n"
        "graph:\n"
        "  - {name: out, Dense: {units: 2}}\n"
    )


def refused(x, y=None, dtype: str = "float32") -> BlueprintError:
    with pytest.raises(BlueprintError) as info:
        check_finite(Examples.from_arrays({"x": x}, y), blueprint(dtype), HERE, "source 'npz'")
    assert info.value.location == HERE
    return info.value


def features(rows: int = 10, dtype: str = "float64") -> np.ndarray:
    return np.arange(rows * 3, dtype=dtype).reshape(rows, 3)


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (np.nan, "NaN"),
        (np.inf, "an infinity"),
        (-np.inf, "an infinity"),
        (1e300, "a value too large"),
    ],
)
def test_a_non_finite_input_is_named_with_its_row_and_column(value, what):
    x = features()
    x[6, 2] = value
    err = refused(x)
    assert err.message.startswith(f"input 'x' of source 'npz' holds {what}")
    assert "row 7, column 3 (index [6, 2])" in err.message


def test_a_float64_input_keeps_its_range():
    x = features()
    x[6, 2] = 1e300
    check_finite(Examples.from_arrays({"x": x}), blueprint("float64"), HERE, "source 'npz'")
    x[6, 2] = np.nan
    assert "NaN" in refused(x, dtype="float64").message


def test_targets_are_checked_too():
    y = np.linspace(0, 1, 10)
    y[4] = np.nan
    err = refused(features(), y)
    assert err.message.startswith("the target array of source 'npz' holds NaN at row 5")
    labels = {"out": y.astype("float32")}
    assert refused(features(), labels).message.startswith("target 'out'")


def test_integer_and_finite_data_pass():
    ints = np.arange(30, dtype="int64").reshape(10, 3)
    check_finite(Examples.from_arrays({"x": ints}, ints[:, 0]), blueprint(), HERE, "source 'npz'")
    check_finite(Examples.from_arrays({"x": features()}), blueprint(), HERE, "source 'npz'")


def test_the_row_is_right_past_the_first_chunk(monkeypatch):
    monkeypatch.setattr(pipeline, "FINITE_CHUNK", 6)  # two rows of three at a time
    x = features(rows=9)
    x[7, 0] = np.inf
    x[8, 1] = np.nan
    err = refused(x)
    assert "row 8, column 1" in err.message
    assert "2 such value(s)" in str(err.received)


def test_images_are_named_by_their_index():
    x = np.zeros((4, 2, 2, 1), "float32")
    x[3, 1, 0, 0] = np.nan
    with pytest.raises(BlueprintError) as info:
        check_finite(
            Examples.from_arrays({"img": x}),
            kb.load("inputs: {img: [2, 2, 1]}\ngraph: [{Flatten: {}}]\n"),
            HERE,
            "source 'npz'",
        )
    assert "row 4 (index [3, 1, 0, 0])" in info.value.message


def test_a_data_file_with_nan_is_refused_where_the_source_is_declared(tmp_path):
    x = features()
    x[2, 1] = np.nan
    np.savez(tmp_path / "d.npz", x=x, y=np.zeros(10, "int32"))
    spec = DataSpec(
        source=SourceSpec("npz", freeze({"path": str(tmp_path / "d.npz")}), HERE),
        location=Location("train.yaml", 5, 1),
        validation=0.2,
    )
    with pytest.raises(BlueprintError) as info:  # before the validation share is drawn
        load_examples(blueprint(), spec, base_dir=tmp_path)
    assert info.value.location == HERE
    assert "row 3, column 2" in info.value.message

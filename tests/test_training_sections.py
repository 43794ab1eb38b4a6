"""The ``data:`` and ``train:`` sections: what they resolve to, and their errors."""

from __future__ import annotations

import textwrap

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, BlueprintErrors
from keras_blueprints.resolve.schema import SourceSpec
from keras_blueprints.views import plain

HEAD = """\
inputs: {x: [64]}
graph:
  - {name: hidden, Dense: {units: 8, activation: relu}}
  - {name: out, Dense: {units: 10, activation: softmax}}
"""


def load(text: str, overrides=()) -> kb.Blueprint:
    return kb.load(HEAD + textwrap.dedent(text).lstrip("\n"), overrides)


def errors_of(text: str) -> list[BlueprintError]:
    with pytest.raises(BlueprintError) as info:
        load(text)
    err = info.value
    return list(err.errors) if isinstance(err, BlueprintErrors) else [err]


def test_full_sections_resolve_to_typed_frozen_specs():
    bp = load(
        """
        data:
          source: {digits: {test_fraction: 0.25}}
          validation: 0.1
          batch_size: 16
          shuffle: 0
          cache: false
          label_noise: 0.05
        train:
          epochs: 3
          seed: 7
          steps_per_epoch: 5
          monitor: val_accuracy
          deterministic: false
          callbacks:
            - learning_curves
            - early_stopping: {patience: 2}
          pretrain: {pairs: [[hidden, out]], epochs: 2, noise: 0.1}
        """
    )
    data, train = bp.data, bp.train
    assert data.source.kind == "digits"
    assert data.source.args["test_fraction"] == 0.25
    assert data.source.args["layout"] == "auto"  # defaults filled in
    assert (data.validation, data.test) == (0.1, None)
    assert (data.batch_size, data.shuffle, data.cache, data.label_noise) == (16, 0, False, 0.05)
    assert (train.epochs, train.seed, train.steps_per_epoch) == (3, 7, 5)
    assert (train.monitor, train.deterministic) == ("val_accuracy", False)
    assert [c.name for c in train.callbacks] == ["learning_curves", "early_stopping"]
    assert train.callbacks[1].args["patience"] == 2
    assert train.pretrain.pairs == (("hidden", "out"),)
    assert (train.pretrain.epochs, train.pretrain.noise) == (2, 0.1)
    with pytest.raises(TypeError):
        data.source.args["layout"] = "flat"  # frozen


def test_defaults_and_the_short_forms():
    bp = load("data: digits\n")
    assert bp.data.source == SourceSpec("digits", bp.data.source.args)
    assert (bp.data.batch_size, bp.data.shuffle, bp.data.cache) == (32, 1024, True)
    assert bp.train is None
    assert load("train: {}\n").train.epochs == 10


@pytest.mark.parametrize(("name", "kind"), [("train.npz", "npz"), ("t.csv", "csv")])
def test_a_file_name_is_a_file_source(name, kind):
    bp = load(f"data: {{source: {name}}}\n")
    assert bp.data.source.kind == kind
    assert bp.data.source.args["path"] == name


def test_a_npy_file_alone_lacks_its_labels():
    (err,) = errors_of("data: {source: x.npy}\n")
    assert err.message == "data source 'npy' needs 'y'"
    assert (err.location.line, err.location.col) == (5, 16)


def test_params_reach_the_training_sections():
    bp = load("params: {epochs: 4}\ntrain: {epochs: '${epochs * 2}'}\n")
    assert bp.train.epochs == 8


def test_overrides_create_and_change_the_sections():
    bp = load("", ["data.source=spirals", "train.epochs=2", "data.batch_size=8"])
    assert (bp.data.source.kind, bp.train.epochs, bp.data.batch_size) == ("spirals", 2, 8)


def test_every_error_is_reported_together_at_its_position():
    errs = errors_of(
        """
        data: {source: digts, validation: 2, batch_size: 0, shufle: 3}
        train:
          epochs: 0
          callbacks: [lerning_curves, {early_stopping: {patiense: 3}}]
          pretrain: {pairs: [[hidden, dec]]}
        """
    )
    found = {(e.location.line, e.location.col): e for e in errs}
    assert found[(5, 16)].message == "'digts' is not a known data source"
    assert found[(5, 16)].hint.startswith("Did you mean 'digits'?")
    assert found[(5, 35)].message == "'validation' must be a fraction or a data source"
    assert found[(5, 50)].message == "'batch_size' must be a positive integer"
    assert found[(5, 53)].message == "'shufle' is not a data setting"
    assert found[(7, 11)].message == "'epochs' must be a positive integer"
    assert found[(8, 15)].message == "'lerning_curves' is not a known callback"
    assert found[(8, 15)].hint.startswith("Did you mean 'learning_curves'?")
    assert found[(8, 49)].message == "'patiense' is not a parameter of callback 'early_stopping'"
    assert found[(9, 31)].message == "'dec' is not a node of the graph"
    assert len(errs) == 8


def test_wrong_argument_types_and_choices():
    errs = errors_of("data: {source: {digits: {layout: round, test_fraction: big}}}\n")
    messages = sorted(e.message for e in errs)
    assert messages == [
        "parameter 'layout' of data source 'digits' is not one of its choices",
        "parameter 'test_fraction' of data source 'digits' has the wrong type",
    ]


def test_a_callback_listed_twice_is_refused():
    (err,) = errors_of("train: {callbacks: [learning_curves, learning_curves]}\n")
    assert err.message == "callback 'learning_curves' is listed twice"
    assert (err.location.line, err.location.col) == (5, 38)


def test_section_of_the_wrong_kind():
    (err,) = errors_of("train: [1, 2]\n")
    assert err.message == "'train' must be a mapping"
    (err,) = errors_of("data: 3\n")
    assert err.message == "'data' must be a mapping (or a source name)"


def test_plain_dump_keeps_the_sections_and_reloads_equal():
    bp = load(
        """
        data: {source: spirals, validation: 0.2, batch_size: 8}
        train: {epochs: 2, seed: 3, callbacks: [{early_stopping: {patience: 1}}]}
        """
    )
    again = kb.load(plain.dump(bp))
    assert again.data == bp.data
    assert again.train == bp.train


def test_validation_of_the_sections_never_imports_tensorflow():
    from tests.conftest import run_cli_isolated

    status, heavy, _ = run_cli_isolated(["validate", "--no-build", "zoo:lenet5"])
    assert (status, heavy) == (0, [])

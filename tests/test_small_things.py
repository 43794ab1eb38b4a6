"""Small things a new user met (issue 16): each one pinned."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.callbacks._dead_units import dead_fractions
from keras_blueprints.cli import _parser, main


def test_a_doubled_zoo_prefix_names_nothing(capsys):
    with pytest.raises(BlueprintError) as caught:
        kb.load("zoo:zoo:mlp")
    assert "'mlp'" in (caught.value.hint or "")  # the closest zoo name, suggested
    assert main(["validate", "zoo:zoo:mlp", "--no-build"]) != 0
    assert main(["validate", "zoo:mlp", "--no-build"]) == 0


def test_blocks_lists_each_blocks_parameters(capsys):
    assert main(["blocks", "dense_stack"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("dense_stack")
    params = [line.strip().split(":")[0] for line in lines[1:]]
    assert "units" in params and len(params) == len(kb.catalog.components.BLOCKS.lookup(
        "dense_stack").params)  # fmt: skip


def test_an_unknown_block_names_the_argument_and_the_closest_block(capsys):
    assert main(["blocks", "dense_stak"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("BLOCK: error:") and "<unknown>" not in err
    assert "dense_stack" in err


def test_help_says_what_each_option_is_for():
    parser = _parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    evaluate = {a.dest: a.help for a in subparsers["evaluate"]._actions}
    predict = {a.dest: a.help for a in subparsers["predict"]._actions}
    assert "training" not in evaluate["data"] and "test" in evaluate["data"]
    assert predict["batch_size"]


def test_dead_units_checks_a_one_input_model_without_a_keras_warning():
    model = kb.build("zoo:mlp")
    x = np.random.default_rng(0).random((4, 64), dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = dead_fractions(model, {model.inputs[0].name: x})
        again = dead_fractions(model, x)
    assert list(found) == list(again) == ["hidden1", "hidden2"]

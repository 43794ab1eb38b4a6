"""The parameter and data budgets: counted at load without TensorFlow, checked again at build."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import keras_blueprints as kb
from keras_blueprints import zoo
from keras_blueprints._core.errors import BlueprintError, Location, UsageError
from keras_blueprints._core.limits import DEFAULT_MAX_PARAMS, ENV, Limits
from keras_blueprints.resolve.budget import check_params

GOLDEN = Path(__file__).parent / "golden"


def _error(text: str, **kwargs) -> BlueprintError:
    with pytest.raises(BlueprintError) as info:
        kb.load(text, **kwargs)
    return info.value


def test_a_dense_layer_past_the_budget_is_refused_at_its_units():
    err = _error("inputs: {x: [64]}\ngraph:\n  - Dense: {units: 50000000}\n")
    assert err.location == Location("<string>", 3, 20)
    assert "3,250,000,000 parameters" in err.message
    assert f"{DEFAULT_MAX_PARAMS:,}" in err.expected
    assert "--max-params" in err.hint


def test_the_budget_is_raised_by_limits_or_the_environment(monkeypatch):
    text = "inputs: {x: [64]}\ngraph:\n  - Dense: {units: 50000000}\n"
    assert len(kb.load(text, limits=Limits(max_params=4_000_000_000)).nodes) == 1
    monkeypatch.setenv("BLUEPRINT_MAX_PARAMS", "4e9")
    assert len(kb.load(text).nodes) == 1
    monkeypatch.setenv("BLUEPRINT_MAX_PARAMS", "lots")
    with pytest.raises(UsageError) as info:  # the environment's, not the blueprint's
        kb.load(text)
    assert info.value.location == Location("$BLUEPRINT_MAX_PARAMS")


@pytest.mark.parametrize(
    ("layer", "column"),
    [
        ("Dense: {units: 1000000000000}", 20),
        ("Embedding: {input_dim: 10000000000, output_dim: 8}", 28),
        ("Conv1D: {filters: 1000000000, kernel_size: 3}", 23),
        ("Conv2DTranspose: {filters: 100000000, kernel_size: 5}", 32),
        ("SeparableConv1D: {filters: 1000000000, kernel_size: 3}", 32),
        ("LSTM: {units: 100000}", 19),
        ("Bidirectional: {layer: {LSTM: {units: 20000}}}", 28),
        ("TimeDistributed: {layer: {Dense: {units: 1000000000000}}}", 30),
    ],
)
def test_each_kind_of_layer_is_counted_whatever_comes_before(layer, column):
    # The layer after the block has an unknown input: its own arguments are enough.
    text = f"inputs: {{x: [null, 4]}}\ngraph:\n  - dense_stack: {{units: 4}}\n  - {layer}\n"
    err = _error(text)
    assert (err.location.line, err.location.col) == (4, column), err.format()


def test_the_first_node_past_the_total_is_the_one_refused():
    text = "inputs: {x: [1000]}\ngraph:\n" + "  - Dense: {units: 1000}\n" * 3
    err = _error(text, limits=Limits(max_params=2_500_000))
    assert err.location.line == 5 and "3,003,000 parameters" in err.message


EXACT = ("lenet5", "mlp", "mlp_search", "autoencoder_dense", "autoencoder_conv_denoising")
"""Zoo models made of layers with a formula only: the count at load is their own."""


@pytest.mark.parametrize("name", zoo.names())
def test_the_count_at_load_never_exceeds_the_model_and_is_exact_without_blocks(name):
    bp = kb.load(f"zoo:{name}")
    golden = json.loads((GOLDEN / f"{name}.json").read_text())["params"]
    check_params(bp.nodes, bp.inputs, Limits(max_params=golden))  # never above the truth
    if name in EXACT:
        with pytest.raises(BlueprintError):
            check_params(bp.nodes, bp.inputs, Limits(max_params=golden - 1))


@pytest.mark.parametrize(
    ("data", "at"),
    [
        ("{source: {spirals: {points_per_class: 10000000000}}}", "10000000000"),
        ("{source: {shapes: {count: 1000000000}}}", "1000000000"),
        ("{source: digits, shuffle: 1000000000000}", "1000000000000"),
        ("{source: digits, batch_size: 1000000000}", "1000000000"),
    ],
)
def test_data_sizes_are_bounded_at_load(data, at):
    inputs = "[2]" if "spirals" in data else "[32, 32, 1]" if "shapes" in data else "[64]"
    line = f"data: {data}"
    text = f"inputs: {{x: {inputs}}}\ngraph: [Flatten, Dense: {{units: 2}}]\n{line}\n"
    err = _error(text)
    assert (err.location.line, err.location.col) == (3, line.index(at) + 1), err.format()
    assert "--max-data" in err.hint


def test_an_input_larger_than_the_data_budget_is_refused_at_its_shape():
    err = _error("inputs: {x: [50000, 50000]}\ngraph: [Flatten]\ndata: digits\n")
    assert err.location.line == 1 and "2,500,000,000 elements" in err.message


def test_the_command_line_flags_raise_the_limits(tmp_path, capsys, monkeypatch):
    from keras_blueprints.cli import main

    for variable in ENV.values():
        monkeypatch.delenv(variable, raising=False)

    (tmp_path / "b.yaml").write_text("inputs: {x: [64]}\ngraph:\n  - Dense: {units: 50000000}\n")
    assert main(["validate", "--no-build", str(tmp_path / "b.yaml")]) == 2
    assert main(["validate", "--no-build", "--max-params", "4e9", str(tmp_path / "b.yaml")]) == 0
    assert "b.yaml:3:20: error:" in capsys.readouterr().err
    (tmp_path / "d.yaml").write_text(
        "inputs: {x: [64]}\ngraph: [Dense: {units: 2}]\ndata: digits\n"
    )
    assert main(["validate", "--no-build", "--max-data", "1000", str(tmp_path / "d.yaml")]) == 2
    assert "d.yaml:3:7: error: data source 'digits'" in capsys.readouterr().err
    assert not any(v in os.environ for v in ENV.values())  # the flags leave no trace


def test_the_builder_checks_again_with_the_real_shapes():
    from keras_blueprints.builders.model import build_model

    # The block's output width is unknown at load (a lower bound of 1 lets it pass);
    # the builder sees 64 features and refuses before Keras allocates 12.8 GB.
    text = "inputs: {x: [64]}\ngraph:\n  - dense_stack: {units: 64}\n  - Dense: {units: 50000000}\n"
    bp = kb.load(text)
    with pytest.raises(BlueprintError) as info:
        build_model(bp, compile=False)
    assert info.value.location == Location("<string>", 4, 20)
    assert "on input shape [64]" in str(info.value.received)
    raised = kb.load(text, limits=Limits(max_params=4_000_000_000))
    assert raised.limits.max_params == 4_000_000_000  # the builder holds to the load's limits


def test_a_block_is_counted_before_its_weights_are_allocated():
    from keras_blueprints.builders.model import build_model

    text = "inputs: {x: [64]}\ngraph:\n  - name: big\n    dense_stack: {units: 50000000}\n"
    with pytest.raises(BlueprintError) as info:
        build_model(kb.load(text), compile=False)  # 12.8 GB if it were allocated
    assert info.value.location.line == 3 and "3,250,000,000" in info.value.message
    assert info.value.message.startswith("block 'big' (dense_stack)")
    wrapped = "inputs: {x: [5, 64]}\ngraph:\n  - Bidirectional: {layer: {LSTM: {units: 20000}}}\n"
    with pytest.raises(BlueprintError) as info:
        build_model(kb.load(wrapped), compile=False)
    assert info.value.location.line == 3


def test_blocks_and_wrappers_within_the_budget_build_with_their_weights():
    from keras_blueprints.builders.model import build_model

    text = (
        "inputs: {x: [5, 8]}\ngraph:\n  - Bidirectional: {layer: {LSTM: {units: 4}}}\n"
        "  - dense_stack: {units: [6, 3]}\n"
    )
    model = build_model(kb.load(text), compile=False)
    # 2 * 4 * 4 * (8 + 4 + 1) + (8 * 6 + 6) + (6 * 3 + 3)
    assert model.count_params() == 416 + 54 + 21
    assert all(w.numpy().shape == tuple(w.shape) for w in model.weights)  # initialised


def test_inferred_window_shapes_match_keras():
    import itertools

    import keras

    from keras_blueprints.resolve.budget import _windowed

    layers = (
        (2, "conv", keras.layers.Conv2D),
        (2, "transpose", keras.layers.Conv2DTranspose),
        (1, "conv", keras.layers.Conv1D),
        (2, "pool", keras.layers.MaxPooling2D),
        (2, "depthwise", keras.layers.DepthwiseConv2D),
    )
    checked = 0
    for (rank, kind, cls), n, k, s, padding in itertools.product(
        layers, (5, 8), (1, 2, 3), (1, 2, 3), ("valid", "same")
    ):
        if kind == "pool":
            args = {"pool_size": k, "strides": s, "padding": padding}
        else:
            args = {"kernel_size": k, "strides": s, "padding": padding}
            args.update({"filters": 4} if kind != "depthwise" else {})
        shape = (n,) * rank + (3,)
        real = tuple(cls(**args).compute_output_shape((None, *shape))[1:])
        assert _windowed(rank, kind)(args, [shape]) == real, (kind, args, shape)
        checked += 1
    assert checked == 5 * 2 * 3 * 3 * 2


@pytest.mark.parametrize("name", ["resnet18", "seq2seq_gru_bidirectional"])
def test_the_builder_counts_every_parameter_of_blocks_and_wrappers(name):
    import keras

    from keras_blueprints.builders.model import build_model

    golden = json.loads((GOLDEN / f"{name}.json").read_text())["params"]
    with pytest.raises(BlueprintError):  # one parameter short: the count is exact
        build_model(kb.load(f"zoo:{name}", limits=Limits(max_params=golden - 1)), compile=False)
    keras.backend.clear_session()
    model = build_model(kb.load(f"zoo:{name}", limits=Limits(max_params=golden)), compile=False)
    assert model.count_params() == golden

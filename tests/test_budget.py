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


EXACT = (
    "lenet5", "mlp", "mlp_search", "autoencoder_dense", "autoencoder_conv_denoising",
    # The built-in custom layers' zoo entries (YAML blocks are expanded at load, so
    # their layers count; the states of return_state layers have shapes):
    "transformer_encoder_classifier", "vit_tiny", "seq2seq_attention_luong",
    "seq2seq_attention_bahdanau", "mcculloch_pitts", "hebbian_memory", "perceptron",
    "hopfield", "rnn_time_scales",
)  # fmt: skip
"""Zoo models made of layers with a formula only: the count at load is their own."""


@pytest.mark.parametrize("name", zoo.names())
def test_the_count_at_load_never_exceeds_the_model_and_is_exact_without_blocks(name):
    bp = kb.load(f"zoo:{name}")
    golden = json.loads((GOLDEN / f"{name}.json").read_text())["params"]
    check_params(bp.nodes, bp.inputs, Limits(max_params=golden))  # never above the truth
    if name in EXACT:
        with pytest.raises(BlueprintError):
            check_params(bp.nodes, bp.inputs, Limits(max_params=golden - 1))


def _load_count(bp) -> int:
    """The parameters counted at load: the smallest budget ``check_params`` accepts."""
    low, high = 0, 10**10
    while low < high:
        middle = (low + high) // 2
        try:
            check_params(bp.nodes, bp.inputs, Limits(max_params=middle))
            high = middle
        except BlueprintError:
            low = middle + 1
    return low


def test_lenet5_with_its_c3_connection_table_is_counted_exactly_at_load():
    from keras_blueprints.builders.model import build_model

    bp = kb.load("zoo:lenet5", ["params.c3_table=true"])
    # C1 156 + C3 (table: 60 kernels of 5x5, 16 biases) 1,516 + C5 48,120 + F6 10,164 + 850
    assert _load_count(bp) == 60_806
    assert build_model(bp, compile=False).count_params() == 60_806


def test_alexnet_two_towers_is_exact_when_built_not_at_load():
    from keras_blueprints.builders.model import build_model

    # Not exact at load: its stages are the Python blocks conv_stack and dense_stack,
    # whose layers exist only when built (the load counts the last Dense, on an unknown
    # input width counted as 1: a lower bound). The
    # builder counts each block before allocating it, exactly. Small, so it builds fast:
    # 67x67 input reaches 1x1x256, conv1 34,944, grouped conv2 5*5*48*256+256 = 307,456,
    # conv3 885,120, grouped conv4 663,936 and conv5 442,624, fc 4,112 + 272, output 170.
    overrides = ["params.towers=2", "params.size=67", "params.fc_units=16", "params.classes=10"]
    expected = 2_338_634
    assert _load_count(kb.load("zoo:alexnet", overrides)) == 1 * 10 + 10  # input width: 1
    with pytest.raises(BlueprintError):
        build_model(kb.load("zoo:alexnet", overrides, limits=Limits(max_params=expected - 1)))
    model = build_model(kb.load("zoo:alexnet", overrides), compile=False)
    assert model.count_params() == expected


@pytest.mark.parametrize(
    ("inputs", "layer", "expected"),
    [
        # 64 positions of width 8; the input's own length when sequence_length is left out
        ("[10, 8]", "PositionEmbedding: {sequence_length: 64}", 512),
        ("[10, 8]", "PositionEmbedding: {add: false}", 80),
        ("[10, 8]", "ClassToken: {}", 8),
        # (0), (0, 1), (1, 2): 5 kernels of 3x2, 3 biases
        ("[6, 6, 3]", "TableConv2D: {table: [[0], [0, 1], [1, 2]], kernel_size: [3, 2]}", 33),
        ("[6, 6, 6]", "TableConv2D: {table: lenet5, use_bias: false, kernel_size: 1}", 60),
        ("[6]", "HopfieldNet: {}", 36),
        ("[6]", "ThresholdUnit: {kernel: [1, 1, 1, 1, 1, 1]}", 0),
        ("[5, 3]", "RNN: {cell: {LeakyRNNCell: {units: 4}}}", 4 * (3 + 4 + 1)),
        ("[5, 3]", "RNN: {cell: {LeakyRNNCell: {units: 4, skip: 3, learn_alpha: true}}}", 52),
        ("[5, 3]", "RNN: {cell: {LeakyRNNCell: {units: 4, use_bias: false}}}", 28),
        ("[5, 3]", "RNN: {cell: {GRUCell: {units: 2}}, return_sequences: true}", 42),
        ("[5, 3]", "RNN: {cell: {PeepholeLSTMCell: {units: 2}}}", 40 + 8 + 6),
        # query 8*6+6, key (the value's width) 6*6+6, value 6*10+10, output 10*4+4
        ("[5, 8]", "MultiHeadAttention: {num_heads: 2, key_dim: 3, value_dim: 5}", 210),
    ],
)
def test_the_new_layers_are_counted_at_load_as_keras_builds_them(inputs, layer, expected):
    from keras_blueprints.builders.model import build_model

    if layer.startswith("MultiHeadAttention"):  # a value of another width, output_shape
        text = (
            f"inputs: {{x: {inputs}, v: [7, 6]}}\ngraph:\n  - from: {{inputs: x, value: v}}\n"
            f"    {layer[:-1]}, output_shape: 4}}\n"
        )
    else:
        text = f"inputs: {{x: {inputs}}}\ngraph:\n  - {layer}\n"
    bp = kb.load(text)
    assert _load_count(bp) == expected
    assert build_model(bp, compile=False).count_params() == expected


def test_the_lenet5_table_known_at_load_is_the_layers():
    from keras_blueprints.layers.table import LENET5_C3_TABLE
    from keras_blueprints.resolve.budget import _LENET5_TABLE

    assert (len(LENET5_C3_TABLE), sum(map(len, LENET5_C3_TABLE))) == _LENET5_TABLE


def test_shapes_of_the_new_layers_are_known_at_load():
    text = """\
inputs: {img: [12, 12, 6], tokens: [10, 8]}
graph:
  - {name: cls, from: tokens, ClassToken: {}}
  - {name: positions, PositionEmbedding: {sequence_length: 16}}
  - {name: c3, from: img, TableConv2D: {table: lenet5, kernel_size: 5}}
  - {name: a, from: positions, Dense: {units: "${shape('cls')[0]}"}}
  - {name: b, from: positions, Dense: {units: "${shape('positions')[0] * 100 + 8}"}}
  - {name: c, from: c3, Dense: {units: "${shape('c3')[0] * 100 + shape('c3')[-1]}"}}
outputs: [a, b, c]
"""
    units = {n.name: n.args.get("units") for n in kb.load(text).nodes if n.type == "Dense"}
    # ClassToken (11, 8); PositionEmbedding keeps it; TableConv2D 5x5 valid (8, 8, 16)
    assert units == {"a": 11, "b": 1108, "c": 816}


def test_shapes_at_load_match_keras_for_the_new_layers():
    import keras

    from keras_blueprints.layers.table import TableConv2D
    from keras_blueprints.layers.transformer import CausalMask, ClassToken, PositionEmbedding
    from keras_blueprints.resolve.budget import output_shape

    cases = [
        ("PositionEmbedding", {"sequence_length": 9}, PositionEmbedding(9), (7, 4)),
        ("ClassToken", {}, ClassToken(), (7, 4)),
        ("CausalMask", {}, CausalMask(), (7, 4)),
        ("TableConv2D", {"kernel_size": [3, 2]}, TableConv2D(kernel_size=[3, 2]), (9, 8, 6)),
        ("Cropping1D", {"cropping": [1, 2]}, keras.layers.Cropping1D([1, 2]), (7, 4)),
    ]
    for name, args, layer, shape in cases:
        real = tuple(layer.compute_output_shape((None, *shape))[1:])
        assert output_shape("layer", name, args, [shape]) == real, name


@pytest.mark.parametrize(
    ("graph", "line", "column"),
    [
        ("  - PositionEmbedding: {sequence_length: 1000000000}\n", 3, 42),  # 8e9
        ("  - RNN: {cell: {LeakyRNNCell: {units: 100000}}}\n", 3, 17),  # 1e10
        ("  - Flatten: {}\n  - HopfieldNet: {}\n", 4, 5),  # 320,000 units: N * N
    ],
)
def test_a_new_layer_past_the_budget_is_refused_at_load_where_it_asks(graph, line, column):
    text = f"inputs: {{x: [40000, 8]}}\ngraph:\n{graph}"
    err = _error(text)
    assert (err.location.line, err.location.col) == (line, column), err.format()
    assert "parameters" in err.message and "--max-params" in err.hint


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

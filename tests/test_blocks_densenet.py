"""DenseNet blocks (dense_block, transition) and the densenet121 zoo blueprint.

Parameter counts are worked out by hand. A layer of a dense block with ``c``
input channels and growth rate ``k`` has, with the bottleneck:
  0_bn 4c (gamma, beta, moving mean, moving variance) + 1_conv c * 4k (1x1, no bias)
  + 1_bn 4 * 4k + 2_conv 3 * 3 * 4k * k = 4c + 4kc + 16k + 36k^2,
and without it: 0_bn 4c + 2_conv 3 * 3 * c * k = 4c + 9kc.
A transition from ``c`` channels keeping ``c' = int(c * theta)``: bn 4c + conv c * c'.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from mirror import assert_mirrors
from refused import assert_refused_at_load

import keras_blueprints as kb
from keras_blueprints import zoo
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.blocks.densenet import dense_block, transition

SMALLEST = 32  # the smallest input keras.applications' DenseNets accept


def block_model(shape: list[int], block: str):
    """Builds a model made of one block instance 'b' on an input 'x' of ``shape``."""
    return kb.build(f"inputs: {{x: {shape}}}\ngraph:\n  - name: b\n    {block}\n", compile=False)


def images(size: int = SMALLEST) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((2, size, size, 3)).astype("float32")


# dense_block ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bottleneck", "params"),
    [
        # k = 4, inputs of c = 16, 20, 24 channels:
        # sum(4c + 16c + 16 * 4 + 36 * 16) = 20 * (16 + 20 + 24) + 3 * 640 = 1200 + 1920
        (True, 3_120),
        # sum(4c + 36c) = 40 * (16 + 20 + 24)
        (False, 2_400),
    ],
)
def test_dense_block_adds_growth_rate_channels_per_layer(bottleneck, params):
    model = block_model(
        [8, 8, 16],
        f"dense_block: {{num_layers: 3, growth_rate: 4, bottleneck: {str(bottleneck).lower()}}}",
    )
    assert model.count_params() == params
    # 16 + 3 * 4 channels, spatial size unchanged (3x3 convolutions are 'same').
    assert tuple(model.output.shape) == (None, 8, 8, 28)
    grown = [model.get_layer(f"b_block{i}_concat").output.shape[-1] for i in (1, 2, 3)]
    assert grown == [20, 24, 28]


def test_dense_block_layer_names_follow_keras_applications():
    with_bottleneck = block_model([8, 8, 16], "dense_block: {num_layers: 1, growth_rate: 4}")
    assert [layer.name for layer in with_bottleneck.layers] == [
        "x",
        "b_block1_0_bn",
        "b_block1_0_relu",
        "b_block1_1_conv",
        "b_block1_1_bn",
        "b_block1_1_relu",
        "b_block1_2_conv",
        "b_block1_concat",
    ]
    assert with_bottleneck.get_layer("b_block1_1_conv").filters == 16  # 4k
    keras.backend.clear_session()
    plain = block_model([8, 8, 16], "dense_block: {num_layers: 1, bottleneck: false}")
    assert [layer.name for layer in plain.layers] == [
        "x",
        "b_block1_0_bn",
        "b_block1_0_relu",
        "b_block1_2_conv",
        "b_block1_concat",
    ]
    assert plain.get_layer("b_block1_2_conv").filters == 32  # the default growth rate


def test_dense_block_concatenates_its_input_unchanged():
    model = block_model([4, 4, 3], "dense_block: {num_layers: 2, growth_rate: 2}")
    x = np.random.default_rng(1).standard_normal((2, 4, 4, 3)).astype("float32")
    out = np.asarray(model.predict(x, verbose=0))
    # Feature reuse: the block's input reaches its output as its first channels.
    np.testing.assert_array_equal(out[..., :3], x)


# transition -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "compression", "output", "params"),
    [
        # theta = 0.5 halves the channels, pooling halves the size:
        # bn 4 * 28 + conv 28 * 14 = 112 + 392
        ([8, 8, 28], 0.5, (None, 4, 4, 14), 504),
        # theta = 1 keeps every channel; an odd size rounds down: bn 40 + conv 10 * 10
        ([7, 7, 10], 1, (None, 3, 3, 10), 140),
    ],
)
def test_transition_compresses_channels_and_halves_size(shape, compression, output, params):
    model = block_model(shape, f"transition: {{compression: {compression}}}")
    assert tuple(model.output.shape) == output
    assert model.count_params() == params
    assert [layer.name for layer in model.layers] == ["x", "b_bn", "b_relu", "b_conv", "b_pool"]


# bad values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "transition: {compression: 0.01}",
            "Expected 'compression' to keep at least one of the 16 channels. "
            "Received: compression=0.01",
        ),
    ],
)
def test_bad_values_are_located_errors(block, message):
    with pytest.raises(BlueprintError) as info:
        block_model([8, 8, 16], block)
    err = info.value
    assert (err.location.line, err.location.col) == (3, 5)  # the node 'b'
    assert err.message.endswith(message)


@pytest.mark.parametrize(
    ("block", "key", "expected", "received"),
    [
        ("dense_block: {num_layers: 2, growth_rate: 0}", "growth_rate", "a positive integer", 0),
        ("dense_block: {num_layers: 0}", "num_layers", "a positive integer", 0),
        ("transition: {compression: 1.5}", "compression", "a number in (0, 1]", 1.5),
        ("transition: {compression: 0}", "compression", "a number in (0, 1]", 0),
    ],
)
def test_values_out_of_range_are_refused_at_load(block, key, expected, received):
    text = f"inputs: {{x: [8, 8, 16]}}\ngraph:\n  - name: b\n    {block}\n"
    assert_refused_at_load(text, key, expected, received)


def test_a_block_called_from_python_checks_the_same_types():
    x = keras.Input((8, 8, 16))
    with pytest.raises(ValueError, match=r"^Expected a number in \(0, 1\] for 'compression'\."):
        transition(x, name="t", compression=1.5)
    with pytest.raises(ValueError, match=r"Received: num_layers=0$"):
        dense_block(x, name="d", num_layers=0)


def test_bad_value_in_the_zoo_points_at_the_transition():
    with pytest.raises(BlueprintError) as info:
        kb.load("zoo:densenet121", overrides=["params.compression=1.5"])
    err = info.value
    lines = zoo.path("densenet121").read_text().splitlines()
    value = next(n for n, text in enumerate(lines, 1) if "transition: {compression: " in text)
    assert (Path(err.location.file).name, err.location.line) == ("densenet121.yaml", value)
    assert err.location.col == lines[value - 1].index('"${compression}"') + 1
    assert err.message == "parameter 'compression' of block 'transition' is out of range"
    assert (err.expected, err.received) == ("a number in (0, 1]", 1.5)
    assert "params.compression=1.5" in err.hint


def test_wrong_type_is_refused_at_load():
    with pytest.raises(BlueprintError) as info:
        kb.load("inputs: {x: [8, 8, 16]}\ngraph:\n  - dense_block: {num_layers: 2.5}\n")
    assert "'num_layers'" in info.value.message
    assert str(info.value.expected) == "a value of type int"


# the zoo --------------------------------------------------------------------


def test_densenet121_mirrors_keras_applications():
    reference = keras.applications.DenseNet121(weights=None, input_shape=(SMALLEST, SMALLEST, 3))
    model = kb.build("zoo:densenet121", overrides=[f"params.size={SMALLEST}"], compile=False)
    assert model.count_params() == 8_062_504
    # The 121 of the name: the weighted layers, 120 convolutions and the classifier.
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convolutions) + 1 == 121
    batch = images()
    assert assert_mirrors(model, reference, batch) < 1e-4
    # The weights are now the same; compare the feature maps too, where a wiring
    # mistake cannot hide in a thousand tiny probabilities.
    ours, theirs = (
        keras.Model(m.inputs, m.get_layer("relu").output).predict(batch, verbose=0)
        for m in (model, reference)
    )
    assert ours.shape == (2, 1, 1, 1024)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_densenet121_without_top_ends_at_the_feature_maps():
    model = kb.build(
        "zoo:densenet121",
        overrides=[f"params.size={SMALLEST}", "params.include_top=false"],
        compile=False,
    )
    # 8,062,504 less the classifier (1024 * 1000 + 1000), as DenseNet121(include_top=False).
    assert model.count_params() == 7_037_504
    assert model.layers[-1].name == "relu"
    assert tuple(model.output.shape) == (None, 1, 1, 1024)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("blocks", "application"),
    [([6, 12, 32, 32], "DenseNet169"), ([6, 12, 48, 32], "DenseNet201")],
)
def test_deeper_densenets_are_the_block_sizes_alone(blocks, application):
    reference = getattr(keras.applications, application)(
        weights=None, input_shape=(SMALLEST, SMALLEST, 3)
    )
    model = kb.build(
        "zoo:densenet121",
        overrides=[f"params.size={SMALLEST}", f"params.blocks={blocks}"],
        compile=False,
    )
    assert assert_mirrors(model, reference, images()) < 1e-4


@pytest.mark.slow
def test_densenet161_matches_the_papers_widths():
    model = kb.build(
        "zoo:densenet121",
        overrides=[
            f"params.size={SMALLEST}",
            "params.blocks=[6, 12, 36, 24]",
            "params.growth_rate=48",
        ],
        compile=False,
    )
    assert model.get_layer("conv1_conv").filters == 96  # 2k
    assert tuple(model.get_layer("conv5_block24_concat").output.shape) == (None, 1, 1, 2208)
    # torchvision's densenet161 has 28,681,000 parameters; it does not count the
    # batch normalization moving statistics, which are not trained.
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 28_681_000

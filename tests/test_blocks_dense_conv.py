"""Dense and convolution stacks (blocks/dense.py, blocks/conv.py) and their zoo models.

Parameter counts are worked out by hand in the comments: a Dense layer has
``inputs * units + units`` weights, a convolution ``kernel volume * channels in
* filters + filters``, a batch normalization ``4 * channels`` (gamma and beta
trainable, the moving mean and variance not).
"""

from __future__ import annotations

import textwrap

import keras
import numpy as np
import pytest
from mirror import assert_mirrors, randomize
from refused import NOT_A_CHOICE, OUT_OF_RANGE, assert_refused_at_load

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.blocks.conv import conv_stack
from keras_blueprints.blocks.dense import ACTIVATIONS, dense_stack
from keras_blueprints.catalog.components import BLOCKS

RNG = np.random.default_rng(0)


def stack_model(block, input_shape, **params):
    """A model of one block instance named ``s`` on an input named ``x``."""
    x = keras.Input(input_shape, name="x")
    return keras.Model(x, block(x, name="s", **params))


def rows(model):
    return [(layer.name, tuple(layer.output.shape), layer.count_params()) for layer in model.layers]


def names(model):
    return [layer.name for layer in model.layers]


def batch(*shape):
    return RNG.standard_normal(shape).astype("float32")


# --- registration ----------------------------------------------------------------


def test_blocks_are_registered_with_typed_parameters():
    dense = BLOCKS.get("dense_stack")
    assert dense.doc.startswith("A stack of fully connected layers")
    assert set(dense.params["units"].type.names) == {"int", "list"}
    assert dense.params["units"].required
    assert set(dense.params["depth"].type.names) == {"int", "null"}
    assert dense.params["dropout"].default == 0.0
    conv = BLOCKS.get("conv_stack")
    assert conv.doc.startswith("A stack of 1D/2D/3D convolutions")
    assert set(conv.params) >= {"rank", "up", "pool", "pool_size", "pool_strides", "dilation_rate"}
    assert conv.params["rank"].default == 2 and conv.params["padding"].default == "same"


def test_a_wrong_type_is_refused_at_load_time():
    with pytest.raises(BlueprintError) as info:
        kb.load("inputs: {x: [4]}\ngraph:\n  - dense_stack: {units: '8'}\n")
    assert info.value.message == "parameter 'units' of block 'dense_stack' has the wrong type"
    assert (info.value.location.line, info.value.location.col) == (3, 26)


# --- dense_stack -----------------------------------------------------------------


def test_dense_stack_parameters_by_hand():
    model = stack_model(dense_stack, (5,), units=[8, 4])
    assert rows(model) == [
        ("x", (None, 5), 0),
        ("s_dense1", (None, 8), 5 * 8 + 8),  # 48
        ("s_dense2", (None, 4), 8 * 4 + 4),  # 36
    ]
    assert model.count_params() == 84
    assert model.get_layer("s_dense1").activation is keras.activations.relu


def test_dense_stack_units_and_depth():
    model = stack_model(dense_stack, (5,), units=8, depth=3, activation="tanh")
    # 5 * 8 + 8 = 48, then twice 8 * 8 + 8 = 72.
    assert model.count_params() == 48 + 72 + 72
    assert names(model) == ["x", "s_dense1", "s_dense2", "s_dense3"]


def test_dense_stack_batch_norm_before_the_activation():
    model = stack_model(dense_stack, (5,), units=[8, 4], batch_norm=True, activation="elu")
    # The Dense layers lose their bias (BN's beta replaces it): 5 * 8 and 8 * 4;
    # each BN has 4 * units parameters, half of them trainable.
    assert rows(model) == [
        ("x", (None, 5), 0),
        ("s_dense1", (None, 8), 40),
        ("s_dense1_bn", (None, 8), 32),
        ("s_dense1_act", (None, 8), 0),
        ("s_dense2", (None, 4), 32),
        ("s_dense2_bn", (None, 4), 16),
        ("s_dense2_act", (None, 4), 0),
    ]
    assert model.count_params() == 120
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 40 + 16 + 32 + 8
    assert not model.get_layer("s_dense1").use_bias
    assert model.get_layer("s_dense1_act").activation is keras.activations.elu


def test_dense_stack_batch_norm_after_the_activation():
    model = stack_model(dense_stack, (5,), units=[8, 4], batch_norm="after")
    # Dense with bias and activation, then BN: 48 + 32 and 36 + 16.
    assert names(model) == ["x", "s_dense1", "s_dense1_bn", "s_dense2", "s_dense2_bn"]
    assert model.count_params() == 48 + 32 + 36 + 16
    assert model.get_layer("s_dense2").activation is keras.activations.relu


def test_dropout_is_active_in_training_only():
    model = stack_model(dense_stack, (16,), units=[32, 32], dropout=0.5)
    assert names(model) == ["x", "s_dense1", "s_dense1_dropout", "s_dense2", "s_dense2_dropout"]
    x = batch(4, 16)
    first = np.asarray(model(x, training=False))
    np.testing.assert_array_equal(first, np.asarray(model(x, training=False)))
    w1, b1 = model.get_layer("s_dense1").get_weights()
    w2, b2 = model.get_layer("s_dense2").get_weights()
    expected = np.maximum(np.maximum(x @ w1 + b1, 0) @ w2 + b2, 0)
    np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(np.asarray(model(x, training=True)), first)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_is_the_keras_one(activation):
    model = stack_model(dense_stack, (3,), units=4, activation=activation)
    randomize(model)
    x = batch(2, 3)
    kernel, bias = model.get_layer("s_dense1").get_weights()
    expected = keras.ops.convert_to_numpy(keras.activations.get(activation)(x @ kernel + bias))
    np.testing.assert_allclose(np.asarray(model(x)), expected, rtol=1e-5, atol=1e-6)


def test_maxout_is_the_max_over_pieces():
    model = stack_model(dense_stack, (5,), units=3, maxout=4)
    # One Dense layer computes 3 units x 4 pieces = 12 features: 5 * 12 + 12.
    assert rows(model) == [
        ("x", (None, 5), 0),
        ("s_dense1", (None, 12), 72),
        ("s_dense1_pieces", (None, 4, 3), 0),
        ("s_dense1_max", (None, 1, 3), 0),
        ("s_dense1_maxout", (None, 3), 0),
    ]
    randomize(model)
    x = batch(6, 5)
    kernel, bias = model.get_layer("s_dense1").get_weights()
    pieces = (x @ kernel + bias).reshape(6, 4, 3)  # piece j of unit u is feature j * 3 + u
    np.testing.assert_allclose(np.asarray(model(x)), pieces.max(axis=1), rtol=1e-6, atol=1e-6)


def test_maxout_on_sequences_keeps_the_steps():
    model = stack_model(dense_stack, (None, 5), units=[3, 2], maxout=2, batch_norm="after")
    assert tuple(model.output.shape) == (None, None, 2)
    x = batch(2, 7, 5)
    out = np.asarray(model(x, training=False))
    assert out.shape == (2, 7, 2)
    # The first layer alone, checked by hand.
    first = keras.Model(model.input, model.get_layer("s_dense1_maxout").output)
    kernel, bias = model.get_layer("s_dense1").get_weights()
    pieces = (x @ kernel + bias).reshape(2, 7, 2, 3)
    np.testing.assert_allclose(np.asarray(first(x)), pieces.max(axis=2), rtol=1e-5, atol=1e-6)


def test_maxout_model_round_trips_with_plain_keras(tmp_path):
    model = stack_model(dense_stack, (5,), units=[6, 3], maxout=3, dropout=0.1)
    randomize(model)
    x = batch(2, 5)
    again = keras.models.model_from_json(model.to_json())
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-6)
    model.save(tmp_path / "maxout.keras")
    loaded = keras.models.load_model(tmp_path / "maxout.keras")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)


def test_weight_penalties_appear_in_the_losses():
    model = stack_model(dense_stack, (5,), units=[4, 3], l1=0.01, l2=0.001)
    randomize(model)
    assert len(model.losses) == 2  # one per kernel; biases are not penalised
    kernels = [model.get_layer(f"s_dense{i}").get_weights()[0] for i in (1, 2)]
    expected = sum(0.01 * np.abs(k).sum() + 0.001 * (k**2).sum() for k in kernels)
    total = sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses)
    np.testing.assert_allclose(total, expected, rtol=1e-5)
    assert not stack_model(dense_stack, (5,), units=4).losses


# --- conv_stack ------------------------------------------------------------------

CONV_RANKS = [
    # rank 1: 3 * 3 * 4 + 4 = 40, 3 * 4 * 8 + 8 = 104; max pooling halves 16.
    (
        dict(rank=1, filters=[4, 8], pool="max"),
        (16, 3),
        (None, 8, 8),
        40 + 104,
        ("Conv1D", "MaxPooling1D"),
    ),
    # rank 2: 3 * 3 * 3 * 4 + 4 = 112, 3 * 3 * 4 * 4 + 4 = 148.
    (
        dict(filters=4, depth=2, pool="average"),
        (8, 8, 3),
        (None, 4, 4, 4),
        112 + 148,
        ("Conv2D", "AveragePooling2D"),
    ),
    # rank 3: 3 * 3 * 3 * 2 * 3 + 3 = 165; one value per channel.
    (
        dict(rank=3, filters=3, pool="global_average"),
        (4, 4, 4, 2),
        (None, 3),
        165,
        ("Conv3D", "GlobalAveragePooling3D"),
    ),
]


@pytest.mark.parametrize(("params", "shape", "out", "count", "classes"), CONV_RANKS)
def test_conv_stack_each_rank(params, shape, out, count, classes):
    model = stack_model(conv_stack, shape, **params)
    assert tuple(model.output.shape) == out
    assert model.count_params() == count
    assert type(model.get_layer("s_conv1")).__name__ == classes[0]
    assert type(model.get_layer("s_pool")).__name__ == classes[1]


def test_causal_padding_keeps_the_length_and_never_looks_ahead():
    model = stack_model(
        conv_stack, (10, 2), rank=1, filters=3, depth=2, padding="causal", dilation_rate=2
    )
    # 3 * 2 * 3 + 3 = 21 and 3 * 3 * 3 + 3 = 30.
    assert rows(model)[1:] == [("s_conv1", (None, 10, 3), 21), ("s_conv2", (None, 10, 3), 30)]
    randomize(model)
    x = batch(1, 10, 2)
    later = x.copy()
    later[:, -1] += 1.0  # change only the last step
    before, after = np.asarray(model(x)), np.asarray(model(later))
    np.testing.assert_allclose(before[:, :-1], after[:, :-1], atol=1e-6)
    assert not np.allclose(before[:, -1], after[:, -1])


@pytest.mark.parametrize("rank", [1, 2])
def test_transposed_convolution_doubles_the_size(rank):
    shape = (8,) * rank + (3,)
    model = stack_model(conv_stack, shape, rank=rank, filters=4, up="transpose", strides=2)
    assert tuple(model.output.shape) == (None, *(16,) * rank, 4)
    assert type(model.get_layer("s_conv1")).__name__ == f"Conv{rank}DTranspose"
    assert model.count_params() == 3**rank * 3 * 4 + 4  # 40 (1D), 112 (2D)


def test_upsampling_then_convolution():
    model = stack_model(conv_stack, (8, 8, 3), filters=4, depth=2, up="upsample", strides=2)
    # 3 * 3 * 3 * 4 + 4 = 112 and 3 * 3 * 4 * 4 + 4 = 148, both at 16x16.
    assert rows(model) == [
        ("x", (None, 8, 8, 3), 0),
        ("s_up", (None, 16, 16, 3), 0),
        ("s_conv1", (None, 16, 16, 4), 112),
        ("s_conv2", (None, 16, 16, 4), 148),
    ]
    x = batch(1, 8, 8, 3)
    up = keras.Model(model.input, model.get_layer("s_up").output)
    np.testing.assert_array_equal(np.asarray(up(x)), x.repeat(2, axis=1).repeat(2, axis=2))


def test_strides_downsample_once_on_entry():
    model = stack_model(conv_stack, (16, 16, 3), filters=4, depth=2, strides=2)
    assert [row[1] for row in rows(model)[1:]] == [(None, 8, 8, 4), (None, 8, 8, 4)]


def test_conv_batch_norm_before_the_activation():
    model = stack_model(conv_stack, (8, 8, 3), filters=4, batch_norm=True, l2=0.01)
    # 3 * 3 * 3 * 4 = 108 (no bias) + 4 * 4 = 16.
    assert rows(model) == [
        ("x", (None, 8, 8, 3), 0),
        ("s_conv1", (None, 8, 8, 4), 108),
        ("s_conv1_bn", (None, 8, 8, 4), 16),
        ("s_conv1_act", (None, 8, 8, 4), 0),
    ]
    assert len(model.losses) == 1


@pytest.mark.parametrize(
    ("pool", "out"),
    [
        ("max", (None, 4, 4, 4)),
        ("global_max", (None, 4)),
        ("none", (None, 8, 8, 4)),
        (None, (None, 8, 8, 4)),
    ],
)
def test_pooling_kinds(pool, out):
    model = stack_model(conv_stack, (8, 8, 3), filters=4, pool=pool)
    assert tuple(model.output.shape) == out
    assert ("s_pool" in names(model)) == (pool not in (None, "none"))


def test_three_3x3_convolutions_see_7x7_with_fewer_weights():
    # VGG's argument: on a 7x7 patch, both give one value per filter, but three
    # 3x3 layers hold 3 * 9 * C^2 weights against 49 * C^2 (plus one bias per layer).
    c = 16
    small = stack_model(conv_stack, (7, 7, c), filters=c, depth=3, padding="valid")
    large = stack_model(conv_stack, (7, 7, c), filters=c, kernel_size=7, padding="valid")
    assert tuple(small.output.shape) == tuple(large.output.shape) == (None, 1, 1, c)
    assert small.count_params() == 27 * c * c + 3 * c
    assert large.count_params() == 49 * c * c + c


# --- errors: raised by the block, reported at the YAML node ----------------------

BAD = [
    ("dense_stack: {units: [8, 4], depth: 3}", "Received: depth=3, units=[8, 4]"),
    (
        "dense_stack: {units: 8, maxout: 3, activation: relu}",
        "Expected no 'activation' with maxout",
    ),
    ("dense_stack: {units: 8, batch_norm: middle}", "Received: batch_norm='middle'"),
    (
        "conv_stack: {filters: 8, padding: causal}",
        "one of: valid, same. Received: padding='causal'",
    ),
    ("conv_stack: {filters: [], pool: max}", "Received: filters=[]"),
]


REFUSED_AT_LOAD = [
    ("dense_stack: {units: 8, depth: 0}", "depth", "a positive integer or null", 0, OUT_OF_RANGE),
    ("dense_stack: {units: 8, dropout: 1.5}", "dropout", "a number in [0, 1)", 1.5, OUT_OF_RANGE),
    (
        "dense_stack: {units: 8, maxout: 1}",
        "maxout",
        "an integer >= 2 (pieces per unit) or null",
        1,
        OUT_OF_RANGE,
    ),
    ("dense_stack: {units: 8, l2: -1}", "l2", "a number >= 0", -1, OUT_OF_RANGE),
    ("conv_stack: {filters: 8, depth: 0}", "depth", "a positive integer or null", 0, OUT_OF_RANGE),
    ("conv_stack: {filters: 8, rank: 4}", "rank", "one of: 1, 2, 3", 4, NOT_A_CHOICE),
    (
        "dense_stack: {units: 8, activation: rellu}",
        "activation",
        "one of: relu, leaky_relu, elu, selu, gelu, tanh, sigmoid, linear or null",
        "rellu",
        NOT_A_CHOICE,
    ),
    (
        "conv_stack: {filters: 8, activation: softmax}",
        "activation",
        "one of: relu, leaky_relu, elu, selu, gelu, tanh, sigmoid, linear",
        "softmax",
        NOT_A_CHOICE,
    ),
    (
        "conv_stack: {filters: 8, pool: maxx}",
        "pool",
        "one of: max, average, global_max, global_average, none or null",
        "maxx",
        NOT_A_CHOICE,
    ),
    (
        "conv_stack: {filters: 8, up: deconv}",
        "up",
        "one of: transpose, upsample or null",
        "deconv",
        NOT_A_CHOICE,
    ),
]
"""Values the signature's types refuse: at load time, at the value, without TensorFlow."""


@pytest.mark.parametrize(("node", "key", "expected", "received", "why"), REFUSED_AT_LOAD)
def test_values_out_of_range_are_refused_at_load(node, key, expected, received, why):
    block = node.split(":")[0]
    shape = "[4]" if block == "dense_stack" else "[8, 8, 3]"
    text = f"inputs: {{x: {shape}}}\ngraph:\n  - name: bad\n    {node}\n"
    err = assert_refused_at_load(text, key, expected, received, why)
    assert err.message == f"parameter '{key}' of block '{block}' {why}"


@pytest.mark.parametrize(
    ("block", "kwargs", "message"),
    [
        (
            dense_stack,
            {"units": 8, "depth": 0},
            "Expected a positive integer or null for 'depth'. Received: depth=0",
        ),
        (
            dense_stack,
            {"units": 8, "dropout": 1.5},
            "Expected a number in [0, 1) for 'dropout'. Received: dropout=1.5",
        ),
        (conv_stack, {"filters": 8, "pool": "maxx"}, "Received: pool='maxx'. Did you mean 'max'?"),
        (
            dense_stack,
            {"units": 8, "activation": "rellu"},
            "Received: activation='rellu'. Did you mean 'relu'?",
        ),
        (
            conv_stack,
            {"filters": 8, "up": "deconv"},
            "Expected 'up' to be one of: transpose, upsample or null",
        ),
    ],
)
def test_a_block_called_from_python_checks_the_same_types(block, kwargs, message):
    shape = (4,) if block is dense_stack else (8, 8, 3)
    with pytest.raises(ValueError) as info:
        stack_model(block, shape, **kwargs)
    assert not isinstance(info.value, BlueprintError)
    assert message in str(info.value)


@pytest.mark.parametrize(("node", "fragment"), BAD)
def test_bad_values_give_a_located_error(node, fragment):
    block = node.split(":")[0]
    shape = "[4]" if block == "dense_stack" else "[8, 8, 3]"
    text = f"inputs: {{x: {shape}}}\ngraph:\n  - name: bad\n    {node}\n"
    with pytest.raises(BlueprintError) as info:
        kb.build(text)
    err = info.value
    assert (err.location.line, err.location.col) == (3, 5)
    assert err.message.startswith(f"{block} block 'bad' could not be built: Expected ")
    assert fragment in err.message


# --- the zoo ---------------------------------------------------------------------


def receptive_field(model, last: str) -> int:
    """Side of the input patch one unit of layer ``last`` sees (no dilation)."""
    size, jump = 1, 1
    for layer in model.layers[1:]:
        window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
        if window:
            size += (window[0] - 1) * jump
            jump *= layer.strides[0]
        if layer.name == last:
            return size
    raise KeyError(last)


def test_vgg_receptive_fields_match_the_comments():
    base = ["params.size=32", "params.include_top=false"]
    vgg16 = kb.build("zoo:vgg16", overrides=base, compile=False)
    assert receptive_field(vgg16, "block1_conv2") == 5  # two 3x3 layers: a 5x5 patch
    assert receptive_field(vgg16, "block5_conv3") == 196
    assert receptive_field(vgg16, "block5_pool") == 212
    keras.backend.clear_session()
    vgg19 = kb.build("zoo:vgg19", overrides=base, compile=False)
    assert receptive_field(vgg19, "block5_conv4") == 252


NO_TOP = ["params.include_top=false"]
VGG_MIRRORS = [
    ("zoo:vgg16", [], "VGG16", {}),
    ("zoo:vgg19", [], "VGG19", {}),
    ("zoo:vgg19", NO_TOP, "VGG19", {"include_top": False}),
    (
        "zoo:vgg16",
        [*NO_TOP, "params.pooling=avg"],
        "VGG16",
        {"include_top": False, "pooling": "avg"},
    ),
    # VGG-19 is VGG-16 with other depths: the override alone makes the mirror.
    (
        "zoo:vgg16",
        ["params.depths=[2, 2, 4, 4, 4]", *NO_TOP, "params.pooling=max"],
        "VGG19",
        {"include_top": False, "pooling": "max"},
    ),
]


@pytest.mark.parametrize(("source", "overrides", "reference", "options"), VGG_MIRRORS)
def test_vgg_mirrors_keras_applications(source, overrides, reference, options):
    # 32x32 is the smallest input keras.applications accepts; fc1 then has
    # 512 inputs instead of 25,088 (37,694,248 parameters for VGG-16).
    model = kb.build(source, overrides=["params.size=32", *overrides], compile=False)
    ref = getattr(keras.applications, reference)(weights=None, input_shape=(32, 32, 3), **options)
    assert assert_mirrors(model, ref, batch(2, 32, 32, 3)) < 1e-4


ALEXNET_ROWS = [
    ("image", (None, 227, 227, 3), 0),
    ("block1_conv1", (None, 55, 55, 96), 11 * 11 * 3 * 96 + 96),
    ("block1_pool", (None, 27, 27, 96), 0),
    ("block2_conv1", (None, 27, 27, 256), 5 * 5 * 96 * 256 + 256),
    ("block2_pool", (None, 13, 13, 256), 0),
    ("block3_conv1", (None, 13, 13, 384), 3 * 3 * 256 * 384 + 384),
    ("block3_conv2", (None, 13, 13, 384), 3 * 3 * 384 * 384 + 384),
    ("block3_conv3", (None, 13, 13, 256), 3 * 3 * 384 * 256 + 256),
    ("block3_pool", (None, 6, 6, 256), 0),
    ("flatten", (None, 9216), 0),
    ("fc_dense1", (None, 4096), 9216 * 4096 + 4096),
    ("fc_dense1_dropout", (None, 4096), 0),
    ("fc_dense2", (None, 4096), 4096 * 4096 + 4096),
    ("fc_dense2_dropout", (None, 4096), 0),
    ("predictions", (None, 1000), 4096 * 1000 + 1000),
]


def test_alexnet_layers_match_the_comments():
    model = kb.build("zoo:alexnet", compile=False)
    assert rows(model) == ALEXNET_ROWS
    assert model.count_params() == sum(row[2] for row in ALEXNET_ROWS) == 62_378_344
    assert model.get_layer("fc_dense1_dropout").rate == 0.5


def test_alexnet_batch_norm_variant():
    plain = kb.build("zoo:alexnet", overrides=["params.size=67"], compile=False).count_params()
    keras.backend.clear_session()
    model = kb.build(
        "zoo:alexnet", overrides=["params.size=67", "params.batch_norm=true"], compile=False
    )
    # The five convolutions lose their biases (96 + 256 + 384 + 384 + 256 = 1,376)
    # and gain a BN each (4 * 1,376 = 5,504).
    assert model.count_params() == plain - 1376 + 5504
    assert "block3_conv2_bn" in names(model) and "block3_conv2_act" in names(model)


def test_zfnet_follows_the_papers_shape_flow():
    model = kb.build("zoo:zfnet", compile=False)
    shapes = {layer.name: tuple(layer.output.shape)[1:] for layer in model.layers}
    flow = [shapes[n] for n in ("block1_conv1", "block1_pool", "block2_conv1", "block2_pool")]
    assert flow == [(110, 110, 96), (55, 55, 96), (26, 26, 256), (13, 13, 256)]
    assert shapes["block3_conv3"] == (13, 13, 256) and shapes["block3_pool"] == (6, 6, 256)
    assert model.get_layer("block1_conv1").kernel_size == (7, 7)
    assert model.get_layer("block1_conv1").strides == (2, 2)
    # Only the first layer differs from AlexNet: 7 * 7 * 3 * 96 + 96 against 11 * 11 * 3 * 96 + 96.
    assert model.count_params() == 62_378_344 - 34_944 + 14_208


def test_stacks_train_together():
    model = kb.build(
        textwrap.dedent(
            """
            inputs: {image: [16, 16, 3]}
            graph:
              - name: features
                conv_stack: {filters: [8, 8], batch_norm: true, pool: max}
              - Flatten
              - name: hidden
                dense_stack: {units: 16, maxout: 2, dropout: 0.2, l2: 0.001}
              - name: out
                Dense: {units: 3, activation: softmax}
            compile: {optimizer: adam, loss: sparse_categorical_crossentropy}
            """
        )
    )
    history = model.fit(batch(8, 16, 16, 3), np.arange(8) % 3, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

"""Depthwise-separable blocks (Xception, MobileNetV2); zoo models that mirror keras.applications.

Parameter counts are worked out by hand. A SeparableConv2D without bias has
k²·C_in depthwise weights plus C_in·C_out pointwise weights; a
DepthwiseConv2D k²·C; a 1x1 Conv2D C_in·C_out; a BatchNormalization 4·C
(gamma, beta, moving mean, moving variance).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from mirror import assert_mirrors
from refused import assert_refused_at_load

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.blocks.separable import (
    inverted_residual,
    make_divisible,
    xception_entry_block,
)
from keras_blueprints.catalog.components import BLOCKS


def build_block(shape: list[int], block: str) -> keras.Model:
    """A model of one input, ``x`` of ``shape``, and one block instance named ``b``."""
    text = f"inputs: {{x: {shape}}}\ngraph:\n  - name: b\n    {block}\n"
    return kb.build(text, compile=False)


def names(model) -> list[str]:
    return [layer.name for layer in model.layers]


def random_batch(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype("float32")


# ------------------------------------------------------------------ registry


def test_blocks_are_registered_with_typed_params():
    types = {
        name: {p.name: str(p.type) for p in BLOCKS.get(name).params.values()}
        for name in (
            "xception_entry_block",
            "xception_middle_block",
            "xception_exit_block",
            "inverted_residual",
        )
    }
    assert types == {
        "xception_entry_block": {
            "filters": "int",
            "pre_activation": "bool",
            "shortcut_index": "int | null",
            "add_index": "int | null",
        },
        "xception_middle_block": {"filters": "int", "convs": "int", "add_index": "int | null"},
        "xception_exit_block": {
            "filters": "list",
            "shortcut_index": "int | null",
            "add_index": "int | null",
        },
        "inverted_residual": {
            "filters": "int",
            "expansion": "int",
            "stride": "int",
            "alpha": "float",
        },
    }
    assert BLOCKS.get("inverted_residual").params["expansion"].default == 6


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (32 * 1.0, 32),
        (32 * 0.5, 16),
        (32 * 0.35, 16),  # 11.2 rounds to 8, more than 10% down: one more step
        (16 * 0.75, 16),  # 12 rounds half up
        (24 * 0.35, 8),  # 8.4: at least the divisor
        (1280 * 1.4, 1792),
    ],
)
def test_make_divisible(value, expected):
    assert make_divisible(value, 8) == expected


# ------------------------------------------------------------------ Xception blocks


def test_entry_block_counts_shapes_and_names():
    model = build_block([16, 16, 32], "xception_entry_block: {filters: 64}")
    # sepconv1: depthwise 9·32 = 288 + pointwise 32·64 = 2,048 -> 2,336; BN 4·64 = 256
    # sepconv2: depthwise 9·64 = 576 + pointwise 64·64 = 4,096 -> 4,672; BN 256
    # shortcut: 1x1 conv 32·64 = 2,048; BN 256
    assert model.count_params() == 2_336 + 256 + 4_672 + 256 + 2_048 + 256 == 9_824
    # 3x3/2 max pooling ('same') and the strided shortcut: 16 -> 8.
    assert tuple(model.output.shape) == (None, 8, 8, 64)
    assert names(model) == [
        "x",
        "b_sepconv1_act",
        "b_sepconv1",
        "b_sepconv1_bn",
        "b_sepconv2_act",
        "b_sepconv2",
        "b_sepconv2_bn",
        "b_shortcut",
        "b_pool",
        "b_shortcut_bn",
        "b_add",
    ]


def test_entry_block_takes_keras_indices_for_its_unnamed_layers():
    model = build_block(
        [15, 15, 8],
        "xception_entry_block: {filters: 8, pre_activation: false, shortcut_index: 2,"
        " add_index: 5}",
    )
    assert names(model) == [
        "x",
        "b_sepconv1",  # no ReLU first: pre_activation is false
        "b_sepconv1_bn",
        "b_sepconv2_act",
        "b_sepconv2",
        "b_sepconv2_bn",
        "conv2d_2",
        "b_pool",
        "batch_normalization_2",
        "add_5",
    ]
    # Odd sizes round up: 15 -> 8.
    assert tuple(model.output.shape) == (None, 8, 8, 8)
    # 2 x (9·8 + 8·8 + 4·8) + 8·8 + 4·8 = 2 x 168 + 96
    assert model.count_params() == 432


def test_middle_block_counts_and_identity_shortcut():
    model = build_block([8, 8, 32], "xception_middle_block: {filters: 32, add_index: 3}")
    # each unit: depthwise 9·32 = 288 + pointwise 32·32 = 1,024 + BN 128 = 1,440
    assert model.count_params() == 3 * 1_440 == 4_320
    assert tuple(model.output.shape) == (None, 8, 8, 32)
    assert names(model)[-1] == "add_3"
    assert [n for n in names(model) if n.endswith("_act")] == [
        "b_sepconv1_act",
        "b_sepconv2_act",
        "b_sepconv3_act",
    ]
    # The shortcut is the identity: with the separable branch zeroed (its last
    # batch norm's gamma and beta set to 0), the block returns its input.
    bn = model.get_layer("b_sepconv3_bn")
    gamma, beta, mean, variance = bn.get_weights()
    bn.set_weights([np.zeros_like(gamma), np.zeros_like(beta), mean, variance])
    x = random_batch(2, 8, 8, 32)
    np.testing.assert_allclose(model.predict(x, verbose=0), x, atol=1e-6)


def test_middle_block_with_two_convs():
    model = build_block([4, 4, 16], "xception_middle_block: {filters: 16, convs: 2}")
    # each unit: 9·16 + 16·16 + 4·16 = 144 + 256 + 64 = 464
    assert model.count_params() == 2 * 464
    assert names(model)[-1] == "b_add"


def test_exit_block_widens_inside():
    model = build_block(
        [8, 8, 16], "xception_exit_block: {filters: [24, 32], shortcut_index: 3, add_index: 11}"
    )
    # sepconv1: 9·16 = 144 + 16·24 = 384 + BN 96 = 624
    # sepconv2: 9·24 = 216 + 24·32 = 768 + BN 128 = 1,112
    # shortcut: 16·32 = 512 + BN 128 = 640
    assert model.count_params() == 624 + 1_112 + 640 == 2_376
    assert tuple(model.output.shape) == (None, 4, 4, 32)
    assert {"conv2d_3", "batch_normalization_3", "add_11"} <= set(names(model))
    assert model.get_layer("b_sepconv1").filters == 24


# ------------------------------------------------------------------ MobileNetV2 block


def test_inverted_residual_stride_1_adds_its_input():
    model = build_block([8, 8, 16], "inverted_residual: {filters: 16}")
    # expand 1x1: 16·96 = 1,536 + BN 4·96 = 384
    # depthwise 3x3: 9·96 = 864 + BN 384
    # project 1x1 (linear): 96·16 = 1,536 + BN 4·16 = 64
    assert model.count_params() == 1_536 + 384 + 864 + 384 + 1_536 + 64 == 4_768
    assert tuple(model.output.shape) == (None, 8, 8, 16)
    assert names(model) == [
        "x",
        "b_expand",
        "b_expand_BN",
        "b_expand_relu",
        "b_depthwise",
        "b_depthwise_BN",
        "b_depthwise_relu",
        "b_project",
        "b_project_BN",
        "b_add",
    ]
    assert model.get_layer("b_expand_relu").max_value == 6.0  # ReLU6
    assert model.get_layer("b_project").activation.__name__ == "linear"  # linear bottleneck


@pytest.mark.parametrize(("size", "pad"), [(8, ((0, 1), (0, 1))), (9, ((1, 1), (1, 1)))])
def test_inverted_residual_stride_2_pads_like_keras(size, pad):
    model = build_block([size, size, 16], "inverted_residual: {filters: 24, stride: 2}")
    # Keras' MobileNetV2 block_1: 1,536 + 384 + 864 + 384 + project 96·24 = 2,304 + BN 96
    assert model.count_params() == 5_568
    assert tuple(model.output.shape) == (None, (size + 1) // 2, (size + 1) // 2, 24)
    assert tuple(map(tuple, model.get_layer("b_pad").padding)) == pad
    assert "b_add" not in names(model)  # the shape changes: no residual


def test_inverted_residual_without_expansion():
    model = build_block([8, 8, 32], "inverted_residual: {filters: 16, expansion: 1}")
    # Keras' expanded_conv: depthwise 9·32 = 288 + BN 128, project 32·16 = 512 + BN 64
    assert model.count_params() == 288 + 128 + 512 + 64 == 992
    assert "b_expand" not in names(model)
    assert "b_add" not in names(model)  # 32 channels in, 16 out


def test_inverted_residual_width_multiplier():
    model = build_block([8, 8, 16], "inverted_residual: {filters: 24, alpha: 0.5}")
    # 24 · 0.5 = 12 channels, rounded to a multiple of 8: 16; then stride 1 and
    # 16 channels in and out: the residual is added.
    # 1,536 + 384 + 864 + 384 + 96·16 = 1,536 + BN 64
    assert model.count_params() == 4_768
    assert tuple(model.output.shape) == (None, 8, 8, 16)
    assert names(model)[-1] == "b_add"


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("inverted_residual: {filters: 16, stride: 3}", "Received: stride=3"),
        ("xception_exit_block: {filters: [8]}", "Received: filters=[8]"),
        (
            "xception_middle_block: {filters: 728}",
            "Received: filters=728 and an input with 16 channels",
        ),
    ],
)
def test_bad_value_is_a_located_error(block, message):
    with pytest.raises(BlueprintError) as info:
        build_block([8, 8, 16], block)
    err = info.value
    assert (err.location.line, err.location.col) == (3, 5)  # the node '- name: b'
    assert err.message.startswith(f"{block.split(':')[0]} block 'b' could not be built: ")
    assert err.message.endswith(message)


@pytest.mark.parametrize(
    ("block", "key", "expected", "received"),
    [
        ("inverted_residual: {filters: 16, alpha: 0}", "alpha", "a positive number", 0),
        ("inverted_residual: {filters: 0}", "filters", "a positive integer", 0),
        (
            "xception_entry_block: {filters: 8, add_index: -1}",
            "add_index",
            "a non-negative integer or null",
            -1,
        ),
    ],
)
def test_values_out_of_range_are_refused_at_load(block, key, expected, received):
    text = f"inputs: {{x: [8, 8, 16]}}\ngraph:\n  - name: b\n    {block}\n"
    assert_refused_at_load(text, key, expected, received)


def test_a_block_called_from_python_checks_the_same_types():
    x = keras.Input((8, 8, 16))
    with pytest.raises(
        ValueError, match=r"^Expected a positive number for 'alpha'\. Received: alpha=0$"
    ):
        inverted_residual(x, name="b", filters=16, alpha=0)
    with pytest.raises(ValueError, match=r"Received: add_index=-1$"):
        xception_entry_block(x, name="b", filters=8, add_index=-1)


def test_wrong_type_is_refused_at_load_time():
    with pytest.raises(BlueprintError) as info:
        kb.load("inputs: {x: [8, 8, 16]}\ngraph:\n  - inverted_residual: {filters: '16'}\n")
    assert (
        info.value.message == "parameter 'filters' of block 'inverted_residual' has the wrong type"
    )
    assert (info.value.location.line, info.value.location.col) == (3, 34)  # at '16'


def test_zoo_override_that_breaks_the_middle_flow_points_at_its_node():
    with pytest.raises(BlueprintError) as info:
        kb.build(
            "zoo:xception",
            overrides=["params.size=71", "params.middle_filters=512"],
            compile=False,
        )
    err = info.value
    assert err.location.file.endswith("xception.yaml")
    assert "xception_middle_block block 'block5'" in err.message
    assert err.message.endswith("Received: filters=512 and an input with 728 channels")


# ------------------------------------------------------------------ zoo: structure


def test_xception_indices_follow_the_depth():
    # Resolved without TensorFlow: the unnamed-layer indices come from expressions.
    bp = kb.load("zoo:xception", overrides=["params.middle_blocks=4"])
    blocks = [
        (n.name, n.type, n.args.get("shortcut_index"), n.args.get("add_index"))
        for n in bp.nodes
        if n.kind == "block"
    ]
    assert blocks == [
        ("block2", "xception_entry_block", 0, 0),
        ("block3", "xception_entry_block", 1, 1),
        ("block4", "xception_entry_block", 2, 2),
        ("block5", "xception_middle_block", None, 3),
        ("block6", "xception_middle_block", None, 4),
        ("block7", "xception_middle_block", None, 5),
        ("block8", "xception_middle_block", None, 6),
        ("block9", "xception_exit_block", 3, 7),
    ]
    assert bp.node("block10_sepconv2").args["filters"] == 2048


def test_mobilenet_v2_table_drives_the_blocks():
    bp = kb.load("zoo:mobilenet_v2")
    blocks = [
        (n.name, n.args["filters"], n.args["expansion"], n.args["stride"])
        for n in bp.nodes
        if n.kind == "block"
    ]
    assert blocks == [
        ("expanded_conv", 16, 1, 1),
        ("block_1", 24, 6, 2),
        ("block_2", 24, 6, 1),
        ("block_3", 32, 6, 2),
        ("block_4", 32, 6, 1),
        ("block_5", 32, 6, 1),
        ("block_6", 64, 6, 2),
        ("block_7", 64, 6, 1),
        ("block_8", 64, 6, 1),
        ("block_9", 64, 6, 1),
        ("block_10", 96, 6, 1),
        ("block_11", 96, 6, 1),
        ("block_12", 96, 6, 1),
        ("block_13", 160, 6, 2),
        ("block_14", 160, 6, 1),
        ("block_15", 160, 6, 1),
        ("block_16", 320, 6, 1),
    ]
    shallow = kb.load("zoo:mobilenet_v2", overrides=["params.repeats=[1, 1, 1, 1, 1, 1, 1]"])
    assert [(n.name, n.args["stride"]) for n in shallow.nodes if n.kind == "block"] == [
        ("expanded_conv", 1),
        ("block_1", 2),
        ("block_2", 2),
        ("block_3", 2),
        ("block_4", 1),
        ("block_5", 2),
        ("block_6", 1),
    ]


@pytest.mark.parametrize(
    ("alpha", "stem", "head"), [(0.35, 16, 1280), (1.0, 32, 1280), (1.4, 48, 1792)]
)
def test_mobilenet_v2_alpha_rounds_stem_and_head(alpha, stem, head):
    bp = kb.load("zoo:mobilenet_v2", overrides=[f"params.alpha={alpha}"])
    assert bp.node("Conv1").args["filters"] == stem == make_divisible(32 * alpha)
    assert bp.node("Conv_1").args["filters"] == head


# ------------------------------------------------------------------ zoo: mirrors


def test_xception_mirrors_keras_applications():
    model = kb.build("zoo:xception", overrides=["params.size=71"], compile=False)
    keras.backend.clear_session()  # Keras numbers the reference's unnamed layers from 0
    reference = keras.applications.Xception(weights=None, input_shape=(71, 71, 3))
    assert_mirrors(model, reference, random_batch(2, 71, 71, 3))
    assert reference.count_params() == 22_910_480


def test_mobilenet_v2_mirrors_keras_applications():
    model = kb.build("zoo:mobilenet_v2", overrides=["params.size=32"], compile=False)
    keras.backend.clear_session()
    reference = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3))
    assert_mirrors(model, reference, random_batch(2, 32, 32, 3))
    assert reference.count_params() == 3_538_984


def test_mobilenet_v2_alpha_half_mirrors_keras_applications():
    model = kb.build(
        "zoo:mobilenet_v2", overrides=["params.size=32", "params.alpha=0.5"], compile=False
    )
    keras.backend.clear_session()
    reference = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.5)
    assert_mirrors(model, reference, random_batch(2, 32, 32, 3))
    assert reference.count_params() == 1_987_224


def test_xception_without_top_mirrors_the_feature_extractor():
    model = kb.build(
        "zoo:xception", overrides=["params.size=71", "params.include_top=false"], compile=False
    )
    keras.backend.clear_session()
    reference = keras.applications.Xception(
        weights=None, include_top=False, input_shape=(71, 71, 3)
    )
    assert_mirrors(model, reference, random_batch(2, 71, 71, 3))
    # 22,910,480 - the classifier's 2048·1000 + 1000
    assert model.count_params() == 22_910_480 - 2_049_000
    assert tuple(model.output.shape) == (None, 3, 3, 2048)

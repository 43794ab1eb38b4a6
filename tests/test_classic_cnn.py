"""The convolutional systems as published: LeNet-5's C3 connection table, AlexNet's two towers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.layers.table import LENET5_C3_TABLE, TableConv2D


def test_lenet5_c3_table_has_the_papers_parameter_count():
    model = kb.build("zoo:lenet5", overrides=["params.c3_table=true"], compile=False)
    rows = [(layer.name, tuple(layer.output.shape), layer.count_params()) for layer in model.layers]
    assert rows == [
        ("image", (None, 32, 32, 1), 0),
        ("c1", (None, 28, 28, 6), 156),
        ("s2", (None, 14, 14, 6), 0),
        ("c3", (None, 10, 10, 16), 6 * (75 + 1) + 9 * (100 + 1) + 1 * (150 + 1)),
        ("s4", (None, 5, 5, 16), 0),
        ("c5", (None, 1, 1, 120), 48_120),
        ("flatten", (None, 120), 0),
        ("f6", (None, 84), 10_164),
        ("probabilities", (None, 10), 850),
    ]
    assert model.get_layer("c3").count_params() == 1_516
    assert model.count_params() == 60_806


def test_the_c3_table_is_lecuns_table_one():
    sizes = [len(row) for row in LENET5_C3_TABLE]
    assert sizes == [3] * 6 + [4] * 9 + [6]
    # Maps 0-5: three neighbouring S2 maps (cyclically); 6-11: four neighbouring ones.
    for j in range(6):
        assert set(LENET5_C3_TABLE[j]) == {(j + k) % 6 for k in range(3)}
        assert set(LENET5_C3_TABLE[6 + j]) == {(j + k) % 6 for k in range(4)}
    # Every S2 map feeds exactly 10 of the 16 C3 maps (60 connections / 6).
    counts = TableConv2D().connection_matrix(6).sum(axis=1)
    assert counts.tolist() == [10] * 6


def test_an_output_map_ignores_the_input_maps_its_table_row_leaves_out():
    layer = TableConv2D(table="lenet5", kernel_size=5)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 14, 14, 6)).astype("float32")
    base = keras.ops.convert_to_numpy(layer(x))
    for i in range(6):
        changed = x.copy()
        changed[..., i] += rng.standard_normal((2, 14, 14)).astype("float32")
        delta = np.abs(keras.ops.convert_to_numpy(layer(changed)) - base).max(axis=(0, 1, 2))
        for j, row in enumerate(LENET5_C3_TABLE):
            if i in row:
                assert delta[j] > 1e-3, (i, j)
            else:
                assert delta[j] == 0.0, (i, j)


def test_table_conv_equals_a_conv2d_with_a_masked_kernel():
    layer = TableConv2D(table=[[0, 2], [1], [0, 1, 2]], kernel_size=3, activation="tanh")
    x = np.random.default_rng(1).standard_normal((2, 7, 7, 3)).astype("float32")
    ours = keras.ops.convert_to_numpy(layer(x))
    assert layer.count_params() == 9 * (2 + 1 + 3) + 3
    mask = layer.connection_matrix(3).astype("float32")
    full = keras.ops.convert_to_numpy(layer.full_kernel())
    assert np.all(full[:, :, mask == 0] == 0.0)
    conv = keras.layers.Conv2D(3, 3, activation="tanh")
    conv.build((None, 7, 7, 3))
    conv.set_weights([full, keras.ops.convert_to_numpy(layer.bias)])
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(conv(x)), atol=1e-5)


def test_unconnected_kernels_get_no_weights_and_stay_zero_in_training():
    layer = TableConv2D(table=[[0], [1]], kernel_size=1)
    model = keras.Sequential([keras.Input((4, 4, 2)), layer])
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(2)
    model.fit(rng.random((8, 4, 4, 2)), rng.random((8, 4, 4, 2)), epochs=2, verbose=0)
    full = keras.ops.convert_to_numpy(layer.full_kernel())[0, 0]
    assert full[0, 1] == 0.0 and full[1, 0] == 0.0
    assert full[0, 0] != 0.0 and full[1, 1] != 0.0


@pytest.mark.parametrize(
    ("table", "message"),
    [("lenet7", "'lenet5'"), ([[0], []], "non-empty"), ([[0, 0]], "repeated"), ([[-1]], ">= 0")],
)
def test_a_bad_table_is_refused(table, message):
    with pytest.raises(ValueError, match=message):
        TableConv2D(table=table)


def test_a_table_wider_than_the_input_is_refused():
    with pytest.raises(ValueError, match="more than 5 channels"):
        TableConv2D(table="lenet5")(np.zeros((1, 8, 8, 3), "float32"))


def test_alexnet_two_towers_have_the_papers_parameter_count():
    model = kb.build("zoo:alexnet", overrides=["params.towers=2"], compile=False)
    convs = {layer.name: layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)}
    assert {name: conv.groups for name, conv in convs.items()} == {
        "block1_conv1": 1,
        "block2_conv1": 2,
        "block3_conv1": 1,  # the towers exchange maps at conv3
        "block3_conv2": 2,
        "block3_conv3": 2,
    }
    assert convs["block2_conv1"].count_params() == 5 * 5 * 48 * 256 + 256
    assert convs["block3_conv2"].count_params() == 3 * 3 * 192 * 384 + 384
    assert convs["block3_conv3"].count_params() == 3 * 3 * 192 * 256 + 256
    assert model.count_params() == 60_965_224  # one tower: 62,378,344


def test_a_tower_sees_only_its_own_maps():
    model = kb.build("zoo:alexnet", overrides=["params.towers=2", "params.size=67"])
    conv = model.get_layer("block3_conv2")  # 384 maps in, 384 out, two groups of 192
    x = np.random.default_rng(3).standard_normal((1, 5, 5, 384)).astype("float32")
    base = keras.ops.convert_to_numpy(conv(x))
    changed = x.copy()
    changed[..., 192:] += 1.0  # the second tower's input maps
    delta = np.abs(keras.ops.convert_to_numpy(conv(changed)) - base).max(axis=(0, 1, 2))
    assert delta[:192].max() == 0.0  # the first tower does not see them
    assert delta[192:].min() > 0.0


def test_groups_must_match_the_convolutions():
    text = "inputs: {x: [8, 8, 4]}\ngraph:\n  - conv_stack: {filters: [4, 4], groups: [2, 2, 2]}\n"
    with pytest.raises(BlueprintError, match=r"one 'groups' value per convolution"):
        kb.build(text, compile=False)

"""Inception blocks: output channels, hand-counted parameters, layer names, the zoo models.

Parameter arithmetic: a GoogLeNet convolution (bias, ReLU) from c to f channels
with a k x k kernel has ``k*k*c*f + f`` parameters; an Inception-v3 triple
(convolution without bias, batch normalization without scale, ReLU) has
``k_h*k_w*c*f + 3*f`` (beta, moving mean, moving variance).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest
from mirror import assert_mirrors
from refused import assert_refused_at_load

import keras_blueprints as kb
from keras_blueprints import zoo
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.blocks.inception import inception_v1, inception_v3_c, keras_auto_name


def build_block(block: str, args: dict, shape: tuple[int, ...]) -> keras.Model:
    """Builds a one-block model: input ``x`` of ``shape``, one instance ``m`` of ``block``."""
    text = f"inputs: {{x: {list(shape)}}}\ngraph:\n  - name: m\n    {block}: {json.dumps(args)}\n"
    return kb.build(text, compile=False)


def names(model: keras.Model) -> list[str]:
    return [layer.name for layer in model.layers]


# -- GoogLeNet -----------------------------------------------------------------------


def test_naive_module_passes_the_input_channels_through():
    model = build_block("inception_naive", {"f1x1": 4, "f3x3": 8, "f5x5": 2}, (8, 8, 16))
    # Channels: 4 + 8 + 2 + the 16 pooled input channels.
    assert tuple(model.output.shape) == (None, 8, 8, 30)
    # 1x1: 16*4 + 4 = 68; 3x3: 9*16*8 + 8 = 1,160; 5x5: 25*16*2 + 2 = 802.
    assert model.count_params() == 68 + 1_160 + 802
    assert sorted(names(model)) == ["m", "m_1x1", "m_3x3", "m_5x5", "m_pool", "x"]


def test_googlenet_module_3a():
    args = {"f1x1": 64, "f3x3_reduce": 96, "f3x3": 128, "f5x5_reduce": 16, "f5x5": 32}
    model = build_block("inception_v1", {**args, "pool_proj": 32}, (7, 7, 192))
    assert tuple(model.output.shape) == (None, 7, 7, 64 + 128 + 32 + 32)
    branches = [
        192 * 64 + 64,  # 1x1: 12,352
        (192 * 96 + 96) + (9 * 96 * 128 + 128),  # 3x3 reduce 18,528, 3x3 110,720
        (192 * 16 + 16) + (25 * 16 * 32 + 32),  # 5x5 reduce 3,088, 5x5 12,832
        192 * 32 + 32,  # pool projection: 6,176
    ]
    assert sum(branches) == 163_696 == model.count_params()
    assert sorted(names(model)) == [
        "m", "m_1x1", "m_3x3", "m_3x3_reduce", "m_5x5", "m_5x5_reduce",
        "m_pool", "m_pool_proj", "x",
    ]  # fmt: skip


def test_aux_head_on_module_4a():
    model = build_block("inception_aux_head", {"classes": 1000}, (14, 14, 512))
    assert tuple(model.output.shape) == (None, 1000)
    # 14x14 -5x5/3-> 4x4; conv 512*128 + 128 = 65,664; fc 4*4*128*1024 + 1024 = 2,098,176;
    # classifier 1024*1000 + 1000 = 1,025,000.
    assert model.count_params() == 65_664 + 2_098_176 + 1_025_000
    assert names(model) == ["x", "m_pool", "m_conv", "m_flatten", "m_fc", "m_dropout", "m"]
    assert model.get_layer("m_dropout").rate == pytest.approx(0.7)
    assert model.get_layer("m").activation.__name__ == "softmax"


def test_googlenet_aux_heads_are_extra_outputs_trained_with_loss_weights():
    # Eager: one step of a small model traces faster than it compiles a graph.
    model = kb.build(
        "zoo:inception_v1",
        overrides=["params.size=65", "params.classes=5", "compile.run_eagerly=true"],
    )
    assert model.output_names == ["predictions", "aux1", "aux2"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 5)] * 3
    x = np.random.default_rng(0).standard_normal((2, 65, 65, 3)).astype("float32")
    y = np.array([1, 3])
    history = model.fit(x, {"predictions": y, "aux1": y, "aux2": y}, epochs=1, verbose=0)
    step = {key: values[0] for key, values in history.history.items()}
    # The total is the main loss plus 0.3 times each auxiliary loss.
    total = step["predictions_loss"] + 0.3 * (step["aux1_loss"] + step["aux2_loss"])
    assert step["loss"] == pytest.approx(total, rel=1e-5)
    assert "predictions_accuracy" in step


def test_googlenet_parameter_count_by_hand():
    without_aux = 124_416 + 5_849_136 + 1_025_000  # stem + 9 modules + classifier
    aux1 = 512 * 128 + 128 + 2048 * 1024 + 1024 + 1024 * 1000 + 1000
    aux2 = 528 * 128 + 128 + 2048 * 1024 + 1024 + 1024 * 1000 + 1000
    model = kb.build("zoo:inception_v1", compile=False)
    assert model.count_params() == without_aux + aux1 + aux2 == 13_378_280
    features = keras.Model(model.input, model.outputs[0])
    assert features.count_params() == without_aux == 6_998_552
    assert tuple(model.get_layer("inception_4a").output.shape) == (None, 14, 14, 512)
    assert tuple(model.get_layer("inception_5b").output.shape) == (None, 7, 7, 1024)


# -- Inception-v3 modules ------------------------------------------------------------


def triple(k_h: int, k_w: int, c: int, f: int) -> int:
    """Parameters of a convolution + batch normalization (no scale) triple."""
    return k_h * k_w * c * f + 3 * f


def test_conv_bn_names_from_the_instance_or_keras_numbers():
    model = build_block("inception_conv_bn", {"filters": 32, "kernel_size": [1, 7]}, (9, 9, 3))
    assert names(model) == ["x", "m_conv", "m_bn", "m"]
    assert model.count_params() == triple(1, 7, 3, 32) == 768
    assert model.get_layer("m_conv").kernel_size == (1, 7)
    assert not model.get_layer("m_bn").scale
    keras.backend.clear_session()
    model = build_block("inception_conv_bn", {"filters": 8, "index": 0}, (9, 9, 3))
    assert names(model) == ["x", "conv2d", "batch_normalization", "activation"]
    keras.backend.clear_session()
    model = build_block("inception_conv_bn", {"filters": 8, "index": 12}, (9, 9, 3))
    assert names(model) == ["x", "conv2d_12", "batch_normalization_12", "activation_12"]
    assert keras_auto_name("AveragePooling2D", 3) == "average_pooling2d_3"


def test_module_a_mixed0():
    model = build_block("inception_v3_a", {"pool_proj": 32}, (9, 9, 192))
    assert tuple(model.output.shape) == (None, 9, 9, 64 + 64 + 96 + 32)
    branches = [
        triple(1, 1, 192, 64),  # 1x1: 12,480
        triple(1, 1, 192, 48) + triple(5, 5, 48, 64),  # 9,360 + 76,992
        triple(1, 1, 192, 64)
        + triple(3, 3, 64, 96)
        + triple(3, 3, 96, 96),  # 12,480 + 55,584 + 83,232
        triple(1, 1, 192, 32),  # pool projection: 6,240
    ]
    assert sum(branches) == 256_368 == model.count_params()


def test_reduction_a_mixed3():
    model = build_block("inception_v3_reduction_a", {}, (35, 35, 288))
    # 384 + 96 + the 288 max-pooled input channels; (35 - 3) // 2 + 1 = 17.
    assert tuple(model.output.shape) == (None, 17, 17, 768)
    branches = [
        triple(3, 3, 288, 384),  # 996,480
        triple(1, 1, 288, 64)
        + triple(3, 3, 64, 96)
        + triple(3, 3, 96, 96),  # 18,624 + 55,584 + 83,232
    ]  # the max pooling has no parameters
    assert sum(branches) == 1_153_920 == model.count_params()


def test_module_b_mixed4_asymmetric_kernels():
    model = build_block("inception_v3_b", {"f7x7_reduce": 128}, (9, 9, 768))
    assert tuple(model.output.shape) == (None, 9, 9, 4 * 192)
    branches = [
        triple(1, 1, 768, 192),  # 1x1: 148,032
        triple(1, 1, 768, 128) + triple(1, 7, 128, 128) + triple(7, 1, 128, 192),  # 386,368
        triple(1, 1, 768, 128) + 3 * triple(7, 1, 128, 128) + triple(1, 7, 128, 192),  # 616,512
        triple(1, 1, 768, 192),  # pool projection: 148,032
    ]
    assert sum(branches) == 1_298_944 == model.count_params()
    assert model.get_layer("m_7x7_1_conv").kernel_size == (1, 7)
    assert model.get_layer("m_7x7dbl_1_conv").kernel_size == (7, 1)
    keras.backend.clear_session()
    model = build_block("inception_v3_b", {"f7x7_reduce": 16, "n": 3}, (9, 9, 32))
    assert model.get_layer("m_3x3_1_conv").kernel_size == (1, 3)


def test_reduction_b_mixed8():
    model = build_block("inception_v3_reduction_b", {}, (17, 17, 768))
    assert tuple(model.output.shape) == (None, 8, 8, 320 + 192 + 768)
    branches = [
        triple(1, 1, 768, 192) + triple(3, 3, 192, 320),  # 148,032 + 553,920
        triple(1, 1, 768, 192) + 2 * triple(1, 7, 192, 192) + triple(3, 3, 192, 192),  # 997,632
    ]
    assert sum(branches) == 1_699_584 == model.count_params()


def test_module_c_mixed9_expanded_filter_bank():
    model = build_block("inception_v3_c", {}, (8, 8, 1280))
    assert tuple(model.output.shape) == (None, 8, 8, 320 + 2 * 384 + 2 * 384 + 192)
    branches = [
        triple(1, 1, 1280, 320),  # 410,560
        triple(1, 1, 1280, 384) + 2 * triple(1, 3, 384, 384),  # 492,672 + 2 x 443,520
        triple(1, 1, 1280, 448) + triple(3, 3, 448, 384) + 2 * triple(3, 1, 384, 384),  # 3,011,264
        triple(1, 1, 1280, 192),  # pool projection: 246,336
    ]
    assert sum(branches) == 5_047_872 == model.count_params()
    assert tuple(model.get_layer("m_3x3").output.shape) == (None, 8, 8, 768)
    assert tuple(model.get_layer("m_3x3dbl").output.shape) == (None, 8, 8, 768)


def test_module_c_numbered_as_keras_numbers_mixed9():
    args = {"first_index": 76, "pool_index": 7, "split_names": ["mixed9_0", "concatenate"]}
    model = build_block("inception_v3_c", args, (8, 8, 1280))
    expected = {"x", "m", "mixed9_0", "concatenate", "average_pooling2d_7"}
    for i in range(76, 85):
        expected |= {f"conv2d_{i}", f"batch_normalization_{i}", f"activation_{i}"}
    assert set(names(model)) == expected
    # Keras' order: the 1x1 branch, the 3x3 branch (reduce, 1x3, 3x1), ...
    assert model.get_layer("conv2d_78").kernel_size == (1, 3)
    assert model.get_layer("conv2d_81").kernel_size == (3, 3)
    assert model.get_layer("conv2d_84").filters == 192


# -- the zoo Inception-v3 mirrors keras.applications ----------------------------------


@pytest.mark.slow
def test_inception_v3_mirrors_keras_applications():
    model = kb.build("zoo:inception_v3", overrides=["params.size=75"], compile=False)
    keras.backend.clear_session()  # the reference's unnamed layers count from 0
    reference = keras.applications.InceptionV3(weights=None, input_shape=(75, 75, 3))
    batch = np.random.default_rng(0).standard_normal((2, 75, 75, 3)).astype("float32")
    assert_mirrors(model, reference, batch)
    assert model.count_params() == 23_851_784


def test_inception_v3_without_top_gives_the_feature_map():
    model = kb.build(
        "zoo:inception_v3", overrides=["params.size=75", "params.include_top=false"], compile=False
    )
    assert tuple(model.output.shape) == (None, 1, 1, 2048)
    assert model.count_params() == 23_851_784 - (2048 * 1000 + 1000)
    assert model.layers[-1].name == "mixed10"


# -- errors --------------------------------------------------------------------------


GOOGLENET_3A = "{f1x1: 0, f3x3_reduce: 96, f3x3: 128, f5x5_reduce: 16, f5x5: 32, pool_proj: 32}"


def test_bad_filter_count_is_refused_at_load_at_the_value(yaml_text):
    text = yaml_text(
        f"""
        inputs: {{x: [8, 8, 16]}}
        graph:
          - Conv2D: {{filters: 4, kernel_size: 1}}
          - name: inception_3a
            inception_v1: {GOOGLENET_3A}
        """
    )
    err = assert_refused_at_load(text, "f1x1", "a positive integer", 0)
    assert (err.location.line, err.location.col) == (5, 26)  # at the 0


def test_a_block_called_from_python_checks_the_same_types():
    x = keras.Input((8, 8, 16))
    with pytest.raises(
        ValueError, match=r"^Expected a positive integer for 'f1x1'\. Received: f1x1=0$"
    ):
        inception_v1(x, name="m", f1x1=0, f3x3_reduce=4, f3x3=4, f5x5_reduce=4, f5x5=4, pool_proj=4)
    with pytest.raises(
        ValueError, match=r"^Expected a non-negative integer or null for 'first_index'"
    ):
        inception_v3_c(x, name="m", first_index=-1)


def test_wrong_type_is_refused_at_load_time(yaml_text):
    text = yaml_text(
        """
        inputs: {x: [8, 8, 16]}
        graph:
          - inception_v3_a: {pool_proj: "32", first_index: 1.5}
        """
    )
    with pytest.raises(BlueprintError) as info:
        kb.load(text)
    found = [(e.location.line, e.message) for e in getattr(info.value, "errors", [info.value])]
    assert found == [
        (3, "parameter 'pool_proj' of block 'inception_v3_a' has the wrong type"),
        (3, "parameter 'first_index' of block 'inception_v3_a' has the wrong type"),
    ]


def test_negative_index_and_bad_split_names(yaml_text):
    assert_refused_at_load(
        "inputs: {x: [8, 8, 64]}\ngraph:\n  - inception_v3_c: {first_index: -1}\n",
        "first_index",
        "a non-negative integer or null",
        -1,
    )
    for args, expected in [
        ("{split_names: [a]}", "Expected a list of two layer names or null for 'split_names'"),
    ]:
        text = yaml_text(f"inputs: {{x: [8, 8, 64]}}\ngraph:\n  - inception_v3_c: {args}\n")
        with pytest.raises(BlueprintError) as info:
            kb.build(text)
        assert info.value.location.line == 3
        assert expected in info.value.message


def test_aux_head_on_a_too_small_map_points_at_the_zoo_node():
    # At 64x64 the 4a map is 4x4: smaller than the heads' 5x5 pooling.
    with pytest.raises(BlueprintError) as info:
        kb.build("zoo:inception_v1", overrides=["params.size=64"], compile=False)
    err = info.value
    lines = zoo.path("inception_v1").read_text().splitlines()
    node_line = next(n for n, line in enumerate(lines, 1) if re.match(r"\s*- name: aux1$", line))
    assert Path(err.location.file).name == "inception_v1.yaml"
    assert err.location.line == node_line
    assert "Received: a map of 4x4" in err.message

"""Residual blocks: basic and bottleneck, v1 and v2, stages, and the ResNet zoo.

Parameter counts are worked out by hand in each test. The ResNet blueprints
mirror keras.applications (same parameters, layer names, outputs), and the
deeper ResNets are the same blueprint with other stage sizes.
"""

from __future__ import annotations

import textwrap

import keras
import numpy as np
import pytest
from mirror import assert_mirrors
from refused import assert_refused_at_load

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.blocks.residual import basic_block, bottleneck_block, resnet_stage

RNG = np.random.default_rng(0)
BATCH_32 = RNG.standard_normal((2, 32, 32, 3)).astype("float32")


def block_model(fn, input_shape, /, **kwargs):
    """A model of the block function ``fn`` applied to an input named ``x``."""
    x = keras.Input(input_shape, name="x")
    return keras.Model(x, fn(x, name="b", **kwargs))


def names(model):
    return [layer.name for layer in model.layers]


def count(model, cls):
    return sum(isinstance(layer, cls) for layer in model.layers)


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# BatchNormalization over C channels: 4 * C weights (scale, shift, moving mean and
# variance), of which 2 * C are trained.


# --- basic block -------------------------------------------------------------------


def test_basic_v1_identity():
    model = block_model(basic_block, (8, 8, 16), filters=16)
    # Two 3x3 convolutions 16 -> 16 with bias: 2 * (3*3*16*16 + 16) = 4,640;
    # two BN over 16 channels: 2 * 64 = 128.
    assert model.count_params() == 4_640 + 128
    assert tuple(model.output.shape) == (None, 8, 8, 16)
    assert names(model) == [
        "x",
        "b_1_pad",
        "b_1_conv",
        "b_1_bn",
        "b_1_relu",
        "b_2_conv",
        "b_2_bn",
        "b_add",
        "b_out",
    ]
    assert model.get_layer("b_1_pad").padding == ((1, 1), (1, 1))


def test_basic_v1_projection():
    model = block_model(basic_block, (8, 8, 16), filters=32, stride=2)
    # 3x3 16 -> 32: 4,608 + 32; 3x3 32 -> 32: 9,216 + 32; 1x1 projection
    # 16 -> 32: 512 + 32; three BN over 32 channels: 3 * 128.
    assert model.count_params() == 4_640 + 9_248 + 544 + 384
    assert tuple(model.output.shape) == (None, 4, 4, 32)
    assert {"b_0_conv", "b_0_bn"} <= set(names(model))
    assert model.get_layer("b_0_conv").strides == (2, 2)
    assert model.get_layer("b_1_conv").strides == (2, 2)


def test_basic_without_biases_is_torchvision_style():
    model = block_model(basic_block, (8, 8, 16), filters=32, stride=2, use_bias=False)
    # As above less the 3 convolution biases (32 each): 14,816 - 96.
    assert model.count_params() == 14_720
    assert trainable(model) == 4_608 + 9_216 + 512 + 3 * 64


def test_basic_v2_identity():
    model = block_model(basic_block, (8, 8, 16), filters=16, version=2)
    # Pre-activation BN over 16: 64; 3x3 16 -> 16 without bias (followed by BN):
    # 2,304; BN 64; last 3x3 16 -> 16 with bias (nothing follows): 2,320.
    assert model.count_params() == 64 + 2_304 + 64 + 2_320
    assert tuple(model.output.shape) == (None, 8, 8, 16)
    assert names(model) == [
        "x",
        "b_preact_bn",
        "b_preact_relu",
        "b_1_pad",
        "b_1_conv",
        "b_1_bn",
        "b_1_relu",
        "b_2_conv",
        "b_out",
    ]


def test_basic_v2_strided_identity_pools():
    model = block_model(
        basic_block, (8, 8, 16), filters=16, stride=2, version=2, conv_shortcut=False
    )
    # The same weights as the identity block above; the shortcut is a 1x1 max pooling.
    assert model.count_params() == 4_752
    assert tuple(model.output.shape) == (None, 4, 4, 16)
    pool = model.get_layer("b_0_pool")
    assert isinstance(pool, keras.layers.MaxPooling2D)
    assert (pool.pool_size, pool.strides) == ((1, 1), (2, 2))


def test_basic_v2_projection():
    model = block_model(basic_block, (8, 8, 16), filters=32, stride=2, version=2)
    # Pre-activation BN 64; 1x1 projection with bias 512 + 32; 3x3 16 -> 32
    # 4,608; BN 128; 3x3 32 -> 32 with bias 9,248.
    assert model.count_params() == 64 + 544 + 4_608 + 128 + 9_248
    assert tuple(model.output.shape) == (None, 4, 4, 32)
    assert count(model, keras.layers.MaxPooling2D) == 0


# --- bottleneck block --------------------------------------------------------------


def test_bottleneck_v1_projection():
    model = block_model(bottleneck_block, (8, 8, 16), filters=8, stride=2)
    # Projection 1x1 16 -> 32: 544, BN 128; 1x1 16 -> 8: 136, BN 32;
    # 3x3 8 -> 8: 584, BN 32; 1x1 8 -> 32: 288, BN 128.
    assert model.count_params() == 544 + 128 + 136 + 32 + 584 + 32 + 288 + 128
    assert tuple(model.output.shape) == (None, 4, 4, 32)
    assert model.get_layer("b_1_conv").strides == (2, 2)  # v1 strides the first 1x1


def test_bottleneck_v1_identity():
    model = block_model(bottleneck_block, (8, 8, 32), filters=8)
    # 1x1 32 -> 8: 264, BN 32; 3x3 8 -> 8: 584, BN 32; 1x1 8 -> 32: 288, BN 128.
    assert model.count_params() == 264 + 32 + 584 + 32 + 288 + 128
    assert tuple(model.output.shape) == (None, 8, 8, 32)
    assert "b_0_conv" not in names(model)


def test_bottleneck_v2_projection():
    model = block_model(bottleneck_block, (8, 8, 16), filters=8, version=2)
    # Pre-activation BN 64; projection 1x1 16 -> 32 with bias: 544; 1x1 16 -> 8
    # without bias: 128, BN 32; 3x3 8 -> 8: 576, BN 32; 1x1 8 -> 32 with bias: 288.
    assert model.count_params() == 64 + 544 + 128 + 32 + 576 + 32 + 288
    assert tuple(model.output.shape) == (None, 8, 8, 32)


def test_bottleneck_v2_strided_identity():
    model = block_model(
        bottleneck_block, (8, 8, 32), filters=8, stride=2, version=2, conv_shortcut=False
    )
    # Pre-activation BN 128; 1x1 32 -> 8: 256, BN 32; 3x3 8 -> 8: 576, BN 32;
    # 1x1 8 -> 32: 288. The shortcut is a pooling, without weights.
    assert model.count_params() == 128 + 256 + 32 + 576 + 32 + 288
    assert tuple(model.output.shape) == (None, 4, 4, 32)
    assert model.get_layer("b_2_conv").strides == (2, 2)  # v2 strides the 3x3


@pytest.mark.parametrize(
    ("version", "kwargs", "pool_name"),
    [
        (1, {"stride": 2, "conv_shortcut": True}, None),
        (1, {"stride": 1, "conv_shortcut": False}, None),
        (2, {"stride": 1, "conv_shortcut": True}, None),
        (2, {"stride": 2, "conv_shortcut": False}, "max_pooling2d"),
    ],
)
def test_bottleneck_mirrors_keras_applications_block(version, kwargs, pool_name):
    from keras_blueprints._compat.keras import resnet_residual_block

    channels = 32 if kwargs["conv_shortcut"] is False else 16
    reference_block = resnet_residual_block(version)
    x = keras.Input((8, 8, channels), name="x")
    reference = keras.Model(x, reference_block(x, 8, name="b", **kwargs))
    keras.backend.clear_session()  # the reference's unnamed pooling is max_pooling2d
    model = block_model(
        bottleneck_block,
        (8, 8, channels),
        filters=8,
        version=version,
        pool_name=pool_name,
        **kwargs,
    )
    batch = RNG.standard_normal((2, 8, 8, channels)).astype("float32")
    assert assert_mirrors(model, reference, batch, atol=1e-5) < 1e-5


def test_automatic_shortcut_projects_when_the_shape_changes():
    same = block_model(bottleneck_block, (8, 8, 32), filters=8)
    wider = block_model(bottleneck_block, (8, 8, 16), filters=8)
    strided = block_model(basic_block, (8, 8, 16), filters=16, stride=2)
    assert "b_0_conv" not in names(same)
    assert "b_0_conv" in names(wider)
    assert "b_0_conv" in names(strided)
    forced = block_model(bottleneck_block, (8, 8, 32), filters=8, conv_shortcut=True)
    assert "b_0_conv" in names(forced)


# --- stages ------------------------------------------------------------------------


def test_basic_stage():
    model = block_model(resnet_stage, (8, 8, 16), filters=32, blocks=2, block="basic")
    # block1: the projection block of test_basic_v1_projection, 14,816;
    # block2: identity, 2 * (3*3*32*32 + 32) + 2 BN * 128 = 18,752.
    assert model.count_params() == 14_816 + 18_752
    assert tuple(model.output.shape) == (None, 4, 4, 32)
    assert "b_block1_0_conv" in names(model)
    assert "b_block2_0_conv" not in names(model)
    assert names(model)[-2:] == ["b_block2_add", "b_block2_out"]


def test_v2_stage_strides_its_last_block():
    model = block_model(resnet_stage, (8, 8, 16), filters=8, blocks=3, version=2, pool_name="down")
    # block1 projects (16 -> 32 channels, test_bottleneck_v2_projection): 1,664;
    # block2 and block3 are identities at 32 channels (1,312 each, the strided
    # one pools its shortcut).
    assert model.count_params() == 1_664 + 2 * 1_312
    assert tuple(model.output.shape) == (None, 4, 4, 32)
    assert model.get_layer("b_block3_2_conv").strides == (2, 2)
    assert model.get_layer("down").strides == (2, 2)
    assert count(model, keras.layers.MaxPooling2D) == 1


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stride": 0}, "Expected a positive integer for 'stride'. Received: stride=0"),
        ({"filters": -8}, "Expected a positive integer for 'filters'. Received: filters=-8"),
        ({"kernel_size": 2}, "Expected an odd 'kernel_size'"),
        ({"version": 3}, "Expected 'version' to be one of [1, 2]"),
        ({"conv_shortcut": False}, "Received: conv_shortcut=False with 16 input channels"),
    ],
)
def test_bad_block_values(kwargs, message):
    x = keras.Input((8, 8, 16))
    with pytest.raises(ValueError) as info:
        bottleneck_block(x, name="b", **{"filters": 8, **kwargs})
    assert message in str(info.value)


def test_bad_stage_values():
    x = keras.Input((8, 8, 16))
    with pytest.raises(ValueError, match=r"Received: blocks=0$"):
        resnet_stage(x, name="s", filters=8, blocks=0)
    with pytest.raises(ValueError, match=r"Expected 'block' to be one of basic, bottleneck"):
        resnet_stage(x, name="s", filters=8, blocks=2, block="wide")


def test_bad_value_in_a_blueprint_is_refused_at_load_at_the_value():
    text = textwrap.dedent(
        """\
        inputs: {image: [32, 32, 3]}
        graph:
          - name: stage
            resnet_stage: {filters: 8, blocks: 2, stride: 0}
          - GlobalAveragePooling2D
        """
    )
    err = assert_refused_at_load(text, "stride", "a positive integer", 0)
    assert (err.location.line, err.location.col) == (4, 51)
    assert err.message == "parameter 'stride' of block 'resnet_stage' is out of range"


def test_bad_stage_size_override_points_at_the_zoo_file():
    with pytest.raises(BlueprintError) as info:
        kb.load("zoo:resnet50", overrides=["params.stages=[3, 4, 0, 3]"])
    err = info.value
    assert err.location.file.endswith("resnet50.yaml")
    assert err.message == "parameter 'blocks' of block 'resnet_stage' is out of range"
    assert (err.expected, err.received) == ("a positive integer", 0)
    assert "params.stages=[3, 4, 0, 3]" in err.hint


def test_block_parameters_are_typed_at_load_time():
    with pytest.raises(BlueprintError) as info:
        kb.load("inputs: {x: [8, 8, 3]}\ngraph:\n  - basic_block: {filters: '16'}\n")
    assert info.value.message == "parameter 'filters' of block 'basic_block' has the wrong type"


# --- the zoo -----------------------------------------------------------------------


def test_resnet18_has_torchvisions_parameter_count():
    model = kb.build("zoo:resnet18", compile=False)
    # Worked out in blueprints/resnet18.yaml: 11,689,512 trained parameters
    # (torchvision.models.resnet18), plus 9,600 BN moving statistics.
    assert trainable(model) == 11_689_512
    assert model.count_params() == 11_689_512 + 9_600
    assert tuple(model.output.shape) == (None, 1000)
    assert names(model)[-4:] == ["conv5_block2_add", "conv5_block2_out", "avg_pool", "predictions"]
    keras.backend.clear_session()
    resnet34 = kb.build("zoo:resnet18", overrides=["params.stages=[3,4,6,3]"], compile=False)
    assert trainable(resnet34) == 21_797_672  # torchvision.models.resnet34


def test_resnet50_mirrors_keras_applications():
    model = kb.build("zoo:resnet50", overrides=["params.size=32"], compile=False)
    keras.backend.clear_session()
    reference = keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3))
    assert model.count_params() == 25_636_712
    assert assert_mirrors(model, reference, BATCH_32) < 1e-4


def test_resnet50_v2_mirrors_keras_applications():
    model = kb.build("zoo:resnet50_v2", overrides=["params.size=32"], compile=False)
    keras.backend.clear_session()
    reference = keras.applications.ResNet50V2(weights=None, input_shape=(32, 32, 3))
    assert model.count_params() == 25_613_800
    assert assert_mirrors(model, reference, BATCH_32) < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize(
    ("zoo_name", "stages", "application"),
    [
        ("resnet50", "[3,4,23,3]", "ResNet101"),
        ("resnet50", "[3,8,36,3]", "ResNet152"),
        ("resnet50_v2", "[3,4,23,3]", "ResNet101V2"),
    ],
)
def test_deeper_resnets_are_stage_sizes_alone(zoo_name, stages, application):
    model = kb.build(
        f"zoo:{zoo_name}", overrides=["params.size=32", f"params.stages={stages}"], compile=False
    )
    keras.backend.clear_session()
    reference = getattr(keras.applications, application)(weights=None, input_shape=(32, 32, 3))
    assert assert_mirrors(model, reference, BATCH_32) < 1e-4

"""U-Net and WaveNet blocks and zoo entries: counts by hand, shapes, crops, causality."""

from __future__ import annotations

import textwrap

import keras
import numpy as np
import pytest
from refused import NOT_A_CHOICE, OUT_OF_RANGE, assert_refused_at_load

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.blocks.unet import output_size, unet, valid_sizes
from keras_blueprints.blocks.wavenet import receptive_field


def conv(k: int, cin: int, cout: int) -> int:
    """Parameters of a convolution: k (or k x k) kernel weights per input and output, bias."""
    return k * cin * cout + cout


def unet_params(filters: int, depth: int = 4, channels: int = 1, classes: int | None = 2) -> int:
    """U-Net parameters by hand: two 3x3 convs per level, a 2x2 up-conv per decoder level."""
    total, c = 0, channels
    for level in range(depth + 1):  # the encoder levels and the bottom
        f = filters * 2**level
        total += conv(9, c, f) + conv(9, f, f)
        c = f
    for level in reversed(range(depth)):  # up-conv, then 3x3 convs over [skip, up]
        f = filters * 2**level
        total += conv(4, c, f) + conv(9, 2 * f, f) + conv(9, f, f)
        c = f
    return total + (conv(1, c, classes) if classes else 0)


def wavenet_params(r: int, s: int, n: int, g: int | None = None, k: int = 2) -> int:
    """A wavenet_stack by hand: n gated blocks, their skips, n - 1 residual 1x1 convs."""
    g = g or r
    return n * (2 * conv(k, r, g) + conv(1, g, s)) + (n - 1) * conv(1, g, r)


def build(text: str):
    return kb.build(textwrap.dedent(text), compile=False)


def shape(model, layer: str) -> tuple:
    return tuple(model.get_layer(layer).output.shape)


# -- U-Net: sizes --------------------------------------------------------------------------


def test_the_paper_arithmetic_of_valid_sizes():
    # 572 - 4 = 568 -> 284 - 4 = 280 -> 140 - 4 = 136 -> 68 - 4 = 64 -> 32 - 4 = 28,
    # then 56 - 4 = 52 -> 104 - 4 = 100 -> 200 - 4 = 196 -> 392 - 4 = 388.
    assert output_size(572, 4, "valid") == 388
    assert output_size(570, 4, "valid") is None  # 570 -> 566 -> 283 -> 279: odd
    assert output_size(128, 4, "same") == 128
    assert output_size(100, 4, "same") is None  # 100 -> 50 -> 25: odd
    # 16 * (m + 4) - 4 with m >= 8; m = 7 gives 172 -> bottom 3 -> 2 -> 0 pixels.
    assert valid_sizes(4, "valid", 600) == [16 * (m + 4) - 4 for m in range(8, 34)]  # ... 572, 588
    assert output_size(172, 4, "valid") is None
    assert valid_sizes(2, "same", 20) == [4, 8, 12, 16, 20]


# -- U-Net: blocks ---------------------------------------------------------------------------


def test_conv_block_counts_and_padding():
    model = build(
        """
        inputs: {x: [16, 16, 3]}
        graph:
          - name: same
            unet_conv_block: {filters: 8}
          - name: valid
            from: x
            unet_conv_block: {filters: 8, padding: valid}
        outputs: [same, valid]
        """
    )
    # 3x3 convs: 9*3*8 + 8 = 224, then 9*8*8 + 8 = 584, for each of the two blocks.
    assert model.count_params() == 2 * (224 + 584)
    assert [tuple(o.shape) for o in model.outputs] == [(None, 16, 16, 8), (None, 12, 12, 8)]
    names = [layer.name for layer in model.layers if layer.name.startswith("same")]
    assert names == ["same_1_conv", "same_1_relu", "same_2_conv", "same_2_relu"]


def test_encoder_level_returns_skip_and_pooled():
    model = build(
        """
        inputs: {x: [20, 20, 2]}
        graph:
          - name: down
            unet_encoder_level: {filters: 4, padding: valid, batch_norm: true, dropout: 0.5}
          - name: deeper
            from: down.pooled
            unet_encoder_level: {filters: 8}
        outputs: [down.skip, deeper.pooled]
        """
    )
    # valid: 20 -> 18 -> 16 (skip) -> 8 (pooled); same: 8 -> 8 -> 4.
    assert [tuple(o.shape) for o in model.outputs] == [(None, 16, 16, 4), (None, 4, 4, 8)]
    assert shape(model, "down_pool") == (None, 8, 8, 4)
    # With batch norm the convs have no bias and each channel has 4 BN parameters
    # (2 non-trainable): 9*2*4 + 16 = 88 and 9*4*4 + 16 = 160. Then, without batch
    # norm, 9*4*8 + 8 = 296 and 9*8*8 + 8 = 584.
    assert model.count_params() == 88 + 160 + 296 + 584
    assert {"down_1_bn", "down_drop", "down_pool"} <= {layer.name for layer in model.layers}


def test_encoder_level_without_an_output_name_is_ambiguous():
    with pytest.raises(BlueprintError) as info:
        build(
            """
            inputs: {x: [8, 8, 1]}
            graph:
              - name: down
                unet_encoder_level: {filters: 2}
              - Flatten
            """
        )
    assert info.value.message == "'down' has several outputs; say which one"
    assert info.value.expected == "down.skip, down.pooled"


def test_decoder_level_crops_the_skip_around_its_centre():
    model = build(
        """
        inputs: {deep: [8, 8, 16], skip: [25, 25, 8]}
        graph:
          - name: up
            from: [deep, skip]
            unet_decoder_level: {filters: 8, padding: valid}
        """
    )
    # Up-conv 8 -> 16; the skip loses 25 - 16 = 9 rows: 4 above, 5 below.
    assert model.get_layer("up_crop").cropping == ((4, 5), (4, 5))
    assert shape(model, "up_concat") == (None, 16, 16, 8 + 8)  # [skip, up] channels
    assert tuple(model.output.shape) == (None, 12, 12, 8)  # two valid 3x3 convs: 16 - 4
    # up-conv 2*2*16*8 + 8 = 520; 3x3 over 16 channels 1,160; 3x3 over 8 channels 584.
    assert model.count_params() == 520 + 1_160 + 584
    skip = np.random.default_rng(0).standard_normal((2, 25, 25, 8)).astype("float32")
    deep = np.zeros((2, 8, 8, 16), "float32")
    cropped = keras.Model(model.inputs, model.get_layer("up_crop").output)([deep, skip])
    np.testing.assert_array_equal(np.asarray(cropped), skip[:, 4:20, 4:20, :])


def test_decoder_level_same_padding_needs_no_crop():
    model = build(
        """
        inputs: {deep: [4, 4, 16], skip: [8, 8, 8]}
        graph:
          - name: up
            from: [deep, skip]
            unet_decoder_level: {filters: 8}
        """
    )
    assert "up_crop" not in [layer.name for layer in model.layers]
    assert shape(model, "up_concat") == (None, 8, 8, 16)
    assert tuple(model.output.shape) == (None, 8, 8, 8)


@pytest.mark.parametrize(
    ("up", "layers"),
    [("transpose", ["up_up"]), ("upsample", ["up_upsample", "up_up"])],
)
def test_both_up_modes_double_the_size_with_the_same_count(up, layers):
    model = build(
        f"""
        inputs: {{deep: [4, 4, 16], skip: [8, 8, 8]}}
        graph:
          - name: up
            from: [deep, skip]
            unet_decoder_level: {{filters: 8, up: {up}}}
        """
    )
    names = [layer.name for layer in model.layers]
    assert [n for n in names if n.startswith("up_up")] == layers
    up_layer = model.get_layer("up_up")
    expected_type = {"transpose": "Conv2DTranspose", "upsample": "Conv2D"}[up]
    assert type(up_layer).__name__ == expected_type
    assert shape(model, "up_up") == (None, 8, 8, 8)
    # Either way a 2x2 kernel from 16 to 8 channels: 2*2*16*8 + 8 = 520.
    assert up_layer.count_params() == 520
    assert model.count_params() == 520 + conv(9, 16, 8) + conv(9, 8, 8)


def test_decoder_level_refuses_a_smaller_skip():
    with pytest.raises(BlueprintError) as info:
        build(
            """
            inputs: {deep: [8, 8, 4], skip: [12, 12, 4]}
            graph:
              - name: up
                from: [deep, skip]
                unet_decoder_level: {filters: 4}
            """
        )
    assert "Expected the skip tensor of 'up' to be at least as large" in info.value.message


def test_unet_zoo_levels_and_skip_concatenations():
    model = kb.build("zoo:unet", overrides=["params.size=32", "params.filters=4"], compile=False)
    assert model.count_params() == unet_params(4, classes=1) == 121_653
    for level, size in enumerate([32, 16, 8, 4]):
        f = 4 * 2**level
        assert shape(model, f"down{level}_2_relu") == (None, size, size, f)
        assert shape(model, f"up{level}_concat") == (None, size, size, 2 * f)
    assert shape(model, "up4_2_relu") == (None, 2, 2, 64)
    assert tuple(model.output.shape) == (None, 32, 32, 1)


def test_unet_zoo_variants_by_parameters():
    model = kb.build(
        "zoo:unet",
        overrides=["params.size=24", "params.filters=2", "params.depth=3", "params.up=upsample"],
        compile=False,
    )
    assert model.count_params() == unet_params(2, depth=3, classes=1)
    assert "up0_upsample" in [layer.name for layer in model.layers]
    assert tuple(model.output.shape) == (None, 24, 24, 1)


def test_unet_block_is_the_zoo_network():
    """The one-node `unet` block and zoo:unet's level-by-level graph compute the same thing."""
    zoo = kb.build("zoo:unet", overrides=["params.size=16", "params.filters=2"], compile=False)
    block = build(
        """
        inputs: {image: [16, 16, 1]}
        graph:
          - name: unet
            unet: {filters: 2}
          - name: mask
            Conv2D: {filters: 1, kernel_size: 1, activation: sigmoid}
        """
    )
    assert block.count_params() == zoo.count_params() == unet_params(2, classes=1)
    for layer in block.layers:
        if layer.weights:
            twin = layer.name.removeprefix("unet_").replace("bottom", "up4")
            zoo.get_layer(twin).set_weights(layer.get_weights())
    batch = np.random.default_rng(1).standard_normal((2, 16, 16, 1)).astype("float32")
    np.testing.assert_allclose(zoo(batch), block(batch), atol=1e-6)


def test_unet_original_is_the_paper_network():
    model = kb.build("zoo:unet_original", compile=False)
    assert model.count_params() == unet_params(64) == 31_030_658
    assert tuple(model.input.shape) == (None, 572, 572, 1)
    assert tuple(model.output.shape) == (None, 388, 388, 2)
    # The skips 568, 280, 136, 64 are cropped to the upsampled 392, 200, 104, 56.
    crops = {level: model.get_layer(f"unet_up{level}_crop") for level in range(4)}
    assert {level: c.cropping for level, c in crops.items()} == {
        0: ((88, 88), (88, 88)),
        1: ((40, 40), (40, 40)),
        2: ((16, 16), (16, 16)),
        3: ((4, 4), (4, 4)),
    }
    assert [shape(model, f"unet_up{level}_concat") for level in range(4)] == [
        (None, 392, 392, 128),
        (None, 200, 200, 256),
        (None, 104, 104, 512),
        (None, 56, 56, 1024),
    ]
    assert shape(model, "unet_bottom_2_relu") == (None, 28, 28, 1024)


def test_unet_original_refuses_a_size_without_whole_feature_maps():
    with pytest.raises(BlueprintError) as info:
        kb.build("zoo:unet_original", overrides=["params.size=570"], compile=False)
    err = info.value
    assert err.location.file.endswith("unet_original.yaml")
    assert (err.location.line, err.location.col) == (65, 5)  # the `unet` node
    assert err.message == (
        "unet block 'unet' could not be built: input size 570 does not give whole feature maps "
        "at every level of a valid-padding U-Net of depth 4. Expected one of 188, 204, 220, "
        "... (every 16); the nearest are 556 and 572"
    )


def test_unet_same_padding_refuses_an_odd_level():
    with pytest.raises(BlueprintError) as info:
        kb.build("zoo:unet", overrides=["params.size=40", "params.filters=2"], compile=False)
    # 40 -> 20 -> 10 -> 5: down2 is fine, down3 would pool 5x5.
    assert info.value.message.startswith(
        "unet_encoder_level block 'down3' could not be built: Expected an even feature map size "
        "before the 2x2 max pooling of 'down3'"
    )
    assert "Received: feature map 5x5" in info.value.message


@pytest.mark.parametrize(
    ("args", "key", "expected", "received", "why"),
    [
        ("{filters: 4, padding: vaild}", "padding", "one of: same, valid", "vaild", NOT_A_CHOICE),
        ("{filters: 0}", "filters", "a positive integer", 0, OUT_OF_RANGE),
        (
            "{filters: 4, up: deconv}",
            "up",
            "one of: transpose, upsample",
            "deconv",
            NOT_A_CHOICE,
        ),
        ("{filters: 4, dropout: 1.5}", "dropout", "a number in [0, 1)", 1.5, OUT_OF_RANGE),
    ],
)
def test_bad_unet_values_are_refused_at_load(args, key, expected, received, why):
    text = f"""
        inputs: {{image: [16, 16, 1]}}
        graph:
          - name: net
            unet: {args}
        """
    assert_refused_at_load(text, key, expected, received, why)


def test_a_unet_called_from_python_checks_the_same_types():
    x = keras.Input((16, 16, 1))
    with pytest.raises(ValueError, match=r"^Expected 'padding' to be one of: same, valid\. "):
        unet(x, name="u", filters=4, padding="vaild")
    with pytest.raises(ValueError, match=r"Received: dropout=1\.5$"):
        unet(x, name="u", filters=4, dropout=1.5)


def test_unet_argument_types_are_checked_at_load_time():
    with pytest.raises(BlueprintError) as info:
        kb.load("inputs: {x: [16, 16, 1]}\ngraph:\n  - unet: {depth: four}\n")
    assert info.value.message == "parameter 'depth' of block 'unet' has the wrong type"
    assert (info.value.location.line, info.value.location.col) == (3, 19)


def test_valid_padding_needs_a_fixed_size():
    with pytest.raises(BlueprintError) as info:
        build(
            """
            inputs: {image: [null, null, 1]}
            graph:
              - unet: {filters: 2, padding: valid}
            """
        )
    assert "Expected a fixed input height and width" in info.value.message
    model = build(
        """
        inputs: {image: [null, null, 1]}
        graph:
          - unet: {filters: 2, depth: 2}
        """
    )
    assert tuple(model.output.shape) == (None, None, None, 2)
    out = model(np.zeros((1, 12, 20, 1), "float32"))
    assert out.shape == (1, 12, 20, 2)


# -- WaveNet --------------------------------------------------------------------------------


def causal_conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, dilation: int) -> np.ndarray:
    """Reference kernel-2 dilated causal convolution: y[t] = W0 x[t - d] + W1 x[t] + b."""
    past = np.concatenate([np.zeros_like(x[:, :dilation]), x[:, :-dilation]], axis=1)
    return past @ kernel[0] + x @ kernel[1] + bias


def test_residual_block_counts_outputs_and_computes_the_gate():
    model = build(
        """
        inputs: {x: [10, 4]}
        graph:
          - name: b
            wavenet_residual_block: {dilation_rate: 2, skip_channels: 6}
        outputs: [b.residual, b.skip]
        """
    )
    # r = g = 4, s = 6, k = 2: filter and gate 2*4*4 + 4 = 36 each, residual 1x1
    # 4*4 + 4 = 20, skip 1x1 4*6 + 6 = 30.
    assert model.count_params() == 36 + 36 + 20 + 30 == wavenet_params(4, 6, 1) + 20
    assert [tuple(o.shape) for o in model.outputs] == [(None, 10, 4), (None, 10, 6)]
    x = np.random.default_rng(2).standard_normal((2, 10, 4)).astype("float32")
    residual, skip = (np.asarray(o) for o in model(x))
    weights = {layer.name: layer.get_weights() for layer in model.layers}
    z = np.tanh(causal_conv(x, *weights["b_filter"], 2)) / (
        1 + np.exp(-causal_conv(x, *weights["b_gate"], 2))
    )
    (wr, br), (ws, bs) = weights["b_residual"], weights["b_skip"]
    np.testing.assert_allclose(skip, z @ ws[0] + bs, atol=1e-5)
    np.testing.assert_allclose(residual, x + z @ wr[0] + br, atol=1e-5)


def test_stack_counts_names_and_dilations():
    model = build(
        """
        inputs: {x: [null, 4]}
        graph:
          - name: stack
            wavenet_stack: {stacks: 2, layers_per_stack: 3, skip_channels: 6, gate_channels: 5}
        """
    )
    # Per block: 2 * (2*4*5 + 5) = 90 gated + 5*6 + 6 = 36 skip; 6 blocks; 5 residual
    # 1x1 convs of 5*4 + 4 = 24 (the last block's residual would feed nothing).
    assert model.count_params() == 6 * (90 + 36) + 5 * 24 == wavenet_params(4, 6, 6, g=5)
    assert tuple(model.output.shape) == (None, None, 6)
    filters = [layer for layer in model.layers if layer.name.endswith("_filter")]
    assert [(f.name, f.dilation_rate) for f in filters] == [
        (f"stack_s{s}_d{d}_filter", (d,)) for s in (1, 2) for d in (1, 2, 4)
    ]
    names = {layer.name for layer in model.layers}
    assert "stack_s2_d2_residual" in names and "stack_s2_d4_residual" not in names
    assert len(model.get_layer("stack_skip_sum").input) == 6


def test_wavenet_zoo_count_by_hand():
    model = kb.build("zoo:wavenet", compile=False)
    # Causal input conv 2*256*32 + 32, 20 blocks, head 1x1 64 -> 64 and 64 -> 256.
    expected = conv(2, 256, 32) + wavenet_params(32, 64, 20) + conv(1, 64, 64) + conv(1, 64, 256)
    assert model.count_params() == expected == 182_720
    assert tuple(model.output.shape) == (None, None, 256)
    assert receptive_field(2, 10) + 1 == 2048  # + 1: the causal input convolution


def test_wavenet_is_causal_with_the_receptive_field_of_its_comments():
    # Enough skip channels that the output head's ReLUs cannot all be off at one
    # step (with 4, some seeds leave a step inside the field unchanged), and seeded
    # weights so the outcome does not depend on which tests ran before.
    small = [
        "params.quantization=8",
        "params.residual_channels=8",
        "params.skip_channels=32",
        "params.stacks=1",
        "params.layers_per_stack=3",
    ]
    keras.utils.set_random_seed(0)
    model = kb.build("zoo:wavenet", overrides=small, compile=False)
    field = receptive_field(1, 3) + 1  # 1 + 7 dilated steps + 1 input-conv step = 9
    assert field == 9
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 40, 8)).astype("float32")
    t = 12
    changed = x.copy()
    changed[:, t] += 5.0
    diff = np.abs(np.asarray(model(changed)) - np.asarray(model(x))).max(axis=-1)[0]
    assert np.all(diff[:t] == 0.0)  # the past does not see the future
    assert np.all(diff[t : t + field] > 1e-7)  # every output that sees step t moves
    assert np.all(diff[t + field :] == 0.0)  # and no output beyond the receptive field


@pytest.mark.parametrize(
    ("args", "key", "received"),
    [("{stacks: 0}", "stacks", 0), ("{skip_channels: -1}", "skip_channels", -1)],
)
def test_bad_wavenet_values_are_refused_at_load(args, key, received):
    text = f"""
        inputs: {{x: [null, 4]}}
        graph:
          - name: net
            wavenet_stack: {args}
        """
    assert_refused_at_load(text, key, "a positive integer", received)


def test_wavenet_refuses_an_image():
    with pytest.raises(BlueprintError) as info:
        build("inputs: {x: [8, 8, 1]}\ngraph:\n  - wavenet_stack: {}\n")
    assert "Expected a 3D sequence (batch, time, channels)" in info.value.message

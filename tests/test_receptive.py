"""Receptive fields and jumps, against the values worked by hand (issue 15)."""

from __future__ import annotations

import pytest

import keras_blueprints as kb
from keras_blueprints.cli import main
from keras_blueprints.views.receptive import receptive_fields


def _fields(name: str, overrides=()) -> dict[str, str]:
    model = kb.build(f"zoo:{name}", list(overrides), compile=False)
    return {layer: str(field) for layer, field in receptive_fields(model).items()}


def test_lenet5_c5_sees_the_whole_32x32_image():
    # r_out = r_in + (k - 1) * j_in, j_out = j_in * stride:
    # C1 5x5: 5, j 1; S2 2x2/2: 5 + 1 = 6, j 2; C3 5x5: 6 + 4*2 = 14; S4: 14 + 2 = 16, j 4;
    # C5 5x5: 16 + 4*4 = 32, the whole input; the dense layers after Flatten: global.
    fields = _fields("lenet5")
    assert fields == {
        "image": "1x1 / 1x1", "c1": "5x5 / 1x1", "s2": "6x6 / 2x2", "c3": "14x14 / 2x2",
        "s4": "16x16 / 4x4", "c5": "32x32 / 4x4", "flatten": "global", "f6": "global",
        "probabilities": "global",
    }  # fmt: skip


def test_vgg16_blocks_grow_by_two_jumps_per_3x3_convolution():
    # Block b has n 3x3 convs (+2 j each) and a 2x2/2 pool (+j, then j doubles):
    # 1 -> 5 -> 6 (j 2) -> 14 -> 16 (j 4) -> 40 -> 44 (j 8) -> 92 -> 100 (j 16)
    # -> 196 (block5_conv3, j 16) -> 212 (block5_pool, j 32). The input size does not matter.
    fields = _fields("vgg16", ["params.size=32"])
    expected = {
        "block1_pool": "6x6 / 2x2", "block2_pool": "16x16 / 4x4", "block3_pool": "44x44 / 8x8",
        "block4_pool": "100x100 / 16x16", "block5_conv3": "196x196 / 16x16",
        "block5_pool": "212x212 / 32x32",
    }  # fmt: skip
    assert {k: fields[k] for k in expected} == expected


def test_resnet50_stages_as_worked_by_hand():
    # conv1 7x7/2: 7, j 2; pool1 3x3/2: 7 + 2*2 = 11, j 4. Each bottleneck adds its 3x3's
    # 2 * j (the 1x1s add 0; the shortcut is narrower, so the Add keeps the main path):
    # conv2 (3 blocks, j 4): 11 + 3*8 = 35; conv3 (stride 2 on the first 1x1, j 8, 4
    # blocks): 35 + 4*16 = 99; conv4 (j 16, 6 blocks): 99 + 6*32 = 291; conv5 (j 32,
    # 3 blocks): 291 + 3*64 = 483.
    fields = _fields("resnet50", ["params.size=32", "params.width=16", "params.classes=10"])
    stages = ("conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out")
    assert [fields[name] for name in stages] == [
        "35x35 / 4x4", "99x99 / 8x8", "291x291 / 16x16", "483x483 / 32x32",
    ]  # fmt: skip
    assert fields["avg_pool"] == "global"


def test_a_vector_model_has_no_receptive_fields():
    assert _fields("mlp") == {}


@pytest.mark.parametrize(("name", "shown"), [("lenet5", True), ("mlp", False)])
def test_summary_shows_the_column_for_spatial_models_only(name, shown, capsys):
    assert main(["summary", f"zoo:{name}"]) == 0
    out = capsys.readouterr().out
    assert ("Receptive field / jump" in out) is shown
    if shown:
        assert any(line.startswith("c5 (Conv2D)") and line.endswith("32x32 / 4x4")
                   for line in out.splitlines())  # fmt: skip

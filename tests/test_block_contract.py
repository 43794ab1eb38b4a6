"""The contract every shipped block keeps, driven by the block registry.

Each block builds at small shapes, names every layer it creates from its
instance name, and shows each parameter in the JSON Schema (with the range or
choices its annotation declares) and in docs/blocks.md. A shipped block missing
from :data:`CASES` fails :func:`test_every_shipped_block_has_a_case`: add it.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import keras
import pytest

from keras_blueprints.catalog.components import BLOCKS, BlockEntry
from keras_blueprints.views.jsonschema import blueprint_schema

DOC = Path(__file__).resolve().parents[1] / "docs" / "blocks.md"

INSTANCE = "blk"

CASES: dict[str, tuple[list[tuple[int | None, ...]], dict]] = {
    "conv_stack": ([(8, 8, 3)], {"filters": 4, "depth": 2, "batch_norm": True, "pool": "max"}),
    "dense_stack": ([(4,)], {"units": [3, 2], "batch_norm": True, "dropout": 0.1}),
    "dense_block": ([(8, 8, 4)], {"num_layers": 2, "growth_rate": 2}),
    "transition": ([(8, 8, 4)], {}),
    "inception_aux_head": ([(8, 8, 4)], {"classes": 3, "filters": 2, "units": 4}),
    "inception_conv_bn": ([(8, 8, 3)], {"filters": 2}),
    "inception_naive": ([(8, 8, 3)], {"f1x1": 2, "f3x3": 2, "f5x5": 2}),
    "inception_v1": (
        [(8, 8, 3)],
        {"f1x1": 2, "f3x3_reduce": 2, "f3x3": 2, "f5x5_reduce": 2, "f5x5": 2, "pool_proj": 2},
    ),
    "inception_v3_a": (
        [(8, 8, 3)],
        {
            "f1x1": 2,
            "f5x5_reduce": 2,
            "f5x5": 2,
            "f3x3dbl_reduce": 2,
            "f3x3dbl": 2,
            "pool_proj": 2,
        },
    ),
    "inception_v3_reduction_a": ([(9, 9, 3)], {"f3x3": 2, "f3x3dbl_reduce": 2, "f3x3dbl": 2}),
    "inception_v3_b": (
        [(8, 8, 3)],
        {"f7x7_reduce": 2, "f1x1": 2, "f7x7": 2, "pool_proj": 2, "n": 3},
    ),
    "inception_v3_reduction_b": (
        [(9, 9, 3)],
        {"f3x3_reduce": 2, "f3x3": 2, "f7x7x3_reduce": 2, "f7x7x3": 2},
    ),
    "inception_v3_c": (
        [(8, 8, 3)],
        {
            "f1x1": 2,
            "f3x3_reduce": 2,
            "f3x3": 2,
            "f3x3dbl_reduce": 2,
            "f3x3dbl": 2,
            "pool_proj": 2,
        },
    ),
    "basic_block": ([(8, 8, 4)], {"filters": 4}),
    "bottleneck_block": ([(8, 8, 4)], {"filters": 2}),
    "resnet_stage": ([(8, 8, 4)], {"filters": 2, "blocks": 2}),
    "rnn_stack": ([(5, 3)], {"units": 4, "depth": 2, "bidirectional": True}),
    "recursive_tree": ([(5, 3)], {"units": 4}),
    "inverted_residual": ([(8, 8, 8)], {"filters": 8, "expansion": 2}),
    "xception_entry_block": ([(8, 8, 4)], {"filters": 4}),
    "xception_middle_block": ([(8, 8, 4)], {"filters": 4, "convs": 1}),
    "xception_exit_block": ([(8, 8, 4)], {"filters": [4, 8]}),
    "unet": ([(16, 16, 1)], {"depth": 2, "filters": 2}),
    "unet_conv_block": ([(8, 8, 1)], {"filters": 2}),
    "unet_encoder_level": ([(8, 8, 1)], {"filters": 2}),
    "unet_decoder_level": ([(4, 4, 4), (8, 8, 2)], {"filters": 2}),
    "wavenet_residual_block": ([(6, 4)], {"skip_channels": 2}),
    "wavenet_stack": ([(6, 4)], {"layers_per_stack": 2, "skip_channels": 2}),
}
"""By block: the input shapes (one, or several for a block taking a list) and arguments."""


def shipped() -> list[str]:
    """The blocks this package registers (tests may register their own: not these)."""
    return sorted(
        name
        for name in BLOCKS.names()
        if BLOCKS.get(name).fn.__module__.startswith("keras_blueprints.blocks.")
    )


def outputs_of(result: object) -> list:
    if isinstance(result, dict):
        return list(result.values())
    if isinstance(result, list | tuple):
        return list(result)
    return [result]


@pytest.fixture(scope="module")
def schema_defs() -> dict:
    return blueprint_schema()["$defs"]


@pytest.fixture(scope="module")
def doc_sections() -> dict[str, str]:
    """docs/blocks.md cut at each ``### `name``` heading."""
    parts = re.split(r"^### `([a-z0-9_]+)`$", DOC.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_shipped_block_has_a_case():
    names = shipped()
    assert len(names) >= 27
    assert sorted(CASES) == names


@pytest.mark.parametrize("name", sorted(CASES))
def test_block_builds_and_names_every_layer_from_its_instance(name):
    entry: BlockEntry = BLOCKS.get(name)
    shapes, args = CASES[name]
    inputs = [keras.Input(shape, name=f"in{i}") for i, shape in enumerate(shapes)]
    result = entry.fn(inputs if entry.many_inputs else inputs[0], name=INSTANCE, **args)
    model = keras.Model(inputs, outputs_of(result))
    created = [layer.name for layer in model.layers if layer.name not in {t.name for t in inputs}]
    assert created, "the block created no layer"
    strays = [n for n in created if n != INSTANCE and not n.startswith(f"{INSTANCE}_")]
    assert strays == []
    shapes_out = [tuple(t.shape) for t in model.outputs]
    assert all(d is None or d > 0 for shape in shapes_out for d in shape), shapes_out


@pytest.mark.parametrize("name", sorted(CASES))
def test_block_parameters_are_in_the_json_schema(name, schema_defs):
    entry = BLOCKS.get(name)
    block = schema_defs[f"block.{name}"]
    assert list(block["properties"]) == list(entry.params)
    assert block["additionalProperties"] is False
    for param in entry.params.values():
        prop = block["properties"][param.name]
        plain = prop["anyOf"][0] if "anyOf" in prop else prop
        if param.choices:
            assert plain["enum"] == list(param.choices)
        elif param.bound is not None:
            assert param.bound.schema()
            assert param.bound.schema().items() <= plain.items()


@pytest.mark.parametrize("name", sorted(CASES))
def test_block_parameters_are_in_docs_blocks_md(name, doc_sections):
    section = doc_sections[name]
    for param in BLOCKS.get(name).params:
        assert f"- `{param}`:" in section


def test_bounds_and_choices_reach_the_schema(schema_defs):
    filters = schema_defs["block.conv_stack"]["properties"]["filters"]["anyOf"][0]
    assert filters["exclusiveMinimum"] == 0
    dropout = schema_defs["block.dense_stack"]["properties"]["dropout"]["anyOf"][0]
    assert (dropout["minimum"], dropout["exclusiveMaximum"]) == (0, 1)
    rank = schema_defs["block.conv_stack"]["properties"]["rank"]["anyOf"][0]
    assert rank["enum"] == [1, 2, 3]


def test_choices_match_the_tables_the_blocks_read():
    from keras_blueprints.blocks import conv, rnn, unet

    assert typing.get_args(rnn.Cell) == tuple(rnn.RNN_LAYERS)
    assert typing.get_args(rnn.MergeMode) == rnn.MERGE_MODES
    assert typing.get_args(conv.Rank) == conv.RANKS
    assert set(typing.get_args(conv.UpMode)) == set(conv.UP_MODES) - {None}
    assert set(typing.get_args(conv.Pool)) == set(conv.POOLS) - {None}
    assert typing.get_args(unet.Padding) == unet.PADDINGS
    assert set(typing.get_args(unet.UpMode)) == set(unet.UPSAMPLERS)

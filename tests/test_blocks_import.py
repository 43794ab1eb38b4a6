"""Registering the built-in blocks never imports TensorFlow (validation stays light)."""

from __future__ import annotations

from conftest import run_cli_isolated

from keras_blueprints.catalog.components import BLOCKS


def test_block_modules_import_without_tensorflow():
    status, heavy, _ = run_cli_isolated(["validate", "--no-build", "zoo:mlp"])
    assert (status, heavy) == (0, [])


def test_every_registered_block_is_documented():
    for name in BLOCKS.names():
        assert BLOCKS.get(name).doc, f"block '{name}' has no docstring"


def test_a_value_out_of_range_fails_validation_without_tensorflow(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("inputs: {x: [8, 8, 3]}\ngraph:\n  - conv_stack: {filters: 8, depth: 0}\n")
    status, heavy, _ = run_cli_isolated(["validate", "--no-build", str(path)])
    assert (status, heavy) == (2, [])

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

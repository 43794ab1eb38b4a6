"""Shared fixtures: a clean Keras session around every test that builds."""

from __future__ import annotations

import os
import textwrap

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def clean_session():
    """Clears Keras' global state before and after a test that builds models."""
    import keras

    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


@pytest.fixture
def yaml_text():
    """Dedents a YAML snippet so tests can write it indented, positions intact."""

    def make(text: str) -> str:
        return textwrap.dedent(text).lstrip("\n")

    return make

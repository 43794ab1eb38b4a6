"""Shared fixtures: a seeded, clean Keras session around every test once Keras is loaded."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest
from browser import browser, open_page  # noqa: F401 - the headless Chromium fixtures

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEED = 0
"""The seed every test starts from (Python, NumPy, TensorFlow and Keras)."""


def _loaded_keras():
    """Returns the keras module if something already imported it, else None (never imports it)."""
    return sys.modules.get("keras")


@pytest.fixture(autouse=True)
def keras_session():
    """Seeds and clears Keras' global state around every test, as keras-tuner's conftest does.

    Only once Keras is imported: importing it here would make every
    TensorFlow-free test (validation, the CLI's light commands) import
    TensorFlow and check nothing about staying light. A test that imports Keras
    itself is cleared after it. ``free_memory=False`` skips the garbage
    collection ``clear_session`` otherwise runs (half a second a test).
    """
    keras = _loaded_keras()
    if keras is not None:
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed(SEED)
    yield
    keras = _loaded_keras()
    if keras is not None:
        keras.backend.clear_session(free_memory=False)


@pytest.fixture
def yaml_text():
    """Dedents a YAML snippet so tests can write it indented, positions intact."""

    def make(text: str) -> str:
        return textwrap.dedent(text).lstrip("\n")

    return make


HEAVY = ("tensorflow", "keras", "numpy")


def run_cli_isolated(argv: list[str]) -> tuple[int, list[str], str]:
    """Runs ``blueprint ARGV`` in a fresh interpreter.

    Returns:
        The exit status, the heavy modules (TensorFlow, Keras, NumPy) the run
        imported, and its standard output before the report line.
    """
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from keras_blueprints.cli import main\n"
        f"status = main({argv!r})\n"
        f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print(json.dumps([status, heavy]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    *out, report = result.stdout.splitlines() or [""]
    if not report.startswith("["):
        raise AssertionError(f"the CLI run crashed:\n{result.stderr}")
    status, heavy = json.loads(report)
    return status, heavy, "\n".join(out)


FLOWERS = """\
name: flowers
inputs:
  features: [4]
graph:
  - {name: hidden, Dense: {units: 8, activation: relu}}
  - {name: probabilities, Dense: {units: 3, activation: softmax}}
compile: {optimizer: adam, loss: sparse_categorical_crossentropy, metrics: [accuracy]}
train: {epochs: 1}
"""
"""A 4-feature, 3-class classifier for the flowers CSV tables of the data and predict tests."""
SPECIES = ("virginica", "setosa", "versicolor")


def spiral_mlp(*, points: int = 60, epochs: int = 3, extra: str = "") -> str:
    """A small trainable blueprint: an MLP on the built-in spirals (with data and train sections).

    Args:
        points: Points per spiral arm.
        epochs: ``train.epochs``.
        extra: YAML appended (another section, e.g. ``runtime:``).
    """
    return (
        "name: spiral_mlp\n"
        "inputs: {point: [2]}\n"
        "graph:\n"
        "  - {name: hidden, Dense: {units: 16, activation: relu}}\n"
        "  - {name: probabilities, Dense: {units: 2, activation: softmax}}\n"
        "compile:\n"
        "  optimizer: {adam: {learning_rate: 0.02}}\n"
        "  loss: sparse_categorical_crossentropy\n"
        "  metrics: [accuracy]\n"
        "data:\n"
        f"  source: {{spirals: {{points_per_class: {points}}}}}\n"
        "  validation: 0.2\n"
        "  batch_size: 16\n"
        f"train: {{epochs: {epochs}, seed: 1}}\n" + extra
    )

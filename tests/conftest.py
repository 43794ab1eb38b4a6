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

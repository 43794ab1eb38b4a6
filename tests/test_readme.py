"""The README's example blueprint and error message are true."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_the_two_commands():
    commands = _blocks("bash")[:2]
    assert commands[0].strip() == "pip install -e . && blueprint train zoo:mlp"
    assert commands[1].strip() == 'pip install -e ".[test]" && python -m pytest -q'
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python -m pytest -q\n" in ci


def test_readme_example_builds(tmp_path):
    (tmp_path / "lenet.yaml").write_text(_blocks("yaml")[0])
    bp = kb.load(tmp_path / "lenet.yaml", overrides=["params.classes=26"])
    assert [n.name for n in bp.nodes][:4] == ["conv1", "pool1", "conv2", "pool2"]
    model = kb.build(bp)
    assert model.output.shape[-1] == 26
    assert model.count_params() == 156 + 2_416 + (400 * 120 + 120) + (120 * 84 + 84) + (
        84 * 26 + 26
    )


def test_readme_error_message_is_what_users_see(tmp_path):
    text = _blocks("yaml")[0].replace("kernel_size: 5", "kernel_sise: 5")
    (tmp_path / "lenet.yaml").write_text(text)
    with pytest.raises(BlueprintError) as info:
        kb.load(tmp_path / "lenet.yaml")
    shown = info.value.format().replace(str(tmp_path / "lenet.yaml"), "lenet.yaml")
    expected = _blocks("text")[0].strip().splitlines()
    assert shown.splitlines()[0] == expected[0]
    head, _, tail = expected[1].partition("...")
    assert shown.splitlines()[1].startswith(head) and shown.splitlines()[1].endswith(tail.strip())


@pytest.mark.slow
def test_the_main_job_reaches_its_accuracy(tmp_path):
    """`blueprint train zoo:mlp` as the README runs it: at least 0.97 test accuracy."""
    from keras_blueprints.cli import main

    assert main(["train", "zoo:mlp", "--run-dir", str(tmp_path / "run"), "--quiet"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.97


def test_readme_lists_every_zoo_blueprint():
    text = README.read_text()
    missing = [name for name in kb.zoo.names() if f"`{name}`" not in text]
    assert missing == []

"""The YAML in the training, data, callbacks and tuning pages is real: it loads.

A block that is a whole blueprint (``inputs`` and ``graph``) must load as it is;
a block holding only sections around the graph (``data:``, ``train:``,
``tune:``, ``compile:``, ``params:``) must load on top of a small model; any
other block must at least be valid YAML.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import keras_blueprints as kb

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ("training.md", "data.md", "callbacks.md", "tuning.md")
SECTIONS = {"data", "train", "tune", "compile", "params"}
HEAD = """\
inputs: {features: [64]}
graph:
  - {name: hidden, Dense: {units: 8, activation: relu}}
  - {name: probabilities, Dense: {units: 10, activation: softmax}}
"""


def _blocks() -> list[tuple[str, int, str]]:
    out = []
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        for match in re.finditer(r"```yaml\n(.*?)```", text, flags=re.S):
            line = text[: match.start()].count("\n") + 1
            out.append((page, line, match.group(1)))
    return out


BLOCKS = _blocks()


def test_the_pages_have_examples():
    assert {page for page, _, _ in BLOCKS} == set(PAGES)


@pytest.mark.parametrize(("page", "line", "text"), BLOCKS, ids=[f"{p}:{n}" for p, n, _ in BLOCKS])
def test_yaml_example_loads(page, line, text):
    if "!replace" in text:
        pytest.skip("an extends example (needs its base file)")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        return  # a list or scalar fragment: valid YAML is all it claims
    if {"inputs", "graph"} <= set(data) and "extends" not in data:
        kb.load(text)
    elif set(data) <= SECTIONS and "params" not in data:
        kb.load(HEAD + text)

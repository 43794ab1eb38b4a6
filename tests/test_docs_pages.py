"""The YAML in the training, data, callbacks and tuning pages is real: it loads.

A block that is a whole blueprint (``inputs`` and ``graph``) must load as it is;
a block holding only sections around the graph (``data:``, ``train:``,
``tune:``, ``compile:``, ``params:``) must load on top of a small model; any
other block must at least be valid YAML.
"""

from __future__ import annotations

import re
import traceback
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


# -- docs/mirroring.md: its Python runs, in order, with its YAML files beside it ----------
MIRRORING = DOCS / "mirroring.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def _run_mirroring_page(folder: Path, edit=lambda yaml_text: yaml_text) -> dict[str, object]:
    """Runs every Python block of the page in one namespace, after writing its ``# file:`` YAML.

    Args:
        folder: Where to write the YAML and run (the current directory meanwhile).
        edit: Changes the YAML before it is written (to plant a mistake).

    Returns:
        The namespace the blocks ran in.
    """
    text = MIRRORING.read_text(encoding="utf-8")
    blocks = [
        (m.group(1), m.group(2), text[: m.start()].count("\n") + 1) for m in FENCE.finditer(text)
    ]
    files = [b for lang, b, _ in blocks if lang == "yaml" and b.startswith("# file: ")]
    python = [(b, line) for lang, b, line in blocks if lang == "python"]
    assert len(files) == 1 and len(python) == 3
    for block in files:
        (folder / block.splitlines()[0].removeprefix("# file: ").strip()).write_text(edit(block))
    namespace: dict[str, object] = {"__name__": "mirroring_page"}
    for block, line in python:  # padded: a failure names the page's own line
        exec(compile("\n" * line + block, str(MIRRORING), "exec"), namespace)
    return namespace


def test_the_mirroring_page_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = _run_mirroring_page(tmp_path)
    model, reference = namespace["model"], namespace["reference"]
    assert model.count_params() == reference.count_params() == 909
    assert model.get_layer("conv2_block1_0_conv").kernel.shape == (1, 1, 8, 16)
    assert (tmp_path / "reference.weights.h5").is_file()


def test_the_mirroring_pages_check_catches_a_wrong_epsilon(tmp_path, monkeypatch):
    """Keras' default epsilon changes no name and no count: the outputs must tell."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssertionError) as failed:
        _run_mirroring_page(tmp_path, lambda text: text.replace("{epsilon: 1.001e-5}", "{}"))
    where = traceback.extract_tb(failed.value.__traceback__)[-1]
    lines = MIRRORING.read_text(encoding="utf-8").splitlines()
    assert where.filename == str(MIRRORING)
    assert lines[where.lineno - 1] == "assert np.max(np.abs(ours - theirs)) < 1e-5"


def test_the_mirroring_page_is_linked():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    language = (DOCS / "blueprint-language.md").read_text(encoding="utf-8")
    assert "(docs/mirroring.md)" in readme
    assert "(mirroring.md)" in language.rsplit("\n## ", 1)[-1]

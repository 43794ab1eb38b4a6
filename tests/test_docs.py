"""Every example in docs/blueprint-language.md is real: it loads, builds, or fails as shown.

The examples are the fenced code blocks of the document. What is checked depends on
the block's language and on directives, comment lines at the very top of a block:

```yaml`` blocks
    By default a block is a whole blueprint: it is loaded with ``keras_blueprints.load``
    and built with ``keras_blueprints.build`` in a clean Keras session, and must give a
    ``keras.Model`` with one output per blueprint output. Directives:

    ``# file: NAME.yaml``
        The block is also saved as ``NAME.yaml`` in the examples folder, so that other
        examples can ``extends:`` or ``imports:`` it, and errors name it as users would
        see it (``NAME.yaml:3:5: error: ...``). Every ``# file:`` block is written before
        any example runs. Unnamed blocks are saved as ``example_L<LINE>.yaml``.
    ``# fragment``
        Not a whole blueprint (a piece of one): it must only parse with ``yaml.safe_load``
        (``!replace`` tags allowed).
    ``# error: TEXT``
        Loading or building must raise ``BlueprintError`` whose formatted message
        contains ``TEXT``.

    The directive lines stay in the saved file, so line numbers in messages count them.

```text`` blocks that show an error (their first line starts ``FILE:LINE:COL: error:``)
    must be exactly the formatted error of the ``# error:`` YAML block just before them.

```python`` blocks
    All run, in document order, in one namespace, in the examples folder, before the
    YAML examples (so blocks and layers they register are there for them); whatever
    they register is unregistered afterwards.

```console`` blocks
    Each ``$ blueprint ARGS`` line is run (``keras_blueprints.cli.main``) in the
    examples folder; the lines after it, up to the next ``$`` line, must be exactly its
    output, standard output then standard error, with the examples folder's path
    (shown for inherited files) removed. ``$ echo $?`` shows the exit status of the
    command before it.

Other blocks (``bash``, ``ini``, ``toml``) are not run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import keras
import pytest
import yaml

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.catalog.components import BLOCKS, LAYERS
from keras_blueprints.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "blueprint-language.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
DIRECTIVE = re.compile(r"#\s*(file|error|fragment)\b:?\s*(.*?)\s*$")
ERROR_LINE = re.compile(r"^\S+?(:\d+:\d+)?: error: ")


@dataclass
class Block:
    """One fenced code block of the document."""

    lang: str
    text: str
    line: int  # line of the opening fence
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.directives.get("file") or f"example_L{self.line}.yaml"

    @property
    def id(self) -> str:
        return f"L{self.line}" + (
            f"-{self.directives['file']}" if "file" in self.directives else ""
        )


def _directives(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = DIRECTIVE.fullmatch(line)
        if not match:
            break
        found[match.group(1)] = match.group(2)
    return found


def _blocks() -> list[Block]:
    source = DOC.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        text = match.group(2)
        lang = match.group(1)
        blocks.append(Block(lang, text, line, _directives(text) if lang == "yaml" else {}))
    return blocks


BLOCKS_OF_DOC = _blocks()
YAML = [b for b in BLOCKS_OF_DOC if b.lang == "yaml"]
TEXT_ERRORS = [
    (i, b) for i, b in enumerate(BLOCKS_OF_DOC) if b.lang == "text" and ERROR_LINE.match(b.text)
]
CONSOLE = [b for b in BLOCKS_OF_DOC if b.lang == "console"]


class _ReplaceLoader(yaml.SafeLoader):
    """A safe loader that also knows the blueprint tag ``!replace``."""


_ReplaceLoader.add_constructor(
    "!replace",
    lambda loader, node: (
        loader.construct_mapping(node)
        if isinstance(node, yaml.MappingNode)
        else loader.construct_sequence(node)
    ),
)


@contextlib.contextmanager
def _inside(folder: Path):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """The examples folder: every ``# file:`` block written, every Python block run."""
    folder = tmp_path_factory.mktemp("doc_examples")
    for block in YAML:
        (folder / block.file).write_text(block.text, encoding="utf-8")
    layers_before, blocks_before = set(LAYERS.names()), set(BLOCKS.names())
    custom_before = set(keras.saving.get_custom_objects())
    try:
        namespace: dict[str, object] = {"__name__": "doc_examples"}
        with _inside(folder):
            for block in (b for b in BLOCKS_OF_DOC if b.lang == "python"):
                keras.backend.clear_session()
                # Padded so that tracebacks give the line in the document.
                exec(compile("\n" * block.line + block.text, str(DOC), "exec"), namespace)
        yield folder
    finally:  # leave the registries as they were, even if a Python example failed
        for name in set(LAYERS.names()) - layers_before:
            LAYERS.unregister(name)
        for name in set(BLOCKS.names()) - blocks_before:
            BLOCKS.unregister(name)
        custom = keras.saving.get_custom_objects()
        for key in set(custom) - custom_before:
            del custom[key]
        keras.backend.clear_session()


def _load_and_build(block: Block):
    keras.backend.clear_session()
    bp = kb.load(block.file)
    return bp, kb.build(bp)


def test_the_document_has_examples_of_each_kind():
    kinds = {name for b in YAML for name in b.directives}
    assert {"file", "fragment", "error"} <= kinds
    assert len(YAML) >= 40 and TEXT_ERRORS and CONSOLE
    unknown = [
        b.line
        for b in YAML
        if re.match(r"#\s*(files?|errors?|fragments?)\b", b.text) and not b.directives
    ]
    assert unknown == [], "malformed directive on the first line of these blocks"


def test_example_file_names_are_unique():
    names = [b.directives["file"] for b in YAML if "file" in b.directives]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("block", YAML, ids=lambda b: b.id)
def test_yaml_example(block, examples):
    if "fragment" in block.directives:
        assert "error" not in block.directives
        assert yaml.load(block.text, Loader=_ReplaceLoader) is not None
        return
    with _inside(examples):
        if "error" in block.directives:
            expected = block.directives["error"]
            assert expected, "an '# error:' directive needs the text the message must contain"
            with pytest.raises(BlueprintError) as info:
                _load_and_build(block)
            assert expected in info.value.format()
            return
        bp, model = _load_and_build(block)
    assert isinstance(model, keras.Model)
    assert len(model.outputs) == len(bp.outputs)
    keras.backend.clear_session()


@pytest.mark.parametrize(("index", "block"), TEXT_ERRORS, ids=lambda v: getattr(v, "id", None))
def test_error_text_is_what_the_example_raises(index, block, examples):
    source = BLOCKS_OF_DOC[index - 1]
    assert source.lang == "yaml" and "error" in source.directives, (
        f"the error text at line {block.line} must follow the '# error:' YAML block it shows"
    )
    with _inside(examples), pytest.raises(BlueprintError) as info:
        _load_and_build(source)
    keras.backend.clear_session()
    assert info.value.format() == block.text.rstrip("\n")


def _sessions(text: str) -> list[tuple[str, str]]:
    sessions: list[tuple[str, list[str]]] = []
    for line in text.rstrip("\n").splitlines():
        if line.startswith("$ "):
            sessions.append((line[2:], []))
        else:
            assert sessions, "a console block starts with a '$ ' command line"
            sessions[-1][1].append(line)
    return [(command, "\n".join(lines)) for command, lines in sessions]


@pytest.mark.parametrize("block", CONSOLE, ids=lambda b: b.id)
def test_console_example(block, examples):
    status = None
    for command, expected in _sessions(block.text):
        if command == "echo $?":
            assert expected == str(status), "the exit status of the command before"
            continue
        argv = shlex.split(command)
        assert argv[0] == "blueprint"
        out, err = io.StringIO(), io.StringIO()
        with _inside(examples), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv[1:])
        keras.backend.clear_session()
        shown = (out.getvalue() + err.getvalue()).replace(f"{examples}{os.sep}", "")
        assert shown.rstrip("\n") == expected, command

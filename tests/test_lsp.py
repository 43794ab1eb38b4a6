"""``blueprint lsp`` end to end: a real LSP client (pytest-lsp) talking to the server over stdio.

The server is started as ``python -m keras_blueprints.cli lsp --no-build`` (no
TensorFlow anywhere) with this checkout first on ``PYTHONPATH``; two tests start it
with its warm build worker, which imports TensorFlow in its own process. Every test
waits for the server's answer (a response, or the diagnostics notification), never
for the clock.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from keras_blueprints.catalog.docs import layer_doc
from keras_blueprints.loading import zoo

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "keras_blueprints.cli", "lsp", "--no-build"],
        server_env=_env(),
    ),
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            root_uri=ROOT.as_uri(),
        )
    )
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(
        server_command=[
            *[sys.executable, "-m", "keras_blueprints.cli", "lsp"],
            *["--import", str(ROOT / "tests" / "lsp_plugin.py")],  # a user's own layer
        ],
        server_env=_env(),
    ),
)
async def building(lsp_client: LanguageClient):
    """A server with its warm build worker (TensorFlow is imported there, not in the server)."""
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            root_uri=ROOT.as_uri(),
        )
    )
    yield
    await lsp_client.shutdown_session()


_versions: dict[str, int] = {}


async def _open(client: LanguageClient, path: Path, text: str | None = None) -> list:
    """Opens (or changes) a document and returns the diagnostics published for it."""
    uri = path.as_uri()
    text = path.read_text(encoding="utf-8") if text is None else text
    client.diagnostics.pop(uri, None)
    version = _versions.get(uri, 0) + 1
    _versions[uri] = version
    if version == 1:
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="yaml", version=version, text=text
                )
            )
        )
    else:
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
    while uri not in client.diagnostics:
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri])


def _where(text: str, needle: str, offset: int = 0) -> types.Position:
    """The 0-based position of ``needle`` (plus ``offset`` characters) in ``text``."""
    for line, content in enumerate(text.splitlines()):
        col = content.find(needle)
        if col >= 0:
            return types.Position(line=line, character=col + offset)
    raise AssertionError(f"{needle!r} not in the text")


BROKEN = """\
params:
  width: 8
  widht: 3
inputs:
  x: {shape: [4]}
graph:
  - name: hidden
    Dense: {units: "${width}", activaton: relu}
  - name: out
    Dens: {units: 2}
"""


async def test_a_broken_file_gets_every_located_error(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    diagnostics = await _open(client, path)
    found = sorted(
        (d.range.start.line, d.range.start.character, d.severity, d.message.split("\n")[0])
        for d in diagnostics
    )
    assert found == [
        (7, 31, types.DiagnosticSeverity.Error, "'activaton' is not an argument of Dense."),
        (9, 4, types.DiagnosticSeverity.Error, "'Dens' is not a known layer."),
    ]
    assert all(d.source == "blueprint" for d in diagnostics)
    # The same messages, lines and columns as `blueprint validate --no-build`.
    cli = subprocess.run(
        [sys.executable, "-m", "keras_blueprints.cli", "validate", "--no-build", str(path)],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert f"{path}:8:32: error: 'activaton' is not an argument of Dense." in cli.stderr
    assert f"{path}:10:5: error: 'Dens' is not a known layer." in cli.stderr
    by_line = {d.range.start.line: d for d in diagnostics}
    assert by_line[9].message in cli.stderr
    assert by_line[9].range.end.character == 8  # the whole name


async def test_fixing_the_file_publishes_the_warning_that_remains(
    client: LanguageClient, tmp_path: Path
):
    path = tmp_path / "fixed.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    await _open(client, path)
    fixed = BROKEN.replace("activaton", "activation").replace("Dens:", "Dense:")
    diagnostics = await _open(client, path, fixed)
    assert [(d.range.start.line, d.range.start.character, d.severity) for d in diagnostics] == [
        (2, 2, types.DiagnosticSeverity.Warning)
    ]
    assert "'widht'" in diagnostics[0].message and "width" in diagnostics[0].message


@pytest.mark.parametrize("name", ["lenet5", "resnet50", "vgg19", "transformer_encoder_classifier"])
async def test_a_zoo_file_has_no_diagnostics(client: LanguageClient, name: str):
    assert await _open(client, zoo.path(name)) == []


async def test_an_error_in_an_extended_file_is_shown_there_and_at_extends(
    client: LanguageClient, tmp_path: Path
):
    base = tmp_path / "base.yaml"
    base.write_text(
        "inputs:\n  x: {shape: [4]}\ngraph:\n  - name: h\n    Dense: {unitz: 3}\n",
        encoding="utf-8",
    )
    child = tmp_path / "child.yaml"
    child.write_text("name: child\nextends: base.yaml\n", encoding="utf-8")
    diagnostics = await _open(client, child)
    assert [(d.range.start.line, d.range.start.character) for d in diagnostics] == [(1, 9)]
    assert "base.yaml:5:13" in diagnostics[0].message
    assert "'unitz' is not an argument of Dense" in diagnostics[0].message
    in_base = client.diagnostics[base.as_uri()]
    assert [(d.range.start.line, d.range.start.character) for d in in_base] == [(4, 12)]


async def test_hover(client: LanguageClient):
    path = zoo.path("lenet5")
    text = path.read_text(encoding="utf-8")
    await _open(client, path)
    uri = path.as_uri()

    async def hover(needle: str, offset: int) -> str:
        result = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=_where(text, needle, offset),
            )
        )
        assert result is not None, needle
        return result.contents.value

    layer = await hover("Conv2D: {filters: 6", 2)
    assert "**Conv2D**" in layer and layer_doc("Conv2D").summary in layer
    assert "Conv2D(filters, kernel_size, strides=[1, 1], padding=" in layer
    argument = await hover("filters: 6", 1)
    assert "**filters** (argument of Conv2D)" in argument and "Type: integer" in argument
    padding = await hover("pool_size: 2", 1)
    assert "Type: int" in padding
    parameter = await hover('activation: "${activation}"', 16)
    line = text.splitlines().index("  activation: tanh") + 1  # under params:
    assert f"params.activation = 'tanh'\n  set by {path}:{line}:15" in parameter
    assert await hover("activation: softmax", 15) is not None


async def test_hover_on_blank_space_says_nothing(client: LanguageClient):
    path = zoo.path("lenet5")
    await _open(client, path)
    result = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            position=types.Position(line=0, character=0),  # a comment
        )
    )
    assert result is None


EDITED = """\
extends: zoo:
params:
  width: 8
inputs:
  x: {shape: [4]}
graph:
  - name: hidden
    Dense: {units: "${wi}", activation: relu, padd: 1}
  - name: conv
    Conv2D: {filters: 3, kernel_size: 3, padding: s}
  - name: out
    from: hid
    Dens
"""


async def _labels(
    client: LanguageClient, uri: str, text: str, needle: str | types.Position, offset: int = 0
) -> list:
    position = needle if isinstance(needle, types.Position) else _where(text, needle, offset)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=position
        )
    )
    items = result.items if isinstance(result, types.CompletionList) else result
    return [item.label for item in items]


async def test_completion(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "edited.yaml"
    path.write_text(EDITED, encoding="utf-8")
    await _open(client, path)
    uri = path.as_uri()
    assert await _labels(client, uri, EDITED, '"${wi}"', 5) == ["width"]
    assert await _labels(client, uri, EDITED, "padding: s", 10) == ["same"]
    assert "hidden" in await _labels(client, uri, EDITED, "from: hid", 9)
    assert "x" not in await _labels(client, uri, EDITED, "from: hid", 9)
    zoo_names = await _labels(client, uri, EDITED, "extends: zoo:", 13)
    assert "zoo:lenet5" in zoo_names and "zoo:resnet50" in zoo_names
    last = types.Position(line=len(EDITED.splitlines()) - 1, character=len("    Dens"))
    layers = await _labels(client, uri, EDITED, last)
    assert "Dense" in layers and all(label.lower().startswith("dens") for label in layers)
    assert await _labels(client, uri, EDITED, "padd: 1", 4) == []  # Dense has no such argument


async def test_a_blocks_own_parameters_in_its_graph(client: LanguageClient):
    path = zoo.path("transformer_encoder_classifier")
    text = path.read_text(encoding="utf-8")
    await _open(client, path)
    uri = path.as_uri()
    position = _where(text, 'num_heads: "${heads}"', 16)
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    assert result.contents.value.startswith("**heads** (argument of block 'encoder_block')")
    assert await _labels(client, uri, text, position) == ["heads"]


async def test_completion_of_arguments_and_node_keys(client: LanguageClient, tmp_path: Path):
    text = "inputs:\n  x: {shape: [4]}\ngraph:\n  - name: hidden\n    Dense: {uni}\n  - Batch\n"
    path = tmp_path / "args.yaml"
    path.write_text(text, encoding="utf-8")
    await _open(client, path)
    uri = path.as_uri()
    assert await _labels(client, uri, text, "{uni}", 4) == ["units"]
    assert await _labels(client, uri, text, "- Batch", 7) == ["BatchNormalization"]


async def test_definition(client: LanguageClient, tmp_path: Path):
    base = tmp_path / "base2.yaml"
    base.write_text(
        "params:\n  width: 4\ninputs:\n  x: {shape: [4]}\ngraph:\n"
        "  - name: h\n    Dense: {units: 3}\n",
        encoding="utf-8",
    )
    text = (
        "extends: base2.yaml\n"
        "blocks:\n"
        "  mlp:\n"
        "    params: {units: int}\n"
        "    graph:\n"
        '      - Dense: {units: "${units}"}\n'
        "graph:\n"
        "  - name: first\n"
        '    Dense: {units: "${width}"}\n'
        "  - name: second\n"
        "    from: first\n"
        "    mlp: {units: 2}\n"
    )
    path = tmp_path / "defs.yaml"
    path.write_text(text, encoding="utf-8")
    await _open(client, path)
    uri = path.as_uri()

    async def target(needle: str, offset: int) -> tuple[str, int, int]:
        result = await client.text_document_definition_async(
            types.DefinitionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=_where(text, needle, offset),
            )
        )
        assert result is not None, needle
        found = result[0] if isinstance(result, list) else result
        return found.uri, found.range.start.line, found.range.start.character

    assert await target("base2.yaml", 2) == (base.resolve().as_uri(), 0, 0)
    assert await target("from: first", 8) == (uri, 7, 10)
    assert await target("mlp: {units: 2}", 1) == (uri, 2, 2)
    assert await target('"${units}"', 4) == (uri, 3, 13)
    assert await target('"${width}"', 4) == (base.as_uri(), 1, 2)
    resnet = zoo.path("resnet50").read_text(encoding="utf-8")
    text = f"extends: zoo:resnet50\n{resnet[resnet.index('graph:') :]}"
    await _open(client, path, text)
    assert await target("zoo:resnet50", 5) == (zoo.path("resnet50").resolve().as_uri(), 0, 0)
    stage_uri, stage_line, _ = await target("resnet_stage:", 3)
    assert stage_uri.endswith("keras_blueprints/blocks/residual.py") and stage_line > 0


async def test_document_symbols(client: LanguageClient):
    path = zoo.path("transformer_encoder_classifier")
    await _open(client, path)
    result = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()))
    )
    sections = {symbol.name: symbol for symbol in result}
    assert list(sections)[:2] == ["name", "description"]
    assert {"params", "inputs", "graph", "blocks", "compile"} <= set(sections)
    block = sections["blocks"].children[0]
    assert block.name == "encoder_block" and block.kind == types.SymbolKind.Class
    assert [c.name for c in block.children][:5] == ["width", "heads", "key_dim", "ffn", "dropout"]
    assert "attention" in [c.name for c in block.children]
    for symbol in result:  # every child inside its parent
        for child in symbol.children or []:
            assert (symbol.range.start.line, symbol.range.start.character) <= (
                child.range.start.line,
                child.range.start.character,
            )
            assert (child.range.end.line, child.range.end.character) <= (
                symbol.range.end.line,
                symbol.range.end.character,
            )


async def test_huge_and_garbage_documents_do_not_take_the_server_down(
    client: LanguageClient, tmp_path: Path
):
    path = tmp_path / "garbage.yaml"
    huge = "graph:\n" + "  - Dense: {units: 1}\n" * 150_000  # over 2 MiB
    diagnostics = await _open(client, path, huge)
    assert [d.message.split("\n")[0] for d in diagnostics] == ["text too large for a blueprint."]
    garbage = "\x00\x01 ]]]: {{{\n\t- !!python/object:os.system [ls]\n" + "[" * 5000
    diagnostics = await _open(client, path, garbage)
    assert len(diagnostics) == 1 and diagnostics[0].severity == types.DiagnosticSeverity.Error
    for line in range(3):
        result = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
                position=types.Position(line=line, character=3),
            )
        )
        assert result is None
        completion = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
                position=types.Position(line=line, character=3),
            )
        )
        assert completion is not None
    # Still serving: a zoo file loads cleanly afterwards.
    assert await _open(client, zoo.path("mlp")) == []


async def test_the_editor_features_never_import_tensorflow():
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from keras_blueprints.lsp import server\n"
        "from keras_blueprints.lsp.analysis import analyze\n"
        "from keras_blueprints.lsp.completion import completions\n"
        "from keras_blueprints.lsp.hover import hover_text\n"
        "from keras_blueprints.lsp.text import completion_spot, parse_quietly, spot_at\n"
        "from keras_blueprints.loading import zoo\n"
        "p = zoo.path('resnet50'); text = p.read_text()\n"
        "a = analyze(text, str(p), p)\n"
        "assert a.blueprint is not None and a.problems == [], a.problems\n"
        "doc = parse_quietly(text, str(p), p)\n"
        "line = next(i for i, l in enumerate(text.splitlines()) if 'resnet_stage:' in l)\n"
        "assert 'bottleneck' in hover_text(spot_at(doc, text, line, 6), a)\n"
        "assert completions(completion_spot(text, line, 6, str(p), p), a)\n"
        "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=False
    )
    assert result.returncode == 0, result.stderr


SHAPES = """\
inputs:
  x: {shape: [4]}
graph:
  - name: a
    Dense: {units: 3}
  - name: b
    from: x
    Dense: {units: 5}
  - name: total
    from: [a, b]
    Add: {}
"""


async def _published(client: LanguageClient, uri: str) -> list:
    """Waits for the next diagnostics published for ``uri``; returns them."""
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == uri:
            return list(params.diagnostics)


async def test_the_warm_worker_publishes_shape_errors_and_built_shapes(
    building: LanguageClient, tmp_path: Path
):
    path = tmp_path / "shapes.yaml"
    path.write_text(SHAPES, encoding="utf-8")
    uri = path.as_uri()
    building.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="yaml", version=1, text=SHAPES
            )
        )
    )
    assert await _published(building, uri) == []  # it loads: no load-time error
    built = await asyncio.wait_for(_published(building, uri), 300)  # then the build's
    assert [(d.range.start.line, d.range.start.character) for d in built] == [(8, 4)]
    assert built[0].message.startswith("Keras could not call Add 'total'")
    # `blueprint validate` (which builds) reports the same error at the same place.
    cli = subprocess.run(
        [sys.executable, "-m", "keras_blueprints.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert f"{path}:9:5: error: {built[0].message}" in cli.stderr
    fixed = SHAPES.replace("units: 5", "units: 3")
    building.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    assert await _published(building, uri) == []  # loaded
    assert await asyncio.wait_for(_published(building, uri), 300) == []  # and built
    hover = await building.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=_where(fixed, "name: a", 6),
        )
    )
    assert "Output shape: `(None, 3)`, 15 parameters (built)" in hover.contents.value


PLUGGED = """\
inputs:
  x: {shape: [4]}
graph:
  - name: twice
    Doubler: {}
  - Dense: {units: 3}
"""
"""Uses the layer of tests/lsp_plugin.py, which only ``--import`` registers."""


async def test_the_worker_builds_with_the_layers_given_with_import(
    building: LanguageClient, tmp_path: Path
):
    path = tmp_path / "plugged.yaml"
    uri = path.as_uri()
    building.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="yaml", version=1, text=PLUGGED
            )
        )
    )
    assert await _published(building, uri) == []  # the server knows the layer
    assert await asyncio.wait_for(_published(building, uri), 300) == []  # the worker too
    hover = await building.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=_where(PLUGGED, "name: twice", 6),
        )
    )
    assert "Output shape: `(None, 4)`, 0 parameters (built)" in hover.contents.value


NEWER = SHAPES.replace("units: 5", "units: 3") + (
    "  - name: again\n    from: [total, x]\n    Add: {}\n"
)
"""A newer version of :data:`SHAPES`: its Add fixed, another one (3 + 4 features) broken."""


async def test_a_newer_edit_supersedes_a_stale_build(
    building: LanguageClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    seen: list[tuple[str, list]] = []

    class Recording(dict):  # every publication, in order, not only the last of each file
        def __setitem__(self, uri: str, diagnostics: list) -> None:
            seen.append((uri, list(diagnostics)))
            super().__setitem__(uri, diagnostics)

    monkeypatch.setattr(building, "diagnostics", Recording(building.diagnostics))

    async def publications(uri: str, count: int) -> list[list]:
        async def until() -> list[list]:
            while sum(u == uri for u, _ in seen) < count:
                await building.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            return [d for u, d in seen if u == uri]

        return await asyncio.wait_for(until(), 300)

    def send(uri: str, version: int, text: str) -> None:
        if version == 1:
            building.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=uri, language_id="yaml", version=1, text=text
                    )
                )
            )
        else:
            building.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )

    # ResNet-50 keeps the one worker busy (a build takes about a second, more when the
    # worker starts), so the small file's first build waits behind it.
    busy = (tmp_path / "busy.yaml").as_uri()
    send(busy, 1, zoo.path("resnet50").read_text(encoding="utf-8"))
    assert await publications(busy, 1) == [[]]  # loaded; its build starts
    uri = (tmp_path / "edited.yaml").as_uri()
    send(uri, 1, SHAPES)
    assert await publications(uri, 1) == [[]]  # loaded; its build (an Add error) waits
    send(uri, 2, NEWER)
    found = await publications(uri, 3)  # version 1 loaded; version 2 loaded and built
    assert found[:2] == [[], []]
    assert [(d.range.start.line, d.range.start.character) for d in found[2]] == [(11, 4)]
    assert found[2][0].message.startswith("Keras could not call Add 'again'")
    assert await publications(busy, 2) == [[], []]  # ResNet-50 built, no error
    for d in [d for u, ds in seen if u == uri for d in ds]:  # version 1's error: never shown
        assert (d.range.start.line, d.range.start.character) != (8, 4)
    for closed in (busy, uri):
        building.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=closed))
        )

"""The language server: pygls over stdio, and one handler per editor feature.

``blueprint lsp`` runs :func:`serve`. On every open, change and save of a document
the server loads its text as ``blueprint validate --no-build`` loads a file
(:mod:`keras_blueprints.lsp.analysis`) and publishes every error and warning
(:mod:`keras_blueprints.lsp.diagnostics`). A newer edit that arrives while a
document waits or loads makes that load's result stale: it is dropped, never
published. Hover, completion, definition and the outline read the text the editor
holds now (:mod:`keras_blueprints.lsp.text`) and the latest load.

Safety: the text is read by the project's safe loader and is never executed;
every handler catches what goes wrong in it (a bug is logged and answered with
nothing), so no document, however broken or large, takes the server down.
Nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from keras_blueprints._core.errors import Location
from keras_blueprints.lsp.analysis import Analysis, Problem, analyze
from keras_blueprints.lsp.completion import Item, completions, type_documentation
from keras_blueprints.lsp.definition import definition
from keras_blueprints.lsp.diagnostics import SOURCE, place
from keras_blueprints.lsp.hover import hover_text, local_blocks
from keras_blueprints.lsp.symbols import Symbol, outline
from keras_blueprints.lsp.text import completion_spot, parse_quietly, spot_at
from keras_blueprints.lsp.worker import BuildWorker

__all__ = ["BlueprintServer", "serve"]

logger = logging.getLogger(__name__)

DEBOUNCE_S = 0.05
"""How long a change waits for the next keystroke before the document is loaded."""

DOCUMENTED_ITEMS = 50
"""Completion lists up to this long carry each layer's and block's documentation."""

T = TypeVar("T")

_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
}
_ITEM_KIND = {
    "layer": types.CompletionItemKind.Class,
    "block": types.CompletionItemKind.Module,
    "argument": types.CompletionItemKind.Property,
    "value": types.CompletionItemKind.EnumMember,
    "node": types.CompletionItemKind.Reference,
    "parameter": types.CompletionItemKind.Variable,
    "zoo": types.CompletionItemKind.File,
    "key": types.CompletionItemKind.Keyword,
    "section": types.CompletionItemKind.Keyword,
}
_SYMBOL_KIND = {
    "section": types.SymbolKind.Namespace,
    "parameter": types.SymbolKind.Constant,
    "input": types.SymbolKind.Variable,
    "node": types.SymbolKind.Object,
    "group": types.SymbolKind.Array,
    "block": types.SymbolKind.Class,
}


def _file_of(uri: str) -> tuple[str, Path | None]:
    """The display name and path of a document: its file system path, or its URI."""
    fs_path = to_fs_path(uri) if uri.startswith("file:") else None
    if fs_path is None:
        return uri, None
    return fs_path, Path(fs_path).resolve()


class BlueprintServer(LanguageServer):
    """The blueprint language server.

    Attributes:
        analyses: The latest load of each open document, by URI.
        built: The latest build of each open document: node -> (output shape, parameters).
        elsewhere: For each open document, the other files' URIs it published
            diagnostics on (cleared when those problems go away).
        worker: The warm build worker, or None when builds are off (``--no-build``).
    """

    def __init__(self) -> None:
        from keras_blueprints import __version__

        super().__init__("keras-blueprints", __version__)
        self.analyses: dict[str, Analysis] = {}
        self.built: dict[str, dict[str, tuple[str, int]]] = {}
        self.elsewhere: dict[str, set[str]] = {}
        self.worker: BuildWorker | None = None
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blueprint-load")
        self._tickets = 0
        self._tasks: set[asyncio.Task] = set()

    def guarded(self, what: str, fn: Callable[..., T], *args: Any) -> T | None:
        """Runs one handler's work; a failure is logged and answered with None."""
        try:
            return fn(*args)
        except Exception:
            logger.exception("internal error in %s", what)
            return None

    async def validate(self, uri: str) -> None:
        """Loads a document after a short pause and publishes its problems, unless stale."""
        document = self.workspace.get_text_document(uri)
        version = document.version
        if self.worker is not None:
            self.worker.cancel(uri)  # a build of an older version that still waits
        await asyncio.sleep(DEBOUNCE_S)
        if self.workspace.get_text_document(uri).version != version:
            return  # a newer edit will be loaded instead
        text = document.source
        file, path = _file_of(uri)
        loop = asyncio.get_running_loop()
        analysis = await loop.run_in_executor(self._loader, analyze, text, file, path)
        if uri not in self.workspace.text_documents:
            return  # closed meanwhile
        if self.workspace.get_text_document(uri).version != version:
            return  # stale
        self.analyses[uri] = analysis
        self.guarded("diagnostics", self.publish, uri, analysis, text, version)
        loaded = analysis.blueprint is not None
        if (
            self.worker is not None
            and loaded
            and all(p.severity != "error" for p in analysis.problems)
        ):
            task = asyncio.create_task(self.build(uri, version, text, analysis))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def build(self, uri: str, version: int | None, text: str, analysis: Analysis) -> None:
        """Builds a document that loaded cleanly in the warm worker; publishes its shape errors.

        The result is dropped when the document changed or closed meanwhile.
        """
        if self.worker is None:
            return
        self._tickets += 1
        file, path = _file_of(uri)
        try:
            result = await self.worker.build(
                uri, self._tickets, text, file, str(path) if path else None
            )
        except Exception:
            logger.exception("internal error while building %s", uri)
            return
        if result is None or uri not in self.workspace.text_documents:
            return
        if self.workspace.get_text_document(uri).version != version:
            return  # stale
        self.built[uri] = result.nodes
        problems = [
            Problem(Location(f, line, col), message, severity)
            for f, line, col, message, severity in result.problems
        ]
        built = Analysis(
            analysis.file,
            analysis.document,
            analysis.composed,
            analysis.blueprint,
            [*analysis.problems, *problems],
        )
        self.guarded("diagnostics", self.publish, uri, built, text, version)

    def publish(self, uri: str, analysis: Analysis, text: str, version: int | None) -> None:
        """Publishes an analysis' problems on the document and on the files they are in."""
        by_uri: dict[str, list[types.Diagnostic]] = {uri: []}
        for placed in place(analysis, text):
            target = uri if placed.file == analysis.file else from_fs_path(placed.file)
            if target is None:
                continue
            if target != uri and target in self.workspace.text_documents:
                continue  # open: its own load shows it
            diagnostic = types.Diagnostic(
                range=types.Range(
                    start=types.Position(line=placed.line, character=placed.start),
                    end=types.Position(line=placed.line, character=placed.end),
                ),
                message=placed.message,
                severity=_SEVERITY[placed.severity],
                source=SOURCE,
            )
            by_uri.setdefault(target, []).append(diagnostic)
        lines = text.splitlines()
        codec = self.workspace.get_text_document(uri).position_codec
        for diagnostic in by_uri[uri]:
            diagnostic.range = codec.range_to_client_units(lines, diagnostic.range)
        for gone in self.elsewhere.get(uri, set()) - set(by_uri):
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=gone, diagnostics=[])
            )
        self.elsewhere[uri] = set(by_uri) - {uri}
        own = by_uri.pop(uri)
        by_uri[uri] = own  # the other files first: the document's own come last
        for target, diagnostics in by_uri.items():
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=target,
                    diagnostics=diagnostics,
                    version=version if target == uri else None,
                )
            )

    def forget(self, uri: str) -> None:
        """Drops a closed document's state and the diagnostics it published."""
        self.analyses.pop(uri, None)
        self.built.pop(uri, None)
        if self.worker is not None:
            self.worker.cancel(uri)
        for target in {uri, *self.elsewhere.pop(uri, set())}:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=target, diagnostics=[])
            )

    def position(self, uri: str, position: types.Position) -> tuple[str, int, int]:
        """The document's text and a client position as (line, Python character)."""
        document = self.workspace.get_text_document(uri)
        server_position = document.position_codec.position_from_client_units(
            document.lines, position
        )
        return document.source, server_position.line, server_position.character

    def client_range(self, uri: str, line: int, start: int, end: int) -> types.Range:
        """A range of Python characters on one line, in the client's units."""
        document = self.workspace.get_text_document(uri)
        return document.position_codec.range_to_client_units(
            document.lines,
            types.Range(
                start=types.Position(line=line, character=start),
                end=types.Position(line=line, character=end),
            ),
        )

    def warm_up(self) -> None:
        """Fills the registries and reads the catalogs once, so the first load is quick."""
        from keras_blueprints.catalog.components import BLOCKS, LAYERS
        from keras_blueprints.catalog.docs import layer_doc

        LAYERS.names()
        BLOCKS.names()
        layer_doc("Dense")
        analyze("inputs: {x: {shape: [1]}}\ngraph:\n  - Dense: {units: 1}\n", "<warm-up>")


server = BlueprintServer()


@server.feature(types.INITIALIZED)
def initialized(ls: BlueprintServer, params: types.InitializedParams) -> None:
    """Fills the registries before any request reads them (here, not in the loading thread)."""
    ls.guarded("warm-up", ls.warm_up)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: BlueprintServer, params: types.DidOpenTextDocumentParams) -> None:
    """Loads a document the editor opened."""
    await _validate(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: BlueprintServer, params: types.DidChangeTextDocumentParams) -> None:
    """Loads a document again after an edit."""
    await _validate(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: BlueprintServer, params: types.DidSaveTextDocumentParams) -> None:
    """Loads a document again when saved (files it extends may have changed)."""
    await _validate(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: BlueprintServer, params: types.DidCloseTextDocumentParams) -> None:
    """Forgets a closed document."""
    ls.guarded("close", ls.forget, params.text_document.uri)


async def _validate(ls: BlueprintServer, uri: str) -> None:
    try:
        await ls.validate(uri)
    except Exception:
        logger.exception("internal error while validating %s", uri)


def _spot_under(
    ls: BlueprintServer, params: types.TextDocumentPositionParams
) -> tuple[str, str, int, Any] | None:
    """The document's URI, its file name, the line, and what stands there (None: nothing)."""
    uri = params.text_document.uri
    text, line, character = ls.position(uri, params.position)
    file, path = _file_of(uri)
    doc = parse_quietly(text, file, path)
    spot = spot_at(doc, text, line, character) if doc is not None else None
    return None if spot is None else (uri, file, line, spot)


def _hover(ls: BlueprintServer, params: types.HoverParams) -> types.Hover | None:
    under = _spot_under(ls, params)
    if under is None:
        return None
    uri, _, line, spot = under
    content = hover_text(spot, ls.analyses.get(uri), ls.built.get(uri))
    if content is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=content),
        range=ls.client_range(uri, line, spot.start, spot.end),
    )


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: BlueprintServer, params: types.HoverParams) -> types.Hover | None:
    """What the name under the cursor is."""
    return ls.guarded("hover", _hover, ls, params)


def _item(item: Item, blocks: dict[str, Any] | None) -> types.CompletionItem:
    """A completion item; a layer's or block's documentation only when ``blocks`` is given."""
    documentation = item.documentation
    if documentation is None and item.kind in ("layer", "block") and blocks is not None:
        documentation = type_documentation(item.label, blocks)
    return types.CompletionItem(
        label=item.label,
        kind=_ITEM_KIND.get(item.kind),
        detail=item.detail or None,
        documentation=(
            types.MarkupContent(kind=types.MarkupKind.Markdown, value=documentation)
            if documentation
            else None
        ),
    )


def _complete(ls: BlueprintServer, params: types.CompletionParams) -> types.CompletionList:
    uri = params.text_document.uri
    text, line, character = ls.position(uri, params.position)
    file, path = _file_of(uri)
    spot = completion_spot(text, line, character, file, path)
    if spot is None:
        return types.CompletionList(is_incomplete=False, items=[])
    analysis = ls.analyses.get(uri)
    found = completions(spot, analysis)
    documented = len(found) <= DOCUMENTED_ITEMS
    blocks = local_blocks(spot.document.data, analysis) if documented else None
    items = [_item(item, blocks) for item in found]
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=["{", "$", ":"]),
)
def completion(ls: BlueprintServer, params: types.CompletionParams) -> types.CompletionList:
    """The names that may stand at the cursor."""
    found = ls.guarded("completion", _complete, ls, params)
    return found if found is not None else types.CompletionList(is_incomplete=False, items=[])


def _definition(ls: BlueprintServer, params: types.DefinitionParams) -> types.Location | None:
    under = _spot_under(ls, params)
    if under is None:
        return None
    uri, file, _, spot = under
    target = definition(spot, ls.analyses.get(uri))
    if target is None:
        return None
    target_uri = uri if target.file == file else from_fs_path(target.file)
    if target_uri is None:
        return None
    where = types.Position(line=max(target.line - 1, 0), character=max(target.col - 1, 0))
    return types.Location(uri=target_uri, range=types.Range(start=where, end=where))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def goto_definition(ls: BlueprintServer, params: types.DefinitionParams) -> types.Location | None:
    """Where the name under the cursor is declared."""
    return ls.guarded("definition", _definition, ls, params)


def _symbol(symbol: Symbol) -> types.DocumentSymbol:
    start = types.Position(line=symbol.line, character=symbol.character)
    end = types.Position(line=symbol.end_line, character=symbol.end_character)
    name_end = types.Position(line=symbol.line, character=symbol.character + len(symbol.name))
    if (name_end.line, name_end.character) > (end.line, end.character):
        name_end = end
    return types.DocumentSymbol(
        name=symbol.name,
        kind=_SYMBOL_KIND[symbol.kind],
        detail=symbol.detail or None,
        range=types.Range(start=start, end=end),
        selection_range=types.Range(start=start, end=name_end),
        children=[_symbol(child) for child in symbol.children],
    )


def _symbols(ls: BlueprintServer, params: types.DocumentSymbolParams) -> list[Any]:
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)
    file, path = _file_of(uri)
    text = document.source
    doc = parse_quietly(text, file, path)
    if doc is None:
        return []
    symbols = [_symbol(symbol) for symbol in outline(doc, text)]
    lines = document.lines
    stack = list(symbols)
    while stack:  # Python characters -> the client's units
        symbol = stack.pop()
        symbol.range = document.position_codec.range_to_client_units(lines, symbol.range)
        symbol.selection_range = document.position_codec.range_to_client_units(
            lines, symbol.selection_range
        )
        stack.extend(symbol.children or [])
    return symbols


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(
    ls: BlueprintServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    """The outline: sections, parameters, inputs, nodes and blocks."""
    return ls.guarded("symbols", _symbols, ls, params) or []


def serve(build: bool = True, imports: Sequence[str] = ()) -> None:
    """Runs the server on standard input and output until the editor shuts it down.

    Args:
        build: Build each document that loads cleanly in a warm worker process that
            keeps TensorFlow loaded, and show the shape errors only a build finds
            (``blueprint lsp --no-build``: load only; TensorFlow is never imported).
        imports: The modules given with ``--import``, already imported here; the
            worker imports them too.
    """
    server.worker = BuildWorker(imports=imports) if build else None
    try:
        server.start_io()
    finally:
        if server.worker is not None:
            server.worker.kill()

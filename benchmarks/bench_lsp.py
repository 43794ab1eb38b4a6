"""How long from an edit to the diagnostics an editor shows, with ``blueprint lsp``?

The real server (``python -m keras_blueprints.cli lsp``, with its warm build
worker, this checkout first on ``PYTHONPATH``) is started over stdio and driven
by pygls' own language client, as an editor would drive it. Each zoo file is
opened under its own path, then edited with whole-document ``didChange``
notifications. A sample is the wall-clock time from sending a change to
receiving the ``publishDiagnostics`` notification that answers that version:

* **load-time, error**: the change introduces a load-time error (an argument
  name with a typo); the first publication for that version carries it;
* **load-time, fixed**: the change restores the file; its first publication
  (the load's, no error) is timed, then the build that follows is awaited,
  untimed, so the worker is idle when the next change comes;
* **shape-level, error** (``--shape`` files, default ``zoo:resnet50``, after the
  worker is warm): the change appends a ``Reshape`` to the end of the graph whose
  target size cannot match (a shape error only a real build finds); the second
  publication for that version (the warm worker's build) must carry the error
  at the new node;
* **shape-level, fixed**: the change restores the file; the second publication
  (its clean build) is timed.

Against them, for the same files: a cold ``blueprint validate FILE`` (a new
process that imports TensorFlow and builds the model) and a cold
``blueprint validate --no-build FILE``, each the median of ``--runs`` runs after
one unmeasured warm-up run; and, in this process once the server has stopped,
with TensorFlow already imported, the worker's own work for each ``--shape``
file: ``build_model(bp, compile=False)`` plus ``keras.backend.clear_session()``,
and the worker's whole answer to the shape-error text (load, build, every
layer's shape and parameters, clear the session), median of ``--runs``.
Each latency is the median of ``--reps`` samples after one untimed warm-up
round; the ratios are cold ``validate`` time / LSP latency. The goals (load-time
under 0.2 s, shape-level under 2 s for ``zoo:resnet50``) are reported, never
asserted. The script exits non-zero only when a run is invalid:
an edit did not produce the diagnostics it must.

Usage::

    python benchmarks/bench_lsp.py [--load mlp resnet50 inception_v3] [--shape resnet50]
        [--reps 7] [--runs 5] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import describe, machine, table

ROOT = Path(__file__).resolve().parent.parent
LOAD_GOAL_S = 0.2
SHAPE_GOAL_S = 2.0
FIRST_BUILD_TIMEOUT_S = 600.0
"""The first build starts the worker, which imports TensorFlow."""
TIMEOUT_S = 300.0

ARGUMENT_RE = re.compile(r"^(\s+(?:- )?[A-Z]\w*: \{)(\w+):", re.MULTILINE)
"""A layer with an inline argument mapping: ``Conv2D: {filters: ...``."""

RESHAPE = "  - name: bench_reshape\n    Reshape: {target_shape: [7, 11, 13]}\n"
"""Appended to a graph: 1,001 elements, which no zoo model's output has."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def with_load_error(text: str) -> str:
    """``text`` with a typo in the first inline argument name of a layer."""
    match = ARGUMENT_RE.search(text)
    if match is None:
        raise ValueError("no 'Layer: {argument: ...' line to misspell")
    return f"{text[: match.start(2)]}{match.group(2)}x{text[match.end(2) :]}"


def with_shape_error(text: str) -> tuple[str, int]:
    """``text`` with :data:`RESHAPE` appended to its graph (and its output); its 0-based line."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.rstrip() == "graph:")
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " #-"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # before the blank lines that end the section
    for index, line in enumerate(lines):  # a model output, so that the build reaches it
        if line.startswith("outputs:"):
            if not line.rstrip().endswith("]"):
                raise ValueError("only a one-line 'outputs: [...]' can be rewritten")
            lines[index] = "outputs: [bench_reshape]\n"
    return "".join([*lines[:end], RESHAPE, *lines[end:]]), end


class Published:
    """Every ``publishDiagnostics`` the client received: (seconds, URI, version, diagnostics)."""

    def __init__(self) -> None:
        self.records: list[tuple[float, str, int | None, list[Any]]] = []
        self.changed = asyncio.Event()

    def add(self, params: Any) -> None:
        self.records.append((time.perf_counter(), params.uri, params.version, params.diagnostics))
        self.changed.set()

    async def nth(self, uri: str, version: int, n: int, timeout: float) -> tuple[float, list]:
        """Waits for the ``n``-th publication (1-based) for ``uri`` at ``version``."""

        async def wait() -> tuple[float, list]:
            while True:
                self.changed.clear()
                found = [(t, d) for t, u, v, d in self.records if u == uri and v == version]
                if len(found) >= n:
                    return found[n - 1]
                await self.changed.wait()

        return await asyncio.wait_for(wait(), timeout)


class Session:
    """The server over stdio, with pygls' client, and the versions of the open documents."""

    def __init__(self) -> None:
        from lsprotocol import types
        from pygls.lsp.client import LanguageClient

        self.types = types
        self.client = LanguageClient("bench-lsp", "1")
        self.published = Published()
        self.versions: dict[str, int] = {}
        self.stderr_tail: list[bytes] = []
        self._drain: asyncio.Task | None = None

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: Any) -> None:
            self.published.add(params)

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: Any) -> None:
            pass

    async def start(self) -> None:
        types = self.types
        await self.client.start_io(
            sys.executable, "-m", "keras_blueprints.cli", "lsp", env=_env(), cwd=str(ROOT)
        )
        server = self.client._server
        if server is not None and server.stderr is not None:
            self._drain = asyncio.create_task(self._read_stderr(server.stderr))
        await self.client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=ROOT.as_uri())
        )
        self.client.initialized(types.InitializedParams())

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        """Keeps the server's (and its worker's) log from filling the pipe; keeps its tail."""
        while line := await stream.readline():
            self.stderr_tail = [*self.stderr_tail[-40:], line]

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()
        if self._drain is not None:
            self._drain.cancel()

    def send(self, path: Path, text: str) -> tuple[str, int, float]:
        """Opens or changes a document; its URI, the new version and when it was sent."""
        types = self.types
        uri = path.as_uri()
        version = self.versions.get(uri, 0) + 1
        self.versions[uri] = version
        sent = time.perf_counter()
        if version == 1:
            self.client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=uri, language_id="yaml", version=version, text=text
                    )
                )
            )
        else:
            self.client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )
        return uri, version, sent

    async def edit(self, path: Path, text: str, n: int, timeout: float = TIMEOUT_S) -> tuple:
        """Sends ``text``; seconds until its ``n``-th publication, and that publication."""
        uri, version, sent = self.send(path, text)
        arrived, diagnostics = await self.published.nth(uri, version, n, timeout)
        return arrived - sent, diagnostics


def errors(diagnostics: list[Any]) -> list[Any]:
    return [d for d in diagnostics if d.severity == 1]


class InvalidRun(Exception):
    """An edit did not produce the diagnostics it must."""


async def measure_server(
    load_names: list[str], shape_names: list[str], reps: int
) -> dict[str, dict[str, Any]]:
    """Runs the edits of every file through one server; every sample, by file."""
    from keras_blueprints.loading import zoo

    session = Session()
    await session.start()
    results: dict[str, dict[str, Any]] = {}
    try:
        for name in dict.fromkeys([*load_names, *shape_names]):
            path = zoo.path(name)
            clean = path.read_text(encoding="utf-8")
            found: dict[str, Any] = {"path": str(path), "lines": len(clean.splitlines())}
            uri, version, sent = session.send(path, clean)
            opened, diagnostics = await session.published.nth(uri, version, 1, TIMEOUT_S)
            if errors(diagnostics):
                raise InvalidRun(f"zoo:{name} has errors when opened: {diagnostics}")
            # Its first build (the worker starts on the very first): awaited, untimed.
            built_at, built = await session.published.nth(uri, version, 2, FIRST_BUILD_TIMEOUT_S)
            if errors(built):
                raise InvalidRun(f"zoo:{name}: its clean build has errors: {built}")
            found["open_s"] = opened - sent
            found["first_build_s"] = built_at - sent
            if name in load_names:
                found.update(await _load_samples(session, path, clean, reps))
            if name in shape_names:
                found.update(await _shape_samples(session, path, clean, reps))
            results[name] = found
            print(f"  zoo:{name}: measured", file=sys.stderr)
    except (InvalidRun, asyncio.TimeoutError):
        tail = b"".join(session.stderr_tail).decode("utf-8", "replace")
        print(f"the server's log ends with:\n{tail}", file=sys.stderr)
        raise
    finally:
        await session.stop()
    return results


async def _load_samples(session: Session, path: Path, clean: str, reps: int) -> dict[str, Any]:
    broken = with_load_error(clean)
    error_s, fixed_s = [], []
    for rep in range(reps + 1):  # the first round is the warm-up
        seconds, diagnostics = await session.edit(path, broken, 1)
        if not errors(diagnostics):
            raise InvalidRun(f"{path}: the misspelt argument gave no error: {diagnostics}")
        fixed, diagnostics = await session.edit(path, clean, 1)
        if errors(diagnostics):
            raise InvalidRun(f"{path}: errors after the fix: {diagnostics}")
        uri = path.as_uri()
        await session.published.nth(uri, session.versions[uri], 2, TIMEOUT_S)  # its build
        if rep:
            error_s.append(seconds)
            fixed_s.append(fixed)
    return {"load_error_s": error_s, "load_fixed_s": fixed_s}


async def _shape_samples(session: Session, path: Path, clean: str, reps: int) -> dict[str, Any]:
    broken, line = with_shape_error(clean)
    error_s, fixed_s, loaded_s = [], [], []
    for rep in range(reps + 1):  # the first round is the warm-up
        uri, version, sent = session.send(path, broken)
        loaded, diagnostics = await session.published.nth(uri, version, 1, TIMEOUT_S)
        if errors(diagnostics):
            raise InvalidRun(f"{path}: the Reshape is a load-time error here: {diagnostics}")
        arrived, diagnostics = await session.published.nth(uri, version, 2, TIMEOUT_S)
        where = [(d.range.start.line, d.message.split("\n")[0]) for d in errors(diagnostics)]
        if not where or where[0][0] not in (line, line + 1) or "Reshape" not in where[0][1]:
            raise InvalidRun(f"{path}: no shape error at line {line + 1}: {where}")
        fixed, diagnostics = await session.edit(path, clean, 2)
        if errors(diagnostics):
            raise InvalidRun(f"{path}: build errors after the fix: {diagnostics}")
        if rep:
            loaded_s.append(loaded - sent)
            error_s.append(arrived - sent)
            fixed_s.append(fixed)
    return {"shape_loaded_s": loaded_s, "shape_error_s": error_s, "shape_fixed_s": fixed_s}


def cold(argv: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` new processes after one warm-up (exit 0 or 2 accepted)."""
    samples = []
    for index in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=_env(), check=False)
        seconds = time.perf_counter() - start
        if proc.returncode not in (0, 2):
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr}")
        if index:
            samples.append(seconds)
    return samples


def warm_builds(names: list[str], runs: int) -> dict[str, dict[str, list[float]]]:
    """The worker's own work, in this process with TensorFlow imported, for each file.

    ``build`` is ``build_model(bp, compile=False)`` plus ``clear_session()``;
    ``request`` is the worker's whole answer to one request (load the text, build,
    read every layer's output shape and parameters, clear the session), for the text
    with the shape error. Alternating, ``runs`` each after one warm-up of each.
    """
    from keras_blueprints.cli import import_keras_quietly

    import_keras_quietly()
    import keras

    import keras_blueprints
    from keras_blueprints.builders.model import build_model
    from keras_blueprints.loading import zoo
    from keras_blueprints.lsp.worker import _build

    found = {}
    for name in names:
        bp = keras_blueprints.load(f"zoo:{name}")
        path = zoo.path(name)
        text, _ = with_shape_error(path.read_text(encoding="utf-8"))
        request = {"text": text, "file": str(path), "path": str(path)}

        def build(bp: Any = bp) -> None:
            build_model(bp, compile=False)
            keras.backend.clear_session(free_memory=False)

        def answer(request: dict[str, Any] = request, name: str = name) -> None:
            if not _build(request)["problems"]:
                raise InvalidRun(f"zoo:{name}: the worker found no shape error")

        samples: dict[str, list[float]] = {"build": [], "request": []}
        for index in range(runs + 1):
            for key, work in (("build", build), ("request", answer)):
                start = time.perf_counter()
                work()
                if index:
                    samples[key].append(time.perf_counter() - start)
        found[name] = samples
    return found


def ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.0f}" if samples else ""


def ratio(slow: list[float], fast: list[float]) -> str:
    if not slow or not fast:
        return ""
    return f"{statistics.median(slow) / statistics.median(fast):.1f}x"


def goal(samples: list[float], limit: float) -> str:
    if not samples:
        return ""
    return "yes" if statistics.median(samples) < limit else "**NO**"


def report(
    names: list[str],
    server: dict[str, dict[str, Any]],
    validate: dict[str, list[float]],
    no_build: dict[str, list[float]],
    builds: dict[str, dict[str, list[float]]],
    args: argparse.Namespace,
) -> None:
    load_rows, shape_rows = [], []
    for name in names:
        found = server[name]
        if "load_error_s" in found:
            load_rows.append(
                [
                    f"`zoo:{name}`",
                    str(found["lines"]),
                    ms(found["load_error_s"]),
                    ms(found["load_fixed_s"]),
                    goal(found["load_error_s"] + found["load_fixed_s"], LOAD_GOAL_S),
                    ms(no_build[name]),
                    ms(validate[name]),
                    ratio(no_build[name], found["load_error_s"]),
                    ratio(validate[name], found["load_error_s"]),
                ]
            )
        if "shape_error_s" in found:
            shape_rows.append(
                [
                    f"`zoo:{name}`",
                    ms(found["shape_loaded_s"]),
                    ms(found["shape_error_s"]),
                    ms(found["shape_fixed_s"]),
                    goal(found["shape_error_s"] + found["shape_fixed_s"], SHAPE_GOAL_S),
                    ms(builds.get(name, {}).get("build", [])),
                    ms(builds.get(name, {}).get("request", [])),
                    ms(validate[name]),
                    ratio(validate[name], found["shape_error_s"]),
                ]
            )
    print(f"blueprint lsp: median of {args.reps} edits; cold processes: median of {args.runs}")
    print()
    if load_rows:
        header = [
            "file",
            "lines",
            "LSP load-time, error ms",
            "LSP load-time, fixed ms",
            f"< {LOAD_GOAL_S * 1000:.0f} ms",
            "cold `validate --no-build` ms",
            "cold `validate` ms",
            "`--no-build` / LSP",
            "`validate` / LSP",
        ]
        print(table(header, load_rows))
        print()
    if shape_rows:
        header = [
            "file",
            "LSP load publication ms",
            "LSP shape error ms",
            "LSP fixed, built ms",
            f"< {SHAPE_GOAL_S:.0f} s",
            "in-process build ms",
            "in-process worker request ms",
            "cold `validate` ms",
            "`validate` / LSP",
        ]
        print(table(header, shape_rows))
        print()
    firsts = ", ".join(
        f"zoo:{name} {server[name]['first_build_s']:.1f} s" for name in names if name in server
    )
    print(f"first build after opening (the first one starts the worker): {firsts}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", nargs="*", default=["mlp", "resnet50", "inception_v3"])
    parser.add_argument("--shape", nargs="*", default=["resnet50"])
    parser.add_argument("--reps", type=int, default=7, help="timed edits of each kind (median)")
    parser.add_argument("--runs", type=int, default=5, help="cold processes and warm builds")
    parser.add_argument("--json", metavar="OUT", help="write the raw numbers to this file")
    args = parser.parse_args(argv)
    if args.reps < 1 or args.runs < 1:
        parser.error(f"--reps and --runs must be positive. Received: {args.reps}, {args.runs}")
    info = machine()
    names = list(dict.fromkeys([*args.load, *args.shape]))
    print(describe(info), file=sys.stderr)

    try:
        server = asyncio.run(measure_server(args.load, args.shape, args.reps))
    except (InvalidRun, asyncio.TimeoutError) as exc:
        print(f"FAILURE: {exc or 'timed out waiting for diagnostics'}", file=sys.stderr)
        return 1
    load_end = f"{os.getloadavg()[0]:.2f}"
    cli = [sys.executable, "-m", "keras_blueprints.cli", "validate"]
    validate: dict[str, list[float]] = {}
    no_build: dict[str, list[float]] = {}
    for name in names:
        path = server[name]["path"]
        no_build[name] = cold([*cli, "--no-build", path], args.runs)
        validate[name] = cold([*cli, path], args.runs)
        print(f"  zoo:{name}: cold validate measured", file=sys.stderr)
    try:
        builds = warm_builds(args.shape, args.runs)
    except InvalidRun as exc:
        print(f"FAILURE: {exc}", file=sys.stderr)
        return 1

    report(names, server, validate, no_build, builds, args)
    print()
    print(describe(info))
    print(f"1-min load average after the LSP edits {load_end}, at the end {os.getloadavg()[0]:.2f}")

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "benchmark": "lsp",
                    "machine": info,
                    "load_average_1m_after_lsp": load_end,
                    "load_average_1m_end": f"{os.getloadavg()[0]:.2f}",
                    "goals_s": {"load": LOAD_GOAL_S, "shape": SHAPE_GOAL_S},
                    "reps": args.reps,
                    "runs": args.runs,
                    "server": server,
                    "cold_validate_s": validate,
                    "cold_validate_no_build_s": no_build,
                    "warm_build_s": builds,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
